"""The commands that read a run's outputs or the labels rather than run a stage: show-entities, compare, review,
train-stance, evaluate-stance and evaluate-entities."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipeline.core.artifacts import Layout, read_table
from pipeline.core.config import StanceConfig, load_config
from pipeline.core.errors import PipelineError
from pipeline.stance.context import stance_correction
from pipeline.stance.evaluation import (
    DEFAULT_SOURCES,
    evaluate_artifact,
    learning_curve_report,
    target_transfer_report,
    train_and_score,
    validate_aggregates,
)


def show_entities(layout: Layout, *, limit: int = 60) -> str:
    """The entity table as a researcher would check it: most mentioned in the body first."""
    entities = read_table(layout.table("entities"), name="entities")
    entities = entities.sort_values(["n_body_mentions", "n_mentions", "entity_id"], ascending=[False, False, True])
    view = entities.head(limit).assign(aliases=lambda f: f["aliases"].map(lambda a: "; ".join(a)[:70]))
    columns = ["entity_id", "name", "label", "qid", "n_body_mentions", "n_mentions", "n_documents", "aliases"]
    with pd.option_context("display.width", 220, "display.max_colwidth", 72, "display.max_rows", limit):
        return view[columns].to_string(index=False)


def review_command(args: argparse.Namespace) -> None:
    """``python -m pipeline review``: write ``OUT/review.csv``, the unreviewed sentence-target rows whose reading
    narrows the stance intervals most first."""
    from pipeline.core.artifacts import write_bytes_atomic
    from pipeline.stance.review import review_sheet, sheet_bytes

    layout = Layout(args.out)
    config = load_config(StanceConfig, args.configs)
    stance = read_table(layout.table("stance"), name="stance")
    sheet = review_sheet(stance, stance_correction(config))
    write_bytes_atomic(layout.review_sheet, sheet_bytes(sheet))
    reviewed = int((stance["method"] == "reviewed").sum())
    print(
        f"{layout.review_sheet}: {len(sheet)} sentence-target rows to review"
        + (f" ({reviewed} reviewed rows left out)" if reviewed else ""),
    )


def train_stance_command(args: argparse.Namespace) -> None:
    import json

    import joblib

    from pipeline.core.artifacts import atomic_path, write_text_atomic
    from pipeline.stance.training import format_scores

    sources = [*([args.texts] if args.texts else []), *DEFAULT_SOURCES]
    bundle, report = train_and_score(args.labels, args.configs, sources, reviews=args.reviews)
    config = load_config(StanceConfig, args.configs)
    model_path = args.model or Path(config.model_path)
    with atomic_path(model_path) as tmp:
        joblib.dump(bundle, tmp, compress=3)
    card = {
        "model": str(model_path),
        "training_labels": sorted(str(p) for p in args.labels),
        "training_reviews": str(args.reviews) if args.reviews else None,
        "training_sha256": bundle.training_hash,
        "guideline_sha256": bundle.guideline_sha256,
        "encoder": bundle.params["encoder"],
        "encoder_sha256": bundle.encoder_sha256,
        "n_training_rows": bundle.n_training_rows,
        "params": bundle.params,
        "feature_design": bundle.feature_design,
        "targets": bundle.targets,
        "folds": sorted(bundle.folds),
        "command": "make train-stance" + (f" REVIEWS={args.reviews}" if args.reviews else ""),
        **report,
    }
    write_text_atomic(model_path.with_suffix(".json"), json.dumps(card, indent=2, sort_keys=True) + "\n")
    for method, results in report["scores"].items():
        print(format_scores(method, results))


def evaluate_stance_command(args: argparse.Namespace) -> None:
    import json

    from pipeline.core.artifacts import write_text_atomic
    from pipeline.stance.correction import format_validation
    from pipeline.stance.training import format_scores

    if args.scheme == "predictions":
        if args.feature_design:
            raise PipelineError("--feature-design applies to the schemes that retrain the model, not to predictions")
        results = evaluate_artifact(args.labels, Layout(args.out), args.configs)
        print(format_scores("stance artifact in " + str(args.out), results))
        if args.json:
            write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
        return
    if args.scheme == "learning-curve":
        curve = learning_curve_report(args.labels, args.configs, args.fractions, args.repeats, args.feature_design)
        print(curve.to_string(index=False))
        if args.json:
            write_text_atomic(args.json, curve.to_json(orient="records", indent=2) + "\n")
        return
    if args.scheme == "aggregates":
        groups, summary = validate_aggregates(args.labels, args.configs, args.feature_design)
        print(format_validation(summary, groups))
        if args.json:
            records = {"summary": summary.to_dict("records"), "groups": groups.to_dict("records")}
            write_text_atomic(args.json, json.dumps(records, indent=2) + "\n")
        return
    if args.scheme == "leave-one-target-out":
        results = target_transfer_report(args.labels, args.configs, args.feature_design)
        print(format_scores("learned, each target by models trained without its labels", results))
        if args.json:
            write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
        return
    _, report = train_and_score(args.labels, args.configs, DEFAULT_SOURCES, args.feature_design)
    methods = [args.method] if args.method else ["learned", "rules"]
    for method in methods:
        print(format_scores(method, report["scores"][method]))
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")


def compare_command(args: argparse.Namespace) -> None:
    """``python -m pipeline compare --by section|document --target T``: the comparison as a terminal table."""
    from pipeline.report.figures import compare_table

    name = "stance_by_section" if args.by == "section" else "stance_by_document"
    frame = read_table(Layout(args.out).table(name), name=name)
    if args.doc is not None:
        if args.doc not in set(frame["doc_id"]):
            raise PipelineError(f"no document '{args.doc}' in {args.out}")
        frame = frame[frame["doc_id"] == args.doc]
    print(compare_table(frame, by=args.by, target=args.target))


def evaluate_entities_command(args: argparse.Namespace) -> None:
    """Entity precision and recall per gold document (body mentions), and micro-averaged."""
    from pipeline.entities.evaluation import evaluate_entities, format_entity_scores

    layout = Layout(args.out)
    mentions = read_table(layout.table("mentions"), name="mentions")
    entities = read_table(layout.table("entities"), name="entities")
    print(format_entity_scores(evaluate_entities(args.gold, mentions, entities)))
