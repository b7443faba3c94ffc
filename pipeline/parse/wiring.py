"""Parse wired to its artifacts: the stale documents dealt to worker processes by text size, each parsed in one
``nlp.pipe`` stream, its sentences and parsed docs written."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.artifacts import Layout, column_bytes, read_partition, write_table
from pipeline.core.config import ParseConfig, config_hash, load_config
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
)


def _parse_chunk(item: Chunk[StaleDocument]) -> list[Outcome]:
    from pipeline.core.artifacts import write_bytes_atomic
    from pipeline.parse.nlp import load_model
    from pipeline.parse.stage import parse_documents, too_long

    layout = Layout(Path(item.out))
    config = load_config(ParseConfig, Path(item.configs))
    prints = {d.doc_id: d.fingerprint for d in item.documents}
    inputs = {
        doc_id: (read_partition(layout, "paragraphs", doc_id), read_partition(layout, "footnotes", doc_id))
        for doc_id in prints
    }
    refused = too_long(inputs, load_model(config.model).max_length)
    outcomes = [Outcome(doc_id, doc_id, "failed", message) for doc_id, message in refused.items()]
    for doc_id in refused:
        inputs.pop(doc_id)
        layout.partition("sentences", doc_id).unlink(missing_ok=True)
        layout.spacy_docs(doc_id).unlink(missing_ok=True)
    meta = {"stage": "parse", "config_hash": config_hash(config), "model": config.model}
    for done, (doc_id, doc_bin, sentences) in enumerate(parse_documents(inputs, config=config), start=1):
        progress("parse", done, len(inputs))
        write_bytes_atomic(layout.spacy_docs(doc_id), doc_bin)
        write_table(
            sentences,
            layout.partition("sentences", doc_id),
            name="sentences",
            meta={**meta, "fingerprint": prints[doc_id]},
        )
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def run_parse(layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Parse the paragraphs and footnotes of every new or changed document once with spaCy."""
    from pipeline.parse.nlp import model_version, worker_count

    run = StageRun("parse")
    config = load_config(ParseConfig, configs)
    chash = config_hash(config)
    version = model_version(config.model)
    doc_ids = layout.partition_ids("documents")
    stale = stale_documents(
        run,
        layout,
        doc_ids,
        upstream=("paragraphs", "footnotes"),
        output="sentences",
        parts=lambda doc_id, upstream: (chash, version, upstream),
        complete=lambda doc_id: layout.spacy_docs(doc_id).exists(),  # the parsed docs beside the sentences
    )
    # each worker process parses its share of the documents with its own nlp.pipe stream, costliest documents dealt
    # first in turn: the parsed docs never cross a process boundary (nlp.pipe's own n_process sends every doc back
    # to one process, which then also stores them all while the parsing processes want the same cores)
    sizes = [_text_bytes(layout, d.doc_id) for d in stale]
    processes = worker_count(config.n_process, sum(sizes))
    run_per_document(
        run,
        _parse_chunk,
        stale,
        layout,
        configs,
        executor,
        output="sentences",
        doc_ids=doc_ids,
        costs=sizes,
        processes=processes,
        removed=lambda doc_id: layout.spacy_docs(doc_id).unlink(missing_ok=True),
    )
    record_summary(layout, run)
    return run


def _text_bytes(layout: Layout, doc_id: str) -> int:
    """How much text a document has to parse: its paragraphs' and footnotes' text, uncompressed (from the files'
    footers, without reading the text)."""
    return sum(column_bytes(layout.partition(name, doc_id), "text") for name in ("paragraphs", "footnotes"))


def run(request: StageRequest) -> StageRun:
    """The parse stage as the stage registry runs it."""
    return run_parse(request.layout, request.configs, request.executor)
