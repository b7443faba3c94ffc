"""``make bench-scale``'s measuring parts: memory counts a stage's worker processes, the corpora reach their size
with distinct document ids, and the summary names the stage whose cost per word grows most. (The timings
themselves are measured by ``make bench-scale``, not asserted here.)"""

from __future__ import annotations

import json
import shutil
import sys

import pandas as pd
import pytest

from pipeline.bench import build_corpus
from pipeline.bench_scale import STAGES, ScaleRun, differing_files, load_seconds, main, run_measured, summary
from pipeline.ingest.sources import doc_id_for
from tests.conftest import CONFIGS, DEV_CORPUS

MB = 2**20
# A stage stand-in: it and two worker processes each hold 80 MB at once for a second.
HOLDERS = """
import subprocess, sys, time
hold = "import time; block = bytearray(80 * 2**20); time.sleep(1.5)"
workers = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(2)]
block = bytearray(80 * 2**20)
time.sleep(1.5)
for worker in workers:
    worker.wait()
"""


def test_peak_memory_adds_up_the_worker_processes_of_a_stage():
    seconds, peak_mb = run_measured([sys.executable, "-c", HOLDERS], env={})
    assert seconds >= 1.5
    assert peak_mb >= 3 * 80, "three processes holding 80 MB each at the same time"


def test_a_failing_stage_stops_the_benchmark():
    with pytest.raises(SystemExit, match="exit status 3"):
        run_measured([sys.executable, "-c", "raise SystemExit(3)"], env={})


def test_corpus_below_one_copy_stops_text_by_text_with_distinct_ids(tmp_path):
    words = build_corpus(DEV_CORPUS, tmp_path / "small", words=20_000, whole_copies=False)
    texts = sorted((tmp_path / "small").glob("*.txt"))
    longest = max(len(p.read_text(encoding="utf-8").split()) for p in DEV_CORPUS.glob("*.txt"))
    assert 20_000 <= words < 20_000 + longest
    assert words == sum(len(p.read_text(encoding="utf-8").split()) for p in texts)
    large = build_corpus(DEV_CORPUS, tmp_path / "large", words=2 * words, whole_copies=False)
    ids = [doc_id_for(p) for p in (tmp_path / "large").glob("*.txt")]
    assert large >= 2 * words and len(ids) == len(set(ids)), "every copy of a text is its own document"


def run(words: int, per_100k: dict[str, float], peaks: dict[str, float]) -> ScaleRun:
    seconds = {stage: per_100k[stage] * words / 100_000 for stage in STAGES}
    return ScaleRun(words=words, seconds=seconds, peak_mb=peaks)


def test_summary_names_the_stage_whose_cost_per_word_grows_most():
    flat = dict.fromkeys(STAGES, 10.0)
    small = run(500_000, flat, dict.fromkeys(STAGES, 400.0))
    large = run(3_000_000, {**flat, "network": 12.0, "stance": 11.0}, {**dict.fromkeys(STAGES, 500.0), "stance": 900.0})
    result = summary(small, large, page_bytes=1234, load_s=None)
    assert result["words"] == [500_000, 3_000_000]
    assert (result["worst_stage"], result["worst_stage_ratio"]) == ("network", 1.2)
    assert result["per_word_ratio"] == pytest.approx((60 + 1 + 2) / 60, abs=1e-3)
    assert result["peak_rss_mb"] == [400.0, 900.0]
    assert (result["report_index_bytes"], result["report_load_s"]) == (1234, None)


@pytest.mark.slow
@pytest.mark.browser
def test_load_time_is_read_from_the_browsers_load_event(chromium, tmp_path):
    page = tmp_path / "index.html"
    page.write_text("<!DOCTYPE html><title>t</title><p>text</p>", encoding="utf-8")
    heavy = tmp_path / "heavy.html"
    # a script that keeps the page from loading for 0.6 s
    heavy.write_text(
        "<!DOCTYPE html><title>t</title><script>var t = Date.now(); while (Date.now() - t < 600) {}</script>",
        encoding="utf-8",
    )
    light, slow = load_seconds(page, repeats=1), load_seconds(heavy, repeats=1)
    assert light is not None and slow is not None
    assert 0 <= light < 2 and 0.6 <= slow < 5


@pytest.mark.slow
@pytest.mark.browser
def test_a_tiny_run_reports_the_index_size_and_its_load_time(chromium, tmp_path, capsys):
    """The whole code path of ``make bench-scale`` at two tiny sizes: its last line holds the index's bytes."""
    assert main(["--workdir", str(tmp_path), "--sizes", "1500", "3000", "--configs", str(CONFIGS)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    index = tmp_path / "out-3000" / "report" / "index.html"
    assert result["report_index_bytes"] == index.stat().st_size
    assert result["report_load_s"] is not None and result["report_load_s"] >= 0


def test_comparing_two_output_folders_finds_every_kind_of_difference(tmp_path):
    """The Dask run is compared with the local one by content: a partition's rows, another file's bytes, a file
    present on one side only; the run's own summary (times, pids) is not an artifact and is left out."""
    a = tmp_path / "a"
    (a / "stance.parquet").mkdir(parents=True)
    pd.DataFrame({"doc_id": ["d1", "d1"], "label": ["pro", "neutral"]}).to_parquet(a / "stance.parquet" / "d1.parquet")
    (a / "report.html").write_text("<p>index 0.25</p>", encoding="utf-8")
    (a / "run_summary.json").write_text('{"seconds": 1.0}', encoding="utf-8")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / "run_summary.json").write_text('{"seconds": 2.0}', encoding="utf-8")
    assert differing_files(a, b) == []
    pd.DataFrame({"doc_id": ["d1", "d1"], "label": ["pro", "anti"]}).to_parquet(b / "stance.parquet" / "d1.parquet")
    (b / "report.html").write_text("<p>index 0.26</p>", encoding="utf-8")
    (b / "stance.parquet" / "d2.parquet").write_bytes((a / "stance.parquet" / "d1.parquet").read_bytes())
    assert differing_files(a, b) == ["stance.parquet/d2.parquet", "report.html", "stance.parquet/d1.parquet"]
