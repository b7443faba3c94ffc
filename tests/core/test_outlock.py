"""One run at a time per output folder: a second run is refused in one line naming the run that holds OUT, a killed
run's lock never blocks the next, and the stages of one make hold OUT from the first to the last."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.errors import OutputError
from pipeline.core.outlock import LOCK_FILE, MAKE_PID, acquire, output_lock
from pipeline.ingest.sources import doc_id_for
from tests.conftest import CONFIGS, DEV_CORPUS, ROOT

PAIR = ("UNGDC_BLR_72_2017_Makei.txt", "Kremlin_2017-04-03_Putin_Lukashenko_press_statements_StPetersburg.txt")
OTHER = "UNGDC_LTU_72_2017_Grybauskaite.txt"
# make must not rebuild the shared virtualenv or the encoders from inside a test: they count as up to date
ENCODER_DIR = ".venv/share/osce-stance-pipeline"
MAKE = ["make", "-o", ".venv/.installed"]
MAKE += ["-o", f"{ENCODER_DIR}/all-MiniLM-L6-v2.int8.onnx", "-o", f"{ENCODER_DIR}/all-mpnet-base-v2.int8.onnx"]


def in_use(out: Path, pid: int) -> str:
    return f"{out}: in use by another run (pid {pid}); wait for it to finish, or stop it"


def plain_env() -> dict[str, str]:
    """This process's environment without a make's pid: a run started by hand."""
    return {k: v for k, v in os.environ.items() if k != MAKE_PID}


def texts_of(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(DEV_CORPUS / name, folder / name)
    return folder


def pipeline_run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pipeline", *args, "--configs", str(CONFIGS)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env or plain_env(), check=False)


def test_a_second_lock_on_the_same_folder_is_refused_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.delenv(MAKE_PID, raising=False)
    out = tmp_path / "out"
    with output_lock(out):
        with pytest.raises(OutputError) as refused:
            acquire(out)
        assert str(refused.value) == in_use(out, os.getpid())
    with output_lock(out):  # given up at the end of the block
        assert (out / LOCK_FILE).read_text() == f"{os.getpid()} 0\n"


KILLED_HOLDER = """
import os, signal, sys
from pathlib import Path
from pipeline.core.outlock import acquire
acquire(Path(sys.argv[1]))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_lock_of_a_killed_run_does_not_block_the_next(tmp_path, monkeypatch):
    monkeypatch.delenv(MAKE_PID, raising=False)
    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.run([sys.executable, "-c", KILLED_HOLDER, str(out)], cwd=ROOT, env=plain_env(), check=False)
    assert killed.returncode == -signal.SIGKILL
    dead_pid = int((out / LOCK_FILE).read_text().split()[0])
    assert dead_pid != os.getpid()
    with output_lock(out):
        assert (out / LOCK_FILE).read_text() == f"{os.getpid()} 0\n"


def test_an_output_folder_made_for_a_run_that_wrote_nothing_is_removed(tmp_path, monkeypatch):
    monkeypatch.delenv(MAKE_PID, raising=False)
    typo, used = tmp_path / "typo" / "out", tmp_path / "used"
    with output_lock(typo) as lock:
        assert lock.created and typo.is_dir()
    assert not (tmp_path / "typo").exists(), "nor the folder made to hold it"
    with output_lock(used):
        (used / "run_summary.json").write_text("{}")
    assert sorted(p.name for p in used.iterdir()) == [LOCK_FILE, "run_summary.json"]


FAKE_MAKE = """
import os, subprocess, sys
texts, out, configs = sys.argv[1:4]
stage = [sys.executable, "-m", "pipeline", "ingest", "--texts", texts, "--out", out, "--configs", configs]
env = {**os.environ, "PIPELINE_MAKE_PID": str(os.getpid())}
print(subprocess.run(stage, env=env, capture_output=True).returncode, flush=True)
sys.stdin.readline()  # between two stages, until the test says go on
print(subprocess.run(stage, env=env, capture_output=True).returncode, flush=True)
"""


