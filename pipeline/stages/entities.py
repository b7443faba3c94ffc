"""Entities: actor mentions from the gazetteer and spaCy's NER, resolved within each document to one entity id.

The ``actor_tagger`` component marks candidate spans in one parsed paragraph (``doc.spans["actors"]``; entity id
in ``kb_id_``, mention kind in ``id_``); ``resolve_document`` then binds acronyms defined in the text and bare
surnames across the paragraphs of a document.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pandas as pd
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.config import EntitiesConfig
from pipeline.gazetteer import Gazetteer
from pipeline.stages.parse import iter_sentences

SPAN_KEY = "actors"
PRIORITY = {"role": 4, "name": 3, "alias": 3, "acronym": 3, "metonym": 3, "demonym": 2, "model": 1}
ACRONYM_DEFINITION = re.compile(
    r"([A-Z][\w’'-]*(?:\s+(?:of|and|for|the|in|on|de|[A-Z][\w’'-]*)){0,8})\s+\(([A-Z][A-Za-z]{1,7})\)"
)
SOURCES = {"model": "model", "acronym": "text", "first_person": "speaker"}
FIRST_PERSON = {"we", "our", "us", "ours", "ourselves"}
MY_NOUNS = {"country", "government", "delegation", "nation", "state", "people"}
SPEAKER_LABEL = re.compile(r"^(?P<label>[A-Z][\w.’'-]*(?:\s+(?:of|the|and|[A-Z][\w.’'-]*)){0,8})\s*:\s")
OFFICE_WORDS = re.compile(r"\b(president|prime minister|minister|chancellor|secretary)\b", re.IGNORECASE)
DATE_LIKE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|November|December|\d)", re.IGNORECASE
)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _kind_of(surface: str, name: str) -> str:
    letters = surface.replace(".", "")
    if letters.isupper() and len(letters) <= 7:
        return "acronym"
    return "name" if surface == name else "alias"


class ActorTagger:
    """Marks gazetteer names, metonyms, demonyms, office titles and NER names as candidate actor spans."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.phrases = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.patterns = Matcher(nlp.vocab)
        self.stoplist = {s.lower().replace(".", "") for s in config.stoplist}
        self.locatives = {w.lower() for w in config.locative_prepositions}
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
        demonyms = gazetteer.demonym_index()
        state_nouns = [n.lower() for n in config.state_nouns]
        for demonym, state in demonyms.items():
            self.patterns.add(f"{state}|demonym", [[{"LOWER": demonym}, {"LOWER": {"IN": state_nouns}}]])
        names_by_state: dict[str, list[str]] = {}
        for entry in gazetteer.entries.values():
            if entry.label == "GPE":
                names_by_state[entry.id] = [entry.name, *entry.aliases]
        for role, phrases in config.role_phrases.items():
            for phrase in phrases:
                words = [{"LOWER": w} for w in phrase.lower().split()]
                for demonym, state in demonyms.items():
                    self.patterns.add(f"{state}|role|{role}", [[{"LOWER": demonym}, *words]])
                for state, names in names_by_state.items():
                    for name in names:
                        tail = [{"ORTH": t} for t in name.split()]
                        self.patterns.add(f"{state}|role|{role}", [[*words, {"LOWER": "of"}, *tail]])

    def _junk(self, text: str) -> bool:
        bare = re.sub(r"^(the|The)\s+", "", text).strip(" .,;:’'\"“”()")
        letters = sum(ch.isalpha() for ch in bare)
        return (
            letters < self.config.min_chars
            or not bare[:1].isupper()
            or bare.lower().replace(".", "") in self.stoplist
            or DATE_LIKE.match(bare) is not None
        )

    def __call__(self, doc: Doc) -> Doc:
        year = doc.user_data.get("year")
        candidates: list[tuple[int, int, Span]] = []
        for match_id, start, end in self.phrases(doc):
            entity_id, kind = doc.vocab.strings[match_id].split("|")
            entry = self.gazetteer.entries[entity_id]
            if kind == "metonym" and start > 0 and doc[start - 1].lower_ in self.locatives:
                span = Span(doc, start, end, label="GPE", kb_id=f"city-{slug(doc[start:end].text)}", span_id="name")
            else:
                span = Span(doc, start, end, label=entry.label, kb_id=entity_id, span_id=kind)
            candidates.append((PRIORITY[kind], end - start, span))
        for match_id, start, end in self.patterns(doc):
            parts = doc.vocab.strings[match_id].split("|")
            if parts[1] == "demonym":
                span = Span(doc, start, start + 1, label="GPE", kb_id=parts[0], span_id="demonym")
                candidates.append((PRIORITY["demonym"], 1, span))
                continue
            holder = self.gazetteer.holder(parts[0], parts[2], year)
            if holder is not None:
                first = start - 1 if start > 0 and doc[start - 1].lower_ == "the" else start
                span = Span(doc, first, end, label="PERSON", kb_id=holder, span_id="role")
                candidates.append((PRIORITY["role"], end - first, span))
        speaker = doc.user_data.get("speaker")
        if speaker:
            for token in doc:
                if token.lower_ in FIRST_PERSON and token.pos_ == "PRON":
                    span = Span(doc, token.i, token.i + 1, label="GPE", kb_id=speaker, span_id="first_person")
                    candidates.append((0, 1, span))
                elif token.lower_ == "my" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ in MY_NOUNS:
                    span = Span(doc, token.i, token.i + 2, label="GPE", kb_id=speaker, span_id="first_person")
                    candidates.append((0, 2, span))
        for ent in doc.ents:
            if ent.label_ not in self.config.statistical_labels or self._junk(ent.text):
                continue
            start = ent.start + 1 if ent[0].lower_ == "the" else ent.start
            end = ent.end - 1 if ent[-1].text in ("’s", "'s", "’") else ent.end
            if end <= start:
                continue
            span = Span(doc, start, end, label=ent.label_, kb_id=f"x-{slug(doc[start:end].text)}", span_id="model")
            candidates.append((PRIORITY["model"], end - start, span))
        chosen: list[Span] = []
        taken: set[int] = set()
        for _, _, span in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2].start)):
            if taken.isdisjoint(range(span.start, span.end)):
                chosen.append(span)
                taken.update(range(span.start, span.end))
        doc.spans[SPAN_KEY] = sorted(chosen, key=lambda s: s.start)
        return doc


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


