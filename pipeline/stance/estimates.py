"""The stance index of a group of sentences, corrected for the classifier's measured errors, with a 95% interval.

For a group (a section, a document) and a target, the stance index is (pro - anti) / (sentences that refer to the
target), beside the shares of pro, anti and neutral among those sentences. Each sentence the classifier judged falls in
a prediction category (its predicted label, confident or not). How often a sentence of each true label lands in each
category was measured per target on cross-fitted predictions of the labelled documents (``Correction``, computed by
``make train-stance`` and stored in the model card). A group's true labels are then estimated as unknowns of a small
Bayesian model (the group's own mix of labels, the measured confusion as the likelihood of the categories), which
undoes the classifier's confusions where counting predicted labels or averaging scores would repeat them, and stays
inside the simplex by construction (adjusted classify-and-count in its likelihood form).

The 95% interval draws the group's labels from that model, with the confusion taken from a resample of the labelled
documents in each draw (the error of the correction itself), and resamples the group's sentences (their sampling):
it carries both the classifier's error and the sampling of the sentences. Reviewed sentences are known; a fully
reviewed group has its exact labelled index and the bootstrap of its sentences alone.

Plain numpy, so the process that summarises the stance stage loads no model.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSES = ("none", "neutral", "pro", "anti")  # the order of ``pipeline.stance.learned.CLASSES`` (a test checks)
NONE, NEUTRAL, PRO, ANTI = range(4)
PROBABILITY_COLUMNS = ("p_none", "p_neutral", "p_pro", "p_anti")
POOLED = "*"  # the correction measured over all targets, for a target without labelled rows
CHAINS = 100  # Gibbs chains per group; each keeps ceil(samples / CHAINS) draws after BURN_IN sweeps
BURN_IN = 15
CONFIDENT = 0.6  # a prediction whose label has at least this probability is a "sure" category
# Chosen among a handful of settings on the held-out validation (docs/quality-aggregates.md):
PSEUDO_COUNT = 2.0  # added to every confusion cell, so sparse rows (few labelled anti sentences) stay cautious
PRIOR_WEIGHT = 8.0  # how many sentences a group's prior mix of labels (the target's labelled mix) weighs


def class_codes(labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """Labels as indices into ``CLASSES``."""
    lookup = {label: k for k, label in enumerate(CLASSES)}
    return np.array([lookup[str(label)] for label in labels], dtype=np.int64)


def prediction_categories(probabilities: np.ndarray, *, confident: float) -> np.ndarray:
    """A prediction's category: its label (the most probable class) and whether its probability reaches
    ``confident``: ``2 * label + confident``, so 8 categories in ``CLASSES`` order, unsure before sure."""
    return 2 * probabilities.argmax(axis=1) + (probabilities.max(axis=1) >= confident)


N_CATEGORIES = 2 * len(CLASSES)


@dataclass(frozen=True)
class TargetErrors:
    """For one target, per labelled document: how many rows of each true label (rows) fell in each prediction
    category (columns), cross-fitted."""

    documents: tuple[str, ...]
    counts: np.ndarray  # documents x classes x categories


@dataclass(frozen=True)
class TargetModel:
    """What estimating one target's groups needs: confusion draws (P(category | true label), one per resample of the
    labelled documents) and the Dirichlet prior of a group's mix of labels."""

    confusion: np.ndarray  # draws x classes x categories, rows sum to 1
    prior: np.ndarray  # classes
    spread: np.ndarray  # classes: how closely one document's confusion row follows the measured one (Dirichlet)

    def label_probabilities(self, categories: np.ndarray) -> np.ndarray:
        """Per sentence (given its prediction category), the probability of each true label in a group of the
        target's usual mix: what one sentence's reading is expected to reveal."""
        joint = (self.prior / self.prior.sum())[:, None] * self.confusion.mean(axis=0)  # classes x categories
        return (joint / joint.sum(axis=0, keepdims=True)).T[categories]


Errors = dict[str, TargetErrors]  # per target (and POOLED)


