"""PDF ingest: the chapter typeset as a PDF (built here with fpdf2) ingests into the same tables as its .txt.

The PDF is shaped like a typeset book page, not like the .txt: body text justified word by word, footnote markers
as superscripts, headings in bold, the title larger, a drawn rule above footnotes set in smaller type, no trailing
spaces and no blank lines (vertical space only). One PDF page holds one page of the source text.
"""

from __future__ import annotations

import difflib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from fpdf import FPDF

from pipeline.ingest.sources import FOOTNOTE_RULE, read_source
from tests.conftest import CHAPTER, CONFIGS, run_pipeline
from tests.ingest.test_stage import EXPECTED_SECTIONS

FONTS = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
NOTE_GLYPH = "\uf020"  # the .txt's private-use note symbol; the PDF sets an asterisk, as typeset books do
MARKER = re.compile(r"(?<=[a-z.,;:!?\"'”’)\]])(?P<number>\d{1,2})(?=[\s,.;:)\]]|$)")

BODY_SIZE, BODY_LEADING = 10.0, 12.5
NOTE_SIZE, NOTE_LEADING = 8.0, 9.6
TITLE_SIZE, TITLE_LEADING = 12.0, 15.0
MARGIN, NOTE_INDENT = 56.0, 14.0
SUPERSCRIPT = 0.65  # size of a superscript relative to its line, raised by the rest


@dataclass
class SourcePage:
    body: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def source_pages(text: str) -> list[SourcePage]:
    """The .txt's pages: a page opens with a line starting with one space; a line of >= 10 spaces is the rule above
    its footnotes. Blank lines inside footnotes are extraction debris and dropped."""
    pages: list[SourcePage] = []
    in_notes = False
    for raw in text.replace(NOTE_GLYPH, "*").split("\n"):
        if not pages or re.match(r"^ \S", raw):
            pages.append(SourcePage())
            in_notes = False
        if re.fullmatch(r" {10,}", raw):
            in_notes = True
        elif in_notes:
            if raw.strip():
                pages[-1].notes.append(raw.strip())
        else:
            pages[-1].body.append(raw.strip())
    for page in pages:
        while page.body and not page.body[-1]:
            page.body.pop()
    return pages


class ChapterPdf:
    """Typesets source pages: words placed one by one, so a line is justified as in a book."""

    def __init__(self, pages: list[SourcePage], *, title_lines: set[str], headings: set[str]) -> None:
        self.pages, self.title_lines, self.headings = pages, title_lines, headings
        self.pdf = FPDF(unit="pt", format=(600, 800))
        self.pdf.set_auto_page_break(False)
        self.pdf.add_font("DejaVu", fname=str(FONTS / "DejaVuSans.ttf"))
        self.pdf.add_font("DejaVu", style="B", fname=str(FONTS / "DejaVuSans-Bold.ttf"))
        self.next_marker = 1
        self.width = max(self._words_width(self._words(line), BODY_SIZE) for p in pages for line in p.body if line)
        self.next_marker = 1

    def _words(self, line: str, *, markers: bool = True) -> list[tuple[str, str]]:
        """(word, superscript) pairs: the next footnote marker glued to a body word, or the author's asterisk."""
        words = []
        for word in line.split():
            match = MARKER.search(word) if markers else None
            if match and int(match.group("number")) == self.next_marker and match.end() == len(word.rstrip(",.;:")):
                self.next_marker += 1
                words.append((word[: match.start()], word[match.start() :]))
            elif word.endswith("*") and len(word) > 1:
                words.append((word[:-1], "*"))
            else:
                words.append((word, ""))
        return words

    def _words_width(self, words: list[tuple[str, str]], size: float) -> float:
        pdf = self.pdf
        pdf.set_font("DejaVu", size=size)
        total = sum(pdf.get_string_width(w) for w, _ in words) + pdf.get_string_width(" ") * (len(words) - 1)
        pdf.set_font("DejaVu", size=size * SUPERSCRIPT)
        total += sum(pdf.get_string_width(s) for _, s in words if s)
        return total

    def _line(self, x: float, y: float, words: list[tuple[str, str]], *, size: float, style: str, width: float) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", style=style, size=size)
        space = pdf.get_string_width(" ")
        natural = self._words_width(words, size)
        if natural >= 0.85 * width and len(words) > 1:
            space += (width - natural) / (len(words) - 1)
        for word, superscript in words:
            pdf.set_font("DejaVu", style=style, size=size)
            pdf.text(x, y, word)
            x += pdf.get_string_width(word)
            if superscript:
                pdf.set_font("DejaVu", size=size * SUPERSCRIPT)
                pdf.text(x, y - size * (1 - SUPERSCRIPT), superscript)
                x += pdf.get_string_width(superscript)
            x += space

    def _page(self, page: SourcePage, draw: bool) -> float:
        y = MARGIN
        for line in page.body:
            if not line:
                y += BODY_LEADING
                continue
            title = line in self.title_lines
            size, leading = (TITLE_SIZE, TITLE_LEADING) if title else (BODY_SIZE, BODY_LEADING)
            style = "B" if title or line in self.headings else ""
            y += leading
            if draw:
                self._line(MARGIN, y, self._words(line), size=size, style=style, width=self.width)
        if page.notes:
            y += BODY_LEADING
            if draw:
                self.pdf.line(MARGIN, y, MARGIN + 120, y)
            y += 2
        for line in page.notes:
            y += NOTE_LEADING
            if draw:
                numbered = re.match(r"^(\d{1,3}|\*)\s+(.*)$", line)
                x = MARGIN
                if numbered:
                    self.pdf.set_font("DejaVu", size=NOTE_SIZE)
                    self.pdf.text(MARGIN, y, numbered.group(1))
                    line = numbered.group(2)
                x = MARGIN + NOTE_INDENT
                self._line(
                    x, y, self._words(line, markers=False), size=NOTE_SIZE, style="", width=self.width - NOTE_INDENT
                )
        return y

    def build(self, path: Path) -> Path:
        height = max(self._page(page, draw=False) for page in self.pages) + MARGIN
        for page in self.pages:
            self.pdf.add_page(format=(self.width + 2 * MARGIN, height))
            self._page(page, draw=True)
        self.pdf.output(str(path))
        return path


