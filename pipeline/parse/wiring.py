"""Parse wired to its artifacts: the stale documents dealt to worker processes by text size, each parsed in one
``nlp.pipe`` stream, its sentences and parsed docs written."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.artifacts import (
    Layout,
    column_bytes,
    fingerprint,
    is_current,
    read_partition,
    remove_stale_partitions,
    write_table,
)
from pipeline.core.config import ParseConfig, config_hash, load_config
from pipeline.core.registry import StageRequest
from pipeline.core.runner import (
    Chunk,
    Executor,
    Outcome,
    StageRun,
    StaleDocument,
    chunks_by_cost,
    progress,
    record_summary,
    upstream_fingerprint,
)
from pipeline.core.stagecode import stage_code_version


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
    stale: list[StaleDocument] = []
    for doc_id in doc_ids:
        upstream = upstream_fingerprint(layout, ("paragraphs", "footnotes"), doc_id)
        print_ = fingerprint("parse", stage_code_version("parse"), chash, version, upstream)
        if (
            upstream is not None
            and is_current(layout.partition("sentences", doc_id), print_)
            and (layout.spacy_docs(doc_id).exists())
        ):
            run.outcomes.append(Outcome(doc_id, doc_id, "current"))
        else:
            stale.append(StaleDocument(doc_id, print_))
    # each worker process parses its share of the documents with its own nlp.pipe stream, costliest documents dealt
    # first in turn: the parsed docs never cross a process boundary (nlp.pipe's own n_process sends every doc back
    # to one process, which then also stores them all while the parsing processes want the same cores)
    sizes = [_text_bytes(layout, d.doc_id) for d in stale]
    processes = worker_count(config.n_process, sum(sizes))
    planned = chunks_by_cost(stale, sizes, executor, processes=processes)
    work = [Chunk(chunk, str(layout.out), str(configs)) for chunk in planned]
    for outcomes in executor.map(_parse_chunk, work):
        run.outcomes.extend(outcomes)
    for doc_id in remove_stale_partitions(layout, "sentences", set(doc_ids)):
        layout.spacy_docs(doc_id).unlink(missing_ok=True)
        run.outcomes.append(Outcome(doc_id, doc_id, "removed"))
    record_summary(layout, run)
    return run


def _text_bytes(layout: Layout, doc_id: str) -> int:
    """How much text a document has to parse: its paragraphs' and footnotes' text, uncompressed (from the files'
    footers, without reading the text)."""
    return sum(column_bytes(layout.partition(name, doc_id), "text") for name in ("paragraphs", "footnotes"))


def run(request: StageRequest) -> StageRun:
    """The parse stage as the stage registry runs it."""
    return run_parse(request.layout, request.configs, request.executor)
