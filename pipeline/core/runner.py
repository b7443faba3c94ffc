"""Running a stage over documents: incremental skipping, executors (local or Dask), outcomes and the run summary."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pipeline.core.artifacts import (
    Layout,
    fingerprint,
    is_current,
    read_meta,
    remove_stale_partitions,
    write_text_atomic,
)
from pipeline.core.errors import PipelineError
from pipeline.core.stagecode import stage_code_version

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Outcome:
    """What happened to one document in one stage."""

    source: str
    doc_id: str | None
    status: str  # done | current | failed | removed
    message: str = ""
    warnings: list[str] = field(default_factory=list)


class Executor(Protocol):
    """Where per-document work runs. ``distributed``: on workers that write their partitions themselves (so even
    cheap stages go there); ``workers``: how many chunks to cut; ``close``: release the workers."""

    distributed: bool

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]: ...

    @property
    def workers(self) -> int: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Runs work on this machine: in this process, or in a pool of ``processes`` when handed several chunks."""

    distributed = False

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)

    @property
    def workers(self) -> int:
        return self.processes

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.processes == 1 or len(items) < 2:
            return [fn(item) for item in items]
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(max_workers=min(self.processes, len(items)), mp_context=get_context("spawn")) as pool:
            return list(pool.map(fn, items))

    def close(self) -> None:
        """Nothing to release: a pool lives only as long as one ``map``."""


class DaskExecutor:
    """Runs per-document work on a Dask cluster: a scheduler address, or a LocalCluster when none is given."""

    distributed = True

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 2) -> None:
        from distributed import Client, LocalCluster

        if scheduler:
            self._cluster = None
            self.client = Client(scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self._cluster)

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        futures = self.client.map(fn, list(items), pure=False)
        return list(self.client.gather(futures))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(name: str, scheduler: str | None = None) -> LocalExecutor | DaskExecutor:
    if name == "dask":
        return DaskExecutor(scheduler)
    return LocalExecutor(processes=os.cpu_count() or 1)


# Below this many documents a local stage runs in-process: starting workers (each loads its models) costs more.
MIN_DOCUMENTS_FOR_PROCESSES = 8


def plan_chunks(items: Sequence[T], executor: Executor, *, processes: int | None = None) -> list[list[T]]:
    """How to split a stage's documents: one chunk per worker on a cluster; locally one chunk per process
    (``processes``, or one per core) for corpora big enough to pay for the processes."""
    if executor.distributed:
        return chunks(items, executor.workers)
    if len(items) < MIN_DOCUMENTS_FOR_PROCESSES:
        return chunks(items, 1)
    return chunks(items, executor.workers if processes is None else processes)


def chunks(items: Sequence[T], n: int) -> list[list[T]]:
    """Split ``items`` into at most ``n`` contiguous, non-empty chunks of near-equal size."""
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        if end > start:
            out.append(list(items[start:end]))
        start = end
    return out


@dataclass(frozen=True)
class StaleDocument:
    """A document a stage has to redo, and the fingerprint its outputs will carry."""

    doc_id: str
    fingerprint: str


D = TypeVar("D", bound=StaleDocument)


@dataclass(frozen=True)
class Chunk(Generic[D]):
    """One worker's share of a stage's documents and the folders it reads and writes: picklable, so that the chunk
    function runs the same in this process, in a pool of processes or on a Dask worker."""

    documents: list[D]
    out: str
    configs: str


def upstream_fingerprint(layout: Layout, names: Sequence[str], doc_id: str) -> str | None:
    """The fingerprints of a document's upstream partitions, joined; None if any is missing."""
    prints = []
    for name in names:
        value = read_meta(layout.partition(name, doc_id)).get("fingerprint")
        if value is None:
            return None
        prints.append(value)
    return "+".join(prints)


def stale_documents(
    run: StageRun,
    layout: Layout,
    doc_ids: Sequence[str],
    *,
    upstream: Sequence[str],
    output: str,
    parts: Callable[[str, str | None], tuple[Any, ...]],
    complete: Callable[[str], bool] | None = None,
) -> list[StaleDocument]:
    """The documents a stage has to redo, each with the fingerprint its output will carry; the others are recorded
    in ``run`` as current. A document's fingerprint hashes the stage, its code version and ``parts(doc_id,
    upstream)`` (the config hash and whatever else the output depends on), where ``upstream`` is the fingerprint of
    its ``upstream`` partitions; it is current when those exist, its ``output`` partition carries that fingerprint
    and ``complete(doc_id)`` holds (a file beside the partition)."""
    stale = []
    code = stage_code_version(run.stage)
    for doc_id in doc_ids:
        upstream_print = upstream_fingerprint(layout, upstream, doc_id)
        print_ = fingerprint(run.stage, code, *parts(doc_id, upstream_print))
        if (
            upstream_print is not None
            and is_current(layout.partition(output, doc_id), print_)
            and (complete is None or complete(doc_id))
        ):
            run.outcomes.append(Outcome(doc_id, doc_id, "current"))
        else:
            stale.append(StaleDocument(doc_id, print_))
    return stale


