"""The report of a corpus of any size: an index page and one page per document, beside the one-page report.

``OUT/report/index.html`` lists every document by year (author, title, per target the stance index and its 95%
interval; a click on a column header sorts the table), shows the stance across years as one figure per target, the
corpus network, how well the stance method scores and the provenance; ``OUT/report/<doc_id>.html`` is one
document's part of the report (as ``render_report`` shows it) with links to the index and to its neighbours. Up to
``single_page_max_documents`` documents ``OUT/report.html`` is the one self-contained page of ``render_report``; above
that it points to the index. No page loads anything from outside; same inputs give the same bytes.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Iterator, Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pipeline.core.config import ReportConfig
from pipeline.report.figures import _fixed_style, _png, finite_number, target_colors, target_label
from pipeline.report.stage import (
    Record,
    ReportInputs,
    _documents_in_order,
    _e,
    _evaluation_section,
    _figure,
    _int,
    _interval,
    _provenance,
    _signed,
    _swatch,
    _table,
    _targets,
    document_parts,
    interval_note,
    page,
    render_report,
    stance_by_year,
)

INDEX = "index"
CORPUS_ACTORS = 15  # the corpus network's actors listed beside its figure

INDEX_CSS = """
table.documents th { cursor: pointer; user-select: none; }
table.documents th[aria-sort=ascending]::after { content: " ▲"; }
table.documents th[aria-sort=descending]::after { content: " ▼"; }
table.documents td:nth-child(n+4), table.documents th:nth-child(n+4) { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
table.documents.grouped tr.year-start td { border-top: 2px solid var(--ink); }
.ci { display: block; color: var(--muted); font-size: .75rem; }
p.years a { margin-right: .45rem; white-space: nowrap; }
nav.pages { font-size: .9rem; margin-bottom: 1rem; } nav.pages a { margin-right: 1rem; }
"""

# Sorts the documents table by the clicked column (again: the other way), missing values last; ties keep the order
# by year. The page reads without it.
SORT_SCRIPT = """
(function () {
  var table = document.querySelector("table.documents");
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var original = Array.prototype.slice.call(body.rows);
  var position = new Map(original.map(function (row, k) { return [row, k]; }));
  function key(row, column) {
    var cell = row.cells[column];
    return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim().toLowerCase();
  }
  Array.prototype.forEach.call(heads, function (head, column) {
    function sort() {
      var ascending = head.getAttribute("aria-sort") !== "ascending";
      var numeric = head.hasAttribute("data-numeric");
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      head.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = original.slice().sort(function (a, b) {
        var x = key(a, column), y = key(b, column), tie = position.get(a) - position.get(b);
        if (x === "" || y === "") { return (x === "") - (y === "") || tie; }
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return (ascending ? order : -order) || tie;
      });
      table.classList.toggle("grouped", column === 0 && ascending);
      rows.forEach(function (row) { body.appendChild(row); });
    }
    head.tabIndex = 0;
    head.addEventListener("click", sort);
    head.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
    });
  });
})();
"""


def page_href(doc_id: str) -> str:
    """The file name of a document's page inside ``OUT/report/``, as a link from a page beside it."""
    return urllib.parse.quote(str(doc_id), safe="") + ".html"


def _name(document: Record) -> str:
    return _e(document.get("title"), html.escape(str(document["doc_id"])))


def _year(value: object) -> str:
    number = finite_number(value)
    return "" if number is None else str(int(number))


# ---------------------------------------------------------------------------------------------------- pages


def report_pages(inputs: ReportInputs, *, config: ReportConfig) -> Iterator[tuple[str | None, str]]:
    """Every page of the report as (name, HTML): each document's page (its doc_id), then the index (``"index"``),
    then ``OUT/report.html`` (None), so that a page is written before a page linking to it. One document's page is
    made at a time; the documents' parts are kept for the one-page report only up to its limit."""
    documents = _documents_in_order(inputs)
    single = len(documents) <= config.single_page_max_documents
    kept: list[str] = []
    for k, (document, part) in enumerate(document_parts(inputs, config=config)):
        neighbours = (documents[k - 1] if k else None, documents[k + 1] if k + 1 < len(documents) else None)
        yield str(document["doc_id"]), document_page(document, part, neighbours=neighbours, config=config)
        if single:
            kept.append(part)
    yield INDEX, index_page(inputs, documents=documents, config=config)
    yield None, render_report(inputs, config=config, parts=kept) if single else pointer_page(len(documents), config)


