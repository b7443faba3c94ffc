"""The command line: ``python -m pipeline <stage> [--texts DIR] [--out DIR]``; thin wiring around ``steps``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.artifacts import Layout, remove_stale_temporaries
from pipeline.errors import PipelineError
from pipeline.runner import StageRun, make_executor, one_line, record_stage_error
from pipeline.stance_features import FEATURE_DESIGNS

STAGES = ("ingest", "parse", "entities", "stance", "network", "report")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--texts", type=Path, default=Path("texts"), help="folder of .txt/.pdf documents")
    parser.add_argument("--out", type=Path, default=Path("outputs"), help="output folder for artifacts")
    parser.add_argument("--configs", type=Path, default=Path("configs"), help="folder of stage configs")
    parser.add_argument("--executor", choices=("local", "dask"), default="local", help="where per-document work runs")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a LocalCluster)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for stage in (*STAGES, "all"):
        p = sub.add_parser(stage, help=f"run the {stage} stage" if stage != "all" else "run every stage in order")
        _common(p)
        if stage == "entities":
            p.add_argument("--show", action="store_true", help="print the entity table after the stage")
    show = sub.add_parser("show-entities", help="print the entity table of an output folder")
    show.add_argument("--out", type=Path, default=Path("outputs"))
    show.add_argument("--limit", type=int, default=60)
    ev = sub.add_parser("evaluate-stance", help="score stance predictions against a labelled TSV")
    ev.add_argument("--labels", type=Path, required=True, nargs="+", help="label TSV file(s)")
    ev.add_argument("--out", type=Path, default=Path("outputs"))
    ev.add_argument("--configs", type=Path, default=Path("configs"))
    ev.add_argument("--method", default=None, help="rules or learned (default: the configured method)")
    ev.add_argument(
        "--scheme",
        choices=(
            "predictions",
            "leave-one-document-out",
            "cross-fit-sections",
            "learning-curve",
            "leave-one-target-out",
        ),
        default="predictions",
        help="predictions: score the stance artifact; the others retrain the learned model per fold "
        "(learning-curve: on a share of the other folds; leave-one-target-out: each target by models trained "
        "without any of its labels)",
    )
    ev.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.25, 0.5, 0.75, 1.0],
        help="learning-curve: shares of the other folds to learn from",
    )
    ev.add_argument("--repeats", type=int, default=3, help="learning-curve: random draws per share below 1")
    ev.add_argument(
        "--feature-design",
        choices=tuple(FEATURE_DESIGNS),
        default=None,
        help="retraining schemes: the learned method's feature design (default: learned.feature_design)",
    )
    ev.add_argument("--json", type=Path, default=None, help="also write the scores as JSON here")
    tr = sub.add_parser("train-stance", help="train the learned stance model on the labelled sets")
    tr.add_argument("--labels", type=Path, required=True, nargs="+")
    tr.add_argument("--out", type=Path, default=Path("outputs"), help="output folder holding parsed label documents")
    tr.add_argument("--configs", type=Path, default=Path("configs"))
    tr.add_argument("--model", type=Path, default=None, help="where to write the model (default: from config)")
    ee = sub.add_parser("evaluate-entities", help="entity precision/recall against gold YAML lists")
    ee.add_argument("--gold", type=Path, required=True, nargs="+")
    ee.add_argument("--out", type=Path, default=Path("outputs"))
    cmp_ = sub.add_parser("compare", help="print stance compared across sections or documents")
    cmp_.add_argument("--by", choices=("section", "document"), default="section")
    cmp_.add_argument("--target", default="russia")
    cmp_.add_argument("--out", type=Path, default=Path("outputs"))
    cmp_.add_argument("--doc", default=None, help="only this document (with --by section)")
    return parser


def _run_stage(stage: str, args: argparse.Namespace) -> StageRun:
    from pipeline import steps

    layout = Layout(args.out)
    remove_stale_temporaries(layout.out)  # left by a run that was killed
    executor = make_executor(args.executor, args.scheduler)
    try:
        runners: dict[str, Callable[[], StageRun]] = {
            "ingest": lambda: steps.run_ingest(args.texts, layout, args.configs, executor),
            "parse": lambda: steps.run_parse(layout, args.configs, executor),
            "entities": lambda: steps.run_entities(layout, args.configs, executor),
            "stance": lambda: steps.run_stance(layout, args.configs, executor),
            "network": lambda: steps.run_network(layout, args.configs),
            "report": lambda: steps.run_report(layout, args.configs),
        }
        try:
            run = runners[stage]()
        except PipelineError as exc:
            record_stage_error(layout, stage, str(exc))
            raise
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
    run.report()
    steps.check_no_failures(run)
    return run


def dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command in STAGES:
        _run_stage(command, args)
        if command == "entities" and args.show:
            from pipeline import steps

            print(steps.show_entities(Layout(args.out)))
        return 0
    if command == "all":
        for stage in STAGES:
            _run_stage(stage, args)
        return 0
    from pipeline import steps

    if command == "show-entities":
        print(steps.show_entities(Layout(args.out), limit=args.limit))
        return 0
    handlers: dict[str, Callable[[argparse.Namespace], Any]] = {
        "evaluate-stance": steps.evaluate_stance_command,
        "train-stance": steps.train_stance_command,
        "evaluate-entities": lambda a: steps.evaluate_entities_command(a),
        "compare": lambda a: steps.compare_command(a),
    }
    handlers[command](args)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; whatever goes wrong is one line on stderr and a non-zero exit status, never a traceback
    (set PIPELINE_DEBUG=1 to see one for an unexpected error)."""
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except PipelineError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: artifacts already written are complete; rerun to finish", file=sys.stderr)
        return 130
    except OSError as exc:  # the disk, not the pipeline: a full disk, a read-only or vanished output folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {one_line(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("PIPELINE_DEBUG"):
            raise
        detail = one_line(str(exc).strip().split("\n")[0][:300])
        print(
            f"error: unexpected {type(exc).__name__} in '{args.command}': {detail} (a bug; rerun with"
            " PIPELINE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
