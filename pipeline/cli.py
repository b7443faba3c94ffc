"""The command line (``python -m pipeline`` or ``osce-pipeline``): each stage, the whole run, and the commands that
check, compare and score its outputs."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.core.artifacts import Layout, remove_stale_temporaries
from pipeline.core.config import StanceConfig, load_config
from pipeline.core.errors import PipelineError
from pipeline.core.outlock import OutputLock, output_lock
from pipeline.core.registry import STAGE_NAMES, StageRequest, run_stage
from pipeline.core.runner import StageRun, check_no_failures, make_executor, one_line, record_stage_error
from pipeline.stance.features import FEATURE_DESIGNS

REVIEWS_HELP = "folder of review files (filled-in review.csv sheets) whose labels replace predictions (if it exists)"

DESCRIPTION = """\
Turn OSCE Yearbook chapters and similar texts (.txt or .pdf files in a folder) into data a researcher can check
and cite: documents, sections, paragraphs, footnotes and sentences, each traceable to its place in the source;
the actors, each under one name; the stance of every sentence toward Russia and Ukraine (or any target set in
configs/stance.yaml) with its holder and evidence; co-mention networks of the actors; and a report comparing
stance across the sections of a text and across texts.

`all` runs every stage; each stage can also run on its own, in order. A rerun redoes only the documents whose
text, config or code changed. A document that cannot be read is skipped with one line naming it and the
problem; the others go on."""

EPILOG = """\
examples:
  %(prog)s all --texts texts --out outputs        every stage; then open outputs/report.html
  %(prog)s compare --by section --target russia   stance by section, in the terminal
  %(prog)s show-entities                          the actors found, to check them

