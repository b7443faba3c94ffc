"""The learned stance method: a scikit-learn classifier over the target-marked sentence and the rule signals.

A saved bundle holds the model trained on every label plus one model per held-out fold (a dev document, or a
section of a labelled chapter), so that a labelled sentence is always predicted by a model that never saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from pipeline.stance.embeddings import embedding_columns
from pipeline.stance.features import PLACEHOLDERS, SIGNAL_NAMES, TARGET_PREFIX

CLASSES = ("none", "neutral", "pro", "anti")


class StanceClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on TF-IDF n-grams of the marked sentence plus standardised rule signals and sentence
    vectors. The defaults are the shipped configuration (``configs/stance.yaml``, ``learned``; a test checks)."""

    def __init__(
        self,
        *,
        C: float = 1.0,
        ngram_max: int = 1,
        min_df: int = 1,
        use_signals: bool = True,
        signal_weight: float = 0.3,
        use_embeddings: bool = True,
        embedding_weight: float = 1.0,
        encoder: str = "minilm",
        random_state: int = 13,
    ) -> None:
        self.C = C
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.use_signals = use_signals
        self.signal_weight = signal_weight
        self.use_embeddings = use_embeddings
        self.embedding_weight = embedding_weight
        self.encoder = encoder
        self.random_state = random_state

    def _pipeline(self) -> Pipeline:
        parts: list[tuple[str, Any, Any]] = [
            (
                "text",
                TfidfVectorizer(
                    ngram_range=(1, self.ngram_max),
                    min_df=self.min_df,
                    sublinear_tf=True,
                    lowercase=True,
                    token_pattern=r"(?u)\b\w[\w'-]*\b",
                ),
                "text",
            )
        ]
        if self.use_signals:
            parts.append(("signals", StandardScaler(), list(SIGNAL_NAMES)))
        if self.use_embeddings:
            parts.append(("embeddings", "passthrough", list(embedding_columns(self.encoder))))
        return Pipeline(
            [
                (
                    "features",
                    ColumnTransformer(
                        parts, transformer_weights={"signals": self.signal_weight, "embeddings": self.embedding_weight}
                    ),
                ),
                (
                    "classifier",
                    LogisticRegression(
                        C=self.C, class_weight="balanced", max_iter=5000, random_state=self.random_state
                    ),
                ),
            ]
        )

    def fit(self, X: pd.DataFrame, y: Any) -> StanceClassifier:
        self.pipeline_ = self._pipeline().fit(X, list(y))
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        classifier = self.pipeline_.named_steps["classifier"]
        return classifier.predict_proba(self.design_matrix(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class of each row: the one prediction path, the same as the stance stage's."""
        return np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]

    def design_matrix(self, X: pd.DataFrame) -> Any:
        """What the fitted column transformer makes of ``X``: each part transformed and weighted, then stacked, as
        ``ColumnTransformer.transform`` does, without its bookkeeping for each of the 1,152 embedding columns (which
        cost more than the prediction itself). The passthrough part is the columns' values as they are."""
        transformer = self.pipeline_.named_steps["features"]
        weights = transformer.transformer_weights or {}
        parts = []
        for name, part, columns in transformer.transformers_:
            if isinstance(part, str):  # the remainder: 'drop' in this model
                if part != "drop":
                    return transformer.transform(X)
                continue
            if isinstance(part, FunctionTransformer) and part.func is None:
                values = X[columns].to_numpy()
            else:
                values = part.transform(X[columns])
            weight = weights.get(name)
            parts.append(values if weight is None else values * weight)
        if transformer.sparse_output_:
            return sparse.hstack(parts).tocsr()
        return np.hstack([p.toarray() if sparse.issparse(p) else p for p in parts])

    def evidence(self, X: pd.DataFrame, labels: list[str], top: int = 3) -> list[list[str]]:
        """The n-grams of each sentence that pushed hardest toward its predicted label."""
        transformer = self.pipeline_.named_steps["features"]
        vectorizer: TfidfVectorizer = transformer.named_transformers_["text"]
        names = vectorizer.get_feature_names_out()
        coefs = self.pipeline_.named_steps["classifier"].coef_
        classes = list(self.classes_)
        matrix = vectorizer.transform(X["text"])
        out: list[list[str]] = []
        for row, label in zip(range(matrix.shape[0]), labels, strict=True):
            if label not in classes or len(classes) < 2:
                out.append([])
                continue
            weights = coefs[classes.index(label)] if coefs.shape[0] > 1 else coefs[0]
            begin, end = matrix.indptr[row], matrix.indptr[row + 1]  # the row's entries, without a row copy
            indices = matrix.indices[begin:end]
            values = matrix.data[begin:end] * weights[indices]
            contributions = sorted(zip(values.tolist(), names[indices].tolist(), strict=True), reverse=True)
            informative = [
                name
                for value, name in contributions
                if value > 0 and not all(w in PLACEHOLDERS or w.startswith(TARGET_PREFIX) for w in name.split())
            ]
            out.append(informative[:top])
        return out


@dataclass
class StanceBundle:
    """The full model, the cross-fitting fold models, and what they were trained on."""

    full: StanceClassifier
    folds: dict[str, StanceClassifier] = field(default_factory=dict)
    training_hash: str = ""
    guideline_sha256: str = ""
    n_training_rows: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    encoder_sha256: str = ""  # the sentence encoder whose vectors it was trained on (empty without embeddings)
    feature_design: str = ""  # how it read the sentences (features.FEATURE_DESIGNS; empty: before designs)
    targets: list[dict[str, Any]] = field(default_factory=list)  # the target definitions of its training labels

    def model_for(self, doc_id: str, section_index: int | None) -> tuple[StanceClassifier, str]:
        """The model that never saw this document (or this section of a section-folded chapter)."""
        section_key = f"{doc_id}#s{section_index}"
        if section_key in self.folds:
            return self.folds[section_key], f"learned (cross-fitted, held out {section_key})"
        if doc_id in self.folds:
            return self.folds[doc_id], f"learned (cross-fitted, held out {doc_id})"
        return self.full, "learned"


def fold_key(doc_id: str, section_index: int | None, section_folded: set[str]) -> str:
    """Training rows are held out by document, or by section for documents folded by section (the chapter)."""
    if doc_id not in section_folded:
        return doc_id
    return f"{doc_id}#s{-1 if section_index is None else section_index}"


def train_bundle(
    features: pd.DataFrame,
    labels: pd.Series,
    folds: pd.Series,
    *,
    params: dict[str, Any],
    training_hash: str,
    guideline_sha256: str,
    encoder_sha256: str = "",
    feature_design: str,
    targets: list[dict[str, Any]],
) -> StanceBundle:
    """Fit the full model and one model per fold (every fold's rows left out of its model)."""
    full = StanceClassifier(**params).fit(features, labels)
    bundle = StanceBundle(
        full=full,
        training_hash=training_hash,
        guideline_sha256=guideline_sha256,
        n_training_rows=len(features),
        params=params,
        encoder_sha256=encoder_sha256,
        feature_design=feature_design,
        targets=targets,
    )
    for key in sorted(set(folds)):
        keep = (folds != key).to_numpy()
        bundle.folds[key] = StanceClassifier(**params).fit(features[keep], labels[keep])
    return bundle
