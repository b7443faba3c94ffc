"""Report wired to its artifacts: everything the report reads, the report and the data package written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.artifacts import Layout, read_table
from pipeline.core.config import ParseConfig, ReportConfig, StanceConfig, config_hash, load_config
from pipeline.core.registry import StageRequest
from pipeline.core.runner import Outcome, StageRun, record_summary
from pipeline.core.stagecode import stage_code_version

if TYPE_CHECKING:
    from pipeline.report.stage import ReportInputs


def report_inputs(layout: Layout, configs: Path) -> ReportInputs:
    """Everything the report reads, from the output folder, the model card and the stage configs."""
    import json

    import spacy

    from pipeline.parse.nlp import model_version
    from pipeline.report.stage import REPORT_TABLES, ReportInputs

    stance_config = load_config(StanceConfig, configs)
    card_path = Path(stance_config.model_path).with_suffix(".json")
    evaluation = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else None
    tables = {name: read_table(layout.table(name), name=name) for name in REPORT_TABLES}
    pngs = {
        doc_id: layout.network_figure(doc_id).read_bytes()
        for doc_id in tables["documents"]["doc_id"]
        if layout.network_figure(doc_id).exists()
    }
    parse_model = load_config(ParseConfig, configs).model
    provenance = {
        "pipeline code (report stage)": stage_code_version("report"),
        "pipeline code (stance stage)": stage_code_version("stance"),
        "spaCy model": model_version(parse_model),
        "spaCy": spacy.__version__,
        "stance method": stance_config.method,
        "stance config hash": config_hash(stance_config),
        "stance model training data sha256": (evaluation or {}).get("training_sha256", "—"),
        "inputs (sha256 of each source)": "; ".join(
            f"{d}: {s[:12]}"
            for d, s in zip(tables["documents"]["doc_id"], tables["documents"]["source_sha256"], strict=True)
        ),
        "date of newest input artifact": _newest_input_date(layout),
    }
    corpus_png = layout.figures / "corpus.network.png"
    corpus_network = corpus_png.read_bytes() if corpus_png.exists() else None
    return ReportInputs(
        **tables, network_pngs=pngs, corpus_network_png=corpus_network, evaluation=evaluation, provenance=provenance
    )


def _newest_input_date(layout: Layout) -> str:
    """The date the report's data dates from: the newest stance partition's fingerprint is not a time, so use the
    newest source file's modification date (stable across reruns on the same inputs)."""
    import datetime

    documents = read_table(layout.table("documents"), name="documents")
    times = [Path(p).stat().st_mtime for p in documents["source_path"] if Path(p).exists()]
    if not times:
        return "—"
    return datetime.datetime.fromtimestamp(max(times), tz=datetime.UTC).strftime("%Y-%m-%d")


def run_report(layout: Layout, configs: Path) -> StageRun:
    """Write ``OUT/report/index.html`` and a page per document beside it (removing the pages of documents no longer
    in the corpus), ``OUT/report.html`` (the whole report on one page, or a pointer to the index for a big corpus)
    and ``OUT/datapackage.json``, the Frictionless descriptor of the tables."""
    from pipeline.core.artifacts import write_text_atomic
    from pipeline.report.datapackage import descriptor_json
    from pipeline.report.pages import report_pages

    run = StageRun("report")
    config = load_config(ReportConfig, configs)
    written = set()
    for name, html in report_pages(report_inputs(layout, configs), config=config):
        write_text_atomic(layout.report if name is None else layout.report_page(name), html)
        written.add(name)
    for stale in sorted(layout.report_pages.glob("*.html")):
        if stale.stem not in written:
            stale.unlink()
    write_text_atomic(layout.datapackage, descriptor_json())
    run.outcomes.append(Outcome(str(layout.report), None, "done"))
    record_summary(layout, run)
    return run


def run(request: StageRequest) -> StageRun:
    """The report stage as the stage registry runs it."""
    return run_report(request.layout, request.configs)