def speaker_states(paragraphs: list[str], gazetteer: Gazetteer, default: str | None) -> list[str | None]:
    """Whose state speaks in each paragraph: the document's (from metadata) until a transcript label such as
    "President of Belarus Alexander Lukashenko:" names someone else; an unknown speaker ("Question:") speaks
    for no state, an office without a name ("THE PRESIDENT:") for the document's."""
    people = sorted(
        ((alias, e.id) for e in gazetteer.entries.values() if e.label == "PERSON" for alias in (e.name, *e.aliases)),
        key=lambda pair: -len(pair[0]),
    )
    current, states = default, []
    for text in paragraphs:
        match = SPEAKER_LABEL.match(text)
        if match:
            label = match.group("label")
            person = next((pid for alias, pid in people if re.search(rf"\b{re.escape(alias)}\b", label)), None)
            if person is not None:
                current = gazetteer.state_of(person)
            elif OFFICE_WORDS.search(label):
                current = default
            else:
                current = None
        states.append(current)
    return states


@dataclass(frozen=True)
class Binding:
    entity_id: str
    label: str


def resolve_document(docs: list[Doc], gazetteer: Gazetteer) -> None:
    """Bind acronyms defined in the text and bare surnames to entities mentioned earlier in the same document."""
    acronyms: dict[str, Binding] = {}
    surnames: dict[str, Binding] = {}
    for doc in docs:
        spans = list(doc.spans[SPAN_KEY])
        by_end = {span.end_char: span for span in spans}
        for match in ACRONYM_DEFINITION.finditer(doc.text):
            long_form, acronym = match.group(1), match.group(2)
            anchor = by_end.get(match.start(1) + len(long_form))
            if anchor is not None and anchor.id_ != "demonym":
                acronyms.setdefault(acronym, Binding(anchor.kb_id_, anchor.label_))
            elif acronym not in {a for e in gazetteer.entries.values() for a in e.aliases}:
                acronyms.setdefault(acronym, Binding(f"x-{slug(long_form)}", "ORG"))
        resolved: list[Span] = []
        for span in spans:
            text = span.text
            if span.id_ == "model" and text in acronyms:
                bound = acronyms[text]
                span = Span(doc, span.start, span.end, label=bound.label, kb_id=bound.entity_id, span_id="acronym")
            elif span.id_ == "model" and span.label_ == "PERSON" and len(span) == 1 and text in surnames:
                bound = surnames[text]
                span = Span(doc, span.start, span.end, label="PERSON", kb_id=bound.entity_id, span_id="alias")
            if span.label_ == "PERSON" and len(span) > 1 and span.id_ != "role":
                surnames.setdefault(span[-1].text, Binding(span.kb_id_, "PERSON"))
            resolved.append(span)
        taken = {i for s in resolved for i in range(s.start, s.end)}
        for token in doc:
            if token.text in acronyms and token.i not in taken:
                bound = acronyms[token.text]
                resolved.append(
                    Span(doc, token.i, token.i + 1, label=bound.label, kb_id=bound.entity_id, span_id="acronym")
                )
        doc.spans[SPAN_KEY] = sorted(resolved, key=lambda s: s.start)


