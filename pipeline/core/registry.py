"""The stages in the order they run: what each reads and writes, which code packages its outputs depend on, and
where its wiring lives. The command line's stage list and the stage code versions (``stagecode``) come from here."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.core.artifacts import Layout
    from pipeline.core.runner import Executor, StageRun


@dataclass(frozen=True)
class Stage:
    """One stage: the artifacts it reads and writes (``schemas`` names; ``spacy`` is the stored parsed docs, the
    rest files of ``Layout``), the packages under ``pipeline/`` whose modules, with ``core``, make its code version,
    and the module whose ``run`` runs it."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    packages: tuple[str, ...]

    @property
    def wiring(self) -> str:
        return f"pipeline.{self.name}.wiring"


STAGES: tuple[Stage, ...] = (
    Stage("ingest", reads=(), writes=("documents", "sections", "paragraphs", "footnotes"), packages=("ingest",)),
    Stage("parse", reads=("paragraphs", "footnotes"), writes=("sentences", "spacy"), packages=("parse",)),
    Stage(
        "entities",
        reads=("documents", "sentences", "spacy"),
        writes=("mentions", "entities"),
        packages=("entities", "parse"),
    ),
    Stage(
        "stance",
        reads=("documents", "sections", "sentences", "mentions", "spacy"),
        writes=("stance", "stance_by_section", "stance_by_document"),
        packages=("stance", "entities", "parse"),
    ),
    Stage(
        "network",
        reads=("sentences", "mentions", "entities", "stance"),
        writes=("network_nodes", "network_edges", "signed_edges", "exports", "figures"),
        packages=("network",),
    ),
    Stage(
        "report",
        reads=(
            "documents",
            "sections",
            "sentences",
            "mentions",
            "entities",
            "stance",
            "stance_by_section",
            "stance_by_document",
            "network_nodes",
            "network_edges",
            "figures",
        ),
        writes=("report.html", "datapackage.json"),
        packages=("report",),
    ),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)
BY_NAME = {stage.name: stage for stage in STAGES}


@dataclass(frozen=True)
class StageRequest:
    """What a stage is run with: the output folder, the configs folder, where per-document work runs, and the inputs
    only some stages read (the texts folder for ingest, the reviews folder for stance)."""

    layout: Layout
    configs: Path
    executor: Executor
    texts: Path = Path("texts")
    reviews: Path | None = None


def run_stage(name: str, request: StageRequest) -> StageRun:
    """Run the stage ``name``; its wiring module is imported only now, so a stage loads only what it needs."""
    module = importlib.import_module(BY_NAME[name].wiring)
    run: StageRun = module.run(request)
    return run