def no_text_layer_pdf(path: Path) -> Path:
    """A page with only a drawn rectangle, like a scan without OCR."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


def one_page_pdf(path: Path, text: str, *, user_password: str | None = None) -> Path:
    """A one-page PDF of ``text``; with ``user_password`` it is encrypted (RC4: pypdf needs no extra package)."""
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.RC4)
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, text)
    pdf.output(str(path))
    return path


def damaged_xref_pdf(path: Path, text: str) -> Path:
    """A PDF whose cross-reference offset is wrong: pypdf repairs it and says so."""
    one_page_pdf(path, text)
    data = path.read_bytes()
    path.write_bytes(re.sub(rb"startxref\n(\d+)", lambda m: b"startxref\n%d" % (int(m.group(1)) + 7), data))
    return path


@dataclass
class Ingested:
    texts: Path
    tables: dict[str, pd.DataFrame]
    stderr: str

    def of(self, name: str, doc_id: str) -> pd.DataFrame:
        frame = self.tables[name]
        return frame[frame["doc_id"] == doc_id].reset_index(drop=True)


def typeset_chapter(path: Path, *, title: str) -> Path:
    pages = source_pages(CHAPTER.read_text(encoding="utf-8"))
    title_lines = {line for line in pages[0].body if line and line in title}
    return ChapterPdf(pages, title_lines=title_lines, headings=set(EXPECTED_SECTIONS)).build(path)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, chapter) -> Ingested:
    """The chapter as .txt and as typeset PDF, plus a PDF without text, ingested together with the real CLI."""
    texts = tmp_path_factory.mktemp("pdf_texts")
    shutil.copy(CHAPTER, texts / "chapter.txt")
    typeset_chapter(texts / "chapter-typeset.pdf", title=str(chapter.document["title"]))
    no_text_layer_pdf(texts / "scanned.pdf")
    out = tmp_path_factory.mktemp("pdf_out")
    result = run_pipeline("ingest", "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS))
    names = ("documents", "sections", "paragraphs", "footnotes")
    return Ingested(texts, {name: pd.read_parquet(out / f"{name}.parquet") for name in names}, result.stderr)


def test_pdf_has_one_page_per_source_page(tmp_path, chapter):
    from pypdf import PdfReader

    path = typeset_chapter(tmp_path / "c.pdf", title=str(chapter.document["title"]))
    assert len(PdfReader(path).pages) == len(source_pages(CHAPTER.read_text(encoding="utf-8"))) == 11


def test_pdf_text_layer_is_like_a_typeset_book(tmp_path, chapter):
    """pypdf's plain text has no blank lines and no trailing spaces, and superscript markers stay glued to their
    word; reading the PDF puts back what the layout says: blank lines for vertical gaps, a rule before footnotes."""
    from pypdf import PdfReader

    path = typeset_chapter(tmp_path / "c.pdf", title=str(chapter.document["title"]))
    plain = [page.extract_text() for page in PdfReader(path).pages]
    assert not any("\n\n" in page for page in plain)
    assert not any(line != line.rstrip() for page in plain for line in page.splitlines())
    assert "in force”.1\nThe US has not had" in plain[1]
    pages = read_source(path).text.split("\f")
    assert len(pages) == 11
    assert "\n\nBelarus’ Position on the Ukraine Conflict\n\n" in pages[1]
    assert pages[1].count(FOOTNOTE_RULE) == 1
    assert pages[1].split(FOOTNOTE_RULE)[1].lstrip("\n").startswith("1 Clara Portela")
    assert FOOTNOTE_RULE not in pages[-1], "the last page has no footnotes"


def test_pdf_sections_match_txt(ingested):
    assert ingested.of("sections", "chapter-typeset")["section_title"].tolist() == EXPECTED_SECTIONS
    assert ingested.of("sections", "chapter")["section_title"].tolist() == EXPECTED_SECTIONS


def test_pdf_footnotes_numbered_once_and_match_txt(ingested):
    pdf_notes, txt_notes = ingested.of("footnotes", "chapter-typeset"), ingested.of("footnotes", "chapter")
    assert pdf_notes["number"].dropna().astype(int).tolist() == list(range(1, 38))
    assert pdf_notes["paragraph_index"].notna().sum() == 37, "every marker is found in the body"
    assert (pdf_notes["kind"] == "note").sum() == 1
    columns = ["number", "marker", "kind", "text", "paragraph_index", "marker_offset"]
    pd.testing.assert_frame_equal(pdf_notes[columns], txt_notes[columns])


def test_pdf_body_words_match_txt(ingested):
    pdf_words = " ".join(ingested.of("paragraphs", "chapter-typeset")["text"]).split()
    txt_words = " ".join(ingested.of("paragraphs", "chapter")["text"]).split()
    matcher = difflib.SequenceMatcher(a=txt_words, b=pdf_words, autojunk=False)
    differences = [
        (txt_words[i1:i2], pdf_words[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
    ]
    assert differences == [], f"{len(differences)} differences in {len(txt_words)} words"
    pdf_paragraphs = ingested.of("paragraphs", "chapter-typeset")
    txt_paragraphs = ingested.of("paragraphs", "chapter")
    columns = ["section_index", "section_title", "paragraph_index", "text"]
    pd.testing.assert_frame_equal(pdf_paragraphs[columns], txt_paragraphs[columns])


def test_pdf_document_row(ingested):
    documents = ingested.tables["documents"].set_index("doc_id")
    pdf, txt = documents.loc["chapter-typeset"], documents.loc["chapter"]
    assert (pdf["format"], pdf["encoding"], list(pdf["warnings"])) == ("pdf", "pdf-text-layer", [])
    for column in ("title", "year", "first_page", "last_page", "citation"):
        assert pdf[column] == txt[column], column


def test_pdf_author_matches_txt(ingested):
    documents = ingested.tables["documents"].set_index("doc_id")
    assert documents.loc["chapter-typeset", "author"] == documents.loc["chapter", "author"]


def test_pdf_without_text_layer_is_one_line_error(ingested):
    errors = [line for line in ingested.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {ingested.texts / 'scanned.pdf'}: PDF has no text layer (a scan?); run OCR on it first (skipped)"
    ]
    assert "Traceback" not in ingested.stderr
    assert "scanned" not in set(ingested.tables["documents"]["doc_id"])


def test_damaged_pdf_is_input_error(tmp_path):
    from pipeline.core.errors import InputError

    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    with pytest.raises(InputError, match="broken.pdf: unreadable PDF"):
        read_source(path)
    path.write_bytes(b"")
    with pytest.raises(InputError, match="broken.pdf: file is empty"):
        read_source(path)


@pytest.mark.parametrize("root_level", [logging.WARNING, logging.ERROR])
def test_encrypted_and_repaired_pdfs(tmp_path, root_level):
    """The repair warning reaches the user even when another part of the process has quietened logging."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(root_level)
    try:
        _check_encrypted_and_repaired(tmp_path)
    finally:
        root.setLevel(level)


