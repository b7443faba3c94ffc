"""Ingest: a document's raw text becomes documents, sections, paragraphs and footnotes.

The layout is read from evidence in the text itself: a line of spaces marks the rule above a page's footnotes, a
form feed or a line opened by a single space starts the next page, blank lines separate paragraphs (or every line is
a paragraph when the text is not hard-wrapped), short isolated title-case blocks are headings. Nothing here knows the
words of any particular chapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import pandas as pd

from pipeline.core.config import IngestConfig
from pipeline.core.errors import InputError
from pipeline.core.schemas import SCHEMAS
from pipeline.ingest.textclean import Dehyphenator, document_vocabulary, join_lines, strip_private_use

CITATION = re.compile(r"^\s*In:\s+(?P<body>.+?),\s*pp\.\s*(?P<first>\d+)\s*[-–]\s*(?P<last>\d+)\.?\s*$")
FOOTNOTE_START = re.compile(r"^(?P<number>\d{1,3})(?:\s{2,}|\s+(?=[A-Z“\"‘'(\[]))(?P<rest>\S.*)$")
NOTE_SYMBOL = re.compile("^\\s*(?P<symbol>[\ue000-\uf8ff*†‡])\\s*(?P<rest>.*)$")
DATE_LINE = re.compile(
    r"^\s*(?P<year>(19|20)\d\d)-\d\d-\d\d\b.{0,60}$|^\s*\d{1,2} [A-Z][a-z]+ (?P<year2>(19|20)\d\d)\b.{0,60}$"
)
# Lines that name who wrote or owns a text, never its title: a byline ("By Jane Doe") and a copyright line.
BYLINE = re.compile(r"^[Bb]y\s+(?P<name>[A-Z].*)$")
COPYRIGHT = re.compile(r"^(?:copyright\b|©|\(c\)\s)", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?][”\"’')\]]*\d{0,3}\s*$")
YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")
MARKER_BEFORE = ".,;:!?\"'”’)]"
# Page furniture of official documents: page-of-pages, job numbers, dates, UN document symbols.
FURNITURE_TOKEN = re.compile(r"^(\d{1,3}/\d{1,3}|\d{2}-\d{5}|\d{2}/\d{2}/\d{4}|[A-Z]/(?:[A-Z\d.]+/)*[A-Z\d.]+)$")


@dataclass
class Line:
    start: int
    end: int
    text: str
    page_break_before: bool = False

    @property
    def blank(self) -> bool:
        return not self.text.strip()


@dataclass
class Block:
    """Consecutive body lines that belong together: a paragraph, a heading or a front-matter line."""

    lines: list[Line] = field(default_factory=list)

    @property
    def raw(self) -> str:
        return " ".join(line.text.strip() for line in self.lines)


@dataclass
class Note:
    marker: str
    number: int | None
    lines: list[Line] = field(default_factory=list)


@dataclass
class Layout:
    blocks: list[Block]
    notes: list[Note]
    citations: list[str]
    paged: bool


@dataclass(frozen=True)
class IngestResult:
    document: dict[str, Any]
    sections: pd.DataFrame
    paragraphs: pd.DataFrame
    footnotes: pd.DataFrame


def split_lines(text: str) -> list[Line]:
    """Lines with their character offsets in the source; a form feed opens a new page."""
    lines: list[Line] = []
    position = 0
    page_break = False
    for raw in re.split(r"(?<=\n)", text):
        content = raw[:-1] if raw.endswith("\n") else raw
        offset = position
        for k, chunk in enumerate(content.split("\f")):
            if k > 0:
                page_break = True
            stripped = chunk[:-1] if chunk.endswith("\r") else chunk
            lines.append(Line(offset, offset + len(stripped), stripped, page_break))
            page_break = False
            offset += len(chunk) + 1
        position += len(raw)
    return lines


def _is_rule(line: Line, config: IngestConfig) -> bool:
    return len(line.text) >= config.footnote_rule_min_spaces and not line.text.strip()


def _starts_page(line: Line) -> bool:
    return line.page_break_before or re.match(r"^ \S", line.text) is not None


def strip_furniture(line: Line) -> Line | None:
    """Drop page-furniture tokens at a line's start; None when the whole line is furniture."""
    tokens = line.text.split()
    count = 0
    while count < len(tokens) and FURNITURE_TOKEN.match(tokens[count]):
        count += 1
    if count == 0 or (count < len(tokens) and count < 2):
        return line
    if count == len(tokens):
        return None
    cut = line.text.index(tokens[count], len(line.text) - len(line.text.lstrip()))
    return Line(line.start + cut, line.end, line.text[cut:], page_break_before=True)


