"""What both stance methods read from a parsed sentence: references to a target and dependency-based cue signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.config import StanceConfig, TargetConfig, read_yaml
from pipeline.core.errors import ConfigError
from pipeline.entities.gazetteer import Gazetteer
from pipeline.parse.stage import DOC_EXTENSIONS as DOC_EXTENSIONS  # declares doc._.speaker, read here

if TYPE_CHECKING:  # for annotations only: loading the lexicon needs no spaCy
    from spacy.tokens import Span, Token

CATEGORIES = ("wrongdoing", "opposition", "support", "positive_quality", "negative_quality", "victim_goods")
AGENT_DEPS = {"nsubj", "poss", "compound", "amod", "nmod", "agent", "csubj"}
PATIENT_DEPS = {"dobj", "obj", "nsubjpass", "attr", "dative", "iobj", "oprd"}
PATIENT_PREPS = {"against", "on", "upon", "toward", "towards", "for", "with", "to", "of", "over", "at", "in"}
# the phrases that make a target the one acted upon, for its overall grammatical role ("annexation of X" excepted)
ROLE_PATIENT_PREPS = (PATIENT_PREPS - {"of"}) | {"into", "from"}
TARGET_PREFIX = "tgt_"  # the configured-targets design opens the marked text with the target's name
# What another actor reads as in the marked text, by its label (typed designs; otherwise all read OTH)
OTHER_ACTOR_PLACEHOLDERS = {"GPE": "OTH", "ORG": "OTHORG", "PERSON": "OTHPERSON"}
PLACEHOLDERS = ("tgt", "tgtself", "oth", "othorg", "othperson")
SIGNAL_NAMES = tuple(f"{category}:{role}" for category in CATEGORIES for role in ("agent", "patient", "near")) + (
    "negated",
    "reported",
    "quoted",
    "n_refs",
    "other_actor",
    "target_role",
    "speaker_is_target",
)
# how the marked text reads to the sentence encoder: it knows words, not placeholders
NATURAL_PLACEHOLDERS = {
    "TGTSELF": "we (the target)",
    "TGT": "the target",
    "OTH": "another country",
    "OTHORG": "an organisation",
    "OTHPERSON": "another official",
}


@dataclass(frozen=True)
class FeatureDesign:
    """How the learned method reads a sentence for one target. A trained model records its design's name, and the
    stance stage refuses a model trained with another design than the configured one."""

    name: str
    # which other spans read as OTH: "actors" (every state, organisation or person that is neither the target nor
    # its own: a fixed rule), "configured-targets" (the references of the other configured targets), "none"
    others: str
    typed_others: bool  # OTH, OTHORG, OTHPERSON by the other actor's label, instead of OTH for all
    name_prefix: bool  # the text opens with ``tgt_<target name>``, so TF-IDF learns a prior per target name

    @property
    def target_independent(self) -> bool:
        """Whether a target's features depend on nothing but its own definition (not on the other targets)."""
        return self.others != "configured-targets"


FEATURE_DESIGNS = {
    design.name: design
    for design in (
        FeatureDesign("other-actors", others="actors", typed_others=False, name_prefix=False),
        FeatureDesign("other-actors-typed", others="actors", typed_others=True, name_prefix=False),
        FeatureDesign("target-only", others="none", typed_others=False, name_prefix=False),
        # reads the list of configured targets: adding a target changes the others' stance (measured, not used)
        FeatureDesign("configured-targets", others="configured-targets", typed_others=False, name_prefix=True),
    )
}


@dataclass(frozen=True)
class Lexicon:
    categories: dict[str, frozenset[str]]
    negators: frozenset[str]
    reporting: frozenset[str]

    def category(self, lemma: str) -> str | None:
        for name in CATEGORIES:
            if lemma in self.categories[name]:
                return name
        return None


def load_lexicon(path: Path) -> Lexicon:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of word lists")
    missing = [k for k in (*CATEGORIES, "negators", "reporting") if k not in raw]
    if missing:
        raise ConfigError(f"{path}: missing key '{missing[0]}'")
    unknown = sorted(set(raw) - {*CATEGORIES, "negators", "reporting", "version"})
    if unknown:
        raise ConfigError(f"{path}: unknown key '{unknown[0]}'")

    def words(key: str) -> frozenset[str]:
        value = raw[key]
        if not isinstance(value, list):
            raise ConfigError(f"{path}: key '{key}' must be a list of words")
        return frozenset(str(w).lower() for w in value)

    return Lexicon(
        categories={c: words(c) for c in CATEGORIES}, negators=words("negators"), reporting=words("reporting")
    )


