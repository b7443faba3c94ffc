"""Column schemas of every artifact; ``artifacts.write_table`` refuses frames that do not fit."""

from __future__ import annotations

import pyarrow as pa

STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()
SPANS = [("span_starts", pa.list_(I64)), ("span_ends", pa.list_(I64))]
# the classifier's class probabilities of a stance row (a reviewed row keeps the model's)
PROBABILITIES = [("p_none", F64), ("p_neutral", F64), ("p_pro", F64), ("p_anti", F64)]
# a group's stance index, (pro - anti) / referring sentences, corrected for the classifier's measured errors, with a
# 95% interval carrying the sampling of the group's sentences and the classifier's error; the shares of each label
# among the referring sentences; how many of the group's sentences were reviewed (their labels known)
INDEX = [
    ("stance_index", F64),
    ("index_ci_low", F64),
    ("index_ci_high", F64),
    ("share_pro", F64),
    ("share_anti", F64),
    ("share_neutral", F64),
    ("n_reviewed", I64),
]


def _schema(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind in columns])


SCHEMAS: dict[str, pa.Schema] = {
    "documents": _schema(
        ("doc_id", STR),
        ("title", STR),
        ("author", STR),
        ("year", I64),
        ("first_page", I64),
        ("last_page", I64),
        ("citation", STR),
        ("front_matter", pa.list_(STR)),
        ("speaker", STR),
        ("country", STR),
        ("source_path", STR),
        ("source_sha256", STR),
        ("format", STR),
        ("encoding", STR),
        ("n_sections", I64),
        ("n_paragraphs", I64),
        ("n_footnotes", I64),
        ("warnings", pa.list_(STR)),
    ),
    "sections": _schema(
        ("doc_id", STR),
        ("section_index", I64),
        ("section_title", STR),
        ("n_paragraphs", I64),
        *SPANS,
    ),
    "paragraphs": _schema(
        ("doc_id", STR),
        ("section_index", I64),
        ("section_title", STR),
        ("paragraph_index", I64),
        ("text", STR),
        *SPANS,
    ),
    "footnotes": _schema(
        ("doc_id", STR),
        ("number", I64),
        ("marker", STR),
        ("kind", STR),
        ("text", STR),
        ("paragraph_index", I64),
        ("marker_offset", I64),
        *SPANS,
    ),
    "sentences": _schema(
        ("doc_id", STR),
        ("sentence_id", I64),
        ("zone", STR),
        ("section_index", I64),
        ("section_title", STR),
        ("paragraph_index", I64),
        ("footnote_number", I64),
        ("start_char", I64),
        ("end_char", I64),
        ("text", STR),
    ),
    "mentions": _schema(
        ("doc_id", STR),
        ("sentence_id", I64),
        ("zone", STR),
        ("start_char", I64),
        ("end_char", I64),
        ("text", STR),
        ("entity_id", STR),
        ("label", STR),
        ("mention_kind", STR),
        ("source", STR),
    ),
    "entities": _schema(
        ("entity_id", STR),
        ("name", STR),
        ("label", STR),
        ("qid", STR),
        ("aliases", pa.list_(STR)),
        ("n_mentions", I64),
        ("n_body_mentions", I64),
        ("n_documents", I64),
        ("in_gazetteer", pa.bool_()),
    ),
    "stance": _schema(
        ("doc_id", STR),
        ("sentence_id", I64),
        ("section_index", I64),
        ("section_title", STR),
        ("target", STR),
        ("mentioned", pa.bool_()),  # the sentence refers to the target as the detector reads it (else label none)
        ("label", STR),
        ("score", F64),
        ("confidence", F64),
        ("holder", STR),
        ("evidence", pa.list_(STR)),
        ("method", STR),  # rules, learned (…), or reviewed (the label of a review file)
        *PROBABILITIES,
        ("text", STR),
    ),
    "stance_by_section": _schema(
        ("doc_id", STR),
        ("section_index", I64),
        ("section_title", STR),
        ("target", STR),
        ("n", I64),
        ("n_pro", I64),
        ("n_anti", I64),
        ("n_neutral", I64),
        ("mean_score", F64),
        ("ci_low", F64),
        ("ci_high", F64),
        *INDEX,
        ("sentence_ids", pa.list_(I64)),
    ),
    "stance_by_document": _schema(
        ("doc_id", STR),
        ("title", STR),
        ("year", I64),
        ("target", STR),
        ("n", I64),
        ("n_pro", I64),
        ("n_anti", I64),
        ("n_neutral", I64),
        ("mean_score", F64),
        ("ci_low", F64),
        ("ci_high", F64),
        *INDEX,
    ),
    "network_nodes": _schema(
        ("scope", STR),
        ("scope_id", STR),
        ("entity_id", STR),
        ("name", STR),
        ("label", STR),
        ("mentions", I64),
        ("degree", I64),
        ("weighted_degree", F64),
        ("betweenness", F64),
        ("eigenvector", F64),
        ("community", I64),
    ),
    "network_edges": _schema(
        ("scope", STR),
        ("scope_id", STR),
        ("window", STR),
        ("source", STR),
        ("target", STR),
        ("count", I64),
        ("npmi", F64),
        ("jaccard", F64),
        ("sentence_ids", pa.list_(STR)),
    ),
    "signed_edges": _schema(
        ("scope", STR),
        ("scope_id", STR),
        ("holder", STR),
        ("target", STR),
        ("n_pro", I64),
        ("n_anti", I64),
        ("net", I64),
        ("sign", STR),
        ("sentence_ids", pa.list_(STR)),
    ),
}

PER_DOCUMENT = ("documents", "sections", "paragraphs", "footnotes", "sentences", "mentions", "stance")
