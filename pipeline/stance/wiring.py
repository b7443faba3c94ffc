"""Stance wired to its artifacts: every stale document judged (reviewed labels in place of predictions), then the
summaries by section and by document."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.core.artifacts import Layout, read_partition, read_table, row_count, write_table
from pipeline.core.config import ParseConfig, StanceConfig, load_config
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
from pipeline.stance.context import StanceContext, load_context, stance_correction, with_model

if TYPE_CHECKING:
    from pipeline.stance.review import Review, Reviewed


@dataclass(frozen=True)
class StanceDocument(StaleDocument):
    """A document to redo, with the reviewed rows matched to its sentences (they replace predictions)."""

    reviewed: list[Reviewed]


def _stance_chunk(item: Chunk[StanceDocument], context: StanceContext | None = None) -> list[Outcome]:
    """Judge a chunk of documents (id, fingerprint, reviewed rows); ``context`` is the stage's context as the
    coordinating process read it (the model aside), so that each worker does not read the gazetteer and lexicon
    again."""
    from pipeline.entities.stage import mark_speakers
    from pipeline.parse.nlp import load_vocab_model
    from pipeline.parse.stage import load_docs
    from pipeline.stance.embeddings import with_embeddings
    from pipeline.stance.review import apply_reviews
    from pipeline.stance.stage import analyse, items_from_docs, predict, stance_table

    docs, layout, configs = item.documents, Layout(Path(item.out)), Path(item.configs)
    context = load_context(configs) if context is None else with_model(context)
    nlp = load_vocab_model(load_config(ParseConfig, configs).model)
    outcomes = []
    for done, document in enumerate(docs, start=1):
        progress("stance", done, len(docs))
        doc_id = document.doc_id
        parsed = load_docs(layout.spacy_docs(doc_id).read_bytes(), nlp.vocab)
        country = read_partition(layout, "documents", doc_id)["country"].iloc[0]
        mark_speakers(parsed, context.gazetteer, None if pd.isna(country) else str(country))
        sentences = read_partition(layout, "sentences", doc_id)
        mentions = read_partition(layout, "mentions", doc_id)
        items = items_from_docs(doc_id, parsed, sentences, mentions)
        features = analyse(items, config=context.config, gazetteer=context.gazetteer, lexicon=context.lexicon)
        uses_embeddings = context.bundle is not None and bool(context.bundle.params.get("use_embeddings"))
        features = with_embeddings(
            features,
            enabled=uses_embeddings and context.config.method == "learned",
            encoder=context.config.learned.encoder,
        )
        predicted = predict(features, method=context.config.method, bundle=context.bundle)
        predictions = apply_reviews(predicted, features, document.reviewed)
        meta = {"stage": "stance", "fingerprint": document.fingerprint, "config_hash": context.chash}
        write_table(stance_table(features, predictions), layout.partition("stance", doc_id), name="stance", meta=meta)
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def read_stance_reviews(folder: Path | None, config: StanceConfig) -> tuple[list[Review], list[str]]:
    """The checked reviews of ``folder`` (none when it is None or absent) and warnings; a bad review file is an
    ``InputError`` naming the file and row."""
    from pipeline.stance.review import read_reviews

    if folder is None:
        return [], []
    return read_reviews(folder, targets=[t.name for t in config.targets], holders=config.holders)


def _matched_reviews(
    layout: Layout, reviews: list[Review], doc_ids: list[str]
) -> tuple[dict[str, list[Reviewed]], list[str]]:
    """Reviews matched to the body sentences of the documents they name (only those documents' sentences are read)."""
    from pipeline.stance.review import match_reviews

    if not reviews:
        return {}, []
    named = sorted({r.doc_id for r in reviews} & set(doc_ids))
    columns = ["doc_id", "sentence_id", "text"]
    frames = [read_partition(layout, "sentences", doc_id) for doc_id in named]
    body = [frame.loc[frame["zone"] == "body", columns] for frame in frames]
    sentences = pd.concat(body, ignore_index=True) if body else pd.DataFrame(columns=columns)
    return match_reviews(reviews, sentences)


def run_stance(layout: Layout, configs: Path, executor: Executor, *, reviews: Path | None = None) -> StageRun:
    """Judge every body sentence for every target, with the reviewed labels of ``reviews`` (a folder of review
    files) in place of predictions; rebuild the section and document summaries."""
    from pipeline.stance.review import reviews_digest
    from pipeline.stance.summary import by_document, by_section

    run = StageRun("stance")
    context = load_context(configs, load_model=False)
    correction = stance_correction(context.config)
    read, warnings = read_stance_reviews(reviews, context.config)  # before anything is written
    doc_ids = layout.partition_ids("mentions")
    matched, unmatched = _matched_reviews(layout, read, doc_ids)
    run.warnings.extend([*warnings, *unmatched])
    stale = [
        StanceDocument(d.doc_id, d.fingerprint, matched.get(d.doc_id, []))
        for d in stale_documents(
            run,
            layout,
            doc_ids,
            upstream=("sentences", "mentions"),
            output="stance",
            parts=lambda doc_id, upstream: (context.chash, upstream, reviews_digest(matched.get(doc_id, []))),
        )
    ]
    # a document's cost grows with its actor mentions (the encoder reads every sentence that mentions a target)
    costs = [row_count(layout.partition("mentions", d.doc_id)) for d in stale]
    work = partial(_stance_chunk, context=context)
    run_per_document(run, work, stale, layout, configs, executor, output="stance", doc_ids=doc_ids, costs=costs)
    stance = read_table(layout.table("stance"), name="stance")
    sections = read_table(layout.table("sections"), name="sections")
    documents = read_table(layout.table("documents"), name="documents")
    config = context.config
    meta = {
        "stage": "stance",
        "config_hash": context.chash,
        "inputs": {d: upstream_fingerprint(layout, ("stance",), d) for d in layout.partition_ids("stance")},
    }
    summary = by_section(stance, sections, samples=config.bootstrap_samples, seed=config.seed, correction=correction)
    write_table(summary, layout.table("stance_by_section"), name="stance_by_section", meta=meta)
    summary = by_document(stance, documents, samples=config.bootstrap_samples, seed=config.seed, correction=correction)
    write_table(summary, layout.table("stance_by_document"), name="stance_by_document", meta=meta)
    record_summary(layout, run)
    return run


def run(request: StageRequest) -> StageRun:
    """The stance stage as the stage registry runs it."""
    return run_stance(request.layout, request.configs, request.executor, reviews=request.reviews)
