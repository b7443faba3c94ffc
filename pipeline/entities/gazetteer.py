"""The actor gazetteer (``configs/gazetteer.yaml``): canonical entities, their surface forms and offices."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.config import StrictSafeLoader, read_yaml
from pipeline.core.errors import ConfigError

LABELS = ("GPE", "ORG", "PERSON", "LOC", "EVENT", "LAW", "FORMAT")
ROLES = (
    "head_of_state",
    "head_of_government",
    "foreign_minister",
    "defence_minister",
    "secretary_general",
    "chairperson",
    "special_representative",
)


@dataclass(frozen=True)
class Role:
    of: str
    role: str
    start: int
    end: int


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    label: str
    qid: str | None = None
    codes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    metonyms: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()
    affiliation: str | None = None
    roles: tuple[Role, ...] = ()


@dataclass
class Gazetteer:
    entries: dict[str, Entry]
    version: str = ""
    _holders: dict[tuple[str, str], list[tuple[str, Role]]] = field(default_factory=dict, repr=False)
    _surfaces: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries.values():
            for role in entry.roles:
                self._holders.setdefault((role.of, role.role), []).append((entry.id, role))
            for form in self.forms(entry.id):
                self._surfaces.setdefault(form, entry.id)

    def forms(self, entity_id: str) -> tuple[str, ...]:
        """The name and aliases of an entity, each also without a leading "the"."""
        entry = self.entries[entity_id]
        found: dict[str, None] = {}
        for form in (entry.name, *entry.aliases):
            found[form] = None
            if form.startswith("the "):
                found[form[4:]] = None
        return tuple(found)

    def entity_named(self, form: str) -> str | None:
        """The entity whose name or alias is exactly ``form`` (case-sensitive), if any."""
        return self._surfaces.get(form)

    def has_role(self, of: str, role: str) -> bool:
        """Whether any entity ever held ``role`` of ``of``."""
        return (of, role) in self._holders

    def holder(self, state: str, role: str, year: int | None) -> str | None:
        """The entity that held ``role`` of ``state`` in ``year`` (None if unknown or ambiguous)."""
        if year is None:
            return None
        found = {eid for eid, r in self._holders.get((state, role), []) if r.start <= year <= r.end}
        return found.pop() if len(found) == 1 else None

    def state_for_code(self, code: str | None) -> str | None:
        """The state entity with ISO alpha-3 ``code`` (from document metadata), if any."""
        if not code:
            return None
        for entry in self.entries.values():
            if code.upper() in entry.codes:
                return entry.id
        return None

    def demonym_index(self) -> dict[str, str]:
        return {d.lower(): e.id for e in self.entries.values() for d in e.demonyms}

    def state_of(self, entity_id: str) -> str | None:
        """The state (GPE) an entity stands for or belongs to, following affiliations."""
        seen = set()
        current: str | None = entity_id
        while current and current not in seen:
            seen.add(current)
            entry = self.entries.get(current)
            if entry is None:
                return None
            if entry.label == "GPE":
                return entry.id
            current = entry.affiliation
        return None


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """``StrictSafeLoader`` (plain values only, each key once) on libyaml's parser where PyYAML has it: five times
    faster on the gazetteer, the largest config, which every entities process reads."""


_MAPPING = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_FastLoader.add_constructor(_MAPPING, StrictSafeLoader.yaml_constructors[_MAPPING])


def _read_gazetteer(path: Path) -> Any:
    """The gazetteer file as ``read_yaml`` reads it; a file it cannot read goes to ``read_yaml`` for the error."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_FastLoader)  # a SafeLoader equivalent
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return read_yaml(path)


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key '{key}' must be a list of text")
    return tuple(value)


def load_gazetteer(path: Path) -> Gazetteer:
    """Read and check the gazetteer: unique ids, known labels and roles, references that resolve."""
    raw = _read_gazetteer(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("entities"), list):
        raise ConfigError(f"{path}: expected a mapping with a list under 'entities'")
    entries: dict[str, Entry] = {}
    allowed = {"id", "name", "label", "qid", "codes", "aliases", "metonyms", "demonyms", "affiliation", "roles"}
    for index, item in enumerate(raw["entities"]):
        where = f"{path}: entities[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}'")
        for key in ("id", "name", "label"):
            if not isinstance(item.get(key), str):
                raise ConfigError(f"{where}: missing key '{key}'")
        if item["label"] not in LABELS:
            raise ConfigError(f"{where}: unknown label '{item['label']}' (one of {', '.join(LABELS)})")
        if item["id"] in entries:
            raise ConfigError(f"{where}: duplicate id '{item['id']}'")
        roles = []
        for r in item.get("roles") or []:
            if not isinstance(r, dict) or r.get("role") not in ROLES or not isinstance(r.get("of"), str):
                raise ConfigError(f"{where}: bad role {r!r}")
            roles.append(Role(of=r["of"], role=r["role"], start=int(r.get("from", 0)), end=int(r.get("to", 9999))))
        entries[item["id"]] = Entry(
            id=item["id"],
            name=item["name"],
            label=item["label"],
            qid=item.get("qid"),
            codes=_strings(item, "codes", where),
            aliases=_strings(item, "aliases", where),
            metonyms=_strings(item, "metonyms", where),
            demonyms=_strings(item, "demonyms", where),
            affiliation=item.get("affiliation"),
            roles=tuple(roles),
        )
    for entry in entries.values():
        for ref in [entry.affiliation, *(r.of for r in entry.roles)]:
            if ref is not None and ref not in entries:
                raise ConfigError(f"{path}: entity '{entry.id}' refers to unknown id '{ref}'")
    return Gazetteer(entries=entries, version=str(raw.get("version", "")))
