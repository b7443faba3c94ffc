"""Wiring of each stage to its artifacts: read inputs, skip what is current, call the pure stage, write outputs.

Per-document work functions take one picklable tuple so they run the same in this process or on Dask workers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.artifacts import (
    Layout,
    fingerprint,
    is_current,
    read_partition,
    remove_stale_partitions,
    sha256_file,
    write_table,
)
from pipeline.config import config_hash, load_stage_config
from pipeline.errors import InputError, PipelineError
from pipeline.runner import Executor, Outcome, StageRun, chunks, record_summary, upstream_fingerprint
from pipeline.sources import doc_id_for, list_sources, read_source
from pipeline.stagecode import stage_code_version
from pipeline.stages.ingest import ingest_text

INGEST_TABLES = ("documents", "sections", "paragraphs", "footnotes")


def _ingest_one(item: tuple[str, str, str, str]) -> Outcome:
    path_str, doc_id, out, configs = item
    path, layout = Path(path_str), Layout(Path(out))
    config = load_stage_config("ingest", Path(configs))
    chash = config_hash(config)
    try:
        source_sha = sha256_file(path)
    except OSError as exc:
        return Outcome(path_str, doc_id, "failed", f"{path}: cannot read ({exc.strerror})")
    print_ = fingerprint("ingest", stage_code_version("ingest"), chash, source_sha, doc_id)
    if all(is_current(layout.partition(t, doc_id), print_) for t in INGEST_TABLES):
        return Outcome(path_str, doc_id, "current")
    try:
        source = read_source(path)
        result = ingest_text(source.text, doc_id=doc_id, source_name=str(path), config=config)
    except InputError as exc:
        return Outcome(path_str, doc_id, "failed", str(exc))
    document = {
        **result.document,
        "source_path": str(path),
        "source_sha256": source_sha,
        "format": source.format,
        "encoding": source.encoding,
        "warnings": source.warnings + list(result.document["warnings"]),  # type: ignore[call-overload]
    }
    meta = {"stage": "ingest", "fingerprint": print_, "config_hash": chash, "inputs": {str(path): source_sha}}
    frames = {
        "documents": pd.DataFrame([document]),
        "sections": result.sections,
        "paragraphs": result.paragraphs,
        "footnotes": result.footnotes,
    }
    for name in INGEST_TABLES:
        write_table(frames[name], layout.partition(name, doc_id), name=name, meta=meta)
    return Outcome(path_str, doc_id, "done", warnings=list(document["warnings"]))


def run_ingest(texts: Path, layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Ingest every .txt/.pdf in ``texts``; only new or changed documents are processed."""
    run = StageRun("ingest")
    load_stage_config("ingest", configs)  # fail early, once, on a bad config
    items: list[tuple[str, str, str, str]] = []
    seen: dict[str, Path] = {}
    for path in list_sources(texts):
        doc_id = doc_id_for(path)
        if doc_id in seen:
            message = f"{path}: document id '{doc_id}' is already taken by {seen[doc_id].name}; rename one file"
            run.outcomes.append(Outcome(str(path), None, "failed", message))
            continue
        seen[doc_id] = path
        items.append((str(path), doc_id, str(layout.out), str(configs)))
    run.outcomes.extend(executor.map(_ingest_one, items))
    keep = {o.doc_id for o in run.outcomes if o.status in ("done", "current") and o.doc_id}
    for name in INGEST_TABLES:
        removed = remove_stale_partitions(layout, name, keep)
        if name == "documents":
            run.outcomes.extend(Outcome(doc_id, doc_id, "removed") for doc_id in removed)
    record_summary(layout, run)
    return run


# ---------------------------------------------------------------------------------------------------- parse


def _parse_chunk(item: tuple[list[tuple[str, str]], str, str]) -> list[Outcome]:
    from pipeline.stages.parse import parse_documents

    docs, out, configs = item
    layout = Layout(Path(out))
    config = load_stage_config("parse", Path(configs))
    inputs = {
        doc_id: (read_partition(layout, "paragraphs", doc_id), read_partition(layout, "footnotes", doc_id))
        for doc_id, _ in docs
    }
    results = parse_documents(inputs, config=config)
    outcomes = []
    for doc_id, print_ in docs:
        doc_bin, sentences = results[doc_id]
        from pipeline.artifacts import write_bytes_atomic

        write_bytes_atomic(layout.spacy_docs(doc_id), doc_bin)
        meta = {
            "stage": "parse",
            "fingerprint": print_,
            "config_hash": config_hash(config),
            "model": config.model,
        }
        write_table(sentences, layout.partition("sentences", doc_id), name="sentences", meta=meta)
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def run_parse(layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Parse the paragraphs and footnotes of every new or changed document once with spaCy."""
    from pipeline.nlp import model_version

    run = StageRun("parse")
    config = load_stage_config("parse", configs)
    chash = config_hash(config)
    version = model_version(config.model)
    doc_ids = layout.partition_ids("documents")
    stale: list[tuple[str, str]] = []
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
            stale.append((doc_id, print_))
    work = [(chunk, str(layout.out), str(configs)) for chunk in chunks(stale, executor.workers)]
    for outcomes in executor.map(_parse_chunk, work):
        run.outcomes.extend(outcomes)
    for doc_id in remove_stale_partitions(layout, "sentences", set(doc_ids)):
        layout.spacy_docs(doc_id).unlink(missing_ok=True)
        run.outcomes.append(Outcome(doc_id, doc_id, "removed"))
    record_summary(layout, run)
    return run


def check_no_failures(run: StageRun) -> None:
    if run.failed and len(run.failed) == len(run.outcomes):
        raise PipelineError(f"[{run.stage}] every document failed; nothing to pass on")
