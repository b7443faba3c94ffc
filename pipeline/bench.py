"""``make bench``: words per second of bare spaCy against the whole pipeline, and peak memory.

Builds a benchmark corpus by repeating the dev corpus to about ``--words`` words, measures (a) ``nlp.pipe`` over
the same paragraph and footnote texts with the same model and settings as the parse stage and (b) every stage of
the pipeline from an empty output folder, then prints per-stage seconds on stderr and one JSON line last on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

from pipeline.core.artifacts import Layout, read_table
from pipeline.core.config import ParseConfig, load_config
from pipeline.core.registry import StageRequest, run_stage
from pipeline.core.runner import make_executor
from pipeline.parse.nlp import load_model, worker_count

DEV_CORPUS = Path("data") / "corpus" / "dev"


def build_corpus(source: Path, target: Path, *, words: int, whole_copies: bool = True) -> int:
    """Copy the texts of ``source`` into ``target`` as many times as needed to reach ``words`` words: whole copies
    of the folder, or (``whole_copies=False``) text after text until the count is reached, for sizes below one
    copy. Each copy of a text gets its own file name, so its own document id."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    texts = sorted(source.glob("*.txt"))
    if not texts:
        raise SystemExit(f"error: no .txt files in {source}")
    total, copy = 0, 0
    while total < words:
        for path in texts:
            text = path.read_text(encoding="utf-8")
            (target / f"{path.stem}__copy{copy:03d}.txt").write_text(text, encoding="utf-8")
            total += len(text.split())
            if not whole_copies and total >= words:
                break
        copy += 1
    return total


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    parser.add_argument("--source", type=Path, default=DEV_CORPUS)
    parser.add_argument("--workdir", type=Path, default=Path("bench"))
    parser.add_argument("--words", type=int, default=500_000)
    parser.add_argument("--configs", type=Path, default=Path("configs"))
    args = parser.parse_args(argv)

    corpus, out = args.workdir / "corpus", args.workdir / "out"
    build_corpus(args.source, corpus, words=args.words)
    if out.exists():
        shutil.rmtree(out)
    layout, executor = Layout(out), make_executor("local")
    timings: dict[str, float] = {}

    def timed(stage: str, run: object) -> None:
        start = time.perf_counter()
        run()  # type: ignore[operator]
        timings[stage] = round(time.perf_counter() - start, 2)
        print(f"[bench] {stage}: {timings[stage]} s", file=sys.stderr)

    request = StageRequest(layout, args.configs, executor, texts=corpus)
    timed("ingest", lambda: run_stage("ingest", request))
    paragraphs = read_table(layout.table("paragraphs"), name="paragraphs")
    footnotes = read_table(layout.table("footnotes"), name="footnotes")
    texts = [*map(str, paragraphs["text"]), *map(str, footnotes["text"])]
    words = sum(len(t.split()) for t in texts)

    parse_config = load_config(ParseConfig, args.configs)
    nlp = load_model(parse_config.model)
    n_process = worker_count(parse_config.n_process, sum(map(len, texts)))
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=parse_config.batch_size, n_process=n_process):
        pass
    spacy_seconds = time.perf_counter() - start
    print(f"[bench] bare nlp.pipe: {spacy_seconds:.2f} s ({n_process} process(es))", file=sys.stderr)

    timed("parse", lambda: run_stage("parse", request))
    timed("entities", lambda: run_stage("entities", request))
    timed("stance", lambda: run_stage("stance", request))
    timed("network", lambda: run_stage("network", request))
    timed("report", lambda: run_stage("report", request))
    pipeline_seconds = sum(timings.values())
    result = {
        "words": words,
        "spacy_words_per_s": round(words / spacy_seconds, 1),
        "pipeline_words_per_s": round(words / pipeline_seconds, 1),
        "ratio": round(spacy_seconds / pipeline_seconds, 3),
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps({"stage_seconds": timings}), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
