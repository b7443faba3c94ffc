"""Training and scoring on the labelled sentences: what ``train-stance`` and ``evaluate-stance`` compute."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipeline.core.artifacts import Layout, read_table, sha256_file
from pipeline.core.config import EntitiesConfig, IngestConfig, ParseConfig, StanceConfig, load_config
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.core.runner import progress
from pipeline.stance.context import StanceContext, context_without_model
from pipeline.stance.wiring import read_stance_reviews

if TYPE_CHECKING:
    from pipeline.stance.learned import StanceBundle


def labelled_features(
    labels: list[Path],
    configs: Path,
    sources: list[Path],
    feature_design: str | None = None,
    *,
    reviews: Path | None = None,
) -> tuple[pd.DataFrame, StanceContext]:
    """The labelled rows analysed as the stance stage analyses sentences, and the stance context; with ``reviews``,
    the reviewed rows join the label files' (a review replaces a label file's row of the same sentence and target)."""
    from pipeline.entities.stage import ActorTagger
    from pipeline.parse.nlp import load_model
    from pipeline.stance.review import reviews_as_labels, sentence_key
    from pipeline.stance.training import featurize_labels, index_sources, read_labels

    context = context_without_model(configs, feature_design)
    config = context.config
    frame = read_labels(labels, [t.name for t in config.targets])
    read, warnings = read_stance_reviews(reviews, config)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if read:
        reviewed = reviews_as_labels(read)
        keys = set(zip(reviewed["doc_id"], reviewed["sentence"].map(sentence_key), reviewed["target"], strict=True))
        own = [
            key not in keys
            for key in zip(frame["doc_id"], frame["sentence"].map(sentence_key), frame["target"], strict=True)
        ]
        frame = pd.concat([frame[own], reviewed], ignore_index=True)
    nlp = load_model(load_config(ParseConfig, configs).model)
    tagger = ActorTagger(nlp, context.gazetteer, load_config(EntitiesConfig, configs))
    index = index_sources(sources, set(frame["doc_id"]), load_config(IngestConfig, configs), context.gazetteer)
    features = featurize_labels(
        frame,
        nlp=nlp,
        tagger=tagger,
        sources=index,
        config=config,
        gazetteer=context.gazetteer,
        lexicon=context.lexicon,
    )
    return features, context


GUIDELINE = Path("docs") / "stance-guideline.md"


DEFAULT_SOURCES = [Path("texts"), Path("data") / "corpus" / "dev", Path("data") / "corpus" / "extra"]


def held_out_subsets(features: pd.DataFrame) -> dict[str, pd.Series]:
    section_folded = features["fold"].str.contains("#s", regex=False)
    return {"held-out dev documents": ~section_folded, "chapter, cross-fitted": section_folded}


def train_and_score(
    labels: list[Path],
    configs: Path,
    sources: list[Path],
    feature_design: str | None = None,
    *,
    reviews: Path | None = None,
) -> tuple[StanceBundle, dict[str, Any]]:
    """Train the bundle and score both methods cross-fitted on the same labelled rows (the label files' and, with
    ``reviews``, the reviewed ones); measure the learned method's errors for correcting its aggregates. Returns the
    bundle and the card's report."""
    from pipeline.stance.correction import measured_correction
    from pipeline.stance.review import review_files
    from pipeline.stance.training import cross_fitted_predictions, evaluate, labels_hash, model_params, train

    features, context = labelled_features(labels, configs, sources, feature_design, reviews=reviews)
    n_reviewed = len(read_stance_reviews(reviews, context.config)[0])
    guideline = sha256_file(GUIDELINE) if GUIDELINE.exists() else ""
    read = [*labels, *(review_files(reviews) if reviews is not None else [])]
    bundle = train(features, config=context.config, training_hash=labels_hash(read), guideline_sha256=guideline)
    predictions = {method: cross_fitted_predictions(features, bundle, method) for method in ("learned", "rules")}
    scores = {
        method: evaluate(features, predicted, subsets=held_out_subsets(features))
        for method, predicted in predictions.items()
    }
    config = context.config
    correction = measured_correction(
        features, params=model_params(config), draws=config.correction_draws, seed=config.seed
    )
    return (
        bundle,
        {
            "scores": scores,
            "n_rows": len(features),
            "n_sentences": int(features["sentence"].nunique()),
            "n_documents": int(features["doc_id"].nunique()),
            "n_reviewed_rows": n_reviewed,
            "correction": correction.to_dict(),
        },
    )


