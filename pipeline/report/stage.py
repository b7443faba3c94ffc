"""Report: one self-contained HTML file (inline PNG figures, inline CSS, no network) from the pipeline's tables.

For each document: its metadata and the run's provenance, stance toward every target across sections (figure and
table), the strongest pro and anti sentences per section and target with their cue words marked, the most frequent
actors per section and the co-mention network; across documents, stance by document and by year; and how well the
stance method scored. Every text that comes from a source is escaped. Same inputs give byte-identical HTML.
"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.core.config import ReportConfig
from pipeline.report.figures import (
    document_order,
    finite_number,
    stance_by_document_figure,
    stance_by_section_figure,
    stance_by_year_figure,
    target_colors,
    target_label,
)

# In the learned model's n-grams, a reference to the judged target reads "tgt" and another actor "oth".
PLACEHOLDERS = ("tgt", "tgtself", "oth")
MIN_SECTION_N = 2


# The pipeline tables the report reads (the data-frame fields of ReportInputs, in order).
REPORT_TABLES = (
    "documents",
    "sections",
    "stance",
    "stance_by_section",
    "stance_by_document",
    "mentions",
    "sentences",
    "entities",
    "network_nodes",
    "network_edges",
)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report reads: the pipeline's tables, network figures (per document and of the corpus), the
    scores, provenance."""

    documents: pd.DataFrame
    sections: pd.DataFrame
    stance: pd.DataFrame
    stance_by_section: pd.DataFrame
    stance_by_document: pd.DataFrame
    mentions: pd.DataFrame
    sentences: pd.DataFrame
    entities: pd.DataFrame
    network_nodes: pd.DataFrame
    network_edges: pd.DataFrame
    network_pngs: dict[str, bytes] = field(default_factory=dict)
    corpus_network_png: bytes | None = None
    evaluation: dict[str, Any] | None = None
    provenance: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- formatting


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _e(value: object, missing: str = "—") -> str:
    """Escaped text of a value from the data; ``missing`` for None, NaN and empty text."""
    return missing if _missing(value) else html.escape(str(value))


def _signed(value: object, digits: int = 2) -> str:
    number = finite_number(value)
    return "—" if number is None else f"{round(number, digits) + 0.0:+.{digits}f}".replace("-", "−")


def _interval(low: object, high: object) -> str:
    return "—" if finite_number(low) is None else f"[{_signed(low)}, {_signed(high)}]"


def _int(value: object) -> int:
    number = finite_number(value)
    return 0 if number is None else int(number)


def _anchor(*parts: object) -> str:
    """An id attribute value built from data (doc ids, targets): letters, digits, underscores and dashes only."""
    return "-".join(re.sub(r"[^A-Za-z0-9_-]+", "-", str(p)).strip("-") or "x" for p in parts)


def _png_img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Iterable[int] = (), css: str = "") -> str:
    """An HTML table; ``header`` is plain text, ``rows`` hold ready (escaped) HTML cells."""
    right = set(numeric)
    head = "".join(f"<th{' class=num' if k in right else ''}>{html.escape(h)}</th>" for k, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if k in right else ''}>{c}</td>" for k, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _swatch(target: str, colors: dict[str, str]) -> str:
    color = colors.get(target, "#666666")
    return f'<span class="swatch" style="background:{color}"></span>{html.escape(target_label(target))}'


