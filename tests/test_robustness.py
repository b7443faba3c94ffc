"""Any corpus runs to the end: ``python -m pipeline all`` on a one-line text, a text without actors, off-topic prose,
the chapter among such texts, and random pieces of the chapter finishes with every artifact readable (with its full
schema), valid GraphML/GEXF exports and a report that says in words what a document lacks.

What a user sees in each case is listed in docs/robustness.md; the messages there are checked here word for word.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.config import StanceConfig, load_config
from pipeline.core.schemas import SCHEMAS
from tests.conftest import CHAPTER, CHAPTER_ID, CONFIGS, ROOT, run_pipeline
from tests.report.test_stage import document_part

OFFTOPIC = ROOT / "tests" / "offtopic"
ONE_ACTOR = "Poland is a country.\n"
NO_ACTOR = "The weather was fine and the crops grew well in the valley this year.\n"
# two actors mentioned twice each, never in the same sentence or paragraph
APART = "Russia is large. Russia is cold.\n\nUkraine is large. Ukraine is warm.\n"
TOGETHER = "Russia and Ukraine met in Minsk. Russia and Ukraine talked for hours.\n"
ONE_TARGET = "Russia is large and Russia is cold.\n"
WINDOWS = ("sentence", "paragraph", "signed")

ANY_TARGET = "Belarus, EU, Russia or Ukraine"  # the targets of configs/stance.yaml, as the report names them
NO_TARGET_SENTENCE = f"No sentence in this document refers to {ANY_TARGET}."
TOO_FEW_ACTORS = (
    "Fewer than two actors are mentioned often enough in this document to be nodes of a co-mention network (each "
    "needs <code>min_count</code> body mentions, <code>configs/network.yaml</code>), so it has none."
)
NOT_TOGETHER = (
    "No two actors are mentioned together in this document (in one sentence or paragraph, the windows of "
    "<code>configs/network.yaml</code>), so it has no co-mention network."
)
NO_ACTOR_MENTIONED = "No actor is mentioned in the body of this document."


def layout_warning(path: Path, *, title_from: str, headings: int = 0) -> str:
    """The warning line of a text that is not laid out as an OSCE Yearbook chapter."""
    sections = (
        "no heading found, so the whole text is one section"
        if headings == 0
        else f"sections split only at the {headings} short title-case lines taken as headings"
    )
    return (
        f"warning: {path}: layout not recognised as an OSCE Yearbook chapter (no running citation line with a page"
        f" range); title taken from {title_from}; {sections}"
    )


def run_all(texts: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``python -m pipeline all``, checked to finish: exit 0, no traceback, only progress lines and warnings."""
    result = run_pipeline("all", "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS), check=False)
    assert result.returncode == 0, result.stderr
    assert all(line.startswith(("warning: ", "[")) for line in result.stderr.splitlines()), result.stderr
    return result


def warnings_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def assert_complete(out: Path) -> str:
    """Every artifact reads back with exactly its schema, every document and the corpus have GraphML and GEXF
    exports that networkx reads, and the report is written; returns the report."""
    for name, schema in SCHEMAS.items():
        path = out / f"{name}.parquet"
        files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
        assert files, f"{name} was not written"
        for file in files:
            assert pq.read_schema(file).remove_metadata().equals(schema), file
        pd.read_parquet(path)
    doc_ids = pd.read_parquet(out / "documents.parquet")["doc_id"].tolist()
    for stem in ["corpus", *doc_ids]:
        for window in WINDOWS:
            nx.read_graphml(out / "exports" / f"{stem}.{window}.graphml")
            nx.read_gexf(out / "exports" / f"{stem}.{window}.gexf")
    return (out / "report.html").read_text(encoding="utf-8")


def export(out: Path, stem: str, window: str) -> nx.Graph:
    return nx.read_graphml(out / "exports" / f"{stem}.{window}.graphml")


def one_text(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    (texts / name).write_text(text, encoding="utf-8")
    return texts, out


# ---------------------------------------------------------------------------------------------------- one text


@pytest.mark.slow
def test_one_line_with_one_actor_runs_to_the_report(tmp_path):
    texts, out = one_text(tmp_path, "one.txt", ONE_ACTOR)
    result = run_all(texts, out)
    page = assert_complete(out)
    assert warnings_of(result) == [
        layout_warning(texts / "one.txt", title_from="the file name (no heading-like first line)")
    ]
    assert pd.read_parquet(out / "documents.parquet")["title"].tolist() == ["one"]
    assert pd.read_parquet(out / "mentions.parquet")["entity_id"].tolist() == ["poland"]
    assert pd.read_parquet(out / "network_nodes.parquet").empty, "one mention is below the network's min_count"
    assert pd.read_parquet(out / "network_edges.parquet").empty
    assert (pd.read_parquet(out / "stance.parquet")["label"] == "none").all()
    for stem in ("corpus", "one"):
        for window in WINDOWS:
            assert export(out, stem, window).number_of_nodes() == 0
    assert not (out / "figures" / "one.network.png").exists()
    assert NO_TARGET_SENTENCE in page
    assert f"No sentence in this document refers to {ANY_TARGET}, so no stance label was given." in page
    assert TOO_FEW_ACTORS in page
    assert "<img" not in page, "nothing to draw, so no figure"


@pytest.mark.slow
def test_text_without_any_actor_runs_to_the_report(tmp_path):
    texts, out = one_text(tmp_path, "weather.txt", NO_ACTOR)
    run_all(texts, out)
    page = assert_complete(out)
    assert pd.read_parquet(out / "mentions.parquet").empty
    assert pd.read_parquet(out / "entities.parquet").empty
    assert pd.read_parquet(out / "signed_edges.parquet").empty
    summary = pd.read_parquet(out / "stance_by_section.parquet")
    assert summary["n"].tolist() == [0, 0, 0, 0] and summary["mean_score"].isna().all()
    assert NO_TARGET_SENTENCE in page and NO_ACTOR_MENTIONED in page and TOO_FEW_ACTORS in page


@pytest.mark.slow
def test_actors_never_mentioned_together_give_nodes_and_no_edges(tmp_path):
    texts, out = one_text(tmp_path, "apart.txt", APART)
    run_all(texts, out)
    page = assert_complete(out)
    nodes = pd.read_parquet(out / "network_nodes.parquet")
    assert sorted(nodes.loc[nodes["scope"] == "document", "entity_id"]) == ["russia", "ukraine"]
    assert (nodes["degree"] == 0).all()
    assert pd.read_parquet(out / "network_edges.parquet").empty
    graph = export(out, "apart", "sentence")
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (2, 0)
    assert not (out / "figures" / "apart.network.png").exists()
    assert NOT_TOGETHER in page
    assert "Stance across sections" in page and NO_TARGET_SENTENCE not in page


# ---------------------------------------------------------------------------------------------------- off-topic prose


def typeset(text: str, path: Path) -> Path:
    """A PDF of ``text`` as a word processor sets it: one paragraph after another, a gap between them."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for block in text.strip().split("\n\n"):
        pdf.multi_cell(0, 5.5, block, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def offtopic(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """``all`` over the off-topic texts of tests/offtopic and the software manual among them typeset as a PDF."""
    texts, out = tmp_path_factory.mktemp("offtopic"), tmp_path_factory.mktemp("offtopic_out")
    for path in sorted(OFFTOPIC.glob("*.txt")):
        shutil.copy(path, texts / path.name)
    typeset((OFFTOPIC / "tally-manual.txt").read_text(encoding="utf-8"), texts / "tally-manual-typeset.pdf")
    return texts, out, run_all(texts, out)


@pytest.mark.slow
def test_off_topic_prose_runs_to_the_report(offtopic):
    _, out, _ = offtopic
    page = assert_complete(out)
    assert f"No sentence in any of these documents refers to {ANY_TARGET}." in page
    assert f"No sentence in these documents refers to {ANY_TARGET}, so no stance label was given." in page
    assert page.count(NO_TARGET_SENTENCE) == 5


@pytest.mark.slow
def test_off_topic_texts_take_their_title_from_their_first_heading_like_line(offtopic):
    documents = pd.read_parquet(offtopic[1] / "documents.parquet").set_index("doc_id")
    assert documents["title"].to_dict() == {
        "gettysburg-address": "Address Delivered at the Dedication of the Cemetery at Gettysburg",
        "mit-license": "MIT License",
        "tally-manual": "Tally User Guide",
        "tally-manual-typeset": "tally-manual-typeset",
        "us-constitution-preamble-article-i": "The Constitution of the United States",
    }
    assert documents.loc["tally-manual", "author"] == "Jane Doe", "a byline names the author"
    assert pd.isna(documents.loc["mit-license", "author"]), "'MIT License' is no person's name"
    assert list(documents.loc["mit-license", "front_matter"]) == ["Copyright (c) [year] [fullname]"]
    assert documents["first_page"].isna().all() and documents["citation"].isna().all()


@pytest.mark.slow
def test_off_topic_texts_are_warned_about_their_layout(offtopic):
    texts, out, result = offtopic
    first_line = "its first heading-like line"
    assert sorted(warnings_of(result)) == sorted(
        [
            layout_warning(texts / "gettysburg-address.txt", title_from=first_line),
            layout_warning(texts / "mit-license.txt", title_from=first_line),
            layout_warning(texts / "tally-manual.txt", title_from=first_line, headings=4),
            layout_warning(texts / "us-constitution-preamble-article-i.txt", title_from=first_line),
            # the PDF's text layer has no paragraph gaps wider than its lines: one block, no heading-like first line
            layout_warning(texts / "tally-manual-typeset.pdf", title_from="the file name (no heading-like first line)"),
        ]
    )
    sections = pd.read_parquet(out / "sections.parquet")
    manual = sections.loc[sections["doc_id"] == "tally-manual", "section_title"].tolist()
    assert manual == ["Introduction", "Installing Tally", "Counting Files", "Options", "Reporting Problems"]
    documents = pd.read_parquet(out / "documents.parquet").set_index("doc_id")
    assert all(len(w) == 1 for w in documents["warnings"]), "the same warning is kept with the document"


# ---------------------------------------------------------------------------------------------------- among others


def comparable(part: str) -> str:
    """A report part without its source path and its bootstrap intervals (in the tables and the figure): the
    intervals are drawn from one random stream over the corpus, so they change when documents come before."""
    part = re.sub(r"<dt>Source file</dt><dd><code>[^<]*</code>", "", part)
    return re.sub(r"<img [^>]*>", "<img>", re.sub(r"\[[−+]\d\.\d\d, [−+]\d\.\d\d\]", "[…]", part))


@pytest.mark.slow
def test_one_document_of_each_kind_among_the_chapter(tmp_path, chapter_run):
    """The chapter beside a one-actor, an actor-less, a one-target, an apart and a together text: every part of the
    run is complete, each small text's part of the report says what it lacks, and the chapter's results are those it
    has alone."""
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    small = {"one": ONE_ACTOR, "weather": NO_ACTOR, "russia": ONE_TARGET, "apart": APART, "together": TOGETHER}
    for name, text in small.items():
        (texts / f"{name}.txt").write_text(text, encoding="utf-8")
    run_all(texts, out)
    page = assert_complete(out)
    for name in ("sentences", "mentions", "stance"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet" / f"{CHAPTER_ID}.parquet"),
            pd.read_parquet(chapter_run / f"{name}.parquet" / f"{CHAPTER_ID}.parquet"),
        )
    alone = (chapter_run / "report.html").read_text(encoding="utf-8")
    assert comparable(document_part(page, CHAPTER_ID)) == comparable(document_part(alone, CHAPTER_ID))
    assert (out / "exports" / f"{CHAPTER_ID}.sentence.graphml").read_bytes() == (
        chapter_run / "exports" / f"{CHAPTER_ID}.sentence.graphml"
    ).read_bytes()
    assert f"No sentence in 2 of the 6 documents refers to {ANY_TARGET}: one; weather." in page
    assert "<li>Ukraine: no sentence in this document refers to it.</li>" in document_part(page, "russia")
    assert TOO_FEW_ACTORS in document_part(page, "one") and NO_TARGET_SENTENCE in document_part(page, "one")
    assert NO_ACTOR_MENTIONED in document_part(page, "weather")
    assert NOT_TOGETHER in document_part(page, "apart")
    assert "Co-mentions" not in document_part(page, "apart")
    assert "<img" in document_part(page, "together"), "two actors mentioned together: a network figure"
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["corpus.network.png", f"{CHAPTER_ID}.network.png", "together.network.png"]
    edges = pd.read_parquet(out / "network_edges.parquet")
    assert set(edges.loc[edges["scope"] == "document", "scope_id"]) == {CHAPTER_ID, "together"}


# ---------------------------------------------------------------------------------------------------- property


@cache
def chapter_sentences() -> tuple[str, ...]:
    """The body sentences of the chapter, as the pipeline's own parse splits them."""
    with tempfile.TemporaryDirectory() as folder:
        texts, out = Path(folder) / "texts", Path(folder) / "out"
        texts.mkdir()
        shutil.copy(CHAPTER, texts / CHAPTER.name)
        for stage in ("ingest", "parse"):
            run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS))
        sentences = pd.read_parquet(out / "sentences.parquet")
    return tuple(sentences.loc[sentences["zone"] == "body", "text"])


