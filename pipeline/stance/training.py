"""Labelled sentences in, a cross-fitted model bundle and honest scores out.

Label files are TSV (``doc_id, sentence, target, label, holder, note``; see ``data/labels/README.md``). Each
labelled sentence is parsed on its own and located in its source document to learn its section, so that chapters
can be cross-fitted by section and every other document by leave-one-document-out.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from pipeline.core.config import IngestConfig, StanceConfig
from pipeline.core.errors import InputError, PipelineError
from pipeline.entities.gazetteer import Gazetteer
from pipeline.entities.stage import ActorTagger, speaker_states
from pipeline.ingest.sources import doc_id_for, list_sources, read_metadata, read_source
from pipeline.ingest.stage import ingest_text
from pipeline.stance.embeddings import encoder_sha256, with_embeddings
from pipeline.stance.features import Lexicon
from pipeline.stance.learned import CLASSES, StanceBundle, StanceClassifier, fold_key, train_bundle
from pipeline.stance.stage import SentenceItem, analyse, predict

LABEL_COLUMNS = ["doc_id", "sentence", "target", "label", "holder", "note"]
YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def read_labels(paths: list[Path], targets: list[str]) -> pd.DataFrame:
    """Read label TSVs; refuse unknown labels; keep the configured targets."""
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError) as exc:
            raise InputError(path, f"cannot read labels ({exc})") from None
        missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(path, f"label file lacks column '{missing[0]}'")
        bad = sorted(set(frame["label"]) - set(CLASSES))
        if bad:
            raise InputError(path, f"unknown label '{bad[0]}' (none, neutral, pro, anti)")
        frame["label_file"] = path.name
        frames.append(frame[[*LABEL_COLUMNS, "label_file"]])
    labels = pd.concat(frames, ignore_index=True)
    return labels[labels["target"].isin(targets)].reset_index(drop=True)


def labels_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceIndex:
    """The labelled documents' paragraphs (normalised) with their section and speaking state."""

    paragraphs: dict[str, list[tuple[str, int, str | None]]]
    n_sections: dict[str, int]

    def locate(self, doc_id: str, sentence: str) -> tuple[int | None, str | None]:
        """(section index, speaker state) of the paragraph holding ``sentence``; (None, None) if not found."""
        key = normalise(sentence)
        for text, section, speaker in self.paragraphs.get(doc_id, []):
            if key and key in text:
                return section, speaker
        return None, None


def index_sources(folders: list[Path], doc_ids: set[str], config: IngestConfig, gazetteer: Gazetteer) -> SourceIndex:
    """Ingest the labelled documents' sources (with their metadata) to know sections and speakers."""
    paragraphs: dict[str, list[tuple[str, int, str | None]]] = {}
    n_sections: dict[str, int] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        metadata = read_metadata(folder)
        for path in list_sources(folder):
            doc_id = doc_id_for(path)
            if doc_id not in doc_ids or doc_id in paragraphs:
                continue
            result = ingest_text(read_source(path).text, doc_id=doc_id, source_name=str(path), config=config)
            texts = [str(t) for t in result.paragraphs["text"]]
            country = gazetteer.state_for_code(metadata.get(path.name, {}).get("country"))
            speakers = speaker_states(texts, gazetteer, country)
            paragraphs[doc_id] = [
                (normalise(t), int(s), sp)
                for t, s, sp in zip(texts, result.paragraphs["section_index"], speakers, strict=True)
            ]
            # a Yearbook chapter (known by its running citation) is one labelled document, so it is cross-fitted
            # by section; any other text is held out whole, however many sections its layout gives it
            n_sections[doc_id] = len(result.sections) if result.document["citation"] else 1
    return SourceIndex(paragraphs, n_sections)


def featurize_labels(
    labels: pd.DataFrame,
    *,
    nlp: Any,
    tagger: ActorTagger,
    sources: SourceIndex,
    config: StanceConfig,
    gazetteer: Gazetteer,
    lexicon: Lexicon,
) -> pd.DataFrame:
    """Parse each labelled sentence, tag its actors, analyse it for every target; join the gold labels."""
    sentences = labels[["doc_id", "sentence"]].drop_duplicates().reset_index(drop=True)
    items = []
    for k, (row, doc) in enumerate(zip(sentences.itertuples(), nlp.pipe(sentences["sentence"]), strict=True)):
        year = YEAR.search(str(row.doc_id))
        section, speaker = sources.locate(str(row.doc_id), str(row.sentence))
        doc._.year = int(year.group(1)) if year else None
        doc._.speaker = speaker
        tagger(doc)
        items.append(SentenceItem(str(row.doc_id), k, section, None, doc[:], list(doc.spans["actors"])))
    features = analyse(items, config=config, gazetteer=gazetteer, lexicon=lexicon)
    features["sentence"] = [sentences.at[int(i), "sentence"] for i in features["sentence_id"]]
    gold = labels.rename(columns={"label": "gold", "holder": "gold_holder"})
    merged = features.merge(
        gold[["doc_id", "sentence", "target", "gold", "gold_holder", "label_file"]],
        on=["doc_id", "sentence", "target"],
        how="inner",
    )
    merged = with_embeddings(merged, enabled=config.learned.use_embeddings, encoder=config.learned.encoder)
    section_folded = {d for d, n in sources.n_sections.items() if n >= 2}
    merged["fold"] = [
        fold_key(d, None if pd.isna(s) else int(s), section_folded)
        for d, s in zip(merged["doc_id"], merged["section_index"], strict=True)
    ]
    return merged.drop_duplicates(["doc_id", "sentence", "target"]).reset_index(drop=True)


