"""Every artifact the pipeline writes, described once: the column schemas ``artifacts.write_table`` holds tables to,
what each column means (and the values a categorical column takes), the parquet metadata each table carries, and
the files beside the tables. ``docs/codebook.md`` and ``OUT/datapackage.json`` are generated from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()
BOOL = pa.bool_()
STRS = pa.list_(STR)
I64S = pa.list_(I64)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str = ""
    values: tuple[str, ...] = ()
    """The only values the column takes (a categorical column); empty when the values are open."""


@dataclass(frozen=True)
class Table:
    """One parquet artifact: ``OUT/<name>.parquet``, a single file or (``per_document``) a folder holding one file
    per document, ``OUT/<name>.parquet/<doc_id>.parquet``."""

    name: str
    stage: str
    row: str
    """What one row is."""
    columns: tuple[Column, ...]
    per_document: bool
    key: tuple[str, ...]
    """The columns that together identify a row."""
    metadata: tuple[str, ...]
    """The keys of the JSON object each file carries in its parquet metadata (key ``pipeline``)."""

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(column.name, column.type) for column in self.columns])


@dataclass(frozen=True)
class File:
    """An artifact that is not a table: ``path`` is relative to OUT, with {placeholders} for the parts that vary."""

    path: str
    stage: str
    description: str
    attributes: tuple[tuple[str, str, str], ...] = ()
    """For graph exports: (node|edge, attribute, meaning)."""


def _columns(*specs: tuple[Any, ...]) -> tuple[Column, ...]:
    """Columns from (name, type, description[, values]) tuples. A column given without a description is accepted
    here, and ``tests/core/test_schemas.py`` fails until it has one."""
    return tuple(Column(*spec) for spec in specs)


PROVENANCE = ("artifact", "stage", "code_version", "config_hash")
METADATA: dict[str, str] = {
    "artifact": "the artifact's name",
    "stage": "the stage that wrote it",
    "code_version": "the package version and a hash of the source files the stage depends on"
    " (`pipeline/core/stagecode.py`)",
    "config_hash": "a hash of the stage's config and of the data files the config names (gazetteer, lexicon, "
    "stance model)",
    "fingerprint": "per-document files: a hash of the stage, its code version, its config hash and what the document's "
    "partition was made from (the source's sha256, or the upstream partitions' fingerprints); a partition whose "
    "fingerprint is current is not made again",
    "inputs": "per-document files of ingest: {source path: sha256 of the file}; corpus tables: {doc_id: the "
    "fingerprints of the document's partitions the table was built from}",
    "model": "the spaCy model package that parsed the document",
}

DOC_ID = (
    "doc_id",
    STR,
    "document id: the source file name without extension, accents dropped, lower-cased, each run of characters "
    "other than a-z and 0-9 made one '-'; a name with nothing left, of over 120 characters, or 'corpus' or 'all' "
    "gets a short hash of the file name added",
)
SPAN_STARTS = (
    "span_starts",
    I64S,
    "character offsets in the source text where each run of the row's source lines "
    "starts (the text as decoded; for a PDF, its text layer as the ingest stage lays it out)",
)
SPAN_ENDS = (
    "span_ends",
    I64S,
    "character offsets where those runs end (exclusive); `span_starts[k]:span_ends[k]` slices the source text",
)
ZONE = ("zone", STR, "where the sentence stands: the body or a footnote (or other note)", ("body", "footnote"))
SECTION_INDEX = ("section_index", I64, "the section's number in the document, from 0 in reading order")
SECTION_TITLE = (
    "section_title",
    STR,
    "the section heading as printed; 'Introduction' for an untitled opening "
    "section, 'Full text' for a document without headings",
)
SCOPE = (
    "scope",
    STR,
    "what the network covers: the whole corpus, one document or one section",
    ("corpus", "document", "section"),
)
SCOPE_ID = (
    "scope_id",
    STR,
    "which one: 'all' for the corpus, the doc_id for a document, '<doc_id>#<section_index>' for a section",
)
REFS = "as '<doc_id>:<sentence_id>', in reading order"
STANCE_COUNTS = (
    ("n", I64, "number of judged sentences (label pro, anti or neutral, predicted or reviewed)"),
    ("n_pro", I64, "of these, sentences labelled pro"),
    ("n_anti", I64, "of these, sentences labelled anti"),
    ("n_neutral", I64, "of these, sentences labelled neutral"),
    ("mean_score", F64, "mean `score` of the judged sentences, in [-1, 1]; empty when n = 0"),
    (
        "ci_low",
        F64,
        "lower end of the 95% bootstrap interval of the mean (sentences resampled; configs/stance.yaml "
        "sets the resamples and seed); the score itself when n = 1, empty when n = 0",
    ),
    ("ci_high", F64, "upper end of that interval"),
    (
        "stance_index",
        F64,
        "(pro - anti) / sentences that refer to the target, in [-1, 1], estimated from the classifier's prediction "
        "categories corrected for its measured errors, with reviewed labels as known (docs/quality-aggregates.md); "
        "empty when no sentence is judged to refer",
    ),
    (
        "index_ci_low",
        F64,
        "lower end of the 95% interval of the stance index, carrying the sampling of the group's sentences, the "
        "classifier's error and the uncertainty of its measurement",
    ),
    ("index_ci_high", F64, "upper end of that interval"),
    ("share_pro", F64, "estimated share of pro among the sentences that refer to the target"),
    ("share_anti", F64, "estimated share of anti among them"),
    ("share_neutral", F64, "estimated share of neutral among them"),
    ("n_reviewed", I64, "how many of the group's sentences carry a reviewed label (method 'reviewed')"),
)

NODE_METRICS = ("mentions", "degree", "weighted_degree", "betweenness", "eigenvector", "community")

TABLES: tuple[Table, ...] = (
    Table(
        "documents",
        "ingest",
        "document (one source file)",
        _columns(
            DOC_ID,
            ("title", STR, "title: from METADATA.tsv, else the title line of the text's front matter"),
            ("author", STR, "author line of the front matter, when the text has one"),
            (
                "year",
                I64,
                "year: from METADATA.tsv (year or date), else the running citation, the front matter's "
                "date or the file name",
            ),
            ("first_page", I64, "first page, from a running citation line ('In: ... pp. 79-89.')"),
            ("last_page", I64, "last page, from the same line"),
            ("citation", STR, "the running citation line as printed"),
            ("front_matter", STRS, "further front-matter lines after the date (venue, time)"),
            ("speaker", STR, "who speaks the text, from METADATA.tsv"),
            (
                "country",
                STR,
                "the speaker's country (ISO 3166 alpha-3), from METADATA.tsv: whose state the "
                "speaker's 'we' stands for",
            ),
            ("source_path", STR, "the source file as the run was given it"),
            ("source_sha256", STR, "sha256 of the source file's bytes"),
            ("format", STR, "the source's format", ("txt", "pdf")),
            (
                "encoding",
                STR,
                "how the text was decoded: UTF-8, UTF-8 with invalid bytes replaced (a warning), "
                "UTF-16 with a byte-order mark, Windows cp1252 (a warning), or a PDF's text layer",
                ("utf-8", "utf-8 (repaired)", "utf-16", "cp1252", "pdf-text-layer"),
            ),
            ("n_sections", I64, "number of sections"),
            ("n_paragraphs", I64, "number of body paragraphs"),
            ("n_footnotes", I64, "number of footnotes and other notes"),
            (
                "warnings",
                STRS,
                "what was read with a warning (encoding repaired, a footnote without a marker in "
                "the body), one line each",
            ),
        ),
        per_document=True,
        key=("doc_id",),
        metadata=(*PROVENANCE, "fingerprint", "inputs"),
    ),
    Table(
        "sections",
        "ingest",
        "section of a document",
        _columns(
            DOC_ID,
            SECTION_INDEX,
            SECTION_TITLE,
            ("n_paragraphs", I64, "number of body paragraphs in the section"),
            SPAN_STARTS,
            SPAN_ENDS,
        ),
        per_document=True,
        key=("doc_id", "section_index"),
        metadata=(*PROVENANCE, "fingerprint", "inputs"),
    ),
    Table(
        "paragraphs",
        "ingest",
        "body paragraph",
        _columns(
            DOC_ID,
            SECTION_INDEX,
            SECTION_TITLE,
            ("paragraph_index", I64, "the paragraph's number in the document, from 0 in reading order"),
            (
                "text",
                STR,
                "the paragraph's text: lines joined, line-end hyphens of split words removed, footnote markers removed",
            ),
            SPAN_STARTS,
            SPAN_ENDS,
        ),
        per_document=True,
        key=("doc_id", "paragraph_index"),
        metadata=(*PROVENANCE, "fingerprint", "inputs"),
    ),
    Table(
        "footnotes",
        "ingest",
        "footnote, or note without a number (an author's acknowledgement)",
        _columns(
            DOC_ID,
            ("number", I64, "the footnote's number; empty for a note without one"),
            (
                "marker",
                STR,
                "the marker as printed: the number, '*' for a note opened by a symbol, '?' for text in "
                "the notes zone before the first numbered note",
            ),
            ("kind", STR, "numbered footnote or other note", ("footnote", "note")),
            ("text", STR, "the note's text, lines joined"),
            ("paragraph_index", I64, "the paragraph whose text held the marker; empty when no marker was found"),
            ("marker_offset", I64, "where in that paragraph's `text` the marker stood (it is removed from the text)"),
            SPAN_STARTS,
            SPAN_ENDS,
        ),
        per_document=True,
        key=("doc_id", "marker"),
        metadata=(*PROVENANCE, "fingerprint", "inputs"),
    ),
    Table(
        "sentences",
        "parse",
        "sentence of a paragraph or a note, as spaCy splits them",
        _columns(
            DOC_ID,
            (
                "sentence_id",
                I64,
                "the sentence's number in the document, from 0: body sentences in reading order, "
                "then the notes' sentences",
            ),
            ZONE,
            (
                "section_index",
                I64,
                "the section of the sentence (a note's: the section of the paragraph holding its "
                "marker; empty if none)",
            ),
            ("section_title", STR, "that section's title"),
            (
                "paragraph_index",
                I64,
                "body: the paragraph's `paragraph_index`; footnote zone: the note's position "
                "(from 0) among the document's rows of `footnotes`",
            ),
            (
                "footnote_number",
                I64,
                "footnote zone: the footnote's number (empty for a note without one); body: empty",
            ),
            ("start_char", I64, "where the sentence starts in its paragraph's (or note's) `text`"),
            ("end_char", I64, "where it ends (exclusive)"),
            ("text", STR, "the sentence's text"),
        ),
        per_document=True,
        key=("doc_id", "sentence_id"),
        metadata=(*PROVENANCE, "fingerprint", "model"),
    ),
    Table(
        "mentions",
        "entities",
        "mention of an actor in a sentence, resolved to an entity",
        _columns(
            DOC_ID,
            ("sentence_id", I64, "the sentence (`sentences.sentence_id`)"),
            ZONE,
            ("start_char", I64, "where the mention starts in the sentence's `text`"),
            ("end_char", I64, "where it ends (exclusive)"),
            ("text", STR, "the mention as written"),
            (
                "entity_id",
                STR,
                "the entity it refers to: a gazetteer id (configs/gazetteer.yaml); 'x-<name>' for an "
                "actor the gazetteer lacks; 'place-<name>' for a capital named as a place",
            ),
            (
                "label",
                STR,
                "the entity's type: a gazetteer label (GPE, ORG, PERSON, LOC, EVENT, LAW, FORMAT) or, for "
                "names the gazetteer lacks, a spaCy NER label kept by `statistical_labels` in configs/entities.yaml "
                "(also FAC by default)",
            ),
            (
                "mention_kind",
                STR,
                "how the actor is named: its name; an alias or bare surname; an acronym; a capital "
                "standing for its government (metonym); a demonym before a state noun ('Russian troops'); an office "
                "title resolved to its holder (role); a speaker's 'we'/'my country' for the speaker's state",
                ("name", "alias", "acronym", "metonym", "demonym", "role", "first_person"),
            ),
            (
                "source",
                STR,
                "what found it: the gazetteer; spaCy's NER (model); a pattern for legal acts (pattern); "
                "the document itself (an acronym it defines, a name met before: text); the speaker (speaker)",
                ("gazetteer", "model", "pattern", "text", "speaker"),
            ),
        ),
        per_document=True,
        key=("doc_id", "sentence_id", "start_char"),
        metadata=(*PROVENANCE, "fingerprint"),
    ),
    Table(
        "entities",
        "entities",
        "entity mentioned anywhere in the corpus",
        _columns(
            ("entity_id", STR, "the entity's id (as in `mentions.entity_id`)"),
            ("name", STR, "canonical name: the gazetteer's, else the most frequent surface form"),
            ("label", STR, "type (as in `mentions.label`)"),
            ("qid", STR, "Wikidata id, for gazetteer entities that have one"),
            ("aliases", STRS, "every surface form found in the corpus, sorted"),
            ("n_mentions", I64, "mentions in the corpus (body and notes)"),
            ("n_body_mentions", I64, "mentions in body text"),
            ("n_documents", I64, "documents that mention it"),
            ("in_gazetteer", BOOL, "whether the entity comes from the gazetteer"),
        ),
        per_document=False,
        key=("entity_id",),
        metadata=(*PROVENANCE, "inputs"),
    ),
    Table(
        "stance",
        "stance",
        "body sentence and target (every body sentence has a row for every configured target)",
        _columns(
            DOC_ID,
            ("sentence_id", I64, "the sentence (`sentences.sentence_id`)"),
            SECTION_INDEX,
            SECTION_TITLE,
            ("target", STR, "the target's name in configs/stance.yaml (russia, ukraine)"),
            (
                "mentioned",
                BOOL,
                "whether the sentence refers to the target as the detector reads it; only these are classified "
                "(the others are none)",
            ),
            (
                "label",
                STR,
                "the sentence's stance toward the target (docs/stance-guideline.md): no reference to it "
                "(none), a reference with no evaluative orientation (neutral), a favourable (pro) or an unfavourable "
                "(anti) orientation toward it",
                ("none", "neutral", "pro", "anti"),
            ),
            (
                "score",
                F64,
                "stance strength in [-1, 1]: learned method P(pro) - P(anti); rules method tanh of the "
                "summed cue effects (0 for neutral); 0 for none",
            ),
            (
                "confidence",
                F64,
                "learned: the probability of the chosen label; rules: how far past (or short of) "
                "the threshold the cues are, in [0, 1]; 1 for none",
            ),
            (
                "holder",
                STR,
                "for pro and anti: whose stance it is, 'author' (the text's own voice) or a holder "
                "named in configs/stance.yaml (Belarus, Russia, Ukraine, US, EU, NATO, UN, West) or 'other'; empty "
                "otherwise",
            ),
            (
                "evidence",
                STRS,
                "up to five words that decided the label: the learned model's strongest words, then "
                "the lexicon cues with the target's role",
            ),
            (
                "method",
                STR,
                "which method judged: 'rules', 'learned', or 'learned (cross-fitted, held out <fold>)' "
                "for a labelled document or section, judged by a model that never saw its labels; 'reviewed' for a "
                "label from a review file (then confidence 1 and score +1, -1 or 0)",
            ),
            ("p_none", F64, "the classifier's probability of none (a reviewed row keeps the model's probabilities)"),
            ("p_neutral", F64, "the classifier's probability of neutral"),
            ("p_pro", F64, "the classifier's probability of pro"),
            ("p_anti", F64, "the classifier's probability of anti (the rules' probabilities are 1 for their label)"),
            ("text", STR, "the sentence's text"),
        ),
        per_document=True,
        key=("doc_id", "sentence_id", "target"),
        metadata=(*PROVENANCE, "fingerprint"),
    ),
    Table(
        "stance_by_section",
        "stance",
        "section and target",
        _columns(
            DOC_ID,
            SECTION_INDEX,
            SECTION_TITLE,
            ("target", STR, "the target's name"),
            *STANCE_COUNTS,
            ("sentence_ids", I64S, "the judged sentences (`sentences.sentence_id`) behind the numbers"),
        ),
        per_document=False,
        key=("doc_id", "section_index", "target"),
        metadata=(*PROVENANCE, "inputs"),
    ),
    Table(
        "stance_by_document",
        "stance",
        "document and target",
        _columns(
            DOC_ID,
            ("title", STR, "the document's title"),
            ("year", I64, "the document's year"),
            ("target", STR, "the target's name"),
            *STANCE_COUNTS,
        ),
        per_document=False,
        key=("doc_id", "target"),
        metadata=(*PROVENANCE, "inputs"),
    ),
    Table(
        "network_nodes",
        "network",
        "actor in one scope's co-mention network (an entity with a label of `node_labels` and at least "
        "`min_count` body mentions there, configs/network.yaml)",
        _columns(
            SCOPE,
            SCOPE_ID,
            ("entity_id", STR, "the entity"),
            ("name", STR, "its canonical name"),
            ("label", STR, "its type"),
            ("mentions", I64, "its body mentions in the scope (kinds in `exclude_kinds` not counted)"),
            ("degree", I64, "number of actors it shares a sentence with (sentence window)"),
            ("weighted_degree", F64, "sum of those edges' counts"),
            ("betweenness", F64, "betweenness centrality (normalised), sentence window"),
            (
                "eigenvector",
                F64,
                "eigenvector centrality weighted by counts, within the largest connected part of "
                "the network; 0 outside it",
            ),
            ("community", I64, "Louvain community (fixed seed), numbered from 0 by size"),
        ),
        per_document=False,
        key=("scope", "scope_id", "entity_id"),
        metadata=(*PROVENANCE, "inputs"),
    ),
    Table(
        "network_edges",
        "network",
        "pair of actors that appear in the same window of one scope",
        _columns(
            SCOPE,
            SCOPE_ID,
            ("window", STR, "the unit of co-mention: a sentence or a paragraph", ("sentence", "paragraph")),
            ("source", STR, "one entity (the smaller id)"),
            ("target", STR, "the other entity"),
            ("count", I64, "number of windows that mention both"),
            ("npmi", F64, "normalised pointwise mutual information over the scope's windows, in [-1, 1]"),
            ("jaccard", F64, "count / (windows with source + windows with target - count)"),
            (
                "sentence_ids",
                STRS,
                f"the sentences of the windows that mention both which name either entity, {REFS}",
            ),
        ),
        per_document=False,
        key=("scope", "scope_id", "window", "source", "target"),
        metadata=(*PROVENANCE, "inputs"),
    ),
    Table(
        "signed_edges",
        "network",
        "holder, target and scope: the holder's pro and anti sentences toward the target (from `stance`)",
        _columns(
            SCOPE,
            SCOPE_ID,
            ("holder", STR, "who holds the stance: a holder's gazetteer id (russia, eu, ...), 'author' or 'other'"),
            ("target", STR, "the target's gazetteer id"),
            ("n_pro", I64, "sentences in which the holder is pro the target"),
            ("n_anti", I64, "sentences in which the holder is anti the target"),
            ("net", I64, "n_pro - n_anti"),
            ("sign", STR, "the sign of net", ("+", "-", "0")),
            ("sentence_ids", STRS, f"the pro and anti sentences counted, {REFS}"),
        ),
        per_document=False,
        key=("scope", "scope_id", "holder", "target"),
        metadata=(*PROVENANCE, "inputs"),
    ),
)

_REFS_JOINED = "the sentences behind the edge, '<doc_id>:<sentence_id>' joined by ';'"
_NODE_METRICS = tuple(("node", name, "as in network_nodes") for name in NODE_METRICS)
_COMENTION_GRAPHML = (
    ("node", "name", "canonical name"),
    ("node", "label", "entity type"),
    *_NODE_METRICS,
    ("edge", "count", "windows that mention both"),
    ("edge", "weight", "the count again, so that Gephi and igraph size edges without configuration"),
    ("edge", "npmi", "as in network_edges"),
    ("edge", "jaccard", "as in network_edges"),
    ("edge", "sentence_ids", _REFS_JOINED),
)
# networkx's GEXF writer makes a node's `label` its XML label and an edge's `weight` its XML weight; so in GEXF the
# XML label is the canonical name and the entity type moves to the attribute `entity_label`
_COMENTION_GEXF = (
    ("node", "name", "canonical name (also each node's label)"),
    ("node", "entity_label", "entity type"),
    *_NODE_METRICS,
    ("edge", "count", "windows that mention both (also each edge's weight)"),
    ("edge", "npmi", "as in network_edges"),
    ("edge", "jaccard", "as in network_edges"),
    ("edge", "sentence_ids", _REFS_JOINED),
)
_SIGNED_EDGES = (
    ("edge", "n_pro", "as in signed_edges"),
    ("edge", "n_anti", "as in signed_edges"),
    ("edge", "net", "as in signed_edges"),
    ("edge", "sign", "as in signed_edges"),
)
_SIGNED_GRAPHML = (
    ("node", "name", "the holder's or target's id"),
    ("node", "role", "holder, target or both"),
    *_SIGNED_EDGES,
    ("edge", "weight", "n_pro + n_anti: how much stance the holder expressed"),
    ("edge", "sentence_ids", _REFS_JOINED),
)
_SIGNED_GEXF = (
    ("node", "name", "the holder's or target's id (also each node's label)"),
    ("node", "role", "holder, target or both"),
    *_SIGNED_EDGES,
    ("edge", "sentence_ids", _REFS_JOINED + "; each edge's weight is n_pro + n_anti"),
)

FILES: tuple[File, ...] = (
    File(
        "spacy/{doc_id}.spacy",
        "parse",
        "the document's parsed paragraphs and notes (a spaCy DocBin), read by the entities and stance stages so "
        "that no text is parsed twice",
    ),
    File(
        "exports/{scope}.{window}.graphml",
        "network",
        "the co-mention network of the corpus ({scope} = 'corpus') or of one document ({scope} = its doc_id) for "
        "one window (sentence, paragraph), as GraphML (igraph, yEd, Gephi, networkx); nodes are entity ids",
        _COMENTION_GRAPHML,
    ),
    File("exports/{scope}.{window}.gexf", "network", "the same network as GEXF (Gephi)", _COMENTION_GEXF),
    File(
        "exports/{scope}.signed.graphml",
        "network",
        "the signed stance network of the corpus or of one document as GraphML: a directed edge from holder to target",
        _SIGNED_GRAPHML,
    ),
    File("exports/{scope}.signed.gexf", "network", "the same network as GEXF", _SIGNED_GEXF),
    File(
        "figures/{doc_id}.network.png",
        "network",
        "the document's strongest actors (`figure_top_n`) and their sentence co-mentions, drawn for the report; "
        "only for a corpus of at most `figure_max_documents` documents (configs/network.yaml)",
    ),
    File(
        "figures/corpus.network.png",
        "network",
        "the corpus's strongest actors (`figure_top_n`) and their sentence co-mentions, drawn for the report's index "
        "whatever the corpus's size (when two actors are mentioned together at all)",
    ),
    File(
        "report.html",
        "report",
        "the report on one self-contained HTML page for a corpus of at most `single_page_max_documents` documents "
        "(configs/report.yaml): stance across the sections of each document and across documents, with the evidence "
        "sentences, the actors, the networks, the stance method's scores and the provenance of the run; for a bigger "
        "corpus a short page pointing to `report/index.html`",
    ),
    File(
        "report/index.html",
        "report",
        "the report's index, for every corpus: each document by year (oldest first) with its author, its title "
        "linking to its page and per target the stance index with its 95% interval and n, in a table sorted by a "
        "click on a column header; the stance across years (a figure per target), the corpus network, the stance "
        "method's scores and the provenance. Self-contained (inline figures, styles and script)",
    ),
    File(
        "report/{doc_id}.html",
        "report",
        "one document's page: its metadata, its stance across sections (figure, table, evidence sentences), its "
        "actors and its network, with links to the index and to the documents before and after it; self-contained. "
        "The page of a document no longer in the corpus is removed",
    ),
    File(
        "datapackage.json",
        "report",
        "a Frictionless Data package descriptor of the tables (each table's path, fields with types and "
        "descriptions, key and allowed values), so that `frictionless validate OUT/datapackage.json` checks them "
        "and the Frictionless tools open them",
    ),
    File(
        "review.csv",
        "review",
        "written by `python -m pipeline review` (`make review`): one row per sentence and target it mentions, not "
        "yet reviewed, those whose reading narrows the stance intervals most first (rank, doc_id, section, "
        "sentence_id, target, sentence, predicted_label, confidence, predicted_holder, evidence) with empty "
        "`label`, `holder` and `note` for the reviewer; UTF-8 with a byte-order mark, comma-separated. A filled-in "
        "copy saved in the reviews folder replaces predictions on the next run (docs/quality-aggregates.md)",
    ),
    File(
        "run_summary.json",
        "every stage",
        "what the last run of each stage did: per stage `counts` (documents done, current, failed, removed), "
        "`skipped` (each failed document: source, doc_id, status, message, warnings), `warnings`, and `error` when "
        "the whole stage stopped (a bad config, a missing model)",
    ),
    File(
        ".lock",
        "every stage",
        "the output folder's lock: a run that writes OUT holds it (the kernel lets go when the run ends or dies) and "
        "writes its process id in it, which a second run names when it refuses to start; not an output to read",
    ),
)

SCHEMAS: dict[str, pa.Schema] = {table.name: table.schema for table in TABLES}
PER_DOCUMENT = tuple(table.name for table in TABLES if table.per_document)
