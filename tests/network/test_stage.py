"""Network stage: hand-computed co-mention measures on tiny frames, invariants (hypothesis), and the real chapter."""

from __future__ import annotations

import dataclasses
import io
import math
import re
import shutil
import struct
from collections import Counter, defaultdict
from itertools import combinations

import networkx as nx
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.artifacts import read_table, write_table
from pipeline.core.config import NetworkConfig, load_config
from pipeline.core.schemas import SCHEMAS
from pipeline.network.stage import (
    batch_files,
    build_cooccurrence,
    build_signed,
    export_batch,
    gexf_text,
    graphml_text,
    network_figure,
    npmi,
    signed_graph,
    to_graph,
)
from tests.conftest import CHAPTER_ID, CONFIGS, copy_configs, run_pipeline

DOC = "doc"
CONFIG = NetworkConfig(
    node_labels=["PERSON", "GPE", "ORG"],
    exclude_kinds=["first_person"],
    min_count=1,
    windows=["sentence", "paragraph"],
    louvain_seed=42,
    figure_top_n=10,
    figure_max_documents=30,
)


def make_sentences(layout: list[tuple[int, int, int]], *, doc_id: str = DOC, footnotes: int = 0) -> pd.DataFrame:
    """Body sentences from (sentence_id, paragraph_index, section_index), then ``footnotes`` footnote sentences."""
    rows = [
        {"doc_id": doc_id, "sentence_id": s, "zone": "body", "section_index": float(sec), "paragraph_index": p}
        for s, p, sec in layout
    ]
    last = max((s for s, _, _ in layout), default=-1)
    rows += [
        {
            "doc_id": doc_id,
            "sentence_id": last + 1 + k,
            "zone": "footnote",
            "section_index": math.nan,
            "paragraph_index": 0,
        }
        for k in range(footnotes)
    ]
    return pd.DataFrame(rows, columns=["doc_id", "sentence_id", "zone", "section_index", "paragraph_index"])


def make_mentions(items: list[tuple[int, str]], *, doc_id: str = DOC, zone: str = "body", kind: str = "name"):
    """Mentions from (sentence_id, entity_id)."""
    return pd.DataFrame(
        [{"doc_id": doc_id, "sentence_id": s, "zone": zone, "entity_id": e, "mention_kind": kind} for s, e in items],
        columns=["doc_id", "sentence_id", "zone", "entity_id", "mention_kind"],
    )


def make_entities(labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"entity_id": e, "name": e.upper(), "label": label} for e, label in labels.items()],
        columns=["entity_id", "name", "label"],
    )


def edge(edges: pd.DataFrame, window: str, source: str, target: str, *, scope: str = "document") -> pd.Series:
    found = edges[
        (edges["scope"] == scope)
        & (edges["window"] == window)
        & (edges["source"] == source)
        & (edges["target"] == target)
    ]
    assert len(found) == 1, f"expected one {window} edge {source}-{target}, found {len(found)}"
    return found.iloc[0]


def node(nodes: pd.DataFrame, entity_id: str, *, scope: str = "document") -> pd.Series:
    found = nodes[(nodes["scope"] == scope) & (nodes["entity_id"] == entity_id)]
    assert len(found) == 1
    return found.iloc[0]


def assert_fits_schema(frame: pd.DataFrame, name: str) -> None:
    assert list(frame.columns) == SCHEMAS[name].names
    pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False)  # raises when a value does not fit


# ---------------------------------------------------------------------------------------------------- small frames


@pytest.fixture
def three_sentences():
    """s0 (paragraph 0): A, A, B; s1 (paragraph 0): A; s2 (paragraph 1): B, C. One section."""
    sentences = make_sentences([(0, 0, 0), (1, 0, 0), (2, 1, 0)])
    mentions = make_mentions([(0, "a"), (0, "a"), (0, "b"), (1, "a"), (2, "b"), (2, "c")])
    entities = make_entities({"a": "GPE", "b": "GPE", "c": "ORG"})
    return mentions, sentences, entities