def document_page(
    document: Record, part: str, *, neighbours: tuple[Record | None, Record | None], config: ReportConfig
) -> str:
    """One document's page: links to the index and to the documents before and after it there, then its part."""
    links = ['<a href="index.html">All documents</a>']
    previous, following = neighbours
    if previous is not None:
        links.append(f'<a href="{page_href(previous["doc_id"])}" rel="prev">← {_name(previous)}</a>')
    if following is not None:
        links.append(f'<a href="{page_href(following["doc_id"])}" rel="next">{_name(following)} →</a>')
    body = f'<nav class="pages">{"".join(links)}</nav>\n<main>{part}</main>'
    return page(f"{_name(document)} · {html.escape(config.title)}", body, css=INDEX_CSS)


def pointer_page(n_documents: int, config: ReportConfig) -> str:
    """``OUT/report.html`` of a corpus too big for one page: where the report is."""
    title = html.escape(config.title)
    body = (
        f"<header><h1>{title}</h1></header>\n<main><p>This corpus has {n_documents} documents, more than one page "
        f"shows (<code>single_page_max_documents</code> in <code>configs/report.yaml</code>: "
        f'{config.single_page_max_documents}). The report is <a href="report/index.html">report/index.html</a>: '
        "the documents by year with their stance toward each target, the stance across years, the corpus network "
        "and the stance method's scores, and a page for each document.</p></main>"
    )
    return page(title, body, script="")


def index_page(inputs: ReportInputs, *, documents: Sequence[Record], config: ReportConfig) -> str:
    """The corpus index: the documents, the stance across years, the corpus network, the scores, the provenance."""
    targets = _targets(inputs)
    years = sorted({int(y) for y in (finite_number(d.get("year")) for d in documents) if y is not None})
    span = f", {years[0]}–{years[-1]}" if len(years) > 1 else (f", {years[0]}" if years else "")
    lede = (
        f"{len(documents)} document{'s' if len(documents) != 1 else ''}{span}; stance toward "
        + ", ".join(html.escape(target_label(t)) for t in targets)
        + " judged sentence by sentence and summarised by section and by document. A title opens the document's "
        "page: its stance across sections with the evidence sentences, its actors and its network."
    )
    contents = [
        ("documents", "Documents"),
        ("years", "Stance across years"),
        ("network", "Corpus network"),
        ("evaluation", "How well the stance method scores"),
        ("provenance", "Provenance"),
    ]
    nav = "".join(f'<li><a href="#{anchor}">{name}</a></li>' for anchor, name in contents)
    body = [
        f"<header><h1>{html.escape(config.title)}</h1><p>{lede}</p></header>",
        f"<nav><h2>Contents</h2><ol>{nav}</ol></nav>",
        "<main>",
        _documents_section(inputs, documents, targets=targets),
        _years_section(inputs, targets=targets),
        _network_section(inputs),
        _evaluation_section(inputs.evaluation, inputs.stance, targets=targets),
        f'<section id="provenance"><h2>Provenance</h2>{_provenance(inputs.provenance)}</section>',
        "</main>",
    ]
    return page(html.escape(config.title), "\n".join(body), css=INDEX_CSS, script=SORT_SCRIPT)


# ---------------------------------------------------------------------------------------------------- index parts