def read_layout(lines: list[Line], config: IngestConfig) -> Layout:
    """Separate body lines from footnote zones and citation lines; group body lines into blocks."""
    paged = any(line.page_break_before for line in lines)
    body: list[Line | None] = []  # None marks a page break inside the body stream
    notes: list[Note] = []
    citations: list[str] = []
    in_notes = False
    for index, line in enumerate(lines):
        citation = CITATION.match(line.text)
        if citation:
            citations.append(line.text.strip())
            continue
        if not line.blank:
            cleaned = strip_furniture(line)
            if cleaned is None:
                body.append(None)
                continue
            line = cleaned
        if in_notes and _starts_page(line):
            in_notes = False
        if not in_notes:
            if _is_rule(line, config) or _footnote_without_rule(lines, index, notes, paged):
                in_notes = True
                while body and body[-1] is not None and body[-1].blank:
                    body.pop()
                body.append(None)
                if _is_rule(line, config):
                    continue
            else:
                if line.page_break_before:
                    while body and body[-1] is not None and body[-1].blank:
                        body.pop()
                    body.append(None)
                body.append(line)
                continue
        _add_note_line(line, notes, config)
    blocks = _group_blocks(body, config)
    return Layout(blocks=blocks, notes=notes, citations=citations, paged=paged)


def _expected_number(notes: list[Note]) -> int:
    numbers = [n.number for n in notes if n.number is not None]
    return (numbers[-1] + 1) if numbers else 1


def _footnote_without_rule(lines: list[Line], index: int, notes: list[Note], paged: bool) -> bool:
    """In paged text (PDF) with no rule line: a blank line, then a line opening with the next footnote number."""
    if not paged or index == 0 or not lines[index - 1].blank:
        return False
    match = FOOTNOTE_START.match(lines[index].text.strip())
    return match is not None and int(match.group("number")) == _expected_number(notes)


def _add_note_line(line: Line, notes: list[Note], config: IngestConfig) -> None:
    if line.blank:
        return
    stripped = line.text.strip()
    numbered = FOOTNOTE_START.match(stripped)
    if numbered and int(numbered.group("number")) == _expected_number(notes):
        notes.append(Note(marker=numbered.group("number"), number=int(numbered.group("number")), lines=[line]))
        return
    symbol = NOTE_SYMBOL.match(line.text)
    if symbol and not notes:
        notes.append(Note(marker="*", number=None, lines=[line]))
        return
    if notes:
        notes[-1].lines.append(line)
    else:
        notes.append(Note(marker="?", number=None, lines=[line]))


def _ends_sentence(lines: list[Line]) -> bool:
    return bool(lines) and SENTENCE_END.search(lines[-1].text) is not None


def _group_blocks(body: list[Line | None], config: IngestConfig) -> list[Block]:
    text_lines = [line for line in body if line is not None and not line.blank]
    lengths = sorted(len(line.text.strip()) for line in text_lines)
    wrapped = not lengths or lengths[int(0.9 * (len(lengths) - 1))] <= config.wrapped_line_max_chars
    blocks: list[Block] = []
    current = Block()
    pending_page_break = False

    def close() -> None:
        nonlocal current
        if current.lines:
            blocks.append(current)
        current = Block()

    for line in body:
        if line is None:
            pending_page_break = True
            continue
        if line.blank:
            if not pending_page_break:
                close()
            continue
        continues = bool(current.lines) and not (_ends_sentence(current.lines) and line.text.strip()[:1].isupper())
        if (pending_page_break and not continues) or (not wrapped and not pending_page_break):
            close()
        pending_page_break = False
        current.lines.append(line)
    close()
    return blocks


def _is_heading(block: Block, config: IngestConfig) -> bool:
    text = strip_private_use(block.raw)
    words = text.split()
    if not words or len(block.lines) > 2 or len(text) > config.heading_max_chars:
        return False
    if len(words) > config.heading_max_words or text[-1] in ".,;:!)" or not text[0].isupper():
        return False
    if re.search(r"[.!?]\s", text):
        return False
    if any(ch.isdigit() for ch in words[-1]):
        return False
    long_words = [w for w in words if len(w.strip("’'\"“”?")) >= 4]
    capitalised = [w for w in long_words if w.strip("“\"‘'(")[:1].isupper()]
    return bool(long_words) and len(capitalised) / len(long_words) >= 0.6


def _is_prose(block: Block) -> bool:
    text = block.raw
    return (
        len(block.lines) >= 3 or len(text) >= 200 or (SENTENCE_END.search(text) is not None and len(text.split()) >= 8)
    )


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 6 and all(w[:1].isupper() for w in words) and not any(ch.isdigit() for ch in text)