def _any_of(targets: Sequence[str]) -> str:
    """The targets as a reader names them in one phrase: ``Russia or Ukraine``, ``A, B or C`` (escaped)."""
    names = [html.escape(target_label(t)) for t in targets] or ["a target"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _section_name(index: object, title: object) -> str:
    return f"§{_int(index) + 1} {_e(title)}"


# ---------------------------------------------------------------------------------------------------- evidence


def _cue_pattern(cue: str, references: Mapping[str, Sequence[str]]) -> str | None:
    """A regex for the leading word(s) of a cue (``"aggression (wrongdoing, ...)"`` or an n-gram like ``"tgt s"``).

    The learned model's placeholders (``tgt``, ``oth``) match the sentence's references to the target and to the
    other actors; a cue is skipped when one of them has no reference, or when it is a single one-letter word.
    """
    words = cue.split(" (", 1)[0].split()
    real = [w for w in words if w.lower() not in PLACEHOLDERS]
    if not real or (len(words) == 1 and len(real[0]) == 1):
        return None
    parts = []
    for word in words:
        if word.lower() in PLACEHOLDERS:
            refs = sorted({r for r in references.get(word.lower(), ()) if r.strip()}, key=lambda r: (-len(r), r))
            if not refs:
                return None
            parts.append("(?:" + "|".join(re.escape(r) for r in refs) + ")")
        else:
            parts.append(re.escape(word))
    return r"(?<!\w)" + r"[^\w]+".join(parts) + r"(?!\w)"


def highlight_cues(text: str, cues: Iterable[str], *, references: Mapping[str, Sequence[str]] | None = None) -> str:
    """The sentence as escaped HTML with every occurrence of each cue's leading word(s) in ``<mark>``.

    Lexicon cues (``"word (category, role)"``) are marked ``class="rule"``, the learned model's n-grams
    ``class="ngram"``; where they overlap the lexicon cue wins, then the longer match. ``references`` gives the
    texts that ``tgt`` and ``oth`` stand for in this sentence.
    """
    spans: list[tuple[int, int, int, str]] = []
    for cue in {str(c) for c in cues}:
        pattern = _cue_pattern(cue, references or {})
        if pattern is None:
            continue
        kind = "rule" if " (" in cue else "ngram"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            spans.append((match.start(), match.end(), 1 if kind == "rule" else 0, kind))
    chosen: list[tuple[int, int, str]] = []
    for start, end, _, kind in sorted(spans, key=lambda s: (-s[2], -(s[1] - s[0]), s[0])):
        if all(end <= other_start or start >= other_end for other_start, other_end, _ in chosen):
            chosen.append((start, end, kind))
    pieces, cursor = [], 0
    for start, end, kind in sorted(chosen):
        pieces.append(html.escape(text[cursor:start]))
        pieces.append(f'<mark class="{kind}">{html.escape(text[start:end])}</mark>')
        cursor = end
    pieces.append(html.escape(text[cursor:]))
    return "".join(pieces)


def strongest(stance: pd.DataFrame, *, label: str, limit: int, per: Sequence[str] = ()) -> pd.DataFrame:
    """The ``limit`` sentences of one label with the most extreme scores (pro: highest, anti: lowest), overall or
    for each group of the ``per`` columns (one sort for all groups, in the order of the rows)."""
    rows = stance[stance["label"] == label]
    ascending = label == "anti"
    ordered = rows.sort_values(["score", "sentence_id"], ascending=[ascending, True], kind="stable")
    return ordered.groupby(list(per), sort=False).head(limit) if per else ordered.head(limit)


def _cues(value: object) -> list[str]:
    return [] if value is None or isinstance(value, str) else [str(c) for c in value]  # type: ignore[attr-defined]


SentenceReferences = dict[tuple[str, int], list[tuple[str, str]]]
Record = dict[str, Any]


def sentence_references(mentions: pd.DataFrame) -> SentenceReferences:
    """Per (doc_id, sentence_id), the (entity_id, text) of every actor mention in the sentence."""
    references: SentenceReferences = {}
    columns = (mentions[c].tolist() for c in ("doc_id", "sentence_id", "entity_id", "text"))
    for doc_id, sentence_id, entity_id, text in zip(*columns, strict=True):
        references.setdefault((str(doc_id), _int(sentence_id)), []).append((str(entity_id), str(text)))
    return references


def _placeholders(mentioned: list[tuple[str, str]], target: str) -> dict[str, list[str]]:
    """What ``tgt`` and ``oth`` stand for in one sentence: mentions of the target (else of any actor, e.g. an
    official of the target) and mentions of the other actors (the model reads every other state, organisation or
    person as ``oth``)."""
    own = [text for entity_id, text in mentioned if entity_id == target]
    others = [text for entity_id, text in mentioned if entity_id != target]
    return {"tgt": own or others, "oth": others}


def _evidence_item(row: dict[Any, Any], *, references: SentenceReferences) -> str:
    cues = _cues(row.get("evidence"))
    reviewed = row.get("method") == "reviewed"
    meta = [
        *(['<span class="reviewed">reviewed</span>'] if reviewed else []),
        f"score {_signed(row['score'])}",
        f"confidence {finite_number(row['confidence']) or 0:.2f}",
        f"holder: {_e(row.get('holder'))}",
        f"sentence {_int(row['sentence_id'])}",
    ]
    if cues:
        meta.append(("the model's cues: " if reviewed else "cues: ") + "; ".join(html.escape(c) for c in cues))
    mentioned = references.get((str(row["doc_id"]), _int(row["sentence_id"])), [])
    placeholders = _placeholders(mentioned, str(row["target"]))
    text = highlight_cues(str(row["text"]), cues, references=placeholders)
    return f'<li><blockquote>{text}</blockquote><div class="meta">{" · ".join(meta)}</div></li>'


def _evidence_list(rows: Sequence[Record], heading: str, *, references: SentenceReferences) -> str:
    items = "".join(_evidence_item(r, references=references) for r in rows)
    body = f"<ol>{items}</ol>" if items else '<p class="none">No sentence with this label.</p>'
    return f'<div class="evidence-column"><h5>{heading}</h5>{body}</div>'


# ---------------------------------------------------------------------------------------------------- summaries


def stance_by_year(stance_by_document: pd.DataFrame) -> pd.DataFrame:
    """Per year and target: documents, sentences, the mean score pooled over the year's sentences, and the stance
    index of the year's documents weighted by their sentences."""
    columns = ["year", "target", "documents", "n", "n_pro", "n_anti", "n_neutral", "mean_score", "stance_index"]
    known = stance_by_document.dropna(subset=["year"])
    known = known[known["n"] > 0]
    rows = []
    for (year, target), group in known.groupby(["year", "target"], sort=True):
        weights = group["n"].astype(float)
        rows.append(
            {
                "year": _int(year),
                "target": str(target),
                "documents": int(group["doc_id"].nunique()),
                "n": int(weights.sum()),
                "n_pro": int(group["n_pro"].sum()),
                "n_anti": int(group["n_anti"].sum()),
                "n_neutral": int(group["n_neutral"].sum()),
                "mean_score": round(float((group["mean_score"] * weights).sum() / weights.sum()), 4),
                "stance_index": _weighted(group["stance_index"], weights),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def top_actors(mentions: pd.DataFrame, sentences: pd.DataFrame, entities: pd.DataFrame, *, limit: int) -> pd.DataFrame:
    """Per document and section, the ``limit`` entities with the most body mentions (ties by entity id)."""
    columns = ["doc_id", "section_index", "entity_id", "name", "label", "mentions"]
    body = mentions[mentions["zone"] == "body"]
    placed = body.merge(
        sentences[["doc_id", "sentence_id", "section_index"]].dropna(subset=["section_index"]),
        on=["doc_id", "sentence_id"],
        how="inner",
    )
    if placed.empty:
        return pd.DataFrame(columns=columns)
    counts = placed.groupby(["doc_id", "section_index", "entity_id"], sort=True).size().rename("mentions").reset_index()
    counts["section_index"] = counts["section_index"].astype(int)
    counts = counts.merge(entities[["entity_id", "name", "label"]], on="entity_id", how="left")
    counts = counts.sort_values(
        ["doc_id", "section_index", "mentions", "entity_id"], ascending=[True, True, False, True], kind="stable"
    )
    return counts.groupby(["doc_id", "section_index"], sort=True).head(limit)[columns].reset_index(drop=True)


def _method_name(method: object) -> str:
    """'learned' of 'learned (cross-fitted, held out …)'."""
    return str(method).split(" ", 1)[0]


def _base_method(stance: pd.DataFrame) -> pd.Series:
    return stance["method"].map(_method_name)


def interval_note(methods: Iterable[object]) -> str:
    """The sentence saying what the 95% interval of a stance index includes, given the methods of the judged rows."""
    if "rules" in {_method_name(m) for m in methods}:
        return (
            "The 95% interval includes the sampling of the group's sentences only: the rules method's errors are not "
            "measured, so neither its index nor its interval is corrected for them."
        )
    return (
        "The 95% interval includes both the sampling of the group's sentences and the classifier's error: the index "
        "undoes the confusions the classifier was measured to make on labelled documents it never saw, and the "
        "interval carries the uncertainty of that measurement (resampled labelled documents) and of how this "
        "group's errors may differ; reviewed sentences count as known."
    )


def _reviewed_note(row: Record) -> str:
    reviewed = _int(row.get("n_reviewed"))
    return f", {reviewed} reviewed" if reviewed else ""


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    """The mean of the finite ``values`` weighted by ``weights`` (NaN when none is finite)."""
    finite = values.notna()
    total = float(weights[finite].sum())
    return round(float((values[finite] * weights[finite]).sum()) / total, 4) if total > 0 else float("nan")


def method_summary(stance: pd.DataFrame) -> str:
    """Which method labelled the sentences that mention a target, as HTML."""
    return _method_phrase(stance.loc[stance["label"] != "none", "method"])


def _method_phrase(methods: Iterable[object]) -> str:
    """:func:`method_summary` from the ``method`` values of the judged (not none) stance rows."""
    counts: dict[str, list[int]] = {}
    for method in map(str, methods):
        count = counts.setdefault(_method_name(method), [0, 0])
        count[0] += 1
        count[1] += "cross-fitted" in method
    if not counts:
        return "none: no sentence refers to a target"
    parts = []
    for method in sorted(counts):
        judgements, crossed = counts[method]
        note = (
            f"; {crossed} of them by a cross-fitted model that had not seen the sentence in training" if crossed else ""
        )
        parts.append(f"<strong>{html.escape(method)}</strong> ({judgements} sentence–target judgements{note})")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------------- glance


def _extreme(rows: Sequence[Record], *, lowest: bool) -> Record:
    """The row with the lowest (highest) stance index; ties go to the earlier section, then the earlier row."""
    sign = 1.0 if lowest else -1.0
    return min(rows, key=lambda row: (sign * float(row["stance_index"]), row["section_index"]))


def _cell_link(doc_anchor: str, row: dict[Any, Any], target: str) -> str:
    anchor = _anchor(doc_anchor, "s", _int(row["section_index"]), target)
    stats = (
        f"index {_signed(row['stance_index'])}, 95% interval {_interval(row['index_ci_low'], row['index_ci_high'])}, "
        f"n = {_int(row['n'])}{_reviewed_note(row)}"
    )
    name = _section_name(row["section_index"], row["section_title"])
    return f'<a href="#{anchor}">{name}</a> ({stats})'


def glance(summary: Sequence[Record], *, doc_anchor: str, targets: Sequence[str]) -> str:
    """Per target, the section most critical of it and the one most supportive of it (sections with n >= 2).

    ``summary`` holds one document's ``stance_by_section`` rows as records.
    """
    lines = []
    for target in targets:
        label = html.escape(target_label(target))
        if not any(row["target"] == target and row["n"] > 0 for row in summary):
            lines.append(f"<li>{label}: no sentence in this document refers to it.</li>")
            continue
        rows = [
            row
            for row in summary
            if row["target"] == target and row["n"] >= MIN_SECTION_N and finite_number(row["stance_index"]) is not None
        ]
        if not rows:
            lines.append(f"<li>{label}: no section has {MIN_SECTION_N} or more sentences about it.</li>")
            continue
        low, high = _extreme(rows, lowest=True), _extreme(rows, lowest=False)
        if len(rows) == 1:
            only = _cell_link(doc_anchor, low, target)
            lines.append(f"<li>{label}: only one section has {MIN_SECTION_N} or more sentences about it, {only}.</li>")
            continue
        critical = (
            f"<strong>Most critical of {label}:</strong> {_cell_link(doc_anchor, low, target)}"
            if float(low["stance_index"]) < 0
            else f"No section leans against {label} on average; the least favourable is "
            f"{_cell_link(doc_anchor, low, target)}"
        )
        supportive = (
            f"<strong>most supportive of {label}:</strong> {_cell_link(doc_anchor, high, target)}"
            if float(high["stance_index"]) > 0
            else f"no section leans toward {label} on average; the most favourable is "
            f"{_cell_link(doc_anchor, high, target)}"
        )
        lines.append(f"<li>{critical}; {supportive}.</li>")
    note = (
        f"Only sections with at least {MIN_SECTION_N} sentences about the target; each link opens its evidence. "
        "Where the 95% interval includes 0, the direction is uncertain."
    )
    return f'<div class="glance"><h3>At a glance</h3><ul>{"".join(lines)}</ul><p class="note">{note}</p></div>'


# ---------------------------------------------------------------------------------------------------- document


@dataclass
class _Cell:
    """The judged (not none) stance rows of one section and target: the number per label, the strongest per label."""

    labels: Counter[str] = field(default_factory=Counter)
    strongest: dict[str, list[Record]] = field(default_factory=dict)
    reviewed: int = 0


@dataclass
class _DocumentRows:
    """One document's rows of the corpus tables, as the document's part of the report reads them."""

    sections: list[Record] = field(default_factory=list)
    summary: list[Record] = field(default_factory=list)
    summary_frame: pd.DataFrame | None = None
    cells: dict[tuple[Any, Any], _Cell] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    actors: dict[Any, list[Record]] = field(default_factory=dict)


def _rows_by_document(inputs: ReportInputs, *, actors: pd.DataFrame, limit: int) -> dict[str, _DocumentRows]:
    """Every table split by document in one pass each (filtering the corpus tables per document is quadratic).

    Sections come by index, the summary by section then target, and each cell keeps its ``limit`` strongest anti
    and pro sentences; keys are the tables' own values, so a lookup matches what ``==`` would.
    """
    documents: dict[str, _DocumentRows] = {}

    def rows_of(doc_id: object) -> _DocumentRows:
        return documents.setdefault(str(doc_id), _DocumentRows())

    for section in inputs.sections.sort_values(["doc_id", "section_index"], kind="stable").to_dict("records"):
        rows_of(section["doc_id"]).sections.append(section)
    summary = inputs.stance_by_section.sort_values(["doc_id", "section_index", "target"], kind="stable")
    for row in summary.to_dict("records"):
        rows_of(row["doc_id"]).summary.append(row)
    for doc_id, frame in summary.groupby("doc_id", sort=False):
        rows_of(doc_id).summary_frame = frame
    judged = inputs.stance[inputs.stance["label"] != "none"]
    columns = (judged[c].tolist() for c in ("doc_id", "section_index", "target", "label", "method"))
    for doc_id, index, target, label, method in zip(*columns, strict=True):
        document = rows_of(doc_id)
        cell = document.cells.setdefault((index, target), _Cell())
        cell.labels[label] += 1
        cell.reviewed += method == "reviewed"
        document.methods.append(method)
    for label in ("anti", "pro"):
        chosen = strongest(judged, label=label, limit=limit, per=["doc_id", "section_index", "target"])
        for row in chosen.to_dict("records"):
            cell = rows_of(row["doc_id"]).cells[(row["section_index"], row["target"])]
            cell.strongest.setdefault(label, []).append(row)
    for actor in actors.to_dict("records"):
        rows_of(actor["doc_id"]).actors.setdefault(actor["section_index"], []).append(actor)
    return documents


def _metadata(document: dict[Any, Any], method: str) -> str:
    first, last = finite_number(document.get("first_page")), finite_number(document.get("last_page"))
    pages = f"{int(first)}–{int(last)}" if first is not None and last is not None else "—"
    year = finite_number(document.get("year"))
    fields = [
        ("Title", _e(document.get("title"))),
        ("Author", _e(document.get("author"))),
        ("Year", "—" if year is None else str(int(year))),
        ("Pages", pages),
        ("Citation", _e(document.get("citation"))),
        *((name.title(), _e(document[name])) for name in ("speaker", "country") if not _missing(document.get(name))),
        ("Source file", f"<code>{_e(document.get('source_path'))}</code>"),
        ("SHA-256", f"<code>{_e(document.get('source_sha256'))}</code>"),
        ("Document id", f"<code>{_e(document.get('doc_id'))}</code>"),
        ("Stance method", method),
    ]
    warnings = _cues(document.get("warnings"))
    if warnings:
        fields.append(("Ingest warnings", "<br>".join(html.escape(w) for w in warnings)))
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields) + "</dl>"


def _stance_table(summary: Sequence[Record], *, doc_anchor: str, colors: dict[str, str]) -> str:
    header = ["Section", "Target", "n", "reviewed", "pro", "anti", "neutral", "index", "95% interval", "mean score", ""]
    rows, previous = [], None
    for row in summary:
        anchor = _anchor(doc_anchor, "s", _int(row["section_index"]), row["target"])
        first_of_section = row["section_index"] != previous
        previous = row["section_index"]
        rows.append(
            [
                _section_name(row["section_index"], row["section_title"]) if first_of_section else "",
                _swatch(str(row["target"]), colors),
                *(str(_int(row[c])) for c in ("n", "n_reviewed", "n_pro", "n_anti", "n_neutral")),
                _signed(row["stance_index"]),
                _interval(row["index_ci_low"], row["index_ci_high"]),
                _signed(row["mean_score"]),
                f'<a href="#{anchor}">evidence</a>' if _int(row["n"]) else "",
            ]
        )
    return _table(header, rows, numeric=range(2, 10), css="stance")


def _section_evidence(
    section: dict[Any, Any],
    document: _DocumentRows,
    *,
    doc_anchor: str,
    targets: Sequence[str],
    references: SentenceReferences,
) -> str:
    index = _int(section["section_index"])
    counts = " · ".join(
        f"{html.escape(target_label(str(r['target'])))}: n = {_int(r['n'])}{_reviewed_note(r)}, "
        f"index {_signed(r['stance_index'])}"
        for r in document.summary
        if r["section_index"] == index
    )
    blocks = []
    for target in targets:
        cell = document.cells.get((index, target), _Cell())
        n_pro, n_anti = cell.labels["pro"], cell.labels["anti"]
        n_judged = sum(cell.labels.values())
        heading = (
            f"{html.escape(target_label(target))} <span class=note>({n_judged} sentence"
            f"{'' if n_judged == 1 else 's'}: {n_pro} pro, {n_anti} anti, {n_judged - n_pro - n_anti} neutral"
            f"{f'; {cell.reviewed} reviewed' if cell.reviewed else ''})</span>"
        )
        columns = "".join(
            _evidence_list(cell.strongest.get(label, []), f"Strongest {label}", references=references)
            for label in ("anti", "pro")
        )
        anchor = _anchor(doc_anchor, "s", index, target)
        blocks.append(f'<div class="cell" id="{anchor}"><h4>{heading}</h4><div class="columns">{columns}</div></div>')
    summary_line = f"{_section_name(index, section['section_title'])} <span class=note>{counts}</span>"
    return (
        f'<details id="{_anchor(doc_anchor, "s", index)}"><summary>{summary_line}</summary>{"".join(blocks)}</details>'
    )


def _actors_table(document: _DocumentRows) -> str:
    rows = []
    for section in document.sections:
        index = _int(section["section_index"])
        names = " · ".join(
            f"{_e(a['name'], missing=html.escape(str(a['entity_id'])))} "
            f"<span class=note>{_e(a['label'], '')} {_int(a['mentions'])}</span>"
            for a in document.actors.get(index, [])
        )
        rows.append([_section_name(index, section["section_title"]), names or '<span class="none">none</span>'])
    return _table(["Section", "Most mentioned actors (label, body mentions)"], rows, css="actors")


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{_png_img(png, alt)}<figcaption>{caption}</figcaption></figure>"


def _document_section(
    document: dict[Any, Any],
    rows: _DocumentRows,
    *,
    network: bytes | None,
    network_actors: int,
    comentions: bool,
    config: ReportConfig,
    targets: Sequence[str],
    references: SentenceReferences,
    figure_note: str | None,
) -> str:
    """One document's part of the report; ``figure_note`` replaces the stance-by-section figure when given. What a
    document lacks (a sentence about a target, an actor, two actors mentioned together) is said in words, in place
    of the figures and tables it would leave empty."""
    doc_id = str(document["doc_id"])
    doc_anchor = _anchor("doc", doc_id)
    judged = rows.summary_frame is not None and int(rows.summary_frame["n"].sum()) > 0
    parts = [
        f'<section class="document" id="{doc_anchor}"><h2>{_e(document.get("title"), html.escape(doc_id))}</h2>',
        glance(rows.summary, doc_anchor=doc_anchor, targets=targets)
        if judged
        else f'<div class="glance"><h3>At a glance</h3><p>{_no_target_sentence(targets)}.</p></div>',
        _metadata(document, _method_phrase(rows.methods)),
        "<h3>Stance across sections</h3>",
    ]
    if not judged:
        parts.append(f'<p class="none">{_no_target_sentence(targets)}, so there is no stance to compare.</p>')
    elif figure_note is not None:
        parts.append(f'<p class="none">{figure_note}</p>')
    else:
        alt = "Stance index per section with 95% intervals and n, for " + ", ".join(target_label(t) for t in targets)
        caption = (
            "Stance index (pro − anti) / sentences referring to the target (−1 all anti … +1 all pro), per section, "
            "corrected for the classifier's measured errors; n is the number of sentences judged to refer; a hollow "
            f"point rests on a single sentence. {interval_note(rows.methods)}"
        )
        parts.append(_figure(stance_by_section_figure(rows.summary_frame, targets=targets), alt, caption))
    if judged:
        parts.extend(
            _stance_and_evidence(rows, doc_anchor=doc_anchor, config=config, targets=targets, references=references)
        )
    parts.append(
        f"<h3>Actors per section</h3><p class=note>The {config.top_actors} entities mentioned most often in the "
        "body text of each section.</p>"
    )
    parts.append(
        _actors_table(rows)
        if any(rows.actors.values())
        else '<p class="none">No actor is mentioned in the body of this document.</p>'
    )
    parts.append("<h3>Co-mention network</h3>")
    if network_actors < 2:
        parts.append(
            '<p class="none">Fewer than two actors are mentioned often enough in this document to be nodes of a '
            "co-mention network (each needs <code>min_count</code> body mentions, <code>configs/network.yaml</code>"
            "), so it has none.</p>"
        )
    elif not comentions:
        parts.append(
            '<p class="none">No two actors are mentioned together in this document (in one sentence or paragraph, '
            "the windows of <code>configs/network.yaml</code>), so it has no co-mention network.</p>"
        )
    elif network:
        caption = "Actors linked when they are mentioned together (windows as configured for the network stage)."
        parts.append(_figure(network, "Co-mention network of the actors of this document", caption))
    else:
        parts.append(
            '<p class="none">No network figure was produced for this document (a corpus of more documents than'
            " the network stage's <code>figure_max_documents</code> gets the GraphML/GEXF exports only).</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _no_target_sentence(targets: Sequence[str], where: str = "this document") -> str:
    """What a document (or ``where``) without a judged sentence lacks, as the start of a sentence (escaped)."""
    return f"No sentence in {where} refers to {_any_of(targets)}"


def _stance_and_evidence(
    rows: _DocumentRows,
    *,
    doc_anchor: str,
    config: ReportConfig,
    targets: Sequence[str],
    references: SentenceReferences,
) -> list[str]:
    """The stance table of a document's sections and the evidence behind each of its cells."""
    parts = [_stance_table(rows.summary, doc_anchor=doc_anchor, colors=target_colors(targets))]
    parts.append(
        f"<h3>Evidence by section</h3><p class=note>Per section and target, the {config.evidence_per_cell} "
        "strongest anti and pro sentences. Marked words are the cues behind the label: <mark class=rule>lexicon "
        "cues</mark> of the rules and <mark class=ngram>n-grams</mark> that weighed most in the learned model "
        "(in these, <code>tgt</code> stands for the target and <code>oth</code> for another actor).</p>"
        '<p class="controls"><button type="button" data-details="open">Open all</button> '
        '<button type="button" data-details="close">Close all</button></p>'
    )
    parts.extend(
        _section_evidence(s, rows, doc_anchor=doc_anchor, targets=targets, references=references) for s in rows.sections
    )
    return parts


# ---------------------------------------------------------------------------------------------------- corpus


def _corpus_section(inputs: ReportInputs, *, targets: Sequence[str]) -> str:
    colors = target_colors(targets)
    by_document = inputs.stance_by_document
    parts = ['<section id="corpus"><h2>Across documents</h2>']
    if int(by_document["n"].sum()) > 0:
        caption = (
            "Stance index (pro − anti) / sentences referring to the target, per document and target, corrected for "
            "the classifier's measured errors; n is the number of sentences judged to refer. "
            + interval_note(inputs.stance["method"])
        )
        figure = stance_by_document_figure(by_document, targets=targets)
        parts.append(_figure(figure, "Stance index per document with 95% intervals and n", caption))
    totals = by_document.groupby("doc_id", sort=False)["n"].sum()
    silent = document_order(by_document[by_document["doc_id"].isin(totals.index[totals == 0])])
    if totals.size and len(silent) == totals.size:
        parts.append(f'<p class="none">{_no_target_sentence(targets, "any of these documents")}.</p>')
    elif len(silent):
        names = "; ".join(html.escape(str(name)) for name in silent["name"])
        parts.append(
            f'<p class="none">{_no_target_sentence(targets, f"{len(silent)} of the {totals.size} documents")}: '
            f"{names}.</p>"
        )
    per_document: dict[object, list[Record]] = {}
    for row in by_document.sort_values(["doc_id", "target"], kind="stable").to_dict("records"):
        per_document.setdefault(row["doc_id"], []).append(row)
    rows = []
    for document in document_order(by_document).to_dict("records"):
        link = f'<a href="#{_anchor("doc", document["doc_id"])}">{html.escape(str(document["name"]))}</a>'
        for k, row in enumerate(per_document.get(document["doc_id"], [])):
            rows.append(
                [
                    link if k == 0 else "",
                    "—" if finite_number(row["year"]) is None else str(_int(row["year"])),
                    _swatch(str(row["target"]), colors),
                    *(str(_int(row[c])) for c in ("n", "n_reviewed", "n_pro", "n_anti", "n_neutral")),
                    _signed(row["stance_index"]),
                    _interval(row["index_ci_low"], row["index_ci_high"]),
                    _signed(row["mean_score"]),
                ]
            )
    header = [
        "Document",
        "Year",
        "Target",
        "n",
        "reviewed",
        "pro",
        "anti",
        "neutral",
        "index",
        "95% interval",
        "mean score",
    ]
    parts.append(_table(header, rows, numeric=[1, *range(3, 11)], css="stance"))
    by_year = stance_by_year(by_document)
    if not by_year.empty:
        parts.append("<h3>By year</h3>")
        if by_year["year"].nunique() > 1:
            caption = (
                "Stance index of a year's documents, each weighted by its sentences that refer to the target; no "
                "interval, since the documents of a year differ in kind and length."
            )
            figure = stance_by_year_figure(by_year, targets=targets)
            parts.append(_figure(figure, "Stance index per year and target", caption))
        year_rows = [
            [
                str(r["year"]),
                _swatch(str(r["target"]), colors),
                *(str(_int(r[c])) for c in ("documents", "n", "n_pro", "n_anti", "n_neutral")),
                _signed(r["stance_index"]),
                _signed(r["mean_score"]),
            ]
            for r in by_year.to_dict("records")
        ]
        header = ["Year", "Target", "documents", "n", "pro", "anti", "neutral", "index", "mean score"]
        parts.append(_table(header, year_rows, numeric=[0, *range(2, 9)], css="stance"))
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------- evaluation


def _score_cell(scores: object, key: str) -> str:
    number = finite_number(scores.get(key)) if isinstance(scores, dict) else None
    return "—" if number is None else f"{number:.2f}"


def _evaluation_section(evaluation: dict[str, Any] | None, stance: pd.DataFrame, *, targets: Sequence[str]) -> str:
    parts = ['<section id="evaluation"><h2>How well the stance method scores</h2>']
    if (stance["label"] != "none").any():
        parts.append(f"<p>This report's stance labels come from: {method_summary(stance)}.</p>")
    else:
        where = "these documents" if stance["doc_id"].nunique() > 1 else "this document"
        parts.append(f"<p>{_no_target_sentence(targets, where)}, so no stance label was given.</p>")
    card = evaluation or {}
    scores = card.get("scores")
    if not isinstance(scores, dict) or not scores:
        parts.append('<p class="none">No evaluation card was given to the report.</p></section>')
        return "".join(parts)
    used = set(_base_method(stance[stance["label"] != "none"]))
    targets = sorted({str(t) for subsets in scores.values() for s in subsets.values() for t in s if t != "pooled"})
    header = ["Method", "Subset", "n", "macro-F1", "κ"]
    for target in targets:
        header += [f"{target_label(target)} F1", f"{target_label(target)} κ"]
    header.append("mention F1")
    rows = []
    for method in sorted(scores):
        for subset in sorted(scores[method]):
            by_target = scores[method][subset]
            pooled = by_target.get("pooled", {})
            marker = ' <span class="used">this report</span>' if method in used else ""
            row = [f"{html.escape(str(method))}{marker}", html.escape(str(subset)), str(_int(pooled.get("n")))]
            row += [_score_cell(pooled, "macro_f1"), _score_cell(pooled, "kappa")]
            for target in targets:
                row += [_score_cell(by_target.get(target), "macro_f1"), _score_cell(by_target.get(target), "kappa")]
            row.append(_score_cell(pooled.get("mention_detection"), "f1"))
            rows.append(row)
    parts.append(_table(header, rows, numeric=range(2, len(header)), css="scores"))
    facts = []
    if card.get("n_rows") is not None:
        facts.append(f"{_int(card['n_rows'])} labelled sentence–target rows")
    if card.get("n_documents") is not None:
        facts.append(f"{_int(card['n_documents'])} documents")
    if card.get("training_sha256"):
        facts.append(f"labels sha256 <code>{_e(str(card['training_sha256'])[:12])}</code>")
    parts.append(
        "<p class=note>Macro-F1 averages the F1 of pro, anti and neutral (a missed mention counts as an error); "
        "κ is Cohen's kappa over all four labels, none included, so the many easy none rows raise it. "
        "Held-out dev documents: each scored by a model trained without it; chapter, cross-fitted: each section "
        "scored by a model trained without it."
        + (f" Labelled data: {'; '.join(facts)}." if facts else "")
        + "</p></section>"
    )
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------- page


CSS = """
:root { --ink: #1b1b1b; --muted: #5b5b5b; --rule: #d8d8d8; --mark: #ffe58a; --soft: #f6f6f3; --link: #0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); max-width: 72rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.4rem; margin-top: 2.5rem; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin-top: 1.8rem; } h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
h5 { font-size: .9rem; margin: .4rem 0; color: var(--muted); }
a { color: var(--link); }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--soft); white-space: nowrap; } table.stance td:not(:first-child) { white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: .8rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption, .note { color: var(--muted); font-size: .85rem; }
.none { color: var(--muted); font-style: italic; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; font-size: .9rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.glance { background: var(--soft); border-left: 4px solid var(--link); padding: .5rem 1rem; margin: 1rem 0; }
.glance h3 { margin: .2rem 0; } .glance ul { margin: .3rem 0; padding-left: 1.2rem; }
.swatch { display: inline-block; width: .75rem; height: .75rem; border-radius: 50%; margin-right: .35rem;
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }
details { border: 1px solid var(--rule); border-radius: 4px; margin: .4rem 0; padding: .3rem .8rem; }
summary { cursor: pointer; font-weight: 600; } summary .note { font-weight: normal; margin-left: .5rem; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1.2rem; }
.cell:target { outline: 3px solid var(--link); outline-offset: 4px; }
blockquote { margin: .2rem 0; } mark { padding: 0 .1em; color: inherit; }
mark.rule { background: var(--mark); font-weight: 600; } mark.ngram { background: #fff3c4; }
.evidence-column ol { padding-left: 1.2rem; } .evidence-column li { margin-bottom: .6rem; }
.meta { color: var(--muted); font-size: .8rem; }
.used { background: var(--link); color: #fff; border-radius: 3px; padding: 0 .3rem; font-size: .75rem; }
.reviewed { background: #2e7d32; color: #fff; border-radius: 3px; padding: 0 .3rem; font-weight: 600; }
nav ol { columns: 2; font-size: .9rem; } .controls button { font: inherit; font-size: .8rem; }
table.provenance td:first-child { font-weight: 600; }
@media (max-width: 50rem) { .columns { grid-template-columns: 1fr; } nav ol { columns: 1; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, .controls { display: none; }
  section.document, #evaluation { break-before: page; }
  figure, tr, li, .glance, .cell h4 { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  details { border: none; padding: 0; } summary { list-style: none; }
  summary::-webkit-details-marker { display: none; }
  mark { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""

# Opens the <details> around a linked evidence cell, and all of them for printing; the page reads without it.
SCRIPT = """
(function () {
  function reveal(id) {
    var node = document.getElementById(id);
    for (var up = node; up; up = up.parentElement) { if (up.tagName === "DETAILS") { up.open = true; } }
    return node;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (link) { reveal(decodeURIComponent(link.getAttribute("href").slice(1))); }
    var button = event.target.closest("button[data-details]");
    if (button) {
      var open = button.getAttribute("data-details") === "open";
      button.closest("section").querySelectorAll("details").forEach(function (d) { d.open = open; });
    }
  });
  function fromHash() {
    var node = location.hash.length > 1 ? reveal(decodeURIComponent(location.hash.slice(1))) : null;
    if (node) { node.scrollIntoView(); }
  }
  window.addEventListener("hashchange", fromHash);
  document.addEventListener("DOMContentLoaded", fromHash);
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () { closed.forEach(function (d) { d.open = false; }); });
})();
"""


def _provenance(provenance: dict[str, str]) -> str:
    if not provenance:
        return '<p class="none">No provenance was recorded for this run.</p>'
    rows = [[html.escape(str(key)), f"<code>{_e(provenance[key])}</code>"] for key in sorted(provenance)]
    return _table(["Provenance", ""], rows, css="provenance")


def _targets(inputs: ReportInputs) -> list[str]:
    frames = (inputs.stance_by_section, inputs.stance_by_document, inputs.stance)
    return sorted({str(t) for frame in frames for t in frame["target"].dropna().unique()})


def _documents_in_order(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Documents by year then title (as in the comparison figure), documents without stance rows last."""
    order = list(document_order(inputs.stance_by_document)["doc_id"]) if len(inputs.stance_by_document) else []
    rank = {doc_id: k for k, doc_id in enumerate(order)}
    documents = inputs.documents.assign(_rank=inputs.documents["doc_id"].map(lambda d: rank.get(d, len(rank))))
    documents = documents.sort_values(["_rank", "doc_id"], kind="stable").drop(columns="_rank")
    return [{str(k): v for k, v in d.items()} for d in documents.to_dict("records")]


def _section_figure_note(n_documents: int, *, config: ReportConfig) -> str | None:
    """Why a document has no stance-by-section figure in a big corpus (each figure costs about 0.1 s to draw), or
    None when the corpus is small enough for every document to get one."""
    limit = config.section_figures_max_documents
    if n_documents <= limit:
        return None
    across = ", and the figure across documents compares them" if n_documents > 1 else ""
    return (
        f"No figure: the report draws one per document for corpora of at most {limit} documents "
        f"(<code>section_figures_max_documents</code> in <code>report.yaml</code>) and this one has "
        f"{n_documents}; the table below has the numbers{across}."
    )


def document_parts(inputs: ReportInputs, *, config: ReportConfig) -> Iterator[tuple[dict[str, Any], str]]:
    """Each document in reading order with its part of the report (a ``<section>``), made one at a time, so that a
    caller writing one page per document never holds all of them."""
    targets = _targets(inputs)
    documents = _documents_in_order(inputs)
    actors = top_actors(inputs.mentions, inputs.sentences, inputs.entities, limit=config.top_actors)
    rows = _rows_by_document(inputs, actors=actors, limit=config.evidence_per_cell)
    references = sentence_references(inputs.mentions)
    figure_note = _section_figure_note(len(documents), config=config)
    nodes, edges = inputs.network_nodes, inputs.network_edges
    network_actors = Counter(nodes.loc[nodes["scope"] == "document", "scope_id"].astype(str))
    comentions = set(edges.loc[edges["scope"] == "document", "scope_id"].astype(str))
    for d in documents:
        part = _document_section(
            d,
            rows.get(str(d["doc_id"]), _DocumentRows()),
            network=inputs.network_pngs.get(str(d["doc_id"])),
            network_actors=network_actors[str(d["doc_id"])],
            comentions=str(d["doc_id"]) in comentions,
            config=config,
            targets=targets,
            references=references,
            figure_note=figure_note,
        )
        yield d, part


def render_report(inputs: ReportInputs, *, config: ReportConfig, parts: Iterable[str] | None = None) -> str:
    """The whole report as one HTML page; a pure function of its inputs (no clock, no files, no network).

    ``parts`` are the documents' parts as :func:`document_parts` makes them, when the caller has them already."""
    targets = _targets(inputs)
    documents = _documents_in_order(inputs)
    several = len(documents) > 1
    title = html.escape(config.title)
    contents = [
        f'<li><a href="#{_anchor("doc", d["doc_id"])}">{_e(d.get("title"), html.escape(str(d["doc_id"])))}</a></li>'
        for d in documents
    ]
    if several:
        contents.insert(0, '<li><a href="#corpus">Across documents</a></li>')
    contents.append('<li><a href="#evaluation">How well the stance method scores</a></li>')
    lede = (
        f"{len(documents)} document{'s' if several else ''}; stance toward "
        + ", ".join(html.escape(target_label(t)) for t in targets)
        + " judged sentence by sentence and summarised by section"
        + (" and by document." if several else ".")
    )
    body = [
        f"<header><h1>{title}</h1><p>{lede}</p>{_provenance(inputs.provenance)}</header>",
        f"<nav><h2>Contents</h2><ol>{''.join(contents)}</ol></nav>",
        "<main>",
    ]
    if several:
        body.append(_corpus_section(inputs, targets=targets))
    body.extend(parts if parts is not None else (part for _, part in document_parts(inputs, config=config)))
    body.append(_evaluation_section(inputs.evaluation, inputs.stance, targets=targets))
    body.append("</main>")
    return page(title, "\n".join(body))


def page(title: str, body: str, *, css: str = "", script: str = SCRIPT) -> str:
    """A whole HTML page: ``title`` (escaped) and ``body`` (ready HTML) with the report's styles and script."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}{css}</style>\n</head>\n<body>\n"
        + body
        + (f"\n<script>{script}</script>" if script else "")
        + "\n</body>\n</html>\n"
    )
