"""Report on the real chapter (pipeline run into a temp folder): safety, determinism, and in headless Chromium."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from pipeline.bench_scale import CHROMIUM_FLAGS  # the bench opens the report as these tests do
from pipeline.core.artifacts import Layout, read_table
from pipeline.core.config import ReportConfig, load_config
from pipeline.core.errors import PipelineError
from pipeline.report.figures import compare_table, stance_by_section_figure
from pipeline.report.stage import (
    REPORT_TABLES,
    ReportInputs,
    highlight_cues,
    render_report,
    stance_by_year,
    top_actors,
)
from tests.conftest import CHAPTER, CHAPTER_ID, CONFIGS, ROOT, run_pipeline
from tests.ingest.test_stage import EXPECTED_SECTIONS as SECTION_TITLES

PROVENANCE = {
    "code_version": "0.1.0+test",
    "config_hash": "0123456789abcdef",
    "models": "spacy-test",
    "date": "2024-05-01",
}
TABLES = REPORT_TABLES
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def network_png() -> bytes:
    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1, 2], [1, 0, 1], marker="o")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@pytest.fixture(scope="module")
def report_config():
    return load_config(ReportConfig, CONFIGS)


@pytest.fixture(scope="module")
def chapter_inputs(tmp_path_factory) -> ReportInputs:
    """Every stage up to the network on the chapter alone, read back as the report's inputs."""
    texts = tmp_path_factory.mktemp("report_texts")
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    out = tmp_path_factory.mktemp("report_out")
    for stage in ("ingest", "parse", "entities", "stance", "network"):
        run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS))
    layout = Layout(out)
    frames = {name: read_table(layout.table(name), name=name) for name in TABLES}
    evaluation = json.loads((ROOT / "models" / "stance_learned_minilm.json").read_text(encoding="utf-8"))
    return ReportInputs(
        **frames, network_pngs={CHAPTER_ID: network_png()}, evaluation=evaluation, provenance=PROVENANCE
    )