def test_sentence_window_measures_by_hand(three_sentences):
    nodes, edges = build_cooccurrence(*three_sentences, config=CONFIG)
    # 3 sentences; A is in 2 of them (twice in s0, counted once), B in 2, C in 1
    ab = edge(edges, "sentence", "a", "b")
    assert ab["count"] == 1
    assert ab["npmi"] == pytest.approx(math.log((1 / 3) / ((2 / 3) * (2 / 3))) / -math.log(1 / 3), abs=1e-6)
    assert ab["jaccard"] == pytest.approx(1 / (2 + 2 - 1))
    assert ab["sentence_ids"] == ["doc:0"]
    bc = edge(edges, "sentence", "b", "c")
    assert bc["npmi"] == pytest.approx(math.log((1 / 3) / ((2 / 3) * (1 / 3))) / -math.log(1 / 3), abs=1e-6)
    assert bc["jaccard"] == pytest.approx(1 / (2 + 1 - 1))
    assert bc["sentence_ids"] == ["doc:2"]
    sentence_pairs = edges[(edges["scope"] == "document") & (edges["window"] == "sentence")]
    assert list(zip(sentence_pairs["source"], sentence_pairs["target"], strict=True)) == [("a", "b"), ("b", "c")]
    assert node(nodes, "a")["mentions"] == 3


def test_paragraph_window_measures_by_hand(three_sentences):
    _, edges = build_cooccurrence(*three_sentences, config=CONFIG)
    # 2 paragraphs: {A, B} and {B, C}; B is in both, so B's pairs are independent of it (PMI 0)
    ab = edge(edges, "paragraph", "a", "b")
    assert (ab["count"], ab["npmi"], ab["jaccard"]) == (1, pytest.approx(0.0), pytest.approx(1 / (1 + 2 - 1)))
    assert ab["sentence_ids"] == ["doc:0", "doc:1"], "the paragraph's sentences that name A or B"
    bc = edge(edges, "paragraph", "b", "c")
    assert (bc["count"], bc["npmi"], bc["jaccard"]) == (1, pytest.approx(0.0), pytest.approx(1 / 2))
    assert bc["sentence_ids"] == ["doc:2"]


def test_node_metrics_of_a_path(three_sentences):
    nodes, _ = build_cooccurrence(*three_sentences, config=CONFIG)
    a, b, c = (node(nodes, e) for e in "abc")
    assert (a["degree"], b["degree"], c["degree"]) == (1, 2, 1)
    assert (a["weighted_degree"], b["weighted_degree"]) == (1.0, 2.0)
    assert (a["betweenness"], b["betweenness"], c["betweenness"]) == (0.0, 1.0, 0.0)
    # the leading eigenvector of the path a-b-c is (1/2, 1/sqrt 2, 1/2)
    assert [a["eigenvector"], b["eigenvector"], c["eigenvector"]] == pytest.approx(
        [0.5, 1 / math.sqrt(2), 0.5], abs=1e-6
    )
    assert (a["name"], a["label"], c["label"]) == ("A", "GPE", "ORG")


def test_npmi_bounds():
    assert npmi(1, 1, 1, 1) == 1.0, "together in the only window"
    assert npmi(2, 2, 2, 4) == pytest.approx(1.0), "always together"
    assert npmi(1, 2, 2, 4) == pytest.approx(0.0), "independent"
    assert -1.0 < npmi(1, 3, 3, 4) < 0.0, "together less than chance"


def test_scopes_ids_and_min_count_per_scope():
    # section 0: s0 (A, B), s1 (A); section 1: s2 (B, C), s3 (C)
    sentences = make_sentences([(0, 0, 0), (1, 0, 0), (2, 1, 1), (3, 1, 1)])
    mentions = make_mentions([(0, "a"), (0, "b"), (1, "a"), (2, "b"), (2, "c"), (3, "c")])
    entities = make_entities({"a": "GPE", "b": "GPE", "c": "GPE"})
    nodes, edges = build_cooccurrence(mentions, sentences, entities, config=dataclasses.replace(CONFIG, min_count=2))
    members = nodes.groupby(["scope", "scope_id"])["entity_id"].apply(list).to_dict()
    assert members == {
        ("corpus", "all"): ["a", "b", "c"],
        ("document", "doc"): ["a", "b", "c"],
        ("section", "doc#0"): ["a"],  # B has one mention in each section: below min_count in both
        ("section", "doc#1"): ["c"],
    }
    assert set(edges["scope_id"]) == {"all", "doc"}, "a lone node per section gives no edges"
    assert (nodes["mentions"] >= 2).all()


