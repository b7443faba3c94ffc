"""``OUT/datapackage.json``: a Frictionless Data package descriptor of the output tables, from
``pipeline.core.schemas``.

With it, ``frictionless validate OUT/datapackage.json`` checks every table against its fields, keys and allowed
values, and the Frictionless tools (and anything reading Table Schema) know what each column means.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

import pipeline
from pipeline.core.schemas import TABLES, Column, Table

# Parquet integer columns that may be empty are read into pandas as floats, an empty cell as NaN; the Frictionless
# parquet reader goes through pandas, so "nan" is declared a missing value like the empty string.
MISSING_VALUES = ["", "nan"]


def field_type(kind: pa.DataType) -> str:
    """The Table Schema type of an arrow type. Lists are ``any``: the Frictionless parquet reader hands a list cell
    over as a numpy array, which its ``array`` type refuses; the field's description says what the list holds."""
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_string(kind):
        return "string"
    if pa.types.is_list(kind):
        return "any"
    raise ValueError(f"no Table Schema type for {kind}")


def type_name(kind: pa.DataType) -> str:
    """A short name of an arrow type for people: string, int64, float64, bool, list<string>."""
    if pa.types.is_list(kind):
        return f"list<{type_name(kind.value_type)}>"
    return "float64" if pa.types.is_float64(kind) else str(kind)


def _field(column: Column) -> dict[str, Any]:
    description = column.description
    if pa.types.is_list(column.type):
        description = f"{description} ({type_name(column.type)})"
    field: dict[str, Any] = {"name": column.name, "type": field_type(column.type), "description": description}
    if column.values:
        field["constraints"] = {"enum": list(column.values)}
    return field


def resource(table: Table) -> dict[str, Any]:
    """One table as a tabular data resource. A per-document table's path is its folder: the Frictionless parquet
    reader (pyarrow) reads the folder's files as one table, as pandas does."""
    where = (
        "a folder holding one parquet file per document, read as one table"
        if table.per_document
        else "a single parquet file"
    )
    schema: dict[str, Any] = {"fields": [_field(c) for c in table.columns], "missingValues": MISSING_VALUES}
    if table.key:
        schema["primaryKey"] = list(table.key)
    return {
        "name": table.name,
        "path": f"{table.name}.parquet",
        "format": "parquet",
        "profile": "tabular-data-resource",
        "description": f"One row per {table.row}. Written by the {table.stage} stage; {where}.",
        "schema": schema,
    }


def descriptor() -> dict[str, Any]:
    """The package descriptor of an output folder (paths relative to it)."""
    return {
        "profile": "tabular-data-package",
        "name": "osce-stance-pipeline-outputs",
        "title": "OSCE stance pipeline: outputs",
        "description": "Documents, sections, paragraphs, footnotes, sentences, actor mentions and entities, stance "
        "toward each target by sentence, section and document, and co-mention and signed networks. The codebook "
        "(docs/codebook.md in the project) describes every column and the other files of the folder.",
        "version": pipeline.__version__,
        "resources": [resource(table) for table in TABLES],
    }


def descriptor_json() -> str:
    return json.dumps(descriptor(), indent=2, ensure_ascii=False) + "\n"
