"""Wiring of each stage to its artifacts: read inputs, skip what is current, call the pure stage, write outputs.

Per-document work functions take one picklable tuple so they run the same in this process or on Dask workers.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from pipeline.artifacts import (
    Layout,
    column_bytes,
    fingerprint,
    is_current,
    read_partition,
    remove_stale_partitions,
    row_count,
    sha256_file,
    write_table,
)
from pipeline.config import config_hash, load_stage_config
from pipeline.errors import ConfigError, InputError, PipelineError
from pipeline.runner import (
    Executor,
    LocalExecutor,
    Outcome,
    StageRun,
    chunks,
    plan_chunks,
    progress,
    record_summary,
    upstream_fingerprint,
)
from pipeline.sources import decode_source, doc_id_for, list_sources, read_metadata, read_source_bytes
from pipeline.stagecode import stage_code_version
from pipeline.stages.ingest import ingest_text

INGEST_TABLES = ("documents", "sections", "paragraphs", "footnotes")
T = TypeVar("T")


def _ingest_one(item: tuple[str, str, str, Any, str, dict[str, str]]) -> Outcome:
    path_str, doc_id, out, config, chash, metadata = item
    path, layout = Path(path_str), Layout(Path(out))
    try:
        data = read_source_bytes(path)  # read once: the hash recorded is that of the bytes ingested
    except InputError as exc:
        return Outcome(path_str, doc_id, "failed", str(exc))
    source_sha = hashlib.sha256(data).hexdigest()
    print_ = fingerprint("ingest", stage_code_version("ingest"), chash, source_sha, doc_id, metadata)
    if all(is_current(layout.partition(t, doc_id), print_) for t in INGEST_TABLES):
        return Outcome(path_str, doc_id, "current")
    try:
        source = decode_source(path, data)
        result = ingest_text(
            source.text, doc_id=doc_id, source_name=str(path), config=config, metadata_title=metadata.get("title")
        )
    except InputError as exc:
        return Outcome(path_str, doc_id, "failed", str(exc))
    year = re.search(r"(19|20)\d\d", metadata.get("year", ""))
    document = {
        **result.document,
        "year": int(year.group(0)) if year else result.document["year"],
        "speaker": metadata.get("speaker"),
        "country": metadata.get("country"),
        "source_path": str(path),
        "source_sha256": source_sha,
        "format": source.format,
        "encoding": source.encoding,
        "warnings": source.warnings + list(result.document["warnings"]),
    }
    meta = {"stage": "ingest", "fingerprint": print_, "config_hash": chash, "inputs": {str(path): source_sha}}
    frames = {
        "documents": pd.DataFrame([document]),
        "sections": result.sections,
        "paragraphs": result.paragraphs,
        "footnotes": result.footnotes,
    }
    for name in INGEST_TABLES:
        write_table(frames[name], layout.partition(name, doc_id), name=name, meta=meta)
    return Outcome(path_str, doc_id, "done", warnings=list(document["warnings"]))


def run_ingest(texts: Path, layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Ingest every .txt/.pdf in ``texts``; only new or changed documents are processed."""
    run = StageRun("ingest")
    config = load_stage_config("ingest", configs)  # once for all documents (and a bad config fails early)
    chash = config_hash(config)
    items: list[tuple[str, str, str, Any, str, dict[str, str]]] = []
    seen: dict[str, Path] = {}
    metadata = read_metadata(texts)
    for path in list_sources(texts):
        doc_id = doc_id_for(path)
        if doc_id in seen:
            message = f"{path}: document id '{doc_id}' is already taken by {seen[doc_id].name}; rename one file"
            run.outcomes.append(Outcome(str(path), None, "failed", message))
            continue
        seen[doc_id] = path
        items.append((str(path), doc_id, str(layout.out), config, chash, metadata.get(path.name, {})))
    in_process = executor if getattr(executor, "distributed", False) else LocalExecutor()  # ingest is cheap
    run.outcomes.extend(in_process.map(_ingest_one, items))
    keep = {o.doc_id for o in run.outcomes if o.status in ("done", "current") and o.doc_id}
    for name in INGEST_TABLES:
        removed = remove_stale_partitions(layout, name, keep)
        if name == "documents":
            run.outcomes.extend(Outcome(doc_id, doc_id, "removed") for doc_id in removed)
    record_summary(layout, run)
    return run


# ---------------------------------------------------------------------------------------------------- parse


