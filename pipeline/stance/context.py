"""What the stance stage, its training and its commands read besides the artifacts: config, gazetteer, lexicon, the
trained model (checked against the configured feature design and encoder) and its measured correction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.config import EntitiesConfig, StanceConfig, config_hash, load_config
from pipeline.core.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.entities.gazetteer import Gazetteer
    from pipeline.stance.estimates import Correction
    from pipeline.stance.features import Lexicon
    from pipeline.stance.learned import StanceBundle


@dataclass(frozen=True)
class StanceContext:
    """What the stance stage reads besides the artifacts; ``bundle`` is None until loaded, and for the rules method."""

    config: StanceConfig
    gazetteer: Gazetteer
    lexicon: Lexicon
    bundle: StanceBundle | None
    chash: str
    config_file: Path  # the stance config it was read from, for messages


def load_context(configs: Path, *, load_model: bool = True) -> StanceContext:
    """Config, gazetteer, lexicon and model of the stance stage, checked. Without ``load_model`` the model file is
    only checked to exist: the process coordinating the workers then loads neither scikit-learn nor the encoder."""
    from pipeline.core.errors import ModelError
    from pipeline.entities.gazetteer import load_gazetteer
    from pipeline.stance.features import load_lexicon

    config = load_config(StanceConfig, configs)
    entities_config = load_config(EntitiesConfig, configs)
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
    return with_model(context) if load_model else context


def stance_correction(config: StanceConfig) -> Correction | None:
    """The learned model's measured errors, from its card (computed at training time from cross-fitted predictions):
    what the stance index of a group is corrected by. None for the rules method, which has none measured."""
    import json

    from pipeline.core.errors import ModelError
    from pipeline.stance.estimates import Correction

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


def with_model(context: StanceContext) -> StanceContext:
    """``context`` with the trained model loaded (none for the rules method)."""
    if context.bundle is not None or context.config.method != "learned":
        return context
    import joblib

    from pipeline.core.errors import FeatureDesignError, ModelError
    from pipeline.stance.embeddings import encoder_sha256

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
    # a model trained without vectors read none; models from before the choice read MiniLM's
    trained = str(bundle.params.get("encoder", "minilm")) if bundle.params.get("use_embeddings") else "none"
    configured = context.config.learned.encoder
    if trained != configured:
        raise ModelError(
            f"{model_path}: trained with sentence encoder '{trained}', but {context.config_file} selects"
            f" learned.encoder '{configured}'; run `make train-stance` or select the model's encoder"
        )
    if bundle.encoder_sha256 != encoder_sha256(configured):  # both "" for none
        raise ModelError(
            f"{model_path}: trained on the vectors of sentence encoder '{trained}' ({bundle.encoder_sha256[:12]}), but"
            f" {context.config_file} selects learned.encoder '{configured}' as installed"
            f" ({encoder_sha256(configured)[:12]}); run `make train-stance` or select the model's encoder"
        )
    return replace(context, bundle=bundle)


def context_without_model(configs: Path, feature_design: str | None = None) -> StanceContext:
    """The stance context without loading a trained model (for training and evaluation), with another feature
    design than the configured one if given."""
    from pipeline.entities.gazetteer import load_gazetteer
    from pipeline.stance.features import load_lexicon

    config = load_config(StanceConfig, configs)
    if feature_design is not None:
        config = replace(config, learned=replace(config.learned, feature_design=feature_design))
    gazetteer = load_gazetteer(Path(load_config(EntitiesConfig, configs).gazetteer))
    return StanceContext(config, gazetteer, load_lexicon(Path(config.lexicon)), None, "", configs / "stance.yaml")
