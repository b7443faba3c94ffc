"""The Makefile and the code agree on what each stage depends on; `make -q` knows when all is up to date."""

from __future__ import annotations

import re
import subprocess

from pipeline.stagecode import COMMON, STAGE_CODE
from tests.conftest import ROOT


def _make_list(variable: str) -> set[str]:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{variable} := \$\(addprefix pipeline/,(.+)\)$", text, re.MULTILINE)
    assert match, f"{variable} not found in the Makefile"
    return {f"pipeline/{name}" for name in match.group(1).split()}


def test_makefile_lists_the_code_each_stage_fingerprints():
    assert _make_list("COMMON_CODE") == {f"pipeline/{name}" for name in COMMON}
    for stage, files in STAGE_CODE.items():
        assert _make_list(f"{stage.upper()}_CODE") == {f"pipeline/{name}" for name in files}, stage
    for files in STAGE_CODE.values():
        for name in files:
            assert (ROOT / "pipeline" / name).exists(), name


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
