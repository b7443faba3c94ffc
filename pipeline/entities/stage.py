"""Entities: actor mentions from the gazetteer and spaCy's NER, resolved within each document to one entity id.

``pipeline.entities.tagger`` marks candidate spans paragraph by paragraph; ``pipeline.entities.resolution`` binds
what needs the whole document (acronyms defined in the text, bare surnames, shared short names, bare heads);
this module runs both over a document and turns the spans into the ``mentions`` and ``entities`` tables.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
from spacy.tokens import Doc

from pipeline.entities.gazetteer import Gazetteer
from pipeline.entities.resolution import resolve_document
from pipeline.entities.tagger import KINDS, SPAN_KEY, ActorTagger
from pipeline.parse.stage import iter_sentences

SPEAKER_LABEL = re.compile(r"^(?P<label>[A-Z][\w.’'-]*(?:\s+(?:of|the|and|[A-Z][\w.’'-]*)){0,8})\s*:\s")
# a speaker label is at most nine words and a colon; a paragraph's first 64 tokens hold it (a doc's full text is
# rebuilt token by token, which reading every paragraph of a long transcript would pay for)
LABEL_TOKENS = 64
OFFICE_WORDS = re.compile(r"\b(president|prime minister|minister|chancellor|secretary)\b", re.IGNORECASE)


def _person_names(gazetteer: Gazetteer) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex of every person's name and aliases (longest first) and the person each stands for, built once
    per gazetteer object."""
    cached: tuple[re.Pattern[str], dict[str, str]] | None = getattr(gazetteer, "_person_names", None)
    if cached is None:
        person_of: dict[str, str] = {}
        for entry in gazetteer.entries.values():
            if entry.label == "PERSON":
                for alias in (entry.name, *entry.aliases):
                    person_of.setdefault(alias, entry.id)
        names = sorted(person_of, key=lambda alias: (-len(alias), alias))
        cached = (re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b"), person_of)
        setattr(gazetteer, "_person_names", cached)  # noqa: B010 - a cache outside the dataclass fields
    return cached


def speaker_states(paragraphs: list[str], gazetteer: Gazetteer, default: str | None) -> list[str | None]:
    """Whose state speaks in each paragraph: the document's (from metadata) until a transcript label such as
    "President of Belarus Alexander Lukashenko:" names someone else; an unknown speaker ("Question:") speaks
    for no state, an office without a name ("THE PRESIDENT:") for the document's."""
    pattern, person_of = _person_names(gazetteer)
    current, states = default, []
    for text in paragraphs:
        match = SPEAKER_LABEL.match(text)
        if match:
            label = match.group("label")
            found = pattern.search(label)
            person = person_of[found.group(0)] if found else None
            if person is not None:
                current = gazetteer.state_of(person)
            elif OFFICE_WORDS.search(label):
                current = default
            else:
                current = None
        states.append(current)
    return states


def mark_speakers(
    docs: list[Doc], gazetteer: Gazetteer, country: str | None, *, texts: list[str] | None = None
) -> None:
    """Record on each body paragraph the state whose representative speaks it (``speaker_states``; ``texts``: the
    docs' texts, when the caller has them already; otherwise their first tokens, which hold any speaker label)."""
    texts = [doc[:LABEL_TOKENS].text for doc in docs] if texts is None else texts
    body = [(doc, text) for doc, text in zip(docs, texts, strict=True) if doc._.zone == "body"]
    speakers = speaker_states([text for _, text in body], gazetteer, gazetteer.state_for_code(country))
    for (doc, _), speaker in zip(body, speakers, strict=True):
        doc._.speaker = speaker


def mention_table(doc_id: str, docs: list[Doc]) -> pd.DataFrame:
    """One row per resolved mention, located in its sentence (offsets relative to the sentence text)."""
    rows = []
    spans = {id(doc): list(doc.spans[SPAN_KEY]) for doc in docs}
    for sentence in iter_sentences(docs):
        for span in spans[id(sentence.doc)]:
            if span.start < sentence.span.start or span.end > sentence.span.end:
                continue
            start = span.start_char - sentence.span.start_char
            kind, source = KINDS.get(span.id_, (span.id_, "gazetteer"))
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
                    "mention_kind": kind,
                    "source": source,
                }
            )
    columns = ["doc_id", "sentence_id", "zone", "start_char", "end_char", "text", "entity_id", "label"]
    return pd.DataFrame(rows, columns=[*columns, "mention_kind", "source"])


def extract_mentions(
    docs: list[Doc], *, doc_id: str, year: int | None, country: str | None, tagger: ActorTagger, gazetteer: Gazetteer
) -> pd.DataFrame:
    """Tag every paragraph and note of one document, resolve within the document, return its mentions."""
    texts = [doc.text for doc in docs]
    mark_speakers(docs, gazetteer, country, texts=texts)
    for doc in docs:
        doc._.year = year
        tagger(doc)
    resolve_document(docs, gazetteer=gazetteer, config=tagger.config, texts=texts)
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