def test_only_body_mentions_of_node_labels_and_kept_kinds_count():
    sentences = make_sentences([(0, 0, 0), (1, 0, 0)], footnotes=1)
    mentions = pd.concat(
        [
            make_mentions([(0, "a"), (0, "b"), (1, "a"), (1, "b")]),
            make_mentions([(2, "cited"), (2, "a")], zone="footnote"),
            make_mentions([(0, "speaker"), (1, "speaker")], kind="first_person"),
            make_mentions([(0, "river"), (1, "river")]),
        ],
        ignore_index=True,
    )
    entities = make_entities({"a": "GPE", "b": "PERSON", "cited": "PERSON", "speaker": "GPE", "river": "LOC"})
    nodes, edges = build_cooccurrence(mentions, sentences, entities, config=dataclasses.replace(CONFIG, min_count=1))
    assert set(nodes["entity_id"]) == {"a", "b"}
    assert set(edges["source"]) | set(edges["target"]) == {"a", "b"}
    assert node(nodes, "a")["mentions"] == 2, "the footnote mention is not counted"
    assert edge(edges, "sentence", "a", "b")["npmi"] == 1.0, "footnote sentences are not window units"


def test_disconnected_graph_and_lone_nodes_do_not_break_centralities():
    # main component a-b-c (s0, s1), a separate pair d-e (s2), and f alone (s3)
    sentences = make_sentences([(0, 0, 0), (1, 1, 0), (2, 2, 0), (3, 3, 0)])
    mentions = make_mentions([(0, "a"), (0, "b"), (1, "b"), (1, "c"), (2, "d"), (2, "e"), (3, "f")])
    entities = make_entities({e: "ORG" for e in "abcdef"})
    nodes, _ = build_cooccurrence(mentions, sentences, entities, config=CONFIG)
    document = nodes[nodes["scope"] == "document"].set_index("entity_id")
    assert (document.loc[["a", "b", "c"], "eigenvector"] > 0).all()
    assert (document.loc[["d", "e", "f"], "eigenvector"] == 0.0).all(), "only the main component is scored"
    assert document.loc["f", ["degree", "weighted_degree", "betweenness"]].tolist() == [0, 0.0, 0.0]
    communities = document["community"]
    assert communities["d"] == communities["e"] != communities["a"]
    assert sorted(set(communities)) == list(range(communities.nunique())), "numbered 0, 1, 2, ... without gaps"
    sizes = communities.value_counts().sort_index().tolist()
    assert sizes == sorted(sizes, reverse=True), "community 0 is the largest"

    lone = build_cooccurrence(make_mentions([(0, "a")]), make_sentences([(0, 0, 0)]), entities, config=CONFIG)
    assert lone[0][["degree", "eigenvector", "community"]].drop_duplicates().values.tolist() == [[0, 0.0, 0]]
    assert lone[1].empty

    pair = build_cooccurrence(make_mentions([(0, "a"), (0, "b")]), make_sentences([(0, 0, 0)]), entities, config=CONFIG)
    assert pair[0]["eigenvector"].tolist() == pytest.approx([1 / math.sqrt(2)] * 6), "a pair shares the centrality"


def test_empty_input_gives_empty_tables_that_fit_the_schemas():
    nodes, edges = build_cooccurrence(make_mentions([]), make_sentences([]), make_entities({}), config=CONFIG)
    assert nodes.empty and edges.empty
    assert_fits_schema(nodes, "network_nodes")
    assert_fits_schema(edges, "network_edges")


def test_actors_never_mentioned_together_give_nodes_and_an_empty_edge_table_that_writes(tmp_path):
    """Two actors in sentences of their own: nodes of degree 0, no edges, and the empty edge table is written and
    read back with its schema (its list column must not come out as floats)."""
    mentions = make_mentions([(0, "a"), (1, "b")])
    nodes, edges = build_cooccurrence(
        mentions, make_sentences([(0, 0, 0), (1, 1, 0)]), make_entities({"a": "GPE", "b": "GPE"}), config=CONFIG
    )
    assert sorted(nodes.loc[nodes["scope"] == "document", "entity_id"]) == ["a", "b"]
    assert (nodes["degree"] == 0).all() and edges.empty
    for frame, name in ((nodes, "network_nodes"), (edges, "network_edges")):
        write_table(frame, tmp_path / f"{name}.parquet", name=name, meta={"stage": "network"})
        back = read_table(tmp_path / f"{name}.parquet", name=name)
        assert list(back.columns) == SCHEMAS[name].names and len(back) == len(frame)


def test_empty_tables_export_as_empty_graphs():
    """A corpus without node actors and without stance: every scope's exports are graphs without nodes."""
    nodes, edges = build_cooccurrence(make_mentions([]), make_sentences([(0, 0, 0)]), make_entities({}), config=CONFIG)
    signed = build_signed(make_stance([]))
    scopes = [("corpus", "all", False), ("document", DOC, False)]
    batch = export_batch(nodes, edges, signed, scopes, windows=["sentence", "paragraph"], figure_top_n=10)
    for files in batch_files(batch):
        assert sorted(files) == sorted(
            f"{w}.{f}" for w in ("sentence", "paragraph", "signed") for f in ("graphml", "gexf")
        )
        for suffix, text in files.items():
            read = nx.read_graphml if suffix.endswith("graphml") else nx.read_gexf
            assert read(io.BytesIO(str(text).encode("utf-8"))).number_of_nodes() == 0


