"""Typed configuration, one YAML file per stage in ``configs/``, loaded strictly and safely.

Unknown keys, missing keys and wrong types are errors that name the file and the key, so that a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib.util
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pipeline.core.errors import ConfigError

CONFIG_DIR = Path("configs")
# the sentence encoders the learned stance model can read (pipeline/stance/embeddings.py builds their vectors), or
# none: the fast profile, TF-IDF words and the rules' signals only
ENCODER_CHOICES = ("minilm", "mpnet", "minilm+mpnet", "none")
# in ``model_path``, replaced by the configured encoder: each encoder choice has its own trained model
ENCODER_PLACEHOLDER = "{encoder}"


@dataclass(frozen=True)
class IngestConfig:
    dehyphenate_min_zipf: float
    hyphen_keep_min_zipf: float
    footnote_rule_min_spaces: int
    heading_max_chars: int
    heading_max_words: int
    wrapped_line_max_chars: int
    min_paragraph_chars: int


@dataclass(frozen=True)
class ParseConfig:
    model: str
    batch_size: int
    n_process: int


@dataclass(frozen=True)
class EntitiesConfig:
    gazetteer: str
    statistical_labels: list[str]
    stoplist: list[str]
    honorifics: list[str]
    office_words: list[str]
    min_chars: int
    state_nouns: list[str]
    role_phrases: dict[str, list[str]]
    role_modifiers: list[str]
    locative_prepositions: list[str]
    governance_nouns: list[str]
    contextual_forms: dict[str, list[str]]
    generic_heads: list[str]
    legal_title_nouns: list[str]


@dataclass(frozen=True)
class TargetConfig:
    name: str
    entity_ids: list[str]
    mention_kinds: list[str]
    officials: bool


@dataclass(frozen=True)
class LearnedConfig:
    C: float
    ngram_max: int
    min_df: int
    use_signals: bool
    signal_weight: float
    embedding_weight: float
    encoder: str
    feature_design: str

    @property
    def use_embeddings(self) -> bool:
        return self.encoder != "none"


@dataclass(frozen=True)
class StanceConfig:
    method: str
    lexicon: str
    model_path: str
    targets: list[TargetConfig]
    threshold: float
    holders: dict[str, list[str]]
    learned: LearnedConfig
    bootstrap_samples: int
    correction_draws: int
    seed: int


@dataclass(frozen=True)
class NetworkConfig:
    node_labels: list[str]
    exclude_kinds: list[str]
    min_count: int
    windows: list[str]
    louvain_seed: int
    figure_top_n: int
    figure_max_documents: int


@dataclass(frozen=True)
class ReportConfig:
    title: str
    evidence_per_cell: int
    top_actors: int
    section_figures_max_documents: int
    single_page_max_documents: int


STAGE_CONFIGS: dict[str, type] = {
    "ingest": IngestConfig,
    "parse": ParseConfig,
    "entities": EntitiesConfig,
    "stance": StanceConfig,
    "network": NetworkConfig,
    "report": ReportConfig,
}

STAGE_OF: dict[type, str] = {cls: stage for stage, cls in STAGE_CONFIGS.items()}
# Keys that name a data file: written relative to the folder the config is read from, loaded as that file's path.
PATH_KEYS: dict[type, tuple[str, ...]] = {EntitiesConfig: ("gazetteer",), StanceConfig: ("lexicon", "model_path")}
C = TypeVar("C")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a type hint, building nested dataclasses; raise ConfigError naming ``where``."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping")
        return _build(hint, value, where)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping")
        return {str(k): _coerce(v, value_hint, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return [_coerce(item, item_hint, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if option is type(None) and value is None:
                return None
        non_none = [o for o in typing.get_args(hint) if o is not type(None)]
        return _coerce(value, non_none[0], where)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    return value


def _build(cls: type[C], raw: dict[str, Any], where: str) -> C:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields), key=str)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(fields), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(sorted(fields))}"
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' ({hint})")
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in raw:
            if spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING:
                continue
            raise ConfigError(f"{where}: missing key '{name}'")
        values[name] = _coerce(raw[name], hints[name], f"{where}: key '{name}'")
    return cls(**values)


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (plain values only, no Python tags) that also refuses a key given twice in one
    mapping, where the second would silently win."""


