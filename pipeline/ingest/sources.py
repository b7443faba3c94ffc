"""Reading source documents from disk: text decoding and PDF text extraction, with clear refusals."""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import math
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".pdf")
PAGE_BREAK = "\f"


@dataclass(frozen=True)
class Source:
    """A document's text as read, with how it was read."""

    path: Path
    text: str
    format: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


DOC_ID_MAX = 120
# Document ids that would clash with the names of corpus-wide outputs (exports/corpus.*.graphml, report/index.html).
RESERVED_IDS = frozenset({"corpus", "all", "index"})
# A line this long is not prose (spaCy refuses texts over 1,000,000 characters and slows down long before).
MAX_LINE_CHARS = 100_000
# Files the operating system or an editor leaves beside documents: AppleDouble (._x.txt) and lock files (.~lock.x#).
JUNK_PREFIXES = ("._", ".~")


def doc_id_for(path: Path) -> str:
    """Stable slug of a file name: lowercase ASCII letters, digits and single dashes, nothing else, so that it is
    safe as a file name inside the output folder. Names with no ASCII letters or digits, names longer than
    DOC_ID_MAX and reserved names get a short hash of the file name so that different names stay different."""
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    digest = hashlib.sha256(path.stem.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    if not slug:
        return f"document-{digest}"
    if len(slug) > DOC_ID_MAX:
        return f"{slug[: DOC_ID_MAX - 9].rstrip('-')}-{digest}"
    if slug in RESERVED_IDS:
        return f"{slug}-{digest}"
    return slug


def list_sources(texts_dir: Path) -> list[Path]:
    """The .txt and .pdf documents of a folder, sorted by name; other files and OS/editor debris are ignored."""
    if not texts_dir.is_dir():
        raise InputError(texts_dir, "input folder does not exist")
    sources = sorted(
        p
        for p in texts_dir.iterdir()
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(JUNK_PREFIXES)
    )
    if not sources:
        raise InputError(texts_dir, "no .txt or .pdf documents in this folder")
    return sources


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _decode(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, damaged UTF-8, or else cp1252 (Windows) with a warning."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as exc:
            raise InputError(path, f"UTF-16 text with an invalid byte at offset {exc.start}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        bad, where = data[exc.start], f"line {_line_of(data, exc.start)}"
    repaired = data.decode("utf-8", errors="replace")
    if any(ord(ch) > 127 and ch != "\ufffd" for ch in repaired):
        # Valid multi-byte UTF-8 sequences next to the bad bytes: UTF-8 with damage, not another encoding.
        n_bad = repaired.count("\ufffd")
        warning = f"{path}: {n_bad} byte(s) not valid UTF-8 (first 0x{bad:02x} on {where}) replaced by U+FFFD"
        return repaired, "utf-8 (repaired)", [warning]
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        undefined, there = data[exc.start], f"line {_line_of(data, exc.start)}"
        raise InputError(
            path,
            f"neither UTF-8 (byte 0x{bad:02x} on {where}) nor cp1252 (byte 0x{undefined:02x} on {there});"
            " convert it to UTF-8",
        ) from None
    return text, "cp1252", [f"{path}: not UTF-8 (byte 0x{bad:02x} on {where}); decoded as cp1252 (Windows)"]


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample) // 50)


def read_text_file(path: Path, data: bytes) -> Source:
    """Decode a text file's bytes; refuse empty, binary, undecodable and non-prose (overlong line) files."""
    if not data:
        raise InputError(path, "file is empty")
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and _looks_binary(data):
        raise InputError(path, "binary file, not text (rename or remove it)")
    text, encoding, warnings = _decode(path, data)
    if not text.strip():
        raise InputError(path, "file contains only whitespace")
    text = re.sub(r"\r(?!\n)", "\n", text)  # old Mac line ends; same length, so offsets still hold
    longest = max((len(line) for line in text.split("\n")), default=0)
    if longest > MAX_LINE_CHARS:
        number = next(k for k, line in enumerate(text.split("\n"), start=1) if len(line) == longest)
        raise InputError(
            path,
            f"line {number} is {longest:,} characters long (limit {MAX_LINE_CHARS:,}); not prose, or the paragraphs"
            " lost their line breaks",
        )
    return Source(path=path, text=text, format="txt", encoding=encoding, warnings=warnings)


# How the text layer of a PDF is laid out as text the ingest stage reads like any other: a vertical gap of more
# than PARAGRAPH_GAP body lines is a blank line, and the run of lines at a page's foot set in type smaller than
# SMALL_TYPE times the body size (its footnotes) follows a line of spaces, the footnote rule ingest looks for
# (wider than configs/ingest.yaml footnote_rule_min_spaces).
PARAGRAPH_GAP = 1.5
SMALL_TYPE = 0.9
FOOTNOTE_RULE = " " * 40
NOTE_OPENING = re.compile(r"^\s*(?:\d{1,3}|[*†‡\ue000-\uf8ff])(?:\s|(?=[A-Z“\"‘'(\[]))")


@dataclass
class PdfLine:
    """One line of a PDF page's text layer, with where its first visible text sits and in what size."""

    text: str = ""
    y: float | None = None
    size: float | None = None

    @property
    def has_letters(self) -> bool:
        return re.search(r"[^\W\d_]", self.text) is not None


def pdf_page_lines(page: Any) -> list[PdfLine]:
    """pypdf's plain text of one page, split into lines that keep their height on the page and type size."""
    lines = [PdfLine()]

    def visit(text: str, cm: list[float], tm: list[float], font: Any, font_size: float) -> None:
        for k, segment in enumerate(text.split("\n")):
            if k:
                lines.append(PdfLine())
            line = lines[-1]
            line.text += segment
            if line.y is None and segment.strip():
                line.y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                line.size = abs(font_size) * math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3])

    page.extract_text(visitor_text=visit)
    return lines