def mention_table(doc_id: str, docs: list[Doc]) -> pd.DataFrame:
    """One row per resolved mention, located in its sentence (offsets relative to the sentence text)."""
    rows = []
    for sentence in iter_sentences(docs):
        doc = sentence.doc
        for span in doc.spans[SPAN_KEY]:
            if span.start < sentence.span.start or span.end > sentence.span.end:
                continue
            start = span.start_char - sentence.span.start_char
            rows.append(
                {
                    "doc_id": doc_id,
                    "sentence_id": sentence.sentence_id,
                    "zone": sentence.zone,
                    "start_char": start,
                    "end_char": start + len(span.text),
                    "text": span.text,
                    "entity_id": span.kb_id_,
                    "label": span.label_,
                    "mention_kind": "name" if span.id_ == "model" else span.id_,
                    "source": SOURCES.get(span.id_, "gazetteer"),
                }
            )
    columns = ["doc_id", "sentence_id", "zone", "start_char", "end_char", "text", "entity_id", "label"]
    return pd.DataFrame(rows, columns=[*columns, "mention_kind", "source"])


def extract_mentions(
    docs: list[Doc], *, doc_id: str, year: int | None, country: str | None, tagger: ActorTagger, gazetteer: Gazetteer
) -> pd.DataFrame:
    """Tag every paragraph and note of one document, resolve within the document, return its mentions."""
    body = [doc for doc in docs if doc.user_data["zone"] == "body"]
    speakers = speaker_states([doc.text for doc in body], gazetteer, gazetteer.state_for_code(country))
    for doc, speaker in zip(body, speakers, strict=True):
        doc.user_data["speaker"] = speaker
    for doc in docs:
        doc.user_data["year"] = year
        tagger(doc)
    resolve_document(docs, gazetteer)
    return mention_table(doc_id, docs)


def entity_table(mentions: pd.DataFrame, gazetteer: Gazetteer) -> pd.DataFrame:
    """One row per entity over the whole corpus: canonical name, label, Wikidata id, surface forms, counts."""
    rows = []
    for entity_id, group in mentions.groupby("entity_id", sort=True):
        entry = gazetteer.entries.get(str(entity_id))
        surfaces = Counter(group["text"])
        if entry is not None:
            name, label, qid = entry.name, entry.label, entry.qid
        else:
            name = max(surfaces, key=lambda s: (surfaces[s], len(s), s))
            label, qid = Counter(group["label"]).most_common(1)[0][0], None
        rows.append(
            {
                "entity_id": str(entity_id),
                "name": name,
                "label": label,
                "qid": qid,
                "aliases": sorted(surfaces),
                "n_mentions": len(group),
                "n_body_mentions": int((group["zone"] == "body").sum()),
                "n_documents": group["doc_id"].nunique(),
                "in_gazetteer": entry is not None,
            }
        )
    columns = ["entity_id", "name", "label", "qid", "aliases", "n_mentions", "n_body_mentions", "n_documents"]
    return pd.DataFrame(rows, columns=[*columns, "in_gazetteer"])
