"""The corrected stance index on synthetic predictions whose errors are known: it recovers the truth within its
interval where counting the predicted labels does not, its intervals cover the truth of most groups, and reviewed
sentences count as known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.stance.estimates import (
    ANTI,
    CLASSES,
    N_CATEGORIES,
    NEUTRAL,
    PRO,
    Correction,
    TargetErrors,
    document_spread,
    estimate_group,
    group_seed,
    index_of,
    measure_errors,
    prediction_categories,
)

# P(prediction category | true label), rows none/neutral/pro/anti, columns (label, unsure/sure) in CLASSES order: a
# classifier that often calls pro sentences neutral and calls some neutral ones anti, as the real one does.
CONFUSION = np.array(
    [
        [0.30, 0.50, 0.10, 0.05, 0.02, 0.01, 0.01, 0.01],
        [0.01, 0.01, 0.25, 0.40, 0.08, 0.05, 0.12, 0.08],
        [0.01, 0.00, 0.25, 0.20, 0.14, 0.30, 0.06, 0.04],
        [0.01, 0.00, 0.06, 0.04, 0.04, 0.02, 0.23, 0.60],
    ]
)


def probabilities_for(categories: np.ndarray) -> np.ndarray:
    """Class probabilities that fall in the given prediction categories (label, and sure at 0.8 or unsure at 0.45)."""
    label, sure = categories // 2, categories % 2
    top = np.where(sure == 1, 0.8, 0.45)
    probabilities = np.repeat(((1 - top) / 3)[:, None], len(CLASSES), axis=1)
    probabilities[np.arange(len(categories)), label] = top
    return probabilities


def predicted(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prediction categories of sentences with these true labels, drawn from the known confusion."""
    cumulative = CONFUSION[truth].cumsum(axis=1)
    return np.minimum((rng.random((len(truth), 1)) > cumulative).sum(axis=1), N_CATEGORIES - 1)


@pytest.fixture(scope="module")
def correction() -> Correction:
    """The errors measured on 30 labelled documents of 40 sentences, each with its own mix of labels."""
    rng = np.random.default_rng(1)
    truth, documents = [], []
    for k in range(30):
        truth.extend(rng.choice(len(CLASSES), size=40, p=rng.dirichlet([0.3, 4.0, 2.0, 1.5])))
        documents.extend([f"doc{k}"] * 40)
    truth_array = np.array(truth)
    probabilities = probabilities_for(predicted(truth_array, rng))
    gold = [CLASSES[t] for t in truth_array]
    return measure_errors(probabilities, gold, documents, ["russia"] * len(gold), draws=200, seed=2)