def _construct_unique_mapping(loader: StrictSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            continue  # an unhashable key; construct_mapping reports it
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
    return loader.construct_mapping(node, deep=True)


StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_yaml(path: Path) -> Any:
    """Read a YAML file with the safe loader (plain values only, each key once); errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or type(exc).__name__})") from None
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # a SafeLoader subclass: as safe as yaml.safe_load
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = str(getattr(exc, "problem", None) or "unreadable")
    tag = re.search(r"tag '([^']+)'", problem)
    if isinstance(exc, yaml.constructor.ConstructorError) and tag:
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return f"tag '{name}'{where} is not allowed; configs hold plain values only (read with yaml.safe_load)"
    if isinstance(exc, yaml.constructor.ConstructorError) and problem.startswith("duplicate key"):
        return f"{problem}{where}; give each key once"
    context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    started = f" ({context} started at line {opened.line + 1})" if context and opened is not None else ""
    return f"malformed YAML{where}: {problem}{started}"


def load_config(cls: type[C], config_dir: Path = CONFIG_DIR) -> C:
    """Load and validate the stage config of type ``cls`` (``configs/<stage>.yaml``, e.g.
    ``load_config(StanceConfig, folder)``); the type checker sees the type at every call site."""
    stage = STAGE_OF[cls]
    path = config_dir / f"{stage}.yaml"
    raw = read_yaml(path)
    if raw is None:
        raise ConfigError(f"{path}: config file is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    config = _build(cls, raw, str(path))
    _validate(stage, config, path)
    beside = {key: _beside(config_dir, getattr(config, key)) for key in PATH_KEYS.get(cls, ())}
    if isinstance(config, StanceConfig):
        beside["model_path"] = beside["model_path"].replace(ENCODER_PLACEHOLDER, config.learned.encoder)
    return dataclasses.replace(config, **beside) if beside else config  # type: ignore[type-var]


def _beside(config_dir: Path, value: str) -> str:
    """A path written in a config of ``config_dir``, as a path from here (absolute paths stay as they are)."""
    return value if Path(value).is_absolute() else os.path.normpath(config_dir / value)


def _validate(stage: str, config: Any, path: Path) -> None:
    if isinstance(config, StanceConfig):
        if config.method not in ("rules", "learned"):
            raise ConfigError(f"{path}: key 'method': unknown stance method '{config.method}' (rules, learned)")
        names = [t.name for t in config.targets]
        if not names:
            raise ConfigError(f"{path}: key 'targets': at least one target is needed")
        if len(set(names)) != len(names):
            raise ConfigError(f"{path}: key 'targets': target names must be unique")
        for key in ("bootstrap_samples", "correction_draws"):
            if getattr(config, key) < 1:
                raise ConfigError(f"{path}: key '{key}': at least 1")
        if config.learned.encoder not in ENCODER_CHOICES:
            raise ConfigError(
                f"{path}: key 'learned.encoder': unknown sentence encoder '{config.learned.encoder}'"
                f" ({', '.join(ENCODER_CHOICES)})"
            )
        from pipeline.stance.features import FEATURE_DESIGNS  # it reads this module's types

        if config.learned.feature_design not in FEATURE_DESIGNS:
            raise ConfigError(
                f"{path}: key 'learned.feature_design': unknown feature design '{config.learned.feature_design}'"
                f" ({', '.join(FEATURE_DESIGNS)})"
            )
    if isinstance(config, NetworkConfig):
        bad = sorted(set(config.windows) - {"sentence", "paragraph"})
        if bad:
            raise ConfigError(f"{path}: key 'windows': unknown window '{bad[0]}' (sentence, paragraph)")
    if isinstance(config, ParseConfig) and config.n_process < 0:
        raise ConfigError(f"{path}: key 'n_process': must be 0 (one per core) or a positive number")
    if isinstance(config, ParseConfig) and not _model_installed(config.model):
        from pipeline.parse.nlp import INSTALL_HINT

        hint = INSTALL_HINT.get(config.model) or (
            f"install it with `python -m spacy download {config.model}` (a spaCy release) or `pip install` the"
            " package that provides it"
        )
        raise ConfigError(f"{path}: key 'model': spaCy model '{config.model}' is not installed; {hint}")


def _model_installed(name: str) -> bool:
    """A spaCy model is an importable package or a folder; checked without importing it."""
    if "/" in name or os.sep in name:
        return Path(name).is_dir()
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def config_hash(config: Any, *extra_files: Path) -> str:
    """A stable hash of a config object and of the contents of the data files it points at (gazetteers, lexicons,
    models). Where the files are is left out, so a copy of the config folder with the same files hashes the same."""
    values = dataclasses.asdict(config)
    for key in PATH_KEYS.get(type(config), ()):
        values[key] = Path(values[key]).name
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode())
    for path in extra_files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:16]