The tables and their columns: docs/codebook.md. `%(prog)s COMMAND --help` says more about a command."""

# (help in the command list, description in the command's own --help)
STAGE_HELP = {
    "ingest": (
        "read the texts: documents, sections, paragraphs, footnotes",
        "Read every .txt and .pdf file in --texts (and METADATA.tsv beside them, if there is one: title, year,"
        " speaker, country) into the tables documents, sections, paragraphs and footnotes, every row traceable to"
        " character spans of its source.",
    ),
    "parse": (
        "split paragraphs and notes into sentences (spaCy)",
        "Parse every paragraph and footnote once with spaCy: the sentences table, and the parsed texts kept in"
        " OUT/spacy/ for the stages after.",
    ),
    "entities": (
        "find the actors and give each one name: mentions, entities",
        "Find the actors in every sentence (states, their capitals and demonyms, people and their office titles,"
        " organisations, formats, agreements; a speaker's 'we') and resolve each to one entity: the tables"
        " mentions and entities.",
    ),
    "stance": (
        "judge each sentence's stance toward each target; sum it up by section and document",
        "Judge every body sentence for every target in configs/stance.yaml: none, neutral, pro or anti, with a"
        " score, the holder of the stance and the words that decided it (table stance); then count and average"
        " per section and per document with 95% intervals (stance_by_section, stance_by_document).",
    ),
    "network": (
        "co-mention and signed networks of the actors: tables, GraphML/GEXF, figures",
        "Build the actors' co-mention networks (sentence and paragraph windows) for the corpus, each document and"
        " each section, and the signed network of who is pro or anti whom: tables network_nodes, network_edges,"
        " signed_edges; GraphML and GEXF files in OUT/exports/; figures of the corpus and of each document in"
        " OUT/figures/.",
    ),
    "report": (
        "write the report (OUT/report/index.html, a page per document, OUT/report.html) and OUT/datapackage.json",
        "Write OUT/report/index.html (the documents by year with their stance toward each target, the stance across"
        " years, the corpus network, the stance method's scores) and a page per document beside it (stance across"
        " its sections with the evidence sentences, its actors and network); OUT/report.html, the whole report on"
        " one self-contained page up to single_page_max_documents (configs/report.yaml), else a link to the index;"
        " and OUT/datapackage.json, which describes the tables to the Frictionless Data tools.",
    ),
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--texts", type=Path, default=Path("texts"), help="folder of .txt/.pdf documents (default: %(default)s)"
    )
    _out(parser)
    _configs(parser)
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="run the per-document work on this machine's cores (local) or on a Dask cluster (default: %(default)s)",
    )
    parser.add_argument(
        "--scheduler", default=None, help="address of a Dask scheduler (default: a local cluster of two workers)"
    )


def _out(parser: argparse.ArgumentParser, what: str = "output folder of the tables, exports and report") -> None:
    parser.add_argument("--out", type=Path, default=Path("outputs"), help=f"{what} (default: %(default)s)")


def _configs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--configs", type=Path, default=Path("configs"), help="folder of the stage configs (default: %(default)s)"
    )


def _labels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--labels",
        type=Path,
        required=True,
        nargs="+",
        help="stance label files (data/labels/stance_*.tsv; format in data/labels/README.md)",
    )


def build_parser(prog: str = "python -m pipeline") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stage_help = {
        **STAGE_HELP,
        "all": (
            "run every stage in order: texts in, tables and report out",
            "Run ingest, parse, entities, stance, network and report in order. Each stage redoes only the"
            " documents whose text, config or code changed, so adding a text to a corpus costs about what that"
            " text costs.",
        ),
    }
    for stage in (*STAGE_NAMES, "all"):
        brief, description = stage_help[stage]
        p = sub.add_parser(stage, help=brief, description=description)
        _common(p)
        if stage == "entities":
            p.add_argument("--show", action="store_true", help="print the entity table after the stage")
        if stage in ("stance", "all"):
            p.add_argument("--reviews", type=Path, default=Path("reviews"), help=REVIEWS_HELP)
    rv = sub.add_parser(
        "review",
        help="write OUT/review.csv: the sentences worth reading, for a reviewer to label",
        description="Write OUT/review.csv, one row per sentence and target it mentions not yet reviewed, those whose"
        " reading narrows the stance intervals most first, with empty label, holder and note columns; a filled-in"
        " copy saved in the reviews folder replaces predictions on the next run (docs/quality-aggregates.md).",
    )
    _out(rv, "output folder of a run")
    _configs(rv)
    show = sub.add_parser(
        "show-entities",
        help="print the actors found, most mentioned first, to check them",
        description="Print the entity table of an output folder as a researcher checks it: canonical name, type,"
        " Wikidata id, mentions in the body and in all, documents, and the surface forms found.",
    )
    _out(show, "output folder of a run")
    show.add_argument("--limit", type=int, default=60, help="how many entities to print (default: %(default)s)")
    cmp_ = sub.add_parser(
        "compare",
        help="print stance toward a target across sections or documents",
        description="Print, for one target, the stance of each section (or each document) of an output folder:"
        " sentences judged, pro/anti/neutral counts, mean score with its 95% interval.",
    )
    cmp_.add_argument("--by", choices=("section", "document"), default="section", help="(default: %(default)s)")
    cmp_.add_argument("--target", default="russia", help="a target of configs/stance.yaml (default: %(default)s)")
    _out(cmp_, "output folder of a run")
    cmp_.add_argument("--doc", default=None, help="only this document (a doc_id; with --by section)")
    ev = sub.add_parser(
        "evaluate-stance",
        help="score stance against hand labels, on documents the model did not learn from",
        description="Score the stance methods against labelled sentences: macro-F1 over pro/anti/neutral, per-class"
        " precision and recall, confusion, Cohen's kappa and how well references to the target are found. With"
        " --scheme predictions the stance table of --out is scored as it stands; the other schemes retrain the"
        " learned model for every held-out document (and chapter section), so each is judged by a model that never"
        " saw its labels.",
    )
    _labels(ev)
    _out(ev, "output folder whose stance table is scored (--scheme predictions)")
    _configs(ev)
    ev.add_argument("--method", default=None, help="rules or learned: only this method's scores (default: both)")
    ev.add_argument(
        "--scheme",
        choices=(
            "predictions",
            "leave-one-document-out",
            "cross-fit-sections",
            "learning-curve",
            "leave-one-target-out",
            "aggregates",
        ),
        default="predictions",
        help="predictions: score the stance table; the others retrain the learned model per held-out fold"
        " (learning-curve: on a share of the other folds; leave-one-target-out: each target by models trained"
        " without any of its labels; aggregates: the stance index of documents and sections and its 95%% intervals,"
        " held out by document) (default: %(default)s)",
    )
    ev.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.25, 0.5, 0.75, 1.0],
        help="learning-curve: shares of the other folds to learn from (default: %(default)s)",
    )
    ev.add_argument(
        "--repeats", type=int, default=3, help="learning-curve: random draws per share below 1 (default: %(default)s)"
    )
    ev.add_argument(
        "--feature-design",
        choices=tuple(FEATURE_DESIGNS),
        default=None,
        help="retraining schemes: the learned method's feature design (default: learned.feature_design)",
    )
    ev.add_argument("--json", type=Path, default=None, help="also write the scores as JSON here")
    tr = sub.add_parser(
        "train-stance",
        help="retrain the learned stance model on the labels",
        description="Train the learned stance model on the labelled sentences and write it with its model card"
        " (the held-out scores of both methods, the hashes of the labels, guideline and encoder) to the path in"
        " configs/stance.yaml.",
    )
    _labels(tr)
    tr.add_argument("--out", type=Path, default=Path("outputs"), help=argparse.SUPPRESS)  # accepted, not used
    _configs(tr)
    tr.add_argument("--model", type=Path, default=None, help="where to write the model (default: from the config)")
    tr.add_argument("--reviews", type=Path, default=None, help="also learn from the review files in this folder")
    tr.add_argument("--texts", type=Path, default=None, help="a folder of the reviewed documents' sources")
    ee = sub.add_parser(
        "evaluate-entities",
        help="score the actors found against hand-made gold lists",
        description="Entity precision, recall and F1 per gold document (body mentions) and micro-averaged; an"
        " entity counts as found when a predicted entity shares a surface form with it.",
    )
    ee.add_argument("--gold", type=Path, required=True, nargs="+", help="gold entity lists (data/gold/entities_*.yaml)")
    _out(ee, "output folder of a run over the gold documents")
    cb = sub.add_parser(
        "codebook",
        help="write docs/codebook.md: every output table, column and file explained",
        description="Write the codebook, generated from pipeline/core/schemas.py: every artifact, what one row is, each"
        " column's type, meaning and allowed values, and the provenance each file carries. Run it after changing"
        " the schemas.",
    )
    cb.add_argument("--path", type=Path, default=Path("docs") / "codebook.md", help="(default: %(default)s)")
    return parser


def _run_stage(stage: str, args: argparse.Namespace, lock: OutputLock) -> StageRun:
    layout = Layout(args.out)
    remove_stale_temporaries(layout.out)  # left by a run that was killed
    executor = make_executor(args.executor, args.scheduler)
    try:
        request = StageRequest(layout, args.configs, executor, texts=args.texts, reviews=getattr(args, "reviews", None))
        try:
            run = run_stage(stage, request)
        except PipelineError as exc:
            if not lock.made_empty_folder:
                with contextlib.suppress(PipelineError, OSError):  # a full or read-only OUT cannot take the note
                    record_stage_error(layout, stage, str(exc))
            raise
    finally:
        executor.close()
    run.report()
    check_no_failures(run)
    return run


def dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command in STAGE_NAMES:
        with output_lock(args.out) as lock:
            _run_stage(command, args, lock)
        if command == "entities" and args.show:
            from pipeline import commands

            print(commands.show_entities(Layout(args.out)))
        return 0
    from pipeline import commands
    from pipeline.stance.wiring import read_stance_reviews

    if command == "all":
        read_stance_reviews(args.reviews, load_config(StanceConfig, args.configs))  # a bad one stops it now
        with output_lock(args.out) as lock:
            for stage in STAGE_NAMES:
                _run_stage(stage, args, lock)
        return 0

    if command == "review":
        with output_lock(args.out):  # it writes OUT/review.csv
            commands.review_command(args)
        return 0
    if command == "show-entities":
        print(commands.show_entities(Layout(args.out), limit=args.limit))
        return 0
    if command == "codebook":
        from pipeline import codebook

        print(f"wrote {codebook.write(args.path)}")
        return 0
    handlers: dict[str, Callable[[argparse.Namespace], Any]] = {
        "evaluate-stance": commands.evaluate_stance_command,
        "train-stance": commands.train_stance_command,
        "evaluate-entities": lambda a: commands.evaluate_entities_command(a),
        "compare": lambda a: commands.compare_command(a),
    }
    handlers[command](args)
    return 0


def _prog() -> str:
    """How the user called the command line: the console script by its name, else ``python -m pipeline``."""
    name = Path(sys.argv[0]).name
    return "python -m pipeline" if name in ("__main__.py", "") or name.startswith("python") else name


def main(argv: list[str] | None = None) -> int:
    """Run a command; whatever goes wrong is one line on stderr and a non-zero exit status, never a traceback
    (set PIPELINE_DEBUG=1 to see one for an unexpected error)."""
    args = build_parser(_prog()).parse_args(argv)
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
