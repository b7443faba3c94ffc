"""Artifacts: writes are atomic, temporaries of killed writers are never read and get cleaned up, ids stay inside
the output folder, damaged files are named in the error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.core.artifacts import (
    META_KEY,
    Layout,
    atomic_path,
    read_meta,
    read_table,
    remove_stale_temporaries,
    write_table,
    write_text_atomic,
)
from pipeline.core.errors import ArtifactError
from tests.conftest import ROOT


def sections(doc_id: str = "doc", n: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [doc_id] * n,
            "section_index": list(range(n)),
            "section_title": [f"Section {k}" for k in range(n)],
            "n_paragraphs": [1] * n,
            "span_starts": [[0]] * n,
            "span_ends": [[5]] * n,
        }
    )


META = {"stage": "ingest", "fingerprint": "f" * 20, "config_hash": "c" * 16}


def test_write_table_records_provenance(tmp_path):
    path = Layout(tmp_path).partition("sections", "doc")
    write_table(sections(), path, name="sections", meta=META)
    meta = json.loads(pq.read_schema(path).metadata[META_KEY])
    assert meta["artifact"] == "sections" and meta["fingerprint"] == "f" * 20 and meta["config_hash"] == "c" * 16
    assert meta["code_version"].startswith("0.")
    assert read_meta(path) == meta


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.html"
    write_text_atomic(path, "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full, say")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_schema_mismatch_is_refused_before_writing(tmp_path):
    path = tmp_path / "sections.parquet" / "doc.parquet"
    with pytest.raises(ArtifactError, match="extra \\['colour'\\]"):
        write_table(sections().assign(colour="red"), path, name="sections", meta=META)
    assert not path.exists()


KILLED_WRITER = """
import os, sys
from pathlib import Path
from pipeline.core.artifacts import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp:
    tmp.write_bytes(b"PAR1 half a parquet file")
    os._exit(9)  # dies like SIGKILL: no cleanup, no rename
"""


def test_temporary_of_a_killed_writer_is_never_read_and_is_removed(tmp_path):
    layout = Layout(tmp_path)
    write_table(sections("a"), layout.partition("sections", "a"), name="sections", meta=META)
    target = layout.partition("sections", "b")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], cwd=ROOT, check=False)
    assert killed.returncode == 9
    (leftover,) = (tmp_path / "sections.parquet").glob(".*.tmp")
    assert not target.exists()
    assert layout.partition_ids("sections") == ["a"]
    assert pd.read_parquet(tmp_path / "sections.parquet")["doc_id"].unique().tolist() == ["a"]
    assert read_table(layout.table("sections"), name="sections")["doc_id"].unique().tolist() == ["a"]
    with atomic_path(tmp_path / "sections.parquet" / "c.parquet") as mine:
        mine.write_bytes(b"being written by a live process")
        assert remove_stale_temporaries(tmp_path) == [leftover]
        assert mine.exists(), "a temporary of a live process is left alone"
    assert not leftover.exists()


def test_artifacts_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "sections.parquet"
    write_table(sections(), path, name="sections", meta=META)
    write_text_atomic(tmp_path / "report.html", "<p>")
    for written in (path, tmp_path / "report.html"):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("doc_id", ["", "../evil", "a/b", ".hidden", "..", "a\\b", "nul\0"])
def test_unsafe_document_ids_are_refused(tmp_path, doc_id):
    with pytest.raises(ArtifactError, match="unsafe document id"):
        Layout(tmp_path).partition("sections", doc_id)
    with pytest.raises(ArtifactError, match="unsafe document id"):
        Layout(tmp_path).spacy_docs(doc_id)


def test_damaged_artifact_is_named(tmp_path):
    layout = Layout(tmp_path)
    write_table(sections("a"), layout.partition("sections", "a"), name="sections", meta=META)
    layout.partition("sections", "b").write_bytes(b"PAR1 not really")
    with pytest.raises(ArtifactError, match=r"b\.parquet: unreadable artifact .*delete it and rerun"):
        read_table(layout.table("sections"), name="sections")
    assert read_meta(layout.partition("sections", "b")) == {}, "a damaged partition is never current"


def test_missing_artifact_names_the_stage_to_run(tmp_path):
    with pytest.raises(ArtifactError, match="artifact 'sentences' is missing; run the stage that writes it first"):
        read_table(Layout(tmp_path).table("sentences"), name="sentences")


def test_a_few_columns_read_alone_equal_those_columns_of_the_whole_table(tmp_path):
    layout = Layout(tmp_path)
    for doc_id in ("a", "b"):
        write_table(sections(doc_id), layout.partition("sections", doc_id), name="sections", meta=META)
    columns = ["doc_id", "section_index"]
    whole = read_table(layout.table("sections"), name="sections")
    few = read_table(layout.table("sections"), name="sections", columns=columns)
    pd.testing.assert_frame_equal(few, whole[columns])
    (tmp_path / "empty.parquet").mkdir()
    assert list(read_table(tmp_path / "empty.parquet", name="sections", columns=columns).columns) == columns
