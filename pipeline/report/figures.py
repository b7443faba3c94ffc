"""Figures and terminal tables of stance summaries: PNG bytes from matplotlib (no pyplot), byte-identical per input.

Every figure is drawn inside one fixed style (matplotlib defaults, math text off, no PNG software stamp), so a
user's matplotlibrc, a ``$`` in a section title or the matplotlib version string cannot change the bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.style
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pipeline.core.errors import PipelineError

# The columns the figures and the comparison table show: the corrected stance index and its 95% interval.
VALUE, LOW, HIGH = "stance_index", "index_ci_low", "index_ci_high"
INDEX_AXIS = "stance index (pro − anti) / referring sentences"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
DPI = 110
STYLE: dict[Any, Any] = {
    "text.parse_math": False,
    "svg.hashsalt": "osce-stance-pipeline",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def target_colors(targets: Sequence[str]) -> dict[str, str]:
    """One colour per target, in sorted order, so the figures and the HTML tables agree."""
    return {target: PALETTE[k % len(PALETTE)] for k, target in enumerate(sorted(set(targets)))}


def target_label(target: str) -> str:
    """A target name as a reader writes it: ``russia`` -> ``Russia``, a short one as an acronym: ``eu`` -> ``EU``."""
    words = target.replace("_", " ").replace("-", " ")
    return words.upper() if len(words) <= 3 else words.title()


@contextmanager
def _fixed_style() -> Iterator[None]:
    with matplotlib.style.context("default"), matplotlib.rc_context(STYLE):
        yield


def _png(figure: Figure) -> bytes:
    # tight_layout() leaves a placeholder layout engine behind, and with one savefig draws the whole figure an extra
    # time before the real draw; without it the bytes are the same, for half the drawing.
    figure.set_layout_engine(None)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def finite_number(value: object) -> float | None:
    """``value`` as a finite float, or None for missing values (None, NaN, pd.NA) and text."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _finite(value: object) -> bool:
    return finite_number(value) is not None


def _targets(frame: pd.DataFrame, targets: Sequence[str] | None) -> list[str]:
    return sorted(set(frame["target"])) if targets is None else list(targets)


def _symmetric_limit(frame: pd.DataFrame) -> float:
    values = pd.concat([frame[LOW], frame[HIGH], frame[VALUE]]).abs().dropna()
    widest = float(values.max()) if len(values) else 0.0
    return min(1.05, max(0.5, widest) * 1.15)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _draw_points(axes: Axes, points: Sequence[tuple[float, dict[str, Any]]], color: str, *, horizontal: bool) -> None:
    """Indices at their positions with 95% intervals and n beyond the upper end; hollow when resting on one sentence.

    One errorbar per fill rather than one per point: the points of a series never overlap, so the pixels are the
    same, and a figure of many documents draws a handful of artists instead of thousands.
    """
    for hollow in (False, True):
        chosen = [(position, row) for position, row in points if (int(row["n"]) < 2) == hollow]
        if not chosen:
            continue
        means = [float(row[VALUE]) for _, row in chosen]
        errors = [
            [max(0.0, mean - float(row[LOW])) for mean, (_, row) in zip(means, chosen, strict=True)],
            [max(0.0, float(row[HIGH]) - mean) for mean, (_, row) in zip(means, chosen, strict=True)],
        ]
        positions = [position for position, _ in chosen]
        axes.errorbar(
            means if horizontal else positions,
            positions if horizontal else means,
            xerr=errors if horizontal else None,
            yerr=None if horizontal else errors,
            fmt="o",
            color=color,
            mfc="white" if hollow else color,
            ms=6,
            capsize=3,
            lw=1.4,
        )
    for position, row in points:
        high = float(row[HIGH])
        end, offset = ((high, position), (4, 0)) if horizontal else ((position, high), (0, 4))
        axes.annotate(
            f"n={int(row['n'])}",
            end,
            xytext=offset,
            textcoords="offset points",
            ha="left" if horizontal else "center",
            va="center" if horizontal else "bottom",
            fontsize=7,
            color="#444444",
        )


def _legend(axes: Axes, targets: Sequence[str], colors: dict[str, str]) -> None:
    """The targets and the hollow-marker key in one row between the title and the plot."""
    handles = [Line2D([], [], color=colors[t], marker="o", lw=1.4, label=target_label(t)) for t in targets]
    handles.append(Line2D([], [], color="#666666", marker="o", mfc="white", lw=0, label="n < 2 (hollow)"))
    axes.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(handles), fontsize=8, frameon=False
    )