@dataclass(frozen=True)
class Correction:
    """The classifier's errors per target, measured on cross-fitted predictions of the labelled documents (what the
    model card stores), and the settings that turn them into estimates: ``draws`` resamples of the labelled documents
    (seeded by ``seed``) carry the uncertainty of the measurement.

    ``targets`` holds the errors for any document the labels do not cover. A labelled document is corrected by the
    errors of its fold in ``held_out`` (``fold_of`` says which): counted on predictions by models that never saw its
    fold of documents, its own rows left out, as its sentences are predicted by a model that never saw it."""

    targets: Errors
    held_out: tuple[Errors, ...] = ()
    fold_of: dict[str, int] = field(default_factory=dict)
    confident: float = CONFIDENT
    draws: int = 200
    seed: int = 13
    _models: dict[tuple[str, int | None, str | None], TargetModel] = field(
        default_factory=dict, compare=False, repr=False
    )

    def model(self, target: str, *, document: str | None = None) -> TargetModel:
        """The prepared model of ``target`` (the pooled one for a target without labelled rows), for ``document``."""
        fold = self.fold_of.get(document) if document is not None else None
        measured = self.targets if fold is None else self.held_out[fold]
        key = target if target in measured else POOLED
        own = document if document in measured[key].documents and len(measured[key].documents) > 1 else None
        if (key, fold, own) not in self._models:
            self._models[(key, fold, own)] = self._prepare(_without(measured[key], own), key)
        return self._models[(key, fold, own)]

    def _prepare(self, errors: TargetErrors, key: str) -> TargetModel:
        rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        n_documents = len(errors.documents)
        weights = np.stack(
            [np.bincount(rng.integers(0, n_documents, n_documents), minlength=n_documents) for _ in range(self.draws)]
        )
        counts = np.einsum("bd,dcj->bcj", weights, errors.counts) + PSEUDO_COUNT
        measured = errors.counts.sum(axis=0) + PSEUDO_COUNT
        total = errors.counts.sum(axis=(0, 2)) + PSEUDO_COUNT
        return TargetModel(
            confusion=counts / counts.sum(axis=2, keepdims=True),
            prior=PRIOR_WEIGHT * total / total.sum(),
            spread=document_spread(errors.counts, measured / measured.sum(axis=1, keepdims=True)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The card's form: per target and document, one line of category counts per true label."""
        return {
            "method": "Bayesian adjusted classify-and-count over prediction categories, per target",
            "classes": list(CLASSES),
            "categories": [
                f"{label} (p {'>=' if sure else '<'} {self.confident})" for label in CLASSES for sure in (0, 1)
            ],
            "confident": self.confident,
            "counts": "per target and document, per true label (classes), how many rows fell in each category",
            "targets": _errors_to_dict(self.targets),
            "held_out": {
                "fold_of": dict(sorted(self.fold_of.items())),
                "folds": [_errors_to_dict(errors) for errors in self.held_out],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, draws: int, seed: int) -> Correction:
        """The correction of a model card, estimated with ``draws`` resamples seeded by ``seed``."""
        held_out = data.get("held_out", {})
        return cls(
            targets=_errors_from_dict(data["targets"]),
            held_out=tuple(_errors_from_dict(fold) for fold in held_out.get("folds", [])),
            fold_of={str(d): int(k) for d, k in held_out.get("fold_of", {}).items()},
            confident=float(data["confident"]),
            draws=draws,
            seed=seed,
        )


def _without(errors: TargetErrors, document: str | None) -> TargetErrors:
    """``errors`` without one document's counts."""
    if document is None or document not in errors.documents:
        return errors
    keep = [k for k, name in enumerate(errors.documents) if name != document]
    return TargetErrors(tuple(errors.documents[k] for k in keep), errors.counts[keep])


def _errors_to_dict(errors: Errors) -> dict[str, dict[str, list[str]]]:
    return {
        name: {
            document: [" ".join(str(int(v)) for v in row) for row in counts]
            for document, counts in zip(value.documents, value.counts, strict=True)
        }
        for name, value in sorted(errors.items())
    }


def _errors_from_dict(data: dict[str, dict[str, list[str]]]) -> Errors:
    return {
        name: TargetErrors(
            tuple(documents),
            np.array([[[float(v) for v in row.split()] for row in rows] for rows in documents.values()]).reshape(
                len(documents), len(CLASSES), N_CATEGORIES
            ),
        )
        for name, documents in data.items()
    }


def count_errors(
    probabilities: np.ndarray,
    gold: Sequence[str],
    documents: Sequence[str],
    targets: Sequence[str],
    *,
    confident: float = CONFIDENT,
) -> Errors:
    """Confusion counts (true label x prediction category) per target and document, and pooled over targets, of
    cross-fitted class probabilities of labelled rows (those the classifier judges)."""
    codes = class_codes(gold)
    categories = prediction_categories(probabilities, confident=confident)
    documents_array = np.asarray(documents, dtype=object)
    targets_array = np.asarray(targets, dtype=object)
    measured: Errors = {}
    for name in [*sorted(set(targets)), POOLED]:
        rows = np.ones(len(codes), dtype=bool) if name == POOLED else targets_array == name
        names = sorted(set(documents_array[rows]))
        index = {d: k for k, d in enumerate(names)}
        counts = np.zeros((len(names), len(CLASSES), N_CATEGORIES))
        rows_of = np.array([index[d] for d in documents_array[rows]], dtype=np.int64)
        np.add.at(counts, (rows_of, codes[rows], categories[rows]), 1)
        measured[name] = TargetErrors(tuple(names), counts)
    return measured


def measure_errors(
    probabilities: np.ndarray,
    gold: Sequence[str],
    documents: Sequence[str],
    targets: Sequence[str],
    *,
    confident: float = CONFIDENT,
    draws: int,
    seed: int,
) -> Correction:
    """The correction from cross-fitted class probabilities of labelled rows: ``count_errors`` and nothing held out
    per fold (every document corrected by the others' counts)."""
    errors = count_errors(probabilities, gold, documents, targets, confident=confident)
    return Correction(targets=errors, confident=confident, draws=draws, seed=seed)


# ---------------------------------------------------------------------------------------------------- one group


@dataclass(frozen=True)
class GroupEstimate:
    """A group's stance index with its 95% interval and the shares of each label among the referring sentences."""

    stance_index: float
    index_ci_low: float
    index_ci_high: float
    share_pro: float
    share_anti: float
    share_neutral: float
    n_reviewed: int

    def as_row(self) -> dict[str, Any]:
        return {
            "stance_index": _rounded(self.stance_index),
            "index_ci_low": _rounded(self.index_ci_low),
            "index_ci_high": _rounded(self.index_ci_high),
            "share_pro": _rounded(self.share_pro),
            "share_anti": _rounded(self.share_anti),
            "share_neutral": _rounded(self.share_neutral),
            "n_reviewed": self.n_reviewed,
        }


def _rounded(value: float) -> float:
    return round(float(value), 4) if np.isfinite(value) else float("nan")


def nothing(n_reviewed: int = 0) -> GroupEstimate:
    """The estimate of a group without sentences that refer to the target."""
    return GroupEstimate(*(float("nan"),) * 6, n_reviewed=n_reviewed)


def group_seed(seed: int, key: Sequence[object]) -> np.random.Generator:
    """A generator for one group, from the config's seed and the group's key: a group's interval does not depend on
    which other groups the corpus has."""
    return np.random.default_rng([seed, zlib.crc32(repr(tuple(map(str, key))).encode())])


def index_of(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stance index and referring total from counts (or expected counts) per class, last axis in CLASSES order."""
    referring = counts[..., NEUTRAL] + counts[..., PRO] + counts[..., ANTI]
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(referring > 0, (counts[..., PRO] - counts[..., ANTI]) / referring, np.nan)
    return index, referring


def document_spread(counts: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Per true label, the concentration of a document's confusion row around the measured ``confusion`` row: the
    maximum-likelihood Dirichlet-multinomial concentration over the labelled documents' ``counts`` (documents x
    classes x categories). Small when documents differ in how the classifier errs on that label; large (the upper
    bound, 10,000) when they agree or too few documents have the label to tell."""
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    spread = np.full(len(CLASSES), 1e4)
    for label in range(len(CLASSES)):
        rows = counts[:, label, :]
        rows = rows[rows.sum(axis=1) > 0]
        if len(rows) < 2:
            continue
        mean = confusion[label]
        sizes = rows.sum(axis=1)

        def negative_log_likelihood(
            log_concentration: float, rows: np.ndarray = rows, mean: np.ndarray = mean, sizes: np.ndarray = sizes
        ) -> float:
            k = np.exp(log_concentration)
            value = gammaln(k) - gammaln(k + sizes) + (gammaln(k * mean + rows) - gammaln(k * mean)).sum(axis=1)
            return -float(value.sum())

        found = minimize_scalar(negative_log_likelihood, bounds=(np.log(0.5), np.log(1e4)), method="bounded")
        spread[label] = float(np.exp(found.x))
    return spread


def label_draws(
    categories: np.ndarray,
    known: np.ndarray,
    model: TargetModel,
    *,
    samples: int,
    rng: np.random.Generator,
    known_categories: np.ndarray | None = None,
) -> np.ndarray:
    """Draws (samples x classes) of a group's label counts: ``categories`` counts the unreviewed sentences per
    prediction category, ``known`` the reviewed ones per label.

    Gibbs sampling of three unknowns: the group's mix of labels (Dirichlet, prior ``model.prior``); the group's own
    confusion (each row Dirichlet around the measured row of one resample of the labelled documents, concentration
    ``model.spread``: documents differ in how the classifier errs); and how many sentences of each category carry
    each label (multinomial, from the mix and the group's confusion). ``CHAINS`` chains start from the prior mix;
    ``BURN_IN`` sweeps are discarded. Reviewed sentences count in the mix with their labels, and in the group's own
    confusion with the categories the classifier gave them (``known_categories``, classes x categories): reading some
    of a group's sentences shows how the classifier errs on the rest."""
    present = np.flatnonzero(categories)
    keep = -(-samples // CHAINS)
    if len(present) == 0:
        return np.broadcast_to(known.astype(float), (samples, len(CLASSES))).copy()
    m = np.broadcast_to(categories[present], (CHAINS, len(present)))
    measured = model.confusion[rng.integers(0, len(model.confusion), CHAINS)]  # chains x classes x categories
    concentration = model.spread[None, :, None] * measured
    gamma = rng.gamma(concentration if known_categories is None else concentration + known_categories)
    own = gamma / gamma.sum(axis=2, keepdims=True)
    mix = np.broadcast_to(model.prior / model.prior.sum(), (CHAINS, len(CLASSES)))
    kept = []
    for sweep in range(BURN_IN + keep):
        weights = mix[:, :, None] * own[:, :, present]  # chains x classes x present categories
        per_category = np.moveaxis(weights / weights.sum(axis=1, keepdims=True), 1, 2)
        split = rng.multinomial(m, per_category)  # chains x present categories x classes
        counts = split.sum(axis=1) + known
        gamma = rng.gamma(model.prior + counts)
        mix = gamma / gamma.sum(axis=1, keepdims=True)
        seen = (
            np.zeros_like(concentration)
            if known_categories is None
            else np.repeat(known_categories[None].astype(float), CHAINS, axis=0)
        )
        seen[:, :, present] += np.moveaxis(split, 1, 2)
        gamma = rng.gamma(concentration + seen)
        own = gamma / gamma.sum(axis=2, keepdims=True)
        if sweep >= BURN_IN:
            kept.append(counts)
    return np.concatenate(kept)[:samples].astype(float)


def estimate_group(
    categories: np.ndarray,
    known: np.ndarray,
    model: TargetModel | None,
    *,
    samples: int,
    rng: np.random.Generator,
    known_categories: np.ndarray | None = None,
) -> GroupEstimate:
    """The stance index of one group from its unreviewed sentences' prediction categories (counts per category) and
    its reviewed ones (counts per label; ``known_categories``: per label, the categories the classifier gave them).
    Without a ``model`` (a method whose errors are not measured) a predicted label counts as the true one."""
    n_reviewed = int(known.sum())
    if model is None:
        fixed = known + categories.reshape(len(CLASSES), 2).sum(axis=1)
        draws = np.broadcast_to(fixed.astype(float), (samples, len(CLASSES)))
    else:
        draws = label_draws(categories, known, model, samples=samples, rng=rng, known_categories=known_categories)
    mean = draws.mean(axis=0)
    index, referring = index_of(mean)
    if not referring > 0:
        return nothing(n_reviewed)
    # the sampling of the group's sentences: each draw of the labels resampled, as a bootstrap of the sentences would
    resampled = rng.multinomial(int(round(draws[0].sum())), draws / draws.sum(axis=1, keepdims=True)).astype(float)
    replicates, _ = index_of(resampled)
    replicates = replicates[np.isfinite(replicates)]
    low, high = np.percentile(replicates, [2.5, 97.5]) if len(replicates) else (np.nan, np.nan)
    return GroupEstimate(
        stance_index=float(index),
        index_ci_low=float(low),
        index_ci_high=float(high),
        share_pro=float(mean[PRO] / referring),
        share_anti=float(mean[ANTI] / referring),
        share_neutral=float(mean[NEUTRAL] / referring),
        n_reviewed=n_reviewed,
    )
