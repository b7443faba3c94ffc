"""Stance summaries per section and per document: counts per label, mean score and a bootstrap 95% interval.

Plain numpy and pandas, so that the process coordinating the stance stage's workers loads no parser or model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


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


def by_section(stance: pd.DataFrame, sections: pd.DataFrame, *, samples: int, seed: int) -> pd.DataFrame:
    """Per section and target: counts per label, mean score, bootstrap 95% interval, and the sentences behind it."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    groups = judged_groups(stance, ["doc_id", "section_index", "target"])
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
                    "sentence_ids": judged.sentence_ids.tolist(),
                }
            )
    return pd.DataFrame(rows)


def by_document(stance: pd.DataFrame, documents: pd.DataFrame, *, samples: int, seed: int) -> pd.DataFrame:
    """Per document and target: the same summary, with title and year for comparing documents."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    groups = judged_groups(stance, ["doc_id", "target"])
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
                }
            )
    frame = pd.DataFrame(rows)
    frame["year"] = frame["year"].astype("Int64")
    return frame