def _body_metrics(pages: list[list[PdfLine]]) -> tuple[float | None, float | None]:
    """The body type size (the size most characters are set in) and the usual distance between body lines."""
    weight: Counter[float] = Counter()
    for line in (line for page in pages for line in page if line.size):
        weight[round(line.size or 0.0, 1)] += len(line.text.strip())
    if not weight:
        return None, None
    body_size = weight.most_common(1)[0][0]
    gaps = []
    for page in pages:
        heights = [line.y for line in page if line.y is not None and round(line.size or 0.0, 1) == body_size]
        gaps += [round(a - b, 1) for a, b in itertools.pairwise(heights) if a > b]
    return body_size, (statistics.median(gaps) if gaps else None)


def _footnote_start(lines: list[PdfLine], body_size: float) -> int | None:
    """Index of the first line of the run set in small type at the page's foot, if body text stands above it and
    a line of the run opens with a note number or symbol (a small-type running footer alone is not footnotes)."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.size is None or not line.has_letters:
            continue  # blank lines and page numbers do not end the run
        if line.size >= SMALL_TYPE * body_size:
            if start is not None and any(NOTE_OPENING.match(note.text) for note in lines[start:]):
                return start
            return None
        start = index
    return None


def layout_pdf_text(pages: list[list[PdfLine]]) -> str:
    """The pages' lines as plain text: blank lines for vertical gaps, a rule line above each page's footnotes,
    pages separated by form feeds."""
    body_size, line_gap = _body_metrics(pages)
    texts = []
    for lines in pages:
        foot = _footnote_start(lines, body_size) if body_size else None
        out: list[str] = []
        above: PdfLine | None = None
        for index, line in enumerate(lines):
            if index == foot:
                out.append(FOOTNOTE_RULE)
            elif (
                line_gap
                and above is not None
                and line.y is not None
                and above.y is not None
                and above.y - line.y > PARAGRAPH_GAP * line_gap
                and out
                and out[-1].strip()
            ):
                out.append("")
            out.append(line.text)
            if line.y is not None:
                above = line
        texts.append("\n".join(out))
    return PAGE_BREAK.join(texts)


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def read_pdf_file(path: Path, data: bytes) -> Source:
    """Extract the text layer of a PDF's bytes page by page (pages separated by form feeds), laid out as text
    ingest reads."""
    from pypdf import PdfReader

    if not data:
        raise InputError(path, "file is empty")
    logger = logging.getLogger("pypdf")
    collect = _CollectWarnings()
    logger.addHandler(collect)
    propagate, logger.propagate = logger.propagate, False
    level = logger.level
    logger.setLevel(logging.WARNING)  # collected whatever level the caller's logging is set to
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _open_with_empty_password(reader):
            raise InputError(path, "PDF is password-protected; save an unprotected copy first")
        pages = [pdf_page_lines(page) for page in reader.pages]
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, "unreadable PDF (nested too deeply)") from None
    except Exception as exc:  # pypdf raises many kinds of error on damaged files; each means the same to a user
        raise InputError(path, f"unreadable PDF ({type(exc).__name__}: {_first_line(exc)})") from None
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
        logger.setLevel(level)
    if not any(line.text.strip() for page in pages for line in page):
        raise InputError(path, "PDF has no text layer (a scan?); run OCR on it first")
    messages = list(dict.fromkeys(collect.messages))
    warnings = [f"{path}: damaged PDF, read anyway (pypdf: {'; '.join(messages[:2])})"] if messages else []
    return Source(path=path, text=layout_pdf_text(pages), format="pdf", encoding="pdf-text-layer", warnings=warnings)


def _open_with_empty_password(reader: Any) -> bool:
    """Many PDFs are encrypted only to restrict printing or copying, and open with an empty password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an unsupported cipher (AES needs the optional `cryptography` package) is as good as locked
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else "no details"


def read_source_bytes(path: Path) -> bytes:
    """A document's bytes, read once: whatever is hashed, decoded and recorded comes from these bytes, even if the
    file changes on disk meanwhile. A file that cannot be read is an InputError naming it."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or type(exc).__name__})") from None


def decode_source(path: Path, data: bytes) -> Source:
    """The document in ``data`` (the bytes of ``path``); every problem is an InputError naming the file."""
    if path.suffix.lower() == ".pdf":
        return read_pdf_file(path, data)
    return read_text_file(path, data)


def read_source(path: Path) -> Source:
    """Read one document; every problem is an InputError naming the file."""
    return decode_source(path, read_source_bytes(path))


METADATA_FILE = "METADATA.tsv"
METADATA_COLUMNS = {
    "title": ("title", "title_or_session"),
    "year": ("year", "date", "date_or_year"),
    "speaker": ("speaker",),
    "country": ("country", "country_or_origin"),
}


def read_metadata(texts_dir: Path) -> dict[str, dict[str, str]]:
    """Optional document metadata: ``METADATA.tsv`` (a ``filename`` column, then title/year/speaker/country)
    in the texts folder or its parent. Returns {file name: {field: value}} with the fields found."""
    import csv

    for folder in (texts_dir, texts_dir.parent):
        path = folder / METADATA_FILE
        if not path.is_file():
            continue
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(path, f"unreadable metadata table ({exc})") from None
        if rows and "filename" not in rows[0]:
            raise InputError(path, "metadata table has no 'filename' column")
        table: dict[str, dict[str, str]] = {}
        for row in rows:
            fields = {}
            for field_name, candidates in METADATA_COLUMNS.items():
                value = next((row[c].strip() for c in candidates if row.get(c)), "")
                if value:
                    fields[field_name] = value
            table[row["filename"]] = fields
        return table
    return {}
