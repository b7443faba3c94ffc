"""Parse: every paragraph and footnote goes through spaCy once; sentences are written, docs are kept (DocBin)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from spacy.attrs import IS_SPACE
from spacy.tokens import Doc, DocBin, Span

from pipeline.core.config import ParseConfig
from pipeline.parse.nlp import load_model

# What the stages attach to each parsed paragraph or note, declared as Doc extensions: ``doc._.zone`` ("body" or
# "footnote") and ``doc._.index`` (its paragraph or note number), set here; ``doc._.year`` and ``doc._.speaker``
# (the state whose representative speaks the paragraph), set by the entities stage and read by stance. The values
# live in ``doc.user_data`` under these plain names, which DocBin stores, so stored docs keep them and stay readable.
DOC_EXTENSIONS = ("zone", "index", "year", "speaker")


def _declare_doc_extensions() -> None:
    for key in DOC_EXTENSIONS:
        if not Doc.has_extension(key):
            Doc.set_extension(
                key,
                getter=functools.partial(_user_value, key=key),
                setter=functools.partial(_set_user_value, key=key),
            )


def _user_value(doc: Doc, *, key: str) -> Any:
    return doc.user_data.get(key)


def _set_user_value(doc: Doc, value: Any, *, key: str) -> None:
    doc.user_data[key] = value


_declare_doc_extensions()


def _texts(
    inputs: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
) -> Iterator[tuple[str, tuple[str, str, int]]]:
    for doc_id, (paragraphs, footnotes) in inputs.items():
        for row in paragraphs.itertuples():
            yield str(row.text), (doc_id, "body", int(row.paragraph_index))
        for index, note in enumerate(footnotes.itertuples()):
            yield str(note.text), (doc_id, "footnote", index)


def too_long(inputs: dict[str, tuple[pd.DataFrame, pd.DataFrame]], limit: int) -> dict[str, str]:
    """Documents with a paragraph or note longer than the model accepts, with the reason (they are skipped)."""
    problems = {}
    for doc_id, (paragraphs, footnotes) in inputs.items():
        longest = max((len(str(t)) for t in [*paragraphs["text"], *footnotes["text"]]), default=0)
        if longest > limit:
            problems[doc_id] = (
                f"document '{doc_id}': a paragraph of {longest:,} characters is longer than spaCy's limit of "
                f"{limit:,}; split the text into paragraphs (blank lines) and ingest it again"
            )
    return problems


def parse_documents(
    inputs: dict[str, tuple[pd.DataFrame, pd.DataFrame]], *, config: ParseConfig
) -> Iterator[tuple[str, bytes, pd.DataFrame]]:
    """Run the model over all documents' texts in one batched stream, in this process (the stage runs one such
    stream per worker process); yield each document's DocBin and sentences as soon as its last text is parsed (so
    an interrupted run keeps the documents already done)."""
    nlp = load_model(config.model)
    expected = {doc_id: len(p) + len(f) for doc_id, (p, f) in inputs.items()}
    docs: dict[str, list[Doc]] = {doc_id: [] for doc_id in inputs}
    stream = nlp.pipe(_texts(inputs), as_tuples=True, batch_size=config.batch_size)
    for doc, (doc_id, zone, index) in stream:
        doc._.zone = zone
        doc._.index = index
        docs[doc_id].append(doc)
        if len(docs[doc_id]) == expected[doc_id]:
            yield _finish(doc_id, docs.pop(doc_id), inputs[doc_id])
    for doc_id in list(docs):  # documents without any text
        yield _finish(doc_id, docs.pop(doc_id), inputs[doc_id])


def _finish(
    doc_id: str, doc_list: list[Doc], tables: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[str, bytes, pd.DataFrame]:
    paragraphs, footnotes = tables
    doc_bin = DocBin(store_user_data=True)
    # DocBin.add would pack each doc's user data with srsly.msgpack_dumps, which looks up the registered msgpack
    # encoders (a scan of the installed packages' entry points) for every doc: most of the time of storing a
    # document. The same packing, with the encoders looked up once per document.
    pack = _user_data_packer()
    doc_bin.store_user_data = False
    for doc in doc_list:
        doc_bin.add(doc)
        doc_bin.user_data.append(pack(doc.user_data))
    doc_bin.store_user_data = True
    return doc_id, doc_bin.to_bytes(), sentence_table(doc_id, doc_list, paragraphs, footnotes)


@dataclass(frozen=True)
class Sentence:
    sentence_id: int
    zone: str
    index: int
    doc: Doc
    span: Span


def iter_sentences(docs: list[Doc]) -> Iterator[Sentence]:
    """Sentences of one document's docs in order, numbered as in the ``sentences`` artifact (a sentence of
    whitespace only is none: its text is not built to see that)."""
    sentence_id = 0
    for doc in docs:
        space = doc.to_array(IS_SPACE)
        for sent in doc.sents:
            if space[sent.start : sent.end].all():
                continue
            yield Sentence(sentence_id, doc._.zone, doc._.index, doc, sent)
            sentence_id += 1


def sentence_table(doc_id: str, docs: list[Doc], paragraphs: pd.DataFrame, footnotes: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence, numbered through the document (body first, then notes), traceable to its paragraph."""
    section_of = {
        int(p): (int(i), str(t))
        for p, i, t in zip(
            paragraphs["paragraph_index"], paragraphs["section_index"], paragraphs["section_title"], strict=True
        )
    }
    rows: list[dict[str, object]] = []
    for sentence in iter_sentences(docs):
        section: tuple[int | None, str | None] = (None, None)
        footnote_number = None
        if sentence.zone == "body":
            section = section_of[sentence.index]
        else:
            note = footnotes.iloc[sentence.index]
            if pd.notna(note["paragraph_index"]):
                section = section_of.get(int(note["paragraph_index"]), (None, None))
            footnote_number = None if pd.isna(note["number"]) else int(note["number"])
        text = sentence.span.text.strip()
        rows.append(
            {
                "doc_id": doc_id,
                "sentence_id": sentence.sentence_id,
                "zone": sentence.zone,
                "section_index": section[0],
                "section_title": section[1],
                "paragraph_index": sentence.index,
                "footnote_number": footnote_number,
                "start_char": sentence.span.start_char,
                "end_char": sentence.span.start_char + len(text),
                "text": text,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("section_index", "footnote_number"):
        frame[column] = frame[column].astype("Int64")
    return frame


def load_docs(data: bytes, vocab: object) -> list[Doc]:
    """Docs of one document back from its DocBin bytes, in the order they were written."""
    doc_bin = DocBin(store_user_data=True).from_bytes(data)
    # DocBin would unpack each doc's user data with srsly.msgpack_loads, which looks up the registered msgpack
    # decoders (a scan of the installed packages' entry points) for every doc: most of the time of reading a
    # document back. The same unpacking, with the decoders looked up once per document.
    user_data, doc_bin.user_data = doc_bin.user_data, []
    docs = list(doc_bin.get_docs(vocab))  # type: ignore[arg-type]
    unpack = _user_data_unpacker()
    for doc, packed in zip(docs, user_data, strict=False):
        if packed is not None:
            doc.user_data.update(unpack(packed))
    return docs


def _user_data_packer() -> Callable[[Any], bytes]:
    """``srsly.msgpack_dumps`` with the registered encoders looked up once."""
    import srsly.msgpack

    return srsly.msgpack.Packer(use_bin_type=True).pack


def _user_data_unpacker() -> Callable[[bytes], Any]:
    """``srsly.msgpack_loads(packed, use_list=False)`` with the registered decoders looked up once."""
    import srsly.msgpack

    hook = None
    for decoder in srsly.msgpack.msgpack_decoders.get_all().values():
        hook = functools.partial(decoder, chain=hook)
    # an explicit object_pairs_hook (None, the default) tells srsly not to look the decoders up again
    return functools.partial(srsly.msgpack.loads, raw=False, use_list=False, object_hook=hook, object_pairs_hook=None)
