"""Stance: for every sentence and target, a label (none/neutral/pro/anti), a score, a holder and the evidence.

Both methods read the same ``TargetView`` of a sentence (``stance_features``): the rules method sums lexicon cues
by the target's role in the parse; the learned method classifies the target-marked sentence with the rule signals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from spacy.tokens import Doc, Span

from pipeline.config import StanceConfig
from pipeline.gazetteer import Gazetteer
from pipeline.stages.entities import speaker_states
from pipeline.stages.parse import iter_sentences
from pipeline.stance_features import SIGNAL_NAMES, Lexicon, marked_text, read_target, signals
from pipeline.stance_learned import StanceBundle
from pipeline.stance_rules import judge

LABELS = ("pro", "anti", "neutral")


@dataclass(frozen=True)
class SentenceItem:
    """A sentence to judge: where it comes from, its parse and its actor spans."""

    doc_id: str
    sentence_id: int
    section_index: int | None
    section_title: str | None
    span: Span
    actors: list[Span]


def analyse(
    items: Iterable[SentenceItem], *, config: StanceConfig, gazetteer: Gazetteer, lexicon: Lexicon
) -> pd.DataFrame:
    """One row per sentence and target: whether it is mentioned, the marked text, rule signals and rule verdict."""
    rows = []
    for item in items:
        for target in config.targets:
            view = read_target(item.span, item.actors, target, config, gazetteer, lexicon, config.targets)
            verdict = judge(view, threshold=config.threshold, gazetteer=gazetteer, holders=config.holders)
            rows.append(
                {
                    "doc_id": item.doc_id,
                    "sentence_id": item.sentence_id,
                    "section_index": item.section_index,
                    "section_title": item.section_title,
                    "target": target.name,
                    "mentioned": view.mentioned,
                    "sentence": item.span.text.strip(),
                    "text": marked_text(item.span, item.actors, view, gazetteer, config.targets),
                    **signals(view),
                    "rule_label": verdict.label,
                    "rule_score": verdict.score,
                    "rule_confidence": verdict.confidence,
                    "rule_holder": verdict.holder,
                    "rule_evidence": verdict.evidence,
                    "refs": [r.text for r in view.refs],
                }
            )
    columns = ["doc_id", "sentence_id", "section_index", "section_title", "target", "mentioned", "sentence", "text"]
    rest = ["rule_label", "rule_score", "rule_confidence", "rule_holder", "rule_evidence", "refs"]
    return pd.DataFrame(rows, columns=[*columns, *SIGNAL_NAMES, *rest])


def predict(features: pd.DataFrame, *, method: str, bundle: StanceBundle | None) -> pd.DataFrame:
    """Apply a method to analysed rows; returns label, score, confidence, holder, evidence and method columns."""
    out = pd.DataFrame(index=features.index)
    if method == "rules" or bundle is None:
        out["label"] = features["rule_label"]
        out["score"] = features["rule_score"].astype(float)
        out["confidence"] = features["rule_confidence"].astype(float)
        out["holder"] = features["rule_holder"]
        out["evidence"] = features["rule_evidence"]
        out["method"] = "rules"
        return out
    out["label"] = "none"
    out["score"] = 0.0
    out["confidence"] = 1.0
    out["holder"] = None
    out["evidence"] = [[] for _ in range(len(out))]
    out["method"] = "learned"
    mentioned = features[features["mentioned"]]
    for (doc_id, section), group in mentioned.groupby(["doc_id", "section_index"], dropna=False, sort=True):
        section_index = None if pd.isna(section) else int(section)
        model, method_name = bundle.model_for(str(doc_id), section_index)
        proba = model.predict_proba(group)
        classes = list(model.classes_)
        labels = [classes[k] for k in proba.argmax(axis=1)]
        pro = proba[:, classes.index("pro")] if "pro" in classes else 0.0
        anti = proba[:, classes.index("anti")] if "anti" in classes else 0.0
        words = model.evidence(group, labels)
        for k, index in enumerate(group.index):
            label = labels[k]
            out.at[index, "label"] = label
            out.at[index, "score"] = round(float(np.atleast_1d(pro)[k] - np.atleast_1d(anti)[k]), 4)
            out.at[index, "confidence"] = round(float(proba[k].max()), 4)
            rule_cues = list(features.at[index, "rule_evidence"])
            out.at[index, "evidence"] = [*words[k], *rule_cues][:5]
            if label in ("pro", "anti"):
                rule_holder = features.at[index, "rule_holder"]
                out.at[index, "holder"] = rule_holder if features.at[index, "rule_label"] == label else "author"
            out.at[index, "method"] = method_name
    return out


def mark_speakers(docs: list[Doc], gazetteer: Gazetteer, country: str | None) -> None:
    """Record on each body paragraph the state whose representative speaks it, as the entities stage decides."""
    body = [doc for doc in docs if doc.user_data["zone"] == "body"]
    speakers = speaker_states([doc.text for doc in body], gazetteer, gazetteer.state_for_code(country))
    for doc, speaker in zip(body, speakers, strict=True):
        doc.user_data["speaker"] = speaker


def items_from_docs(
    doc_id: str, docs: list[Doc], sentences: pd.DataFrame, mentions: pd.DataFrame
) -> list[SentenceItem]:
    """Body sentences of one document with their actor spans rebuilt from the ``mentions`` artifact."""
    by_sentence: dict[int, list[tuple[int, str, str, str, str]]] = {}
    columns = ["sentence_id", "start_char", "text", "label", "entity_id", "mention_kind"]
    for sentence_id, start, text, label, entity_id, kind in mentions[columns].itertuples(index=False, name=None):
        by_sentence.setdefault(int(sentence_id), []).append(
            (int(start), str(text), str(label), str(entity_id), str(kind))
        )
    meta = {
        int(sentence_id): (section, title)
        for sentence_id, section, title in sentences[["sentence_id", "section_index", "section_title"]].itertuples(
            index=False, name=None
        )
    }
    items = []
    for sentence in iter_sentences(docs):
        if sentence.zone != "body":
            continue
        actors = []
        for start_char, text, label, entity_id, kind in by_sentence.get(sentence.sentence_id, []):
            start = sentence.span.start_char + start_char
            span = sentence.doc.char_span(start, start + len(text), alignment_mode="expand")
            if span is not None:
                actors.append(Span(sentence.doc, span.start, span.end, label=label, kb_id=entity_id, span_id=kind))
        section, title = meta[sentence.sentence_id]
        items.append(
            SentenceItem(
                doc_id=doc_id,
                sentence_id=sentence.sentence_id,
                section_index=None if pd.isna(section) else int(section),
                section_title=None if pd.isna(title) else str(title),
                span=sentence.span,
                actors=actors,
            )
        )
    return items


def stance_table(features: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The ``stance`` artifact rows: one per sentence and target."""
    table = pd.concat(
        [features[["doc_id", "sentence_id", "section_index", "section_title", "target"]], predictions], axis=1
    )
    table["text"] = features["sentence"]
    table["holder"] = table["holder"].where(table["label"].isin(["pro", "anti"]), None)
    return table.sort_values(["doc_id", "sentence_id", "target"], kind="stable").reset_index(drop=True)