@st.composite
def pieces_of_the_chapter(draw) -> str:
    """Some of the chapter's sentences in reading order, in paragraphs of random length, as a text file's content."""
    sentences = chapter_sentences()
    picked = sorted(draw(st.sets(st.integers(0, len(sentences) - 1), min_size=1, max_size=12)))
    breaks = draw(st.lists(st.booleans(), min_size=len(picked), max_size=len(picked)))
    text = ""
    for index, paragraph_ends in zip(picked, breaks, strict=True):
        text += sentences[index] + ("\n\n" if paragraph_ends else " ")
    return text.strip() + "\n"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(text=pieces_of_the_chapter())
def test_any_pieces_of_the_chapter_run_to_the_report(text):
    with tempfile.TemporaryDirectory() as folder:
        texts, out = Path(folder) / "texts", Path(folder) / "out"
        texts.mkdir()
        (texts / "pieces.txt").write_text(text, encoding="utf-8")
        run_all(texts, out)
        page = assert_complete(out)
        paragraphs = pd.read_parquet(out / "paragraphs.parquet")["text"]
        assert all(_words(paragraph) in _words(text) for paragraph in paragraphs), "paragraphs come from the text"
        sentences = pd.read_parquet(out / "sentences.parquet")
        stance = pd.read_parquet(out / "stance.parquet")
        targets = len(load_config(StanceConfig, CONFIGS).targets)
        assert len(stance) == targets * int((sentences["zone"] == "body").sum()), "each body sentence judged"
        assert 'id="doc-pieces"' in page