def _documents_section(inputs: ReportInputs, documents: Sequence[Record], *, targets: Sequence[str]) -> str:
    """The documents table, by year (oldest first, then title; a document without a year last), one row each."""
    by_document: dict[tuple[str, str], Record] = {
        (str(row["doc_id"]), str(row["target"])): row for row in inputs.stance_by_document.to_dict("records")
    }
    header = ['<th data-numeric title="Year">Year</th>', "<th>Author</th>", "<th>Title</th>"]
    for target in targets:
        label = html.escape(target_label(target))
        header.append(f'<th data-numeric title="Stance index toward {label} [95% interval]">{label}</th>')
        header.append(f'<th data-numeric title="Sentences referring to {label}">n</th>')
    rows, starts, previous = [], [], None
    for document in documents:
        year = _year(document.get("year"))
        start = year != previous
        previous = year
        anchor = f"year-{year or 'unknown'}"
        if start:
            starts.append((anchor, year or "no year"))
        author = document.get("author")
        author = author if isinstance(author, str) and author.strip() else document.get("speaker")
        cells = [
            f'<td data-v="{year}">{year or "—"}</td>',
            f"<td>{_e(author)}</td>",
            f'<td><a href="{page_href(document["doc_id"])}">{_name(document)}</a></td>',
        ]
        for target in targets:
            row = by_document.get((str(document["doc_id"]), target))
            index = None if row is None or not _int(row["n"]) else finite_number(row["stance_index"])
            if index is None:
                cells.append('<td data-v="">—</td>')
            else:
                interval = _interval(row["index_ci_low"], row["index_ci_high"])  # type: ignore[index]
                cells.append(f'<td data-v="{index:.4f}">{_signed(index)} <span class="ci">{interval}</span></td>')
            cells.append(f"<td>{0 if row is None else _int(row['n'])}</td>")
        attributes = f' id="{anchor}" class="year-start"' if start else ""
        rows.append(f"<tr{attributes}>{''.join(cells)}</tr>")
    jump = " ".join(f'<a href="#{anchor}">{name}</a>' for anchor, name in starts)
    note = (
        "Stance index (pro − anti) / sentences referring to the target (−1 all anti … +1 all pro) of each whole "
        "document, corrected for the classifier's measured errors, with its 95% interval in brackets; n is the "
        "number of sentences judged to refer to the target; — where none does. "
        + interval_note(inputs.stance["method"])
        + " A click on a column header sorts the table by it (again: the other way)."
    )
    return (
        '<section id="documents"><h2>Documents</h2>'
        f'<p class="years">Years: {jump}</p><p class="note">{note}</p>'
        f'<table class="documents grouped"><thead><tr>{"".join(header)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _years_section(inputs: ReportInputs, *, targets: Sequence[str]) -> str:
    """Per target, the documents' indices spread over their years and the year's index; then the years' table."""
    parts = ['<section id="years"><h2>Stance across years</h2>']
    by_document = inputs.stance_by_document
    dated = by_document[by_document["year"].notna() & (by_document["n"] > 0)]
    by_year = stance_by_year(by_document)
    if dated.empty:
        parts.append('<p class="none">No document with a year has a sentence that refers to a target.</p></section>')
        return "".join(parts)
    parts.append(
        '<p class="note">Each point is one document\'s stance index with its 95% interval (hollow: it rests on a '
        "single sentence), the documents of a year spread across its width in title order; the black line joins the "
        "years' indices, each year's documents weighted by their sentences that refer to the target (no interval: "
        "the documents of a year differ in kind and length). " + interval_note(inputs.stance["method"]) + "</p>"
    )
    colors = target_colors(targets)
    for target in targets:
        label = target_label(target)
        rows = dated[dated["target"] == target]
        if rows.empty:
            parts.append(f'<p class="none">No document with a year refers to {html.escape(label)}.</p>')
            continue
        figure = stance_across_years_figure(
            rows, by_year[by_year["target"] == target], target=target, color=colors[target]
        )
        alt = f"Stance index toward {label} per document and year, with 95% intervals"
        count = "1 document with a year refers" if len(rows) == 1 else f"{len(rows)} documents with a year refer"
        parts.append(_figure(figure, alt, f"Stance toward {html.escape(label)}: {count} to it."))
    year_rows = [
        [
            str(r["year"]),
            _swatch(str(r["target"]), colors),
            *(str(_int(r[c])) for c in ("documents", "n", "n_pro", "n_anti", "n_neutral")),
            _signed(r["stance_index"]),
        ]
        for r in by_year.to_dict("records")
    ]
    header = ["Year", "Target", "documents", "n", "pro", "anti", "neutral", "index"]
    parts.append(_table(header, year_rows, numeric=[0, *range(2, 8)], css="stance"))
    parts.append("</section>")
    return "".join(parts)


def _network_section(inputs: ReportInputs) -> str:
    """The corpus co-mention network: its figure and its most connected actors."""
    parts = ['<section id="network"><h2>Corpus network</h2>']
    nodes = inputs.network_nodes[inputs.network_nodes["scope"] == "corpus"]
    if nodes.empty:
        parts.append(
            '<p class="none">No actor is mentioned often enough in the corpus to be a node of its co-mention network '
            "(<code>min_count</code>, <code>configs/network.yaml</code>).</p></section>"
        )
        return "".join(parts)
    if inputs.corpus_network_png:
        caption = (
            "The corpus's most connected actors, linked when they are mentioned together (windows as configured for "
            "the network stage); the whole network is in <code>exports/corpus.*.graphml</code> and "
            "<code>.gexf</code>."
        )
        parts.append(_figure(inputs.corpus_network_png, "Co-mention network of the corpus", caption))
    top = nodes.sort_values(
        ["weighted_degree", "mentions", "entity_id"], ascending=[False, False, True], kind="stable"
    ).head(CORPUS_ACTORS)
    rows = [
        [
            _e(r["name"], html.escape(str(r["entity_id"]))),
            _e(r["label"]),
            *(str(_int(r[c])) for c in ("mentions", "degree")),
            f"{float(r['weighted_degree']):.0f}",
            str(_int(r["community"])),
        ]
        for r in top.to_dict("records")
    ]
    header = ["Actor", "label", "mentions", "actors linked", "co-mentions", "community"]
    parts.append(f'<p class="note">The {len(rows)} actors with the most co-mentions in the corpus.</p>')
    parts.append(_table(header, rows, numeric=range(2, 6), css="actors"))
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------- figure


def stance_across_years_figure(
    stance_by_document: pd.DataFrame, by_year: pd.DataFrame, *, target: str, color: str
) -> bytes:
    """One target's stance index per document (95% interval, hollow when n < 2) placed at its year, the documents of
    a year spread across it in title order, and the year's index (``stance_by_year``) as a line. Its size does not
    grow with the corpus."""
    rows = stance_by_document[stance_by_document["n"] > 0].copy()
    rows["_year"] = rows["year"].astype(int)
    rows = rows.sort_values(["_year", "title", "doc_id"], kind="stable")
    points: list[tuple[float, Record]] = []
    for year, group in rows.groupby("_year", sort=True):
        records = [r for r in group.to_dict("records") if finite_number(r["stance_index"]) is not None]
        spread = min(0.7, 0.06 * (len(records) - 1))
        for k, row in enumerate(records):
            offset = spread * (k / (len(records) - 1) - 0.5) if len(records) > 1 else 0.0
            points.append((int(year) + offset, row))
    years = sorted({int(y) for y in rows["_year"]})
    with _fixed_style():
        figure = Figure(figsize=(9.0, 3.6))
        axes = figure.add_subplot()
        many = len(points) > 300  # a few hundred documents: thinner, fainter intervals, so that the line shows
        alpha = 0.9 if len(points) <= 60 else (0.3 if many else 0.5)
        for hollow in (False, True):
            chosen = [(x, r) for x, r in points if (int(r["n"]) < 2) == hollow]
            if not chosen:
                continue
            means = [float(r["stance_index"]) for _, r in chosen]
            lows = [finite_number(r["index_ci_low"]) for _, r in chosen]
            highs = [finite_number(r["index_ci_high"]) for _, r in chosen]
            errors = [
                [0.0 if low is None else max(0.0, mean - low) for mean, low in zip(means, lows, strict=True)],
                [0.0 if high is None else max(0.0, high - mean) for mean, high in zip(means, highs, strict=True)],
            ]
            axes.errorbar(
                [x for x, _ in chosen],
                means,
                yerr=errors,
                fmt="o",
                color=color,
                mfc="white" if hollow else color,
                ms=3 if many else 4,
                lw=0.6 if many else 0.9,
                alpha=alpha,
            )
        line = by_year.dropna(subset=["stance_index"]).sort_values("year")
        axes.plot(line["year"].astype(int), line["stance_index"], color="#1b1b1b", lw=1.6, marker="D", ms=4)
        axes.axhline(0.0, color="#999999", lw=0.8, zorder=0)
        axes.set_ylim(-1.05, 1.05)
        axes.set_xlim(years[0] - 0.6, years[-1] + 0.6)
        axes.set_xticks(years, [str(y) for y in years], fontsize=7.5, rotation=90 if len(years) > 16 else 0)
        axes.set_ylabel("stance index")
        axes.set_title(f"Stance toward {target_label(target)} across years", fontsize=10, pad=24)
        handles = [
            Line2D([], [], color=color, marker="o", lw=0.9, label="a document (95% interval)"),
            Line2D([], [], color=color, marker="o", mfc="white", lw=0, label="n < 2 (hollow)"),
            Line2D([], [], color="#1b1b1b", marker="D", lw=1.6, label="the year (documents weighted by sentences)"),
        ]
        axes.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize=8, frameon=False)
        figure.tight_layout()
        return _png(figure)