@pytest.fixture(scope="module")
def chapter_html(chapter_inputs, report_config) -> str:
    return render_report(chapter_inputs, config=report_config)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def elements(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


# ---------------------------------------------------------------------------------------------------- the page


@pytest.mark.slow
def test_section_titles_appear_escaped(chapter_html):
    for title in SECTION_TITLES:
        assert html.escape(title) in chapter_html, title
    details = [attrs for tag, attrs in elements(chapter_html).tags if tag == "details"]
    assert len(details) == len(SECTION_TITLES), "one evidence block per section"


@pytest.mark.slow
def test_figures_are_inline_png_data_uris(chapter_html, chapter_inputs):
    sources = [attrs["src"] for tag, attrs in elements(chapter_html).tags if tag == "img"]
    assert len(sources) == 2, "the stance-by-section figure and the network figure"
    prefix = "data:image/png;base64,"
    for source in sources:
        assert source.startswith(prefix)
        data = base64.b64decode(source[len(prefix) :], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    network = base64.b64encode(chapter_inputs.network_pngs[CHAPTER_ID]).decode()
    assert any(source.endswith(network) for source in sources)


@pytest.mark.slow
def test_nothing_is_loaded_from_outside(chapter_html):
    page = elements(chapter_html)
    loading = ("src", "href", "srcset", "action", "poster", "data", "background", "xlink:href", "formaction")
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base", "frame"), tag
        for name in loading:
            value = attrs.get(name, "").strip().lower()
            assert not re.match(r"^(https?:|ftp:|//)", value), f"<{tag} {name}={value[:60]}>"
        if tag == "script":
            assert "src" not in attrs
        if tag == "a":
            assert attrs["href"].startswith("#"), attrs["href"]
    style = " ".join(page.styles)
    assert "@import" not in style and "url(" not in style and "@font-face" not in style


@pytest.mark.slow
def test_every_internal_link_has_a_target(chapter_html):
    page = elements(chapter_html)
    ids = {attrs["id"] for _, attrs in page.tags if "id" in attrs}
    links = [attrs["href"][1:] for tag, attrs in page.tags if tag == "a"]
    assert links, "the table and the glance link to evidence"
    assert sorted(set(links) - ids) == []
    assert len(ids) == len([1 for _, attrs in page.tags if "id" in attrs]), "ids are unique"


@pytest.mark.slow
def test_source_text_is_escaped(chapter_inputs, report_config):
    stance = chapter_inputs.stance.copy()
    shown = stance[stance["label"] == "pro"].sort_values("score", ascending=False).index[0]
    stance.loc[shown, "text"] = "<script>alert(1)</script> " + str(stance.loc[shown, "text"])
    sections = chapter_inputs.sections.copy()
    sections.loc[sections.index[0], "section_title"] = "Intro <img src=x onerror=alert(2)>"
    documents = chapter_inputs.documents.copy()
    documents.loc[documents.index[0], "title"] = "A & B <b>bold</b>"
    entities = chapter_inputs.entities.copy()
    entities.loc[entities["entity_id"] == "belarus", "name"] = "Belarus <i>"
    inputs = replace(chapter_inputs, stance=stance, sections=sections, documents=documents, entities=entities)
    page = render_report(inputs, config=report_config)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "Intro &lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>bold</b>" not in page and "A &amp; B &lt;b&gt;bold&lt;/b&gt;" in page
    assert "Belarus <i>" not in page and "Belarus &lt;i&gt;" in page
    scripts = [tag for tag, _ in elements(page).tags if tag == "script"]
    assert scripts == ["script"], "only the report's own toggling script"


@pytest.mark.slow
def test_rendering_twice_gives_identical_bytes(chapter_inputs, report_config, chapter_html):
    again = render_report(chapter_inputs, config=report_config)
    assert again.encode() == chapter_html.encode()


@pytest.mark.slow
def test_glance_names_the_most_critical_and_most_supportive_sections(chapter_inputs, chapter_html):
    summary = chapter_inputs.stance_by_section
    eligible = summary[summary["n"] >= 2]
    russia = eligible[eligible["target"] == "russia"].sort_values("stance_index").iloc[0]
    ukraine = eligible[eligible["target"] == "ukraine"].sort_values("stance_index").iloc[-1]
    assert russia["stance_index"] < 0 and ukraine["stance_index"] > 0, "the chapter's real extremes have these signs"
    glance = chapter_html.split('class="glance"', 1)[1].split("</div>", 1)[0]
    for label, row, target in (
        ("Most critical of Russia", russia, "russia"),
        ("most supportive of Ukraine", ukraine, "ukraine"),
    ):
        anchor = f"doc-{CHAPTER_ID}-s-{int(row['section_index'])}-{target}"
        expected = f'{label}:</strong> <a href="#{anchor}">§{int(row["section_index"]) + 1} '
        assert expected + html.escape(str(row["section_title"])) + "</a>" in glance
        assert f"n = {int(row['n'])}" in glance
        index = f"{round(float(row['stance_index']), 2) + 0.0:+.2f}".replace("-", "−")
        low = f"{round(float(row['index_ci_low']), 2) + 0.0:+.2f}".replace("-", "−")
        assert f"index {index}, 95% interval [{low}, " in glance
    assert "includes both the sampling of the group's sentences and the classifier's error" in chapter_html


@pytest.mark.slow
def test_evidence_lists_the_strongest_sentences_with_marks(chapter_inputs, chapter_html, report_config):
    stance = chapter_inputs.stance
    strongest_anti = stance[(stance["label"] == "anti") & (stance["target"] == "russia")].nsmallest(1, "score")
    row = strongest_anti.iloc[0]
    cell = chapter_html.split(f'id="doc-{CHAPTER_ID}-s-{int(row["section_index"])}-russia"', 1)[1]
    anti_column = cell.split("Strongest pro", 1)[0]
    plain = re.sub(r"</?mark[^>]*>", "", anti_column)
    assert html.escape(str(row["text"])) in plain
    assert "<mark" in anti_column
    assert anti_column.count("<li>") <= report_config.evidence_per_cell


@pytest.mark.slow
def test_evaluation_table_names_the_method_used(chapter_html, chapter_inputs):
    section = chapter_html.split('id="evaluation"', 1)[1]
    scores = chapter_inputs.evaluation["scores"]
    learned = scores["learned"]["held-out dev documents"]["pooled"]
    rules = scores["rules"]["held-out dev documents"]["pooled"]
    assert f"{learned['macro_f1']:.2f}" in section and f"{rules['kappa']:.2f}" in section
    rows = section.split("<tr>")
    assert any("learned" in r and "this report" in r for r in rows)
    assert not any(r.startswith("<td>rules") and "this report" in r for r in rows)


@pytest.mark.slow
def test_report_without_network_figure_or_evaluation(chapter_inputs, report_config):
    inputs = replace(chapter_inputs, network_pngs={}, evaluation=None, provenance={})
    page = render_report(inputs, config=report_config)
    assert "No network figure was produced" in page
    assert "No evaluation card was given" in page
    assert len([1 for tag, _ in elements(page).tags if tag == "img"]) == 1


def document_part(page: str, doc_id: str) -> str:
    return page.split(f'<section class="document" id="doc-{doc_id}">', 1)[1].split("</section>", 1)[0]


@pytest.mark.slow
def test_each_document_shows_only_its_own_rows(chapter_inputs, report_config, chapter_html):
    """A second document with the chapter's rows leaves the chapter's part as it was (no rows counted twice)."""
    copied = {}
    for name in TABLES:
        frame = getattr(chapter_inputs, name)
        if "doc_id" in frame.columns:
            frame = pd.concat([frame, frame.assign(doc_id="copy")], ignore_index=True)
        elif "scope_id" in frame.columns:  # the network tables: the chapter's document scope again, for the copy
            mine = frame[(frame["scope"] == "document") & (frame["scope_id"] == CHAPTER_ID)]
            frame = pd.concat([frame, mine.assign(scope_id="copy")], ignore_index=True)
        copied[name] = frame
    inputs = replace(chapter_inputs, **copied)
    page = render_report(inputs, config=report_config)
    assert 'id="corpus"' in page
    assert document_part(page, CHAPTER_ID) == document_part(chapter_html, CHAPTER_ID)
    assert "No network figure was produced" in document_part(page, "copy")


def quiet_copy(chapter_inputs: ReportInputs) -> ReportInputs:
    """The chapter beside a copy of its text that refers to no target and mentions no actor."""
    quiet = {}
    for name in ("documents", "sections", "sentences", "stance", "stance_by_section", "stance_by_document"):
        frame = getattr(chapter_inputs, name)
        copy = frame.assign(doc_id="quiet")
        if name in ("documents", "stance_by_document"):
            copy = copy.assign(title="A quiet text")
        if name == "stance":
            copy = copy.assign(label="none", score=0.0, holder=None, evidence=[[]] * len(copy))
        if name.startswith("stance_by"):
            copy = copy.assign(
                n=0, n_pro=0, n_anti=0, n_neutral=0, mean_score=math.nan, ci_low=math.nan, ci_high=math.nan
            )
        quiet[name] = pd.concat([frame, copy], ignore_index=True)
    return replace(chapter_inputs, **quiet)


ANY_TARGET = "Belarus, EU, Russia or Ukraine"  # the targets of configs/stance.yaml, as the report names them


@pytest.mark.slow
def test_a_document_without_targets_or_actors_says_so_in_words(chapter_inputs, report_config, chapter_html):
    page = render_report(quiet_copy(chapter_inputs), config=report_config)
    part = document_part(page, "quiet")
    assert (
        f'<div class="glance"><h3>At a glance</h3><p>No sentence in this document refers to {ANY_TARGET}.</p>' in part
    )
    assert f"No sentence in this document refers to {ANY_TARGET}, so there is no stance to compare." in part
    assert "<img" not in part and 'class="stance"' not in part and "Evidence by section" not in part
    assert "No actor is mentioned in the body of this document." in part
    assert "Fewer than two actors are mentioned often enough in this document" in part
    assert f"No sentence in 1 of the 2 documents refers to {ANY_TARGET}: A quiet text." in page
    assert document_part(page, CHAPTER_ID) == document_part(chapter_html, CHAPTER_ID)


@pytest.mark.slow
def test_actors_never_mentioned_together_are_said_to_be(chapter_inputs, report_config):
    """The chapter's nodes without its edges: its part says that no two actors are mentioned together."""
    page = render_report(
        replace(chapter_inputs, network_edges=chapter_inputs.network_edges.iloc[:0]), config=report_config
    )
    assert (
        '<h3>Co-mention network</h3><p class="none">No two actors are mentioned together in this document (in one '
        "sentence or paragraph, the windows of <code>configs/network.yaml</code>), so it has no co-mention network.</p>"
    ) in page


@pytest.mark.slow
def test_a_corpus_above_the_limit_gets_no_section_figures(chapter_inputs, report_config, chapter_html):
    at_limit = render_report(chapter_inputs, config=replace(report_config, section_figures_max_documents=1))
    assert at_limit == chapter_html
    page = render_report(chapter_inputs, config=replace(report_config, section_figures_max_documents=0))
    assert len([1 for tag, _ in elements(page).tags if tag == "img"]) == 1, "the network figure only"
    assert "No figure: the report draws one per document for corpora of at most 0 documents" in page
    assert page.count('">evidence</a>') == chapter_html.count('">evidence</a>'), "the stance table stays"


def test_section_figure_bytes_are_deterministic():
    summary = pd.DataFrame(
        {
            "doc_id": "d",
            "section_index": [0, 0, 1, 1],
            "section_title": ["A $x$", "A $x$", "B", "B"],
            "target": ["russia", "ukraine", "russia", "ukraine"],
            "n": [3, 1, 0, 4],
            "n_pro": [1, 1, 0, 2],
            "n_anti": [2, 0, 0, 1],
            "n_neutral": [0, 0, 0, 1],
            "stance_index": [-0.4, 0.3, float("nan"), 0.1],
            "index_ci_low": [-0.8, 0.3, float("nan"), -0.2],
            "index_ci_high": [0.0, 0.3, float("nan"), 0.4],
        }
    )
    first, second = stance_by_section_figure(summary), stance_by_section_figure(summary)
    assert first.startswith(PNG_SIGNATURE) and first == second
    assert b"Software" not in first and b"matplotlib" not in first


# ---------------------------------------------------------------------------------------------------- pure parts


def test_highlight_marks_leading_words_case_insensitively():
    text = "Russia’s Aggression against Ukraine; we condemn it & more."
    cues = ["aggression (wrongdoing, target as agent)", "condemn"]
    marked = highlight_cues(text, cues)
    assert '<mark class="rule">Aggression</mark>' in marked
    assert '<mark class="ngram">condemn</mark>' in marked
    assert "&amp; more" in marked
    assert highlight_cues("Condemnation.", ["condemn"]) == "Condemnation.", "whole words only"


def test_highlight_placeholders_match_the_sentence_references_only():
    text = "Moscow’s pressure and the West’s answer"
    marked = highlight_cues(text, ["tgt s", "oth s"], references={"tgt": ["Moscow"], "oth": []})
    assert marked == '<mark class="ngram">Moscow’s</mark> pressure and the West’s answer'
    assert highlight_cues(text, ["tgt s"]) == html.escape(text), "no references, nothing to mark"


def test_highlight_escapes_and_skips_one_letter_words():
    text = "a <b>bold</b> a claim"
    assert highlight_cues(text, ["a", "b"]) == html.escape(text)
    assert highlight_cues(text, ["claim"]) == 'a &lt;b&gt;bold&lt;/b&gt; a <mark class="ngram">claim</mark>'


def test_top_actors_counts_body_mentions_per_section():
    mentions = pd.DataFrame(
        {
            "doc_id": "d",
            "sentence_id": [0, 0, 1, 1, 2, 3],
            "zone": ["body", "body", "body", "footnote", "body", "body"],
            "entity_id": ["russia", "eu", "russia", "eu", "eu", "nato"],
            "text": "x",
        }
    )
    sentences = pd.DataFrame(
        {"doc_id": "d", "sentence_id": [0, 1, 2, 3], "section_index": [0.0, 0.0, 1.0, float("nan")]}
    )
    entities = pd.DataFrame(
        {"entity_id": ["russia", "eu", "nato"], "name": ["Russia", "EU", "NATO"], "label": ["GPE", "ORG", "ORG"]}
    )
    actors = top_actors(mentions, sentences, entities, limit=1)
    assert actors[["section_index", "name", "mentions"]].values.tolist() == [[0, "Russia", 2], [1, "EU", 1]]


def test_stance_by_year_pools_sentences():
    by_document = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "title": None,
            "year": pd.array([2016, 2016, 2017, None], dtype="Int64"),
            "target": "russia",
            "n": [1, 3, 0, 5],
            "n_pro": [1, 0, 0, 5],
            "n_anti": [0, 3, 0, 0],
            "n_neutral": [0, 0, 0, 0],
            "mean_score": [0.8, -0.4, float("nan"), 0.9],
            "stance_index": [1.0, -0.6, float("nan"), 1.0],
        }
    )
    years = stance_by_year(by_document)
    assert years[["year", "documents", "n"]].values.tolist() == [[2016, 2, 4]]
    assert years["mean_score"].iloc[0] == pytest.approx((0.8 - 3 * 0.4) / 4)
    assert years["stance_index"].iloc[0] == pytest.approx((1.0 - 3 * 0.6) / 4)


