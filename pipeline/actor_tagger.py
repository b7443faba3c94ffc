"""Entities, first step: the ``actor_tagger`` component marks candidate actor spans in one parsed paragraph.

Spans go to ``doc.spans["actors"]`` with the entity id in ``kb_id_`` and the mention kind in ``id_``; each
paragraph is tagged on its own, so the result also serves callers that see single sentences (stance training).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.config import EntitiesConfig
from pipeline.errors import ConfigError
from pipeline.gazetteer import Gazetteer

SPAN_KEY = "actors"
# Which candidate wins where two overlap: higher priority first, then the longer span.
PRIORITY = {
    "pattern": 5,
    "role": 4,
    "name": 3,
    "alias": 3,
    "acronym": 3,
    "metonym": 3,
    "contextual": 2,
    "demonym": 2,
    "model": 1,
    "first_person": 0,
}
# Span kind (``Span.id_``) -> (mention_kind, source) in the mentions table.
KINDS = {
    "model": ("name", "model"),
    "pattern": ("name", "pattern"),
    "defined_acronym": ("acronym", "text"),
    "surname": ("alias", "text"),
    "head": ("alias", "text"),
    "contextual": ("alias", "text"),
    "first_person": ("first_person", "speaker"),
}
GAZETTEER_KINDS = {"name", "alias", "acronym", "metonym", "demonym"}
FIRST_PERSON = {"we", "our", "us", "ours", "ourselves"}
MY_NOUNS = {"country", "government", "delegation", "nation", "state", "people"}
DATE_LIKE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|November|December|\d)", re.IGNORECASE
)
NUMBER = re.compile(r"^[\d/.,:\-–]+$")
POSSESSIVE = {"’s", "'s", "’", "'"}
# Words a name found by the NER never ends with ("Russian Revolution of [1917]", "States of").
TRAILING = {"of", "for", "the", "and", "or", "on", "in", "to", "at", "by", "with", "from", "a", "an"}
# "Article 99 of the Charter" is a mention of the Charter.
REFERENCE_WORDS = {"article", "articles", "paragraph", "paragraphs", "chapter", "section", "part"}
# A title is an office word followed by one of these ("Minister of Foreign Affairs", "Assistant to the President").
TITLE_LINKS = {"of", "for", "to"}
# Before an office title these make it a past holder's, resolved only through apposition ("the former president").
PAST = {"former", "then", "late", "erstwhile", "onetime", "tsarist"}
YEAR = re.compile(r"^(19|20)\d{2}$")
OPEN_QUOTES = {"“", '"', "‘", "«"}
CLOSE_QUOTES = {"”", '"', "’", "»"}
TITLE_SMALL_WORDS = {"of", "the", "in", "and", "for", "on", "to", "with", "a", "an", "-", "–"}


# Office titles are looked for this many tokens before and after a title's first word ("the former Yugoslav
# Republic of Macedonia's interim prime minister", "Minister for Foreign Affairs of the Republic of Belarus").
ROLE_WINDOW_BEFORE, ROLE_WINDOW_AFTER = 16, 20


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _fold(text: str) -> str:
    return text.lower().replace(".", "").strip()


def _kind_of(surface: str, name: str) -> str:
    letters = surface.replace(".", "")
    if letters.isupper() and len(letters) <= 7:
        return "acronym"
    return "name" if surface == name else "alias"


@dataclass(frozen=True)
class Candidate:
    priority: int
    span: Span


class ActorTagger:
    """Marks gazetteer names, metonyms, demonyms, office titles, legal acts and NER names as candidate actor spans."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.stoplist = {_fold(s) for s in config.stoplist}
        self.honorifics = set(config.honorifics)
        self.office_words = set(config.office_words)
        self.ordinary_words = {w.lower() for w in [*config.office_words, *config.state_nouns]}
        self.locatives = {w.lower() for w in config.locative_prepositions}
        self.governance = {w.lower() for w in config.governance_nouns}
        self.generic_heads = set(config.generic_heads)
        self.legal_nouns = {w.lower() for w in config.legal_title_nouns}
        for form, candidates in config.contextual_forms.items():
            unknown = [c for c in candidates if c not in gazetteer.entries]
            if unknown or not candidates:
                problem = f"unknown entity id '{unknown[0]}'" if unknown else "no entity ids"
                raise ConfigError(f"entities config: key 'contextual_forms': '{form}' has {problem}")
        self.phrases = PhraseMatcher(nlp.vocab, attr="ORTH")
        for entry in gazetteer.entries.values():
            forms: dict[str, str] = {entry.name: "name"}
            for alias in entry.aliases:
                forms.setdefault(alias, _kind_of(alias, entry.name))
            for metonym in entry.metonyms:
                forms.setdefault(metonym, "metonym")
            for surface, kind in forms.items():
                variants = {surface}
                if surface.startswith("the "):
                    variants |= {"The " + surface[4:], surface[4:]}
                self.phrases.add(f"{entry.id}|{kind}", [nlp.make_doc(v) for v in variants])
        self.contextual = PhraseMatcher(nlp.vocab, attr="ORTH")
        for form in config.contextual_forms:
            self.contextual.add(form, [nlp.make_doc(form)])
        self.demonyms = Matcher(nlp.vocab)
        self.demonym_words = set(gazetteer.demonym_index())
        state_nouns = [n.lower() for n in config.state_nouns]
        for demonym, state in gazetteer.demonym_index().items():
            words: list[dict[str, Any]] = [{"LOWER": w} for w in demonym.split()]
            pattern = [*words, {"POS": "ADJ", "OP": "?"}, {"LOWER": {"IN": state_nouns}}]
            self.demonyms.add(f"{state}|{len(words)}", [pattern])
        self.roles = Matcher(nlp.vocab)
        # "… of Russia" titles are matched from their first word; the optional modifiers before it are added in
        # Python (a pattern that opens with an optional token starts a matcher state at every token of the text)
        self.roles_of = Matcher(nlp.vocab)
        self.role_modifiers = frozenset(m.lower() for m in config.role_modifiers)
        self._triggers: frozenset[str] | None = None
        self._add_role_patterns(nlp)
        self.numbered_acts = Matcher(nlp.vocab)
        self.numbered_acts.add(
            "act",
            [
                [
                    {"LOWER": {"IN": sorted(self.legal_nouns)}},
                    {"LOWER": {"IN": ["no", "no."]}, "OP": "?"},
                    {"ORTH": ".", "OP": "?"},
                    {"TEXT": {"REGEX": r"^\d+(?:/\d+)*$"}},
                ]
            ],
        )

    @property
    def _role_triggers(self) -> frozenset[str]:
        if self._triggers is None:
            self._triggers = frozenset(
                phrase.lower().replace("-", " ").split()[0]
                for phrases in self.config.role_phrases.values()
                for phrase in phrases
            )
        return self._triggers

    def _add_role_patterns(self, nlp: Language) -> None:
        """Office titles of every state or organisation with office holders in the gazetteer: "the Belarusian
        president", "Ukraine’s interim president", "UN Secretary General", "President of Russia"."""
        modifiers = {"LOWER": {"IN": [m.lower() for m in self.config.role_modifiers]}, "OP": "*"}
        possessive = {"ORTH": {"IN": sorted(POSSESSIVE)}, "OP": "?"}
        for entry in self.gazetteer.entries.values():
            names = [[{"ORTH": t.text} for t in nlp.make_doc(form)] for form in self.gazetteer.forms(entry.id)]
            names = [n for n in names if n[0]["ORTH"] != "the"]
            prefixes = [*names, *([{"LOWER": w.lower()} for w in d.split()] for d in entry.demonyms)]
            for role, phrases in self.config.role_phrases.items():
                if not self.gazetteer.has_role(entry.id, role):
                    continue
                for phrase in phrases:
                    words = [{"LOWER": t.lower_} for t in nlp.make_doc(phrase)]
                    key = f"{entry.id}|{role}"
                    self.roles.add(key, [[*prefix, possessive, modifiers, *words] for prefix in prefixes])
                    self.roles_of.add(key, [[*words, {"LOWER": "of"}, {"LOWER": "the", "OP": "?"}, *n] for n in names])

    def _junk(self, text: str) -> bool:
        bare = re.sub(r"^(the|The)\s+", "", text).strip(" .,;:’'\"“”()")
        letters = sum(ch.isalpha() for ch in bare)
        return (
            letters < self.config.min_chars
            or not bare[:1].isupper()
            or _fold(bare) in self.stoplist
            or DATE_LIKE.match(bare) is not None
            or "[" in bare
            or "]" in bare
        )

    def _metonym_reading(self, doc: Doc, start: int, end: int) -> str:
        """'government' ("Moscow regarded", "the government in Kiev"), 'place' ("protesters in Minsk", "in southern
        Damascus") or 'attribute' (the city only names something else: "the Helsinki process", "George Washington";
        no mention)."""
        if any(e.label_ == "PERSON" and e.start <= start and end <= e.end and len(e) > end - start for e in doc.ents):
            return "attribute"
        before = start - 1
        while before >= 0 and (doc[before].lower_ == "the" or doc[before].pos_ == "ADJ"):
            before -= 1
        if before >= 0 and doc[before].lower_ in self.locatives:
            return "government" if before > 0 and doc[before - 1].lower_ in self.governance else "place"
        last = doc[end - 1]
        if last.dep_ == "compound" and last.head.i >= end:
            return "government" if last.head.lower_ in self.governance else "attribute"
        return "government"

    def _gazetteer_candidates(self, doc: Doc) -> Iterator[Candidate]:
        for match_id, start, end in self.phrases(doc):
            entity_id, kind = doc.vocab.strings[match_id].split("|")
            entry = self.gazetteer.entries[entity_id]
            if kind == "metonym":
                reading = self._metonym_reading(doc, start, end)
                if reading == "attribute":
                    yield Candidate(0, Span(doc, start, end, label="LOC", kb_id="", span_id="attribute"))
                    continue
                if reading == "place":
                    first = start + 1 if doc[start].lower_ == "the" else start
                    place = Span(
                        doc, first, end, label="LOC", kb_id=f"place-{slug(doc[first:end].text)}", span_id="name"
                    )
                    yield Candidate(PRIORITY["name"], place)
                    continue
            yield Candidate(PRIORITY[kind], Span(doc, start, end, label=entry.label, kb_id=entity_id, span_id=kind))
        for match_id, start, end in self.contextual(doc):
            form = doc.vocab.strings[match_id]
            label = self.gazetteer.entries[self.config.contextual_forms[form][0]].label
            yield Candidate(
                PRIORITY["contextual"], Span(doc, start, end, label=label, kb_id=f"x-{slug(form)}", span_id="model")
            )
        for match_id, start, _ in self.demonyms(doc):
            state, words = doc.vocab.strings[match_id].split("|")
            demonym = Span(doc, start, start + int(words), label="GPE", kb_id=state, span_id="demonym")
            yield Candidate(PRIORITY["demonym"], demonym)

    def _citation_word(self, doc: Doc, i: int, end: int) -> bool:
        """A stoplist word used as citation debris at the start of a name: "Cf. ...", "In: ...", "see ..."."""
        token = doc[i]
        if _fold(token.text) not in self.stoplist:
            return False
        marked = token.text.endswith(".") or (i + 1 < end and doc[i + 1].text in (".", ":"))
        return marked or token.is_lower

    def _trim(self, doc: Doc, start: int, end: int, qualifiers: dict[int, Span]) -> tuple[int, int, Span | None]:
        """The name inside an NER span: without article, citation words, address, reference ("Article 99 of the"),
        a leading possessor ("Belarus’ House of ..."), an unclosed parenthesis and trailing numbers or small words."""
        while start < end:
            token = doc[start]
            if token.lower_ == "the" or token.text in self.honorifics or self._citation_word(doc, token.i, end):
                start += 1
            elif token.lower_ in REFERENCE_WORDS and start + 1 < end and NUMBER.match(doc[start + 1].text):
                start += 2
                while start < end and doc[start].lower_ in ("of", "the"):
                    start += 1
            else:
                break
        qualifier = qualifiers.get(start)
        if qualifier is not None and qualifier.end < end - 1 and doc[qualifier.end].text in POSSESSIVE:
            start = qualifier.end + 1
        else:
            qualifier = None
        for i in range(start, end):
            if doc[i].text == "(" and all(doc[j].text != ")" for j in range(i, end)):
                end = i
                break
        while end > start and (
            doc[end - 1].is_punct
            or doc[end - 1].text in POSSESSIVE
            or doc[end - 1].lower_ in TRAILING
            or NUMBER.match(doc[end - 1].text)
        ):
            end -= 1
        return start, end, qualifier

    def _qualified(self, doc: Doc, start: int, end: int, qualifiers: dict[int, Span], owner: Span | None) -> str | None:
        """The gazetteer body a generic name stands for through its owner: "Belarus’ House of Representatives",
        "the Parliamentary Assembly (PA) of the OSCE" -> "House of Representatives of Belarus", "OSCE Parliamentary
        Assembly"."""
        owners = [owner] if owner is not None else []
        k = end
        if k + 2 < len(doc) and doc[k].text == "(" and doc[k + 2].text == ")":
            k += 3
        if k + 1 < len(doc) and doc[k].lower_ == "of":
            k += 2 if doc[k + 1].lower_ == "the" else 1
            if k in qualifiers:
                owners.append(qualifiers[k])
        body = doc[start:end].text
        for span in owners:
            entry = self.gazetteer.entries[span.kb_id_]
            for form in (*self.gazetteer.forms(entry.id), *entry.demonyms):
                for name in (f"{body} of {form}", f"{body} of the {form}", f"{form} {body}"):
                    found = self.gazetteer.entity_named(name)
                    if found is not None and found != entry.id:
                        return found
        return None

    def _model_candidates(
        self, doc: Doc, qualifiers: dict[int, Span], attributes: set[tuple[int, int]]
    ) -> tuple[list[Candidate], list[tuple[int, int]]]:
        """NER names the gazetteer lacks (cleaned), and office titles that only count through apposition."""
        candidates, titles = [], []
        for ent in doc.ents:
            if ent.label_ not in self.config.statistical_labels:
                continue
            start, end, owner = self._trim(doc, ent.start, ent.end, qualifiers)
            if end <= start or (start, end) in attributes:
                continue
            if doc[start].text in self.office_words and any(t.lower_ in TITLE_LINKS for t in doc[start + 1 : end]):
                titles.append((start, end))
                continue
            if ent.label_ == "PERSON":
                while start < end and doc[start].text in self.office_words:
                    start += 1
            words = [t.text for t in doc[start:end] if t.is_alpha]
            if not words or all(w in self.office_words or w in self.honorifics for w in words):
                continue
            text = doc[start:end].text
            if (
                self._junk(text)
                or (end - start == 1 and text in self.generic_heads)
                or text.lower() in self.demonym_words
            ):
                continue
            found = self._qualified(doc, start, end, qualifiers, owner)
            if found is not None:
                entry = self.gazetteer.entries[found]
                span = Span(doc, start, end, label=entry.label, kb_id=found, span_id="alias")
                candidates.append(Candidate(PRIORITY["alias"], span))
            else:
                span = Span(doc, start, end, label=ent.label_, kb_id=f"x-{slug(text)}", span_id="model")
                candidates.append(Candidate(PRIORITY["model"], span))
        return candidates, titles

    def _apposed_person(self, doc: Doc, start: int, end: int, persons: dict[int, Span]) -> str | None:
        """The person a title is in apposition to: "Latvian Foreign Minister Edgars Rinkēvičs", "the Minister of
        Foreign Affairs, Uladzimir Makey" (after a comma only where the parse says so). A title that completes
        another ("the Assistant to the President of Russia, Vladislav Surkov") is apposed to nobody."""
        if start > 1 and doc[start - 1].lower_ in TITLE_LINKS and doc[start - 2].text.title() in self.office_words:
            return None
        if end < len(doc) and doc[end].text == ",":
            person = persons.get(end + 1)
            if person is not None and person.root.dep_ == "appos" and start <= person.root.head.i < end:
                return person.kb_id_
            return None
        person = persons.get(end)
        return person.kb_id_ if person is not None else None

    def _role_matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """Office-title matches, looked for only in windows around a title's first word: the token Matcher with
        thousands of optional-token patterns is the entity stage's cost, and most of a text holds no title."""
        windows: list[list[int]] = []
        for token in doc:
            if token.lower_ in self._role_triggers:
                start, end = max(0, token.i - ROLE_WINDOW_BEFORE), min(len(doc), token.i + ROLE_WINDOW_AFTER)
                if windows and start <= windows[-1][1]:
                    windows[-1][1] = end
                else:
                    windows.append([start, end])
        matches: list[tuple[int, int, int]] = []
        for start, end in windows:
            window = doc[start:end]
            matches.extend((m, start + a, start + b) for m, a, b in self.roles(window))
            for m, a, b in self.roles_of(window):
                first = a
                while True:  # the same title with each run of modifiers before it ("former acting President of …")
                    matches.append((m, start + first, start + b))
                    if first == 0 or window[first - 1].lower_ not in self.role_modifiers:
                        break
                    first -= 1
        return sorted(set(matches), key=lambda m: (m[1], m[2], m[0]))

    def _role_candidates(
        self, doc: Doc, titles: list[tuple[int, int]], persons: dict[int, Span], year: int | None
    ) -> Iterator[Candidate]:
        for match_id, start, end in self._role_matches(doc):
            state, role = doc.vocab.strings[match_id].split("|")
            first = start - 1 if start > 0 and doc[start - 1].lower_ == "the" else start
            past = any(t.lower_ in PAST for t in doc[max(0, first - 1) : end])
            holder = self._apposed_person(doc, first, end, persons)
            if holder is None and not past:
                dated = _year_of_sentence(doc[start].sent) if doc.has_annotation("SENT_START") else None
                holder = self.gazetteer.holder(state, role, dated or year)
            if holder is not None:
                yield Candidate(PRIORITY["role"], Span(doc, first, end, label="PERSON", kb_id=holder, span_id="role"))
        for start, end in titles:
            first = start - 1 if start > 0 and doc[start - 1].lower_ == "the" else start
            holder = self._apposed_person(doc, first, end, persons)
            if holder is not None:
                yield Candidate(PRIORITY["role"], Span(doc, first, end, label="PERSON", kb_id=holder, span_id="role"))

    def _legal_acts(self, doc: Doc, bodies: dict[int, Span]) -> Iterator[Candidate]:
        """Numbered acts ("Security Council resolution 2166", "Resolution No. 68/39") and titled ones ("the laws
        “On Defence” and “On Martial Law”", "resolutions On Cooperation in the Agro-Industrial Complex ...")."""
        for _, start, end in self.numbered_acts(doc):
            noun = doc[start].lower_.rstrip("s")
            body = bodies.get(start)
            first = body.start if body is not None else start
            span = Span(doc, first, end, label="LAW", kb_id=f"x-{noun}-{slug(doc[end - 1].text)}", span_id="pattern")
            yield Candidate(PRIORITY["pattern"], span)
        for token in doc:
            if token.lower_ in self.legal_nouns:
                yield from self._titles_after(doc, token.i + 1)

    def _titles_after(self, doc: Doc, i: int) -> Iterator[Candidate]:
        while i + 2 < len(doc):
            quoted = doc[i].text in OPEN_QUOTES
            start = i + 1 if quoted else i
            if doc[start].text != "On" or not doc[start + 1].text[:1].isupper():
                return
            end = start + 1
            if quoted:
                while end < len(doc) and doc[end].text not in CLOSE_QUOTES:
                    end += 1
                if end == len(doc):
                    return
            else:
                while end < len(doc) and (doc[end].text[:1].isupper() or doc[end].lower_ in TITLE_SMALL_WORDS):
                    end += 1
                while doc[end - 1].lower_ in TITLE_SMALL_WORDS:
                    end -= 1
            title = doc[start:end].text
            yield Candidate(
                PRIORITY["pattern"], Span(doc, start, end, label="LAW", kb_id=f"x-{slug(title)}", span_id="pattern")
            )
            i = end + 1 if quoted else end
            while i < len(doc) and doc[i].lower_ in {",", "and", "or"}:
                i += 1

    def _first_person(self, doc: Doc) -> Iterator[Candidate]:
        speaker = doc.user_data.get("speaker")
        if not speaker:
            return
        for token in doc:
            if token.lower_ in FIRST_PERSON and token.pos_ == "PRON":
                span = Span(doc, token.i, token.i + 1, label="GPE", kb_id=speaker, span_id="first_person")
                yield Candidate(PRIORITY["first_person"], span)
            elif token.lower_ == "my" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ in MY_NOUNS:
                span = Span(doc, token.i, token.i + 2, label="GPE", kb_id=speaker, span_id="first_person")
                yield Candidate(PRIORITY["first_person"], span)

    def __call__(self, doc: Doc) -> Doc:
        year = doc.user_data.get("year")
        candidates = list(self._gazetteer_candidates(doc))
        attributes = {(c.span.start, c.span.end) for c in candidates if c.span.id_ == "attribute"}
        candidates = [c for c in candidates if c.span.id_ != "attribute"]
        known = [c.span for c in candidates if c.span.id_ in GAZETTEER_KINDS - {"demonym"}]
        qualifiers = _longest_by(s for s in known if s.label_ in ("GPE", "ORG"))
        model, titles = self._model_candidates(doc, qualifiers, attributes)
        candidates += model
        persons = _longest_by(c.span for c in candidates if c.span.label_ == "PERSON")
        candidates += self._role_candidates(doc, titles, persons, year)
        named_bodies = [c.span for c in candidates if c.span.label_ == "ORG" and c.priority >= PRIORITY["contextual"]]
        bodies = _longest_by(named_bodies, end=True)
        candidates += self._legal_acts(doc, bodies)
        candidates += self._first_person(doc)
        doc.spans[SPAN_KEY] = select(promote_extended_names(candidates, ordinary_words=self.ordinary_words))
        return doc


