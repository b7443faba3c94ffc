"""Reading source documents: a document is read once, so the hash recorded and the text ingested come from the same
bytes even when the file changes on disk while the pipeline reads it."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.artifacts import Layout, read_table
from pipeline.core.runner import LocalExecutor
from pipeline.ingest.sources import doc_id_for
from pipeline.ingest.wiring import run_ingest
from tests.conftest import CONFIGS
from tests.ingest.test_pdf import one_page_pdf

BEFORE = "Russia and Belarus signed the treaty in Minsk on Monday, the ministers said afterwards."
AFTER = "Ukraine and Poland rejected the proposal in Warsaw on Friday, the officials said later."


class ReplacedOnClose:
    """A file opened for reading that, once closed, is replaced on disk by other bytes: an editor saving over the
    document between one read and the next."""

    def __init__(self, handle: Any, path: Path, later: bytes) -> None:
        self._handle, self._path, self._later = handle, path, later

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> ReplacedOnClose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.close()
        tmp = self._path.with_name(self._path.name + ".saving")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, self._later)
        os.close(fd)
        os.replace(tmp, self._path)


def versions(folder: Path, suffix: str) -> tuple[bytes, bytes]:
    """The bytes of a document before and after it is saved over, as a .txt or a one-page PDF (made in ``folder``)."""
    if suffix == ".txt":
        return (BEFORE + "\n").encode(), (AFTER + "\n").encode()
    return (
        one_page_pdf(folder / "before.pdf", BEFORE).read_bytes(),
        one_page_pdf(folder / "after.pdf", AFTER).read_bytes(),
    )


@pytest.mark.parametrize("suffix", [".txt", ".pdf"])
def test_recorded_sha256_is_that_of_the_bytes_ingested_when_the_file_changes_while_read(tmp_path, monkeypatch, suffix):
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    path = texts / f"statement{suffix}"
    before, after = versions(tmp_path, suffix)
    path.write_bytes(before)
    real_open = io.open
    reads: list[str] = []

    def open_then_change(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == os.fspath(path):
            reads.append(os.fspath(file))
            if len(reads) == 1:
                return ReplacedOnClose(handle, path, after)
        return handle

    monkeypatch.setattr(io, "open", open_then_change)
    monkeypatch.setattr(builtins, "open", open_then_change)
    run = run_ingest(texts, Layout(out), CONFIGS, LocalExecutor())
    monkeypatch.undo()

    assert path.read_bytes() == after, "the document did change on disk after it was first read"
    assert run.counts() == {"done": 1}, run.outcomes
    documents = read_table(Layout(out).table("documents"), name="documents")
    paragraphs = read_table(Layout(out).table("paragraphs"), name="paragraphs")
    assert documents["source_sha256"].tolist() == [hashlib.sha256(before).hexdigest()]
    assert " ".join(paragraphs["text"]).split() == BEFORE.split()
    assert len(reads) == 1, "the document is read once"


def test_names_of_corpus_wide_outputs_are_not_document_ids():
    """'index' would overwrite the report's index (report/index.html), 'corpus' the corpus exports."""
    for name in ("index", "corpus", "all"):
        doc_id = doc_id_for(Path(f"{name}.txt"))
        assert doc_id.startswith(f"{name}-") and len(doc_id) == len(name) + 9, doc_id
    assert doc_id_for(Path("index-of-treaties.txt")) == "index-of-treaties"
