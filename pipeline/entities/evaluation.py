"""Entity extraction scored against hand-made gold lists (``data/gold/entities_<doc_id>.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.config import read_yaml
from pipeline.core.errors import InputError


def _norm(text: str) -> str:
    text = re.sub(r"^(the)\s+", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"[’'`]s?$", "", text).lower()


def evaluate_entities(gold_files: list[Path], mentions: pd.DataFrame, entities: pd.DataFrame) -> list[dict[str, Any]]:
    """Per gold document: which gold entities were found (some predicted entity shares a surface form or name with
    it) and which predicted body entities are right (they match some gold entity)."""
    names = dict(zip(entities["entity_id"], entities["name"], strict=True))
    results = []
    for path in gold_files:
        gold = read_yaml(path)
        if not isinstance(gold, dict) or "doc_id" not in gold or not isinstance(gold.get("entities"), list):
            raise InputError(path, "gold file needs 'doc_id' and a list of 'entities'")
        doc_id = gold["doc_id"]
        body = mentions[(mentions["doc_id"] == doc_id) & (mentions["zone"] == "body")]
        body = body[body["mention_kind"] != "first_person"]
        if body.empty:
            raise InputError(path, f"document '{doc_id}' has no mentions in this output folder; run the pipeline on it")
        predicted: dict[str, set[str]] = {}
        for entity_id, group in body.groupby("entity_id"):
            predicted[str(entity_id)] = {_norm(t) for t in group["text"]} | {_norm(names.get(entity_id, ""))}
        gold_forms = [{_norm(g["name"])} | {_norm(s) for s in g.get("surface_forms", [])} for g in gold["entities"]]
        found = [any(forms & p for p in predicted.values()) for forms in gold_forms]
        correct = {eid: any(forms & gold_set for gold_set in gold_forms) for eid, forms in predicted.items()}
        results.append(
            {
                "doc_id": doc_id,
                "gold": len(gold_forms),
                "predicted": len(predicted),
                "true_positive_gold": sum(found),
                "true_positive_predicted": sum(correct.values()),
                "missed": [g["name"] for g, hit in zip(gold["entities"], found, strict=True) if not hit],
                "spurious": sorted(names.get(e, e) for e, ok in correct.items() if not ok),
            }
        )
    return results


def format_entity_scores(results: list[dict[str, Any]]) -> str:
    lines = [f"{'document':<70}{'gold':>6}{'pred':>6}{'P':>8}{'R':>8}{'F1':>8}"]
    totals = {"gold": 0, "predicted": 0, "tp_g": 0, "tp_p": 0}
    for r in results:
        p = r["true_positive_predicted"] / max(1, r["predicted"])
        rec = r["true_positive_gold"] / max(1, r["gold"])
        f1 = 2 * p * rec / max(1e-9, p + rec)
        lines.append(f"{r['doc_id'][:68]:<70}{r['gold']:>6}{r['predicted']:>6}{p:>8.3f}{rec:>8.3f}{f1:>8.3f}")
        totals["gold"] += r["gold"]
        totals["predicted"] += r["predicted"]
        totals["tp_g"] += r["true_positive_gold"]
        totals["tp_p"] += r["true_positive_predicted"]
    p = totals["tp_p"] / max(1, totals["predicted"])
    rec = totals["tp_g"] / max(1, totals["gold"])
    f1 = 2 * p * rec / max(1e-9, p + rec)
    lines.append(f"{'micro-average':<70}{totals['gold']:>6}{totals['predicted']:>6}{p:>8.3f}{rec:>8.3f}{f1:>8.3f}")
    for r in results:
        lines.append(f"missed in {r['doc_id']}: {', '.join(r['missed']) or '-'}")
        lines.append(f"spurious in {r['doc_id']}: {', '.join(r['spurious']) or '-'}")
    return "\n".join(lines)
