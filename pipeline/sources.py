"""Reading source documents from disk: text decoding and PDF text extraction, with clear refusals."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError

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


def doc_id_for(path: Path) -> str:
    """Stable slug of a file name: lowercase ASCII letters, digits and single dashes, nothing else."""
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug[:120] or "document"


def list_sources(texts_dir: Path) -> list[Path]:
    """The documents of a folder, sorted by name; other files are ignored."""
    if not texts_dir.is_dir():
        raise InputError(texts_dir, "input folder does not exist")
    return sorted(
        p
        for p in texts_dir.iterdir()
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
    )


def _decode(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        position = exc.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(
            path, f"not UTF-8 (invalid byte at offset {position}) and not cp1252 either; convert it to UTF-8"
        ) from None
    warning = f"{path}: not UTF-8 (invalid byte at offset {position}); decoded as cp1252"
    return text, "cp1252", [warning]


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample) // 50)


def read_text_file(path: Path) -> Source:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "empty file (no text)")
    if _looks_binary(data):
        raise InputError(path, "binary file, not text (rename or remove it)")
    text, encoding, warnings = _decode(path, data)
    if not text.strip():
        raise InputError(path, "file contains only whitespace")
    return Source(path=path, text=text, format="txt", encoding=encoding, warnings=warnings)


def read_pdf_file(path: Path) -> Source:
    """Extract a PDF's text layer page by page; pages are separated by form feeds."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise InputError(path, "PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise InputError(path, f"unreadable PDF ({type(exc).__name__})") from None
    if not any(page.strip() for page in pages):
        raise InputError(path, "PDF has no text layer (a scan?); run OCR on it first")
    return Source(path=path, text=PAGE_BREAK.join(pages), format="pdf", encoding="pdf-text-layer")


def read_source(path: Path) -> Source:
    """Read one document; every problem is an InputError naming the file."""
    try:
        if path.suffix.lower() == ".pdf":
            return read_pdf_file(path)
        return read_text_file(path)
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a file") from None


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
