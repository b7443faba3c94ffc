"""Network wired to its artifacts: the tables, the exports (rewritten only when their bytes change) and the figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.core.artifacts import Layout, read_table, write_table
from pipeline.core.config import NetworkConfig, StanceConfig, config_hash, load_config
from pipeline.core.registry import StageRequest
from pipeline.core.runner import LocalExecutor, Outcome, StageRun, plan_chunks, record_summary, upstream_fingerprint


def _signed_input(stance: pd.DataFrame, config: StanceConfig) -> pd.DataFrame:
    """Holders and targets under one namespace (gazetteer ids), so 'Russia' the holder is 'russia' the target."""
    holder_ids = {name: ids[0] for name, ids in config.holders.items() if ids}
    target_ids = {t.name: t.entity_ids[0] for t in config.targets if t.entity_ids}
    frame = stance.copy()
    frame["holder"] = frame["holder"].map(lambda h: holder_ids.get(h, h) if isinstance(h, str) else h)
    frame["target"] = frame["target"].map(lambda t: target_ids.get(t, t))
    return frame


def run_network(layout: Layout, configs: Path) -> StageRun:
    """Co-mention networks per corpus, document and section; the signed network; GraphML/GEXF exports; PNG figures."""
    from pipeline.core.artifacts import write_bytes_atomic
    from pipeline.core.runner import make_executor
    from pipeline.network import stage as network

    run = StageRun("network")
    config = load_config(NetworkConfig, configs)
    stance_config = load_config(StanceConfig, configs)
    chash = config_hash(config)
    # only the columns the networks are built from: not every sentence's and judgement's text
    mentions = read_table(layout.table("mentions"), name="mentions", columns=network.MENTION_COLUMNS)
    sentences = read_table(layout.table("sentences"), name="sentences", columns=network.SENTENCE_COLUMNS)
    entities = read_table(layout.table("entities"), name="entities")
    stance = read_table(layout.table("stance"), name="stance", columns=network.STANCE_COLUMNS)
    nodes, edges = network.build_cooccurrence(mentions, sentences, entities, config=config)
    signed = network.build_signed(_signed_input(stance, stance_config))
    meta = {
        "stage": "network",
        "config_hash": chash,
        "inputs": {d: upstream_fingerprint(layout, ("mentions", "stance"), d) for d in layout.partition_ids("stance")},
    }
    write_table(nodes, layout.table("network_nodes"), name="network_nodes", meta=meta)
    write_table(edges, layout.table("network_edges"), name="network_edges", meta=meta)
    write_table(signed, layout.table("signed_edges"), name="signed_edges", meta=meta)
    doc_ids = layout.partition_ids("stance")
    # a figure for each document in which two actors are mentioned together, unless the corpus is too big to draw
    linked = set(edges.loc[edges["scope"] == "document", "scope_id"])
    drawn = {d for d in doc_ids if d in linked} if len(doc_ids) <= config.figure_max_documents else set()
    corpus_drawn = bool((edges["scope"] == "corpus").any())  # one figure whatever the corpus's size
    if not corpus_drawn:
        (layout.figures / "corpus.network.png").unlink(missing_ok=True)
    scopes = [("corpus", "all", corpus_drawn)] + [("document", d, d in drawn) for d in doc_ids]
    for doc_id in doc_ids:  # no figure is better than one left over from an earlier run
        if doc_id not in drawn:
            layout.network_figure(doc_id).unlink(missing_ok=True)
    # exports are quick to write in this process; figures (about 0.1 s each) are worth a pool of processes
    executor = make_executor("local") if drawn else LocalExecutor()
    batches = [
        network.export_batch(nodes, edges, signed, chunk, windows=config.windows, figure_top_n=config.figure_top_n)
        for chunk in plan_chunks(scopes, executor)
    ]
    for batch, files in zip(batches, executor.map(network.batch_files, batches), strict=True):
        for (scope, scope_id, _), named in zip(batch.scopes, files, strict=True):
            stem = "corpus" if scope == "corpus" else scope_id
            for suffix, content in named.items():
                path = layout.figure(stem, suffix) if isinstance(content, bytes) else layout.export(stem, suffix)
                data = content if isinstance(content, bytes) else content.encode("utf-8")
                if not (path.is_file() and path.read_bytes() == data):  # replacing a file costs more than reading it
                    write_bytes_atomic(path, data)
    run.outcomes.extend(Outcome(d, d, "done") for d in doc_ids)
    record_summary(layout, run)
    return run


def run(request: StageRequest) -> StageRun:
    """The network stage as the stage registry runs it."""
    return run_network(request.layout, request.configs)