@dataclass
class FrontMatter:
    title: str | None = None
    author: str | None = None
    year: int | None = None
    extra: list[str] = field(default_factory=list)


def _title_like(text: str) -> bool:
    """Whether a front-matter line can be a document's title: it opens with a capital or a digit, has a word, does
    not end like a sentence or a clause (a question mark may end a title) and is no copyright line."""
    return (
        (text[:1].isupper() or text[:1].isdigit())
        and re.search(r"[^\W\d_]{2}", text) is not None
        and text[-1] not in ".,;:"
        and COPYRIGHT.match(text) is None
    )


def _front_matter(blocks: list[Block], dehyphenator: Dehyphenator, *, chapter: bool) -> tuple[FrontMatter, int]:
    """Title, author and date lines before the first prose block; returns how many blocks they take.

    A ``chapter`` (an OSCE Yearbook layout) opens with its author, so a name-like first line is the author and the
    next line the title. Any other document is read as opening with its title: the first line that can be a title
    (``_title_like``) is it, an author is only a marked line or a byline, and a copyright line is kept as front
    matter, so the line naming who wrote or owns a text is never its title.
    """
    front = FrontMatter()
    count = 0
    for block in blocks[:6]:
        if _is_prose(block):
            break
        text = strip_private_use(join_lines([line.text for line in block.lines], dehyphenator))
        has_note_marker = re.search("[\ue000-\uf8ff*†]", block.raw) is not None
        date = DATE_LINE.match(text)
        byline = None if chapter else BYLINE.match(text)
        if date:
            front.year = int(date.group("year") or date.group("year2"))
        elif front.author is None and (has_note_marker or (chapter and count == 0 and _looks_like_name(text))):
            front.author = re.sub(r"\s*[*†‡]+$", "", text)
        elif front.author is None and byline:
            front.author = byline.group("name")
        elif front.title is None and (chapter or _title_like(text)):
            front.title = text
        elif not chapter and COPYRIGHT.match(text):
            front.extra.append(text)
        elif front.year is not None and not text.endswith((",", ":", ";")) and ": " not in text:
            front.extra.append(text)  # a dateline after the date: venue, time
        else:
            break
        count += 1
    return front, count


def _spans(lines: list[Line]) -> tuple[list[int], list[int]]:
    """Merge lines that follow each other in the source into (start, end) character spans."""
    starts: list[int] = []
    ends: list[int] = []
    for line in lines:
        left = len(line.text) - len(line.text.lstrip())
        right = len(line.text.rstrip())
        if right <= left:
            continue
        start, end = line.start + left, line.start + right
        if ends and start - ends[-1] <= 2 + (len(line.text) - len(line.text.lstrip())):
            ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _note_text(note: Note, dehyphenator: Dehyphenator) -> str:
    texts = [line.text for line in note.lines]
    first = texts[0].strip()
    if note.number is not None:
        match = FOOTNOTE_START.match(first)
        first = match.group("rest") if match else first
    else:
        symbol = NOTE_SYMBOL.match(texts[0])
        first = symbol.group("rest") if symbol else first
    return strip_private_use(join_lines([first, *texts[1:]], dehyphenator))


def _find_markers(texts: list[str], numbers: list[int]) -> dict[int, tuple[int, int, int]]:
    """Footnote markers glued to body words, found in order: number -> (paragraph, start, end)."""
    found: dict[int, tuple[int, int, int]] = {}
    para, offset = 0, 0
    for number in numbers:
        pattern = re.compile(rf"(?<=[a-z{re.escape(MARKER_BEFORE)}]){number}(?=[\s,.;:)\]]|$)")
        for p in range(para, len(texts)):
            match = pattern.search(texts[p], offset if p == para else 0)
            if match:
                found[number] = (p, match.start(), match.end())
                para, offset = p, match.end()
                break
    return found


def _remove_markers(
    texts: list[str], markers: dict[int, tuple[int, int, int]]
) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """Delete marker digits from the body; return new texts and each marker's (paragraph, offset)."""
    by_paragraph: dict[int, list[tuple[int, int, int]]] = {}
    for number, (p, start, end) in markers.items():
        by_paragraph.setdefault(p, []).append((start, end, number))
    cleaned = list(texts)
    positions: dict[int, tuple[int, int]] = {}
    for p, spans in by_paragraph.items():
        pieces, removed, cursor = [], 0, 0
        for start, end, number in sorted(spans):
            pieces.append(texts[p][cursor:start])
            positions[number] = (p, start - removed)
            removed += end - start
            cursor = end
        pieces.append(texts[p][cursor:])
        cleaned[p] = "".join(pieces)
    return cleaned, positions


