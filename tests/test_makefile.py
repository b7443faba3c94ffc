"""The Makefile and the code agree on what each stage depends on; `make -q` knows when all is up to date."""

from __future__ import annotations

import re
import subprocess

from pipeline.core.registry import STAGE_NAMES
from pipeline.core.stagecode import COMMON, STAGE_CODE, code_files, stage_code_files
from tests.conftest import ROOT


def _make_list(variable: str) -> list[str]:
    """The files a Makefile code list names, as make expands it (``$(wildcard ...)`` of whole package folders)."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{variable} := (.+)$", text, re.MULTILINE)
    assert match, f"{variable} not found in the Makefile"
    names = []
    for word in re.sub(r"\$\(wildcard ([^)]*)\)", r"\1", match.group(1)).split():
        names += [p.relative_to(ROOT / "pipeline").as_posix() for p in sorted(ROOT.glob(word))]
    return sorted(names)


def test_makefile_lists_the_code_each_stage_fingerprints():
    assert _make_list("COMMON_CODE") == code_files(COMMON)
    assert set(STAGE_CODE) == set(STAGE_NAMES)
    for stage in STAGE_CODE:
        assert sorted(set(_make_list("COMMON_CODE") + _make_list(f"{stage.upper()}_CODE"))) == stage_code_files(stage)
        assert re.search(rf"^{stage}: .*## ", (ROOT / "Makefile").read_text(), re.MULTILINE), f"no make {stage}"


def test_every_stage_package_is_some_stage_s_code():
    """A module added to a stage's package counts in that stage's code version without being listed anywhere."""
    packages = {p.name for p in (ROOT / "pipeline").iterdir() if (p / "__init__.py").exists()} - {"core"}
    assert packages == {package for parts in STAGE_CODE.values() for package in parts}
    for stage in STAGE_NAMES:
        assert f"{stage}/wiring.py" in stage_code_files(stage)


def test_make_help_lists_every_target():
    result = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    for target in ("all", "test", "bench", "ingest", "parse", "entities", "stance", "network", "report"):
        assert f"make {target}" in result.stdout


def test_make_all_then_make_q_says_up_to_date(tmp_path):
    import shutil

    from tests.conftest import CHAPTER

    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    variables = [f"TEXTS={texts}", f"OUT={out}"]
    subprocess.run(["make", "all", *variables], cwd=ROOT, capture_output=True, text=True, check=True)
    assert (out / "report.html").exists()
    assert subprocess.run(["make", "-q", "all", *variables], cwd=ROOT).returncode == 0
    (texts / CHAPTER.name).touch()
    assert subprocess.run(["make", "-q", "all", *variables], cwd=ROOT).returncode != 0


def test_a_changed_review_file_reruns_stance_network_and_report_not_parsing(chapter_run, tmp_path):
    """`make -q` sees a review file added, edited or removed; `make -n` then reruns stance, network and report only."""
    import os
    import shutil
    import time

    from tests.conftest import CHAPTER

    texts, out, reviews = tmp_path / "texts", tmp_path / "out", tmp_path / "reviews"
    texts.mkdir()
    reviews.mkdir()
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    shutil.copytree(chapter_run, out)
    now = time.time()
    for k, stage in enumerate(("ingest", "parse", "entities", "stance", "network"), start=1):
        stamp = out / ".stamps" / stage
        stamp.parent.mkdir(exist_ok=True)
        stamp.touch()
        os.utime(stamp, (now + k, now + k))  # as if make had run each stage in turn, after every input was written
    os.utime(out / "report.html", (now + 6, now + 6))
    encoders = [
        f".venv/share/osce-stance-pipeline/{name}.int8.onnx" for name in ("all-MiniLM-L6-v2", "all-mpnet-base-v2")
    ]
    # this test is about the reviews, not the environment: the virtualenv and the encoders count as built
    built = [flag for path in (".venv/.installed", *encoders) for flag in ("-o", path)]
    make = ["make", *built, f"TEXTS={texts}", f"OUT={out}", f"REVIEWS={reviews}"]

    def plan() -> tuple[int, str]:
        quiet = subprocess.run([*make, "-q", "all"], cwd=ROOT, capture_output=True, text=True).returncode
        dry = subprocess.run([*make, "-n", "all"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return quiet, dry

    def reruns(dry: str) -> list[str]:
        return [s for s in ("ingest", "parse", "entities", "stance", "network", "report") if f"pipeline {s} " in dry]

    assert plan()[0] == 0, "up to date before any review"
    review = reviews / "mine.csv"
    review.write_text("doc_id,target,sentence,label\n", encoding="utf-8")
    for k, change in enumerate(("added", "edited", "removed")):
        if change == "edited":
            review.write_text("doc_id,target,sentence,label\nd,russia,A sentence.,pro\n", encoding="utf-8")
        if change == "removed":
            review.unlink()
        later = now + 20 + 10 * k
        os.utime(reviews, (later, later))
        if review.exists():
            os.utime(review, (later, later))
        quiet, dry = plan()
        assert quiet != 0, change
        assert reruns(dry) == ["stance", "network", "report"], (change, dry)
        for stage in ("stance", "network"):
            os.utime(out / ".stamps" / stage, (later + 1, later + 1))
        os.utime(out / "report.html", (later + 2, later + 2))
        assert plan()[0] == 0
