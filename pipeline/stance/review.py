"""The review loop: a sheet of the sentences worth reading (``OUT/review.csv``), and the researcher's filled-in sheets
(``reviews/*.csv``) read back, checked and matched to sentences by document, target and text.

A review file is CSV with at least the columns ``doc_id``, ``target``, ``sentence`` and ``label``; rows with an
empty ``label`` are not reviews. The sheet is written as UTF-8 with a byte-order mark, comma-separated, every line
break inside a sentence quoted, so Excel and LibreOffice open it with its non-ASCII characters intact; they save it
back as UTF-8 (with or without the mark), as Windows-1252 (Excel's plain "CSV"), or with semicolons (Excel in
locales whose decimal mark is a comma): all of these are read.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.errors import InputError
from pipeline.stance.estimates import ANTI, CLASSES, NONE, PRO, PROBABILITY_COLUMNS, Correction, prediction_categories

REQUIRED = ("doc_id", "target", "sentence", "label")
SHEET_COLUMNS = (
    "rank",
    "doc_id",
    "section",
    "sentence_id",
    "target",
    "sentence",
    "predicted_label",
    "confidence",
    "predicted_holder",
    "evidence",
    "label",
    "holder",
    "note",
)
SCORES = {"pro": 1.0, "anti": -1.0, "neutral": 0.0, "none": 0.0}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is a formula to a spreadsheet


def sentence_key(text: str) -> str:
    """What a review and a sentence are matched on: the text's letters and digits, case-folded (so line breaks,
    quotes and spaces a spreadsheet changes do not matter, and a leading apostrophe is ignored)."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class Review:
    """One reviewed row: where it was read, what it says."""

    file: str
    row: int  # the spreadsheet's row number (the header is row 1)
    doc_id: str
    target: str
    sentence: str
    label: str
    holder: str | None
    note: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.doc_id, self.target, sentence_key(self.sentence))

    @property
    def where(self) -> str:
        return f"{self.file}: row {self.row}"


def review_files(folder: Path) -> list[Path]:
    """The files of a reviews folder, by name; hidden files and the lock files of Excel (``~$``) and LibreOffice
    (``.~lock``) are not reviews."""
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise InputError(folder, "reviews folder is a file, not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def _decode(path: Path, data: bytes) -> tuple[str, list[str]]:
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise InputError(path, "not a CSV file (a spreadsheet or binary file?); save the sheet as CSV")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        try:
            return data.decode("cp1252"), [
                f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x}); read as cp1252 (Windows)"
            ]
        except UnicodeDecodeError:
            raise InputError(path, "neither UTF-8 nor cp1252; save the sheet as CSV UTF-8") from None