def _parse_chunk(item: tuple[list[tuple[str, str]], str, str]) -> list[Outcome]:
    from pipeline.artifacts import write_bytes_atomic
    from pipeline.nlp import load_model
    from pipeline.stages.parse import parse_documents, too_long

    docs, out, configs = item
    layout = Layout(Path(out))
    config = load_stage_config("parse", Path(configs))
    prints = dict(docs)
    inputs = {
        doc_id: (read_partition(layout, "paragraphs", doc_id), read_partition(layout, "footnotes", doc_id))
        for doc_id, _ in docs
    }
    refused = too_long(inputs, load_model(config.model).max_length)
    outcomes = [Outcome(doc_id, doc_id, "failed", message) for doc_id, message in refused.items()]
    for doc_id in refused:
        inputs.pop(doc_id)
        layout.partition("sentences", doc_id).unlink(missing_ok=True)
        layout.spacy_docs(doc_id).unlink(missing_ok=True)
    meta = {"stage": "parse", "config_hash": config_hash(config), "model": config.model}
    for done, (doc_id, doc_bin, sentences) in enumerate(parse_documents(inputs, config=config), start=1):
        progress("parse", done, len(inputs))
        write_bytes_atomic(layout.spacy_docs(doc_id), doc_bin)
        write_table(
            sentences,
            layout.partition("sentences", doc_id),
            name="sentences",
            meta={**meta, "fingerprint": prints[doc_id]},
        )
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def run_parse(layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Parse the paragraphs and footnotes of every new or changed document once with spaCy."""
    from pipeline.nlp import model_version, worker_count

    run = StageRun("parse")
    config = load_stage_config("parse", configs)
    chash = config_hash(config)
    version = model_version(config.model)
    doc_ids = layout.partition_ids("documents")
    stale: list[tuple[str, str]] = []
    for doc_id in doc_ids:
        upstream = upstream_fingerprint(layout, ("paragraphs", "footnotes"), doc_id)
        print_ = fingerprint("parse", stage_code_version("parse"), chash, version, upstream)
        if (
            upstream is not None
            and is_current(layout.partition("sentences", doc_id), print_)
            and (layout.spacy_docs(doc_id).exists())
        ):
            run.outcomes.append(Outcome(doc_id, doc_id, "current"))
        else:
            stale.append((doc_id, print_))
    # each worker process parses its share of the documents with its own nlp.pipe stream, costliest documents dealt
    # first in turn: the parsed docs never cross a process boundary (nlp.pipe's own n_process sends every doc back
    # to one process, which then also stores them all while the parsing processes want the same cores)
    sizes = [_text_bytes(layout, doc_id) for doc_id, _ in stale]
    processes = worker_count(config.n_process, sum(sizes))
    planned = _chunks_by_cost(stale, sizes, executor, processes=processes)
    work = [(chunk, str(layout.out), str(configs)) for chunk in planned]
    for outcomes in executor.map(_parse_chunk, work):
        run.outcomes.extend(outcomes)
    for doc_id in remove_stale_partitions(layout, "sentences", set(doc_ids)):
        layout.spacy_docs(doc_id).unlink(missing_ok=True)
        run.outcomes.append(Outcome(doc_id, doc_id, "removed"))
    record_summary(layout, run)
    return run


def _text_bytes(layout: Layout, doc_id: str) -> int:
    """How much text a document has to parse: its paragraphs' and footnotes' text, uncompressed (from the files'
    footers, without reading the text)."""
    return sum(column_bytes(layout.partition(name, doc_id), "text") for name in ("paragraphs", "footnotes"))


def check_no_failures(run: StageRun) -> None:
    if run.failed and len(run.failed) == len(run.outcomes):
        raise PipelineError(f"[{run.stage}] every document failed; nothing to pass on")


# ---------------------------------------------------------------------------------------------------- entities


def _entities_config(configs: Path) -> tuple[Any, Path, str]:
    config = load_stage_config("entities", configs)
    gazetteer_path = Path(config.gazetteer)
    return config, gazetteer_path, config_hash(config, gazetteer_path)


def _entities_chunk(item: tuple[list[tuple[str, str, int | None, str | None]], str, str]) -> list[Outcome]:
    from pipeline.gazetteer import load_gazetteer
    from pipeline.nlp import load_vocab_model
    from pipeline.stages.entities import ActorTagger, extract_mentions
    from pipeline.stages.parse import load_docs

    docs, out, configs = item
    layout = Layout(Path(out))
    config, gazetteer_path, chash = _entities_config(Path(configs))
    gazetteer = load_gazetteer(gazetteer_path)
    nlp = load_vocab_model(load_stage_config("parse", Path(configs)).model)
    tagger = ActorTagger(nlp, gazetteer, config)
    outcomes = []
    for done, (doc_id, print_, year, country) in enumerate(docs, start=1):
        progress("entities", done, len(docs))
        parsed = load_docs(layout.spacy_docs(doc_id).read_bytes(), nlp.vocab)
        mentions = extract_mentions(
            parsed, doc_id=doc_id, year=year, country=country, tagger=tagger, gazetteer=gazetteer
        )
        meta = {"stage": "entities", "fingerprint": print_, "config_hash": chash}
        write_table(mentions, layout.partition("mentions", doc_id), name="mentions", meta=meta)
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def _document_context(layout: Layout) -> dict[str, tuple[int | None, str | None]]:
    """Each document's year and speaker country (from metadata): what entity resolution needs to know."""
    from pipeline.artifacts import read_table

    documents = read_table(layout.table("documents"), name="documents")
    return {
        str(row.doc_id): (None if pd.isna(row.year) else int(row.year), None if pd.isna(row.country) else row.country)
        for row in documents.itertuples()
    }


def _spread_by_cost(items: list[T], costs: list[int], n: int) -> list[T]:
    """``items`` reordered so that cutting them into ``n`` contiguous chunks of near-equal count, as ``plan_chunks``
    does, deals them out costliest first in turn: no chunk (worker) is left with all the big documents."""
    ranked = sorted(range(len(items)), key=lambda k: -costs[k])
    return [items[k] for chunk in range(n) for k in ranked[chunk::n]]


def _chunks_by_cost(
    items: list[T], costs: list[int], executor: Executor, *, processes: int | None = None
) -> list[list[T]]:
    """The chunks ``plan_chunks`` would cut, with the items dealt into them costliest first in turn."""
    n = len(plan_chunks(items, executor, processes=processes))
    return chunks(_spread_by_cost(items, costs, n), n)


def _run_per_document(
    run: StageRun,
    work: Any,
    stale: list[Any],
    layout: Layout,
    configs: Path,
    executor: Executor,
    *,
    output: str,
    doc_ids: list[str],
    costs: list[int] | None = None,
) -> None:
    """Run a stage's chunk function over its stale documents (dealt costliest first in turn when ``costs`` are
    given), then drop partitions of documents gone upstream."""
    planned = plan_chunks(stale, executor) if costs is None else _chunks_by_cost(stale, costs, executor)
    chunked = [(chunk, str(layout.out), str(configs)) for chunk in planned]
    for outcomes in executor.map(work, chunked):
        run.outcomes.extend(outcomes)
    for doc_id in remove_stale_partitions(layout, output, set(doc_ids)):
        run.outcomes.append(Outcome(doc_id, doc_id, "removed"))


def run_entities(layout: Layout, configs: Path, executor: Executor) -> StageRun:
    """Find and resolve actor mentions per document; rebuild the corpus entity table."""
    from pipeline.artifacts import read_table
    from pipeline.gazetteer import load_gazetteer
    from pipeline.stages.entities import entity_table

    run = StageRun("entities")
    config, gazetteer_path, chash = _entities_config(configs)
    gazetteer = load_gazetteer(gazetteer_path)
    contexts = _document_context(layout)
    doc_ids = layout.partition_ids("sentences")
    stale = []
    for doc_id in doc_ids:
        upstream = upstream_fingerprint(layout, ("sentences",), doc_id)
        year, country = contexts.get(doc_id, (None, None))
        print_ = fingerprint("entities", stage_code_version("entities"), chash, upstream, year, country)
        if upstream is not None and is_current(layout.partition("mentions", doc_id), print_):
            run.outcomes.append(Outcome(doc_id, doc_id, "current"))
        else:
            stale.append((doc_id, print_, year, country))
    _run_per_document(run, _entities_chunk, stale, layout, configs, executor, output="mentions", doc_ids=doc_ids)
    mentions = read_table(layout.table("mentions"), name="mentions")
    meta = {
        "stage": "entities",
        "config_hash": chash,
        "inputs": {d: upstream_fingerprint(layout, ("mentions",), d) for d in layout.partition_ids("mentions")},
    }
    write_table(entity_table(mentions, gazetteer), layout.table("entities"), name="entities", meta=meta)
    record_summary(layout, run)
    return run


def show_entities(layout: Layout, *, limit: int = 60) -> str:
    """The entity table as a researcher would check it: most mentioned in the body first."""
    from pipeline.artifacts import read_table

    entities = read_table(layout.table("entities"), name="entities")
    entities = entities.sort_values(["n_body_mentions", "n_mentions", "entity_id"], ascending=[False, False, True])
    view = entities.head(limit).assign(aliases=lambda f: f["aliases"].map(lambda a: "; ".join(a)[:70]))
    columns = ["entity_id", "name", "label", "qid", "n_body_mentions", "n_mentions", "n_documents", "aliases"]
    with pd.option_context("display.width", 220, "display.max_colwidth", 72, "display.max_rows", limit):
        return view[columns].to_string(index=False)


# ---------------------------------------------------------------------------------------------------- stance


@dataclass(frozen=True)
class StanceContext:
    config: Any
    gazetteer: Any
    lexicon: Any
    bundle: Any
    chash: str
    config_file: Path  # the stance config it was read from, for messages


def _stance_context(configs: Path, *, load_model: bool = True) -> StanceContext:
    """Config, gazetteer, lexicon and model of the stance stage, checked. Without ``load_model`` the model file is
    only checked to exist: the process coordinating the workers then loads neither scikit-learn nor the encoder."""
    from pipeline.errors import ModelError
    from pipeline.gazetteer import load_gazetteer
    from pipeline.stance_features import load_lexicon

    config = load_stage_config("stance", configs)
    entities_config = load_stage_config("entities", configs)
    gazetteer = load_gazetteer(Path(entities_config.gazetteer))
    for target in config.targets:
        unknown = [e for e in target.entity_ids if e not in gazetteer.entries]
        if unknown:
            raise ConfigError(
                f"{configs / 'stance.yaml'}: target '{target.name}' names unknown entity id '{unknown[0]}'"
                f" (ids come from {entities_config.gazetteer})"
            )
    lexicon = load_lexicon(Path(config.lexicon))
    model_path = Path(config.model_path)
    if config.method == "learned" and not model_path.exists():
        raise ModelError(f"{model_path}: stance model missing; run `make train-stance` (or set method: rules)")
    learned = [model_path, model_path.with_suffix(".json")] if config.method == "learned" else []
    files = [Path(config.lexicon), Path(entities_config.gazetteer), *learned]
    context = StanceContext(config, gazetteer, lexicon, None, config_hash(config, *files), configs / "stance.yaml")
    return _with_model(context) if load_model else context


def stance_correction(config: Any) -> Any:
    """The learned model's measured errors, from its card (computed at training time from cross-fitted predictions):
    what the stance index of a group is corrected by. None for the rules method, which has none measured."""
    import json

    from pipeline.errors import ModelError
    from pipeline.stance_estimates import Correction

    if config.method != "learned":
        return None
    card_path = Path(config.model_path).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: model card unreadable ({exc}); run `make train-stance`") from None
    if "correction" not in card:
        raise ModelError(f"{card_path}: the model card has no measured correction; run `make train-stance`")
    return Correction.from_dict(card["correction"], draws=config.correction_draws, seed=config.seed)


def _with_model(context: StanceContext) -> StanceContext:
    """``context`` with the trained model loaded (none for the rules method)."""
    if context.bundle is not None or context.config.method != "learned":
        return context
    import joblib

    from pipeline.embeddings import encoder_sha256
    from pipeline.errors import FeatureDesignError, ModelError

    model_path = Path(context.config.model_path)
    bundle = joblib.load(model_path)
    design, trained_design = context.config.learned.feature_design, bundle.feature_design
    if trained_design != design:
        raise FeatureDesignError(
            f"{context.config_file}: learned.feature_design is '{design}' but {model_path} was trained with"
            + (
                f" '{trained_design}'; set it to '{trained_design}' or"
                if trained_design
                else " an unrecorded feature design;"
            )
            + " retrain with `make train-stance`"
        )
    trained = str(bundle.params.get("encoder", "minilm"))  # models from before the choice read MiniLM's vectors
    configured = context.config.learned.encoder
    if bundle.params.get("use_embeddings") and (trained, bundle.encoder_sha256) != (
        configured,
        encoder_sha256(configured),
    ):
        raise ModelError(
            f"{model_path}: trained on the vectors of sentence encoder '{trained}' ({bundle.encoder_sha256[:12]}), but"
            f" {context.config_file} selects learned.encoder '{configured}' as installed"
            f" ({encoder_sha256(configured)[:12]}); run `make train-stance` or select the model's encoder"
        )
    return replace(context, bundle=bundle)


def _stance_chunk(
    item: tuple[list[tuple[str, str, Any]], str, str], context: StanceContext | None = None
) -> list[Outcome]:
    """Judge a chunk of documents (id, fingerprint, reviewed rows); ``context`` is the stage's context as the
    coordinating process read it (the model aside), so that each worker does not read the gazetteer and lexicon
    again."""
    from pipeline.embeddings import with_embeddings
    from pipeline.nlp import load_vocab_model
    from pipeline.review import apply_reviews
    from pipeline.stages.entities import mark_speakers
    from pipeline.stages.parse import load_docs
    from pipeline.stages.stance import analyse, items_from_docs, predict, stance_table

    docs, out, configs = item
    layout = Layout(Path(out))
    context = _stance_context(Path(configs)) if context is None else _with_model(context)
    nlp = load_vocab_model(load_stage_config("parse", Path(configs)).model)
    outcomes = []
    for done, (doc_id, print_, reviewed) in enumerate(docs, start=1):
        progress("stance", done, len(docs))
        parsed = load_docs(layout.spacy_docs(doc_id).read_bytes(), nlp.vocab)
        country = read_partition(layout, "documents", doc_id)["country"].iloc[0]
        mark_speakers(parsed, context.gazetteer, None if pd.isna(country) else str(country))
        sentences = read_partition(layout, "sentences", doc_id)
        mentions = read_partition(layout, "mentions", doc_id)
        items = items_from_docs(doc_id, parsed, sentences, mentions)
        features = analyse(items, config=context.config, gazetteer=context.gazetteer, lexicon=context.lexicon)
        uses_embeddings = context.bundle is not None and bool(context.bundle.params.get("use_embeddings"))
        features = with_embeddings(
            features,
            enabled=uses_embeddings and context.config.method == "learned",
            encoder=context.config.learned.encoder,
        )
        predicted = predict(features, method=context.config.method, bundle=context.bundle)
        predictions = apply_reviews(predicted, features, reviewed)
        meta = {"stage": "stance", "fingerprint": print_, "config_hash": context.chash}
        write_table(stance_table(features, predictions), layout.partition("stance", doc_id), name="stance", meta=meta)
        outcomes.append(Outcome(doc_id, doc_id, "done"))
    return outcomes


def read_stance_reviews(folder: Path | None, config: Any) -> tuple[list[Any], list[str]]:
    """The checked reviews of ``folder`` (none when it is None or absent) and warnings; a bad review file is an
    ``InputError`` naming the file and row."""
    from pipeline.review import read_reviews

    if folder is None:
        return [], []
    return read_reviews(folder, targets=[t.name for t in config.targets], holders=config.holders)


def _matched_reviews(layout: Layout, reviews: list[Any], doc_ids: list[str]) -> tuple[dict[str, list[Any]], list[str]]:
    """Reviews matched to the body sentences of the documents they name (only those documents' sentences are read)."""
    from pipeline.review import match_reviews

    if not reviews:
        return {}, []
    named = sorted({r.doc_id for r in reviews} & set(doc_ids))
    columns = ["doc_id", "sentence_id", "text"]
    frames = [read_partition(layout, "sentences", doc_id) for doc_id in named]
    body = [frame.loc[frame["zone"] == "body", columns] for frame in frames]
    sentences = pd.concat(body, ignore_index=True) if body else pd.DataFrame(columns=columns)
    return match_reviews(reviews, sentences)


def run_stance(layout: Layout, configs: Path, executor: Executor, *, reviews: Path | None = None) -> StageRun:
    """Judge every body sentence for every target, with the reviewed labels of ``reviews`` (a folder of review
    files) in place of predictions; rebuild the section and document summaries."""
    from pipeline.artifacts import read_table
    from pipeline.review import reviews_digest
    from pipeline.stance_summary import by_document, by_section

    run = StageRun("stance")
    context = _stance_context(configs, load_model=False)
    correction = stance_correction(context.config)
    read, warnings = read_stance_reviews(reviews, context.config)  # before anything is written
    doc_ids = layout.partition_ids("mentions")
    matched, unmatched = _matched_reviews(layout, read, doc_ids)
    run.warnings.extend([*warnings, *unmatched])
    stale = []
    for doc_id in doc_ids:
        upstream = upstream_fingerprint(layout, ("sentences", "mentions"), doc_id)
        reviewed = matched.get(doc_id, [])
        print_ = fingerprint("stance", stage_code_version("stance"), context.chash, upstream, reviews_digest(reviewed))
        if upstream is not None and is_current(layout.partition("stance", doc_id), print_):
            run.outcomes.append(Outcome(doc_id, doc_id, "current"))
        else:
            stale.append((doc_id, print_, reviewed))
    # a document's cost grows with its actor mentions (the encoder reads every sentence that mentions a target)
    costs = [row_count(layout.partition("mentions", doc_id)) for doc_id, _, _ in stale]
    work = partial(_stance_chunk, context=context)
    _run_per_document(run, work, stale, layout, configs, executor, output="stance", doc_ids=doc_ids, costs=costs)
    stance = read_table(layout.table("stance"), name="stance")
    sections = read_table(layout.table("sections"), name="sections")
    documents = read_table(layout.table("documents"), name="documents")
    config = context.config
    meta = {
        "stage": "stance",
        "config_hash": context.chash,
        "inputs": {d: upstream_fingerprint(layout, ("stance",), d) for d in layout.partition_ids("stance")},
    }
    summary = by_section(stance, sections, samples=config.bootstrap_samples, seed=config.seed, correction=correction)
    write_table(summary, layout.table("stance_by_section"), name="stance_by_section", meta=meta)
    summary = by_document(stance, documents, samples=config.bootstrap_samples, seed=config.seed, correction=correction)
    write_table(summary, layout.table("stance_by_document"), name="stance_by_document", meta=meta)
    record_summary(layout, run)
    return run


def review_command(args: Any) -> None:
    """``python -m pipeline review``: write ``OUT/review.csv``, the unreviewed sentence-target rows whose reading
    narrows the stance intervals most first."""
    from pipeline.artifacts import read_table, write_bytes_atomic
    from pipeline.review import review_sheet, sheet_bytes

    layout = Layout(args.out)
    config = load_stage_config("stance", args.configs)
    stance = read_table(layout.table("stance"), name="stance")
    sheet = review_sheet(stance, stance_correction(config))
    write_bytes_atomic(layout.review_sheet, sheet_bytes(sheet))
    reviewed = int((stance["method"] == "reviewed").sum())
    print(
        f"{layout.review_sheet}: {len(sheet)} sentence-target rows to review"
        + (f" ({reviewed} reviewed rows left out)" if reviewed else ""),
    )


def _labelled_features(
    labels: list[Path],
    configs: Path,
    sources: list[Path],
    feature_design: str | None = None,
    *,
    reviews: Path | None = None,
) -> tuple[pd.DataFrame, StanceContext]:
    """The labelled rows analysed as the stance stage analyses sentences, and the stance context; with ``reviews``,
    the reviewed rows join the label files' (a review replaces a label file's row of the same sentence and target)."""
    from pipeline.nlp import load_model
    from pipeline.review import reviews_as_labels, sentence_key
    from pipeline.stages.entities import ActorTagger
    from pipeline.stance_training import featurize_labels, index_sources, read_labels

    context = _stance_context_rules(configs, feature_design)
    config = context.config
    frame = read_labels(labels, [t.name for t in config.targets])
    read, warnings = read_stance_reviews(reviews, config)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if read:
        reviewed = reviews_as_labels(read)
        keys = set(zip(reviewed["doc_id"], reviewed["sentence"].map(sentence_key), reviewed["target"], strict=True))
        own = [
            key not in keys
            for key in zip(frame["doc_id"], frame["sentence"].map(sentence_key), frame["target"], strict=True)
        ]
        frame = pd.concat([frame[own], reviewed], ignore_index=True)
    nlp = load_model(load_stage_config("parse", configs).model)
    tagger = ActorTagger(nlp, context.gazetteer, load_stage_config("entities", configs))
    index = index_sources(sources, set(frame["doc_id"]), load_stage_config("ingest", configs), context.gazetteer)
    features = featurize_labels(
        frame,
        nlp=nlp,
        tagger=tagger,
        sources=index,
        config=config,
        gazetteer=context.gazetteer,
        lexicon=context.lexicon,
    )
    return features, context


def _stance_context_rules(configs: Path, feature_design: str | None = None) -> StanceContext:
    """The stance context without loading a trained model (for training and evaluation), with another feature
    design than the configured one if given."""
    from pipeline.gazetteer import load_gazetteer
    from pipeline.stance_features import load_lexicon

    config = load_stage_config("stance", configs)
    if feature_design is not None:
        config = replace(config, learned=replace(config.learned, feature_design=feature_design))
    gazetteer = load_gazetteer(Path(load_stage_config("entities", configs).gazetteer))
    return StanceContext(config, gazetteer, load_lexicon(Path(config.lexicon)), None, "", configs / "stance.yaml")


GUIDELINE = Path("docs") / "stance-guideline.md"
DEFAULT_SOURCES = [Path("texts"), Path("data") / "corpus" / "dev", Path("data") / "corpus" / "extra"]


def _subsets(features: pd.DataFrame) -> dict[str, pd.Series]:
    section_folded = features["fold"].str.contains("#s", regex=False)
    return {"held-out dev documents": ~section_folded, "chapter, cross-fitted": section_folded}


def train_and_score(
    labels: list[Path],
    configs: Path,
    sources: list[Path],
    feature_design: str | None = None,
    *,
    reviews: Path | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train the bundle and score both methods cross-fitted on the same labelled rows (the label files' and, with
    ``reviews``, the reviewed ones); measure the learned method's errors for correcting its aggregates. Returns the
    bundle and the card's report."""
    from pipeline.review import review_files
    from pipeline.stance_correction import measured_correction
    from pipeline.stance_training import cross_fitted_predictions, evaluate, labels_hash, model_params, train

    features, context = _labelled_features(labels, configs, sources, feature_design, reviews=reviews)
    n_reviewed = len(read_stance_reviews(reviews, context.config)[0])
    guideline = sha256_file(GUIDELINE) if GUIDELINE.exists() else ""
    read = [*labels, *(review_files(reviews) if reviews is not None else [])]
    bundle = train(features, config=context.config, training_hash=labels_hash(read), guideline_sha256=guideline)
    predictions = {method: cross_fitted_predictions(features, bundle, method) for method in ("learned", "rules")}
    scores = {
        method: evaluate(features, predicted, subsets=_subsets(features)) for method, predicted in predictions.items()
    }
    config = context.config
    correction = measured_correction(
        features, params=model_params(config), draws=config.correction_draws, seed=config.seed
    )
    return (
        bundle,
        {
            "scores": scores,
            "n_rows": len(features),
            "n_sentences": int(features["sentence"].nunique()),
            "n_documents": int(features["doc_id"].nunique()),
            "n_reviewed_rows": n_reviewed,
            "correction": correction.to_dict(),
        },
    )


def learning_curve_report(
    labels: list[Path], configs: Path, fractions: list[float], repeats: int, feature_design: str | None = None
) -> pd.DataFrame:
    """The learned method's held-out scores when trained on shares of the labelled documents."""
    from pipeline.stance_training import learning_curve

    bad = [f for f in fractions if not 0 < f <= 1]
    if bad or repeats < 1:
        raise ConfigError(f"--fractions must lie in (0, 1] and --repeats be at least 1 (got {bad or repeats})")
    features, context = _labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    return learning_curve(
        features, config=context.config, subsets=_subsets(features), fractions=sorted(fractions), repeats=repeats
    )


def validate_aggregates(
    labels: list[Path], configs: Path, feature_design: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stance index's estimators validated held out by document on the labelled documents: per (group, target)
    the estimates beside the labelled index, and the summary per estimator (``stance_correction``)."""
    from pipeline.runner import progress
    from pipeline.stance_correction import held_out_probabilities, summarise, validate
    from pipeline.stance_training import model_params

    features, context = _labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    config = context.config
    held_out = held_out_probabilities(
        features, params=model_params(config), progress=lambda done, total: progress("aggregates", done, total)
    )
    groups = validate(
        features, held_out, samples=config.bootstrap_samples, draws=config.correction_draws, seed=config.seed
    )
    return groups, summarise(groups)


def target_transfer_report(labels: list[Path], configs: Path, feature_design: str | None = None) -> dict[str, Any]:
    """The learned method's scores per target when trained without any label of that target (and held out by
    document and chapter section, as the cross-fitted scores)."""
    from pipeline.stance_training import evaluate, target_transfer_predictions

    features, context = _labelled_features(labels, configs, DEFAULT_SOURCES, feature_design)
    predictions = target_transfer_predictions(features, config=context.config)
    return evaluate(features, predictions, subsets=_subsets(features))


def train_stance_command(args: Any) -> None:
    import json

    import joblib

    from pipeline.artifacts import atomic_path, write_text_atomic
    from pipeline.stance_training import format_scores

    sources = [*([args.texts] if args.texts else []), *DEFAULT_SOURCES]
    bundle, report = train_and_score(args.labels, args.configs, sources, reviews=args.reviews)
    config = load_stage_config("stance", args.configs)
    model_path = args.model or Path(config.model_path)
    with atomic_path(model_path) as tmp:
        joblib.dump(bundle, tmp, compress=3)
    card = {
        "model": str(model_path),
        "training_labels": sorted(str(p) for p in args.labels),
        "training_reviews": str(args.reviews) if args.reviews else None,
        "training_sha256": bundle.training_hash,
        "guideline_sha256": bundle.guideline_sha256,
        "encoder": bundle.params["encoder"],
        "encoder_sha256": bundle.encoder_sha256,
        "n_training_rows": bundle.n_training_rows,
        "params": bundle.params,
        "feature_design": bundle.feature_design,
        "targets": bundle.targets,
        "folds": sorted(bundle.folds),
        "command": "make train-stance" + (f" REVIEWS={args.reviews}" if args.reviews else ""),
        **report,
    }
    write_text_atomic(model_path.with_suffix(".json"), json.dumps(card, indent=2, sort_keys=True) + "\n")
    for method, results in report["scores"].items():
        print(format_scores(method, results))


def evaluate_stance_command(args: Any) -> None:
    import json

    from pipeline.artifacts import write_text_atomic
    from pipeline.stance_correction import format_validation
    from pipeline.stance_training import format_scores

    if args.scheme == "predictions":
        if args.feature_design:
            raise PipelineError("--feature-design applies to the schemes that retrain the model, not to predictions")
        results = evaluate_artifact(args.labels, Layout(args.out), args.configs)
        print(format_scores("stance artifact in " + str(args.out), results))
        if args.json:
            write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
        return
    if args.scheme == "learning-curve":
        curve = learning_curve_report(args.labels, args.configs, args.fractions, args.repeats, args.feature_design)
        print(curve.to_string(index=False))
        if args.json:
            write_text_atomic(args.json, curve.to_json(orient="records", indent=2) + "\n")
        return
    if args.scheme == "aggregates":
        groups, summary = validate_aggregates(args.labels, args.configs, args.feature_design)
        print(format_validation(summary, groups))
        if args.json:
            records = {"summary": summary.to_dict("records"), "groups": groups.to_dict("records")}
            write_text_atomic(args.json, json.dumps(records, indent=2) + "\n")
        return
    if args.scheme == "leave-one-target-out":
        results = target_transfer_report(args.labels, args.configs, args.feature_design)
        print(format_scores("learned, each target by models trained without its labels", results))
        if args.json:
            write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
        return
    _, report = train_and_score(args.labels, args.configs, DEFAULT_SOURCES, args.feature_design)
    methods = [args.method] if args.method else ["learned", "rules"]
    for method in methods:
        print(format_scores(method, report["scores"][method]))
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")


def evaluate_artifact(labels: list[Path], layout: Layout, configs: Path) -> dict[str, Any]:
    """Score the ``stance`` artifact of an output folder against labels, matching sentences by their text."""
    from pipeline.artifacts import read_table
    from pipeline.stance_training import evaluate, normalise, read_labels

    config = load_stage_config("stance", configs)
    gold = read_labels(labels, [t.name for t in config.targets])
    stance = read_table(layout.table("stance"), name="stance")
    stance = stance[stance["doc_id"].isin(set(gold["doc_id"]))]
    index: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for row in stance[["doc_id", "sentence_id", "text"]].drop_duplicates().itertuples():
        index.setdefault((str(row.doc_id), ""), []).append((normalise(str(row.text)), int(row.sentence_id)))
    lookup = stance.set_index(["doc_id", "sentence_id", "target"])["label"]
    rows = []
    for row in gold.itertuples():
        key = normalise(str(row.sentence))
        candidates = index.get((str(row.doc_id), ""), [])
        match = next((sid for text, sid in candidates if key and (key in text or text in key)), None)
        if match is None:
            continue
        rows.append({"gold": row.label, "target": row.target, "predicted": lookup.get((row.doc_id, match, row.target))})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise PipelineError(f"no labelled sentence of {', '.join(map(str, labels))} was found in {layout.out}")
    predictions = pd.DataFrame({"label": frame["predicted"].fillna("none")}, index=frame.index)
    return evaluate(frame, predictions, subsets={f"matched {len(frame)}/{len(gold)} labels": frame["gold"].notna()})


# ---------------------------------------------------------------------------------------------------- network


def _signed_input(stance: pd.DataFrame, config: Any) -> pd.DataFrame:
    """Holders and targets under one namespace (gazetteer ids), so 'Russia' the holder is 'russia' the target."""
    holder_ids = {name: ids[0] for name, ids in config.holders.items() if ids}
    target_ids = {t.name: t.entity_ids[0] for t in config.targets if t.entity_ids}
    frame = stance.copy()
    frame["holder"] = frame["holder"].map(lambda h: holder_ids.get(h, h) if isinstance(h, str) else h)
    frame["target"] = frame["target"].map(lambda t: target_ids.get(t, t))
    return frame


def run_network(layout: Layout, configs: Path) -> StageRun:
    """Co-mention networks per corpus, document and section; the signed network; GraphML/GEXF exports; PNG figures."""
    from pipeline.artifacts import read_table, write_bytes_atomic
    from pipeline.runner import make_executor
    from pipeline.stages import network

    run = StageRun("network")
    config = load_stage_config("network", configs)
    stance_config = load_stage_config("stance", configs)
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
            (layout.figures / f"{doc_id}.network.png").unlink(missing_ok=True)
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
                path = (layout.figures if isinstance(content, bytes) else layout.exports) / f"{stem}.{suffix}"
                data = content if isinstance(content, bytes) else content.encode("utf-8")
                if not (path.is_file() and path.read_bytes() == data):  # replacing a file costs more than reading it
                    write_bytes_atomic(path, data)
    run.outcomes.extend(Outcome(d, d, "done") for d in doc_ids)
    record_summary(layout, run)
    return run


# ---------------------------------------------------------------------------------------------------- report


def report_inputs(layout: Layout, configs: Path) -> Any:
    """Everything the report reads, from the output folder, the model card and the stage configs."""
    import json

    import spacy

    from pipeline.artifacts import read_table
    from pipeline.nlp import model_version
    from pipeline.stages.report import REPORT_TABLES, ReportInputs

    stance_config = load_stage_config("stance", configs)
    card_path = Path(stance_config.model_path).with_suffix(".json")
    evaluation = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else None
    tables = {name: read_table(layout.table(name), name=name) for name in REPORT_TABLES}
    pngs = {
        doc_id: (layout.figures / f"{doc_id}.network.png").read_bytes()
        for doc_id in tables["documents"]["doc_id"]
        if (layout.figures / f"{doc_id}.network.png").exists()
    }
    parse_model = load_stage_config("parse", configs).model
    provenance = {
        "pipeline code (report stage)": stage_code_version("report"),
        "pipeline code (stance stage)": stage_code_version("stance"),
        "spaCy model": model_version(parse_model),
        "spaCy": spacy.__version__,
        "stance method": stance_config.method,
        "stance config hash": config_hash(stance_config),
        "stance model training data sha256": (evaluation or {}).get("training_sha256", "—"),
        "inputs (sha256 of each source)": "; ".join(
            f"{d}: {s[:12]}"
            for d, s in zip(tables["documents"]["doc_id"], tables["documents"]["source_sha256"], strict=True)
        ),
        "date of newest input artifact": _newest_input_date(layout),
    }
    corpus_png = layout.figures / "corpus.network.png"
    corpus_network = corpus_png.read_bytes() if corpus_png.exists() else None
    return ReportInputs(
        **tables, network_pngs=pngs, corpus_network_png=corpus_network, evaluation=evaluation, provenance=provenance
    )


def _newest_input_date(layout: Layout) -> str:
    """The date the report's data dates from: the newest stance partition's fingerprint is not a time, so use the
    newest source file's modification date (stable across reruns on the same inputs)."""
    import datetime

    from pipeline.artifacts import read_table

    documents = read_table(layout.table("documents"), name="documents")
    times = [Path(p).stat().st_mtime for p in documents["source_path"] if Path(p).exists()]
    if not times:
        return "—"
    return datetime.datetime.fromtimestamp(max(times), tz=datetime.UTC).strftime("%Y-%m-%d")


def run_report(layout: Layout, configs: Path) -> StageRun:
    """Write ``OUT/report/index.html`` and a page per document beside it (removing the pages of documents no longer
    in the corpus), ``OUT/report.html`` (the whole report on one page, or a pointer to the index for a big corpus)
    and ``OUT/datapackage.json``, the Frictionless descriptor of the tables."""
    from pipeline.artifacts import write_text_atomic
    from pipeline.datapackage import descriptor_json
    from pipeline.report_pages import report_pages

    run = StageRun("report")
    config = load_stage_config("report", configs)
    written = set()
    for name, html in report_pages(report_inputs(layout, configs), config=config):
        write_text_atomic(layout.report if name is None else layout.report_page(name), html)
        written.add(name)
    for stale in sorted(layout.report_pages.glob("*.html")):
        if stale.stem not in written:
            stale.unlink()
    write_text_atomic(layout.datapackage, descriptor_json())
    run.outcomes.append(Outcome(str(layout.report), None, "done"))
    record_summary(layout, run)
    return run


def compare_command(args: Any) -> None:
    """``python -m pipeline compare --by section|document --target T``: the comparison as a terminal table."""
    from pipeline.artifacts import read_table
    from pipeline.figures import compare_table

    name = "stance_by_section" if args.by == "section" else "stance_by_document"
    frame = read_table(Layout(args.out).table(name), name=name)
    if args.doc is not None:
        if args.doc not in set(frame["doc_id"]):
            raise PipelineError(f"no document '{args.doc}' in {args.out}")
        frame = frame[frame["doc_id"] == args.doc]
    print(compare_table(frame, by=args.by, target=args.target))


# ---------------------------------------------------------------------------------------------------- entity evaluation


def evaluate_entities_command(args: Any) -> None:
    """Entity precision and recall per gold document (body mentions), and micro-averaged."""
    from pipeline.artifacts import read_table
    from pipeline.entity_eval import evaluate_entities, format_entity_scores

    layout = Layout(args.out)
    mentions = read_table(layout.table("mentions"), name="mentions")
    entities = read_table(layout.table("entities"), name="entities")
    print(format_entity_scores(evaluate_entities(args.gold, mentions, entities)))
