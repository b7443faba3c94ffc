"""``make bench-scale``: how the cost and the memory of a whole run grow with the corpus.

Repeats the dev corpus to each of two sizes (about 0.5M and 3M words by default; every copy of a text has its own
document id), runs every stage from an empty output folder as ``make all`` does (one ``python -m pipeline <stage>``
process per stage), and prints per stage the seconds per 100,000 words at both sizes and their ratio, the peak
resident memory of the whole run at both sizes, and one JSON line last.

Peak memory counts every process of a stage: the stage process and its worker processes, their resident set sizes
summed, sampled every 0.1 s (a sum of RSS counts shared library pages once per process, so it errs high), and at
least the largest single process's own peak (``ru_maxrss``, which catches a spike between two samples).

With ``--executor dask`` every stage runs on a Dask cluster (a LocalCluster of two worker processes, or
``--scheduler``); its outputs go to ``out-<words>-dask`` beside the local run's ``out-<words>``, and when a local run
of the same size is there, every artifact of the two is compared (parquet files by content, one file at a time;
other files by bytes) and the JSON line says whether they are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.bench import DEV_CORPUS, build_corpus
from pipeline.core.outlock import MAKE_PID

STAGES = ("ingest", "parse", "entities", "stance", "network", "report")
SAMPLE_S = 0.1
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class ScaleRun:
    """One whole run at one size: words ingested, seconds per stage, peak memory of each stage's processes."""

    words: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def per_100k(self, stage: str) -> float:
        return self.seconds[stage] / self.words * 100_000