def _records(path: Path, text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows, with the delimiter (comma, semicolon or tab) that makes a header with the required columns."""
    first_line = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        try:
            header = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if all(column in [h.strip().lower() for h in header] for column in REQUIRED):
            try:
                rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
            except csv.Error as exc:
                raise InputError(path, f"not readable as CSV ({exc})") from None
            return [h.strip().lower() for h in rows[0]], rows[1:]
    present = [h.strip().lower() for h in next(csv.reader([first_line]), [])]
    missing = next(c for c in REQUIRED if c not in present)
    raise InputError(path, f"not a review file: no column '{missing}' (a review sheet has {', '.join(SHEET_COLUMNS)})")


def _holder_names(holders: Iterable[str]) -> dict[str, str]:
    names = ["author", *holders, "other"]
    return {name.lower(): name for name in names}


def read_review_file(path: Path, *, targets: Sequence[str], holders: Iterable[str]) -> tuple[list[Review], list[str]]:
    """The reviews of one file (rows with a label) and warnings; a bad row is an ``InputError`` naming the row."""
    text, warnings = _decode(path, path.read_bytes())
    header, rows = _records(path, text)
    column = {name: header.index(name) for name in (*REQUIRED, "holder", "note") if name in header}
    holder_names = _holder_names(holders)
    reviews = []
    for number, cells in enumerate(rows, start=2):

        def cell(name: str, cells: list[str] = cells) -> str:
            k = column.get(name)
            return cells[k].strip() if k is not None and k < len(cells) else ""

        label = cell("label").lower()
        if not label:
            continue
        where = f"row {number}"
        if label not in CLASSES:
            raise InputError(path, f"{where}: unknown label '{cell('label')}' ({', '.join(CLASSES)})")
        target = cell("target")
        if target not in targets:
            raise InputError(path, f"{where}: unknown target '{target}' ({', '.join(targets)})")
        if not cell("doc_id") or not sentence_key(cell("sentence")):
            missing = "doc_id" if not cell("doc_id") else "sentence"
            raise InputError(path, f"{where}: a label without a {missing}")
        holder = cell("holder")
        if holder and holder.lower() not in holder_names:
            raise InputError(path, f"{where}: unknown holder '{holder}' ({', '.join(holder_names.values())})")
        reviews.append(
            Review(
                file=str(path),
                row=number,
                doc_id=cell("doc_id"),
                target=target,
                sentence=cell("sentence").lstrip("'"),
                label=label,
                holder=holder_names[holder.lower()] if holder and label in ("pro", "anti") else None,
                note=cell("note"),
            )
        )
    return reviews, warnings


def read_reviews(folder: Path, *, targets: Sequence[str], holders: Iterable[str]) -> tuple[list[Review], list[str]]:
    """Every review in ``folder``, checked: one per sentence and target (two that agree count once; two that
    disagree are an ``InputError`` naming both rows). Returns the reviews and warnings."""
    by_key: dict[tuple[str, str, str], Review] = {}
    warnings: list[str] = []
    holders = list(holders)
    for path in review_files(folder):
        reviews, notes = read_review_file(path, targets=targets, holders=holders)
        warnings.extend(notes)
        for review in reviews:
            earlier = by_key.get(review.key)
            if earlier is None:
                by_key[review.key] = review
            elif earlier.label != review.label or (
                earlier.holder and review.holder and earlier.holder != review.holder
            ):
                said = f"{earlier.label}{f' ({earlier.holder})' if earlier.holder else ''}"
                raise InputError(
                    path,
                    f"row {review.row}: disagrees with {earlier.where} about the same sentence and target "
                    f"({review.label}{f' ({review.holder})' if review.holder else ''} vs {said}); keep one",
                )
    return list(by_key.values()), warnings


# ---------------------------------------------------------------------------------------------------- matching

Reviewed = tuple[int, str, str, str | None]  # sentence id, target, label, holder


def match_reviews(reviews: Sequence[Review], sentences: pd.DataFrame) -> tuple[dict[str, list[Reviewed]], list[str]]:
    """Reviews matched to body ``sentences`` (doc_id, sentence_id, text) by document, target and text: per document,
    the reviewed (sentence id, target, label, holder), sorted; warnings for reviews whose sentence is not there. A
    text that occurs twice in a document gets the review at both places."""
    where: dict[tuple[str, str], list[int]] = {}
    for doc_id, sentence_id, text in sentences[["doc_id", "sentence_id", "text"]].itertuples(index=False, name=None):
        where.setdefault((str(doc_id), sentence_key(str(text))), []).append(int(sentence_id))
    documents = set(sentences["doc_id"].astype(str))
    matched: dict[str, list[Reviewed]] = {}
    warnings = []
    for review in sorted(reviews, key=lambda r: (r.file, r.row)):
        ids = where.get((review.doc_id, sentence_key(review.sentence)))
        if review.doc_id not in documents:
            warnings.append(f"{review.where}: document '{review.doc_id}' is not in the corpus; review not applied")
        elif not ids:
            warnings.append(
                f"{review.where}: sentence not found in document '{review.doc_id}' (changed or removed since it was "
                "reviewed?); review not applied"
            )
        else:
            for sentence_id in ids:
                matched.setdefault(review.doc_id, []).append((sentence_id, review.target, review.label, review.holder))
    return {doc_id: sorted(set(rows)) for doc_id, rows in matched.items()}, warnings


def reviews_digest(reviewed: Sequence[Reviewed]) -> str:
    """A document's applied reviews, as part of its stance fingerprint."""
    return hashlib.sha256(repr(sorted(reviewed)).encode()).hexdigest()[:16] if reviewed else ""


def apply_reviews(predictions: pd.DataFrame, features: pd.DataFrame, reviewed: Sequence[Reviewed]) -> pd.DataFrame:
    """``predictions`` (aligned with the analysed ``features`` of one document) with the reviewed rows' labels in
    place of the predicted ones: method ``reviewed``, confidence 1, the label's score, and the holder from the review,
    else the prediction's, else the rules' (when their label agrees), else the author. The model's probabilities
    stay, so the sheet and the report can still say what the model thought."""
    if not reviewed:
        return predictions
    out = predictions.copy()
    position = {
        (int(s), str(t)): row
        for row, s, t in zip(features.index, features["sentence_id"], features["target"], strict=True)
    }
    for sentence_id, target, label, holder in reviewed:
        row = position.get((sentence_id, target))
        if row is None:
            continue
        if label in ("pro", "anti"):
            predicted = out.at[row, "holder"] if out.at[row, "label"] == label else None
            rule = features.at[row, "rule_holder"] if features.at[row, "rule_label"] == label else None
            out.at[row, "holder"] = holder or predicted or rule or "author"
        else:
            out.at[row, "holder"] = None
        out.at[row, "label"] = label
        out.at[row, "score"] = SCORES[label]
        out.at[row, "confidence"] = 1.0
        out.at[row, "method"] = "reviewed"
    return out


# ---------------------------------------------------------------------------------------------------- the sheet


def _uncertainty(probabilities: np.ndarray) -> np.ndarray:
    """Per row, the variance of its contribution to its group's index (+1 pro, -1 anti, 0 neutral) and to the number
    of referring sentences under its label probabilities: what reading it removes from the classifier-error part of
    the interval."""
    mean = probabilities[:, PRO] - probabilities[:, ANTI]
    return (
        probabilities[:, PRO] + probabilities[:, ANTI] - mean**2 + probabilities[:, NONE] * (1 - probabilities[:, NONE])
    )


def label_probabilities(stance: pd.DataFrame, correction: Correction | None) -> np.ndarray:
    """Per ``stance`` row, the probability of each true label given its prediction: from the measured confusion of
    its target (the model's own probabilities when no correction is measured); certain for reviewed rows and for rows
    not mentioning the target."""
    probabilities = stance[list(PROBABILITY_COLUMNS)].to_numpy(dtype=float).copy()
    if correction is not None:
        categories = prediction_categories(probabilities, confident=correction.confident)
        targets = stance["target"].astype(str).to_numpy()
        for target in sorted(set(targets)):
            rows = targets == target
            probabilities[rows] = correction.model(target).label_probabilities(categories[rows])
    mentioned = stance["mentioned"].to_numpy(dtype=bool)
    probabilities[~mentioned] = np.eye(len(CLASSES))[NONE]
    reviewed = (stance["method"] == "reviewed").to_numpy()
    probabilities[reviewed] = np.eye(len(CLASSES))[[CLASSES.index(str(v)) for v in stance.loc[reviewed, "label"]]]
    return probabilities


def review_order(stance: pd.DataFrame, correction: Correction | None) -> list[int]:
    """Positions of the unreviewed candidate rows of ``stance`` (sentences mentioning a target), those whose review
    narrows the intervals most first.

    Each row's label is uncertain by ``_uncertainty`` of its label probabilities (``label_probabilities``); a
    group's classifier-error variance is the sum over its rows, over its expected referring sentences squared.
    Greedily, the next row is the one whose reading lowers the standard deviation of that part of its section's and
    its document's index the most, given the rows already chosen: uncertain sentences in small groups come first,
    and once a group's doubt is read away its other rows wait behind other groups'."""
    mentioned = stance["mentioned"].to_numpy(dtype=bool)
    candidates = [int(k) for k in np.flatnonzero(mentioned & (stance["method"] != "reviewed").to_numpy())]
    if not candidates:
        return []
    probabilities = label_probabilities(stance, correction)
    spread = _uncertainty(probabilities)
    referring = 1 - probabilities[:, NONE]
    group_keys: list[list[tuple[Any, ...]]] = [
        list(zip(stance["doc_id"], stance["section_index"].fillna(-1), stance["target"], strict=True)),
        list(zip(stance["doc_id"], stance["target"], strict=True)),
    ]
    variance: dict[Any, float] = {}
    size: dict[Any, float] = {}
    for keys in group_keys:
        for k, key in enumerate(keys):
            size[key] = size.get(key, 0.0) + referring[k]
    for keys in group_keys:
        for k in candidates:
            variance[keys[k]] = variance.get(keys[k], 0.0) + spread[k]

    def gain(k: int) -> float:
        total = 0.0
        for keys in group_keys:
            key = keys[k]
            n = max(size[key], 1.0)
            before = max(variance[key], 0.0)
            total += (math.sqrt(before) - math.sqrt(max(before - spread[k], 0.0))) / n
        return total

    heap = [(-gain(k), k) for k in candidates]
    heapq.heapify(heap)
    order = []
    while heap:
        _, k = heapq.heappop(heap)
        current = gain(k)
        if heap and current < -heap[0][0] - 1e-15:
            heapq.heappush(heap, (-current, k))  # its groups' doubt shrank since it was scored: score it again
            continue
        order.append(k)
        for keys in group_keys:
            variance[keys[k]] -= spread[k]
    return order


def _cell(text: object) -> str:
    """Text for a spreadsheet cell that a spreadsheet will not take for a formula."""
    value = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return "'" + value if value.startswith(FORMULA_START) else value


def review_sheet(stance: pd.DataFrame, correction: Correction | None) -> pd.DataFrame:
    """The review sheet: one row per unreviewed sentence and target it mentions, in ``review_order``, with empty
    ``label``, ``holder`` and ``note`` columns for the reviewer."""
    order = review_order(stance.reset_index(drop=True), correction)
    rows = stance.reset_index(drop=True).iloc[order]
    sheet = pd.DataFrame(
        {
            "rank": range(1, len(rows) + 1),
            "doc_id": rows["doc_id"].astype(str).to_numpy(),
            "section": [
                "" if pd.isna(i) else f"{int(i) + 1} {'' if t is None or pd.isna(t) else t}".strip()
                for i, t in zip(rows["section_index"], rows["section_title"], strict=True)
            ],
            "sentence_id": rows["sentence_id"].astype(int).to_numpy(),
            "target": rows["target"].astype(str).to_numpy(),
            "sentence": [_cell(t) for t in rows["text"]],
            "predicted_label": rows["label"].astype(str).to_numpy(),
            "confidence": [f"{float(c):.2f}" for c in rows["confidence"]],
            "predicted_holder": [_cell(h) for h in rows["holder"]],
            "evidence": [_cell("; ".join(map(str, e)) if e is not None else "") for e in rows["evidence"]],
            "label": "",
            "holder": "",
            "note": "",
        },
        columns=list(SHEET_COLUMNS),
    )
    return sheet


def sheet_bytes(sheet: pd.DataFrame) -> bytes:
    """The sheet as CSV bytes: UTF-8 with a byte-order mark (Excel reads UTF-8 only with it), commas, CRLF line ends
    (RFC 4180), fields quoted when they hold a comma, a quote or a line break."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(sheet.columns)
    writer.writerows(sheet.itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8-sig")


def reviews_as_labels(reviews: Sequence[Review]) -> pd.DataFrame:
    """Reviews in the label files' columns (``doc_id, sentence, target, label, holder, note``), for training."""
    return pd.DataFrame(
        [
            {
                "doc_id": r.doc_id,
                "sentence": r.sentence,
                "target": r.target,
                "label": r.label,
                "holder": r.holder or ("author" if r.label in ("pro", "anti") else ""),
                "note": r.note,
                "label_file": Path(r.file).name,
            }
            for r in reviews
        ],
        columns=["doc_id", "sentence", "target", "label", "holder", "note", "label_file"],
    )
