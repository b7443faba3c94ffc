"""Stance summaries per section and per document: the stance index corrected for the classifier's errors with its
95% interval and the shares of each label (``stance_estimates``); counts per label; the mean score with a bootstrap
interval over the sentences alone (the naive summary, kept for comparison).

Plain numpy and pandas, so that the process coordinating the stance stage's workers loads no parser or model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.stance.estimates import (
    CLASSES,
    CONFIDENT,
    N_CATEGORIES,
    PROBABILITY_COLUMNS,
    Correction,
    GroupEstimate,
    class_codes,
    estimate_group,
    group_seed,
    nothing,
    prediction_categories,
)


def bootstrap_ci(scores: np.ndarray, *, samples: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the mean by resampling sentences with replacement."""
    if len(scores) == 0:
        return float("nan"), float("nan")
    if len(scores) == 1:
        return float(scores[0]), float(scores[0])
    draws = rng.choice(scores, size=(samples, len(scores)), replace=True).mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


@dataclass(frozen=True)
class Judged:
    """The judged (not 'none') rows of one group of the ``stance`` table, in table order."""

    labels: np.ndarray
    scores: np.ndarray
    sentence_ids: np.ndarray


def judged_groups(stance: pd.DataFrame, keys: list[str]) -> dict[Any, Judged]:
    """The judged rows of ``stance`` by ``keys``, as arrays: the summaries read a few hundred groups, and selecting
    rows of a data frame for each costs more than the bootstrap."""
    judged = stance[stance["label"] != "none"]
    labels = judged["label"].to_numpy(dtype=object)
    scores = judged["score"].to_numpy(dtype=float)
    sentence_ids = judged["sentence_id"].to_numpy(dtype=np.int64)
    return {
        key: Judged(labels[rows], scores[rows], sentence_ids[rows])
        for key, rows in judged.groupby(keys, sort=False).indices.items()
    }


NOTHING_JUDGED = Judged(np.array([], dtype=object), np.array([], dtype=float), np.array([], dtype=np.int64))


def corrected_groups(
    stance: pd.DataFrame, keys: list[str], *, correction: Correction | None, samples: int, seed: int
) -> dict[Any, GroupEstimate]:
    """The corrected stance index of every group of ``stance`` by ``keys`` (the last key the target), from the
    prediction categories of the rows the classifier judged (the sentence mentions the target) and the labels of
    the reviewed rows."""
    reviewed = (stance["method"] == "reviewed").to_numpy()
    candidates = stance[stance["mentioned"].to_numpy(dtype=bool) | reviewed]
    reviewed = (candidates["method"] == "reviewed").to_numpy()
    probabilities = candidates[list(PROBABILITY_COLUMNS)].to_numpy(dtype=float)
    confident = correction.confident if correction is not None else CONFIDENT
    categories = prediction_categories(probabilities, confident=confident)
    labels = class_codes(candidates["label"])
    mentioned = candidates["mentioned"].to_numpy(dtype=bool)
    out = {}
    for key, rows in candidates.groupby(keys, sort=True).indices.items():
        known = np.bincount(labels[rows][reviewed[rows]], minlength=len(CLASSES))
        judged = np.bincount(categories[rows][~reviewed[rows]], minlength=N_CATEGORIES)
        pairs = np.zeros((len(CLASSES), N_CATEGORIES), dtype=np.int64)  # reviewed: true label x model's category
        both = rows[reviewed[rows] & mentioned[rows]]
        np.add.at(pairs, (labels[both], categories[both]), 1)
        model = None if correction is None else correction.model(str(key[-1]), document=str(key[0]))
        rng = group_seed(seed, key)
        out[key] = estimate_group(judged, known, model, samples=samples, rng=rng, known_categories=pairs)
    return out


def _summary(judged: Judged, *, samples: int, rng: np.random.Generator) -> dict[str, Any]:
    scores = judged.scores
    low, high = bootstrap_ci(scores, samples=samples, rng=rng)
    return {
        "n": len(scores),
        "n_pro": int((judged.labels == "pro").sum()),
        "n_anti": int((judged.labels == "anti").sum()),
        "n_neutral": int((judged.labels == "neutral").sum()),
        "mean_score": round(float(scores.mean()), 4) if len(scores) else float("nan"),
        "ci_low": low,
        "ci_high": high,
    }


def by_section(
    stance: pd.DataFrame, sections: pd.DataFrame, *, samples: int, seed: int, correction: Correction | None = None
) -> pd.DataFrame:
    """Per section and target: the corrected stance index, counts per label, mean score, and the sentences behind
    them."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    keys = ["doc_id", "section_index", "target"]
    groups = judged_groups(stance, keys)
    estimates = corrected_groups(stance, keys, correction=correction, samples=samples, seed=seed)
    for section in sections.sort_values(["doc_id", "section_index"]).itertuples():
        for target in targets:
            judged = groups.get((section.doc_id, section.section_index, target), NOTHING_JUDGED)
            rows.append(
                {
                    "doc_id": section.doc_id,
                    "section_index": int(section.section_index),
                    "section_title": section.section_title,
                    "target": target,
                    **_summary(judged, samples=samples, rng=rng),
                    **estimates.get((section.doc_id, section.section_index, target), nothing()).as_row(),
                    "sentence_ids": judged.sentence_ids.tolist(),
                }
            )
    return pd.DataFrame(rows)


def by_document(
    stance: pd.DataFrame, documents: pd.DataFrame, *, samples: int, seed: int, correction: Correction | None = None
) -> pd.DataFrame:
    """Per document and target: the same summary, with title and year for comparing documents."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    groups = judged_groups(stance, ["doc_id", "target"])
    estimates = corrected_groups(stance, ["doc_id", "target"], correction=correction, samples=samples, seed=seed)
    for document in documents.sort_values("doc_id").itertuples():
        for target in targets:
            judged = groups.get((document.doc_id, target), NOTHING_JUDGED)
            rows.append(
                {
                    "doc_id": document.doc_id,
                    "title": document.title,
                    "year": document.year,
                    "target": target,
                    **_summary(judged, samples=samples, rng=rng),
                    **estimates.get((document.doc_id, target), nothing()).as_row(),
                }
            )
    frame = pd.DataFrame(rows)
    frame["year"] = frame["year"].astype("Int64")
    return frame
