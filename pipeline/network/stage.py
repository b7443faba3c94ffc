"""Network: who is mentioned with whom (co-mention networks), and who takes a stance on whom (signed network).

Co-mentions are counted over window units of the body text (sentences, paragraphs), separately in every scope: the
corpus, each document, each section. Nodes carry centralities of the scope's primary window graph. Everything here
is pure: frames and config in, frames, graphs, export text and PNG bytes out.
"""

from __future__ import annotations

import io
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, groupby
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
from networkx.readwrite.gexf import GEXF
from networkx.readwrite.graphml import GraphML

from pipeline.core.config import NetworkConfig
from pipeline.core.schemas import SCHEMAS

SCOPES = ("corpus", "document", "section")
CORPUS_SCOPE_ID = "all"
STANCE_LABELS = ("pro", "anti")
NODE_ATTRIBUTES = ("name", "label", "mentions", "degree", "weighted_degree", "betweenness", "eigenvector", "community")
# the columns of network_nodes, network_edges and signed_edges that the exported graphs hold
NODE_COLUMNS = ["entity_id", *NODE_ATTRIBUTES]
EDGE_COLUMNS = ["source", "target", "count", "npmi", "jaccard", "sentence_ids"]
SIGNED_COLUMNS = ["holder", "target", "n_pro", "n_anti", "net", "sign", "sentence_ids"]
# the columns of its inputs the networks are built from (the stage reads no others: no sentence's text)
MENTION_COLUMNS = ["doc_id", "sentence_id", "zone", "entity_id", "mention_kind"]
SENTENCE_COLUMNS = ["doc_id", "sentence_id", "zone", "section_index", "paragraph_index"]
STANCE_COLUMNS = ["doc_id", "sentence_id", "section_index", "target", "label", "holder"]
DECIMALS = 6
LAYOUT_SEED = 7
FIGURE_INCHES, FIGURE_DPI = (10.0, 8.0), 120
FIGURE_STYLE: dict[Any, Any] = {"text.parse_math": False, "font.family": "DejaVu Sans"}


# ---------------------------------------------------------------------------------------------------- co-mentions


def npmi(count: int, n_a: int, n_b: int, n_units: int) -> float:
    """Normalised PMI of two entities sharing ``count`` of ``n_units`` windows: -1 never together, 1 always."""
    p_ab, p_a, p_b = count / n_units, n_a / n_units, n_b / n_units
    if p_ab >= 1.0:
        return 1.0
    return round(math.log(p_ab / (p_a * p_b)) / -math.log(p_ab), DECIMALS)