@dataclass(frozen=True)
class Cue:
    token: Token
    category: str
    role: str  # agent | patient | near
    negated: bool
    holder_span: Span | None


@dataclass
class TargetView:
    """One sentence seen from one target: the spans referring to it and the cues around them."""

    target: str
    refs: list[Span]
    cues: list[Cue] = field(default_factory=list)
    reported_by: Span | None = None
    quoted: bool = False
    other_actor: bool = False
    speaker_is_target: bool = False

    @property
    def mentioned(self) -> bool:
        return bool(self.refs)


def refers_to(span: Span, target: TargetConfig, gazetteer: Gazetteer) -> bool:
    """Whether an actor span refers to ``target`` under its config (entity ids, mention kinds, officials)."""
    kind = "name" if span.id_ == "model" else span.id_
    if kind not in target.mention_kinds:
        return False
    if span.kb_id_ in target.entity_ids:
        return True
    if target.officials and span.label_ == "PERSON":
        entry = gazetteer.entries.get(span.kb_id_)
        return entry is not None and entry.affiliation in target.entity_ids
    return False


def is_other_actor(span: Span, target: TargetConfig, gazetteer: Gazetteer) -> bool:
    """A state, organisation or person that is neither ``target`` nor affiliated with it. A fixed rule: it reads the
    target's own entity ids and never the other configured targets."""
    if span.label_ not in OTHER_ACTOR_PLACEHOLDERS or span.kb_id_ in target.entity_ids:
        return False
    entry = gazetteer.entries.get(span.kb_id_)
    return entry is None or entry.affiliation not in target.entity_ids


def other_placeholder(
    span: Span, target: TargetConfig, gazetteer: Gazetteer, design: FeatureDesign, all_targets: list[TargetConfig]
) -> str | None:
    """What a span that is not a reference to ``target`` reads as in the marked text under ``design``, if anything."""
    if design.others == "configured-targets":
        others = (t for t in all_targets if t.name != target.name)
        return "OTH" if any(refers_to(span, other, gazetteer) for other in others) else None
    if design.others == "actors" and is_other_actor(span, target, gazetteer):
        return OTHER_ACTOR_PLACEHOLDERS[span.label_] if design.typed_others else "OTH"
    return None


def _ancestors(token: Token, limit: int = 6) -> list[Token]:
    chain = []
    current = token
    for _ in range(limit):
        if current.head is current:
            break
        current = current.head
        chain.append(current)
    return chain


def _role(ref: Span, cue: Token) -> str | None:
    """How a target reference stands to a cue word in the dependency tree, if at all."""
    head = ref.root
    if head.head == cue:
        if head.dep_ in AGENT_DEPS:
            return "agent"
        if head.dep_ in PATIENT_DEPS:
            return "patient"
        if head.dep_ == "conj":
            return None
    if head.dep_ == "pobj" and head.head.head == cue:
        prep = head.head.lower_
        if prep == "by":
            return "agent"
        if prep in PATIENT_PREPS:
            return "patient"
    if head.dep_ == "conj":
        first = head.head
        while first.dep_ == "conj" and first.head is not first:
            first = first.head
        if first is not head:
            sub = _role(first.doc[first.i : first.i + 1], cue)
            if sub is not None:
                return sub
    # the subject of a governing verb acts through an xcomp/ccomp cue ("Russia continues to occupy")
    if head.dep_ == "nsubj" and cue.head == head.head and cue.dep_ in ("xcomp", "ccomp", "advcl", "dobj"):
        return "agent"
    if head.dep_ in ("poss", "compound", "amod") and head.head.head == cue and head.head.dep_ in ("nsubj", "poss"):
        return "agent"
    if cue in _ancestors(head, 3):
        return "near"
    return None


def _negated(cue: Token, lexicon: Lexicon) -> bool:
    for token in (cue, cue.head):
        if any(child.dep_ == "neg" or child.lower_ in lexicon.negators for child in token.children):
            return True
    return False


def _agent_of(cue: Token, actors: list[Span], exclude: list[Span]) -> Span | None:
    """The actor span that is the agent of a cue (subject of its verb, possessor of its noun, 'by' phrase)."""
    for span in actors:
        if any(span.start == e.start for e in exclude):
            continue
        if _role(span, cue) == "agent":
            return span
    return None