def _year_from(*candidates: str | None) -> int | None:
    for candidate in candidates:
        if candidate:
            match = YEAR.search(candidate)
            if match:
                return int(match.group(1))
    return None


def _file_title(source_name: str) -> str:
    """A document's title from its file name: the name without folder and extension."""
    return PurePath(source_name).stem or source_name


def _layout_warning(source_name: str, front: FrontMatter, metadata_title: str | None, *, n_headings: int) -> str:
    """Why a text that is not laid out as an OSCE Yearbook chapter may have a coarse structure: where its title
    came from, and how many heading-like lines divide it."""
    origin = (
        "its first heading-like line"
        if front.title
        else "METADATA.tsv"
        if metadata_title
        else "the file name (no heading-like first line)"
    )
    lines = f"{n_headings} short title-case line{'s' if n_headings > 1 else ''}"
    sections = (
        "no heading found, so the whole text is one section"
        if n_headings == 0
        else f"sections split only at the {lines} taken as headings"
    )
    return (
        f"{source_name}: layout not recognised as an OSCE Yearbook chapter (no running citation line with a page "
        f"range); title taken from {origin}; {sections}"
    )


def ingest_text(
    text: str, *, doc_id: str, source_name: str, config: IngestConfig, metadata_title: str | None = None
) -> IngestResult:
    """Turn one document's raw text into its structured tables. Pure: no file I/O.

    ``metadata_title`` (from ``METADATA.tsv``) is the title when the text shows none; a text that is not laid out
    as an OSCE Yearbook chapter falls back to its file name, with a warning that says how it was read.
    """
    lines = split_lines(text)
    layout = read_layout(lines, config)
    dehyphenator = Dehyphenator(
        vocab=document_vocabulary(line.text for line in lines),
        join_min_zipf=config.dehyphenate_min_zipf,
        keep_min_zipf=config.hyphen_keep_min_zipf,
    )
    chapter = bool(layout.citations)  # a running citation line with the chapter's page range
    front, n_front = _front_matter(layout.blocks, dehyphenator, chapter=chapter)
    if n_front >= len(layout.blocks):  # nothing but short blocks: they are the body, not a title page
        front, n_front = FrontMatter(), 0
    body = _paragraphs_and_sections(layout.blocks[n_front:], doc_id=doc_id, config=config, dehyphenator=dehyphenator)
    if not body.paragraph_rows:
        raise InputError(source_name, "no body text found after removing headings and notes")
    numbers = [n.number for n in layout.notes if n.number is not None]
    markers, positions = _take_out_markers(body.paragraph_rows, numbers)
    footnotes = _footnote_table(layout.notes, positions, doc_id=doc_id, dehyphenator=dehyphenator)
    paragraphs = pd.DataFrame(body.paragraph_rows)
    sections = _section_table(body, paragraphs, doc_id=doc_id)
    warnings = [f"{source_name}: footnote {n} has no marker in the body" for n in numbers if n not in markers]
    document = _document_row(
        layout,
        front,
        doc_id=doc_id,
        source_name=source_name,
        metadata_title=metadata_title,
        n_headings=len(body.section_titles) - body.synthetic,
        counts=(len(sections), len(paragraphs), len(footnotes)),
        warnings=warnings,
    )
    return IngestResult(document=document, sections=sections, paragraphs=paragraphs, footnotes=footnotes)


@dataclass
class _Body:
    """The body of a text read block by block: its paragraphs' rows, and its sections' titles and lines."""

    paragraph_rows: list[dict[str, object]] = field(default_factory=list)
    section_titles: list[str] = field(default_factory=list)
    section_lines: list[list[Line]] = field(default_factory=list)
    synthetic: int = 0  # 1 when the first section is the untitled opening, not a heading of the text