@dataclass
class StageRun:
    stage: str
    outcomes: list[Outcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the stage's other inputs (e.g. review files)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def report(self, stream: Any = None) -> None:
        """One line per failure and warning on stderr, then a one-line tally."""
        stream = stream or sys.stderr
        for warning in self.warnings:
            print(f"warning: {one_line(warning)}", file=stream)
        for outcome in self.outcomes:
            for warning in outcome.warnings:
                print(f"warning: {one_line(warning)}", file=stream)
            if outcome.status == "failed":
                print(f"error: {one_line(outcome.message)} (skipped)", file=stream)
        tally = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items())) or "nothing to do"
        print(f"[{self.stage}] {tally}", file=stream)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def one_line(text: str) -> str:
    """``text`` safe to print as one terminal line: control characters (a newline in a file name) escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def _merge_summary(layout: Layout, stage: str, entry: dict[str, Any]) -> None:
    path = layout.run_summary
    summary: dict[str, Any] = {}
    if path.exists():
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            summary = {}
    if not isinstance(summary, dict):
        summary = {}
    summary[stage] = entry
    write_text_atomic(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")


def record_summary(layout: Layout, run: StageRun) -> None:
    """Merge this stage's outcomes into ``OUT/run_summary.json``: what was skipped and why."""
    entry = {
        "counts": run.counts(),
        "skipped": [asdict(o) for o in run.outcomes if o.status == "failed"],
        "warnings": [*run.warnings, *(w for o in run.outcomes for w in o.warnings)],
    }
    _merge_summary(layout, run.stage, entry)


def record_stage_error(layout: Layout, stage: str, message: str) -> None:
    """Note in ``OUT/run_summary.json`` that a whole stage stopped (bad config, missing model); only for an output
    folder that exists, so that a typo in ``--out`` does not create one."""
    if layout.out.is_dir():
        _merge_summary(layout, stage, {"error": message})


def check_no_failures(run: StageRun) -> None:
    """Stop the command when every document of a stage failed: the next stage would have nothing to work on."""
    if run.failed and len(run.failed) == len(run.outcomes):
        raise PipelineError(f"[{run.stage}] every document failed; nothing to pass on")


def spread_by_cost(items: list[T], costs: list[int], n: int) -> list[T]:
    """``items`` reordered so that cutting them into ``n`` contiguous chunks of near-equal count, as ``plan_chunks``
    does, deals them out costliest first in turn: no chunk (worker) is left with all the big documents."""
    ranked = sorted(range(len(items)), key=lambda k: -costs[k])
    return [items[k] for chunk in range(n) for k in ranked[chunk::n]]


def chunks_by_cost(
    items: list[T], costs: list[int], executor: Executor, *, processes: int | None = None
) -> list[list[T]]:
    """The chunks ``plan_chunks`` would cut, with the items dealt into them costliest first in turn."""
    n = len(plan_chunks(items, executor, processes=processes))
    return chunks(spread_by_cost(items, costs, n), n)


def run_per_document(
    run: StageRun,
    work: Callable[[Chunk[D]], list[Outcome]],
    stale: list[D],
    layout: Layout,
    configs: Path,
    executor: Executor,
    *,
    output: str,
    doc_ids: list[str],
    costs: list[int] | None = None,
    processes: int | None = None,
    removed: Callable[[str], None] | None = None,
) -> None:
    """Run a stage's chunk function over its stale documents (dealt costliest first in turn when ``costs`` are
    given; locally into ``processes`` chunks if given), then drop the ``output`` partitions of documents gone
    upstream (and call ``removed`` for each, to drop what lies beside them)."""
    if costs is None:
        planned = plan_chunks(stale, executor, processes=processes)
    else:
        planned = chunks_by_cost(stale, costs, executor, processes=processes)
    chunked = [Chunk(chunk, str(layout.out), str(configs)) for chunk in planned]
    for outcomes in executor.map(work, chunked):
        run.outcomes.extend(outcomes)
    for doc_id in remove_stale_partitions(layout, output, set(doc_ids)):
        if removed is not None:
            removed(doc_id)
        run.outcomes.append(Outcome(doc_id, doc_id, "removed"))


def progress(stage: str, done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        print(f"\r[{stage}] {done}/{total} documents", end="" if done < total else "\n", file=sys.stderr)


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
