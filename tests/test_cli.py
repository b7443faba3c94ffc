"""The command line: it says what each command does for a researcher, and the installed `osce-pipeline` script is
the same command line as `python -m pipeline`; when the disk fails it, a full disk or a read-only output folder is
one line naming the artifact or the folder and the problem, exit status 2, and every artifact already in OUT stays
as it was and readable.

Disk faults are injected at the write call in this process (always), and made real on a small tmpfs or a read-only
bind mount in a mount namespace of the test's own (where the machine allows it; skipped with the reason otherwise).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import cli
from pipeline.cli import build_parser
from pipeline.core import artifacts
from pipeline.core.outlock import LOCK_FILE, MAKE_PID
from pipeline.ingest.sources import doc_id_for
from tests.conftest import CONFIGS, DEV_CORPUS, ROOT, run_pipeline


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


# ------------------------------------------------------------------------------------- a disk that fails the run

KEPT, CHANGED = "UNGDC_BLR_72_2017_Makei.txt", "WhiteHouse_2021-08-09_Biden_statement_on_Belarus.txt"
ADDED = "\n\nThe ministers of Russia and Belarus met again in Minsk and agreed on nothing new at all.\n"


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file under OUT but the lock (it names the last run that held OUT), by relative path, with its bytes."""
    files = (p for p in sorted(out.rglob("*")) if p.is_file() and p.name != LOCK_FILE)
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def assert_readable(out: Path) -> None:
    """Every table reads back, and holds both documents (the chosen ones have paragraphs but no footnotes)."""
    for path in out.glob("*.parquet"):
        frame = pd.read_parquet(path)
        if path.stem != "footnotes":
            assert set(frame["doc_id"]) == {doc_id_for(Path(KEPT)), doc_id_for(Path(CHANGED))}, path


