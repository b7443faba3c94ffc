"""Which source files each stage's output depends on: the code part of every partition's fingerprint.

The Makefile lists the same files as each stage's prerequisites; a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pipeline

PACKAGE_DIR = Path(pipeline.__file__).parent

COMMON = (
    "__init__.py",
    "artifacts.py",
    "config.py",
    "errors.py",
    "schemas.py",
    "stagecode.py",
    "runner.py",
    "steps.py",
)

STAGE_CODE: dict[str, tuple[str, ...]] = {
    "ingest": ("stages/ingest.py", "textclean.py", "sources.py"),
    "parse": ("stages/parse.py", "nlp.py"),
    "entities": (
        "stages/entities.py",
        "stages/parse.py",
        "actor_tagger.py",
        "entity_resolution.py",
        "gazetteer.py",
        "nlp.py",
    ),
    "stance": (
        "stages/stance.py",
        "stages/entities.py",
        "stages/parse.py",
        "gazetteer.py",
        "stance_rules.py",
        "stance_learned.py",
        "stance_features.py",
        "stance_summary.py",
        "stance_estimates.py",
        "review.py",
        "embeddings.py",
        "nlp.py",
    ),
    "network": ("stages/network.py",),
    "report": ("stages/report.py", "report_pages.py", "figures.py", "datapackage.py"),
}


@cache
def stage_code_version(stage: str) -> str:
    """Package version plus a hash of the modules ``stage`` depends on."""
    digest = hashlib.sha256()
    for name in sorted(set(COMMON) | set(STAGE_CODE[stage])):
        path = PACKAGE_DIR / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return f"{pipeline.__version__}+{digest.hexdigest()[:12]}"
