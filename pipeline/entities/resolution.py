"""Entities, second step: what only the whole document can settle, so that each actor is one entity throughout.

Acronyms defined in the text ("Trilateral Contact Group (TCG)") and bare surnames bind to the entity named
earlier; a short name shared by several bodies ("Security Council") becomes the one the document otherwise
mentions; a bare head after a determiner ("the Council", "our Organization") stands for the latest entity whose
name has that word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from spacy.attrs import ORTH
from spacy.tokens import Doc, Span

from pipeline.core.config import EntitiesConfig
from pipeline.entities.gazetteer import Gazetteer
from pipeline.entities.tagger import SPAN_KEY, slug, token_positions, word_ids

ACRONYM_DEFINITION = re.compile(
    r"([A-Z][\w’'-]*(?:\s+(?:of|and|for|the|in|on|de|[A-Z][\w’'-]*)){0,8})\s+\(([A-Z][A-Za-z]{1,7})\)"
)
DETERMINERS = {"the", "our", "this", "that", "its", "their", "your", "his", "her", "my"}
# Mentions that say nothing about the text's own naming (a "we" stands for the speaker's state).
NOT_NAMES = {"first_person"}
# A bare head ("the Council") only stands for an entity named at most this many paragraphs before.
HEAD_WINDOW = 20


@dataclass(frozen=True)
class Binding:
    entity_id: str
    label: str


def head_words(form: str) -> set[str]:
    """The words a bare head may stand for in a name: its first word and its head noun ("Union State": Union,
    State; "Charter of the United Nations": Charter; "Supreme State Council of the Union State": Supreme, Council)."""
    form = re.sub(r"^the\s+", "", form, flags=re.IGNORECASE)
    core = re.split(r"\s+(?:of|for|on|in|to)\s+", form, maxsplit=1)[0]
    words, core_words = re.findall(r"\w+", form), re.findall(r"\w+", core)
    return {words[0], core_words[-1]} if words and core_words else set(words)


@cache
def _head_words(form: str) -> frozenset[str]:
    """``head_words`` once per form: the same names recur throughout a document."""
    return frozenset(head_words(form))


@dataclass
class Recency:
    """The entities named so far in a document: where last named and the head words of their names."""

    gazetteer: Gazetteer
    last_seen: dict[str, tuple[int, int, str, frozenset[str]]] = field(default_factory=dict)
    clock: int = 0

    def see(self, span: Span, paragraph: int) -> None:
        forms = {span.text}
        if span.kb_id_ in self.gazetteer.entries:
            forms |= set(self.gazetteer.forms(span.kb_id_))
        known = self.last_seen.get(span.kb_id_)
        heads = {w for form in forms for w in _head_words(form)} | (set(known[3]) if known else set())
        self.clock += 1
        self.last_seen[span.kb_id_] = (self.clock, paragraph, span.label_, frozenset(heads))

    def latest_with(self, word: str, paragraph: int) -> Binding | None:
        """The latest non-person entity named within ``HEAD_WINDOW`` paragraphs whose name has ``word`` as a head."""
        found = [
            (when, entity_id, label)
            for entity_id, (when, where, label, heads) in self.last_seen.items()
            if word in heads and label != "PERSON" and paragraph - where <= HEAD_WINDOW
        ]
        if not found:
            return None
        _, entity_id, label = max(found)
        return Binding(entity_id, label)


def _mentioned(docs: list[Doc], gazetteer: Gazetteer) -> set[str]:
    """Entity ids named anywhere in the document, with the organisations and states they belong to."""
    ids = {s.kb_id_ for doc in docs for s in doc.spans[SPAN_KEY] if s.id_ not in NOT_NAMES}
    return ids | {e.affiliation for i in ids if (e := gazetteer.entries.get(i)) is not None and e.affiliation}


def _contextual(candidates: list[str], mentioned: set[str], gazetteer: Gazetteer) -> Binding | None:
    """The first candidate the document names otherwise, itself or through the body or state it belongs to."""
    for entity_id in candidates:
        entry = gazetteer.entries[entity_id]
        if entity_id in mentioned or (entry.affiliation is not None and entry.affiliation in mentioned):
            return Binding(entity_id, entry.label)
    return None


def _define_acronyms(text: str, spans: list[Span], acronyms: dict[str, Binding], known: set[str]) -> None:
    by_end = {span.end_char: span for span in spans}
    for match in ACRONYM_DEFINITION.finditer(text):
        long_form, acronym = match.group(1), match.group(2)
        anchor = by_end.get(match.start(1) + len(long_form))
        if anchor is not None and anchor.id_ not in ("demonym", "first_person"):
            acronyms.setdefault(acronym, Binding(anchor.kb_id_, anchor.label_))
        elif acronym not in known:
            acronyms.setdefault(acronym, Binding(f"x-{slug(long_form)}", "ORG"))


def _bare_heads(doc: Doc, orths: list[int], spans: list[Span], heads: frozenset[int]) -> list[Span]:
    """Placeholders for "the Council", "our Organization": a head word (``heads``: word ids, ``orths``: the doc's
    ``ORTH`` values) after a determiner, not part of a name."""
    taken = {i for s in spans for i in range(s.start, s.end)}
    found = []
    for i in token_positions(orths, heads):
        if i == 0 or i in taken or doc[i - 1].lower_ not in DETERMINERS:
            continue
        token = doc[i]
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if after is not None and after.is_alpha and after.text[:1].isupper():
            continue
        if after is not None and after.lower_ in ("of", "for"):
            following = doc[token.i + 2 : token.i + 4]
            named = [t for t in following if t.lower_ != "the"][:1]
            if named and not named[0].is_lower:
                continue
        found.append(Span(doc, token.i, token.i + 1, label="", kb_id="", span_id="head"))
    return found


def resolve_document(
    docs: list[Doc], *, gazetteer: Gazetteer, config: EntitiesConfig, texts: list[str] | None = None
) -> None:
    """Bind acronyms, bare surnames, shared short names and bare heads to entities of the same document (``texts``:
    the docs' texts, when the caller has them already)."""
    known_acronyms = {a for e in gazetteer.entries.values() for a in e.aliases}
    mentioned = _mentioned(docs, gazetteer)
    heads = word_ids(config.generic_heads)
    acronyms: dict[str, Binding] = {}
    surnames: dict[str, Binding] = {}
    recency = Recency(gazetteer)
    texts = [doc.text for doc in docs] if texts is None else texts
    for paragraph, (doc, paragraph_text) in enumerate(zip(docs, texts, strict=True)):
        spans = list(doc.spans[SPAN_KEY])
        orths: list[int] = doc.to_array(ORTH).tolist()
        _define_acronyms(paragraph_text, spans, acronyms, known_acronyms)
        resolved: list[Span] = []
        for span in sorted([*spans, *_bare_heads(doc, orths, spans, heads)], key=lambda s: s.start):
            text, bound, kind = span.text, None, span.id_
            if span.id_ == "head":
                bound = recency.latest_with(text, paragraph)
                if bound is None:
                    continue
            elif span.id_ == "model" and text in acronyms:
                bound, kind = acronyms[text], "defined_acronym"
            elif span.id_ == "model" and text in config.contextual_forms:
                bound = _contextual(config.contextual_forms[text], mentioned, gazetteer)
                kind = "contextual"
            elif span.id_ == "model" and len(span) == 1 and text in surnames:
                bound, kind = surnames[text], "surname"
            if bound is not None:
                span = Span(doc, span.start, span.end, label=bound.label, kb_id=bound.entity_id, span_id=kind)
            if span.label_ == "PERSON" and len(span) > 1 and span.id_ not in ("role", "first_person"):
                surnames.setdefault(span[-1].text, Binding(span.kb_id_, "PERSON"))
            if span.id_ not in NOT_NAMES:
                recency.see(span, paragraph)
            resolved.append(span)
        taken = {i for s in resolved for i in range(s.start, s.end)}
        for i in token_positions(orths, word_ids(acronyms)):
            if i not in taken:
                bound = acronyms[doc[i].text]
                span = Span(doc, i, i + 1, label=bound.label, kb_id=bound.entity_id, span_id="defined_acronym")
                resolved.append(span)
        doc.spans[SPAN_KEY] = sorted(resolved, key=lambda s: s.start)
