"""The correction of the stance index, measured and validated on the labelled documents.

``measured_correction`` measures what the classifier gets wrong for ``make train-stance``: every judged labelled row
is predicted by a model trained without its fold (``CORRECTION_FOLDS`` folds of documents, dealt by size), and the
confusion of those predictions is counted per target and document (``stance_estimates.count_errors``); for the
labelled documents themselves the counts are made again by models that never saw their fold (see there).

``validate`` checks the corrected estimates held out by document: every labelled document is estimated by a model
and a correction that never saw it. The model is trained on the other documents; the correction is measured the way
``measured_correction`` measures it, on the other documents alone (each predicted by a model that saw neither its
fold nor the held-out document). For every group of the held-out document (the document; each section of a document
with sections) and target with at least ``min_referring`` sentences that refer to the target by their labels, each
estimator gives an index and a 95% interval, compared with the labelled index of the group: coverage of the intervals
and mean absolute error.

Estimators compared: the mean classifier score with a bootstrap over the sentences (the summary before the
correction), classify-and-count (predicted labels counted, sentences bootstrapped), probabilistic classify-and-count
(class probabilities recalibrated per target, labels drawn from them, sentences and documents of the calibration
resampled), adjusted classify-and-count (the per-target confusion matrix inverted inside the simplex, sentences and
documents resampled), and the shipped correction (``stance_estimates``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize, nnls

from pipeline.core.errors import PipelineError
from pipeline.stance.estimates import (
    ANTI,
    CLASSES,
    NONE,
    PRO,
    PROBABILITY_COLUMNS,
    Correction,
    Errors,
    class_codes,
    count_errors,
    estimate_group,
    group_seed,
    index_of,
    measure_errors,
    prediction_categories,
)

ESTIMATORS = {
    "mean score": "mean classifier score (p_pro - p_anti) of the sentences predicted to refer; sentences bootstrapped",
    "classify and count": "predicted labels counted; sentences bootstrapped",
    "probabilistic classify and count": "class probabilities recalibrated per target and summed; labels drawn, "
    "sentences and calibration documents resampled",
    "adjusted classify and count": "per-target confusion matrix inverted inside the simplex; sentences and "
    "confusion documents resampled",
    "corrected (shipped)": "Bayesian adjusted classify-and-count over prediction categories (stance_estimates)",
}
FLOOR = 1e-6
CORRECTION_FOLDS = 5  # folds of documents the correction's predictions are cross-fitted in


# ---------------------------------------------------------------------------------------------------- held out


@dataclass(frozen=True)
class HeldOut:
    """The class probabilities of one held-out document's judged rows (``outer``), and of every other document's
    judged rows by models that saw neither that row's inner fold nor the held-out document (``inner``); both indexed
    like the labelled features."""

    outer: pd.DataFrame
    inner: pd.DataFrame


def _probabilities(train: pd.DataFrame, test: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    from pipeline.stance.learned import StanceClassifier

    model = StanceClassifier(**params).fit(train, train["gold"])
    proba = model.predict_proba(test)
    classes = list(model.classes_)
    columns = {
        column: proba[:, classes.index(label)] if label in classes else np.zeros(len(test))
        for column, label in zip(PROBABILITY_COLUMNS, CLASSES, strict=True)
    }
    return pd.DataFrame(columns, index=test.index)


def document_folds(sizes: pd.Series, k: int) -> dict[str, int]:
    """Units (documents, sections) dealt into ``k`` folds, largest first in turn (ties by name), so the folds hold
    similar numbers of rows."""
    ranked = sorted(sizes.index, key=lambda d: (-int(sizes[d]), str(d)))
    return {str(d): n % k for n, d in enumerate(ranked)}


def fold_units(rows: pd.DataFrame) -> pd.Series:
    """What is dealt into the correction's folds: documents, or, when the labels come from one document, the
    training's held-out units (its sections, column ``fold``)."""
    documents = rows["doc_id"].astype(str)
    units = documents if documents.nunique() >= 2 else rows["fold"].astype(str)
    if units.nunique() < 2:
        raise PipelineError("measuring the classifier's errors needs labels from at least two documents or sections")
    return units


def fold_probabilities(rows: pd.DataFrame, *, params: dict[str, Any], folds: int = CORRECTION_FOLDS) -> pd.DataFrame:
    """Class probabilities of every row from a model trained without its fold (of ``fold_units``)."""
    units = fold_units(rows)
    fold_of = units.map(document_folds(units.value_counts(), folds))
    parts = [_probabilities(rows[fold_of != k], rows[fold_of == k], params) for k in sorted(set(fold_of))]
    return pd.concat(parts).sort_index()


