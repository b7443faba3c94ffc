"""Entities wired to their artifacts: mentions per stale document from its stored parsed docs, then the corpus entity
table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.artifacts import Layout, read_table, write_table
from pipeline.core.config import EntitiesConfig, ParseConfig, config_hash, load_config
from pipeline.core.registry import StageRequest
from pipeline.core.runner import (
    Chunk,
    Executor,
    Outcome,
    StageRun,
    StaleDocument,
    progress,
    record_summary,
    run_per_document,
    stale_documents,
    upstream_fingerprint,
)


@dataclass(frozen=True)
class EntitiesDocument(StaleDocument):
    """A document to redo, with what resolving its mentions needs to know: its year and its speaker's country."""

    year: int | None
    country: str | None


def _entities_config(configs: Path) -> tuple[EntitiesConfig, Path, str]:
    config = load_config(EntitiesConfig, configs)
    gazetteer_path = Path(config.gazetteer)
    return config, gazetteer_path, config_hash(config, gazetteer_path)


def _entities_chunk(item: Chunk[EntitiesDocument]) -> list[Outcome]:
    from pipeline.entities.gazetteer import load_gazetteer
    from pipeline.entities.stage import ActorTagger, extract_mentions
    from pipeline.parse.nlp import load_vocab_model
    from pipeline.parse.stage import load_docs

    docs, layout, configs = item.documents, Layout(Path(item.out)), Path(item.configs)
    config, gazetteer_path, chash = _entities_config(configs)
    gazetteer = load_gazetteer(gazetteer_path)
    nlp = load_vocab_model(load_config(ParseConfig, configs).model)
    tagger = ActorTagger(nlp, gazetteer, config)
    outcomes = []
    for done, document in enumerate(docs, start=1):
        progress("entities", done, len(docs))
        doc_id = document.doc_id
        parsed = load_docs(layout.spacy_docs(doc_id).read_bytes(), nlp.vocab)
        mentions = extract_mentions(
            parsed, doc_id=doc_id, year=document.year, country=document.country, tagger=tagger, gazetteer=gazetteer
        )
        meta = {"stage": "entities", "fingerprint": document.fingerprint, "config_hash": chash}
        write_table(mentions, layout.partition("mentions", doc_id), name="mentions", meta=meta)
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def _document_context(layout: Layout) -> dict[str, tuple[int | None, str | None]]:
    """Each document's year and speaker country (from metadata): what entity resolution needs to know."""
    documents = read_table(layout.table("documents"), name="documents")
    return {
        str(row.doc_id): (None if pd.isna(row.year) else int(row.year), None if pd.isna(row.country) else row.country)
        for row in documents.itertuples()
    }


def run_entities(layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Find and resolve actor mentions per document; rebuild the corpus entity table."""
    from pipeline.entities.gazetteer import load_gazetteer
    from pipeline.entities.stage import entity_table

    run = StageRun("entities")
    config, gazetteer_path, chash = _entities_config(configs)
    gazetteer = load_gazetteer(gazetteer_path)
    contexts = _document_context(layout)
    doc_ids = layout.partition_ids("sentences")
    stale = [
        EntitiesDocument(d.doc_id, d.fingerprint, *contexts.get(d.doc_id, (None, None)))
        for d in stale_documents(
            run,
            layout,
            doc_ids,
            upstream=("sentences",),
            output="mentions",
            parts=lambda doc_id, upstream: (chash, upstream, *contexts.get(doc_id, (None, None))),
        )
    ]
    run_per_document(run, _entities_chunk, stale, layout, configs, executor, output="mentions", doc_ids=doc_ids)
    mentions = read_table(layout.table("mentions"), name="mentions")
    meta = {
        "stage": "entities",
        "config_hash": chash,
        "inputs": {d: upstream_fingerprint(layout, ("mentions",), d) for d in layout.partition_ids("mentions")},
    }
    write_table(entity_table(mentions, gazetteer), layout.table("entities"), name="entities", meta=meta)
    record_summary(layout, run)
    return run


def run(request: StageRequest) -> StageRun:
    """The entities stage as the stage registry runs it."""
    return run_entities(request.layout, request.configs, request.executor)
