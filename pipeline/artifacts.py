"""The one place that reads and writes artifacts: paths, schemas, atomic writes, provenance metadata.

Per-document tables are partitioned directories (``OUT/<name>.parquet/<doc_id>.parquet``); corpus tables are
single files (``OUT/<name>.parquet``). Both read back with ``pandas.read_parquet``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import ArtifactError
from pipeline.schemas import SCHEMAS
from pipeline.stagecode import stage_code_version

META_KEY = b"pipeline"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Layout:
    """Where every artifact of one output folder lives; stages never build paths themselves."""

    out: Path

    def table(self, name: str) -> Path:
        return self.out / f"{name}.parquet"

    def partition(self, name: str, doc_id: str) -> Path:
        return self.table(name) / f"{doc_id}.parquet"

    def spacy_docs(self, doc_id: str) -> Path:
        return self.out / "spacy" / f"{doc_id}.spacy"

    @property
    def exports(self) -> Path:
        return self.out / "exports"

    @property
    def figures(self) -> Path:
        return self.out / "figures"

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    @property
    def run_summary(self) -> Path:
        return self.out / "run_summary.json"

    def partition_ids(self, name: str) -> list[str]:
        folder = self.table(name)
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.parquet"))


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _conform(frame: pd.DataFrame, name: str) -> pa.Table:
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in frame.columns]
    extra = [c for c in frame.columns if c not in schema.names]
    if missing or extra:
        raise ArtifactError(f"artifact '{name}': columns do not match its schema (missing {missing}, extra {extra})")
    try:
        return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ArtifactError(f"artifact '{name}': values do not fit its schema ({exc})") from None


def write_table(frame: pd.DataFrame, path: Path, *, name: str, meta: dict[str, Any]) -> None:
    """Schema-check ``frame`` against artifact ``name`` and write it atomically with provenance metadata."""
    table = _conform(frame, name)
    provenance = {"artifact": name, "code_version": stage_code_version(meta["stage"]), **meta}
    table = table.replace_schema_metadata({META_KEY: json.dumps(provenance, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_meta(path: Path) -> dict[str, Any]:
    """The provenance a file artifact (or one partition) carries; empty when unreadable."""
    try:
        raw = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return {}
    value = raw.get(META_KEY)
    return json.loads(value) if value else {}


def read_table(path: Path, *, name: str) -> pd.DataFrame:
    """Read a file or partitioned artifact; a missing one is an ArtifactError naming the stage to run."""
    if not path.exists():
        raise ArtifactError(f"{path}: artifact '{name}' is missing; run the stage that writes it first")
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        if not parts:
            return SCHEMAS[name].empty_table().to_pandas()
        frames = [pq.read_table(p, schema=SCHEMAS[name]).to_pandas() for p in parts]
        return pd.concat(frames, ignore_index=True)
    return pq.read_table(path).to_pandas()


def read_partition(layout: Layout, name: str, doc_id: str) -> pd.DataFrame:
    return read_table(layout.partition(name, doc_id), name=name)


def fingerprint(*parts: object) -> str:
    """A short hash of what a partition depends on: stage, code, config and upstream fingerprints."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def is_current(path: Path, expected: str) -> bool:
    return path.exists() and read_meta(path).get("fingerprint") == expected


def remove_stale_partitions(layout: Layout, name: str, keep: set[str]) -> list[str]:
    """Delete partitions of documents no longer in the input; return their ids."""
    removed = []
    for doc_id in layout.partition_ids(name):
        if doc_id not in keep:
            layout.partition(name, doc_id).unlink()
            removed.append(doc_id)
    return removed
