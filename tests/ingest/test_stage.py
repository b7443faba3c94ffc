"""Ingest on the real chapter, on the dev corpus, and on generated layouts (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.stage import ingest_text
from tests.conftest import DEV_CORPUS

EXPECTED_SECTIONS = [
    "Introduction",
    "Belarus’ Position on the Ukraine Conflict",
    "Belarus’ Rapprochement with the West: Pariah State No More",
    "The Politics of the Russia-Belarus Alliance",
    "Towards a New Co-operation Space between the East and the West?",
    "Conclusions",
]


def test_chapter_sections_have_exact_titles(chapter):
    assert chapter.sections["section_title"].tolist() == EXPECTED_SECTIONS
    assert (chapter.sections["n_paragraphs"] > 0).all()


def test_chapter_metadata(chapter):
    doc = chapter.document
    assert doc["author"] == "Alena Vysotskaya Guedes Vieira"
    assert doc["year"] == 2017
    assert (doc["first_page"], doc["last_page"]) == (79, 89)
    assert doc["citation"] == "In: IFSH (ed.), OSCE Yearbook 2017, Baden-Baden 2018, pp. 79-89."
    assert doc["title"].startswith("Pariah State No More: Belarus’ International Actorness against")
    assert doc["warnings"] == []


def test_chapter_footnotes_numbered_once_and_complete(chapter):
    numbered = chapter.footnotes.dropna(subset=["number"])
    assert numbered["number"].tolist() == list(range(1, 38))
    sixteen = numbered.set_index("number").loc[16, "text"]
    assert sixteen.startswith("Cf. Arseni Sivitski")
    assert "Is Lukashenka Preparing for a War? BelarusDigest, 5 February 2017" in sixteen
    assert sixteen.endswith("is-lukashenka-preparing-for-a-war.")
    assert numbered["paragraph_index"].notna().all(), "every footnote marker is found in the body"


def test_acknowledgement_note_is_a_note_not_body(chapter):
    notes = chapter.footnotes[chapter.footnotes["kind"] == "note"]
    assert len(notes) == 1
    assert notes.iloc[0]["text"].startswith("Note: This contribution is partly supported")
    assert "Research Center in Political Science" not in " ".join(chapter.paragraphs["text"])


def test_body_is_free_of_notes_citation_markers_and_glyphs(chapter):
    body = "\n".join(chapter.paragraphs["text"])
    assert "In: IFSH" not in body
    assert not re.search("[\ue000-\uf8ff]", body)
    for note in chapter.footnotes["text"]:
        assert note[:60] not in body
    # glued marker digits are gone; the prose around them is intact
    assert "in force”. The US has not had an ambassador in Minsk since 2008." in body
    assert "Belarus’ role as Russia’s “hybrid”, or even “containing”, ally." in body
    assert not re.search(r"[a-z”’\".,]\d{1,2}(?=[\s,.;:]|$)", body)


def test_marker_positions_point_at_the_marked_words(chapter):
    notes = chapter.footnotes.dropna(subset=["number"]).set_index("number")
    paragraphs = chapter.paragraphs.set_index("paragraph_index")["text"]

    def before(n: int) -> str:
        p, offset = int(notes.loc[n, "paragraph_index"]), int(notes.loc[n, "marker_offset"])
        return paragraphs[p][:offset]

    assert before(1).endswith("sanctions regimes in force”.")
    assert before(2).endswith("since 2008.")
    assert before(30).endswith("“hybrid”")


@pytest.mark.parametrize(
    ("expected", "wrong"),
    [
        ("enhancement", "en-hancement"),
        ("expressed", "ex-pressed"),
        ("recent general licence", "re-cent"),
        ("national revival", "na-tional"),
        ("co-operation", "cooperation"),
        ("Russia-Belarus", "RussiaBelarus"),
        ("Belarus-Western", "BelarusWestern"),
        ("14-20 September", "1420"),
        ("mid-2017", "mid2017"),
        ("Ban Ki-moon", "Kimoon"),
    ],
)
def test_line_end_hyphens(chapter, expected, wrong):
    body = " ".join(chapter.paragraphs["text"])
    assert expected in body
    assert wrong not in body


def test_urls_in_footnotes_keep_their_hyphens(chapter):
    notes = " ".join(chapter.footnotes["text"])
    assert (
        "http://eng.belta.by/politics/view/un-secretary-general-praises-belarus-role-in-handling-ukraine-conflict"
        in notes
    )
    assert "http://europa.eu/rapid/press-release_MEMO-16-3107_en.htm" in notes


def test_paragraph_continues_across_page_break(chapter):
    body = chapter.paragraphs["text"].tolist()
    joined = [p for p in body if "EU sanctions, for instance, in force since 2004, were at some point" in p]
    assert len(joined) == 1


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z]", "", text)


def test_spans_point_back_at_the_source(chapter, chapter_text):
    for row in chapter.paragraphs.itertuples():
        raw = "".join(chapter_text[s:e] for s, e in zip(row.span_starts, row.span_ends, strict=True))
        assert _letters(raw) == _letters(row.text)


@pytest.mark.parametrize("path", sorted(DEV_CORPUS.glob("*.txt")), ids=lambda p: p.stem[:40])
def test_dev_texts_ingest_with_sensible_paragraphs(path, ingest_config):
    """Sensible: body text found; every paragraph has words; no page furniture or separator lines;
    hard-wrapped texts are not split into lines; every source word of the body survives."""
    text = path.read_text(encoding="utf-8")
    result = ingest_text(text, doc_id="d", source_name=path.name, config=ingest_config)
    paragraphs = result.paragraphs["text"]
    assert len(paragraphs) >= 1
    assert paragraphs.str.contains(r"[A-Za-z]{2,}").all()
    assert not paragraphs.str.contains(
        r"\d{2}-\d{5} \d+/\d+|\d+/\d+ \d{2}-\d{5}|\d{2}/\d{2}/\d{4} A/|^\s*\* \* \*|###"
    ).any()
    assert paragraphs.str.len().median() >= 60, "paragraphs are not single wrapped lines"
    body_letters = _letters("".join(paragraphs))
    front = "".join(filter(None, [result.document["title"], *result.document["front_matter"]]))
    all_letters = _letters(text)
    assert len(body_letters) + len(_letters(front)) >= 0.97 * len(all_letters)


# ------------------------------------------------------------------------------------------- generated layouts

WORDS = st.sampled_from(
    [
        "the",
        "alliance",
        "between",
        "states",
        "has",
        "become",
        "subject",
        "of",
        "controversy",
        "during",
        "conflict",
        "and",
        "each",
        "side",
        "developed",
        "concerns",
        "about",
        "reliability",
        "security",
        "dilemma",
        "policy",
        "co-operation",
        "sanctions",
        "government",
        "ministry",
        "negotiations",
    ]
)
HOSTILE = st.sampled_from(["<script>", "&amp;", "\u202e", "\ue020", "’", "“", "—", "\t", "é", "ß"])


@st.composite
def layouts(draw):
    """A paged document: paragraphs wrapped at a random width, footnotes under a rule, a page break mid-paragraph."""
    n_paragraphs = draw(st.integers(2, 6))
    paragraphs = []
    for _ in range(n_paragraphs):
        words = draw(st.lists(WORDS, min_size=12, max_size=60))
        words[0] = words[0].capitalize()
        paragraphs.append(" ".join(words) + ".")
    width = draw(st.integers(40, 90))
    lines: list[str] = []
    for k, paragraph in enumerate(paragraphs):
        if k:
            lines.append("")
        current = ""
        for word in paragraph.split():
            if current and len(current) + 1 + len(word) > width:
                lines.append(current + " ")
                current = word
            else:
                current = f"{current} {word}".strip()
        lines.append(current)
    cut = draw(st.sampled_from([k for k in range(1, len(lines)) if lines[k]]))
    note = "1  Cf. " + " ".join(draw(st.lists(WORDS, min_size=3, max_size=12)))
    page = lines[:cut] + ["", " " * 49, note, ""] + [" " + lines[cut]] + lines[cut + 1 :]
    return "\n".join(page) + "\n", paragraphs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layouts())
def test_generated_layouts_never_drop_body_words(ingest_config, sample):
    text, paragraphs = sample
    result = ingest_text(text, doc_id="g", source_name="generated.txt", config=ingest_config)
    body = " ".join(result.paragraphs["text"])
    assert body.split() == " ".join(paragraphs).split()
    for row in result.paragraphs.itertuples():
        raw = "".join(text[s:e] for s, e in zip(row.span_starts, row.span_ends, strict=True))
        assert _letters(raw) == _letters(row.text)
    assert result.footnotes["number"].dropna().tolist() == [1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80), min_size=1, max_size=30),
    st.lists(HOSTILE, min_size=1, max_size=5),
)
def test_hostile_text_either_ingests_or_fails_cleanly(ingest_config, lines, hostile):
    from pipeline.core.errors import InputError

    text = "\n".join(lines + hostile + ["A closing sentence with words in it."])
    try:
        result = ingest_text(text, doc_id="h", source_name="hostile.txt", config=ingest_config)
    except InputError as exc:
        assert "hostile.txt" in str(exc)
        return
    for row in result.paragraphs.itertuples():
        assert row.text == row.text.strip()
        for s, e in zip(row.span_starts, row.span_ends, strict=True):
            assert 0 <= s < e <= len(text)


# ------------------------------------------------------------------------------------------- other layouts

PROSE = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software, to deal in "
    "the software without restriction, subject to the conditions that follow in this text.\n"
)


def layout_warning(source: str, title_from: str, sections: str) -> str:
    return (
        f"{source}: layout not recognised as an OSCE Yearbook chapter (no running citation line with a page range);"
        f" title taken from {title_from}; {sections}"
    )


def test_text_without_a_chapter_layout_opens_with_its_title(ingest_config):
    """A licence: its name is the title, not an author; its copyright line is front matter, not the title."""
    text = "MIT License\n\nCopyright (c) 2019 Explosion AI\n\n" + PROSE
    result = ingest_text(text, doc_id="mit", source_name="texts/mit.txt", config=ingest_config)
    doc = result.document
    assert (doc["title"], doc["author"], doc["front_matter"]) == (
        "MIT License",
        None,
        ["Copyright (c) 2019 Explosion AI"],
    )
    assert doc["warnings"] == [
        layout_warning(
            "texts/mit.txt", "its first heading-like line", "no heading found, so the whole text is one section"
        )
    ]
    assert result.paragraphs["text"].tolist() == [PROSE.strip()]


def test_copyright_line_and_byline_are_never_the_title(ingest_config):
    text = "Copyright (c) 2024 Acme\n\nTally User Guide\n\nBy Jane Doe\n\n" + PROSE
    doc = ingest_text(text, doc_id="t", source_name="tally.txt", config=ingest_config).document
    assert (doc["title"], doc["author"], doc["front_matter"]) == (
        "Tally User Guide",
        "Jane Doe",
        ["Copyright (c) 2024 Acme"],
    )


def test_a_sentence_is_body_text_not_a_title(ingest_config):
    """Short sentences at the top of a text stay in its body; the title then comes from the file name."""
    text = "Russia is large. Russia is cold.\n\nThe weather was fine and the crops grew well.\n"
    result = ingest_text(text, doc_id="n", source_name="texts/notes.txt", config=ingest_config)
    assert result.paragraphs["text"].tolist() == [
        "Russia is large. Russia is cold.",
        "The weather was fine and the crops grew well.",
    ]
    assert result.document["title"] == "notes"
    assert result.document["warnings"] == [
        layout_warning(
            "texts/notes.txt",
            "the file name (no heading-like first line)",
            "no heading found, so the whole text is one section",
        )
    ]


def test_metadata_title_comes_before_the_file_name(ingest_config):
    result = ingest_text(
        "Belarus is a country.\n", doc_id="b", source_name="b.txt", config=ingest_config, metadata_title="On Belarus"
    )
    assert result.document["title"] == "On Belarus"
    assert "title taken from METADATA.tsv;" in result.document["warnings"][0]


def test_chapter_without_its_citation_lines_keeps_author_title_and_sections(chapter, chapter_text, ingest_config):
    """Read as a text of unknown layout, the chapter still finds its author (the line with a note mark), its title
    and its sections, and is warned about the layout it lacks."""
    from pipeline.ingest.stage import CITATION

    uncited = "\n".join(line for line in chapter_text.split("\n") if not CITATION.match(line))
    result = ingest_text(uncited, doc_id="c", source_name="c.txt", config=ingest_config)
    for key in ("title", "author"):
        assert result.document[key] == chapter.document[key]
    assert result.sections["section_title"].tolist() == EXPECTED_SECTIONS
    assert result.paragraphs["text"].tolist() == chapter.paragraphs["text"].tolist()
    assert result.document["warnings"] == [
        layout_warning(
            "c.txt",
            "its first heading-like line",
            "sections split only at the 5 short title-case lines taken as headings",
        )
    ]