def stance_by_section_figure(
    stance_by_section: pd.DataFrame, *, targets: Sequence[str] | None = None, title: str | None = None
) -> bytes:
    """Stance index per section of one document with its 95% interval and n, one series per target."""
    targets = _targets(stance_by_section, targets)
    colors = target_colors(targets)
    sections = (
        stance_by_section[["section_index", "section_title"]]
        .drop_duplicates("section_index")
        .sort_values("section_index")
    )
    position = {int(s): k for k, s in enumerate(sections["section_index"])}
    many = len(sections) > 8
    labels = [
        f"{k + 1}. " + (_short(str(t), 28) if many else textwrap.fill(str(t), 20))
        for k, t in enumerate(sections["section_title"].fillna(""))
    ]
    with _fixed_style():
        figure = Figure(figsize=(max(7.0, 1.25 * len(sections) + 1.5), 4.6 if not many else 5.2))
        axes = figure.add_subplot()
        width = 0.5 / max(1, len(targets))
        for k, target in enumerate(targets):
            offset = (k - (len(targets) - 1) / 2) * width
            rows = stance_by_section[(stance_by_section["target"] == target) & (stance_by_section["n"] > 0)]
            points = [
                (position[int(row["section_index"])] + offset, row)
                for row in rows.sort_values("section_index").to_dict("records")
                if _finite(row[VALUE]) and _finite(row[LOW])
            ]
            _draw_points(axes, points, colors[target], horizontal=False)
        limit = _symmetric_limit(stance_by_section[stance_by_section["n"] > 0])
        axes.axhline(0.0, color="#999999", lw=0.8, zorder=0)
        axes.set_ylim(-limit, limit)
        axes.set_xlim(-0.6, len(sections) - 0.4)
        axes.set_xticks(
            range(len(sections)), labels, fontsize=7.5, rotation=35 if many else 0, ha="right" if many else "center"
        )
        axes.set_ylabel(INDEX_AXIS)
        axes.set_title(
            title or "Stance toward each target by section (stance index, 95% interval)", fontsize=10, pad=24
        )
        _legend(axes, targets, colors)
        figure.tight_layout()
        return _png(figure)


def stance_by_document_figure(stance_by_document: pd.DataFrame, *, targets: Sequence[str] | None = None) -> bytes:
    """Stance index per document (rows, by year then title) with its 95% interval and n, one series per target."""
    targets = _targets(stance_by_document, targets)
    colors = target_colors(targets)
    documents = document_order(stance_by_document)
    position = {doc_id: k for k, doc_id in enumerate(documents["doc_id"])}
    labels = list(documents["label"])
    with _fixed_style():
        figure = Figure(figsize=(9.0, 1.4 + 0.26 * len(documents) * max(1, len(targets)) ** 0.5))
        axes = figure.add_subplot()
        height = 0.6 / max(1, len(targets))
        for k, target in enumerate(targets):
            offset = (k - (len(targets) - 1) / 2) * height
            rows = stance_by_document[(stance_by_document["target"] == target) & (stance_by_document["n"] > 0)]
            points = [
                (position[str(row["doc_id"])] + offset, row)
                for row in rows.to_dict("records")
                if _finite(row[VALUE]) and _finite(row[LOW])
            ]
            _draw_points(axes, points, colors[target], horizontal=True)
        limit = min(1.25, _symmetric_limit(stance_by_document[stance_by_document["n"] > 0]) + 0.12)
        axes.axvline(0.0, color="#999999", lw=0.8, zorder=0)
        axes.set_xlim(-limit, limit)
        axes.set_ylim(len(documents) - 0.5, -0.5)
        axes.set_yticks(range(len(documents)), labels, fontsize=7.5)
        axes.set_xlabel(INDEX_AXIS)
        axes.set_title("Stance toward each target by document (stance index, 95% interval)", fontsize=10, pad=24)
        _legend(axes, targets, colors)
        figure.tight_layout()
        return _png(figure)


def stance_by_year_figure(stance_by_year: pd.DataFrame, *, targets: Sequence[str] | None = None) -> bytes:
    """Stance index per year (the year's documents weighted by their sentences), one line per target, n at each
    point."""
    targets = _targets(stance_by_year, targets)
    colors = target_colors(targets)
    with _fixed_style():
        figure = Figure(figsize=(7.0, 3.6))
        axes = figure.add_subplot()
        for target in targets:
            rows = stance_by_year[(stance_by_year["target"] == target) & (stance_by_year["n"] > 0)]
            rows = rows.sort_values("year")
            axes.plot(
                rows["year"].astype(int),
                rows[VALUE],
                marker="o",
                color=colors[target],
                label=target_label(target),
                lw=1.4,
            )
            for year, mean, n in zip(rows["year"], rows[VALUE], rows["n"], strict=True):
                axes.annotate(
                    f"n={int(n)}",
                    (int(year), float(mean)),
                    xytext=(0, 5),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="#444444",
                )
        values = stance_by_year.loc[stance_by_year["n"] > 0, VALUE].abs().dropna()
        limit = min(1.05, max(0.3, float(values.max()) if len(values) else 0.0) * 1.3)
        axes.axhline(0.0, color="#999999", lw=0.8, zorder=0)
        axes.set_ylim(-limit, limit)
        years = sorted({int(y) for y in stance_by_year["year"]})
        axes.set_xticks(years, [str(y) for y in years])
        if years:
            axes.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        axes.set_ylabel("stance index")
        axes.set_title("Stance toward each target by year (documents weighted by sentences)", fontsize=10, pad=24)
        axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(targets), fontsize=8, frameon=False)
        figure.tight_layout()
        return _png(figure)


