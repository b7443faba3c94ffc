"""The command line says what each command does for a researcher, and the installed `osce-pipeline` script is the
same command line as `python -m pipeline`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from pipeline.cli import build_parser
from tests.conftest import ROOT, run_pipeline


def _subparsers() -> argparse._SubParsersAction:
    return next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))


def _commands() -> dict[str, argparse.ArgumentParser]:
    return dict(_subparsers().choices)


def test_help_lists_every_command_with_what_it_does():
    listed = run_pipeline("--help").stdout
    assert listed.startswith("usage: python -m pipeline")
    assert "docs/codebook.md" in listed
    briefs = {action.dest: action.help for action in _subparsers()._choices_actions}
    assert sorted(briefs) == sorted(_commands())
    for name, brief in briefs.items():
        assert f" {name} {brief} " in " ".join(listed.split()), name


def test_every_command_explains_itself_in_its_own_help():
    for name, parser in _commands().items():
        assert parser.description and len(parser.description) > 60, name
        shown = "".join(run_pipeline(name, "--help").stdout.split())  # wrapped anywhere, hyphens included
        assert "".join(parser.description.split()) in shown, name


def test_console_script_is_the_same_command_line(chapter_run):
    script = Path(sys.executable).parent / "osce-pipeline"
    assert script.is_file(), "no osce-pipeline script: `make venv` installs the project (pip install --editable .)"
    helped = subprocess.run([str(script), "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert helped.stdout.startswith("usage: osce-pipeline")
    args = ["compare", "--by", "section", "--target", "russia", "--out", str(chapter_run)]
    scripted = subprocess.run([str(script), *args], cwd=ROOT, capture_output=True, text=True, check=True)
    assert scripted.stdout == run_pipeline(*args).stdout
    assert "Introduction" in scripted.stdout
    failed = subprocess.run(
        [str(script), "compare", "--out", str(chapter_run / "nowhere")], capture_output=True, text=True
    )
    assert failed.returncode == 2 and failed.stderr.startswith("error: ")
