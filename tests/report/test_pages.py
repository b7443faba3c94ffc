"""The report of a corpus: the index and the document pages on a real pipeline run of three documents (the chapter
and two dev texts with their METADATA.tsv rows), checked as files and in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from pipeline.report.pages import page_href
from tests.conftest import CHAPTER, CHAPTER_ID, CONFIGS, DEV_CORPUS, copy_configs, run_pipeline
from tests.report.test_stage import elements, page_errors, run_chromium

DEV_TEXTS = (
    "Kremlin_2017-08-22_Normandy_four_telephone_conversation_statement.txt",
    "WhiteHouse_2021-08-09_Biden_statement_on_Belarus.txt",
)
STAGES = ("ingest", "parse", "entities", "stance", "network", "report")
EXTERNAL = re.compile(r"^\s*(https?:|ftp:|//|file:)", re.IGNORECASE)


def write_texts(texts: Path, names: tuple[str, ...] = DEV_TEXTS) -> None:
    """The chapter and the named dev texts, with the dev texts' rows of the corpus's METADATA.tsv (their years)."""
    texts.mkdir(parents=True, exist_ok=True)
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    lines = (DEV_CORPUS.parent / "METADATA.tsv").read_text(encoding="utf-8").splitlines()
    (texts / "METADATA.tsv").write_text(
        "\n".join([lines[0], *(line for line in lines[1:] if line.split("\t", 1)[0] in names)]) + "\n",
        encoding="utf-8",
    )
    for name in names:
        shutil.copy(DEV_CORPUS / name, texts / name)


def run_all(texts: Path, out: Path, configs: Path = CONFIGS, stages: tuple[str, ...] = STAGES) -> None:
    for stage in stages:
        run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(configs))


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> Path:
    """The whole pipeline on the three documents; returns the output folder."""
    root = tmp_path_factory.mktemp("report_pages")
    write_texts(root / "texts")
    run_all(root / "texts", root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def documents(corpus_run) -> pd.DataFrame:
    return pd.read_parquet(corpus_run / "documents.parquet")


def pages(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "report").iterdir())}


def document_rows(index: str) -> list[list[str]]:
    """The cells' text of each row of the index's documents table."""
    body = index.split('<table class="documents grouped">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def test_every_document_has_a_page_and_a_row_of_the_index_by_year(corpus_run, documents):
    names = sorted(p.name for p in (corpus_run / "report").iterdir())
    assert names == sorted(["index.html", *(f"{d}.html" for d in documents["doc_id"])])
    index = (corpus_run / "report" / "index.html").read_text(encoding="utf-8")
    rows = document_rows(index)
    assert len(rows) == len(documents) == 3
    years = [int(row[0]) for row in rows]
    assert years == sorted(years) == [2017, 2017, 2021], "oldest first"
    links = re.findall(r'<td><a href="([^"]+)">', index)
    assert sorted(links) == sorted(page_href(d) for d in documents["doc_id"])
    by_document = pd.read_parquet(corpus_run / "stance_by_document.parquet")
    chapter = by_document[(by_document["doc_id"] == CHAPTER_ID) & (by_document["target"] == "russia")].iloc[0]
    index_value = f"{round(float(chapter['stance_index']), 2) + 0.0:+.2f}".replace("-", "−")
    low = f"{round(float(chapter['index_ci_low']), 2) + 0.0:+.2f}".replace("-", "−")
    row = next(r for r in rows if CHAPTER_ID in "".join(r))
    assert any(cell.startswith(f'{index_value} <span class="ci">[{low}, ') for cell in row)
    assert str(int(chapter["n"])) in row
    for section in ("documents", "years", "network", "evaluation", "provenance"):
        assert f'<section id="{section}">' in index, section
    assert index.count("<img ") == 4 + 1, "a figure per target across years and the corpus network"


def test_the_document_page_holds_the_documents_part_of_the_one_page_report(corpus_run):
    single = (corpus_run / "report.html").read_text(encoding="utf-8")
    assert single.count('<section class="document"') == 3, "3 documents: still one page below the limit"
    for doc_id in pd.read_parquet(corpus_run / "documents.parquet")["doc_id"]:
        own = (corpus_run / "report" / page_href(doc_id)).read_text(encoding="utf-8")
        start = f'<section class="document" id="doc-{doc_id}">'
        part = single.split(start, 1)[1].split("</section>", 1)[0]
        assert own.split(start, 1)[1].split("</section>", 1)[0] == part
        assert '<a href="index.html">All documents</a>' in own


def test_no_page_loads_or_links_anything_from_outside(corpus_run):
    for path in [corpus_run / "report.html", *sorted((corpus_run / "report").iterdir())]:
        page = elements(path.read_text(encoding="utf-8"))
        for tag, attrs in page.tags:
            assert tag not in ("link", "iframe", "object", "embed", "base", "frame"), (path.name, tag)
            for name in ("src", "href", "srcset", "action", "poster", "data", "background", "formaction"):
                assert not EXTERNAL.match(attrs.get(name, "")), (path.name, tag, attrs.get(name, "")[:60])
            assert not (tag == "script" and "src" in attrs), path.name
        style = " ".join(page.styles)
        assert "@import" not in style and "url(" not in style and "@font-face" not in style, path.name


def dom_links(dom: str) -> tuple[list[str], set[str]]:
    """The links (href of every <a>) and the element ids of a page as the browser built it."""
    page = elements(dom)
    return [attrs["href"] for tag, attrs in page.tags if tag == "a"], {a["id"] for _, a in page.tags if "id" in a}


@pytest.mark.slow
@pytest.mark.browser
def test_every_link_of_the_index_and_of_the_document_pages_resolves_in_the_browser(chromium, corpus_run, tmp_path):
    folder = corpus_run / "report"
    doms: dict[Path, str] = {}

    def dom(path: Path) -> str:
        if path not in doms:
            url = path.as_uri()
            done = run_chromium(chromium, tmp_path / f"profile-{len(doms)}", url, "--dump-dom")
            assert page_errors(done.stderr, url) == [], path.name
            doms[path] = done.stdout
        return doms[path]

    checked = 0
    for path in [folder / "index.html", *sorted(folder.glob("*.html")), corpus_run / "report.html"]:
        links, ids = dom_links(dom(path))
        assert links, path.name
        for href in links:
            assert not EXTERNAL.match(href), (path.name, href)
            target, _, fragment = href.partition("#")
            linked = (path.parent / urllib.parse.unquote(target)).resolve() if target else path
            assert linked.is_file(), f"{path.name}: {href} names no file"
            if fragment:
                assert urllib.parse.unquote(fragment) in (dom_links(dom(linked))[1] if target else ids), (
                    f"{path.name}: {href} names no element"
                )
            checked += 1
    assert checked > 50


@pytest.mark.slow
@pytest.mark.browser
def test_a_click_on_a_column_header_sorts_the_documents(chromium, corpus_run, tmp_path):
    index = (corpus_run / "report" / "index.html").read_text(encoding="utf-8")
    clicks = (
        "<script>var heads = document.querySelectorAll('table.documents th');"
        "var russia = Array.prototype.find.call(heads, function (h) { return h.textContent === 'Russia'; });"
        "russia.click(); russia.click();</script>"
    )
    page = tmp_path / "clicked.html"
    page.write_text(index.replace("</body>", clicks + "</body>"), encoding="utf-8")
    done = run_chromium(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom")
    assert page_errors(done.stderr, page.as_uri()) == []
    assert 'aria-sort="descending"' in done.stdout
    body = done.stdout.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    header = re.findall(r"<th[^>]*>(.*?)</th>", done.stdout.split("<thead>", 1)[1].split("</thead>", 1)[0])
    column = header.index("Russia")
    values = [re.findall(r"<td([^>]*)>", row)[column] for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]
    numbers = [float(v.split('data-v="', 1)[1].split('"', 1)[0] or "nan") for v in values]
    known = [n for n in numbers if n == n]
    assert known == sorted(known, reverse=True) and len(known) == 2, "highest first, the missing one last"
    assert numbers[-1] != numbers[-1]


def test_a_removed_documents_page_goes_on_the_next_run(corpus_run, documents, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(corpus_run, out)
    write_texts(tmp_path / "texts", names=DEV_TEXTS[:1])
    run_all(tmp_path / "texts", out)
    removed = (set(documents["doc_id"]) - set(pd.read_parquet(out / "documents.parquet")["doc_id"])).pop()
    assert not (out / "report" / page_href(removed)).exists()
    assert len(list((out / "report").glob("*.html"))) == 3, "the index and two documents"
    assert removed not in (out / "report" / "index.html").read_text(encoding="utf-8")


def test_the_same_inputs_give_the_same_pages(corpus_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(corpus_run, out)
    run_all(corpus_run.parent / "texts", out, stages=("report",))
    assert pages(out) == pages(corpus_run)
    assert (out / "report.html").read_bytes() == (corpus_run / "report.html").read_bytes()


def test_above_the_limit_report_html_points_to_the_index(corpus_run, tmp_path):
    configs = copy_configs(tmp_path / "configs")
    report_yaml = configs / "report.yaml"
    text = report_yaml.read_text(encoding="utf-8")
    report_yaml.write_text(text.replace("single_page_max_documents: 30", "single_page_max_documents: 1"))
    out = tmp_path / "out"
    shutil.copytree(corpus_run, out)
    run_all(corpus_run.parent / "texts", out, configs=configs, stages=("report",))
    pointer = (out / "report.html").read_text(encoding="utf-8")
    assert '<a href="report/index.html">report/index.html</a>' in pointer
    assert "This corpus has 3 documents, more than one page shows" in pointer
    assert 'class="document"' not in pointer and "<img" not in pointer and len(pointer) < 10_000
    assert pages(out) == pages(corpus_run), "the index and the document pages do not depend on the limit"
    summary = json.loads((out / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["report"]["counts"]["done"] == 1