def test_compare_table_by_section_and_by_document():
    by_section = pd.DataFrame(
        {
            "doc_id": "d",
            "section_index": [0, 1, 0, 1],
            "section_title": ["Intro", "War", "Intro", "War"],
            "target": ["russia", "russia", "ukraine", "ukraine"],
            "n": [2, 5, 0, 1],
            "n_pro": [1, 0, 0, 1],
            "n_anti": [0, 4, 0, 0],
            "n_neutral": [1, 1, 0, 0],
            "n_reviewed": [0, 2, 0, 1],
            "stance_index": [0.2, -0.6, float("nan"), 0.4],
            "index_ci_low": [0.1, -0.9, float("nan"), 0.4],
            "index_ci_high": [0.3, -0.2, float("nan"), 0.4],
            "sentence_ids": [[1, 2], [3], [], [4]],
        }
    )
    table = compare_table(by_section, by="section", target="russia").splitlines()
    assert table[0].startswith("Stance toward Russia by section in d")
    assert [line.split()[:2] for line in table[3:]] == [["1", "Intro"], ["2", "War"]]
    assert "-0.60" in table[4] and "[-0.90, -0.20]" in table[4] and "######|" in table[4]
    assert table[4].split()[2:4] == ["5", "2"], "n and how many of them were reviewed"
    with pytest.raises(PipelineError, match="unknown target 'belarus'"):
        compare_table(by_section, by="section", target="belarus")
    by_document = by_section.rename(columns={"section_title": "title"}).assign(
        doc_id=["a", "b", "a", "b"], year=[2017, 2015, 2017, 2015]
    )
    lines = compare_table(by_document, by="document", target="russia").splitlines()
    assert [line.split()[:2] for line in lines[3:]] == [["War", "2015"], ["Intro", "2017"]], "by year"
    with pytest.raises(PipelineError, match="stance_by_document"):
        compare_table(by_section, by="document", target="russia")


