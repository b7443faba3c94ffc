"""Configs: the data files a config names are found beside the config, wherever its folder is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from pipeline.core.config import EntitiesConfig, StanceConfig, config_hash, load_config
from tests.conftest import CONFIGS, ROOT, copy_configs, run_pipeline


def test_paths_in_a_config_are_relative_to_its_folder(tmp_path):
    configs = copy_configs(tmp_path / "elsewhere" / "configs")
    stance = load_config(StanceConfig, configs)
    assert stance.lexicon == str(configs / "stance_lexicon.yaml")
    assert stance.model_path == str(tmp_path / "elsewhere" / "models" / "stance_learned_minilm.joblib")
    assert load_config(EntitiesConfig, configs).gazetteer == str(configs / "gazetteer.yaml")
    assert load_config(StanceConfig, CONFIGS).lexicon == str(ROOT / "configs" / "stance_lexicon.yaml")


def test_the_model_path_follows_the_configured_encoder(tmp_path):
    """Each encoder choice has its own model: `{encoder}` in model_path stands for learned.encoder."""
    configs = copy_configs(tmp_path / "configs")
    stance_yaml = configs / "stance.yaml"
    text = stance_yaml.read_text(encoding="utf-8")
    for encoder in ("none", "mpnet", "minilm+mpnet"):
        stance_yaml.write_text(text.replace("  encoder: minilm\n", f"  encoder: {encoder}\n", 1), encoding="utf-8")
        stance = load_config(StanceConfig, configs)
        assert stance.learned.use_embeddings is (encoder != "none")
        assert stance.model_path == str(tmp_path / "models" / f"stance_learned_{encoder}.joblib")


def test_a_copied_config_folder_hashes_as_the_original(tmp_path):
    """Where the folder is does not count, only what its files say: running on a copy reruns nothing."""
    configs = copy_configs(tmp_path / "configs")
    shipped, copied = load_config(EntitiesConfig, CONFIGS), load_config(EntitiesConfig, configs)
    assert shipped.gazetteer != copied.gazetteer
    assert config_hash(shipped, Path(shipped.gazetteer)) == config_hash(copied, Path(copied.gazetteer))


def test_a_copied_config_folder_with_another_lexicon_is_the_one_used(chapter_run, tmp_path):
    configs = copy_configs(tmp_path / "configs")
    lexicon = configs / "stance_lexicon.yaml"
    text, found = re.subn(r"^support: \[[^\]]*\]", "support: []", lexicon.read_text(encoding="utf-8"), flags=re.M)
    assert found == 1
    lexicon.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    run_pipeline("stance", "--out", str(out), "--configs", str(configs))

    def support_cues(folder) -> int:
        stance = pd.read_parquet(folder / "stance.parquet")
        return sum("(support," in cue for cues in stance["evidence"] for cue in cues)

    assert support_cues(chapter_run) > 0, "the project's lexicon has support cues the chapter uses"
    assert support_cues(out) == 0, "the copied lexicon, which has none, was read"
