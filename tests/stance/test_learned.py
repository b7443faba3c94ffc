"""The learned method: one prediction path, the fast design matrix, the defaults of the shipped configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from pipeline.core.artifacts import Layout, read_partition
from pipeline.core.config import ParseConfig, StanceConfig, load_config
from pipeline.stance.learned import StanceClassifier
from pipeline.stance.training import model_params
from tests.conftest import CHAPTER_ID, CONFIGS


@pytest.fixture(scope="module")
def chapter_rows(chapter_run) -> tuple[pd.DataFrame, StanceClassifier]:
    """The chapter's sentence-target rows as the stance stage gives them to the shipped model, and that model."""
    from pipeline.entities.stage import mark_speakers
    from pipeline.parse.nlp import load_vocab_model
    from pipeline.parse.stage import load_docs
    from pipeline.stance.context import load_context
    from pipeline.stance.embeddings import with_embeddings
    from pipeline.stance.stage import analyse, items_from_docs

    layout = Layout(chapter_run)
    context = load_context(CONFIGS)
    nlp = load_vocab_model(load_config(ParseConfig, CONFIGS).model)
    parsed = load_docs(layout.spacy_docs(CHAPTER_ID).read_bytes(), nlp.vocab)
    mark_speakers(parsed, context.gazetteer, None)
    sentences = read_partition(layout, "sentences", CHAPTER_ID)
    mentions = read_partition(layout, "mentions", CHAPTER_ID)
    items = items_from_docs(CHAPTER_ID, parsed, sentences, mentions)
    features = analyse(items, config=context.config, gazetteer=context.gazetteer, lexicon=context.lexicon)
    features = with_embeddings(features, enabled=True, encoder=context.config.learned.encoder)
    return features[features["mentioned"]].reset_index(drop=True), context.bundle.full


def test_the_fast_design_matrix_is_the_fitted_column_transformer_s_output(chapter_rows):
    rows, model = chapter_rows
    assert len(rows) > 100
    fast = model.design_matrix(rows)
    fitted = model.pipeline_.named_steps["features"].transform(rows)
    dense = [m.toarray() if sparse.issparse(m) else np.asarray(m) for m in (fast, fitted)]
    assert dense[0].shape == dense[1].shape
    np.testing.assert_array_equal(dense[0], dense[1])


def test_predict_is_the_most_probable_class_and_agrees_with_the_fitted_pipeline(chapter_rows):
    rows, model = chapter_rows
    proba = model.predict_proba(rows)
    predicted = model.predict(rows)
    assert list(predicted) == [model.classes_[k] for k in proba.argmax(axis=1)]
    assert list(predicted) == list(model.pipeline_.predict(rows))


def test_the_estimator_s_defaults_are_the_shipped_configuration():
    shipped = model_params(load_config(StanceConfig, CONFIGS))
    assert StanceClassifier().get_params() == shipped