def build_cooccurrence(
    mentions: pd.DataFrame, sentences: pd.DataFrame, entities: pd.DataFrame, *, config: NetworkConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``network_nodes`` and ``network_edges`` tables: body co-mentions per scope and window, with centralities.

    Scopes are the corpus (id 'all'), each document (its doc_id) and each section ('doc_id#section_index'). A node is
    an entity with a configured label and at least ``min_count`` body mentions in the scope, mentions of excluded kinds
    not counted; its ``mentions`` are those same mentions. Node metrics (degree, centralities, community) come from
    the primary window graph: ``sentence`` when it is configured, else the first window. Edge ``sentence_ids`` are
    the sentences of the supporting windows that mention either entity, in reading order: for a sentence window the
    shared sentence, for a paragraph window every sentence of the paragraph that names one of the two.

    All scopes of a kind are counted at once on integer codes (entities and sentences numbered in sorted order, so
    that code order is name order and reading order); graphs that recur (a document with a single section) are
    measured once.
    """
    body = _body_sentences(sentences)
    located = _node_mentions(mentions, body, entities, config=config)
    windows = list(dict.fromkeys(config.windows))
    primary = "sentence" if "sentence" in windows else (windows[0] if windows else None)
    entity_ids = sorted({str(e) for e in located["entity_id"]})
    placed = pd.DataFrame(
        {
            "sentence": located["sentence"].to_numpy(dtype="int64"),
            "entity": pd.Index(entity_ids, dtype=object).get_indexer(located["entity_id"].astype(object)),
        }
    )
    units = _window_units(body)
    refs = np.array([f"{d}:{s}" for d, s in zip(body["doc_id"], body["sentence_id"], strict=True)], dtype=object)
    info = entities.drop_duplicates("entity_id").set_index("entity_id")
    name_label = {e: (_text(info.at[e, "name"]) or e, _text(info.at[e, "label"])) for e in entity_ids}
    measured: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    node_rows: list[dict[str, Any]] = []
    edge_frames: list[pd.DataFrame] = []
    for scope in SCOPES:
        scope_of, scope_ids = pd.factorize(_scope_ids(body, scope))
        scoped = placed.assign(scope=scope_of[placed["sentence"].to_numpy()])
        counts = scoped[scoped["scope"] >= 0].groupby(["scope", "entity"]).size()
        counts = counts[counts >= config.min_count]
        if counts.empty:
            continue
        members = scoped.merge(counts.index.to_frame(index=False), on=["scope", "entity"])
        links: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for window in windows:
            found = _window_edges(members, scope_of, units[window], refs=refs)
            found = found.assign(
                scope=scope,
                scope_id=np.asarray(scope_ids, dtype=object)[found["scope"].to_numpy()],
                window=window,
                source=np.asarray(entity_ids, dtype=object)[found["source"].to_numpy()],
                target=np.asarray(entity_ids, dtype=object)[found["target"].to_numpy()],
            )
            edge_frames.append(found)
            if window == primary:
                for scope_id, a, b, count in zip(
                    found["scope_id"], found["source"], found["target"], found["count"].tolist(), strict=True
                ):
                    links[scope_id].append((a, b, count))
        for scope_code, group in groupby(
            zip(*(counts.index.get_level_values(level).tolist() for level in (0, 1)), counts.tolist(), strict=True),
            key=lambda row: row[0],
        ):
            scope_id = str(scope_ids[scope_code])
            in_scope = [(entity_ids[entity], n) for _, entity, n in group]
            member_ids = [entity_id for entity_id, _ in in_scope]
            graph_key = (tuple(member_ids), tuple(links[scope_id]))
            if graph_key not in measured:
                measured[graph_key] = _node_metrics(member_ids, links[scope_id], seed=config.louvain_seed)
            metrics = measured[graph_key]
            node_rows.extend(
                {
                    "scope": scope,
                    "scope_id": scope_id,
                    "entity_id": entity_id,
                    "name": name_label[entity_id][0],
                    "label": name_label[entity_id][1],
                    "mentions": n,
                    **metrics[entity_id],
                }
                for entity_id, n in in_scope
            )
    nodes = _table(node_rows, "network_nodes", sort=["scope", "scope_id", "entity_id"])
    edges = _table(
        pd.concat(edge_frames, ignore_index=True) if edge_frames else [],
        "network_edges",
        sort=["scope", "scope_id", "window", "source", "target"],
    )
    return nodes, edges


def _body_sentences(sentences: pd.DataFrame) -> pd.DataFrame:
    """Body sentences in reading order (documents by id, then sentence id); the row number is a sentence's code."""
    body = sentences.loc[sentences["zone"] == "body", ["doc_id", "sentence_id", "paragraph_index", "section_index"]]
    body = body.drop_duplicates(["doc_id", "sentence_id"])
    rank = {doc_id: k for k, doc_id in enumerate(sorted({str(d) for d in body["doc_id"]}))}
    order = body["doc_id"].map(lambda d: rank[str(d)])
    return body.assign(order=order).sort_values(["order", "sentence_id"]).drop(columns="order").reset_index(drop=True)


def _node_mentions(
    mentions: pd.DataFrame, body: pd.DataFrame, entities: pd.DataFrame, *, config: NetworkConfig
) -> pd.DataFrame:
    """Body mentions of entities whose label makes them nodes, with the code (``sentence``) of their sentence."""
    node_ids = entities.loc[entities["label"].isin(config.node_labels), "entity_id"]
    kept = mentions[
        (mentions["zone"] == "body")
        & ~mentions["mention_kind"].isin(config.exclude_kinds)
        & mentions["entity_id"].isin(node_ids)
    ]
    codes = body[["doc_id", "sentence_id"]].assign(sentence=np.arange(len(body), dtype="int64"))
    return kept[["doc_id", "sentence_id", "entity_id"]].merge(codes, on=["doc_id", "sentence_id"], how="inner")


def _window_units(body: pd.DataFrame) -> dict[str, np.ndarray]:
    """For every window kind, the code of the window unit of each body sentence (a sentence, a paragraph)."""
    paragraphs = body.groupby(["doc_id", "paragraph_index"], sort=False, dropna=False).ngroup()
    return {"sentence": np.arange(len(body), dtype="int64"), "paragraph": paragraphs.to_numpy(dtype="int64")}


def _scope_ids(frame: pd.DataFrame, scope: str) -> pd.Series:
    """The scope id of every row; None (left out) for rows outside any section in the section scope."""
    if scope == "corpus":
        return pd.Series(CORPUS_SCOPE_ID, index=frame.index, dtype=object)
    if scope == "document":
        return frame["doc_id"].astype(object)
    ids = [
        None if pd.isna(section) else f"{doc_id}#{int(section)}"
        for doc_id, section in zip(frame["doc_id"], frame["section_index"], strict=True)
    ]
    return pd.Series(ids, index=frame.index, dtype=object)


def _window_edges(
    members: pd.DataFrame, scope_of: np.ndarray, unit_of: np.ndarray, *, refs: np.ndarray
) -> pd.DataFrame:
    """Edges of one window kind in every scope of one kind, on codes: an entity counts once per window unit.

    ``members`` holds the node mentions (scope, entity, sentence codes); ``scope_of`` and ``unit_of`` give each body
    sentence's scope (-1: none) and window unit; ``refs`` its 'doc_id:sentence_id'. Rows (scope, source < target,
    count, npmi, jaccard, sentence_ids) are sorted by scope, source, target.
    """
    in_scope = scope_of >= 0
    span = int(unit_of.max()) + 1
    every_unit = np.unique(scope_of[in_scope] * span + unit_of[in_scope])  # a unit: one window of one scope
    n_units = np.bincount(every_unit // span, minlength=int(scope_of.max()) + 1)
    sentence = members["sentence"].to_numpy()
    seen = pd.DataFrame(
        {
            "scope": members["scope"].to_numpy(),
            "unit": members["scope"].to_numpy() * span + unit_of[sentence],
            "entity": members["entity"].to_numpy(),
            "sentence": sentence,
        }
    ).drop_duplicates()
    present = seen.drop_duplicates(["unit", "entity"])[["scope", "unit", "entity"]]
    units_with = present.groupby(["scope", "entity"]).size()
    pairs = present.merge(present[["unit", "entity"]], on="unit", suffixes=("", "_other"))
    pairs = pairs[pairs["entity"] < pairs["entity_other"]].rename(
        columns={"entity": "source", "entity_other": "target"}
    )
    keys = ["scope", "source", "target"]
    shared = pairs.groupby(keys).size()
    evidence = (
        pd.concat(
            pairs.merge(seen[["unit", "entity", "sentence"]], left_on=["unit", end], right_on=["unit", "entity"])
            for end in ("source", "target")
        )[[*keys, "sentence"]]
        .drop_duplicates()
        .sort_values([*keys, "sentence"])
    )
    sizes = evidence.groupby(keys).size().to_numpy()
    ends = np.cumsum(sizes)
    ordered = refs[evidence["sentence"].to_numpy()]
    scope, source, target = (shared.index.get_level_values(k).to_numpy() for k in keys)
    count = shared.tolist()
    n_source = units_with.reindex(pd.MultiIndex.from_arrays([scope, source])).tolist()
    n_target = units_with.reindex(pd.MultiIndex.from_arrays([scope, target])).tolist()
    n_scope = n_units[scope].tolist()
    return pd.DataFrame(
        {
            "scope": scope,
            "source": source,
            "target": target,
            "count": count,
            "npmi": [npmi(*v) for v in zip(count, n_source, n_target, n_scope, strict=True)],
            "jaccard": [round(c / (a + b - c), DECIMALS) for c, a, b in zip(count, n_source, n_target, strict=True)],
            "sentence_ids": [ordered[i:j].tolist() for i, j in zip(ends - sizes, ends, strict=True)],
        },
    )


def _node_metrics(members: list[str], links: list[tuple[str, str, int]], *, seed: int) -> dict[str, dict[str, Any]]:
    """Degree, weighted degree, betweenness, eigenvector centrality and community of every node of one graph whose
    ``links`` are (source, target, count)."""
    graph = nx.Graph()
    graph.add_nodes_from(members)
    graph.add_weighted_edges_from(links, weight="count")
    betweenness = nx.betweenness_centrality(graph)
    eigenvector = _eigenvector(graph)
    community = _communities(graph, seed=seed)
    return {
        node: {
            "degree": int(graph.degree(node)),
            "weighted_degree": float(graph.degree(node, weight="count")),
            "betweenness": round(float(betweenness[node]), DECIMALS),
            "eigenvector": round(eigenvector[node], DECIMALS),
            "community": community[node],
        }
        for node in members
    }


def _eigenvector(graph: nx.Graph) -> dict[str, float]:
    """Weighted eigenvector centrality within the main component (most nodes, then most weight); 0.0 elsewhere.

    The leading eigenvector of a disconnected graph is not unique, and scoring each component on its own would rank
    the two ends of an isolated pair above the hub of the main network.
    """
    values = dict.fromkeys(graph, 0.0)
    if graph.number_of_edges() == 0:
        return values
    main = sorted(
        nx.connected_components(graph),
        key=lambda c: (-len(c), -graph.subgraph(c).size(weight="count"), min(c)),
    )[0]
    if len(main) == 2:  # the solver needs three nodes; a pair's leading eigenvector is (1, 1) / sqrt 2
        return values | dict.fromkeys(main, 1 / math.sqrt(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # three nodes: scipy falls back to the dense solver
        found = nx.eigenvector_centrality_numpy(graph.subgraph(sorted(main)), weight="count")
    return values | {node: abs(float(value)) for node, value in found.items()}


def _communities(graph: nx.Graph, *, seed: int) -> dict[str, int]:
    """Louvain communities numbered by size (largest first), ties broken by their smallest entity id."""
    found = nx.community.louvain_communities(graph, weight="count", seed=seed)
    ordered = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    return {node: number for number, members in enumerate(ordered) for node in members}


# ---------------------------------------------------------------------------------------------------- stance


def build_signed(stance: pd.DataFrame, *, scopes: bool = True) -> pd.DataFrame:
    """The ``signed_edges`` table: holder -> target counts of pro and anti sentences, per corpus, document, section.

    ``scopes=False`` gives the corpus scope only. Holders keep the stance stage's names ('author' is the text's own
    voice); rows labelled pro/anti without a holder are left out.
    """
    taken = stance[stance["label"].isin(STANCE_LABELS) & stance["holder"].notna()]
    rows: list[dict[str, Any]] = []
    for scope in SCOPES if scopes else SCOPES[:1]:
        keys = [_scope_ids(taken, scope).rename("scope_id"), taken["holder"], taken["target"]]
        for (scope_id, holder, target), group in taken.groupby(keys, sort=True):
            n_pro = int((group["label"] == "pro").sum())
            n_anti = int((group["label"] == "anti").sum())
            net = n_pro - n_anti
            rows.append(
                {
                    "scope": scope,
                    "scope_id": scope_id,
                    "holder": holder,
                    "target": target,
                    "n_pro": n_pro,
                    "n_anti": n_anti,
                    "net": net,
                    "sign": "+" if net > 0 else "-" if net < 0 else "0",
                    "sentence_ids": _refs(zip(group["doc_id"], group["sentence_id"], strict=True)),
                }
            )
    return _table(rows, "signed_edges", sort=["scope", "scope_id", "holder", "target"])


# ---------------------------------------------------------------------------------------------------- graphs


def to_graph(nodes: pd.DataFrame, edges: pd.DataFrame, *, scope: str, scope_id: str, window: str) -> nx.Graph:
    """One scope's co-mention network as a networkx graph whose attributes GraphML and GEXF can hold.

    Edges also get ``weight`` (= count) so that Gephi and other tools size them without configuration.
    """
    return _comention_graph(
        _scope_rows(nodes, NODE_COLUMNS, scope=scope, scope_id=scope_id),
        _scope_rows(edges, EDGE_COLUMNS, scope=scope, scope_id=scope_id, window=window),
    )


def _comention_graph(nodes: list[tuple[Any, ...]], edges: list[tuple[Any, ...]]) -> nx.Graph:
    """``to_graph`` of one scope's ``NODE_COLUMNS`` rows and one window's ``EDGE_COLUMNS`` rows."""
    graph = nx.Graph()
    for entity_id, name, label, mentions, degree, weighted, betweenness, eigenvector, community in sorted(
        nodes, key=lambda row: row[0]
    ):
        graph.add_node(
            str(entity_id),
            name=_text(name),
            label=_text(label),
            mentions=int(mentions),
            degree=int(degree),
            weighted_degree=float(weighted),
            betweenness=float(betweenness),
            eigenvector=float(eigenvector),
            community=int(community),
        )
    for source, target, count, npmi_value, jaccard, sentence_ids in sorted(edges, key=lambda row: row[:2]):
        graph.add_edge(
            str(source),
            str(target),
            count=int(count),
            weight=float(count),
            npmi=float(npmi_value),
            jaccard=float(jaccard),
            sentence_ids=";".join(sentence_ids),
        )
    return graph


def signed_graph(signed: pd.DataFrame, *, scope: str, scope_id: str) -> nx.DiGraph:
    """One scope's signed stance network as a directed graph (holder -> target) with export-safe attributes.

    Nodes carry ``role`` (holder, target or both); edges carry ``weight`` = n_pro + n_anti, the stance expressed.
    """
    return _signed_graph(_scope_rows(signed, SIGNED_COLUMNS, scope=scope, scope_id=scope_id))


def _signed_graph(rows: list[tuple[Any, ...]]) -> nx.DiGraph:
    """``signed_graph`` of one scope's ``SIGNED_COLUMNS`` rows."""
    graph = nx.DiGraph()
    edges = sorted(rows, key=lambda row: row[:2])
    holders, targets = {str(row[0]) for row in edges}, {str(row[1]) for row in edges}
    for node in sorted(holders | targets):
        role = "both" if node in holders and node in targets else "holder" if node in holders else "target"
        graph.add_node(node, name=node, role=role)
    for holder, target, n_pro, n_anti, net, sign, sentence_ids in edges:
        graph.add_edge(
            str(holder),
            str(target),
            n_pro=int(n_pro),
            n_anti=int(n_anti),
            net=int(net),
            sign=str(sign),
            weight=float(n_pro + n_anti),
            sentence_ids=";".join(sentence_ids),
        )
    return graph


def graphml_text(graph: nx.Graph) -> str:
    """The graph as GraphML text (for R igraph, Gephi, yEd): the text of ``nx.generate_graphml``, lines joined."""
    _check_exportable(graph)
    keys: dict[tuple[str, str, str], str] = {}  # (name, type, for) -> key id, in order of first use

    def data(scope: str, values: dict[str, Any]) -> list[str]:
        lines = []
        for name, value in values.items():
            key = keys.setdefault((str(name), _xml_type(value), scope), f"d{len(keys)}")
            text = str(value).translate(XML_TEXT)
            lines.append(f'      <data key="{key}">{text}</data>' if text else f'      <data key="{key}" />')
        return lines

    body: list[str] = []
    for node, values in graph.nodes(data=True):
        body += _xml_element(2, "node", {"id": str(node)}, data("node", values))
    for source, target, values in graph.edges(data=True):
        body += _xml_element(2, "edge", {"source": str(source), "target": str(target)}, data("edge", values))
    # networkx inserts each new key first, so the keys come newest first
    declared = [
        _xml_leaf(1, "key", {"id": key, "for": scope, "attr.name": name, "attr.type": kind})
        for (name, kind, scope), key in reversed(keys.items())
    ]
    edge_default = "directed" if graph.is_directed() else "undirected"
    root = {"xmlns": GraphML.NS_GRAPHML, "xmlns:xsi": GraphML.NS_XSI, "xsi:schemaLocation": GraphML.SCHEMALOCATION}
    text = _xml_document(
        _xml_element(0, "graphml", root, declared + _xml_element(1, "graph", {"edgedefault": edge_default}, body))
    )
    return "\n".join(text.splitlines()) + "\n"


def gexf_text(graph: nx.Graph) -> str:
    """The graph as GEXF 1.2 text for Gephi, with entity names as node labels and no date stamp (reruns identical):
    the text of networkx's ``GEXFWriter`` without its ``lastmodifieddate``.

    GEXF reserves the node attribute ``label`` for the displayed label, so the entity label travels as
    ``entity_label``.
    """
    _check_exportable(graph, node_reserved=GEXF_NODE_RESERVED, edge_reserved=GEXF_EDGE_RESERVED)
    ids: dict[tuple[str, str], str] = {}  # (class, title) -> attribute id, numbered in order of first use
    declared: dict[str, list[str]] = {}  # class -> its attribute declarations, classes in order of first use

    def attvalues(kind: str, values: dict[str, Any]) -> list[str]:
        lines = []
        for title, value in values.items():
            key = (kind, str(title))
            if key not in ids:
                ids[key] = str(len(ids))
                attribute = {"id": ids[key], "title": key[1], "type": _xml_type(value)}
                declared.setdefault(kind, []).append(_xml_leaf(3, "attribute", attribute))
            text = str(value)
            if isinstance(value, float):
                text = GEXF_FLOATS.get(text, text)
            lines.append(f'          <attvalue for="{ids[key]}" value="{text.translate(XML_ATTRIBUTE)}" />')
        return _xml_element(4, "attvalues", {}, lines) if lines else []

    nodes: list[str] = []
    for node, data in graph.nodes(data=True):
        values = dict(data)
        if "label" in values:
            values["entity_label"] = values.pop("label")
        shown = {"id": str(node), "label": str(values.get("name") or node)}
        nodes += _xml_element(3, "node", shown, attvalues("node", values))
    edges: list[str] = []
    for number, (source, target, data) in enumerate(graph.edges(data=True)):
        values = dict(data)
        shown = {"source": str(source), "target": str(target), "id": str(number)}
        if "weight" in values:
            shown["weight"] = str(values.pop("weight"))
        edges += _xml_element(3, "edge", shown, attvalues("edge", values))
    attributes = [  # networkx inserts each new class first
        line
        for kind in reversed(declared)
        for line in _xml_element(2, "attributes", {"mode": "static", "class": kind}, declared[kind])
    ]
    version = GEXF.versions["1.2draft"]
    root = {
        "xmlns": version["NS_GEXF"],
        "xmlns:xsi": version["NS_XSI"],
        "xsi:schemaLocation": version["SCHEMALOCATION"],
        "version": version["VERSION"],
    }
    meta = _xml_element(1, "meta", {}, [_xml_leaf(2, "creator", {}, f"NetworkX {nx.__version__}")])
    edge_default = "directed" if graph.is_directed() else "undirected"
    content = attributes + _xml_element(2, "nodes", {}, nodes) + _xml_element(2, "edges", {}, edges)
    shape = {"defaultedgetype": edge_default, "mode": "static", "name": ""}
    return _xml_document(_xml_element(0, "gexf", root, meta + _xml_element(1, "graph", shape, content)))


# The export text is written directly rather than through networkx's writers, which build an ElementTree and
# serialise it (most of the stage's time): the same elements, attribute order, indentation, escaping and US-ASCII
# character references, for graphs with str, int and float attributes only (a test compares the bytes).
XML_TYPES: dict[type, str] = {str: "string", int: "long", float: "double"}
GEXF_FLOATS = {"inf": "INF", "-inf": "-INF", "nan": "NaN"}
GEXF_NODE_RESERVED = frozenset({"id", "key", "pid", "start", "end", "parents", "spells", "viz"})  # label: renamed
GEXF_EDGE_RESERVED = frozenset({"id", "key", "label", "type", "start", "end", "spells", "viz"})  # weight: shown
XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
XML_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
)


def _check_exportable(
    graph: nx.Graph, *, node_reserved: frozenset[str] = frozenset(), edge_reserved: frozenset[str] = frozenset()
) -> None:
    """Refuse what the direct writers do not cover: multigraphs, graph attributes, attributes GEXF gives a role."""
    if graph.is_multigraph() or graph.graph:
        raise ValueError("only simple graphs without graph attributes are exported")
    for reserved, items in ((node_reserved, graph.nodes.values()), (edge_reserved, graph.edges.values())):
        for data in items if reserved else ():
            if not reserved.isdisjoint(data):
                raise ValueError(f"attribute '{min(reserved.intersection(data))}' has a meaning of its own in GEXF")


def _xml_type(value: object) -> str:
    try:
        return XML_TYPES[type(value)]
    except KeyError:
        raise TypeError(f"attribute value type is not exported: {type(value).__name__}") from None


def _xml_start(tag: str, attributes: dict[str, str]) -> str:
    return "<" + tag + "".join(f' {name}="{value.translate(XML_ATTRIBUTE)}"' for name, value in attributes.items())


def _xml_leaf(depth: int, tag: str, attributes: dict[str, str], text: str = "") -> str:
    """One line: an element without children (ElementTree writes an empty text as ``<tag />``)."""
    start = "  " * depth + _xml_start(tag, attributes)
    return f"{start}>{text.translate(XML_TEXT)}</{tag}>" if text else start + " />"


def _xml_element(depth: int, tag: str, attributes: dict[str, str], children: list[str]) -> list[str]:
    """The lines of an element around its children's lines, or a leaf when it has none."""
    if not children:
        return [_xml_leaf(depth, tag, attributes)]
    return ["  " * depth + _xml_start(tag, attributes) + ">", *children, "  " * depth + f"</{tag}>"]


def _xml_document(lines: list[str]) -> str:
    """The lines as ``ElementTree.tostring`` encodes them: US-ASCII, other characters as character references."""
    return ("\n".join(lines) + "\n").encode("ascii", "xmlcharrefreplace").decode("ascii")


# ---------------------------------------------------------------------------------------------------- figure


def network_figure(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    scope: str,
    scope_id: str,
    window: str,
    top_n: int,
    title: str,
    seed: int = LAYOUT_SEED,
) -> bytes:
    """A PNG of one scope's strongest ``top_n`` actors (by weighted degree) for the report; same input, same bytes.

    Node area follows mentions, colour the community, edge width the co-mention count.
    """
    graph = to_graph(nodes, edges, scope=scope, scope_id=scope_id, window=window)
    return _figure_png(graph, caption_scope=f"{scope} {scope_id}", window=window, top_n=top_n, title=title, seed=seed)


def _figure_png(graph: nx.Graph, *, caption_scope: str, window: str, top_n: int, title: str, seed: int) -> bytes:
    """``network_figure`` of the scope's graph (``to_graph``)."""
    import matplotlib.style  # only for figures: a corpus too big to draw them never loads matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ranked = sorted(graph, key=lambda n: (-graph.nodes[n]["weighted_degree"], -graph.nodes[n]["mentions"], n))
    # built in sorted order: a subgraph view walks its node set in hash order, and the layout depends on node order
    keep = set(ranked[:top_n])
    shown = nx.Graph()
    shown.add_nodes_from((n, graph.nodes[n]) for n in sorted(keep))
    shown.add_edges_from(sorted((u, v, d) for u, v, d in graph.edges(data=True) if u in keep and v in keep))
    # matplotlib's defaults, not the user's matplotlibrc; no math text, so a '$' in a name stays a '$'
    with matplotlib.style.context("default"), matplotlib.rc_context(FIGURE_STYLE):
        figure = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_axis_off()
        axes.set_title(title, fontsize=13)
        if len(shown) == 0:
            axes.text(0.5, 0.5, "No actors in this scope", ha="center", va="center", fontsize=12, color="#555555")
        else:
            _draw(shown, axes, seed=seed)
        caption = (
            f"{caption_scope} · {window} window · {len(shown)} of {len(graph)} actors (top by weighted degree)\n"
            "node area: mentions · colour: community · edge width: co-mentions"
        )
        figure.text(0.01, 0.01, caption, fontsize=8, color="#555555", wrap=True)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw(graph: nx.Graph, axes: Any, *, seed: int) -> None:
    import matplotlib

    # unweighted layout with wide spacing: weighting by count pulls the main actors into one unreadable knot
    position = nx.spring_layout(graph, k=2.5 / math.sqrt(len(graph)), iterations=200, weight=None, seed=seed)
    palette = matplotlib.colormaps["tab10"]
    most_mentions = max(data["mentions"] for _, data in graph.nodes(data=True))
    order = sorted(graph)
    sizes = [100 + 1900 * graph.nodes[n]["mentions"] / most_mentions for n in order]
    colours = [palette(graph.nodes[n]["community"] % palette.N) for n in order]
    links = sorted(graph.edges(data="count"))
    if links:
        most_count = max(count for _, _, count in links)
        widths = [0.6 + 5.4 * count / most_count for _, _, count in links]
        nx.draw_networkx_edges(
            graph,
            position,
            edgelist=[(a, b) for a, b, _ in links],
            width=widths,
            edge_color="#8c8c8c",
            alpha=0.55,
            ax=axes,
        )
    nx.draw_networkx_nodes(
        graph,
        position,
        nodelist=order,
        node_size=sizes,
        node_color=colours,
        edgecolors="#333333",
        linewidths=0.6,
        ax=axes,
    )
    # names sit just above their node (offset ~ node radius) so that they never hide its colour
    above = {
        n: (position[n][0], position[n][1] + 0.02 + 0.0034 * math.sqrt(s)) for n, s in zip(order, sizes, strict=True)
    }
    nx.draw_networkx_labels(
        graph,
        above,
        labels={n: graph.nodes[n]["name"] or n for n in order},
        font_size=9,
        verticalalignment="bottom",
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
        ax=axes,
    )
    axes.margins(0.12)


# ---------------------------------------------------------------------------------------------------- exports

ExportScope = tuple[str, str, bool]  # scope, scope_id, whether to draw its figure


@dataclass(frozen=True)
class ExportBatch:
    """Some scopes' rows of the three network tables and what to export of them, as one picklable work item."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    signed: pd.DataFrame
    scopes: list[ExportScope]
    windows: list[str]
    figure_top_n: int


def export_batch(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    signed: pd.DataFrame,
    scopes: list[ExportScope],
    *,
    windows: list[str],
    figure_top_n: int,
) -> ExportBatch:
    """The batch of ``scopes``, carrying only their rows of the tables (little to send to a worker process)."""
    wanted = {(scope, scope_id) for scope, scope_id, _ in scopes}

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        # a boolean array, not a list: indexing with an empty list (an empty table) would select no columns
        keep = np.array([key in wanted for key in zip(frame["scope"], frame["scope_id"], strict=True)], dtype=bool)
        return frame[keep]

    return ExportBatch(rows(nodes), rows(edges), rows(signed), list(scopes), list(windows), figure_top_n)


def batch_files(batch: ExportBatch) -> list[dict[str, str | bytes]]:
    """``scope_files`` of every scope of the batch, in its order."""
    nodes = _rows_by_scope(batch.nodes, NODE_COLUMNS)
    edges = _rows_by_scope(batch.edges, ["window", *EDGE_COLUMNS])
    signed = _rows_by_scope(batch.signed, SIGNED_COLUMNS)
    return [
        scope_files(
            nodes.get((scope, scope_id), []),
            edges.get((scope, scope_id), []),
            signed.get((scope, scope_id), []),
            scope=scope,
            scope_id=scope_id,
            windows=batch.windows,
            figure_top_n=batch.figure_top_n if with_figure else None,
        )
        for scope, scope_id, with_figure in batch.scopes
    ]


def scope_files(
    nodes: list[tuple[Any, ...]],
    edges: list[tuple[Any, ...]],
    signed: list[tuple[Any, ...]],
    *,
    scope: str,
    scope_id: str,
    windows: list[str],
    figure_top_n: int | None = None,
) -> dict[str, str | bytes]:
    """One scope's files by name suffix: GraphML and GEXF of each window's co-mention network ('sentence.graphml',
    'sentence.gexf', ...) and of the signed network ('signed.graphml', 'signed.gexf'); with ``figure_top_n``, the PNG
    of the first window's network ('network.png'). The scope's rows: ``NODE_COLUMNS`` of its nodes, the window and
    ``EDGE_COLUMNS`` of its edges, ``SIGNED_COLUMNS`` of its signed edges."""
    files: dict[str, str | bytes] = {}
    graphs = {window: _comention_graph(nodes, [row[1:] for row in edges if row[0] == window]) for window in windows}
    for window, graph in graphs.items():
        files[f"{window}.graphml"] = graphml_text(graph)
        files[f"{window}.gexf"] = gexf_text(graph)
    directed = _signed_graph(signed)
    files["signed.graphml"] = graphml_text(directed)
    files["signed.gexf"] = gexf_text(directed)
    if figure_top_n is not None:
        files["network.png"] = _figure_png(
            graphs[windows[0]],
            caption_scope=f"{scope} {scope_id}",
            window=windows[0],
            top_n=figure_top_n,
            title=f"Co-mentions ({windows[0]} window): {'the corpus' if scope == 'corpus' else scope_id}",
            seed=LAYOUT_SEED,
        )
    return files


# ---------------------------------------------------------------------------------------------------- helpers


def _refs(refs: Iterable[tuple[Any, Any]]) -> list[str]:
    """Sentence references as 'doc_id:sentence_id', unique, in reading order (sentence 2 before 10)."""
    return [f"{doc_id}:{sentence_id}" for doc_id, sentence_id in sorted({(str(d), int(s)) for d, s in refs})]


def _rows(frame: pd.DataFrame, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    """The frame's rows as tuples of plain Python values (far cheaper than ``to_dict('records')``)."""
    return zip(*(frame[column].tolist() for column in columns), strict=True)


def _rows_by_scope(frame: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """The rows (as in ``_rows``) of every (scope, scope_id), in the frame's order."""
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    for scope, scope_id, *row in _rows(frame, ["scope", "scope_id", *columns]):
        grouped[(scope, scope_id)].append(tuple(row))
    return grouped


def _scope_rows(frame: pd.DataFrame, columns: list[str], **equal: str) -> list[tuple[Any, ...]]:
    """The rows (as in ``_rows``) whose columns hold the ``equal`` values; cheaper than a filtered frame."""
    keep = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        keep &= frame[column].to_numpy() == value
    return list(compress(_rows(frame, columns), keep.tolist()))


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _table(rows: list[dict[str, Any]] | pd.DataFrame, name: str, *, sort: list[str]) -> pd.DataFrame:
    """Rows (or a frame) as a frame with exactly the artifact's columns and dtypes, sorted and freshly indexed."""
    schema = SCHEMAS[name]
    frame = pd.DataFrame(rows, columns=schema.names)
    for field in schema:
        if pa.types.is_int64(field.type):
            frame[field.name] = frame[field.name].astype("int64")
        elif pa.types.is_float64(field.type):
            frame[field.name] = frame[field.name].astype("float64")
        elif pa.types.is_string(field.type):
            frame[field.name] = frame[field.name].astype("str")
        elif pa.types.is_list(field.type):  # lists of no rows would otherwise be a float column
            frame[field.name] = frame[field.name].astype(object)
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)
