"""Network: who is mentioned with whom (co-mention networks), and who takes a stance on whom (signed network).

Co-mentions are counted over window units of the body text (sentences, paragraphs), separately in every scope: the
corpus, each document, each section. Nodes carry centralities of the scope's primary window graph. Everything here
is pure: frames and config in, frames, graphs, export text and PNG bytes out.
"""

from __future__ import annotations

import io
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

import matplotlib
import matplotlib.style
import networkx as nx
import pandas as pd
import pyarrow as pa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from networkx.readwrite.gexf import GEXFWriter

from pipeline.config import NetworkConfig
from pipeline.schemas import SCHEMAS

SCOPES = ("corpus", "document", "section")
CORPUS_SCOPE_ID = "all"
WINDOW_UNITS = {"sentence": "sentence_id", "paragraph": "paragraph_index"}
STANCE_LABELS = ("pro", "anti")
DECIMALS = 6
LAYOUT_SEED = 7
FIGURE_INCHES, FIGURE_DPI = (10.0, 8.0), 120
FIGURE_STYLE: dict[Any, Any] = {"text.parse_math": False, "font.family": "DejaVu Sans"}

SentenceRef = tuple[str, int]


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
    """
    body = _body_sentences(sentences)
    located = _node_mentions(mentions, body, entities, config=config)
    windows = list(dict.fromkeys(config.windows))
    primary = "sentence" if "sentence" in windows else (windows[0] if windows else None)
    info = entities.drop_duplicates("entity_id").set_index("entity_id")
    node_rows: list[dict[str, Any]] = []
    edge_rows: list[dict[str, Any]] = []
    for scope in SCOPES:
        units_by_scope = dict(list(body.groupby(_scope_ids(body, scope), sort=True)))
        mentions_by_scope = dict(list(located.groupby(_scope_ids(located, scope), sort=True)))
        for scope_id in sorted(units_by_scope):
            scope_mentions = mentions_by_scope.get(scope_id)
            if scope_mentions is None:
                continue
            counts = scope_mentions["entity_id"].value_counts()
            members = sorted(str(e) for e, n in counts.items() if n >= config.min_count)
            if not members:
                continue
            scope_mentions = scope_mentions[scope_mentions["entity_id"].isin(members)]
            primary_edges: list[dict[str, Any]] = []
            for window in windows:
                window_edges = _window_edges(units_by_scope[scope_id], scope_mentions, window=window)
                edge_rows.extend({"scope": scope, "scope_id": scope_id, "window": window, **e} for e in window_edges)
                if window == primary:
                    primary_edges = window_edges
            metrics = _node_metrics(members, primary_edges, seed=config.louvain_seed)
            for entity_id in members:
                node_rows.append(
                    {
                        "scope": scope,
                        "scope_id": scope_id,
                        "entity_id": entity_id,
                        "name": _text(info.at[entity_id, "name"]) or entity_id,
                        "label": _text(info.at[entity_id, "label"]),
                        "mentions": int(counts[entity_id]),
                        **metrics[entity_id],
                    }
                )
    nodes = _table(node_rows, "network_nodes", sort=["scope", "scope_id", "entity_id"])
    edges = _table(edge_rows, "network_edges", sort=["scope", "scope_id", "window", "source", "target"])
    return nodes, edges


def _body_sentences(sentences: pd.DataFrame) -> pd.DataFrame:
    body = sentences.loc[sentences["zone"] == "body", ["doc_id", "sentence_id", "paragraph_index", "section_index"]]
    return body.drop_duplicates(["doc_id", "sentence_id"]).reset_index(drop=True)


def _node_mentions(
    mentions: pd.DataFrame, body: pd.DataFrame, entities: pd.DataFrame, *, config: NetworkConfig
) -> pd.DataFrame:
    """Body mentions of entities whose label makes them nodes, with the paragraph and section of their sentence."""
    node_ids = entities.loc[entities["label"].isin(config.node_labels), "entity_id"]
    kept = mentions[
        (mentions["zone"] == "body")
        & ~mentions["mention_kind"].isin(config.exclude_kinds)
        & mentions["entity_id"].isin(node_ids)
    ]
    return kept[["doc_id", "sentence_id", "entity_id"]].merge(body, on=["doc_id", "sentence_id"], how="inner")


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


def _window_edges(units: pd.DataFrame, located: pd.DataFrame, *, window: str) -> list[dict[str, Any]]:
    """Edges of one scope and window: an entity counts once per window unit; pairs are sorted (source < target)."""
    unit_column = WINDOW_UNITS[window]
    n_units = len(units[["doc_id", unit_column]].drop_duplicates())
    present: dict[tuple[str, int], dict[str, set[SentenceRef]]] = defaultdict(lambda: defaultdict(set))
    for doc_id, sentence_id, unit, entity_id in zip(
        located["doc_id"], located["sentence_id"], located[unit_column], located["entity_id"], strict=True
    ):
        present[(str(doc_id), int(unit))][str(entity_id)].add((str(doc_id), int(sentence_id)))
    units_with: Counter[str] = Counter()
    shared: Counter[tuple[str, str]] = Counter()
    evidence: dict[tuple[str, str], set[SentenceRef]] = defaultdict(set)
    for in_unit in present.values():
        units_with.update(in_unit.keys())
        for pair in combinations(sorted(in_unit), 2):
            shared[pair] += 1
            evidence[pair] |= in_unit[pair[0]] | in_unit[pair[1]]
    return [
        {
            "source": a,
            "target": b,
            "count": count,
            "npmi": npmi(count, units_with[a], units_with[b], n_units),
            "jaccard": round(count / (units_with[a] + units_with[b] - count), DECIMALS),
            "sentence_ids": _refs(evidence[(a, b)]),
        }
        for (a, b), count in sorted(shared.items())
    ]


def _node_metrics(members: list[str], edges: list[dict[str, Any]], *, seed: int) -> dict[str, dict[str, Any]]:
    """Degree, weighted degree, betweenness, eigenvector centrality and community of every node of one graph."""
    graph = nx.Graph()
    graph.add_nodes_from(members)
    graph.add_weighted_edges_from(((e["source"], e["target"], e["count"]) for e in edges), weight="count")
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
    graph = nx.Graph()
    here = nodes[(nodes["scope"] == scope) & (nodes["scope_id"] == scope_id)].sort_values("entity_id")
    for node in here.to_dict("records"):
        graph.add_node(
            str(node["entity_id"]),
            name=_text(node["name"]),
            label=_text(node["label"]),
            mentions=int(node["mentions"]),
            degree=int(node["degree"]),
            weighted_degree=float(node["weighted_degree"]),
            betweenness=float(node["betweenness"]),
            eigenvector=float(node["eigenvector"]),
            community=int(node["community"]),
        )
    links = edges[(edges["scope"] == scope) & (edges["scope_id"] == scope_id) & (edges["window"] == window)]
    for edge in links.sort_values(["source", "target"]).to_dict("records"):
        graph.add_edge(
            str(edge["source"]),
            str(edge["target"]),
            count=int(edge["count"]),
            weight=float(edge["count"]),
            npmi=float(edge["npmi"]),
            jaccard=float(edge["jaccard"]),
            sentence_ids=";".join(edge["sentence_ids"]),
        )
    return graph


def signed_graph(signed: pd.DataFrame, *, scope: str, scope_id: str) -> nx.DiGraph:
    """One scope's signed stance network as a directed graph (holder -> target) with export-safe attributes.

    Nodes carry ``role`` (holder, target or both); edges carry ``weight`` = n_pro + n_anti, the stance expressed.
    """
    graph = nx.DiGraph()
    here = signed[(signed["scope"] == scope) & (signed["scope_id"] == scope_id)]
    holders, targets = set(here["holder"].astype(str)), set(here["target"].astype(str))
    for node in sorted(holders | targets):
        role = "both" if node in holders and node in targets else "holder" if node in holders else "target"
        graph.add_node(node, name=node, role=role)
    for edge in here.sort_values(["holder", "target"]).to_dict("records"):
        graph.add_edge(
            str(edge["holder"]),
            str(edge["target"]),
            n_pro=int(edge["n_pro"]),
            n_anti=int(edge["n_anti"]),
            net=int(edge["net"]),
            sign=str(edge["sign"]),
            weight=float(edge["n_pro"] + edge["n_anti"]),
            sentence_ids=";".join(edge["sentence_ids"]),
        )
    return graph


def graphml_text(graph: nx.Graph) -> str:
    """The graph as GraphML text (for R igraph, Gephi, yEd)."""
    return "\n".join(nx.generate_graphml(graph)) + "\n"


def gexf_text(graph: nx.Graph) -> str:
    """The graph as GEXF 1.2 text for Gephi, with entity names as node labels and no date stamp (reruns identical).

    GEXF reserves the node attribute ``label`` for the displayed label, so the entity label travels as
    ``entity_label``.
    """
    shown = graph.copy()
    for node, data in shown.nodes(data=True):
        if "label" in data:
            data["entity_label"] = data.pop("label")
        data["label"] = str(data.get("name") or node)
    writer = GEXFWriter()
    meta = writer.xml.find("meta")
    if meta is not None:
        meta.attrib.pop("lastmodifieddate", None)
    writer.add_graph(shown)
    return str(writer)


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
    ranked = sorted(graph, key=lambda n: (-graph.nodes[n]["weighted_degree"], -graph.nodes[n]["mentions"], n))
    shown = nx.Graph(graph.subgraph(sorted(ranked[:top_n])))
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
            f"{scope} {scope_id} · {window} window · {len(shown)} of {len(graph)} actors (top by weighted degree)\n"
            "node area: mentions · colour: community · edge width: co-mentions"
        )
        figure.text(0.01, 0.01, caption, fontsize=8, color="#555555", wrap=True)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw(graph: nx.Graph, axes: Any, *, seed: int) -> None:
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


# ---------------------------------------------------------------------------------------------------- helpers


def _refs(refs: Iterable[tuple[Any, Any]]) -> list[str]:
    """Sentence references as 'doc_id:sentence_id', unique, in reading order (sentence 2 before 10)."""
    return [f"{doc_id}:{sentence_id}" for doc_id, sentence_id in sorted({(str(d), int(s)) for d, s in refs})]


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _table(rows: list[dict[str, Any]], name: str, *, sort: list[str]) -> pd.DataFrame:
    """Rows as a frame with exactly the artifact's columns and dtypes, sorted and freshly indexed."""
    schema = SCHEMAS[name]
    frame = pd.DataFrame(rows, columns=schema.names)
    for field in schema:
        if pa.types.is_int64(field.type):
            frame[field.name] = frame[field.name].astype("int64")
        elif pa.types.is_float64(field.type):
            frame[field.name] = frame[field.name].astype("float64")
        elif pa.types.is_string(field.type):
            frame[field.name] = frame[field.name].astype("str")
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)