def test_same_input_in_any_row_order_gives_identical_tables(three_sentences):
    mentions, sentences, entities = three_sentences
    first = build_cooccurrence(mentions, sentences, entities, config=CONFIG)
    again = build_cooccurrence(mentions, sentences, entities, config=CONFIG)
    shuffled = build_cooccurrence(
        mentions.sample(frac=1, random_state=3), sentences.iloc[::-1], entities.iloc[::-1], config=CONFIG
    )
    for left, right in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(left, right)
    for left, right in zip(first, shuffled, strict=True):
        pd.testing.assert_frame_equal(left, right)


@settings(max_examples=40, deadline=None)
@given(
    placed=st.lists(
        st.tuples(st.integers(0, 7), st.sampled_from("abcde")),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 1000),
)
def test_cooccurrence_invariants(placed, seed):
    """Measures stay in range, counts never exceed either node's windows, and row order never matters."""
    sentences = make_sentences([(s, s // 3, s // 5) for s in range(8)])
    mentions = make_mentions(placed)
    entities = make_entities({e: "GPE" for e in "abcde"})
    nodes, edges = build_cooccurrence(mentions, sentences, entities, config=CONFIG)
    assert (edges["source"] < edges["target"]).all()
    assert edges["npmi"].between(-1.0, 1.0).all()
    assert (edges["jaccard"] > 0).all() and (edges["jaccard"] <= 1).all()
    mentions_of = nodes.set_index(["scope", "scope_id", "entity_id"])["mentions"]
    for row in edges[edges["window"] == "sentence"].itertuples():
        assert row.count <= min(
            mentions_of[(row.scope, row.scope_id, row.source)], mentions_of[(row.scope, row.scope_id, row.target)]
        )
        assert len(row.sentence_ids) == row.count
    weighted = nodes.set_index(["scope", "scope_id", "entity_id"])["weighted_degree"]
    sentence_edges = edges[edges["window"] == "sentence"]
    ends = pd.concat(
        [sentence_edges.rename(columns={"source": "entity_id"}), sentence_edges.rename(columns={"target": "entity_id"})]
    )
    totals = ends.groupby(["scope", "scope_id", "entity_id"])["count"].sum()
    assert (weighted.reindex(totals.index) == totals).all()
    shuffled = build_cooccurrence(mentions.sample(frac=1, random_state=seed), sentences, entities, config=CONFIG)
    pd.testing.assert_frame_equal(nodes, shuffled[0])
    pd.testing.assert_frame_equal(edges, shuffled[1])


def loop_edges(mentions: pd.DataFrame, sentences: pd.DataFrame, config: NetworkConfig) -> pd.DataFrame:
    """The co-mention edges counted the plain way, one window unit at a time (the stage counts all scopes at once)."""
    body = sentences[sentences["zone"] == "body"].drop_duplicates(["doc_id", "sentence_id"])
    place = {(r.doc_id, r.sentence_id): r for r in body.itertuples()}
    kept = [
        (place[m.doc_id, m.sentence_id], m.entity_id)
        for m in mentions.itertuples()
        if m.zone == "body" and m.mention_kind not in config.exclude_kinds and (m.doc_id, m.sentence_id) in place
    ]
    scope_of = {
        "corpus": lambda r: "all",
        "document": lambda r: r.doc_id,
        "section": lambda r: f"{r.doc_id}#{int(r.section_index)}",
    }
    rows = []
    for scope, scope_id in scope_of.items():
        mentions_in = Counter((scope_id(r), e) for r, e in kept)
        for window, unit in (("sentence", "sentence_id"), ("paragraph", "paragraph_index")):
            units = defaultdict(set)
            for r in body.itertuples():
                units[scope_id(r)].add((r.doc_id, getattr(r, unit)))
            present: dict = defaultdict(lambda: defaultdict(set))
            for r, e in kept:
                if mentions_in[scope_id(r), e] >= config.min_count:
                    present[scope_id(r), r.doc_id, getattr(r, unit)][e].add((r.doc_id, r.sentence_id))
            with_entity, shared, evidence = Counter(), Counter(), defaultdict(set)
            for (sid, _, _), in_unit in present.items():
                with_entity.update((sid, e) for e in in_unit)
                for a, b in combinations(sorted(in_unit), 2):
                    shared[sid, a, b] += 1
                    evidence[sid, a, b] |= in_unit[a] | in_unit[b]
            for (sid, a, b), n in shared.items():
                n_a, n_b = with_entity[sid, a], with_entity[sid, b]
                rows.append(
                    {
                        "scope": scope,
                        "scope_id": sid,
                        "window": window,
                        "source": a,
                        "target": b,
                        "count": n,
                        "npmi": npmi(n, n_a, n_b, len(units[sid])),
                        "jaccard": round(n / (n_a + n_b - n), 6),
                        "sentence_ids": [f"{d}:{i}" for d, i in sorted(evidence[sid, a, b])],
                    }
                )
    columns = SCHEMAS["network_edges"].names
    frame = pd.DataFrame(rows, columns=columns).sort_values(["scope", "scope_id", "window", "source", "target"])
    return frame.reset_index(drop=True)


@settings(max_examples=40, deadline=None)
@given(
    placed=st.lists(
        st.tuples(st.sampled_from(["d1", "d2", "d10"]), st.integers(0, 11), st.sampled_from("abcdef")),
        min_size=1,
        max_size=40,
    ),
    min_count=st.integers(1, 3),
)
def test_cooccurrence_counts_all_scopes_as_a_loop_over_windows_would(placed, min_count):
    """Counting every scope at once on codes gives the edges of a plain loop over each scope's window units."""
    layout = [(s, s // 3, s // 5) for s in range(12)]
    sentences = pd.concat([make_sentences(layout, doc_id=d) for d in ("d1", "d2", "d10")], ignore_index=True)
    mentions = pd.concat([make_mentions([(s, e)], doc_id=d) for d, s, e in placed], ignore_index=True)
    config = dataclasses.replace(CONFIG, min_count=min_count)
    nodes, edges = build_cooccurrence(mentions, sentences, make_entities({e: "GPE" for e in "abcdef"}), config=config)
    expected = loop_edges(mentions, sentences, config)
    pd.testing.assert_frame_equal(
        edges.drop(columns="sentence_ids"), expected.drop(columns="sentence_ids"), check_dtype=False
    )
    assert edges["sentence_ids"].tolist() == expected["sentence_ids"].tolist()
    counted = Counter()
    for d, s, e in placed:
        for scope, scope_id in (("corpus", "all"), ("document", d), ("section", f"{d}#{s // 5}")):
            counted[scope, scope_id, e] += 1
    assert {k: n for k, n in counted.items() if n >= min_count} == {
        (r.scope, r.scope_id, r.entity_id): r.mentions for r in nodes.itertuples()
    }


def test_export_batches_give_the_files_of_the_whole_tables(three_sentences):
    """A batch carries only its scopes' rows, and its files are those drawn from the whole tables."""
    nodes, edges = build_cooccurrence(*three_sentences, config=CONFIG)
    signed = build_signed(make_stance([("doc", 0, 0, "russia", "anti", "author"), ("other", 1, 0, "a", "pro", "b")]))
    scopes = [("corpus", "all", False), ("document", "doc", True)]
    batch = export_batch(nodes, edges, signed, scopes, windows=["sentence", "paragraph"], figure_top_n=10)
    assert set(batch.signed["scope_id"]) == {"all", "doc"} and set(batch.nodes["scope"]) == {"corpus", "document"}
    corpus, document = batch_files(batch)
    assert sorted(corpus) == sorted(
        f"{w}.{f}" for w in ("sentence", "paragraph", "signed") for f in ("graphml", "gexf")
    )
    assert sorted(document) == sorted([*corpus, "network.png"])
    assert document["sentence.graphml"] == graphml_text(
        to_graph(nodes, edges, scope="document", scope_id="doc", window="sentence")
    )
    assert document["paragraph.gexf"] == gexf_text(
        to_graph(nodes, edges, scope="document", scope_id="doc", window="paragraph")
    )
    assert corpus["signed.graphml"] == graphml_text(signed_graph(signed, scope="corpus", scope_id="all"))
    assert document["network.png"] == network_figure(
        nodes,
        edges,
        scope="document",
        scope_id="doc",
        window="sentence",
        top_n=10,
        title="Co-mentions (sentence window): doc",
    )


def make_stance(rows: list[tuple[str, int, int, str, str, str | None]]) -> pd.DataFrame:
    """Stance rows from (doc_id, sentence_id, section_index, target, label, holder)."""
    return pd.DataFrame(rows, columns=["doc_id", "sentence_id", "section_index", "target", "label", "holder"])


def test_signed_edges_count_pro_and_anti_per_holder_and_target():
    stance = make_stance(
        [
            ("d1", 10, 1, "russia", "anti", "author"),
            ("d1", 2, 0, "russia", "pro", "author"),
            ("d1", 3, 0, "russia", "anti", "author"),
            ("d1", 3, 0, "ukraine", "neutral", None),
            ("d1", 4, 0, "ukraine", "pro", "Belarus"),
            ("d1", 5, 0, "ukraine", "none", None),
            ("d2", 1, 0, "russia", "anti", "author"),
        ]
    )
    signed = build_signed(stance)
    assert_fits_schema(signed, "signed_edges")
    corpus = signed[signed["scope"] == "corpus"].set_index(["holder", "target"])
    assert corpus.loc[("author", "russia"), ["n_pro", "n_anti", "net", "sign"]].tolist() == [1, 3, -2, "-"]
    assert corpus.loc[("author", "russia"), "sentence_ids"] == ["d1:2", "d1:3", "d1:10", "d2:1"]
    assert corpus.loc[("Belarus", "ukraine"), ["net", "sign"]].tolist() == [1, "+"]
    assert len(corpus) == 2, "neutral and none rows make no edges"
    section = signed[(signed["scope"] == "section") & (signed["scope_id"] == "d1#0")].set_index(["holder", "target"])
    assert section.loc[("author", "russia"), ["n_pro", "n_anti", "net", "sign"]].tolist() == [1, 1, 0, "0"]
    assert set(signed["scope_id"]) == {"all", "d1", "d2", "d1#0", "d1#1", "d2#0"}
    assert set(build_signed(stance, scopes=False)["scope"]) == {"corpus"}
    pd.testing.assert_frame_equal(build_signed(stance.iloc[::-1]), signed)


def test_signed_graph_round_trips_through_both_formats():
    stance = make_stance([("d", 1, 0, "russia", "anti", "author"), ("d", 2, 0, "ukraine", "pro", "Russia")])
    graph = signed_graph(build_signed(stance), scope="document", scope_id="d")
    assert graph.is_directed()
    assert sorted(graph.edges) == [("Russia", "ukraine"), ("author", "russia")]
    assert graph.edges["author", "russia"]["sign"] == "-"
    for text, read in ((graphml_text(graph), nx.read_graphml), (gexf_text(graph), nx.read_gexf)):
        back = read(io.BytesIO(text.encode("utf-8")))
        assert back.is_directed()
        assert sorted(back.nodes) == sorted(graph.nodes)
        assert sorted(back.edges) == sorted(graph.edges)


def _networkx_graphml(graph: nx.Graph) -> str:
    return "\n".join(nx.generate_graphml(graph)) + "\n"


def _networkx_gexf(graph: nx.Graph) -> str:
    """What networkx's GEXFWriter writes, without its date stamp, entity labels moved as ``gexf_text`` does."""
    from networkx.readwrite.gexf import GEXFWriter

    shown = graph.copy()
    for node, data in shown.nodes(data=True):
        if "label" in data:
            data["entity_label"] = data.pop("label")
        data["label"] = str(data.get("name") or node)
    writer = GEXFWriter()
    writer.xml.find("meta").attrib.pop("lastmodifieddate")
    writer.add_graph(shown)
    return str(writer)


def test_export_text_is_byte_for_byte_what_networkx_writes(three_sentences):
    """graphml_text and gexf_text write the text themselves (faster); it must stay what networkx's writers give."""
    awkward = nx.Graph()
    awkward.add_node('a&b <"é">', name="x 'q'\n\tz\r — ü", label="", mentions=3, share=float("nan"))
    awkward.add_node("lonely")
    awkward.add_edge('a&b <"é">', "z\u2028y", weight=2.0, count=1, note="a\x0bb\rc", high=float("inf"), low=-1e300)
    directed = nx.DiGraph()
    directed.add_edge("b", "a", n=1)
    directed.add_edge("a", "b", n=2)
    directed.add_node("c", name="")
    nodes, edges = build_cooccurrence(*three_sentences, config=CONFIG)
    signed = build_signed(
        make_stance([("doc", 0, 0, "russia", "anti", "author"), ("doc", 1, 0, "ukraine", "pro", "a")])
    )
    graphs = [
        awkward,
        directed,
        nx.Graph(),
        nx.DiGraph(),
        nx.path_graph(["x", "y", "z"]),
        to_graph(nodes, edges, scope="document", scope_id=DOC, window="sentence"),
        signed_graph(signed, scope="corpus", scope_id="all"),
    ]
    for graph in graphs:
        assert graphml_text(graph) == _networkx_graphml(graph)
        assert gexf_text(graph) == _networkx_gexf(graph)
    with pytest.raises(ValueError, match="meaning of its own"):
        gexf_text(nx.Graph([("a", "b", {"type": "x"})]))


# ---------------------------------------------------------------------------------------------------- real chapter


@pytest.fixture(scope="module")
def chapter_tables(chapter_run) -> dict[str, pd.DataFrame]:
    """The chapter's inputs of the network stage, from the whole pipeline run on it."""
    return {
        name: pd.read_parquet(chapter_run / f"{name}.parquet")
        for name in ("mentions", "sentences", "entities", "stance")
    }


@pytest.fixture(scope="module")
def network_config() -> NetworkConfig:
    return load_config(NetworkConfig, CONFIGS)


@pytest.fixture(scope="module")
def chapter_network(chapter_tables, network_config) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = chapter_tables
    return build_cooccurrence(t["mentions"], t["sentences"], t["entities"], config=network_config)


def chapter_graph(chapter_network) -> nx.Graph:
    return to_graph(*chapter_network, scope="document", scope_id=CHAPTER_ID, window="sentence")


@pytest.mark.slow
def test_chapter_tables_fit_their_schemas(chapter_tables, chapter_network, network_config):
    nodes, edges = chapter_network
    assert_fits_schema(nodes, "network_nodes")
    assert_fits_schema(edges, "network_edges")
    assert_fits_schema(build_signed(chapter_tables["stance"]), "signed_edges")
    assert set(nodes["scope"]) == {"corpus", "document", "section"}
    assert set(edges["window"]) == set(network_config.windows)
    assert (nodes["mentions"] >= network_config.min_count).all()
    node_keys = set(zip(nodes["scope"], nodes["scope_id"], nodes["entity_id"], strict=True))
    for column in ("source", "target"):
        assert set(zip(edges["scope"], edges["scope_id"], edges[column], strict=True)) <= node_keys


@pytest.mark.slow
def test_chapter_strongest_sentence_dyads(chapter_network):
    _, edges = chapter_network
    document = edges[(edges["scope"] == "document") & (edges["window"] == "sentence")]
    strongest = document.nlargest(3, "count", keep="all")
    pairs = set(zip(strongest["source"], strongest["target"], strict=True))
    assert ("belarus", "russia") in pairs
    assert ("belarus", "west") in pairs


@pytest.mark.slow
def test_chapter_nodes_are_actors_not_citation_debris(chapter_network):
    nodes, _ = chapter_network
    debris = re.compile(
        r"^\W*(pp?|cf|ibid|ed|eds|op\.? cit)\b\.?|\b(1[89]|20)\d{2}\b|\b\d{1,2} (jan|feb|mar|apr|may|jun|jul|aug|sep|"
        r"oct|nov|dec)[a-z]*\b|https?:|www\.",
        re.IGNORECASE,
    )
    for name in nodes["name"].unique():
        assert re.search(r"[^\W\d_]", name), f"{name!r} has no letters"
        assert not debris.search(name), f"{name!r} looks like citation debris or a date"
    assert {"belarus", "russia", "ukraine", "west", "lukashenka"} <= set(nodes["entity_id"])


@pytest.mark.slow
def test_chapter_footnote_only_entities_are_not_nodes(chapter_tables, chapter_network):
    mentions = chapter_tables["mentions"]
    in_body = set(mentions.loc[mentions["zone"] == "body", "entity_id"])
    footnote_only = set(mentions.loc[mentions["zone"] == "footnote", "entity_id"]) - in_body
    assert footnote_only, "the chapter cites people and outlets only in its notes"
    assert footnote_only.isdisjoint(chapter_network[0]["entity_id"])


@pytest.mark.slow
def test_chapter_exports_load_back_with_the_same_nodes_and_edges(chapter_network):
    graph = chapter_graph(chapter_network)
    assert graph.number_of_edges() > 0
    for _, _, data in graph.edges(data=True):
        assert all(isinstance(v, str | int | float) for v in data.values())
    for _, data in graph.nodes(data=True):
        assert all(isinstance(v, str | int | float) for v in data.values())
    for text, read in ((graphml_text(graph), nx.read_graphml), (gexf_text(graph), nx.read_gexf)):
        back = read(io.BytesIO(text.encode("utf-8")))
        assert sorted(back.nodes) == sorted(graph.nodes)
        assert {frozenset(e) for e in back.edges} == {frozenset(e) for e in graph.edges}
        assert back.edges["belarus", "russia"]["count"] == graph.edges["belarus", "russia"]["count"]
    gexf = gexf_text(graph)
    assert gexf == gexf_text(graph) and "lastmodifieddate" not in gexf, "no date stamp: reruns are identical"
    assert nx.read_gexf(io.BytesIO(gexf.encode())).nodes["belarus"]["label"] == "Belarus", "Gephi shows names"


@pytest.mark.slow
def test_chapter_signed_network_keeps_the_authors_voice(chapter_tables):
    signed = build_signed(chapter_tables["stance"])
    document = signed[signed["scope"] == "document"]
    assert "author" in set(document["holder"])
    assert (document["net"] == document["n_pro"] - document["n_anti"]).all()
    graph = signed_graph(signed, scope="document", scope_id=CHAPTER_ID)
    back = nx.read_graphml(io.StringIO(graphml_text(graph)))
    assert sorted(back.edges) == sorted(graph.edges)


@pytest.mark.slow
def test_chapter_figure_is_a_deterministic_png(chapter_network, network_config):
    def draw(scope_id: str) -> bytes:
        return network_figure(
            *chapter_network,
            scope="document",
            scope_id=scope_id,
            window="sentence",
            top_n=network_config.figure_top_n,
            title="Belarus: co-mentions",
        )

    png = draw(CHAPTER_ID)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 960), "10 x 8 inches at 120 dpi"
    assert png == draw(CHAPTER_ID)
    assert draw("no-such-document")[:8] == b"\x89PNG\r\n\x1a\n", "an empty scope still gives a figure"


@pytest.mark.slow
def test_network_stage_wrote_loadable_exports_and_a_figure(chapter_run):
    nodes = pd.read_parquet(chapter_run / "network_nodes.parquet")
    for window in ("sentence", "paragraph"):
        graph = nx.read_graphml(chapter_run / "exports" / f"{CHAPTER_ID}.{window}.graphml")
        expected = nodes[(nodes["scope"] == "document") & (nodes["scope_id"] == CHAPTER_ID)]
        assert set(graph.nodes) == set(expected["entity_id"])
        assert nx.read_gexf(chapter_run / "exports" / f"{CHAPTER_ID}.{window}.gexf").number_of_edges() == (
            graph.number_of_edges()
        )
    signed = nx.read_graphml(chapter_run / "exports" / f"{CHAPTER_ID}.signed.graphml")
    assert signed.is_directed() and "russia" in signed.nodes
    assert (chapter_run / "figures" / f"{CHAPTER_ID}.network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_dev_corpus_network_as_one_corpus_and_per_document(dev_run):
    nodes = pd.read_parquet(dev_run / "network_nodes.parquet")
    edges = pd.read_parquet(dev_run / "network_edges.parquet")
    documents = pd.read_parquet(dev_run / "documents.parquet")
    assert set(nodes["scope"]) == {"corpus", "document", "section"}
    corpus = nodes[nodes["scope"] == "corpus"]
    assert {"russia", "ukraine", "belarus", "united-states"} <= set(corpus["entity_id"])
    per_document = set(nodes.loc[nodes["scope"] == "document", "scope_id"])
    assert per_document <= set(documents["doc_id"]) and len(per_document) >= 25
    top = edges[(edges["scope"] == "corpus") & (edges["window"] == "sentence")].nlargest(5, "count")
    assert any({"russia", "ukraine"} == {r.source, r.target} for r in top.itertuples())
    assert nx.read_graphml(dev_run / "exports" / "corpus.sentence.graphml").number_of_nodes() == len(corpus)


def test_a_corpus_past_the_figure_limit_gets_exports_and_no_stale_figures(chapter_run, tmp_path):
    out, configs = tmp_path / "out", tmp_path / "configs"
    shutil.copytree(chapter_run, out)
    copy_configs(configs)
    figure = out / "figures" / f"{CHAPTER_ID}.network.png"
    assert figure.is_file(), "a one-document corpus gets its figure by default"
    network_yaml = configs / "network.yaml"
    network_yaml.write_text(network_yaml.read_text().replace("figure_max_documents: 30", "figure_max_documents: 0"))
    run_pipeline("network", "--out", str(out), "--configs", str(configs))
    run_pipeline("report", "--out", str(out), "--configs", str(configs))
    assert not figure.exists(), "the earlier figure is removed, not shown as if current"
    assert (out / "exports" / f"{CHAPTER_ID}.sentence.graphml").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "No network figure was produced for this document" in html