def document_order(summary: pd.DataFrame) -> pd.DataFrame:
    """The documents of a summary frame in reading order (year, then name), with ``name`` and ``label`` to show."""
    documents = summary.drop_duplicates("doc_id")[["doc_id", "title", "year"]].copy()
    documents["name"] = [
        str(title) if isinstance(title, str) and title.strip() else str(doc_id)
        for doc_id, title in zip(documents["doc_id"], documents["title"], strict=True)
    ]
    documents["label"] = [
        document_label(name, year) for name, year in zip(documents["name"], documents["year"], strict=True)
    ]
    documents["sort_year"] = pd.to_numeric(documents["year"], errors="coerce").fillna(9999)
    return documents.sort_values(["sort_year", "name", "doc_id"], kind="stable").reset_index(drop=True)


def document_label(name: str, year: object, *, width: int = 48) -> str:
    """``Name (year)`` with the name shortened to ``width`` characters."""
    number = finite_number(year)
    return _short(name, width) + (f" ({int(number)})" if number is not None else "")


# ---------------------------------------------------------------------------------------------------- terminal


def _signed(value: object, digits: int = 2) -> str:
    number = finite_number(value)
    return "-" if number is None else f"{round(number, digits) + 0.0:+.{digits}f}"


def _bar(mean: object, *, half: int = 10) -> str:
    """A text bar centred on zero: ``    ####|`` for a negative mean, ``|###     `` for a positive one."""
    number = finite_number(mean)
    if number is None:
        return ""
    cells = min(half, round(abs(number) * half))
    left = " " * (half - cells) + "#" * cells if number < 0 else " " * half
    right = "#" * cells if number > 0 else ""
    return f"{left}|{right}"


def _year(value: object) -> str:
    number = finite_number(value)
    return "-" if number is None else str(int(number))


def compare_table(summary: pd.DataFrame, *, by: str, target: str) -> str:
    """Stance toward ``target`` compared across sections or documents, as a plain-text table for the terminal.

    ``summary`` is ``stance_by_section`` (by="section") or ``stance_by_document`` (by="document").
    """
    if by not in ("section", "document"):
        raise PipelineError(f"compare: unknown comparison '{by}' (section, document)")
    needed = "section_index" if by == "section" else "year"
    if needed not in summary.columns:
        raise PipelineError(f"compare --by {by}: expected the stance_by_{by} table (it has no '{needed}' column)")
    known = sorted(set(summary["target"]))
    if target not in known:
        raise PipelineError(f"compare: unknown target '{target}' (known: {', '.join(known) or 'none'})")
    rows = summary[summary["target"] == target]
    several = rows["doc_id"].nunique() > 1
    if by == "section":
        records = rows.sort_values(["doc_id", "section_index"], kind="stable").to_dict("records")
        header = [*(["document"] if several else []), "#", "section"]
        keys = [
            [*([str(r["doc_id"])] if several else []), str(int(r["section_index"]) + 1), str(r["section_title"])]
            for r in records
        ]
    else:
        order = document_order(rows)
        records = rows.set_index("doc_id").loc[order["doc_id"]].reset_index().to_dict("records")
        header = ["document", "year"]
        keys = [[_short(name, 60), _year(year)] for name, year in zip(order["name"], order["year"], strict=True)]
    header += ["n", "reviewed", "pro", "anti", "neutral", "index", "95% CI", "-1" + " " * 8 + "0" + " " * 8 + "+1"]
    body = [
        [
            *key,
            *(str(int(r[column])) for column in ("n", "n_reviewed", "n_pro", "n_anti", "n_neutral")),
            _signed(r[VALUE]),
            f"[{_signed(r[LOW])}, {_signed(r[HIGH])}]" if _finite(r[LOW]) else "-",
            _bar(r[VALUE]),
        ]
        for key, r in zip(keys, records, strict=True)
    ]
    numeric = {"#", "year", "n", "reviewed", "pro", "anti", "neutral", "index"}
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=False)]
    scope = "" if several or rows.empty else f" in {rows['doc_id'].iloc[0]}"
    lines = [
        f"Stance toward {target_label(target)} by {by}{scope} (index = (pro - anti) / referring sentences, corrected"
        " for the classifier's errors; n = sentences judged to refer, of them reviewed; pro/anti/neutral = labels as"
        " predicted or reviewed)"
    ]
    for cells in (header, *body):
        padded = [
            cell.rjust(width) if name in numeric else cell.ljust(width)
            for cell, width, name in zip(cells, widths, header, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    lines.insert(2, "  ".join("-" * width for width in widths).rstrip())
    return "\n".join(lines) + "\n"
