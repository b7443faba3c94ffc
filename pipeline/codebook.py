"""``docs/codebook.md``: every artifact, column and metadata key, written from ``pipeline.core.schemas``.

``python -m pipeline codebook`` writes it; a test fails when the file is not what this module writes, so a change of
the schemas goes with a regenerated codebook.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.artifacts import write_text_atomic
from pipeline.core.schemas import FILES, METADATA, TABLES, Column, Table
from pipeline.report.datapackage import type_name

DEFAULT_PATH = Path("docs") / "codebook.md"
COMMAND = "python -m pipeline codebook"

INTRO = f"""\
# Codebook

Every file the pipeline writes into its output folder (`OUT`: `outputs/` unless `--out` or `OUT=` says otherwise),
what one row of each table is, and what every column means.

This file is written by `{COMMAND}` (or `osce-pipeline codebook`) from `pipeline/core/schemas.py`, the
schemas the pipeline checks every table against before writing it. To change a description or add a column, edit
it there and run the command again; a test fails while this file and the schemas disagree.

**Reading the tables.** Every table is `OUT/<name>.parquet`. Tables built per document are folders holding one
parquet file per document (`OUT/stance.parquet/<doc_id>.parquet`); the others are single files. Both read as one
table with `pandas.read_parquet("OUT/stance.parquet")`, `pyarrow.parquet.read_table`, R's
`arrow::open_dataset`, or through `OUT/datapackage.json` with the Frictionless tools (`frictionless validate
OUT/datapackage.json` checks every table against the types, keys and allowed values below). An empty cell is a
parquet null (NaN in pandas for a number column).

**Joining them.** `doc_id` names a document everywhere; `(doc_id, sentence_id)` a sentence in `sentences`,
`mentions` and `stance`; `(doc_id, section_index)` a section; `entity_id` an entity in `mentions`, `entities` and
the networks. Character offsets (`span_starts`, `span_ends`, `start_char`, `end_char`) count Unicode characters,
as Python slices do.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _values(column: Column) -> str:
    return ", ".join(f"`{value}`" for value in column.values)


def _location(table: Table) -> str:
    if table.per_document:
        return f"`OUT/{table.name}.parquet/<doc_id>.parquet` (one file per document)"
    return f"`OUT/{table.name}.parquet`"


def _table_section(table: Table) -> list[str]:
    key = ", ".join(f"`{name}`" for name in table.key) if table.key else "none"
    metadata = ", ".join(f"`{name}`" for name in table.metadata)
    lines = [
        f"### `{table.name}`",
        "",
        f"{_location(table)}, written by the {table.stage} stage. One row per {table.row}. Key: {key}. Metadata: "
        f"{metadata}.",
        "",
        "| column | type | meaning | values |",
        "| --- | --- | --- | --- |",
    ]
    for column in table.columns:
        meaning = _cell(column.description)
        lines.append(f"| `{column.name}` | {type_name(column.type)} | {meaning} | {_values(column)} |")
    return [*lines, ""]


def _files_section() -> list[str]:
    lines = [
        "## Other files",
        "",
        "| file (in `OUT/`) | written by | what it is |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{f.path}` | {f.stage} | {_cell(f.description)} |" for f in FILES]
    lines.append("")
    seen: set[tuple[tuple[str, str, str], ...]] = set()
    for file in FILES:
        if not file.attributes or file.attributes in seen:
            continue
        seen.add(file.attributes)
        paths = " and ".join(f"`{f.path}`" for f in FILES if f.attributes == file.attributes)
        lines += [f"Attributes of {paths}:", "", "| on | attribute | meaning |", "| --- | --- | --- |"]
        lines += [f"| {on} | `{name}` | {_cell(meaning)} |" for on, name, meaning in file.attributes]
        lines.append("")
    lines += [
        "Make also keeps empty stamp files in `OUT/.stamps/` to know which stages are up to date; they are not "
        "data. A file whose name starts with a dot and ends in `.tmp` is a write in progress (or left by a run "
        "that was killed; the next run removes it).",
        "",
    ]
    return lines


def _metadata_section() -> list[str]:
    lines = [
        "## Parquet metadata",
        "",
        "Every parquet file carries a JSON object under the key `pipeline` of its schema metadata "
        "(`json.loads(pyarrow.parquet.read_schema(path).metadata[b'pipeline'])`): where the file came from, and "
        "what a rerun compares to decide whether to make it again.",
        "",
        "| key | meaning | carried by |",
        "| --- | --- | --- |",
    ]
    for key, meaning in METADATA.items():
        carriers = [t.name for t in TABLES if key in t.metadata]
        carried = "every table" if len(carriers) == len(TABLES) else ", ".join(f"`{name}`" for name in carriers)
        lines.append(f"| `{key}` | {_cell(meaning)} | {carried} |")
    return [*lines, ""]


def render() -> str:
    """The codebook as Markdown."""
    overview = ["## The tables at a glance", "", "| table | one row per | written by |", "| --- | --- | --- |"]
    overview += [f"| [`{t.name}`](#{t.name}) | {_cell(t.row)} | {t.stage} |" for t in TABLES]
    sections = ["## Tables", ""]
    for table in TABLES:
        sections += _table_section(table)
    return "\n".join([INTRO, *overview, "", *sections, *_metadata_section(), *_files_section()]).rstrip() + "\n"


def write(path: Path = DEFAULT_PATH) -> Path:
    """Write the codebook to ``path`` (atomically, like every file the project writes)."""
    write_text_atomic(path, render())
    return path