def bootstrap_ci(scores: np.ndarray, *, samples: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the mean by resampling sentences with replacement."""
    if len(scores) == 0:
        return float("nan"), float("nan")
    if len(scores) == 1:
        return float(scores[0]), float(scores[0])
    draws = rng.choice(scores, size=(samples, len(scores)), replace=True).mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def _summary(group: pd.DataFrame, *, samples: int, rng: np.random.Generator) -> dict[str, Any]:
    mentioned = group[group["label"] != "none"]
    scores = mentioned["score"].to_numpy(dtype=float)
    low, high = bootstrap_ci(scores, samples=samples, rng=rng)
    return {
        "n": len(mentioned),
        "n_pro": int((mentioned["label"] == "pro").sum()),
        "n_anti": int((mentioned["label"] == "anti").sum()),
        "n_neutral": int((mentioned["label"] == "neutral").sum()),
        "mean_score": round(float(scores.mean()), 4) if len(scores) else float("nan"),
        "ci_low": low,
        "ci_high": high,
    }


def by_section(stance: pd.DataFrame, sections: pd.DataFrame, *, samples: int, seed: int) -> pd.DataFrame:
    """Per section and target: counts per label, mean score, bootstrap 95% interval, and the sentences behind it."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    groups = {key: group for key, group in stance.groupby(["doc_id", "section_index", "target"], sort=False)}
    empty = stance.iloc[0:0]
    for section in sections.sort_values(["doc_id", "section_index"]).itertuples():
        for target in targets:
            group = groups.get((section.doc_id, section.section_index, target), empty)
            summary = _summary(group, samples=samples, rng=rng)
            ids = group.loc[group["label"] != "none", "sentence_id"].astype(int).tolist()
            rows.append(
                {
                    "doc_id": section.doc_id,
                    "section_index": int(section.section_index),
                    "section_title": section.section_title,
                    "target": target,
                    **summary,
                    "sentence_ids": ids,
                }
            )
    return pd.DataFrame(rows)


def by_document(stance: pd.DataFrame, documents: pd.DataFrame, *, samples: int, seed: int) -> pd.DataFrame:
    """Per document and target: the same summary, with title and year for comparing documents."""
    rng = np.random.default_rng(seed)
    rows = []
    targets = sorted(stance["target"].unique())
    groups = {key: group for key, group in stance.groupby(["doc_id", "target"], sort=False)}
    empty = stance.iloc[0:0]
    for document in documents.sort_values("doc_id").itertuples():
        for target in targets:
            group = groups.get((document.doc_id, target), empty)
            rows.append(
                {
                    "doc_id": document.doc_id,
                    "title": document.title,
                    "year": document.year,
                    "target": target,
                    **_summary(group, samples=samples, rng=rng),
                }
            )
    frame = pd.DataFrame(rows)
    frame["year"] = frame["year"].astype("Int64")
    return frame
