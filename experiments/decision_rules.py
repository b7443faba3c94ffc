"""Can the decision, rather than the features, stop neutral sentences drifting to ``anti``? (issue 16, item 2)

The shipped classifier (``configs/stance.yaml``: logistic regression over TF-IDF words, the rules' signals and
frozen int8 MiniLM vectors, classes weighted ``balanced``) is compared with decision rules chosen by
cross-validation inside the training documents only, never on the held-out ones:

- ``balanced``: the shipped model (its class weights make every class count as much as the others);
- ``unweighted``: the same model without class weights;
- ``weights-cv``: balanced or unweighted, whichever scores higher in the inner cross-validation;
- ``balanced+offsets-cv``: the shipped model with per-class offsets added to its log-probabilities (neutral, pro and
  anti, each from -1.0 to 1.0 in steps of 0.25; ``none`` fixed at 0), the combination that scores highest in the
  inner cross-validation;
- ``two-stage``: first none / neutral / stanced, then pro against anti for the stanced (both balanced); a row's
  probabilities are the first model's, the stanced share split by the second;
- ``two-stage+offsets-cv``: the same with offsets chosen as above.

Outer folds: 5 grouped folds of the project's fold keys (a dev document, a chapter section), as in
``finetune_encoder.py``; inner folds: 4 grouped folds of the outer training rows. Scores come from
``pipeline.stance.training.evaluate`` (macro-F1 over pro/anti/neutral, ``none`` a miss).

    .venv/bin/python experiments/decision_rules.py --out decision_rules.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from finetune_encoder import as_predictions, grouped_folds, labelled_features, subsets, summary  # noqa: E402

from pipeline.stance.learned import CLASSES, StanceClassifier  # noqa: E402
from pipeline.stance.training import evaluate, model_params, score  # noqa: E402

OFFSETS = np.arange(-1.0, 1.01, 0.25)
STANCED = ("pro", "anti")


class WeightedClassifier(StanceClassifier):
    """The shipped classifier with another class weighting of its logistic regression (None: unweighted)."""

    class_weight: str | None = "balanced"

    def _pipeline(self) -> Any:
        pipeline = super()._pipeline()
        pipeline.set_params(classifier__class_weight=self.class_weight)
        return pipeline


def flat_probabilities(train: pd.DataFrame, test: pd.DataFrame, params: dict[str, Any], weight: str | None) -> Any:
    model = WeightedClassifier(**params)
    model.class_weight = weight
    model.fit(train, train["gold"])
    return aligned(model, model.predict_proba(test))


def aligned(model: StanceClassifier, proba: np.ndarray, classes: tuple[str, ...] = CLASSES) -> np.ndarray:
    out = np.zeros((len(proba), len(classes)))
    known = list(model.classes_)
    for k, name in enumerate(classes):
        if name in known:
            out[:, k] = proba[:, known.index(name)]
    return out


def two_stage_probabilities(train: pd.DataFrame, test: pd.DataFrame, params: dict[str, Any]) -> np.ndarray:
    """none / neutral / stanced, then pro or anti among the stanced."""
    first = train["gold"].where(~train["gold"].isin(STANCED), "stanced")
    gate = StanceClassifier(**params).fit(train, first)
    p_gate = aligned(gate, gate.predict_proba(test), ("none", "neutral", "stanced"))
    stanced = train[train["gold"].isin(STANCED)]
    side = StanceClassifier(**params).fit(stanced, stanced["gold"])
    p_side = aligned(side, side.predict_proba(test), STANCED)
    out = np.zeros((len(test), len(CLASSES)))
    out[:, CLASSES.index("none")] = p_gate[:, 0]
    out[:, CLASSES.index("neutral")] = p_gate[:, 1]
    out[:, CLASSES.index("pro")] = p_gate[:, 2] * p_side[:, 0]
    out[:, CLASSES.index("anti")] = p_gate[:, 2] * p_side[:, 1]
    return out


def decide(probabilities: np.ndarray, offsets: np.ndarray) -> list[str]:
    logs = np.log(np.clip(probabilities, 1e-12, None)) + offsets
    return [CLASSES[k] for k in logs.argmax(axis=1)]


def best_offsets(probabilities: np.ndarray, gold: list[str]) -> np.ndarray:
    """The offsets (none fixed at 0) whose decisions score the highest macro-F1 on these out-of-fold rows; ties go
    to the smallest total shift."""
    best, best_key = np.zeros(len(CLASSES)), (-1.0, 0.0)
    for shift in itertools.product(OFFSETS, repeat=len(CLASSES) - 1):
        offsets = np.array([0.0, *shift])
        key = (score(gold, decide(probabilities, offsets))["macro_f1"], -float(np.abs(offsets).sum()))
        if key > best_key:
            best, best_key = offsets, key
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--inner-folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--features", type=Path, help="cache of the analysed labelled rows (pickle; made if absent)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.features = args.features.resolve() if args.features else None
    os.chdir(ROOT)
    began = time.perf_counter()

    features, config = labelled_features(args.features)
    rows = features[features["mentioned"].to_numpy(dtype=bool)]
    params = model_params(config)
    parts = grouped_folds(rows, args.folds, args.seed)
    print(f"{len(features)} labelled rows, {len(rows)} with a detected target, {rows['fold'].nunique()} fold keys")

    names = ("balanced", "unweighted", "weights-cv", "balanced+offsets-cv", "two-stage", "two-stage+offsets-cv")
    labels = {name: np.empty(len(rows), dtype=object) for name in names}
    probabilities = {name: np.zeros((len(rows), len(CLASSES))) for name in ("balanced", "unweighted", "two-stage")}
    chosen: list[dict[str, Any]] = []
    for k, test in enumerate(parts):
        keep = np.ones(len(rows), dtype=bool)
        keep[test] = False
        train, held = rows[keep], rows.iloc[test]
        # out-of-fold probabilities of the training rows, from inner folds of the training documents
        inner = {name: np.zeros((len(train), len(CLASSES))) for name in probabilities}
        for inner_test in grouped_folds(train, args.inner_folds, args.seed + k):
            inner_keep = np.ones(len(train), dtype=bool)
            inner_keep[inner_test] = False
            fit, check = train[inner_keep], train.iloc[inner_test]
            inner["balanced"][inner_test] = flat_probabilities(fit, check, params, "balanced")
            inner["unweighted"][inner_test] = flat_probabilities(fit, check, params, None)
            inner["two-stage"][inner_test] = two_stage_probabilities(fit, check, params)
        gold = train["gold"].tolist()
        inner_f1 = {name: score(gold, decide(p, np.zeros(len(CLASSES))))["macro_f1"] for name, p in inner.items()}
        weight = "balanced" if inner_f1["balanced"] >= inner_f1["unweighted"] else "unweighted"
        offsets = {name: best_offsets(inner[name], gold) for name in ("balanced", "two-stage")}
        # the outer models, fitted on all training rows, predict the held-out fold
        outer = {
            "balanced": flat_probabilities(train, held, params, "balanced"),
            "unweighted": flat_probabilities(train, held, params, None),
            "two-stage": two_stage_probabilities(train, held, params),
        }
        for name, p in outer.items():
            probabilities[name][test] = p
            labels[name][test] = decide(p, np.zeros(len(CLASSES)))
        labels["weights-cv"][test] = labels[weight][test]
        labels["balanced+offsets-cv"][test] = decide(outer["balanced"], offsets["balanced"])
        labels["two-stage+offsets-cv"][test] = decide(outer["two-stage"], offsets["two-stage"])
        chosen.append(
            {
                "fold": k,
                "inner_macro_f1": inner_f1,
                "weights": weight,
                "offsets": {n: dict(zip(CLASSES, o.tolist(), strict=True)) for n, o in offsets.items()},
            }
        )
        print(f"fold {k}: inner {inner_f1}, weights {weight}, offsets {chosen[-1]['offsets']}", flush=True)

    parts_of = subsets(features)
    results: dict[str, Any] = {}
    for name in names:
        predictions = as_predictions(features, rows, np.zeros((len(rows), len(CLASSES))))
        predictions.loc[rows.index, "label"] = labels[name]
        results[name] = summary(evaluate(features, predictions, subsets=parts_of))
    lines = ["| decision | dev R+U | chapter R+U | dev pro/anti/neutral F1 | chapter pro/anti/neutral F1 |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for name, s in results.items():
        dev, chapter = s["dev"], s["chapter"]
        dev_f1 = "/".join(f"{dev['russia+ukraine_f1'][x]:.2f}" for x in ("pro", "anti", "neutral"))
        chapter_f1 = "/".join(f"{chapter['russia+ukraine_f1'][x]:.2f}" for x in ("pro", "anti", "neutral"))
        lines.append(
            f"| {name} | {dev['russia+ukraine_macro_f1']:.3f} | {chapter['russia+ukraine_macro_f1']:.3f}"
            f" | {dev_f1} | {chapter_f1} |"
        )
    print("\n".join(lines))
    seconds = round(time.perf_counter() - began, 1)
    args.out.write_text(
        json.dumps({"results": results, "chosen": chosen, "seconds": seconds, "folds": args.folds}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"{seconds} s; written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