def model_params(config: StanceConfig) -> dict[str, Any]:
    """The learned model's parameters as configured, seeded by the config's seed (the feature design is not one: it
    shapes the features the model is given)."""
    params = dataclasses.asdict(config.learned)
    del params["feature_design"]
    return {**params, "use_embeddings": config.learned.use_embeddings, "random_state": config.seed}


def train(features: pd.DataFrame, *, config: StanceConfig, training_hash: str, guideline_sha256: str) -> StanceBundle:
    """Fit on the sentences where a target was detected (gold 'none' there teaches the model to reject)."""
    rows = features[features["mentioned"]].reset_index(drop=True)
    params = model_params(config)
    return train_bundle(
        rows,
        rows["gold"],
        rows["fold"],
        params=params,
        training_hash=training_hash,
        guideline_sha256=guideline_sha256,
        encoder_sha256=encoder_sha256(config.learned.encoder),  # "" for none
        feature_design=config.learned.feature_design,
        targets=[dataclasses.asdict(t) for t in config.targets if t.name in set(rows["target"])],
    )


def learning_curve(
    features: pd.DataFrame,
    *,
    config: StanceConfig,
    subsets: dict[str, pd.Series],
    fractions: list[float],
    repeats: int,
) -> pd.DataFrame:
    """Held-out macro-F1 of the learned method when it learns from a share of the labelled documents.

    Every held-out fold (a dev document, a chapter section) is predicted by a model trained on ``fraction`` of the
    other folds, drawn at random (seeded by the config's seed, the repeat and the fraction); at fraction 1 this is
    exactly the cross-fitting of ``train``. One row per fraction and subset: the mean, lowest and highest macro-F1
    over the repeats, and the mean number of labelled pairs the models learned from."""
    rows = features[features["mentioned"]]
    folds = sorted(set(rows["fold"]))
    params = model_params(config)
    out = []
    for fraction in fractions:
        draws = 1 if fraction >= 1 else repeats
        runs: dict[str, list[float]] = {name: [] for name in subsets}
        sizes: list[int] = []
        for repeat in range(draws):
            rng = np.random.default_rng([config.seed, repeat, round(fraction * 1000)])
            predicted = pd.Series("none", index=features.index, dtype=object)
            for key in folds:
                others = [f for f in folds if f != key]
                kept = set(rng.choice(others, size=max(1, round(fraction * len(others))), replace=False))
                train = rows[rows["fold"].isin(kept)]
                held_out = rows[rows["fold"] == key]
                predicted[held_out.index] = StanceClassifier(**params).fit(train, train["gold"]).predict(held_out)
                sizes.append(len(train))
            for name, mask in subsets.items():
                if mask.any():
                    runs[name].append(score(features.loc[mask, "gold"].tolist(), predicted[mask].tolist())["macro_f1"])
        for name, values in runs.items():
            if values:
                out.append(
                    {
                        "fraction": fraction,
                        "subset": name,
                        "repeats": draws,
                        "training_pairs": round(float(np.mean(sizes))),
                        "macro_f1": round(float(np.mean(values)), 4),
                        "lowest": round(min(values), 4),
                        "highest": round(max(values), 4),
                    }
                )
    return pd.DataFrame(out)


def target_transfer_predictions(features: pd.DataFrame, *, config: StanceConfig) -> pd.DataFrame:
    """Every labelled row of a target predicted by a model that learned from no label of that target, and none of
    the row's fold (its dev document, or its chapter section): how the design does for a target without labels.

    One model per target and fold, trained on the other targets' labelled rows outside the fold."""
    rows = features[features["mentioned"]]
    targets = sorted(set(rows["target"]))
    if len(targets) < 2:
        raise PipelineError(f"leave-one-target-out needs labels of at least two configured targets (found {targets})")
    params = model_params(config)
    predicted = pd.Series("none", index=features.index, dtype=object)
    for target in targets:
        own, others = rows[rows["target"] == target], rows[rows["target"] != target]
        for key in sorted(set(own["fold"])):
            train = others[others["fold"] != key]
            held_out = own[own["fold"] == key]
            predicted[held_out.index] = StanceClassifier(**params).fit(train, train["gold"]).predict(held_out)
    return pd.DataFrame({"label": predicted})