# ---------------------------------------------------------------------------------------------------- browser


def run_chromium(chromium: str, profile: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def page_errors(stderr: str, url: str) -> list[str]:
    """Console messages and uncaught exceptions from the page, not Chromium's own noise (dbus, GPU, sandbox)."""
    page = url.split("#", 1)[0]
    return [line for line in stderr.splitlines() if ("CONSOLE" in line and page in line) or "Uncaught" in line]


@pytest.fixture(scope="module")
def chapter_page(chapter_html, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report_page") / "report.html"
    path.write_text(chapter_html, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.browser
def test_page_errors_are_detected(chromium, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><title>x</title><script>notDefinedAnywhere();</script>", encoding="utf-8")
    done = run_chromium(chromium, tmp_path / "profile", broken.as_uri(), "--dump-dom")
    assert any("notDefinedAnywhere" in line for line in page_errors(done.stderr, broken.as_uri()))


@pytest.mark.slow
@pytest.mark.browser
def test_chromium_renders_the_report_without_errors(chromium, chapter_page, tmp_path):
    url = chapter_page.as_uri()
    done = run_chromium(chromium, tmp_path / "profile", url, "--dump-dom")
    for title in SECTION_TITLES:
        assert html.escape(title) in done.stdout, title
    assert 'class="glance"' in done.stdout
    assert page_errors(done.stderr, url) == []


@pytest.mark.slow
@pytest.mark.browser
def test_link_to_evidence_opens_its_section(chromium, chapter_page, tmp_path):
    anchor = f"doc-{CHAPTER_ID}-s-3-russia"
    url = f"{chapter_page.as_uri()}#{anchor}"
    dom = run_chromium(chromium, tmp_path / "profile", url, "--dump-dom").stdout
    opened = re.findall(r'<details id="([^"]+)" open', dom)
    assert opened == [f"doc-{CHAPTER_ID}-s-3"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(
    ("click", "expected"),
    [
        (f'a[href="#doc-{CHAPTER_ID}-s-3-russia"]', [3]),
        ('button[data-details="open"]', list(range(len(SECTION_TITLES)))),
    ],
)
def test_report_script_opens_evidence_on_click(chromium, chapter_html, tmp_path, click, expected):
    """The report's own script, not the browser's fragment navigation: the click's default action is cancelled."""
    clicker = (
        '<script>document.addEventListener("click", function (e) { e.preventDefault(); });'
        f"document.querySelector({json.dumps(click)}).click();</script>"
    )
    page = tmp_path / "clicked.html"
    page.write_text(chapter_html.replace("</body>", clicker + "</body>"), encoding="utf-8")
    done = run_chromium(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom")
    assert page_errors(done.stderr, page.as_uri()) == []
    opened = re.findall(r'<details id="([^"]+)" open', done.stdout)
    assert opened == [f"doc-{CHAPTER_ID}-s-{k}" for k in expected]


def pdf_pages(chromium: str, page: Path, profile: Path) -> int:
    pdf = page.with_suffix(".pdf")
    run_chromium(chromium, profile, page.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))


@pytest.mark.slow
@pytest.mark.browser
def test_printing_opens_every_evidence_block(chromium, chapter_html, tmp_path):
    script = chapter_html.index("<script>")
    variants = {
        "as_is": chapter_html,
        "all_open": chapter_html.replace("<details ", "<details open "),
        "no_script": chapter_html[:script] + chapter_html[chapter_html.index("</script>") + len("</script>") :],
    }
    pages = {}
    for name, text in variants.items():
        (tmp_path / f"{name}.html").write_text(text, encoding="utf-8")
        pages[name] = pdf_pages(chromium, tmp_path / f"{name}.html", tmp_path / f"profile-{name}")
    assert pages["as_is"] == pages["all_open"] > pages["no_script"]


@pytest.mark.slow
@pytest.mark.browser
def test_screenshot_of_the_report(chromium, chapter_page, tmp_path):
    shot = tmp_path / "report.png"
    url = chapter_page.as_uri()
    done = run_chromium(chromium, tmp_path / "profile", url, f"--screenshot={shot}", "--window-size=1280,2000")
    assert page_errors(done.stderr, url) == []
    assert shot.exists() and shot.stat().st_size > 50_000
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100, "a page of text and figures, not a blank canvas"
