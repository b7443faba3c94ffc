"""The schemas describe every artifact a run writes: each table's columns, the values of its categorical columns,
the metadata of each file, every other file of the output folder and the attributes of the graph exports."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.artifacts import META_KEY
from pipeline.core.schemas import FILES, METADATA, TABLES, Table

BY_NAME = {table.name: table for table in TABLES}


def _table_files(out: Path, table: Table) -> list[Path]:
    path = out / f"{table.name}.parquet"
    return sorted(p for p in path.glob("*.parquet") if not p.name.startswith(".")) if path.is_dir() else [path]


def _pattern(path: str) -> re.Pattern[str]:
    """A file path of ``FILES`` as a regular expression: each {placeholder} stands for one name without '/'."""
    parts = re.split(r"\{[a-z_]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def test_every_column_has_a_description_and_values_only_where_categorical():
    for table in TABLES:
        assert table.row and table.stage, table.name
        for column in table.columns:
            assert column.description.strip(), (
                f"{table.name}.{column.name} has no description in pipeline/core/schemas.py"
            )
            if column.values:
                assert pa.types.is_string(column.type), f"{table.name}.{column.name}"
        assert set(table.key) <= {c.name for c in table.columns}, table.name
        assert set(table.metadata) <= set(METADATA), table.name


def test_a_run_writes_exactly_the_described_tables_with_exactly_their_columns(chapter_run):
    written = sorted(p.name.removesuffix(".parquet") for p in chapter_run.glob("*.parquet"))
    assert written == sorted(BY_NAME)
    for table in TABLES:
        files = _table_files(chapter_run, table)
        assert files, table.name
        assert (chapter_run / f"{table.name}.parquet").is_dir() == table.per_document, table.name
        for path in files:
            schema = pq.read_schema(path)
            assert schema.names == [c.name for c in table.columns], path
            assert [field.type for field in schema] == [c.type for c in table.columns], path


def test_each_file_carries_the_described_metadata_keys(chapter_run):
    for table in TABLES:
        for path in _table_files(chapter_run, table):
            meta = json.loads(pq.read_schema(path).metadata[META_KEY])
            assert sorted(meta) == sorted(table.metadata), path
            assert meta["artifact"] == table.name and meta["stage"] == table.stage, path


def test_categorical_columns_take_only_their_described_values(chapter_run, dev_run):
    seen = 0
    for out in (chapter_run, dev_run):
        for table in TABLES:
            categorical = [c for c in table.columns if c.values]
            if not categorical or not (out / f"{table.name}.parquet").exists():
                continue
            frame = pd.read_parquet(out / f"{table.name}.parquet")
            for column in categorical:
                values = set(frame[column.name].dropna())
                assert values <= set(column.values), f"{table.name}.{column.name}: {values - set(column.values)}"
                seen += len(values)
    assert seen > 20, "the runs exercised the categorical columns"


def test_rows_are_identified_by_their_key(dev_run):
    for table in TABLES:
        path = dev_run / f"{table.name}.parquet"
        if table.key and path.exists():
            frame = pd.read_parquet(path, columns=list(table.key))
            assert not frame.duplicated().any(), table.name
            assert frame.notna().all().all(), table.name


def _owner(name: str) -> str | None:
    """The described file a written file is: the most specific path of ``FILES`` that matches it (fewest
    placeholders: 'exports/corpus.signed.gexf' is a signed export, not a window's)."""
    matching = [file.path for file in FILES if _pattern(file.path).fullmatch(name)]
    return min(matching, key=lambda path: path.count("{")) if matching else None


def _others(out: Path) -> dict[str, str | None]:
    """Every file of an output folder outside the tables, with the described file it is."""
    tables = {f"{name}.parquet" for name in BY_NAME}
    names = [
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.relative_to(out).parts[0] not in tables
    ]
    return {name: _owner(name) for name in sorted(names)}


def test_every_other_file_of_a_run_is_described_and_every_described_file_is_written(chapter_run):
    others = _others(chapter_run)
    assert [name for name, owner in others.items() if owner is None] == []
    assert sorted({file.path for file in FILES} - set(others.values())) == []


def _graphml_attributes(path: Path) -> set[tuple[str, str]]:
    keys = ET.parse(path).getroot().findall("{http://graphml.graphdrawing.org/xmlns}key")
    return {(key.get("for", ""), key.get("attr.name", "")) for key in keys}


def _gexf_attributes(path: Path) -> set[tuple[str, str]]:
    found = set()
    for element in ET.parse(path).getroot().iter():
        if element.tag.endswith("}attributes"):
            for attribute in element:
                found.add((element.get("class", ""), attribute.get("title", "")))
    return found


@pytest.mark.parametrize("file", [f for f in FILES if f.attributes], ids=lambda f: f.path)
def test_graph_exports_carry_the_described_attributes(chapter_run, file):
    paths = [chapter_run / name for name, owner in _others(chapter_run).items() if owner == file.path]
    assert paths
    read = _graphml_attributes if file.path.endswith(".graphml") else _gexf_attributes
    described = {(on, name) for on, name, _ in file.attributes}
    for path in paths:
        assert read(path) == described, path
