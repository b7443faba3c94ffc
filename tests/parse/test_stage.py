"""The parse stage's stored docs: what it attaches to each paragraph travels with the doc as declared extensions."""

from __future__ import annotations

import pandas as pd
from spacy.tokens import Doc

from pipeline.core.artifacts import Layout, read_table
from pipeline.core.config import ParseConfig, load_config
from pipeline.parse.nlp import load_vocab_model
from pipeline.parse.stage import DOC_EXTENSIONS, load_docs
from tests.conftest import CHAPTER_ID, CONFIGS


def test_stored_docs_keep_zone_and_index_as_doc_extensions(chapter_run):
    """Every stored doc of the chapter reads back with ``doc._.zone`` and ``doc._.index``, in the order of the
    paragraphs and then the notes, kept in ``user_data`` under the plain names DocBin stores."""
    assert all(Doc.has_extension(key) for key in DOC_EXTENSIONS)
    layout = Layout(chapter_run)
    nlp = load_vocab_model(load_config(ParseConfig, CONFIGS).model)
    docs = load_docs(layout.spacy_docs(CHAPTER_ID).read_bytes(), nlp.vocab)
    paragraphs = read_table(layout.table("paragraphs"), name="paragraphs")
    footnotes = read_table(layout.table("footnotes"), name="footnotes")
    n_paragraphs = int((paragraphs["doc_id"] == CHAPTER_ID).sum())
    n_notes = int((footnotes["doc_id"] == CHAPTER_ID).sum())
    assert [doc._.zone for doc in docs] == ["body"] * n_paragraphs + ["footnote"] * n_notes
    body = paragraphs[paragraphs["doc_id"] == CHAPTER_ID].sort_values("paragraph_index")
    assert [doc._.index for doc in docs[:n_paragraphs]] == [int(i) for i in body["paragraph_index"]]
    assert [doc._.index for doc in docs[n_paragraphs:]] == list(range(n_notes))
    assert [doc.text for doc in docs[:n_paragraphs]] == list(body["text"])
    assert all(doc.user_data["zone"] == doc._.zone for doc in docs)
    assert all(doc._.speaker is None and doc._.year is None for doc in docs), "set by the entities stage, not stored"


def test_speaker_and_year_set_through_extensions_are_read_where_the_stages_read_them(chapter_run):
    from pipeline.entities.stage import mark_speakers
    from pipeline.stance.context import load_context

    layout = Layout(chapter_run)
    context = load_context(CONFIGS)
    nlp = load_vocab_model(load_config(ParseConfig, CONFIGS).model)
    docs = load_docs(layout.spacy_docs(CHAPTER_ID).read_bytes(), nlp.vocab)
    mark_speakers(docs, context.gazetteer, "BLR")
    body = [doc for doc in docs if doc._.zone == "body"]
    assert body and all(doc._.speaker == doc.user_data["speaker"] for doc in body)
    assert {doc._.speaker for doc in body} == {"belarus"}, "a document's country speaks every unlabelled paragraph"
    assert pd.isna(pd.Series([doc.user_data.get("speaker") for doc in docs if doc._.zone == "footnote"])).all()
