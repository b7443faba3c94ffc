"""Ingest wired to its artifacts: each source read once, skipped when its fingerprint is current, written as
one partition per table."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.artifacts import Layout, fingerprint, is_current, remove_stale_partitions, write_table
from pipeline.core.config import IngestConfig, config_hash, load_config
from pipeline.core.errors import InputError
from pipeline.core.registry import StageRequest
from pipeline.core.runner import Executor, LocalExecutor, Outcome, StageRun, record_summary
from pipeline.core.stagecode import stage_code_version
from pipeline.ingest.sources import decode_source, doc_id_for, list_sources, read_metadata, read_source_bytes
from pipeline.ingest.stage import ingest_text

INGEST_TABLES = ("documents", "sections", "paragraphs", "footnotes")


@dataclass(frozen=True)
class Source:
    """One source file to ingest, with what its fingerprint covers: the config (hashed) and its metadata row."""

    path: str
    doc_id: str
    out: str
    config: IngestConfig
    chash: str
    metadata: dict[str, str]


def _ingest_one(item: Source) -> Outcome:
    path_str, doc_id, config, chash, metadata = item.path, item.doc_id, item.config, item.chash, item.metadata
    path, layout = Path(path_str), Layout(Path(item.out))
    try:
        data = read_source_bytes(path)  # read once: the hash recorded is that of the bytes ingested
    except InputError as exc:
        return Outcome(path_str, doc_id, "failed", str(exc))
    source_sha = hashlib.sha256(data).hexdigest()
    print_ = fingerprint("ingest", stage_code_version("ingest"), chash, source_sha, doc_id, metadata)
    if all(is_current(layout.partition(t, doc_id), print_) for t in INGEST_TABLES):
        return Outcome(path_str, doc_id, "current")
    try:
        source = decode_source(path, data)
        result = ingest_text(
            source.text, doc_id=doc_id, source_name=str(path), config=config, metadata_title=metadata.get("title")
        )
    except InputError as exc:
        return Outcome(path_str, doc_id, "failed", str(exc))
    year = re.search(r"(19|20)\d\d", metadata.get("year", ""))
    document = {
        **result.document,
        "year": int(year.group(0)) if year else result.document["year"],
        "speaker": metadata.get("speaker"),
        "country": metadata.get("country"),
        "source_path": str(path),
        "source_sha256": source_sha,
        "format": source.format,
        "encoding": source.encoding,
        "warnings": source.warnings + list(result.document["warnings"]),
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
    config = load_config(IngestConfig, configs)  # once for all documents (and a bad config fails early)
    chash = config_hash(config)
    items: list[Source] = []
    seen: dict[str, Path] = {}
    metadata = read_metadata(texts)
    for path in list_sources(texts):
        doc_id = doc_id_for(path)
        if doc_id in seen:
            message = f"{path}: document id '{doc_id}' is already taken by {seen[doc_id].name}; rename one file"
            run.outcomes.append(Outcome(str(path), None, "failed", message))
            continue
        seen[doc_id] = path
        items.append(Source(str(path), doc_id, str(layout.out), config, chash, metadata.get(path.name, {})))
    in_process = executor if executor.distributed else LocalExecutor()  # ingest is cheap
    run.outcomes.extend(in_process.map(_ingest_one, items))
    keep = {o.doc_id for o in run.outcomes if o.status in ("done", "current") and o.doc_id}
    for name in INGEST_TABLES:
        removed = remove_stale_partitions(layout, name, keep)
        if name == "documents":
            run.outcomes.extend(Outcome(doc_id, doc_id, "removed") for doc_id in removed)
    record_summary(layout, run)
    return run


def run(request: StageRequest) -> StageRun:
    """The ingest stage as the stage registry runs it."""
    return run_ingest(request.texts, request.layout, request.configs, request.executor)
