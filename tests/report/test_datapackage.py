"""OUT/datapackage.json describes the tables so that the Frictionless tools open and check them."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
from frictionless import Package, validate

from pipeline.core.schemas import TABLES


def _errors(report) -> list[str]:
    return [f"{task.name}: {error.message}" for task in report.tasks for error in task.errors][:10]


def test_report_stage_writes_a_descriptor_that_frictionless_validates(chapter_run):
    report = validate(chapter_run / "datapackage.json")
    assert report.valid, _errors(report)
    assert sorted(task.name for task in report.tasks) == sorted(t.name for t in TABLES)


def test_frictionless_reads_every_row_of_every_table(chapter_run):
    package = Package(chapter_run / "datapackage.json")
    for table in TABLES:
        rows = package.get_resource(table.name).read_rows()
        assert len(rows) == len(pd.read_parquet(chapter_run / f"{table.name}.parquet")), table.name
    stance = package.get_resource("stance").read_rows()
    assert {row["label"] for row in stance} <= {"none", "neutral", "pro", "anti"}


def test_descriptor_carries_the_schemas_descriptions_keys_and_values(chapter_run):
    descriptor = json.loads((chapter_run / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert list(resources) == [t.name for t in TABLES]
    for table in TABLES:
        resource = resources[table.name]
        assert (chapter_run / resource["path"]).exists()
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == [c.name for c in table.columns]
        for field, column in zip(fields, table.columns, strict=True):
            assert field["description"].startswith(column.description)
            assert field.get("constraints", {}).get("enum", []) == list(column.values)
        assert resource["schema"].get("primaryKey", []) == list(table.key)


def test_a_value_outside_the_allowed_ones_fails_validation(chapter_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    part = min((out / "stance.parquet").glob("*.parquet"))
    table = pq.read_table(part)
    labels = table.column("label").to_pylist()
    labels[0] = "maybe"
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", [labels]), part)
    report = validate(out / "datapackage.json")
    assert not report.valid
    assert {(task.name, error.type) for task in report.tasks for error in task.errors} == {
        ("stance", "constraint-error")
    }
