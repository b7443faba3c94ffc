"""The review loop: the sheet survives spreadsheets, review files are checked row by row, reviewed labels replace
predictions and make the aggregates exact, and a review whose sentence is gone is a warning."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.stance.estimates import CLASSES, PROBABILITY_COLUMNS, index_of
from pipeline.stance.review import (
    SHEET_COLUMNS,
    match_reviews,
    read_review_file,
    read_reviews,
    review_order,
    review_sheet,
    sentence_key,
    sheet_bytes,
)
from pipeline.stance.training import normalise
from tests.conftest import CHAPTER_ID, ROOT, run_pipeline

TARGETS = ["russia", "ukraine"]
HOLDERS = ["Belarus", "Russia", "Ukraine", "US", "EU", "NATO", "UN", "West"]
AWKWARD = [
    'Lukashenka said, "we are neutral", and left.',
    "A sentence broken\nacross two lines, with a comma.",
    "Россия и Украина — “quoted” in Cyrillic; €5 and naïve café.",
    "=SUM(A1:A3) is how a spreadsheet would read this.",
    "-5 degrees in Kyiv, and +3 in Minsk.",
    'Tabs\tinside\tand a trailing quote"',
]
BOM = b"\xef\xbb\xbf"


def awkward_stance() -> pd.DataFrame:
    """Stance rows for awkward sentences, all mentioning Russia, with the model unsure about them."""
    n = len(AWKWARD)
    rows = pd.DataFrame(
        {
            "doc_id": "d",
            "sentence_id": range(n),
            "section_index": 0,
            "section_title": "Intro, with a comma",
            "target": "russia",
            "mentioned": True,
            "label": "neutral",
            "score": 0.0,
            "confidence": 0.5,
            "holder": None,
            "evidence": [["talks", "said"]] * n,
            "method": "learned",
            "text": AWKWARD,
        }
    )
    probabilities = np.tile([0.05, 0.5, 0.25, 0.2], (n, 1))
    for column, values in zip(PROBABILITY_COLUMNS, probabilities.T, strict=True):
        rows[column] = values
    return rows


def fill(sheet_text: str, labels: dict[int, str], *, delimiter: str = ",") -> str:
    """The sheet with ``label`` filled for the given sentence ids, written back as csv writes it."""
    reader = csv.DictReader(io.StringIO(sheet_text, newline=""))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [], delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    for row in reader:
        row["label"] = labels.get(int(row["sentence_id"]), "")
        writer.writerow(row)
    return out.getvalue()


def test_sheet_is_utf8_with_a_byte_order_mark_and_quotes_what_needs_it():
    data = sheet_bytes(review_sheet(awkward_stance(), None))
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    assert text.startswith(",".join(SHEET_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert sorted(r["sentence"] for r in rows) == sorted("'" + s if s[0] in "=-+" else s for s in AWKWARD), (
        "every sentence comes back whole; a leading = - + is quoted for spreadsheets"
    )
    assert {r["label"] for r in rows} == {""} and {r["section"] for r in rows} == {"1 Intro, with a comma"}


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("utf-8-sig", ","), ("utf-8", ","), ("utf-8", ";"), ("cp1252", ";"), ("utf-8-sig", "\t")],
    ids=["excel-csv-utf8", "libreoffice-utf8", "semicolons", "excel-windows-1252", "tabs"],
)
def test_a_filled_sheet_saved_as_spreadsheets_save_it_is_read_back(tmp_path, encoding, delimiter):
    sheet = sheet_bytes(review_sheet(awkward_stance(), None)).decode("utf-8-sig")
    filled = fill(sheet, {0: "pro", 1: "Anti", 2: " neutral ", 3: "none", 4: "pro", 5: "anti"}, delimiter=delimiter)
    path = tmp_path / "reviewed.csv"
    path.write_bytes(filled.encode(encoding, errors="replace"))
    reviews, warnings = read_review_file(path, targets=TARGETS, holders=HOLDERS)
    assert [r.label for r in sorted(reviews, key=lambda r: r.row)] == ["pro", "anti", "neutral", "none", "pro", "anti"]
    assert [r.row for r in reviews] == [2, 3, 4, 5, 6, 7]
    stance = awkward_stance()
    matched, unmatched = match_reviews(reviews, stance[["doc_id", "sentence_id", "text"]])
    expected_missing = 1 if encoding == "cp1252" else 0  # Cyrillic has no Windows-1252 code: '?' replaces it
    assert len(unmatched) == expected_missing
    assert len(matched["d"]) == len(AWKWARD) - expected_missing
    assert bool(warnings) == (encoding == "cp1252")


def test_matching_ignores_what_spreadsheets_change():
    assert sentence_key("A  sentence\r\nbroken") == sentence_key("a sentence broken")
    assert sentence_key("'=SUM(A1)") == sentence_key("=SUM(A1)")
    assert sentence_key("Россия") != sentence_key("Украина")


@pytest.fixture(scope="module")
def libreoffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.skip("LibreOffice is not installed (apt-get install -y --no-install-recommends libreoffice-calc-nogui)")
    return found


@pytest.mark.slow
def test_libreoffice_opens_and_saves_the_sheet_without_losing_characters(libreoffice, tmp_path):
    """The sheet converted by headless LibreOffice Calc to its own format and back to CSV: every sentence intact."""
    sheet = tmp_path / "review.csv"
    sheet.write_bytes(sheet_bytes(review_sheet(awkward_stance(), None)))
    profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"
    csv_in = "CSV:44,34,76,1,,0,false,true,false,false,false"  # comma, double quote, UTF-8, from line 1; no formulas
    for source, target, options in (
        (sheet, "ods", ["--infilter=" + csv_in]),
        (tmp_path / "ods" / "review.ods", "csv:Text - txt - csv (StarCalc):44,34,76,1", []),
    ):
        folder = tmp_path / ("ods" if source == sheet else "back")
        done = subprocess.run(
            [
                libreoffice,
                profile,
                "--headless",
                *options,
                "--convert-to",
                target,
                "--outdir",
                str(folder),
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    saved = tmp_path / "back" / "review.csv"
    text = saved.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    expected = sorted("'" + s if s[0] in "=-+" else s for s in AWKWARD)
    back = sorted(r["sentence"] for r in rows)
    # Calc drops tab characters inside a cell; everything else comes back as written (matching ignores whitespace)
    assert back == [s.replace("\t", "") for s in expected]
    assert [sentence_key(s) for s in back] == [sentence_key(s) for s in expected]
    saved.write_text(fill(text, {k: "pro" for k in range(len(AWKWARD))}), encoding="utf-8")
    reviews, _ = read_review_file(saved, targets=TARGETS, holders=HOLDERS)
    matched, unmatched = match_reviews(reviews, awkward_stance()[["doc_id", "sentence_id", "text"]])
    assert not unmatched and len(matched["d"]) == len(AWKWARD)


def test_uncertain_rows_of_small_groups_come_first():
    stance = pd.concat(
        [awkward_stance().assign(section_index=1, sentence_id=range(10, 16)), awkward_stance().head(1)],
        ignore_index=True,
    )
    sure = stance.index[:3]
    stance.loc[sure, list(PROBABILITY_COLUMNS)] = [0.0, 0.98, 0.01, 0.01]
    order = review_order(stance, None)
    assert order[0] == len(stance) - 1, "the only sentence of its section first: reading it settles its section"
    assert set(order[-3:]) == set(sure), "sentences the model is sure of last"
    assert sorted(order) == list(range(len(stance)))


def test_two_reviews_that_agree_count_once(tmp_path):
    sheet = sheet_bytes(review_sheet(awkward_stance(), None)).decode("utf-8-sig")
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(fill(sheet, {0: "pro"}), encoding="utf-8")
    (tmp_path / ".~lock.a.csv#").write_text("LibreOffice's lock file")
    reviews, _ = read_reviews(tmp_path, targets=TARGETS, holders=HOLDERS)
    assert len(reviews) == 1


# ---------------------------------------------------------------------------------------------------- on the chapter


@pytest.fixture()
def chapter_out(chapter_run, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    return out


def stance_files(out: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in [*sorted((out / "stance.parquet").iterdir()), out / "stance_by_section.parquet"]
    }


def chapter_sentence(out: Path, target: str = "russia") -> str:
    stance = pd.read_parquet(out / "stance.parquet")
    return str(stance[stance["mentioned"] & (stance["target"] == target)]["text"].iloc[0])


def review_file(folder: Path, name: str, rows: list[dict[str, str]]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "target", "sentence", "label", "holder", "note"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"holder": "", "note": "", **row})
    return path


BAD_REVIEWS = {
    "unknown label": ([{"label": "maybe"}], "row 2: unknown label 'maybe' (none, neutral, pro, anti)"),
    "unknown target": (
        [{"label": "pro", "target": "nato"}],
        "row 2: unknown target 'nato' (russia, ukraine, belarus, eu)",
    ),
    "unknown holder": (
        [{"label": "pro"}, {"label": "anti", "holder": "Mars"}],
        "row 3: unknown holder 'Mars' (author, Belarus, Russia, Ukraine, US, EU, NATO, UN, West, other)",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD_REVIEWS))
def test_a_bad_review_row_is_one_line_naming_file_and_row_and_nothing_is_written(chapter_out, tmp_path, case):
    rows, problem = BAD_REVIEWS[case]
    base = {"doc_id": CHAPTER_ID, "target": "russia", "sentence": chapter_sentence(chapter_out)}
    path = review_file(tmp_path / "reviews", "mine.csv", [{**base, **row} for row in rows])
    before = stance_files(chapter_out)
    result = run_pipeline("stance", "--out", str(chapter_out), "--reviews", str(path.parent), check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}: {problem}"]
    assert stance_files(chapter_out) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "content, problem",
    [
        (b"doc_id,target,sentence,verdict\nx,russia,A sentence.,pro\n", "not a review file: no column 'label'"),
        (b"PK\x03\x04" + bytes(200), "not a CSV file (a spreadsheet or binary file?); save the sheet as CSV"),
        (b'doc_id,target,sentence,label\nx,russia,"A sentence.\x00,pro\n', "not a CSV file"),
    ],
    ids=["other columns", "a spreadsheet", "binary"],
)
def test_a_file_that_is_not_a_review_sheet_is_refused(chapter_out, tmp_path, content, problem):
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "notes.csv").write_bytes(content)
    before = stance_files(chapter_out)
    result = run_pipeline("stance", "--out", str(chapter_out), "--reviews", str(folder), check=False)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {folder / 'notes.csv'}: {problem}")
    assert stance_files(chapter_out) == before


@pytest.mark.slow
def test_two_reviews_that_disagree_are_refused_naming_both(chapter_out, tmp_path):
    base = {"doc_id": CHAPTER_ID, "target": "russia", "sentence": chapter_sentence(chapter_out)}
    first = review_file(tmp_path / "reviews", "a.csv", [{**base, "label": "anti"}])
    second = review_file(
        tmp_path / "reviews", "b.csv", [{**base, "sentence": base["sentence"].upper(), "label": "pro"}]
    )
    result = run_pipeline(
        "all", "--texts", "nope", "--out", str(chapter_out), "--reviews", str(first.parent), check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {second}: row 2: disagrees with {first}: row 2 about the same sentence and target (pro vs anti); "
        "keep one"
    ], "checked before any stage runs"


@pytest.mark.slow
def test_a_review_whose_sentence_is_gone_is_a_warning(chapter_out, tmp_path):
    sentence = chapter_sentence(chapter_out)
    path = review_file(
        tmp_path / "reviews",
        "old.csv",
        [
            {"doc_id": CHAPTER_ID, "target": "russia", "sentence": "A sentence the chapter never had.", "label": "pro"},
            {"doc_id": "gone", "target": "russia", "sentence": sentence, "label": "pro"},
            {"doc_id": CHAPTER_ID, "target": "russia", "sentence": sentence, "label": "pro"},
        ],
    )
    result = run_pipeline("stance", "--out", str(chapter_out), "--reviews", str(path.parent))
    assert f"warning: {path}: row 2: sentence not found in document '{CHAPTER_ID}'" in result.stderr
    assert f"warning: {path}: row 3: document 'gone' is not in the corpus; review not applied" in result.stderr
    assert "[stance] 1 done" in result.stderr
    stance = pd.read_parquet(chapter_out / "stance.parquet")
    reviewed = stance[stance["method"] == "reviewed"]
    assert reviewed[["target", "label", "confidence", "score"]].values.tolist() == [["russia", "pro", 1.0, 1.0]]
    assert reviewed["holder"].tolist() != [None]


def labelled_chapter(stance: pd.DataFrame) -> pd.DataFrame:
    """The chapter's labels matched to the pipeline's sentences (a label's text inside the sentence or the other way
    round, as ``evaluate-stance`` matches them): doc_id, sentence_id, target, text, label."""
    labels = pd.read_csv(ROOT / "data" / "labels" / "stance_chapter.tsv", sep="\t", quoting=csv.QUOTE_NONE, dtype=str)
    sentences = stance[["sentence_id", "text"]].drop_duplicates()
    keys = [(int(s), normalise(str(t))) for s, t in zip(sentences["sentence_id"], sentences["text"], strict=True)]
    rows = []
    for label in labels.itertuples():
        key = normalise(str(label.sentence))
        found = [s for s, text in keys if key and (key in text or text in key)]
        for sentence_id in found[:1]:
            rows.append({"sentence_id": sentence_id, "target": label.target, "label": label.label})
    matched = pd.DataFrame(rows).drop_duplicates(["sentence_id", "target"])
    return matched.merge(stance[["sentence_id", "target", "text", "section_index"]], on=["sentence_id", "target"])


@pytest.mark.slow
def test_reviewing_every_referring_sentence_of_the_chapter_makes_the_report_exact(chapter_out, tmp_path):
    """`review` writes the sheet; a reviewer labels every row with the team's labels and adds the referring sentences
    the detector missed; the next run reports exactly the labelled indices, with zero classifier error."""
    done = run_pipeline("review", "--out", str(chapter_out))
    sheet_path = chapter_out / "review.csv"
    assert f"{sheet_path}: " in done.stdout
    sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    stance = pd.read_parquet(chapter_out / "stance.parquet")
    assert len(sheet) == int(stance["mentioned"].sum()), "one row per sentence and target it mentions"
    labels = labelled_chapter(stance)
    assert len(labels) >= 0.95 * 236, "nearly every label finds its sentence"
    gold = {(int(r.sentence_id), r.target): r.label for r in labels.itertuples()}
    sheet["label"] = [gold.get((int(s), t), "") for s, t in zip(sheet["sentence_id"], sheet["target"], strict=True)]
    in_sheet = set(zip(sheet["sentence_id"].astype(int), sheet["target"], strict=True))
    missed = labels[[(r.sentence_id, r.target) not in in_sheet and r.label != "none" for r in labels.itertuples()]]
    extra = pd.DataFrame(
        {"doc_id": CHAPTER_ID, "target": missed["target"], "sentence": missed["text"], "label": missed["label"]}
    )
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    sheet.to_csv(reviews / "review-filled.csv", index=False, encoding="utf-8-sig")
    extra.to_csv(reviews / "missed by the detector.csv", index=False)
    run_pipeline("stance", "--out", str(chapter_out), "--reviews", str(reviews))
    for stage in ("network", "report"):
        run_pipeline(stage, "--out", str(chapter_out))
    summary = pd.read_parquet(chapter_out / "stance_by_section.parquet")
    reviewed = pd.read_parquet(chapter_out / "stance.parquet")
    labelled_rows = labels.merge(reviewed[["sentence_id", "target", "method"]], on=["sentence_id", "target"])
    assert (labelled_rows.loc[labelled_rows["label"] != "none", "method"] == "reviewed").all()
    page = (chapter_out / "report.html").read_text(encoding="utf-8")
    compared = 0
    for (section, target), group in labels.groupby(["section_index", "target"]):
        counts = np.bincount([CLASSES.index(v) for v in group["label"]], minlength=len(CLASSES)).astype(float)
        expected, referring = index_of(counts)
        row = summary[(summary["section_index"] == section) & (summary["target"] == target)].iloc[0]
        if referring == 0:
            assert np.isnan(row["stance_index"])
            continue
        assert row["stance_index"] == pytest.approx(float(expected), abs=1e-4), (section, target)
        assert row["n_reviewed"] >= referring
        compared += 1
        shown = f"{round(float(expected), 2) + 0.0:+.2f}".replace("-", "−")
        assert shown in page
    assert compared >= 8
    assert "reviewed" in page and 'class="reviewed"' in page