def measured_correction(features: pd.DataFrame, *, params: dict[str, Any], draws: int, seed: int) -> Correction:
    """What the learned classifier gets wrong, per target and document, on the labelled rows it judges (those whose
    sentence mentions the target).

    For documents the labels do not cover: every row predicted by a model that never saw its fold (``folds`` models).
    For a labelled document, so that its correction never saw it either: the rows of its own fold predicted by the
    model without that fold, and the rows of every other fold by a model without both folds (one model per pair of
    folds); its own rows are left out when it is corrected."""
    rows = features[features["mentioned"].to_numpy(dtype=bool)]
    units = fold_units(rows)
    fold_of = units.map(document_folds(units.value_counts(), CORRECTION_FOLDS)).to_numpy()
    folds = sorted(set(fold_of))
    without_one = {k: _probabilities(rows[fold_of != k], rows[fold_of == k], params) for k in folds}
    without_two: dict[tuple[int, int], pd.DataFrame] = {}
    for a, b in itertools.combinations(folds, 2):
        predicted = _probabilities(rows[(fold_of != a) & (fold_of != b)], rows[(fold_of == a) | (fold_of == b)], params)
        without_two[(a, b)] = without_two[(b, a)] = predicted

    def count(probabilities: pd.DataFrame) -> Errors:
        ordered = probabilities.loc[rows.index, list(PROBABILITY_COLUMNS)].to_numpy(dtype=float)
        return count_errors(
            ordered,
            rows["gold"].astype(str).tolist(),
            rows["doc_id"].astype(str).tolist(),
            rows["target"].astype(str).tolist(),
        )

    held_out = []
    for k in folds:
        parts = [without_one[k], *(without_two[(k, j)].loc[rows.index[fold_of == j]] for j in folds if j != k)]
        held_out.append(count(pd.concat(parts)))
    documents_are_units = bool((units == rows["doc_id"].astype(str)).all())
    return Correction(
        targets=count(pd.concat(without_one.values())),
        held_out=tuple(held_out) if documents_are_units else (),
        fold_of={str(d): int(k) for d, k in zip(units, fold_of, strict=True)} if documents_are_units else {},
        draws=draws,
        seed=seed,
    )


def held_out_probabilities(
    features: pd.DataFrame, *, params: dict[str, Any], progress: Any = None
) -> dict[str, HeldOut]:
    """Per labelled document, its rows predicted by a model trained without it, and the other documents' rows
    predicted as ``measured_correction`` predicts them, with the held-out document left out as well."""
    rows = features[features["mentioned"].to_numpy(dtype=bool)]
    documents = sorted(rows["doc_id"].astype(str).unique())
    out = {}
    for done, document in enumerate(documents, start=1):
        others = rows[rows["doc_id"] != document]
        outer = _probabilities(others, rows[rows["doc_id"] == document], params)
        out[document] = HeldOut(outer, fold_probabilities(others, params=params))
        if progress is not None:
            progress(done, len(documents))
    return out


# ---------------------------------------------------------------------------------------------------- estimators


