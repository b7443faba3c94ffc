"""The transparent stance method: lexicon cues weighed by where the target stands in the dependency parse."""

from __future__ import annotations

import math
from dataclasses import dataclass

from spacy.tokens import Span

from pipeline.entities.gazetteer import Gazetteer
from pipeline.stance.features import Cue, TargetView

# Effect of a cue on the stance toward the target, by category and the target's role.
EFFECTS: dict[str, dict[str, float]] = {
    "wrongdoing": {"agent": -1.0, "patient": 0.7, "near": -0.3},
    "opposition": {"agent": 0.0, "patient": -1.0, "near": -0.2},
    "support": {"agent": 0.0, "patient": 1.0, "near": 0.2},
    "positive_quality": {"agent": 1.0, "patient": 0.5, "near": 0.3},
    "negative_quality": {"agent": -1.0, "patient": -0.5, "near": -0.3},
    "victim_goods": {"agent": 0.6, "patient": 0.6, "near": 0.0},
}
NEGATION_FACTOR = -0.5


@dataclass(frozen=True)
class Judgement:
    label: str
    score: float
    confidence: float
    holder: str | None
    evidence: list[str]


def cue_effect(cue: Cue) -> float:
    effect = EFFECTS[cue.category][cue.role]
    return effect * NEGATION_FACTOR if cue.negated else effect


def holder_name(span: Span | None, gazetteer: Gazetteer, holders: dict[str, list[str]]) -> str:
    """Map an actor span to the guideline's holder set (Belarus, EU, US, ...), following affiliations."""
    if span is None:
        return "author"
    seen: set[str] = set()
    current: str | None = span.kb_id_
    while current and current not in seen:
        seen.add(current)
        for name, ids in holders.items():
            if current in ids:
                return name
        entry = gazetteer.entries.get(current)
        current = entry.affiliation if entry else None
    return "other"


def judge(view: TargetView, *, threshold: float, gazetteer: Gazetteer, holders: dict[str, list[str]]) -> Judgement:
    """Sum the cue effects; past ``threshold`` the sentence is pro or anti, else neutral; 'none' without a reference."""
    if not view.mentioned:
        return Judgement("none", 0.0, 1.0, None, [])
    total = sum(cue_effect(c) for c in view.cues)
    evidence = [
        f"{c.token.text} ({c.category}, target as {c.role}{', negated' if c.negated else ''})"
        for c in sorted(view.cues, key=lambda c: -abs(cue_effect(c)))
        if cue_effect(c) != 0
    ]
    if abs(total) < threshold:
        return Judgement("neutral", 0.0, round(1.0 - abs(total) / threshold, 3), None, evidence)
    label = "pro" if total > 0 else "anti"
    deciding = max(
        (c for c in view.cues if (cue_effect(c) > 0) == (total > 0) and cue_effect(c) != 0),
        key=lambda c: abs(cue_effect(c)),
    )
    holder_span = deciding.holder_span or view.reported_by
    return Judgement(
        label,
        round(math.tanh(total), 4),
        round(min(1.0, abs(total)), 3),
        holder_name(holder_span, gazetteer, holders),
        evidence,
    )