@pytest.mark.slow
def test_stages_of_one_make_share_its_lock_and_another_run_is_refused_between_them(tmp_path):
    """A stand-in for make (one process per stage, given the make's pid as the Makefile does): between its stages
    no stage process is alive, yet another run is refused naming the make; its own next stage goes on; once it has
    ended the lock is free."""
    texts, other = texts_of(tmp_path / "texts", *PAIR), texts_of(tmp_path / "other", OTHER)
    out = tmp_path / "out"
    make = subprocess.Popen(
        [sys.executable, "-c", FAKE_MAKE, str(texts), str(out), str(CONFIGS)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=plain_env(),
    )
    assert make.stdin is not None and make.stdout is not None
    try:
        assert make.stdout.readline().strip() == "0", "the make's first stage ran"
        intruder = pipeline_run("ingest", "--texts", str(other), "--out", str(out))
        assert (intruder.returncode, intruder.stderr.splitlines()) == (2, [f"error: {in_use(out, make.pid)}"])
        make.stdin.write("\n")
        make.stdin.flush()
        assert make.stdout.readline().strip() == "0", "the make's second stage went on under its lock"
    finally:
        make.stdin.close()
        make.wait(timeout=60)
    documents = pd.read_parquet(out / "documents.parquet")
    assert sorted(documents["doc_id"]) == sorted(doc_id_for(Path(n)) for n in PAIR), "the intruder wrote nothing"
    after = pipeline_run("ingest", "--texts", str(other), "--out", str(out))
    assert after.returncode == 0, after.stderr


@pytest.mark.slow
def test_a_second_make_on_the_same_output_is_refused_during_and_between_the_stages_of_the_first(tmp_path):
    """The real Makefile: while one `make all` runs, a second make (and a run by hand) on the same OUT is refused at
    every stage boundary of the first, naming the first make's pid; the first finishes on its own documents; then
    the second goes through."""
    texts, other = texts_of(tmp_path / "texts", *PAIR), texts_of(tmp_path / "other", OTHER)
    out = tmp_path / "out"
    log = tmp_path / "first.log"
    with log.open("w") as stderr:
        first = subprocess.Popen(
            [*MAKE, "all", f"TEXTS={texts}", f"OUT={out}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=plain_env(),
        )

    def second_make() -> subprocess.CompletedProcess[str]:
        # newer than the first make's ingest stamp, so the second make has ingest to do: set, not touched, because
        # the kernel stamps files with a coarse clock and a touch in the same tick as the stamp would not be newer
        stamp = (out / ".stamps" / "ingest").stat().st_mtime_ns
        newer = max(stamp + 10_000_000, time.time_ns())
        os.utime(other / OTHER, ns=(newer, newer))
        return subprocess.run(
            [*MAKE, "ingest", f"TEXTS={other}", f"OUT={out}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=plain_env(),
            check=False,
        )

    # not after network: only the short report stage is left then, which a loaded machine can finish while the
    # attempts start, and a run by hand that then rightly goes through would change OUT under the test
    boundaries = [out / ".stamps" / s for s in ("ingest", "parse", "entities", "stance")]
    refused = []
    try:
        for boundary in boundaries:
            while not boundary.exists():
                assert first.poll() is None, f"the first make ended early:\n{log.read_text()}"
                time.sleep(0.02)
            if first.poll() is not None:
                break
            attempt = second_make()
            by_hand = pipeline_run("ingest", "--texts", str(other), "--out", str(out))
            refused.append((boundary.name, attempt, by_hand))
        assert first.wait(timeout=600) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(refused) >= 3, "the second make tried at several stage boundaries of the first"
    expected = f"error: {in_use(out, first.pid)}"
    for boundary, attempt, by_hand in refused:
        assert attempt.returncode == 2 and expected in attempt.stderr.splitlines(), (boundary, attempt.stderr)
        assert (by_hand.returncode, by_hand.stderr.splitlines()) == (2, [expected]), (boundary, by_hand.stderr)
    ids = sorted(doc_id_for(Path(n)) for n in PAIR)
    for table in ("documents", "sentences", "mentions", "stance"):
        assert sorted(set(pd.read_parquet(out / f"{table}.parquet")["doc_id"])) == ids, table
    assert (out / "report.html").is_file()
    after = second_make()
    assert after.returncode == 0, after.stderr


@pytest.mark.slow
def test_a_killed_make_leaves_no_lock_behind(tmp_path):
    """The keeper holds a make's lock only while that make lives: kill -9 the make between two stages, and the
    next run on OUT goes through."""
    texts, other = texts_of(tmp_path / "texts", *PAIR), texts_of(tmp_path / "other", OTHER)
    out = tmp_path / "out"
    make = subprocess.Popen(
        [sys.executable, "-c", FAKE_MAKE, str(texts), str(out), str(CONFIGS)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=plain_env(),
    )
    assert make.stdout is not None
    assert make.stdout.readline().strip() == "0", "the make's first stage ran"
    assert int((out / LOCK_FILE).read_text().split()[1]) == make.pid, "the lock is held for the make"
    make.kill()
    make.wait()
    after = pipeline_run("ingest", "--texts", str(other), "--out", str(out))
    assert after.returncode == 0, after.stderr