def _check_encrypted_and_repaired(tmp_path):
    from pipeline.core.errors import InputError

    text = "Russia and Ukraine met in Minsk today and agreed on nothing."
    assert read_source(one_page_pdf(tmp_path / "restricted.pdf", text, user_password="")).text == text
    with pytest.raises(InputError, match="locked.pdf: PDF is password-protected; save an unprotected copy first"):
        read_source(one_page_pdf(tmp_path / "locked.pdf", text, user_password="secret"))
    repaired = read_source(damaged_xref_pdf(tmp_path / "xref.pdf", text))
    assert repaired.text == text
    assert repaired.warnings == [
        f"{tmp_path / 'xref.pdf'}: damaged PDF, read anyway (pypdf: incorrect startxref pointer(3); parsing for"
        " Object Streams)"
    ]


def test_small_type_is_footnotes_only_when_a_note_opens_there(tmp_path):
    """A running footer in small type stays where it is; numbered small-type lines get the footnote rule."""
    pdf = FPDF(unit="pt", format=(500, 400))
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", fname=str(FONTS / "DejaVuSans.ttf"))
    for footer in ("17-12345 (E) Page furniture", "1 A real footnote with words."):
        pdf.add_page()
        pdf.set_font("DejaVu", size=BODY_SIZE)
        for k, line in enumerate(["The body of the page is set in the body size,", "line after line of it."]):
            pdf.text(MARGIN, MARGIN + k * BODY_LEADING, line)
        pdf.set_font("DejaVu", size=NOTE_SIZE)
        pdf.text(MARGIN, 350, footer)
    pdf.output(str(tmp_path / "footer.pdf"))
    first, second = read_source(tmp_path / "footer.pdf").text.split("\f")
    assert FOOTNOTE_RULE not in first and first.endswith("line after line of it.\n\n17-12345 (E) Page furniture")
    assert second.endswith(f"line after line of it.\n{FOOTNOTE_RULE}\n1 A real footnote with words.")
