"""Stance: for every sentence and target, a label (none/neutral/pro/anti), a score, a holder and the evidence.

Both methods read the same ``TargetView`` of a sentence (``features``): the rules method sums lexicon cues
by the target's role in the parse; the learned method classifies the target-marked sentence with the rule signals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from spacy.tokens import Doc, Span

from pipeline.core.config import StanceConfig
from pipeline.entities.gazetteer import Gazetteer
from pipeline.parse.stage import iter_sentences
from pipeline.stance.estimates import CLASSES, PROBABILITY_COLUMNS
from pipeline.stance.features import FEATURE_DESIGNS, SIGNAL_NAMES, Lexicon, marked_text, read_target, signals
from pipeline.stance.learned import StanceBundle
from pipeline.stance.rules import judge

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
    design = FEATURE_DESIGNS[config.learned.feature_design]
    rows = []
    for item in items:
        sentence = item.span.text.strip()  # a span rebuilds its text from its tokens on every access
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
                    "sentence": sentence,
                    "text": marked_text(item.span, item.actors, view, target, gazetteer, design, config.targets),
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
    """Apply a method to analysed rows; returns label, score, confidence, holder, evidence, method and the class
    probabilities (``p_none`` .. ``p_anti``; the rules' verdict is certain, a sentence not mentioning the target is
    certainly none)."""
    out = pd.DataFrame(index=features.index)
    n = len(features)
    if method == "rules" or bundle is None:
        out["label"] = features["rule_label"]
        out["score"] = features["rule_score"].astype(float)
        out["confidence"] = features["rule_confidence"].astype(float)
        out["holder"] = features["rule_holder"]
        out["evidence"] = features["rule_evidence"]
        out["method"] = "rules"
        certain = np.eye(len(CLASSES))[
            np.array([CLASSES.index(str(label)) for label in features["rule_label"]], dtype=int)
        ]
        for k, column in enumerate(PROBABILITY_COLUMNS):
            out[column] = certain[:, k]
        return out
    probabilities = np.zeros((n, len(CLASSES)))
    probabilities[:, 0] = 1.0
    labels: list[str] = ["none"] * n
    scores, confidences = np.zeros(n), np.ones(n)
    holders: list[str | None] = [None] * n
    evidence: list[list[str]] = [[] for _ in range(n)]
    methods: list[str] = ["learned"] * n
    mask = features["mentioned"].to_numpy(dtype=bool)
    positions = np.flatnonzero(mask)  # of the mentioned rows among all rows
    mentioned = features[mask].reset_index(drop=True)
    for (doc_id, section), group in mentioned.groupby(["doc_id", "section_index"], dropna=False, sort=True):
        section_index = None if pd.isna(section) else int(section)
        model, method_name = bundle.model_for(str(doc_id), section_index)
        proba = model.predict_proba(group)
        classes = list(model.classes_)
        predicted = [classes[k] for k in proba.argmax(axis=1)]
        pro = proba[:, classes.index("pro")] if "pro" in classes else np.zeros(len(group))
        anti = proba[:, classes.index("anti")] if "anti" in classes else np.zeros(len(group))
        words = model.evidence(group, predicted)
        rows = positions[group.index.to_numpy()]
        for k, name in enumerate(CLASSES):
            probabilities[rows, k] = proba[:, classes.index(name)] if name in classes else 0.0
        scores[rows] = [round(float(value), 4) for value in pro - anti]
        confidences[rows] = [round(float(value), 4) for value in proba.max(axis=1)]
        rule_labels, rule_holders = group["rule_label"].tolist(), group["rule_holder"].tolist()
        for k, (row, label, cues) in enumerate(zip(rows, predicted, group["rule_evidence"], strict=True)):
            labels[row] = label
            evidence[row] = [*words[k], *cues][:5]
            if label in ("pro", "anti"):
                holders[row] = rule_holders[k] if rule_labels[k] == label else "author"
            methods[row] = method_name
    out = pd.DataFrame(index=features.index)
    out["label"] = labels
    out["score"] = scores
    out["confidence"] = confidences
    out["holder"] = pd.Series(holders, index=features.index, dtype=object)
    out["evidence"] = pd.Series(evidence, index=features.index, dtype=object)
    out["method"] = methods
    for k, column in enumerate(PROBABILITY_COLUMNS):
        out[column] = np.round(probabilities[:, k], 6)
    return out


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
        [features[["doc_id", "sentence_id", "section_index", "section_title", "target", "mentioned"]], predictions],
        axis=1,
    )
    table["text"] = features["sentence"]
    table["holder"] = table["holder"].where(table["label"].isin(["pro", "anti"]), None)
    return table.sort_values(["doc_id", "sentence_id", "target"], kind="stable").reset_index(drop=True)