def cross_fitted_predictions(features: pd.DataFrame, bundle: StanceBundle | None, method: str) -> pd.DataFrame:
    """Every labelled row predicted by a model that never saw its fold (or by the rules)."""
    frame = features.copy()
    if method == "learned" and bundle is not None:
        folded = frame.copy()
        # the fold key decides the model: chapters by section, other documents by document
        folded["section_index"] = [int(k.split("#s")[1]) if "#s" in k else None for k in folded["fold"]]
        return predict(folded, method="learned", bundle=bundle)
    return predict(frame, method="rules", bundle=None)


def score(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    """Macro-F1 over pro/anti/neutral (none counts as a miss), per-class P/R/F1, confusion, kappa, detection F1."""
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=["pro", "anti", "neutral"], zero_division=0
    )
    mentioned_gold = np.array([g != "none" for g in gold])
    mentioned_pred = np.array([p != "none" for p in predicted])
    tp = int((mentioned_gold & mentioned_pred).sum())
    det_p = tp / max(1, int(mentioned_pred.sum()))
    det_r = tp / max(1, int(mentioned_gold.sum()))
    return {
        "n": len(gold),
        "macro_f1": round(float(np.mean(f1)), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(["pro", "anti", "neutral"], precision, recall, f1, support, strict=True)
        },
        "confusion": {
            "labels": list(CLASSES),
            "matrix": confusion_matrix(gold, predicted, labels=list(CLASSES)).tolist(),
        },
        "kappa": round(float(cohen_kappa_score(gold, predicted, labels=list(CLASSES))), 4)
        if len(set(gold)) > 1
        else float("nan"),
        "mention_detection": {
            "precision": round(det_p, 4),
            "recall": round(det_r, 4),
            "f1": round(2 * det_p * det_r / max(1e-9, det_p + det_r), 4),
        },
    }


CORE_TARGETS = ("russia", "ukraine")


def evaluate(features: pd.DataFrame, predictions: pd.DataFrame, *, subsets: dict[str, pd.Series]) -> dict[str, Any]:
    """Scores per subset (e.g. held-out dev documents, cross-fitted chapter), pooled and per target."""
    results: dict[str, Any] = {}
    for name, mask in subsets.items():
        part = features[mask]
        if part.empty:
            continue
        predicted = predictions.loc[part.index, "label"]
        results[name] = {"pooled": score(part["gold"].tolist(), predicted.tolist())}
        # the two targets the method was built and first judged on, pooled apart from the others added later
        core = part[part["target"].isin(CORE_TARGETS)]
        if core["target"].nunique() == len(CORE_TARGETS) and part["target"].nunique() > len(CORE_TARGETS):
            results[name]["+".join(CORE_TARGETS)] = score(core["gold"].tolist(), predicted.loc[core.index].tolist())
        for target, group in part.groupby("target"):
            results[name][str(target)] = score(group["gold"].tolist(), predicted.loc[group.index].tolist())
    return results


def format_scores(method: str, results: dict[str, Any]) -> str:
    """A plain-text table of the scores, one line per subset and target, then the pooled confusion matrices."""
    lines = [f"method: {method}"]
    header = (
        f"  {'subset':<28}{'target':<10}{'n':>5}{'macroF1':>9}{'kappa':>8}{'detF1':>8}"
        "   pro P/R     anti P/R    neutral P/R"
    )
    lines.append(header)
    for subset, by_target in results.items():
        for target, s in by_target.items():
            pc = s["per_class"]
            cells = "  ".join(f"{pc[c]['precision']:.2f}/{pc[c]['recall']:.2f}" for c in ("pro", "anti", "neutral"))
            lines.append(
                f"  {subset:<28}{target:<10}{s['n']:>5}{s['macro_f1']:>9.3f}{s['kappa']:>8.3f}"
                f"{s['mention_detection']['f1']:>8.3f}   {cells}"
            )
        pooled = by_target["pooled"]["confusion"]
        lines.append(f"  confusion ({subset}, pooled; rows gold, columns predicted: {' '.join(pooled['labels'])})")
        for label, row in zip(pooled["labels"], pooled["matrix"], strict=True):
            lines.append(f"    {label:<8}" + "".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
