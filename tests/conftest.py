"""Shared fixtures: configs, the real chapter, the spaCy model loaded once, pipeline runs into temp folders,
Chromium for the browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.config import IngestConfig, ParseConfig, load_config
from pipeline.ingest.sources import doc_id_for
from pipeline.ingest.stage import IngestResult, ingest_text

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
CHAPTER = ROOT / "texts" / "osce-yearbook-2017_belarus-pariah-state-no-more.txt"
CHAPTER_ID = doc_id_for(CHAPTER)
DEV_CORPUS = ROOT / "data" / "corpus" / "dev"


def run_pipeline(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pipeline ARGS`` as a user would; return the finished process."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pipeline {' '.join(args)} failed:\n{result.stderr}")
    return result


def copy_configs(dest: Path) -> Path:
    """A copy of the project's config folder at ``dest``, with the project's models beside it (the stance config
    names its model relative to its folder, ``../models/``)."""
    shutil.copytree(CONFIGS, dest)
    models = dest.parent / "models"
    if not models.exists():
        models.symlink_to(ROOT / "models", target_is_directory=True)
    return dest


@pytest.fixture(scope="session")
def ingest_config():
    return load_config(IngestConfig, CONFIGS)


@pytest.fixture(scope="session")
def chapter_text() -> str:
    return CHAPTER.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def chapter(ingest_config, chapter_text) -> IngestResult:
    return ingest_text(chapter_text, doc_id=CHAPTER_ID, source_name=CHAPTER.name, config=ingest_config)


@pytest.fixture(scope="session")
def nlp():
    from pipeline.parse.nlp import load_model

    return load_model(load_config(ParseConfig, CONFIGS).model)


@pytest.fixture(scope="session")
def chapter_run(tmp_path_factory) -> Path:
    """The whole pipeline (ingest .. report) run on the chapter alone, and its review sheet; returns the output
    folder."""
    texts = tmp_path_factory.mktemp("texts")
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    out = tmp_path_factory.mktemp("out")
    for stage in ("ingest", "parse", "entities", "stance", "network", "report"):
        run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS))
    run_pipeline("review", "--out", str(out), "--configs", str(CONFIGS))
    return out


@pytest.fixture(scope="session")
def dev_run(tmp_path_factory) -> Path:
    """Ingest, parse and entities over the whole dev corpus as one corpus."""
    if not DEV_CORPUS.is_dir():
        pytest.fail(f"the dev corpus is missing at {DEV_CORPUS}")
    out = tmp_path_factory.mktemp("dev_out")
    for stage in ("ingest", "parse", "entities", "stance", "network"):
        run_pipeline(stage, "--texts", str(DEV_CORPUS), "--out", str(out), "--configs", str(CONFIGS))
    return out


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (needs root)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("Chromium is not installed and this test is not root: run `apt-get install -y chromium` first")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        )
        if done.returncode != 0:
            pytest.fail(f"cannot install Chromium (`{' '.join(command)}` failed):\n{done.stderr[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium but no `chromium` executable is on PATH")
    return found