def tree_rss_bytes(pid: int) -> int:
    """The resident memory of a process and all its descendants, summed; 0 once it has ended."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue  # ended between listing and reading
    return total


def run_measured(command: list[str], *, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command``; return its wall seconds and the peak memory (MB) of its process tree."""
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_S):
            peak = max(peak, tree_rss_bytes(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # wait4 reports the largest single process of the tree (the stage or a worker it waited for), from the kernel
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"error: `{' '.join(command)}` failed (exit status {process.returncode})")
    largest_single = usage.ru_maxrss * 1024  # KiB on Linux
    return seconds, round(max(peak, largest_single) / 2**20, 1)


def ingested_words(out: Path) -> int:
    """Words of body and footnote text the stages process, read one partition's text column at a time."""
    words = 0
    for name in ("paragraphs", "footnotes"):
        for part in sorted((out / f"{name}.parquet").glob("*.parquet")):
            words += sum(len(str(text).split()) for text in pq.read_table(part, columns=["text"]).column(0).to_pylist())
    return words


def output_folder(workdir: Path, words: int, executor: str) -> Path:
    return workdir / (f"out-{words}" if executor == "local" else f"out-{words}-{executor}")


def run_at_size(
    source: Path, workdir: Path, configs: Path, words: int, *, executor: str = "local", scheduler: str | None = None
) -> ScaleRun:
    corpus, out = workdir / f"corpus-{words}", output_folder(workdir, words, executor)
    build_corpus(source, corpus, words=words, whole_copies=False)
    if out.exists():
        shutil.rmtree(out)
    run = ScaleRun()
    env = {k: v for k, v in os.environ.items() if k != MAKE_PID}  # each stage holds its own lock, as by hand
    for stage in STAGES:
        command = [sys.executable, "-m", "pipeline", stage, "--texts", str(corpus), "--out", str(out)]
        command += [
            "--configs",
            str(configs),
            "--executor",
            executor,
            *(["--scheduler", scheduler] if scheduler else []),
        ]
        seconds, peak = run_measured(command, env=env)
        run.seconds[stage], run.peak_mb[stage] = round(seconds, 2), peak
        print(f"[bench-scale] {words:,} words: {stage} {seconds:.1f} s, peak {peak:,.0f} MB", file=sys.stderr)
    run.words = ingested_words(out)
    return run


# Recorded in the provenance of artifacts, so different between two runs of the same inputs: compared apart.
RUN_FILES = ("run_summary.json",)


def differing_files(a: Path, b: Path) -> list[str]:
    """The files of two output folders that differ: present in one only, parquet tables unequal in content (schema
    and rows in order, read one file at a time, so memory stays at one partition), other files unequal in bytes."""
    names_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    differ = sorted(names_a ^ names_b)
    for name in sorted(names_a & names_b):
        if Path(name).name in RUN_FILES or name.endswith(".lock"):
            continue
        if name.endswith(".parquet"):
            same = pq.read_table(a / name).equals(pq.read_table(b / name), check_metadata=False)
        else:
            same = (a / name).read_bytes() == (b / name).read_bytes()
        if not same:
            differ.append(name)
    return differ


def report_page(out: Path) -> Path:
    """The page a reader opens first: the corpus index when there is one, else the one-file report."""
    index = out / "report" / "index.html"
    return index if index.exists() else out / "report.html"


# Appended to a copy of the page: the load event's time from the start of navigation, where --dump-dom shows it.
LOAD_PROBE = (
    '<script>window.addEventListener("load", function () { document.documentElement.setAttribute("data-load-ms", '
    'String(performance.getEntriesByType("navigation")[0].loadEventStart)); });</script>'
)


def load_seconds(page: Path, *, repeats: int = 3) -> float | None:
    """Seconds from the start of navigation to the load event when headless Chromium opens ``page`` (parsing,
    decoding its inline figures, running its scripts, laying it out), the median of ``repeats`` runs, read from the
    page's own Navigation Timing in a copy of it that records it. None without Chromium."""
    if not CHROMIUM.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="bench-scale-chromium-") as scratch:
        probe = Path(scratch) / page.name
        text = page.read_text(encoding="utf-8")
        end = text.rfind("</body>")
        probe.write_text(text[:end] + LOAD_PROBE + text[end:] if end >= 0 else text + LOAD_PROBE, encoding="utf-8")
        times = []
        for k in range(repeats):
            done = subprocess.run(
                [
                    str(CHROMIUM),
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={scratch}/profile-{k}",
                    "--dump-dom",
                    probe.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            found = re.search(r'data-load-ms="([0-9.]+)"', done.stdout)
            if found is None:
                raise SystemExit(f"error: Chromium did not report the load time of {page}")
            times.append(float(found.group(1)) / 1000)
    return round(statistics.median(times), 2)


def summary(
    small: ScaleRun,
    large: ScaleRun,
    *,
    page_bytes: int,
    load_s: float | None,
    executor: str = "local",
    equal_to_local: bool | None = None,
) -> dict[str, object]:
    """The JSON line: words, seconds and peak memory at both sizes, per-word cost ratios, the report's weight; for a
    run on another executor, whether its artifacts equal the local run's (None when there was none to compare)."""
    ratios = {stage: large.per_100k(stage) / small.per_100k(stage) for stage in STAGES}
    worst = max(STAGES, key=lambda stage: ratios[stage])
    per_word = (large.total_seconds / large.words) / (small.total_seconds / small.words)
    return {
        "words": [small.words, large.words],
        "seconds": [round(small.total_seconds, 1), round(large.total_seconds, 1)],
        "per_word_ratio": round(per_word, 3),
        "worst_stage": worst,
        "worst_stage_ratio": round(ratios[worst], 3),
        "peak_rss_mb": [max(small.peak_mb.values()), max(large.peak_mb.values())],
        "report_index_bytes": page_bytes,
        "report_load_s": load_s,
        **({} if executor == "local" else {"executor": executor, "equal_to_local": equal_to_local}),
    }


def table(small: ScaleRun, large: ScaleRun) -> str:
    """Per stage: seconds per 100,000 words at both sizes, their ratio, and the peak memory of its processes."""
    head = f"{'stage':<10}{'s/100k words':>14}{'s/100k words':>14}{'ratio':>8}{'peak MB':>10}{'peak MB':>10}"
    sizes = f"{'':<10}{f'({small.words:,})':>14}{f'({large.words:,})':>14}{'':>8}{'small':>10}{'large':>10}"
    rows = [head, sizes]
    for stage in STAGES:
        a, b = small.per_100k(stage), large.per_100k(stage)
        rows.append(
            f"{stage:<10}{a:>14.2f}{b:>14.2f}{b / a:>8.3f}{small.peak_mb[stage]:>10,.0f}{large.peak_mb[stage]:>10,.0f}"
        )
    a, b = small.total_seconds / small.words * 100_000, large.total_seconds / large.words * 100_000
    rows.append(f"{'all':<10}{a:>14.2f}{b:>14.2f}{b / a:>8.3f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench_scale", description=__doc__)
    parser.add_argument("--source", type=Path, default=DEV_CORPUS, help="the texts to repeat")
    parser.add_argument("--workdir", type=Path, default=Path("bench") / "scale", help="corpora and outputs go here")
    parser.add_argument("--sizes", type=int, nargs=2, default=[500_000, 3_000_000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--configs", type=Path, default=Path("configs"))
    parser.add_argument("--executor", choices=("local", "dask"), default="local", help="where the stages' work runs")
    parser.add_argument("--scheduler", help="a Dask scheduler's address (default: a LocalCluster of two workers)")
    args = parser.parse_args(argv)
    small_words, large_words = sorted(args.sizes)
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if load > 0.5:
        print(
            f"[bench-scale] load average {load:.1f} on {cores} cores: timings are only meaningful idle", file=sys.stderr
        )
    where = {"executor": args.executor, "scheduler": args.scheduler}
    small = run_at_size(args.source, args.workdir, args.configs, small_words, **where)
    large = run_at_size(args.source, args.workdir, args.configs, large_words, **where)
    print(table(small, large))
    equal = None
    if args.executor != "local":
        equal = True
        for words in (small_words, large_words):
            local = output_folder(args.workdir, words, "local")
            if not local.exists():
                equal = None
                print(f"[bench-scale] no local run in {local} to compare with", file=sys.stderr)
                break
            differ = differing_files(local, output_folder(args.workdir, words, args.executor))
            print(f"[bench-scale] {words:,} words: {len(differ)} files differ from the local run", file=sys.stderr)
            for name in differ[:20]:
                print(f"[bench-scale]   {name}", file=sys.stderr)
            equal = equal and not differ
    page = report_page(output_folder(args.workdir, large_words, args.executor))
    found = summary(
        small,
        large,
        page_bytes=page.stat().st_size,
        load_s=load_seconds(page),
        executor=args.executor,
        equal_to_local=equal,
    )
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