def learning_curve_report(
    labels: list[Path], configs: Path, fractions: list[float], repeats: int, feature_design: str | None = None
) -> pd.DataFrame:
    """The learned method's held-out scores when trained on shares of the labelled documents."""
    from pipeline.stance.training import learning_curve

    bad = [f for f in fractions if not 0 < f <= 1]
    if bad or repeats < 1:
        raise ConfigError(f"--fractions must lie in (0, 1] and --repeats be at least 1 (got {bad or repeats})")
    features, context = labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    return learning_curve(
        features,
        config=context.config,
        subsets=held_out_subsets(features),
        fractions=sorted(fractions),
        repeats=repeats,
    )


def validate_aggregates(
    labels: list[Path], configs: Path, feature_design: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stance index's estimators validated held out by document on the labelled documents: per (group, target)
    the estimates beside the labelled index, and the summary per estimator (``stance_correction``)."""
    from pipeline.stance.correction import held_out_probabilities, summarise, validate
    from pipeline.stance.training import model_params

    features, context = labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    config = context.config
    held_out = held_out_probabilities(
        features, params=model_params(config), progress=lambda done, total: progress("aggregates", done, total)
    )
    groups = validate(
        features, held_out, samples=config.bootstrap_samples, draws=config.correction_draws, seed=config.seed
    )
    return groups, summarise(groups)


def target_transfer_report(labels: list[Path], configs: Path, feature_design: str | None = None) -> dict[str, Any]:
    """The learned method's scores per target when trained without any label of that target (and held out by
    document and chapter section, as the cross-fitted scores)."""
    from pipeline.stance.training import evaluate, target_transfer_predictions

    features, context = labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    predictions = target_transfer_predictions(features, config=context.config)
    return evaluate(features, predictions, subsets=held_out_subsets(features))


def evaluate_artifact(labels: list[Path], layout: Layout, configs: Path) -> dict[str, Any]:
    """Score the ``stance`` artifact of an output folder against labels, matching sentences by their text."""
    from pipeline.stance.training import evaluate, normalise, read_labels

    config = load_config(StanceConfig, configs)
    gold = read_labels(labels, [t.name for t in config.targets])
    stance = read_table(layout.table("stance"), name="stance")
    stance = stance[stance["doc_id"].isin(set(gold["doc_id"]))]
    index: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for row in stance[["doc_id", "sentence_id", "text"]].drop_duplicates().itertuples():
        index.setdefault((str(row.doc_id), ""), []).append((normalise(str(row.text)), int(row.sentence_id)))
    lookup = stance.set_index(["doc_id", "sentence_id", "target"])["label"]
    rows = []
    for row in gold.itertuples():
        key = normalise(str(row.sentence))
        candidates = index.get((str(row.doc_id), ""), [])
        match = next((sid for text, sid in candidates if key and (key in text or text in key)), None)
        if match is None:
            continue
        rows.append({"gold": row.label, "target": row.target, "predicted": lookup.get((row.doc_id, match, row.target))})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise PipelineError(f"no labelled sentence of {', '.join(map(str, labels))} was found in {layout.out}")
    predictions = pd.DataFrame({"label": frame["predicted"].fillna("none")}, index=frame.index)
    return evaluate(frame, predictions, subsets={f"matched {len(frame)}/{len(gold)} labels": frame["gold"].notna()})
