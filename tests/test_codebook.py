"""docs/codebook.md is what the generator writes from the schemas, and it describes every column of every table a
run writes."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq

from pipeline import codebook
from pipeline.report.datapackage import type_name
from tests.conftest import ROOT, run_pipeline

CODEBOOK = ROOT / "docs" / "codebook.md"


def _described_columns(markdown: str) -> dict[str, dict[str, tuple[str, str]]]:
    """{table: {column: (type, meaning)}} read from the codebook's table sections."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    current = None
    for line in markdown.splitlines():
        heading = re.fullmatch(r"### `(\w+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None:
            row = re.match(r"\| `(\w+)` \| ([^|]+) \| (.*?) \| (?:[^|]*) \|$", line)
            if row:
                current[row.group(1)] = (row.group(2).strip(), row.group(3).strip())
    return tables


def test_docs_codebook_is_what_the_generator_writes():
    assert CODEBOOK.read_text(encoding="utf-8") == codebook.render(), (
        "docs/codebook.md is out of date: run `python -m pipeline codebook`"
    )


def test_codebook_describes_every_column_of_every_table_a_run_writes(chapter_run):
    described = _described_columns(CODEBOOK.read_text(encoding="utf-8"))
    tables = sorted(chapter_run.glob("*.parquet"))
    assert tables
    for path in tables:
        name = path.name.removesuffix(".parquet")
        assert name in described, f"table {name} is not in docs/codebook.md"
        part = min(path.glob("*.parquet")) if path.is_dir() else path
        for field in pq.read_schema(part):
            assert field.name in described[name], f"{name}.{field.name} is not in docs/codebook.md"
            kind, meaning = described[name][field.name]
            assert kind == type_name(field.type), f"{name}.{field.name}"
            assert len(meaning) > 5, f"{name}.{field.name} has no meaning in docs/codebook.md"


def test_codebook_names_every_file_and_the_command_that_writes_it():
    text = CODEBOOK.read_text(encoding="utf-8")
    for name in ("report.html", "run_summary.json", "datapackage.json", ".graphml", ".gexf", ".png", ".spacy"):
        assert name in text
    assert "python -m pipeline codebook" in text


def test_codebook_command_writes_the_codebook(tmp_path: Path):
    target = tmp_path / "codebook.md"
    result = run_pipeline("codebook", "--path", str(target))
    assert target.read_text(encoding="utf-8") == CODEBOOK.read_text(encoding="utf-8")
    assert str(target) in result.stdout