def _paragraphs_and_sections(
    blocks: list[Block], *, doc_id: str, config: IngestConfig, dehyphenator: Dehyphenator
) -> _Body:
    """Headings start sections (never the last block); the other blocks with enough letters are paragraphs. Text
    before the first heading is the section `Introduction`, or `Full text` when the text has no headings."""
    body = _Body()
    has_headings = any(_is_heading(b, config) for b in blocks[:-1])
    for k, block in enumerate(blocks):
        if k < len(blocks) - 1 and _is_heading(block, config):
            body.section_titles.append(strip_private_use(join_lines([ln.text for ln in block.lines], dehyphenator)))
            body.section_lines.append(list(block.lines))
            continue
        paragraph_text = strip_private_use(join_lines([ln.text for ln in block.lines], dehyphenator))
        if len(paragraph_text) < config.min_paragraph_chars or not re.search(r"[^\W\d_]", paragraph_text):
            continue
        if not body.section_titles:
            body.section_titles.append("Introduction" if has_headings else "Full text")
            body.synthetic = 1
            body.section_lines.append([])
        starts, ends = _spans(block.lines)
        body.section_lines[-1].extend(block.lines)
        body.paragraph_rows.append(
            {
                "doc_id": doc_id,
                "section_index": len(body.section_titles) - 1,
                "section_title": body.section_titles[-1],
                "paragraph_index": len(body.paragraph_rows),
                "text": paragraph_text,
                "span_starts": starts,
                "span_ends": ends,
            }
        )
    return body


def _take_out_markers(
    paragraph_rows: list[dict[str, object]], numbers: list[int]
) -> tuple[dict[int, tuple[int, int, int]], dict[int, tuple[int, int]]]:
    """Find the footnote markers glued to words in order, remove them from the paragraphs' text (in place), and
    return the markers found and where each stood (paragraph index, offset)."""
    markers = _find_markers([str(r["text"]) for r in paragraph_rows], numbers)
    cleaned, positions = _remove_markers([str(r["text"]) for r in paragraph_rows], markers)
    for row, new_text in zip(paragraph_rows, cleaned, strict=True):
        row["text"] = " ".join(new_text.split()) if new_text != row["text"] else new_text
    return markers, positions


def _footnote_table(
    notes: list[Note], positions: dict[int, tuple[int, int]], *, doc_id: str, dehyphenator: Dehyphenator
) -> pd.DataFrame:
    """One row per footnote or note, with the place of its marker in the body when one was found."""
    rows = []
    for note in notes:
        starts, ends = _spans(note.lines)
        position = positions.get(note.number) if note.number is not None else None
        rows.append(
            {
                "doc_id": doc_id,
                "number": note.number,
                "marker": note.marker,
                "kind": "footnote" if note.number is not None else "note",
                "text": _note_text(note, dehyphenator),
                "paragraph_index": position[0] if position else None,
                "marker_offset": position[1] if position else None,
                "span_starts": starts,
                "span_ends": ends,
            }
        )
    footnotes = pd.DataFrame(rows, columns=SCHEMAS["footnotes"].names)
    for column in ("number", "paragraph_index", "marker_offset"):
        footnotes[column] = footnotes[column].astype("Int64")
    return footnotes


def _section_table(body: _Body, paragraphs: pd.DataFrame, *, doc_id: str) -> pd.DataFrame:
    """One row per section: its title, how many paragraphs it holds and where its lines are in the source."""
    counts = paragraphs.groupby("section_index").size()
    rows = []
    for index, title in enumerate(body.section_titles):
        starts, ends = _spans(body.section_lines[index])
        rows.append(
            {
                "doc_id": doc_id,
                "section_index": index,
                "section_title": title,
                "n_paragraphs": int(counts.get(index, 0)),
                "span_starts": starts,
                "span_ends": ends,
            }
        )
    return pd.DataFrame(rows)


def _document_row(
    layout: Layout,
    front: FrontMatter,
    *,
    doc_id: str,
    source_name: str,
    metadata_title: str | None,
    n_headings: int,
    counts: tuple[int, int, int],
    warnings: list[str],
) -> dict[str, Any]:
    """The document's row: title, author and year from the front matter or the citation line (the file name and a
    warning for a text not laid out as a chapter), the page range, and how many sections, paragraphs and notes."""
    chapter = bool(layout.citations)
    citation = layout.citations[0] if layout.citations else None
    pages = CITATION.match(citation) if citation else None
    document_title = front.title or metadata_title
    if not chapter:
        document_title = document_title or _file_title(source_name)
        warnings = [*warnings, _layout_warning(source_name, front, metadata_title, n_headings=n_headings)]
    n_sections, n_paragraphs, n_footnotes = counts
    return {
        "doc_id": doc_id,
        "title": document_title,
        "author": front.author,
        "year": _year_from(pages.group("body") if pages else None) or front.year or _year_from(source_name),
        "first_page": int(pages.group("first")) if pages else None,
        "last_page": int(pages.group("last")) if pages else None,
        "citation": citation,
        "front_matter": front.extra,
        "n_sections": n_sections,
        "n_paragraphs": n_paragraphs,
        "n_footnotes": n_footnotes,
        "warnings": warnings,
    }
