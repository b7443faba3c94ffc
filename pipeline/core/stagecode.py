"""Which source files each stage's output depends on: the code part of every partition's fingerprint.

A stage depends on ``pipeline/__init__.py``, every module of ``pipeline/core/`` and every module of the packages the
stage registry names for it (its own and those of the stages whose code it imports). The Makefile lists the same
folders as each stage's prerequisites; a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pipeline
from pipeline.core.registry import BY_NAME

PACKAGE_DIR = Path(pipeline.__file__).parent

COMMON = ("__init__.py", "core")
STAGE_CODE: dict[str, tuple[str, ...]] = {name: stage.packages for name, stage in BY_NAME.items()}


def code_files(parts: tuple[str, ...]) -> list[str]:
    """The source files of ``parts`` (modules or package folders, relative to ``pipeline/``), sorted."""
    files: set[str] = set()
    for part in parts:
        path = PACKAGE_DIR / part
        found = sorted(path.glob("*.py")) if path.is_dir() else [path]
        files.update(p.relative_to(PACKAGE_DIR).as_posix() for p in found)
    return sorted(files)


def stage_code_files(stage: str) -> list[str]:
    """Every source file ``stage``'s outputs depend on, relative to ``pipeline/``."""
    return code_files((*COMMON, *STAGE_CODE[stage]))


@cache
def stage_code_version(stage: str) -> str:
    """Package version plus a hash of the modules ``stage`` depends on."""
    digest = hashlib.sha256()
    for name in stage_code_files(stage):
        path = PACKAGE_DIR / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return f"{pipeline.__version__}+{digest.hexdigest()[:12]}"