def _year_of_sentence(sentence: Span) -> int | None:
    """The one year a sentence dates itself to ("when Willy Brandt became Chancellor in 1969"), if it names one."""
    years = {int(t.text) for t in sentence if YEAR.match(t.text) and t.ent_type_ == "DATE"}
    return years.pop() if len(years) == 1 else None


def _longest_by(spans: Iterable[Span], *, end: bool = False) -> dict[int, Span]:
    """The longest span starting (or, with ``end``, ending) at each token."""
    found: dict[int, Span] = {}
    for span in spans:
        key = span.end if end else span.start
        if key not in found or len(span) > len(found[key]):
            found[key] = span
    return found


def promote_extended_names(candidates: list[Candidate], *, ordinary_words: set[str]) -> list[Candidate]:
    """An NER name that extends gazetteer names with more name words ("Union State Border Committee", "State
    Border Committee of Belarus") is an entity of its own: the gazetteer names inside it give way. Persons, spans
    with other small words or punctuation ("Russia and Belarus", "Council of Ministers in St Petersburg") and
    spans that only add ordinary words ("Government of Syria": office and state nouns) are left alone."""
    names = GAZETTEER_KINDS - {"demonym"}
    known = [c for c in candidates if c.span.id_ in names or c.priority == PRIORITY["contextual"]]
    dropped: set[int] = set()
    for outer in candidates:
        span = outer.span
        if span.id_ != "model" or span.label_ == "PERSON" or outer.priority == PRIORITY["contextual"]:
            continue
        inner = [c for c in known if span.start <= c.span.start and c.span.end <= span.end and len(c.span) < len(span)]
        if not inner or any(c.span.label_ == "PERSON" for c in inner):
            continue
        covered = {i for c in inner for i in range(c.span.start, c.span.end)}
        outside = [t for t in span if t.i not in covered]
        if any(t.is_punct or (t.is_lower and t.lower_ not in ("of", "the", "for")) for t in outside):
            continue
        if any(t.is_alpha and t.text[:1].isupper() and t.lower_ not in ordinary_words for t in outside):
            dropped |= {id(c) for c in inner}
    return [c for c in candidates if id(c) not in dropped]


def select(candidates: list[Candidate]) -> list[Span]:
    """Non-overlapping spans: higher priority first, then longer, then earlier."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for candidate in sorted(candidates, key=lambda c: (-c.priority, -len(c.span), c.span.start)):
        span = candidate.span
        if taken.isdisjoint(range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


@Language.factory(
    "actor_tagger",
    assigns=["doc.spans"],
    default_config={"configs_dir": "configs"},
)
def make_actor_tagger(nlp: Language, name: str, configs_dir: str) -> ActorTagger:
    """``nlp.add_pipe("actor_tagger")``: the tagger built from a configs folder (entities.yaml + gazetteer)."""
    from pathlib import Path

    from pipeline.config import load_stage_config
    from pipeline.gazetteer import load_gazetteer

    config = load_stage_config("entities", Path(configs_dir))
    return ActorTagger(nlp, load_gazetteer(Path(config.gazetteer)), config)
