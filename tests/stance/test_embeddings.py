"""Sentence embeddings: the configured encoder, or both side by side; each encoder known to the config is built."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import ENCODER_CHOICES
from pipeline.stance.embeddings import embedding_columns, encode, encoder_parts, encoder_sha256, with_embeddings

TEXTS = ["the target attacked another country .", "another country attacked the target ."]
SPANS = [[(0, 10)], [(25, 35)]]


def test_every_encoder_the_config_offers_is_built():
    for choice in ENCODER_CHOICES:
        for encoder in encoder_parts(choice):
            assert encoder.onnx_file.exists() and encoder.tokenizer_file.exists(), encoder.name
        digests = encoder_sha256(choice)
        assert len(digests.split("+")) == len(encoder_parts(choice)) if choice != "none" else digests == ""


def test_mpnet_reads_768_dimensions_and_tells_the_attacker_from_the_victim():
    vectors = encode(TEXTS, SPANS, encoder="mpnet")
    assert vectors.shape == (2, 2, 768)
    assert np.array_equal(vectors, encode(TEXTS, SPANS, encoder="mpnet")), "deterministic"
    assert float(vectors[0, 1] @ vectors[1, 1]) < 0.99, "the attacker's and the victim's tokens read differently"
    alone = np.vstack([encode([t], [s], encoder="mpnet") for t, s in zip(TEXTS, SPANS, strict=True)])
    assert np.array_equal(vectors, alone), "a sentence's vector does not depend on its company"


def test_minilm_plus_mpnet_puts_each_encoders_vectors_side_by_side():
    both = encode(TEXTS, SPANS, encoder="minilm+mpnet")
    assert np.array_equal(both, np.concatenate([encode(TEXTS, SPANS), encode(TEXTS, SPANS, encoder="mpnet")], axis=2))
    assert encoder_sha256("minilm+mpnet") == f"{encoder_sha256('minilm')}+{encoder_sha256('mpnet')}"


def test_embedding_columns_follow_the_encoder_and_stay_zero_where_no_target_is_mentioned():
    features = pd.DataFrame(
        {
            "text": ["tgt_russia TGT attacked OTH .", "Nothing here ."],
            "mentioned": [True, False],
            "target_role": [1.0, 0.0],
        }
    )
    for choice, dimensions in (("minilm", 384), ("mpnet", 768), ("minilm+mpnet", 1152)):
        columns = embedding_columns(choice)
        assert len(columns) == 3 * dimensions
        frame = with_embeddings(features, enabled=True, encoder=choice)
        assert list(frame.columns) == [*features.columns, *columns]
        values = frame[list(columns)].to_numpy()
        assert np.abs(values[0]).sum() > 0 and not values[1].any()
        sentence, role = values[0, :dimensions], values[0, dimensions : 2 * dimensions]
        assert np.array_equal(sentence, role), "the acting target's role-signed vector is its sentence vector"