@pytest.fixture
def ingested(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Two documents ingested into OUT, then one of them edited: the next ingest has one partition set to write."""
    monkeypatch.delenv(MAKE_PID, raising=False)
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    for name in (KEPT, CHANGED):
        shutil.copy(DEV_CORPUS / name, texts / name)
    assert cli.main(["ingest", "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS)]) == 0
    with (texts / CHANGED).open("a", encoding="utf-8") as handle:
        handle.write(ADDED)
    return texts, out


FAULTS = [
    (errno.ENOSPC, "No space left on device", "no space left on device"),
    (errno.EROFS, "Read-only file system", "read-only file system"),
    (errno.EACCES, "Permission denied", "permission denied"),
]


@pytest.mark.parametrize(("code", "strerror", "problem"), FAULTS, ids=[f[2] for f in FAULTS])
def test_a_refused_write_is_one_line_naming_the_artifact_and_keeps_every_artifact(
    ingested, monkeypatch, capsys, code, strerror, problem
):
    texts, out = ingested
    before = snapshot(out)
    capsys.readouterr()

    def refuse(*args, **kwargs):
        raise OSError(code, f"Error writing bytes to file. Detail: [errno {code}] {strerror}")

    monkeypatch.setattr(artifacts.pq, "write_table", refuse)
    status = cli.main(["ingest", "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS)])
    monkeypatch.undo()

    partition = out / "documents.parquet" / f"{doc_id_for(Path(CHANGED))}.parquet"
    message = f"{partition}: cannot write ({problem}); every artifact written so far is intact"
    assert (status, capsys.readouterr().err.splitlines()) == (2, [f"error: {message}"])
    after = snapshot(out)
    summary = json.loads(after.pop("run_summary.json"))
    assert summary["ingest"] == {"error": message}
    before.pop("run_summary.json")
    assert after == before, "no artifact changed, no temporary left"
    assert_readable(out)


def in_mount_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a shell script (environment ``env``) in a mount namespace of its own, where it may mount a tmpfs or
    remount a folder read-only without touching the machine's mounts; skip the test where the machine forbids it."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare(1) and mount(8) are needed to make a small or read-only file system")
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    probe = subprocess.run([*unshare, "mount", "-t", "tmpfs", "tmpfs", "/mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a private mount namespace here: {probe.stderr.strip() or probe.returncode}")
    return subprocess.run([*unshare, "bash", "-c", script], cwd=ROOT, capture_output=True, text=True, env=env)


FULL_DISK = """
set -e
mount -t tmpfs -o size=4m tmpfs "$OUT"
run() { "$PYTHON" -m pipeline ingest --texts "$TEXTS" --out "$OUT" --configs "$CONFIGS"; }
run 2> /dev/null
cp -a "$OUT" "$BEFORE"
cp "$EDITED" "$TEXTS/$CHANGED"
cat /dev/zero > "$OUT/filler" 2> /dev/null || true
set +e
run 2> "$WORK/full.err"; echo $? > "$WORK/full.rc"
rm "$OUT/filler"
cp -a "$OUT" "$AFTER"
run 2> "$WORK/room.err"; echo $? > "$WORK/room.rc"
cp -a "$OUT" "$RECOVERED"
"""


def test_a_full_disk_is_one_line_naming_the_artifact_and_a_rerun_with_room_finishes(tmp_path):
    """A real 4 MB tmpfs as OUT, filled to the last page after a first ingest; an edited document to write."""
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    out.mkdir()
    for name in (KEPT, CHANGED):
        shutil.copy(DEV_CORPUS / name, texts / name)
    edited = tmp_path / "edited.txt"
    edited.write_text((DEV_CORPUS / CHANGED).read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    folders = {name: tmp_path / name.lower() for name in ("BEFORE", "AFTER", "RECOVERED")}
    env = {"PYTHON": sys.executable, "TEXTS": str(texts), "OUT": str(out), "CONFIGS": str(CONFIGS)}
    env |= {"EDITED": str(edited), "CHANGED": CHANGED, "WORK": str(tmp_path)}
    env |= {name: str(path) for name, path in folders.items()}
    env = {k: v for k, v in {**os.environ, **env}.items() if k != MAKE_PID}
    done = in_mount_namespace(FULL_DISK, env)
    assert done.returncode == 0, done.stderr

    partition = out / "documents.parquet" / f"{doc_id_for(Path(CHANGED))}.parquet"
    expected = f"error: {partition}: cannot write (no space left on device); every artifact written so far is intact"
    assert (tmp_path / "full.rc").read_text().strip() == "2"
    assert (tmp_path / "full.err").read_text().splitlines() == [expected]
    assert snapshot(folders["AFTER"]) == snapshot(folders["BEFORE"]), "every artifact as it was, no temporary left"
    assert_readable(folders["AFTER"])

    assert (tmp_path / "room.rc").read_text().strip() == "0", (tmp_path / "room.err").read_text()
    documents = pd.read_parquet(folders["RECOVERED"] / "documents.parquet").set_index("doc_id")
    assert documents.loc[doc_id_for(Path(CHANGED)), "source_sha256"] == hashlib.sha256(edited.read_bytes()).hexdigest()


READ_ONLY = """
mount --bind "$OUT" "$OUT" && mount -o remount,bind,ro "$OUT" || exit 99
"$PYTHON" -m pipeline ingest --texts "$TEXTS" --out "$OUT" --configs "$CONFIGS" 2> "$WORK/ro.err"
echo $? > "$WORK/ro.rc"
"""


def test_a_read_only_output_folder_is_one_line_and_nothing_is_written(ingested, tmp_path):
    """OUT read-only by a read-only bind mount (root ignores permission bits, so ``chmod a-w`` would not do)."""
    texts, out = ingested
    before = snapshot(out)
    env = {"PYTHON": sys.executable, "TEXTS": str(texts), "OUT": str(out), "CONFIGS": str(CONFIGS)}
    env = {k: v for k, v in {**os.environ, **env, "WORK": str(tmp_path)}.items() if k != MAKE_PID}
    done = in_mount_namespace(READ_ONLY, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ro.rc").read_text().strip() == "2"
    assert (tmp_path / "ro.err").read_text().splitlines() == [
        f"error: {out}: cannot write to the output folder (read-only file system)"
    ]
    assert snapshot(out) == before
    assert_readable(out)