def fit_calibration(
    probabilities: np.ndarray, gold: np.ndarray, *, weights: np.ndarray | None = None, penalty: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial recalibration softmax(log p @ W.T + b) fitted by weighted likelihood, pulled toward the identity."""
    k = len(CLASSES)
    logs = np.log(np.clip(probabilities, FLOOR, 1.0))
    onehot = np.eye(k)[gold]
    w = np.ones(len(gold)) if weights is None else np.asarray(weights, dtype=float)
    identity = np.concatenate([np.eye(k), np.zeros((k, 1))], axis=1).ravel()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        matrix = theta.reshape(k, k + 1)
        logits = logs @ matrix[:, :k].T + matrix[:, k]
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -float((w[:, None] * onehot * log_p).sum()) + penalty * float(((theta - identity) ** 2).sum())
        residual = w[:, None] * (np.exp(log_p) - onehot)
        grad = np.concatenate([residual.T @ logs, residual.sum(axis=0)[:, None]], axis=1).ravel()
        return value, grad + 2 * penalty * (theta - identity)

    matrix = minimize(loss, identity, jac=True, method="L-BFGS-B").x.reshape(k, k + 1)
    return matrix[:, :k], matrix[:, k]


def calibrate(probabilities: np.ndarray, calibration: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    weights, bias = calibration
    logits = np.log(np.clip(probabilities, FLOOR, 1.0)) @ weights.T + bias
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _simplex_inverse(observed: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """The mix of true labels whose predicted-label distribution under ``confusion`` (rows true) is nearest to
    ``observed``, inside the simplex."""
    design = np.vstack([confusion.T, 100.0 * np.ones(len(CLASSES))])
    mix, _ = nnls(design, np.concatenate([observed, [100.0]]))
    return mix / mix.sum()


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class Ingredients:
    """What the compared corrections measured for one target on the inner predictions: the shipped correction, the
    calibration and its document resamples, the confusion matrix of predicted labels and its resamples."""

    correction: Correction
    calibration: tuple[np.ndarray, np.ndarray]
    calibration_draws: list[tuple[np.ndarray, np.ndarray]]
    confusion: np.ndarray
    confusion_draws: list[np.ndarray]


def measure(
    probabilities: np.ndarray,
    gold: np.ndarray,
    documents: np.ndarray,
    targets: np.ndarray,
    *,
    draws: int,
    seed: int,
    calibration_draws: int,
) -> dict[str, Ingredients]:
    """Each estimator's ingredients per target, from the inner predictions of the documents other than the held-out
    one."""
    correction = measure_errors(
        probabilities, [CLASSES[g] for g in gold], list(documents), list(targets), draws=draws, seed=seed
    )
    rng = np.random.default_rng(seed)
    out = {}
    for target in sorted(set(targets)):
        rows = targets == target
        p, g, d = probabilities[rows], gold[rows], documents[rows]
        names = sorted(set(d))
        of = np.array([names.index(x) for x in d])
        predicted = p.argmax(axis=1)

        def confusion(weights: np.ndarray, g: np.ndarray = g, predicted: np.ndarray = predicted) -> np.ndarray:
            counts = np.full((len(CLASSES), len(CLASSES)), 0.5)
            np.add.at(counts, (g, predicted), weights)
            return counts / counts.sum(axis=1, keepdims=True)

        resamples = [
            np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))[of] for _ in range(draws)
        ]
        out[target] = Ingredients(
            correction=correction,
            calibration=fit_calibration(p, g),
            calibration_draws=[fit_calibration(p, g, weights=w) for w in resamples[:calibration_draws]],
            confusion=confusion(np.ones(len(g))),
            confusion_draws=[confusion(w) for w in resamples],
        )
    return out


def estimates(
    probabilities: np.ndarray, target: str, ingredients: Ingredients, *, samples: int, rng: np.random.Generator
) -> dict[str, tuple[float, float, float]]:
    """(index, low, high) of one group by every compared estimator, from its judged rows' class probabilities."""
    n = len(probabilities)
    out: dict[str, tuple[float, float, float]] = {}
    resample = rng.integers(0, n, size=(samples, n))
    predicted = probabilities.argmax(axis=1)
    judged = predicted != NONE
    scores = (probabilities[:, PRO] - probabilities[:, ANTI])[judged]
    if len(scores):
        boot = scores[rng.integers(0, len(scores), size=(samples, len(scores)))].mean(axis=1)
        out["mean score"] = (float(scores.mean()), *_interval(boot))
    counts = np.bincount(predicted, minlength=len(CLASSES)).astype(float)
    boot_counts = np.stack([(predicted[resample] == k).sum(axis=1) for k in range(len(CLASSES))], axis=1)
    out["classify and count"] = (float(index_of(counts)[0]), *_interval(index_of(boot_counts.astype(float))[0]))
    point = calibrate(probabilities, ingredients.calibration)
    stack = np.stack([calibrate(probabilities, c) for c in ingredients.calibration_draws])
    chosen = stack[(np.arange(samples) % len(stack))[:, None], resample]
    labels = np.minimum((rng.random((samples, n, 1)) > chosen.cumsum(axis=2)).sum(axis=2), len(CLASSES) - 1)
    drawn = np.stack([(labels == k).sum(axis=1) for k in range(len(CLASSES))], axis=1).astype(float)
    out["probabilistic classify and count"] = (float(index_of(point.sum(axis=0))[0]), *_interval(index_of(drawn)[0]))
    adjusted = _simplex_inverse(counts / n, ingredients.confusion)
    boot_adjusted = np.array(
        [
            index_of(
                _simplex_inverse(boot_counts[s] / n, ingredients.confusion_draws[s % len(ingredients.confusion_draws)])
            )[0]
            for s in range(samples)
        ]
    )
    out["adjusted classify and count"] = (float(index_of(adjusted)[0]), *_interval(boot_adjusted))
    correction = ingredients.correction
    categories = np.bincount(prediction_categories(probabilities, confident=correction.confident), minlength=8)
    shipped = estimate_group(
        categories, np.zeros(len(CLASSES), dtype=np.int64), correction.model(target), samples=samples, rng=rng
    )
    out["corrected (shipped)"] = (shipped.stance_index, shipped.index_ci_low, shipped.index_ci_high)
    return out


# ---------------------------------------------------------------------------------------------------- validation


def labelled_groups(features: pd.DataFrame, document: str) -> list[tuple[str, pd.DataFrame]]:
    """The groups of one labelled document: the whole document, and each section when it has several."""
    rows = features[features["doc_id"] == document]
    groups = [("document", rows)]
    sections = rows["section_index"].dropna()
    if sections.nunique() > 1:
        groups += [(f"section {int(s)}", part) for s, part in rows.groupby("section_index", sort=True)]
    return groups


def validate(
    features: pd.DataFrame,
    held_out: dict[str, HeldOut],
    *,
    samples: int,
    draws: int,
    seed: int,
    min_referring: int = 3,
    calibration_draws: int = 50,
) -> pd.DataFrame:
    """One row per held-out (group, target) with at least ``min_referring`` referring sentences by the labels, and per
    estimator its index and interval beside the labelled index."""
    rows = []
    for document, predictions in sorted(held_out.items()):
        inner = features.loc[predictions.inner.index]
        ingredients = measure(
            predictions.inner[list(PROBABILITY_COLUMNS)].to_numpy(dtype=float),
            class_codes(inner["gold"]),
            inner["doc_id"].astype(str).to_numpy(),
            inner["target"].astype(str).to_numpy(),
            draws=draws,
            seed=seed,
            calibration_draws=calibration_draws,
        )
        for group, part in labelled_groups(features, document):
            for target, labelled in part.groupby("target", sort=True):
                gold = class_codes(labelled["gold"])
                truth, referring = index_of(np.bincount(gold, minlength=len(CLASSES)).astype(float))
                judged = labelled.index.intersection(predictions.outer.index)
                if referring < min_referring or not len(judged) or str(target) not in ingredients:
                    continue
                probabilities = predictions.outer.loc[judged, list(PROBABILITY_COLUMNS)].to_numpy(dtype=float)
                rng = group_seed(seed, (document, group, target))
                found = estimates(probabilities, str(target), ingredients[str(target)], samples=samples, rng=rng)
                for estimator, (index, low, high) in found.items():
                    rows.append(
                        {
                            "doc_id": document,
                            "group": group,
                            "target": str(target),
                            "referring": int(referring),
                            "judged": len(judged),
                            "labelled_index": float(truth),
                            "estimator": estimator,
                            "index": index,
                            "low": low,
                            "high": high,
                        }
                    )
    return pd.DataFrame(rows)


def summarise(groups: pd.DataFrame, *, larger: int = 10) -> pd.DataFrame:
    """Per estimator: groups, coverage of the labelled index by the 95% intervals, mean absolute error, mean width;
    and the same for the groups of at least ``larger`` referring sentences."""
    out = []
    for estimator in ESTIMATORS:
        part = groups[(groups["estimator"] == estimator) & groups["index"].notna()]
        if part.empty:
            continue
        covered = (part["low"] <= part["labelled_index"] + 1e-9) & (part["labelled_index"] <= part["high"] + 1e-9)
        error = (part["index"] - part["labelled_index"]).abs()
        width = part["high"] - part["low"]
        big = part["referring"] >= larger
        out.append(
            {
                "estimator": estimator,
                "groups": len(part),
                "coverage": round(float(covered.mean()), 3),
                "mean_abs_error": round(float(error.mean()), 3),
                "mean_width": round(float(width.mean()), 3),
                f"groups_{larger}+": int(big.sum()),
                f"coverage_{larger}+": round(float(covered[big].mean()), 3) if big.any() else float("nan"),
                f"mean_abs_error_{larger}+": round(float(error[big].mean()), 3) if big.any() else float("nan"),
                f"mean_width_{larger}+": round(float(width[big].mean()), 3) if big.any() else float("nan"),
            }
        )
    return pd.DataFrame(out)


def format_validation(summary: pd.DataFrame, groups: pd.DataFrame) -> str:
    """The summary table as text, with what the groups are."""
    documents = groups["doc_id"].nunique() if len(groups) else 0
    n_groups = groups[["doc_id", "group", "target"]].drop_duplicates().shape[0] if len(groups) else 0
    lines = [
        f"stance index per group, held out by document: {n_groups} (group, target) pairs with at least 3 referring "
        f"sentences in {documents} labelled documents; coverage = share of 95% intervals containing the labelled "
        "index",
        summary.to_string(index=False),
    ]
    return "\n".join(lines)


def per_group_table(groups: pd.DataFrame, estimators: Sequence[str]) -> pd.DataFrame:
    """Wide view: one row per group with each chosen estimator's index and interval."""
    keys = ["doc_id", "group", "target", "referring", "labelled_index"]
    parts = []
    for estimator in estimators:
        part = groups[groups["estimator"] == estimator].set_index(keys)[["index", "low", "high"]]
        parts.append(part.add_prefix(f"{estimator}: "))
    return pd.concat(parts, axis=1).reset_index()