def read_target(
    sentence: Span,
    actors: list[Span],
    target: TargetConfig,
    config: StanceConfig,
    gazetteer: Gazetteer,
    lexicon: Lexicon,
    all_targets: list[TargetConfig],
) -> TargetView:
    """Collect the references to ``target`` in a sentence and every lexicon cue they stand in relation to."""
    refs = [s for s in actors if refers_to(s, target, gazetteer)]
    view = TargetView(target=target.name, refs=refs)
    # the state whose representative speaks this paragraph (set on the Doc from metadata and transcript labels)
    view.speaker_is_target = sentence.doc._.speaker in target.entity_ids
    design = FEATURE_DESIGNS[config.learned.feature_design]
    if design.target_independent:
        view.other_actor = any(is_other_actor(s, target, gazetteer) for s in actors)
    else:
        view.other_actor = any(other_placeholder(s, target, gazetteer, design, all_targets) for s in actors)
    if not refs:
        return view
    text = sentence.text
    view.quoted = any(q in text for q in '“"') and any(q in text for q in '”"')
    for token in sentence:
        category = lexicon.category(token.lemma_.lower())
        if category is None:
            continue
        for ref in refs:
            if token.i in range(ref.start, ref.end):
                continue
            role = _role(ref, token)
            if role is None:
                continue
            holder = _agent_of(token, actors, refs) if role == "patient" else None
            view.cues.append(Cue(token, category, role, _negated(token, lexicon), holder))
            break
    for token in sentence:
        if token.lemma_.lower() in lexicon.reporting and token.pos_ == "VERB":
            subject = _agent_of(token, actors, refs)
            if subject is not None:
                view.reported_by = subject
                break
    return view


def signals(view: TargetView) -> dict[str, float]:
    """Counts of cue categories by the target's role, plus context flags: the learned model's rule features."""
    values = dict.fromkeys(SIGNAL_NAMES, 0.0)
    for cue in view.cues:
        values[f"{cue.category}:{cue.role}"] += -1.0 if cue.negated else 1.0
        values["negated"] += float(cue.negated)
    values["reported"] = float(view.reported_by is not None)
    values["quoted"] = float(view.quoted)
    values["n_refs"] = float(len(view.refs))
    values["other_actor"] = float(view.other_actor)
    values["target_role"] = grammatical_role(view.refs)
    values["speaker_is_target"] = float(view.speaker_is_target)
    return values


def grammatical_role(refs: list[Span]) -> float:
    """+1 when the target mostly acts in the sentence (subject, possessor, modifier of the actor or act), -1 when it
    is mostly acted upon (object, passive subject, 'against/on/to …' phrase), 0 when neither or balanced."""
    total = 0
    for ref in refs:
        token = ref.root
        while token.dep_ in ("conj", "appos", "compound", "flat") and token.head is not token:
            token = token.head
        # compound is climbed above; 'agent' marks the 'by', and obj/iobj do not occur in the English scheme
        if token.dep_ in AGENT_DEPS or (token.dep_ == "pobj" and token.head.lower_ == "by"):
            total += 1
        elif token.dep_ in PATIENT_DEPS or (token.dep_ == "pobj" and token.head.lower_ in ROLE_PATIENT_PREPS):
            total -= 1
    return float((total > 0) - (total < 0))


def natural_text(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The marked sentence in words for the sentence encoder (target prefix dropped, placeholders spelled out), and
    the character spans where the target stands."""
    body = marked.split(" ", 1)[1] if marked.startswith(TARGET_PREFIX) and " " in marked else marked
    words, spans, cursor = [], [], 0
    for word in body.split(" "):
        spelled = NATURAL_PLACEHOLDERS.get(word, word)
        if word in ("TGT", "TGTSELF"):
            spans.append((cursor, cursor + len(spelled)))
        words.append(spelled)
        cursor += len(spelled) + 1
    return " ".join(words), tuple(spans)


def marked_text(
    sentence: Span,
    actors: list[Span],
    view: TargetView,
    target: TargetConfig,
    gazetteer: Gazetteer,
    design: FeatureDesign,
    all_targets: list[TargetConfig],
) -> str:
    """The sentence for the learned model: the target's references replaced by TGT (TGTSELF for the speaker's first
    person), other spans by OTH as ``design`` says; the rest as written."""
    text, offset = sentence.text, sentence.start_char  # Doc.text would rebuild the whole document's text per call
    pieces, cursor = [], offset
    ref_starts = {r.start for r in view.refs}
    for span in sorted(actors, key=lambda s: s.start):
        if span.start in ref_starts:
            token = "TGTSELF" if span.id_ == "first_person" else "TGT"
        else:
            other = other_placeholder(span, target, gazetteer, design, all_targets)
            if other is None:
                continue
            token = other
        pieces.append(text[cursor - offset : span.start_char - offset])
        pieces.append(f" {token} ")
        cursor = span.end_char
    pieces.append(text[cursor - offset :])
    body = " ".join("".join(pieces).split())
    return f"{TARGET_PREFIX}{view.target} {body}" if design.name_prefix else body
