"""Per-document partitions: adding or changing one text reprocesses only that text; Dask gives the same artifacts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.schemas import SCHEMAS
from tests.conftest import CHAPTER, CONFIGS, DEV_CORPUS, copy_configs, run_pipeline

STAGES = ("ingest", "parse", "entities", "stance", "network")
SMALL_DEV = [
    "Kremlin_2017-04-18_Normandy_four_telephone_conversation.txt",
    "WhiteHouse_2021-02-26_Biden_statement_Crimea_anniversary.txt",
    "UNGDC_LTU_72_2017_Grybauskaite.txt",
]


def _texts(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CHAPTER, folder / CHAPTER.name)
    for name in names:
        shutil.copy(DEV_CORPUS / name, folder / name)
    return folder


def _run_all(texts: Path, out: Path, *extra: str) -> dict[str, str]:
    """Run every stage; return each stage's tally line from stderr."""
    tallies = {}
    for stage in STAGES:
        result = run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS), *extra)
        tallies[stage] = [line for line in result.stderr.splitlines() if line.startswith(f"[{stage}]")][-1]
    return tallies


def _artifacts(out: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in SCHEMAS:
        path = out / f"{name}.parquet"
        if path.exists():
            frame = pd.read_parquet(path)
            sort = [c for c in ("doc_id", "scope", "scope_id", "sentence_id", "target", "entity_id") if c in frame]
            tables[name] = frame.sort_values(sort, kind="stable").reset_index(drop=True) if sort else frame
    return tables


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[Path, Path]:
    texts = _texts(tmp_path_factory.mktemp("texts"), SMALL_DEV[:2])
    out = tmp_path_factory.mktemp("out")
    _run_all(texts, out)
    return texts, out


def test_rerun_with_nothing_changed_does_no_work(local_run):
    texts, out = local_run
    tallies = _run_all(texts, out)
    for stage in ("ingest", "parse", "entities", "stance"):
        assert "done" not in tallies[stage], tallies[stage]
        assert "3 current" in tallies[stage]


def test_adding_one_text_reprocesses_only_that_text(local_run, tmp_path):
    texts, out = local_run
    grown, grown_out = tmp_path / "texts", tmp_path / "out"
    shutil.copytree(texts, grown)
    shutil.copytree(out, grown_out)
    shutil.copy(DEV_CORPUS / SMALL_DEV[2], grown / SMALL_DEV[2])
    tallies = _run_all(grown, grown_out)
    for stage in ("ingest", "parse", "entities", "stance"):
        assert "1 done" in tallies[stage] and "3 current" in tallies[stage], tallies[stage]
    assert pd.read_parquet(grown_out / "documents.parquet")["doc_id"].nunique() == 4


def test_removing_a_text_removes_its_partitions(local_run, tmp_path):
    texts, out = local_run
    shrunk, shrunk_out = tmp_path / "texts", tmp_path / "out"
    shutil.copytree(texts, shrunk)
    shutil.copytree(out, shrunk_out)
    (shrunk / SMALL_DEV[0]).unlink()
    _run_all(shrunk, shrunk_out)
    for name in ("documents", "paragraphs", "sentences", "mentions", "stance"):
        assert pd.read_parquet(shrunk_out / f"{name}.parquet")["doc_id"].nunique() == 2


def test_changing_stance_config_reruns_stance_not_parsing(local_run, tmp_path):
    texts, out = local_run
    configs, changed_out = tmp_path / "configs", tmp_path / "out"
    copy_configs(configs)
    shutil.copytree(out, changed_out)
    stance_yaml = configs / "stance.yaml"
    stance_yaml.write_text(stance_yaml.read_text().replace("threshold: 0.3", "threshold: 0.5"))
    tallies = {}
    for stage in STAGES:
        result = run_pipeline(stage, "--texts", str(texts), "--out", str(changed_out), "--configs", str(configs))
        tallies[stage] = result.stderr
    assert "3 current" in tallies["ingest"] and "3 current" in tallies["parse"] and "3 current" in tallies["entities"]
    assert "3 done" in tallies["stance"]


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_artifacts(local_run, tmp_path):
    texts, out = local_run
    dask_out = tmp_path / "dask_out"
    _run_all(texts, dask_out, "--executor", "dask")
    local, distributed = _artifacts(out), _artifacts(dask_out)
    assert local.keys() == distributed.keys()
    for name in local:
        pd.testing.assert_frame_equal(local[name], distributed[name], obj=name)


def test_parsing_in_worker_processes_gives_the_same_artifacts(tmp_path):
    from pipeline.core.artifacts import Layout
    from pipeline.core.runner import LocalExecutor
    from pipeline.ingest.wiring import run_ingest
    from pipeline.parse.wiring import run_parse

    shortest = sorted(DEV_CORPUS.glob("*.txt"), key=lambda p: p.stat().st_size)[:8]
    texts = tmp_path / "texts"
    texts.mkdir()
    for path in shortest:
        shutil.copy(path, texts / path.name)
    configs = tmp_path / "configs"
    copy_configs(configs)
    parse_yaml = configs / "parse.yaml"
    parse_yaml.write_text(parse_yaml.read_text().replace("n_process: 0", "n_process: 2"))
    runs = {}
    for name, executor, folder in (("one", LocalExecutor(1), CONFIGS), ("two", LocalExecutor(2), configs)):
        layout = Layout(tmp_path / name)
        run_ingest(texts, layout, CONFIGS, LocalExecutor(1))
        run = run_parse(layout, folder, executor)
        assert run.counts() == {"done": 8}
        runs[name] = layout
    one, two = runs["one"], runs["two"]
    pd.testing.assert_frame_equal(_artifacts(one.out)["sentences"], _artifacts(two.out)["sentences"])
    for path in sorted((one.out / "spacy").glob("*.spacy")):
        assert path.read_bytes() == (two.out / "spacy" / path.name).read_bytes(), path.name


def test_a_review_reruns_the_stance_of_the_reviewed_document_only(local_run, tmp_path):
    texts, out = local_run
    reviewed_out, reviews = tmp_path / "out", tmp_path / "reviews"
    shutil.copytree(out, reviewed_out)
    stance = pd.read_parquet(out / "stance.parquet")
    row = stance[stance["mentioned"]].iloc[0]
    reviews.mkdir()
    pd.DataFrame([{"doc_id": row["doc_id"], "target": row["target"], "sentence": row["text"], "label": "anti"}]).to_csv(
        reviews / "mine.csv", index=False
    )
    result = run_pipeline("stance", "--out", str(reviewed_out), "--configs", str(CONFIGS), "--reviews", str(reviews))
    assert "[stance] 2 current, 1 done" in result.stderr
    again = run_pipeline("stance", "--out", str(reviewed_out), "--configs", str(CONFIGS), "--reviews", str(reviews))
    assert "[stance] 3 current" in again.stderr
    (reviews / "mine.csv").unlink()
    removed = run_pipeline("stance", "--out", str(reviewed_out), "--configs", str(CONFIGS), "--reviews", str(reviews))
    assert "[stance] 2 current, 1 done" in removed.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(reviewed_out / "stance.parquet"), pd.read_parquet(out / "stance.parquet")
    )
