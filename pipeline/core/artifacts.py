"""The one place that reads and writes artifacts: paths, schemas, atomic writes, provenance metadata.

Per-document tables are partitioned directories (``OUT/<name>.parquet/<doc_id>.parquet``); corpus tables are
single files (``OUT/<name>.parquet``). Both read back with ``pandas.read_parquet``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.errors import ArtifactError, OutputError, os_problem
from pipeline.core.schemas import SCHEMAS
from pipeline.core.stagecode import stage_code_version

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
        return self.table(name) / f"{_safe_id(doc_id)}.parquet"

    def spacy_docs(self, doc_id: str) -> Path:
        return self.out / "spacy" / f"{_safe_id(doc_id)}.spacy"

    @property
    def exports(self) -> Path:
        return self.out / "exports"

    @property
    def figures(self) -> Path:
        return self.out / "figures"

    def network_figure(self, doc_id: str) -> Path:
        """A document's network figure, which the network stage draws and the report shows."""
        return self.figure(doc_id, "network.png")

    def figure(self, stem: str, suffix: str) -> Path:
        return self.figures / f"{stem}.{suffix}"

    def export(self, stem: str, suffix: str) -> Path:
        return self.exports / f"{stem}.{suffix}"

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    @property
    def report_pages(self) -> Path:
        return self.out / "report"

    def report_page(self, name: str) -> Path:
        """``index`` or a document's page of the report (``report/<doc_id>.html``)."""
        return self.report_pages / f"{_safe_id(name)}.html"

    @property
    def review_sheet(self) -> Path:
        return self.out / "review.csv"

    @property
    def run_summary(self) -> Path:
        return self.out / "run_summary.json"

    @property
    def datapackage(self) -> Path:
        return self.out / "datapackage.json"

    def partition_ids(self, name: str) -> list[str]:
        folder = self.table(name)
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in _parts(folder))


def _safe_id(doc_id: str) -> str:
    """A document id used as a file name must stay inside its folder (ids come from ``sources.doc_id_for``)."""
    if not doc_id or doc_id.startswith(".") or "/" in doc_id or "\\" in doc_id or "\0" in doc_id:
        raise ArtifactError(f"unsafe document id {doc_id!r}: not usable as a file name inside the output folder")
    return doc_id


def _parts(folder: Path) -> list[Path]:
    """The partitions of a partitioned artifact; hidden files (temporaries, OS debris) are not partitions, as for
    ``pandas.read_parquet``."""
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporaries left under ``folder`` by a write whose process died (killed, out of memory)."""
    removed = []
    for path in folder.rglob(".*.tmp") if folder.is_dir() else []:
        match = TEMPORARY.match(path.name)
        if match and not _process_alive(int(match.group("pid"))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds, so a reader never
    sees a half-written file, even if the process is killed. The temporary is hidden and named after this process,
    so ``remove_stale_temporaries`` can tell an abandoned one from one being written; it is created by the writer
    (not ``mkstemp``) so that the artifact gets the usual permissions. A write the disk refuses (full, read-only,
    no permission) is an OutputError naming ``path``; the previous version of ``path``, if any, stays as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        problem = os_problem(exc)
        raise OutputError(f"{path}: cannot write ({problem}); every artifact written so far is intact") from None
    finally:
        with contextlib.suppress(OSError):  # a read-only folder refuses even this; the next run cleans up
            tmp.unlink(missing_ok=True)


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
        # column by column: the same table as ``pa.Table.from_pandas(frame, schema=schema)``, at half the cost
        columns = [pa.array(frame[field.name], type=field.type, from_pandas=True) for field in schema]
        return pa.Table.from_arrays(columns, schema=schema)
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


def read_table(path: Path, *, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a file or partitioned artifact, or only its ``columns`` (a corpus-wide step that needs a few columns
    then never holds the others, such as every sentence's text, in memory); a missing artifact is an
    ArtifactError naming the stage to run."""
    if not path.exists():
        raise ArtifactError(f"{path}: artifact '{name}' is missing; run the stage that writes it first")
    schema = SCHEMAS[name]
    if path.is_dir():
        parts = _parts(path)
        if not parts:
            empty = schema.empty_table()
            return (empty if columns is None else empty.select(columns)).to_pandas()
        # one conversion to pandas for all partitions (converting each and concatenating costs twice as much)
        return pa.concat_tables([_read_file(p, schema=schema, columns=columns) for p in parts]).to_pandas()
    return _read_file(path, columns=columns).to_pandas()


def _read_file(path: Path, *, schema: pa.Schema | None = None, columns: list[str] | None = None) -> pa.Table:
    try:
        # a ParquetFile reads one file at half the cost of ``pq.read_table``; a file of another layout (an older
        # schema) is read again the way that fits it to ``schema``
        with pq.ParquetFile(path) as handle:
            table = handle.read(columns=columns)
        expected = schema if schema is None or columns is None else pa.schema([schema.field(c) for c in columns])
        if expected is not None and not table.schema.equals(expected):
            table = pq.read_table(path, schema=schema, columns=columns)
        return table
    except (OSError, pa.ArrowInvalid) as exc:
        raise ArtifactError(
            f"{path}: unreadable artifact ({type(exc).__name__}); delete it and rerun the stage that writes it"
        ) from None


def read_partition(layout: Layout, name: str, doc_id: str) -> pd.DataFrame:
    return read_table(layout.partition(name, doc_id), name=name)


def row_count(path: Path) -> int:
    """The number of rows of a file artifact (or one partition), from its footer; 0 when unreadable."""
    try:
        return int(pq.read_metadata(path).num_rows)
    except (OSError, pa.ArrowInvalid):
        return 0


def column_bytes(path: Path, column: str) -> int:
    """The uncompressed size of one column of a file artifact (or one partition), from its footer; 0 when
    unreadable."""
    try:
        metadata = pq.read_metadata(path)
        index = metadata.schema.names.index(column)
        return sum(metadata.row_group(k).column(index).total_uncompressed_size for k in range(metadata.num_row_groups))
    except (OSError, ValueError, pa.ArrowInvalid):
        return 0


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