def group(shares: dict[int, float], n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The prediction-category counts of a group of ``n`` sentences with exactly these shares, and its true index."""
    truth = np.concatenate([np.full(round(share * n), k) for k, share in shares.items()])
    counts = np.bincount(truth, minlength=len(CLASSES)).astype(float)
    return np.bincount(predicted(truth, rng), minlength=N_CATEGORIES), float(index_of(counts)[0])


def no_reviews() -> np.ndarray:
    return np.zeros(len(CLASSES), dtype=np.int64)


def test_prediction_categories_are_the_label_and_whether_it_is_sure():
    probabilities = np.array([[0.1, 0.5, 0.3, 0.1], [0.05, 0.05, 0.1, 0.8], [0.7, 0.1, 0.1, 0.1]])
    assert prediction_categories(probabilities, confident=0.6).tolist() == [2, 7, 1]
    categories = np.arange(N_CATEGORIES)
    assert prediction_categories(probabilities_for(categories), confident=0.6).tolist() == categories.tolist()


def test_measured_confusion_is_the_known_one(correction):
    measured = correction.model("russia").confusion.mean(axis=0)
    assert np.abs(measured[NEUTRAL:] - CONFUSION[NEUTRAL:]).max() < 0.1  # some 300 to 600 rows per label


def test_corrected_index_recovers_a_known_truth_within_its_interval(correction):
    rng = np.random.default_rng(5)
    categories, truth = group({PRO: 0.6, ANTI: 0.1, NEUTRAL: 0.3}, 150, rng)
    estimate = estimate_group(categories, no_reviews(), correction.model("russia"), samples=1000, rng=rng)
    assert truth == pytest.approx(0.5)
    assert estimate.index_ci_low <= truth <= estimate.index_ci_high
    assert abs(estimate.stance_index - truth) < 0.1
    assert estimate.share_pro == pytest.approx(0.6, abs=0.1) and estimate.share_anti == pytest.approx(0.1, abs=0.1)
    counted = categories.reshape(len(CLASSES), 2).sum(axis=1).astype(float)
    assert abs(index_of(counted)[0] - truth) > 0.25, "counting the predicted labels is far off"
    naive = estimate_group(categories, no_reviews(), None, samples=1000, rng=rng)
    assert naive.stance_index == pytest.approx(float(index_of(counted)[0]))
    assert not naive.index_ci_low <= truth <= naive.index_ci_high, "and its sampling-only interval misses the truth"


def test_corrected_intervals_cover_the_truth_of_most_groups(correction):
    """Over groups of different sizes and mixes the 95% intervals contain the true index nearly always."""
    rng = np.random.default_rng(6)
    covered = []
    while len(covered) < 80:
        n = int(rng.integers(3, 60))
        truth = rng.choice(len(CLASSES), size=n, p=rng.dirichlet([0.3, 2.0, 1.5, 1.5]))
        counts = np.bincount(truth, minlength=len(CLASSES)).astype(float)
        if counts[NEUTRAL] + counts[PRO] + counts[ANTI] < 3:
            continue
        categories = np.bincount(predicted(truth, rng), minlength=N_CATEGORIES)
        estimate = estimate_group(categories, no_reviews(), correction.model("russia"), samples=1000, rng=rng)
        true_index = float(index_of(counts)[0])
        covered.append(estimate.index_ci_low - 1e-9 <= true_index <= estimate.index_ci_high + 1e-9)
    assert np.mean(covered) >= 0.9


def test_a_fully_reviewed_group_has_its_exact_index_and_no_classifier_error(correction):
    rng = np.random.default_rng(7)
    known = np.array([0, 10, 20, 10])
    categories = np.zeros(N_CATEGORIES, dtype=np.int64)
    full = estimate_group(categories, known, correction.model("russia"), samples=1000, rng=group_seed(1, ("g",)))
    assert full.stance_index == pytest.approx(0.25) and full.share_anti == pytest.approx(0.25)
    assert full.n_reviewed == 40
    # the correction no longer matters: the interval is the bootstrap of the sentences alone
    uncorrected = estimate_group(categories, known, None, samples=1000, rng=group_seed(1, ("g",)))
    assert (uncorrected.index_ci_low, uncorrected.index_ci_high) == (full.index_ci_low, full.index_ci_high)
    assert full.index_ci_low < 0.25 < full.index_ci_high
    partly = estimate_group(
        np.array([0, 0, 3, 3, 0, 0, 1, 3]), known, correction.model("russia"), samples=1000, rng=rng
    )
    assert partly.n_reviewed == 40 and partly.stance_index != full.stance_index


def test_reviewed_none_leaves_the_referring_sentences():
    estimate = estimate_group(
        np.zeros(N_CATEGORIES, dtype=np.int64), np.array([5, 1, 2, 1]), None, samples=200, rng=np.random.default_rng(8)
    )
    assert estimate.stance_index == pytest.approx(0.25)
    assert estimate.share_neutral == pytest.approx(0.25)


def test_a_group_without_referring_sentences_has_no_index(correction):
    for model in (None, correction.model("russia")):
        estimate = estimate_group(
            np.zeros(N_CATEGORIES, dtype=np.int64),
            np.array([2, 0, 0, 0]),
            model,
            samples=50,
            rng=np.random.default_rng(9),
        )
        assert np.isnan(estimate.stance_index) and np.isnan(estimate.index_ci_low) and estimate.n_reviewed == 2


def test_the_correction_round_trips_through_the_model_card(correction):
    again = Correction.from_dict(correction.to_dict(), draws=200, seed=2)
    assert np.array_equal(again.model("russia").confusion, correction.model("russia").confusion)
    assert np.array_equal(again.model("russia").prior, correction.model("russia").prior)


def test_a_labelled_document_is_corrected_by_the_errors_of_the_others(correction):
    errors = correction.targets["russia"]
    held_out = correction.model("russia", document="doc3")
    assert not np.array_equal(held_out.confusion, correction.model("russia").confusion)
    total = errors.counts[[k for k, d in enumerate(errors.documents) if d != "doc3"]].sum(axis=(0, 2))
    assert np.allclose(held_out.prior / held_out.prior.sum(), (total + 2) / (total + 2).sum())
    assert correction.model("russia", document="not labelled") is correction.model("russia")
    assert correction.model("ukraine") is correction.model("anything else"), "no labels: the pooled errors"


def test_a_labelled_document_of_a_fold_is_corrected_by_that_folds_errors(correction):
    """The held-out counts of a labelled document's fold are used, its own rows left out."""
    errors = correction.targets["russia"]
    doubled = TargetErrors(errors.documents, 2 * errors.counts)
    folded = dataclasses.replace(
        correction, held_out=({"russia": doubled, "*": doubled},), fold_of={"doc3": 0}, _models={}
    )
    again = Correction.from_dict(folded.to_dict(), draws=200, seed=2)
    assert again.fold_of == {"doc3": 0} and np.array_equal(again.held_out[0]["russia"].counts, doubled.counts)
    own = [k for k, d in enumerate(errors.documents) if d != "doc3"]
    expected = again._prepare(TargetErrors(tuple(errors.documents[k] for k in own), doubled.counts[own]), "russia")
    assert np.array_equal(again.model("russia", document="doc3").confusion, expected.confusion)
    other = correction.model("russia", document="doc4").confusion
    assert np.array_equal(again.model("russia", document="doc4").confusion, other), "doc4 is in no fold"


def test_documents_that_err_alike_have_a_tight_spread_and_those_that_differ_a_loose_one():
    rng = np.random.default_rng(11)
    alike, unlike = [], []
    for k in range(20):
        truth = rng.choice(len(CLASSES), size=60, p=[0.05, 0.5, 0.3, 0.15])
        alike.append(np.bincount(predicted(truth, rng), minlength=N_CATEGORIES))
        flipped = predicted(truth, rng) if k % 2 else np.full(60, 7)  # every other document: all called anti
        unlike.append(np.bincount(flipped, minlength=N_CATEGORIES))
    spreads = []
    for counts in (alike, unlike):
        by_document = np.zeros((20, len(CLASSES), N_CATEGORIES))
        by_document[:, NEUTRAL, :] = counts
        mean = (by_document.sum(axis=0) + 2) / (by_document.sum(axis=0) + 2).sum(axis=1, keepdims=True)
        spreads.append(document_spread(by_document, mean)[NEUTRAL])
    assert spreads[0] > 100 and spreads[1] < 5


def test_reviewing_some_sentences_teaches_the_group_how_the_classifier_errs(correction):
    """A group where the classifier calls pro sentences anti: knowing a few of them moves the rest toward pro."""
    rng = np.random.default_rng(12)
    categories = np.zeros(N_CATEGORIES, dtype=np.int64)
    categories[7] = 20  # 20 sentences called anti, sure
    model = correction.model("russia")
    before = estimate_group(categories, no_reviews(), model, samples=1000, rng=rng)
    pairs = np.zeros((len(CLASSES), N_CATEGORIES), dtype=np.int64)
    pairs[PRO, 7] = 5  # five more, called anti, read as pro
    after = estimate_group(categories, np.array([0, 0, 5, 0]), model, samples=1000, rng=rng, known_categories=pairs)
    assert before.stance_index < -0.5
    assert after.stance_index > before.stance_index + 0.3


def test_group_intervals_do_not_depend_on_other_groups():
    assert group_seed(13, ("d", 1, "russia")).random() == group_seed(13, ("d", 1, "russia")).random()
    assert group_seed(13, ("d", 1, "russia")).random() != group_seed(13, ("d", 2, "russia")).random()


def test_classes_are_the_learned_models_classes():
    from pipeline.stance.learned import CLASSES as LEARNED_CLASSES

    assert CLASSES == LEARNED_CLASSES
