"""Entities, first step: the ``actor_tagger`` component marks candidate actor spans in one parsed paragraph.

Spans go to ``doc.spans["actors"]`` with the entity id in ``kb_id_`` and the mention kind in ``id_``; each
paragraph is tagged on its own, so the result also serves callers that see single sentences (stance training).
Each source of candidates is one class owning its index (``GazetteerNames``, ``Demonyms``, ``NerNames``,
``OfficeTitles``, ``LegalActs``, ``FirstPerson``); ``ActorTagger`` runs them in order and selects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span

from pipeline.core.config import EntitiesConfig, load_config
from pipeline.core.errors import ConfigError
from pipeline.entities.gazetteer import Gazetteer
from pipeline.parse.stage import DOC_EXTENSIONS as DOC_EXTENSIONS  # declares doc._.speaker and doc._.year, read here

SPAN_KEY = "actors"
# Which candidate wins where two overlap: higher priority first, then the longer span.
PRIORITY = {
    "pattern": 5,
    "role": 4,
    "name": 3,
    "alias": 3,
    "acronym": 3,
    "metonym": 3,
    "contextual": 2,
    "demonym": 2,
    "model": 1,
    "first_person": 0,
}
# Span kind (``Span.id_``) -> (mention_kind, source) in the mentions table.
KINDS = {
    "model": ("name", "model"),
    "pattern": ("name", "pattern"),
    "defined_acronym": ("acronym", "text"),
    "surname": ("alias", "text"),
    "head": ("alias", "text"),
    "contextual": ("alias", "text"),
    "first_person": ("first_person", "speaker"),
}
GAZETTEER_KINDS = {"name", "alias", "acronym", "metonym", "demonym"}
FIRST_PERSON = {"we", "our", "us", "ours", "ourselves"}
MY_NOUNS = {"country", "government", "delegation", "nation", "state", "people"}
DATE_LIKE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|November|December|\d)", re.IGNORECASE
)
NUMBER = re.compile(r"^[\d/.,:\-–]+$")
# A numbered act: a legal noun, "No."/"No" and "." if given, then the number ("Resolution No. 68/39").
NUMBER_SIGNS = {"no", "no."}
ACT_NUMBER = re.compile(r"^\d+(?:/\d+)*$")
POSSESSIVE = {"’s", "'s", "’", "'"}
# Words a name found by the NER never ends with ("Russian Revolution of [1917]", "States of").
TRAILING = {"of", "for", "the", "and", "or", "on", "in", "to", "at", "by", "with", "from", "a", "an"}
# "Article 99 of the Charter" is a mention of the Charter.
REFERENCE_WORDS = {"article", "articles", "paragraph", "paragraphs", "chapter", "section", "part"}
# A title is an office word followed by one of these ("Minister of Foreign Affairs", "Assistant to the President").
TITLE_LINKS = {"of", "for", "to"}
# Before an office title these make it a past holder's, resolved only through apposition ("the former president").
PAST = {"former", "then", "late", "erstwhile", "onetime", "tsarist"}
YEAR = re.compile(r"^(19|20)\d{2}$")
OPEN_QUOTES = {"“", '"', "‘", "«"}
CLOSE_QUOTES = {"”", '"', "’", "»"}
TITLE_SMALL_WORDS = {"of", "the", "in", "and", "for", "on", "to", "with", "a", "an", "-", "–"}


# Office titles are looked for this many tokens before and after a title's first word ("the former Yugoslav
# Republic of Macedonia's interim prime minister", "Minister for Foreign Affairs of the Republic of Belarus").
ROLE_WINDOW_BEFORE, ROLE_WINDOW_AFTER = 16, 20


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _fold(text: str) -> str:
    return text.lower().replace(".", "").strip()


def _kind_of(surface: str, name: str) -> str:
    letters = surface.replace(".", "")
    if letters.isupper() and len(letters) <= 7:
        return "acronym"
    return "name" if surface == name else "alias"


@dataclass(frozen=True)
class Candidate:
    priority: int
    span: Span


@dataclass(frozen=True)
class Title:
    """An office title as lower-cased tokens ("minister", "of", "foreign", "affairs") and the roles it names."""

    words: tuple[str, ...]
    roles: tuple[str, ...]


def word_ids(words: Iterable[str]) -> frozenset[int]:
    """The ids spaCy gives ``words``, as found in a doc's ``LOWER`` or ``ORTH`` values: tokens are looked for in
    those values (``Doc.to_array``) without making a ``Token`` for every word of the text."""
    return frozenset(get_string_id(w) for w in words)


def token_positions(values: list[int], ids: frozenset[int]) -> list[int]:
    """Indexes of the tokens whose attribute value (from ``Doc.to_array``) is one of ``ids``."""
    return [i for i, value in enumerate(values) if value in ids]


def _windows(anchors: list[int], length: int) -> list[tuple[int, int]]:
    """Token ranges from ``ROLE_WINDOW_BEFORE`` before to ``ROLE_WINDOW_AFTER`` after each anchor (in order),
    overlapping or touching ranges merged."""
    windows: list[tuple[int, int]] = []
    for i in anchors:
        start, end = max(0, i - ROLE_WINDOW_BEFORE), min(length, i + ROLE_WINDOW_AFTER)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _by_word(forms: Iterable[tuple[tuple[str, ...], str]], at: int) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Token sequences with what each stands for, grouped by their word at ``at`` (0 first, -1 last)."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for words, value in forms:
        if words:
            index.setdefault(words[at], []).append((words, value))
    return index


def _texts(doc: Doc, start: int, end: int) -> tuple[str, ...]:
    return tuple(doc[i].text for i in range(start, end))


def _lowers(doc: Doc, start: int, end: int) -> tuple[str, ...]:
    return tuple(doc[i].lower_ for i in range(start, end))


class GazetteerNames:
    """Gazetteer names, aliases and metonyms (a capital read as its government, a place or an attribute of a name),
    and the configured contextual forms; the index is a phrase matcher over every form."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.locatives = {w.lower() for w in config.locative_prepositions}
        self.governance = {w.lower() for w in config.governance_nouns}
        for form, candidates in config.contextual_forms.items():
            unknown = [c for c in candidates if c not in gazetteer.entries]
            if unknown or not candidates:
                problem = f"unknown entity id '{unknown[0]}'" if unknown else "no entity ids"
                raise ConfigError(f"entities config: key 'contextual_forms': '{form}' has {problem}")
        self.phrases = PhraseMatcher(nlp.vocab, attr="ORTH")
        for entry in gazetteer.entries.values():
            forms: dict[str, str] = {entry.name: "name"}
            for alias in entry.aliases:
                forms.setdefault(alias, _kind_of(alias, entry.name))
            for metonym in entry.metonyms:
                forms.setdefault(metonym, "metonym")
            for surface, kind in forms.items():
                variants = {surface}
                if surface.startswith("the "):
                    variants |= {"The " + surface[4:], surface[4:]}
                self.phrases.add(f"{entry.id}|{kind}", [nlp.make_doc(v) for v in variants])
        self.contextual = PhraseMatcher(nlp.vocab, attr="ORTH")
        for form in config.contextual_forms:
            self.contextual.add(form, [nlp.make_doc(form)])

    def candidates(self, doc: Doc) -> Iterator[Candidate]:
        """Gazetteer names, aliases and metonyms, and the contextual forms, where they occur."""
        for match_id, start, end in self.phrases(doc):
            entity_id, kind = doc.vocab.strings[match_id].split("|")
            entry = self.gazetteer.entries[entity_id]
            if kind == "metonym":
                reading = self._metonym_reading(doc, start, end)
                if reading == "attribute":
                    yield Candidate(0, Span(doc, start, end, label="LOC", kb_id="", span_id="attribute"))
                    continue
                if reading == "place":
                    first = start + 1 if doc[start].lower_ == "the" else start
                    place = Span(
                        doc, first, end, label="LOC", kb_id=f"place-{slug(doc[first:end].text)}", span_id="name"
                    )
                    yield Candidate(PRIORITY["name"], place)
                    continue
            yield Candidate(PRIORITY[kind], Span(doc, start, end, label=entry.label, kb_id=entity_id, span_id=kind))
        for match_id, start, end in self.contextual(doc):
            form = doc.vocab.strings[match_id]
            label = self.gazetteer.entries[self.config.contextual_forms[form][0]].label
            yield Candidate(
                PRIORITY["contextual"], Span(doc, start, end, label=label, kb_id=f"x-{slug(form)}", span_id="model")
            )

    def _metonym_reading(self, doc: Doc, start: int, end: int) -> str:
        """'government' ("Moscow regarded", "the government in Kiev"), 'place' ("protesters in Minsk", "in southern
        Damascus") or 'attribute' (the city only names something else: "the Helsinki process", "George Washington";
        no mention)."""
        if any(e.label_ == "PERSON" and e.start <= start and end <= e.end and len(e) > end - start for e in doc.ents):
            return "attribute"
        before = start - 1
        while before >= 0 and (doc[before].lower_ == "the" or doc[before].pos_ == "ADJ"):
            before -= 1
        if before >= 0 and doc[before].lower_ in self.locatives:
            return "government" if before > 0 and doc[before - 1].lower_ in self.governance else "place"
        last = doc[end - 1]
        if last.dep_ == "compound" and last.head.i >= end:
            return "government" if last.head.lower_ in self.governance else "attribute"
        return "government"


class Demonyms:
    """A demonym before a state noun ("Russian troops"), looked up from the few tokens that can start one (a token
    Matcher would try every pattern at every token)."""

    def __init__(self, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        demonyms = [(tuple(demonym.split()), state) for demonym, state in gazetteer.demonym_index().items()]
        self.demonyms = _by_word(demonyms, 0)
        self.demonym_ids = word_ids(self.demonyms)
        self.state_nouns = {n.lower() for n in config.state_nouns}

    def candidates(self, doc: Doc, lower: list[int]) -> Iterator[Candidate]:
        """A demonym before a state noun, directly or after one adjective ("Russian troops", "a British
        Parliamentary delegation"): one candidate per way it is followed by one."""
        for start in token_positions(lower, self.demonym_ids):
            for words, state in self.demonyms.get(doc[start].lower_, ()):
                end = start + len(words)
                if end >= len(doc) or _lowers(doc, start, end) != words:
                    continue
                for _ in range(self._state_nouns_at(doc, end)):
                    demonym = Span(doc, start, end, label="GPE", kb_id=state, span_id="demonym")
                    yield Candidate(PRIORITY["demonym"], demonym)

    def _state_nouns_at(self, doc: Doc, i: int) -> int:
        """In how many ways a state noun follows at token ``i``: itself one, and after an adjective."""
        # a capitalised noun with a possessive starts a proper name ("the Belarusian People's Republic")
        in_name = doc[i].is_title and i + 1 < len(doc) and doc[i + 1].text in POSSESSIVE
        direct = doc[i].lower_ in self.state_nouns and not in_name
        after_adjective = i + 1 < len(doc) and doc[i].pos_ == "ADJ" and doc[i + 1].lower_ in self.state_nouns
        return int(direct) + int(after_adjective)


class NerNames:
    """Names spaCy's NER finds that the gazetteer lacks, cleaned of articles, address and citation debris; a generic
    name owned by a gazetteer entry becomes that entry's body ("Belarus’ House of Representatives")."""

    def __init__(self, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.stoplist = {_fold(s) for s in config.stoplist}
        self.honorifics = set(config.honorifics)
        self.office_words = set(config.office_words)
        self.generic_heads = set(config.generic_heads)
        self.demonym_words = set(gazetteer.demonym_index())

    def candidates(
        self, doc: Doc, qualifiers: dict[int, Span], attributes: set[tuple[int, int]]
    ) -> tuple[list[Candidate], list[tuple[int, int]]]:
        """NER names the gazetteer lacks (cleaned), and office titles that only count through apposition."""
        candidates, titles = [], []
        for ent in doc.ents:
            if ent.label_ not in self.config.statistical_labels:
                continue
            start, end, owner = self._trim(doc, ent.start, ent.end, qualifiers)
            if end <= start or (start, end) in attributes:
                continue
            if doc[start].text in self.office_words and any(t.lower_ in TITLE_LINKS for t in doc[start + 1 : end]):
                titles.append((start, end))
                continue
            if ent.label_ == "PERSON":
                while start < end and doc[start].text in self.office_words:
                    start += 1
            words = [t.text for t in doc[start:end] if t.is_alpha]
            if not words or all(w in self.office_words or w in self.honorifics for w in words):
                continue
            text = doc[start:end].text
            if (
                self._junk(text)
                or (end - start == 1 and text in self.generic_heads)
                or text.lower() in self.demonym_words
            ):
                continue
            found = self._qualified(doc, start, end, qualifiers, owner)
            if found is not None:
                entry = self.gazetteer.entries[found]
                span = Span(doc, start, end, label=entry.label, kb_id=found, span_id="alias")
                candidates.append(Candidate(PRIORITY["alias"], span))
            else:
                span = Span(doc, start, end, label=ent.label_, kb_id=f"x-{slug(text)}", span_id="model")
                candidates.append(Candidate(PRIORITY["model"], span))
        return candidates, titles

    def _junk(self, text: str) -> bool:
        bare = re.sub(r"^(the|The)\s+", "", text).strip(" .,;:’'\"“”()")
        letters = sum(ch.isalpha() for ch in bare)
        return (
            letters < self.config.min_chars
            or not bare[:1].isupper()
            or _fold(bare) in self.stoplist
            or DATE_LIKE.match(bare) is not None
            or "[" in bare
            or "]" in bare
        )

    def _citation_word(self, doc: Doc, i: int, end: int) -> bool:
        """A stoplist word used as citation debris at the start of a name: "Cf. ...", "In: ...", "see ..."."""
        token = doc[i]
        if _fold(token.text) not in self.stoplist:
            return False
        marked = token.text.endswith(".") or (i + 1 < end and doc[i + 1].text in (".", ":"))
        return marked or token.is_lower

    def _trim(self, doc: Doc, start: int, end: int, qualifiers: dict[int, Span]) -> tuple[int, int, Span | None]:
        """The name inside an NER span: without article, citation words, address, reference ("Article 99 of the"),
        a leading possessor ("Belarus’ House of ..."), an unclosed parenthesis and trailing numbers or small words."""
        while start < end:
            token = doc[start]
            if token.lower_ == "the" or token.text in self.honorifics or self._citation_word(doc, token.i, end):
                start += 1
            elif token.lower_ in REFERENCE_WORDS and start + 1 < end and NUMBER.match(doc[start + 1].text):
                start += 2
                while start < end and doc[start].lower_ in ("of", "the"):
                    start += 1
            else:
                break
        qualifier = qualifiers.get(start)
        if qualifier is not None and qualifier.end < end - 1 and doc[qualifier.end].text in POSSESSIVE:
            start = qualifier.end + 1
        else:
            qualifier = None
        for i in range(start, end):
            if doc[i].text == "(" and all(doc[j].text != ")" for j in range(i, end)):
                end = i
                break
        while end > start and (
            doc[end - 1].is_punct
            or doc[end - 1].text in POSSESSIVE
            or doc[end - 1].lower_ in TRAILING
            or NUMBER.match(doc[end - 1].text)
        ):
            end -= 1
        return start, end, qualifier

    def _qualified(self, doc: Doc, start: int, end: int, qualifiers: dict[int, Span], owner: Span | None) -> str | None:
        """The gazetteer body a generic name stands for through its owner: "Belarus’ House of Representatives",
        "the Parliamentary Assembly (PA) of the OSCE" -> "House of Representatives of Belarus", "OSCE Parliamentary
        Assembly"."""
        owners = [owner] if owner is not None else []
        k = end
        if k + 2 < len(doc) and doc[k].text == "(" and doc[k + 2].text == ")":
            k += 3
        if k + 1 < len(doc) and doc[k].lower_ == "of":
            k += 2 if doc[k + 1].lower_ == "the" else 1
            if k in qualifiers:
                owners.append(qualifiers[k])
        body = doc[start:end].text
        for span in owners:
            entry = self.gazetteer.entries[span.kb_id_]
            for form in (*self.gazetteer.forms(entry.id), *entry.demonyms):
                for name in (f"{body} of {form}", f"{body} of the {form}", f"{form} {body}"):
                    found = self.gazetteer.entity_named(name)
                    if found is not None and found != entry.id:
                        return found
        return None


class OfficeTitles:
    """Office titles ("president", "minister of foreign affairs") with the names and demonyms of every state or
    organisation with office holders in the gazetteer, before or after the title: "the Belarusian president",
    "Ukraine’s interim president", "UN Secretary General", "President of Russia"."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.office_words = set(config.office_words)
        self.role_modifiers = frozenset(m.lower() for m in config.role_modifiers)
        roles: dict[tuple[str, ...], list[str]] = {}
        for role, phrases in self.config.role_phrases.items():
            for phrase in phrases:
                roles.setdefault(tuple(t.lower_ for t in nlp.make_doc(phrase)), []).append(role)
        titles = [Title(words, tuple(dict.fromkeys(named))) for words, named in roles.items()]
        self.titles: dict[str, list[Title]] = {}
        for title in titles:
            self.titles.setdefault(title.words[0], []).append(title)
        self.title_ids = word_ids(self.titles)
        self.trigger_ids = word_ids(
            p.lower().replace("-", " ").split()[0] for ps in self.config.role_phrases.values() for p in ps
        )
        # The match id of each (owner, role) pair: the id of "<owner>|<role>", read back by _role_candidates;
        # titles found at the same place are taken in the order of these ids.
        self.role_keys: dict[tuple[str, str], int] = {}
        names: list[tuple[tuple[str, ...], str]] = []
        demonyms: list[tuple[tuple[str, ...], str]] = []
        for entry in self.gazetteer.entries.values():
            held = [r for r in self.config.role_phrases if self.gazetteer.has_role(entry.id, r)]
            if not held:
                continue
            for role in held:
                self.role_keys[(entry.id, role)] = nlp.vocab.strings.add(f"{entry.id}|{role}")
            forms = (tuple(t.text for t in nlp.make_doc(form)) for form in self.gazetteer.forms(entry.id))
            names += [(words, entry.id) for words in forms if words and words[0] != "the"]
            demonyms += [(tuple(w.lower() for w in d.split()), entry.id) for d in entry.demonyms]
        self.owner_names_ending, self.owner_names_starting = _by_word(names, -1), _by_word(names, 0)
        self.owner_demonyms_ending = _by_word(demonyms, -1)

    def candidates(
        self, doc: Doc, lower: list[int], titles: list[tuple[int, int]], persons: dict[int, Span], year: int | None
    ) -> Iterator[Candidate]:
        """Office titles with their state or organisation, as the person who held the office that year (or the one
        the title is in apposition to), and the titles the NER found that count only through apposition."""
        for match_id, start, end in self._role_matches(doc, lower):
            state, role = doc.vocab.strings[match_id].split("|")
            first = start - 1 if start > 0 and doc[start - 1].lower_ == "the" else start
            past = any(t.lower_ in PAST for t in doc[max(0, first - 1) : end])
            holder = self._apposed_person(doc, first, end, persons)
            if holder is None and not past:
                dated = _year_of_sentence(doc[start].sent) if doc.has_annotation("SENT_START") else None
                holder = self.gazetteer.holder(state, role, dated or year)
            if holder is not None:
                yield Candidate(PRIORITY["role"], Span(doc, first, end, label="PERSON", kb_id=holder, span_id="role"))
        for start, end in titles:
            first = start - 1 if start > 0 and doc[start - 1].lower_ == "the" else start
            holder = self._apposed_person(doc, first, end, persons)
            if holder is not None:
                yield Candidate(PRIORITY["role"], Span(doc, first, end, label="PERSON", kb_id=holder, span_id="role"))

    def _apposed_person(self, doc: Doc, start: int, end: int, persons: dict[int, Span]) -> str | None:
        """The person a title is in apposition to: "Latvian Foreign Minister Edgars Rinkēvičs", "the Minister of
        Foreign Affairs, Uladzimir Makey" (after a comma only where the parse says so). A title that completes
        another ("the Assistant to the President of Russia, Vladislav Surkov") is apposed to nobody."""
        if start > 1 and doc[start - 1].lower_ in TITLE_LINKS and doc[start - 2].text.title() in self.office_words:
            return None
        if end < len(doc) and doc[end].text == ",":
            person = persons.get(end + 1)
            if person is not None and person.root.dep_ == "appos" and start <= person.root.head.i < end:
                return person.kb_id_
            return None
        person = persons.get(end)
        return person.kb_id_ if person is not None else None

    def _role_matches(self, doc: Doc, lower: list[int]) -> list[tuple[int, int, int]]:
        """Office titles with their state or organisation as (match id, start, end), ordered by place: each title
        with the owners named before it ("the Belarusian interim president") and after it ("President of Russia"),
        only in windows around a title's first word (as when a token Matcher was run over just those windows, a
        match never reaches outside its window)."""
        matches: set[tuple[int, int, int]] = set()
        for low, high in _windows(token_positions(lower, self.trigger_ids), len(doc)):
            for i in range(low, high):
                if lower[i] not in self.title_ids:
                    continue
                for title in self.titles.get(doc[i].lower_, ()):
                    end = i + len(title.words)
                    if end > high or _lowers(doc, i, end) != title.words:
                        continue
                    for owner, start in self._owners_before(doc, i, low):
                        matches.update((key, start, end) for key in self._keys(owner, title))
                    for owner, stop in self._owners_after(doc, end, high):
                        for key in self._keys(owner, title):
                            matches.update((key, first, stop) for first in self._modified_starts(doc, i, low))
        return sorted(matches, key=lambda m: (m[1], m[2], m[0]))

    def _keys(self, owner: str, title: Title) -> list[int]:
        """The match ids of the roles of ``owner`` that ``title`` names (none if nobody ever held them)."""
        return [self.role_keys[(owner, role)] for role in title.roles if (owner, role) in self.role_keys]

    def _modified_starts(self, doc: Doc, i: int, low: int) -> Iterator[int]:
        """Where a title at ``i`` starts with each run of modifiers before it ("former acting President ..."), not
        before ``low``."""
        first = i
        yield first
        while first > low and doc[first - 1].lower_ in self.role_modifiers:
            first -= 1
            yield first

    def _owners_before(self, doc: Doc, i: int, low: int) -> Iterator[tuple[str, int]]:
        """Owners named before a title at ``i`` (then a possessive, then modifiers), with where the match starts:
        "the Belarusian president", "Ukraine’s interim president", "UN Secretary General"."""
        for first in self._modified_starts(doc, i, low):
            ends = [first]
            if first > low and doc[first - 1].text in POSSESSIVE:
                ends.append(first - 1)
            for end in ends:
                if end <= low:
                    continue
                for words, owner in self.owner_names_ending.get(doc[end - 1].text, ()):
                    start = end - len(words)
                    if start >= low and _texts(doc, start, end) == words:
                        yield owner, start
                for words, owner in self.owner_demonyms_ending.get(doc[end - 1].lower_, ()):
                    start = end - len(words)
                    if start >= low and _lowers(doc, start, end) == words:
                        yield owner, start

    def _owners_after(self, doc: Doc, end: int, high: int) -> Iterator[tuple[str, int]]:
        """Owners named after a title ending at ``end`` ("President of Russia", "Minister for Foreign Affairs of
        the Republic of Belarus"), with where the match ends, not after ``high``."""
        if end >= high or doc[end].lower_ != "of":
            return
        starts = [end + 1]
        if end + 1 < high and doc[end + 1].lower_ == "the":
            starts.append(end + 2)
        for start in starts:
            if start >= high:
                continue
            for words, owner in self.owner_names_starting.get(doc[start].text, ()):
                stop = start + len(words)
                if stop <= high and _texts(doc, start, stop) == words:
                    yield owner, stop


class LegalActs:
    """Numbered and titled legal acts, found from the legal nouns that open them."""

    def __init__(self, config: EntitiesConfig) -> None:
        self.legal_ids = word_ids({w.lower() for w in config.legal_title_nouns})

    def candidates(self, doc: Doc, lower: list[int], bodies: dict[int, Span]) -> Iterator[Candidate]:
        """Numbered acts ("Security Council resolution 2166", "Resolution No. 68/39") and titled ones ("the laws
        “On Defence” and “On Martial Law”", "resolutions On Cooperation in the Agro-Industrial Complex ...")."""
        nouns = token_positions(lower, self.legal_ids)
        for start in nouns:
            end = _numbered_act_end(doc, start)
            if end is None:
                continue
            noun = doc[start].lower_.rstrip("s")
            body = bodies.get(start)
            first = body.start if body is not None else start
            span = Span(doc, first, end, label="LAW", kb_id=f"x-{noun}-{slug(doc[end - 1].text)}", span_id="pattern")
            yield Candidate(PRIORITY["pattern"], span)
        for i in nouns:
            yield from self._titles_after(doc, i + 1)

    def _titles_after(self, doc: Doc, i: int) -> Iterator[Candidate]:
        while i + 2 < len(doc):
            quoted = doc[i].text in OPEN_QUOTES
            start = i + 1 if quoted else i
            if doc[start].text != "On" or not doc[start + 1].text[:1].isupper():
                return
            end = start + 1
            if quoted:
                while end < len(doc) and doc[end].text not in CLOSE_QUOTES:
                    end += 1
                if end == len(doc):
                    return
            else:
                while end < len(doc) and (doc[end].text[:1].isupper() or doc[end].lower_ in TITLE_SMALL_WORDS):
                    end += 1
                while end > start + 1 and doc[end - 1].lower_ in TITLE_SMALL_WORDS:
                    end -= 1
                if end == start + 1:  # "On" and small words only ("the law On The."): no title
                    return
            title = doc[start:end].text
            yield Candidate(
                PRIORITY["pattern"], Span(doc, start, end, label="LAW", kb_id=f"x-{slug(title)}", span_id="pattern")
            )
            i = end + 1 if quoted else end
            while i < len(doc) and doc[i].lower_ in {",", "and", "or"}:
                i += 1


class FirstPerson:
    """A speaker's "we/our/my country" as the speaker's state."""

    def __init__(self) -> None:
        self.first_person_ids = word_ids([*FIRST_PERSON, "my"])

    def candidates(self, doc: Doc, lower: list[int]) -> Iterator[Candidate]:
        """ "We", "our", "my country" as the state of the paragraph's speaker (none without one)."""
        speaker = doc._.speaker
        if not speaker:
            return
        for i in token_positions(lower, self.first_person_ids):
            token = doc[i]
            if token.lower_ in FIRST_PERSON and token.pos_ == "PRON":
                span = Span(doc, token.i, token.i + 1, label="GPE", kb_id=speaker, span_id="first_person")
                yield Candidate(PRIORITY["first_person"], span)
            elif token.lower_ == "my" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ in MY_NOUNS:
                span = Span(doc, token.i, token.i + 2, label="GPE", kb_id=speaker, span_id="first_person")
                yield Candidate(PRIORITY["first_person"], span)


class ActorTagger:
    """Marks candidate actor spans in a paragraph: each source proposes candidates (gazetteer names, demonyms, NER
    names, office titles, legal acts, first person), later sources reading what earlier ones found (titles need the
    persons, legal acts the bodies), and ``select`` keeps the non-overlapping best."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, config: EntitiesConfig) -> None:
        self.config = config
        self.ordinary_words = {w.lower() for w in [*config.office_words, *config.state_nouns]}
        self.names = GazetteerNames(nlp, gazetteer, config)
        self.demonyms = Demonyms(gazetteer, config)
        self.ner_names = NerNames(gazetteer, config)
        self.titles = OfficeTitles(nlp, gazetteer, config)
        self.legal_acts = LegalActs(config)
        self.first_person = FirstPerson()

    def __call__(self, doc: Doc) -> Doc:
        year = doc._.year
        lower: list[int] = doc.to_array(LOWER).tolist()
        candidates = [*self.names.candidates(doc), *self.demonyms.candidates(doc, lower)]
        attributes = {(c.span.start, c.span.end) for c in candidates if c.span.id_ == "attribute"}
        candidates = [c for c in candidates if c.span.id_ != "attribute"]
        known = [c.span for c in candidates if c.span.id_ in GAZETTEER_KINDS - {"demonym"}]
        qualifiers = _longest_by(s for s in known if s.label_ in ("GPE", "ORG"))
        model, titles = self.ner_names.candidates(doc, qualifiers, attributes)
        candidates += model
        persons = _longest_by(c.span for c in candidates if c.span.label_ == "PERSON")
        candidates += self.titles.candidates(doc, lower, titles, persons, year)
        named_bodies = [c.span for c in candidates if c.span.label_ == "ORG" and c.priority >= PRIORITY["contextual"]]
        bodies = _longest_by(named_bodies, end=True)
        candidates += self.legal_acts.candidates(doc, lower, bodies)
        candidates += self.first_person.candidates(doc, lower)
        doc.spans[SPAN_KEY] = select(promote_extended_names(candidates, ordinary_words=self.ordinary_words))
        return doc


def _numbered_act_end(doc: Doc, i: int) -> int | None:
    """Where a numbered act opened by the legal noun at ``i`` ends ("resolution 2166", "Resolution No. 68/39"), if
    one does."""
    j = i + 1
    if j < len(doc) and doc[j].lower_ in NUMBER_SIGNS:
        j += 1
    if j < len(doc) and doc[j].text == ".":
        j += 1
    if j < len(doc) and ACT_NUMBER.search(doc[j].text):
        return j + 1
    return None


def _year_of_sentence(sentence: Span) -> int | None:
    """The one year a sentence dates itself to ("when Willy Brandt became Chancellor in 1969"), if it names one."""
    years = {int(t.text) for t in sentence if YEAR.match(t.text) and t.ent_type_ == "DATE"}
    return years.pop() if len(years) == 1 else None


def _longest_by(spans: Iterable[Span], *, end: bool = False) -> dict[int, Span]:
    """The longest span starting (or, with ``end``, ending) at each token."""
    found: dict[int, Span] = {}
    for span in spans:
        key = span.end if end else span.start
        if key not in found or len(span) > len(found[key]):
            found[key] = span
    return found


def promote_extended_names(candidates: list[Candidate], *, ordinary_words: set[str]) -> list[Candidate]:
    """An NER name that extends gazetteer names with more name words ("Union State Border Committee", "State
    Border Committee of Belarus") is an entity of its own: the gazetteer names inside it give way. Persons, spans
    with other small words or punctuation ("Russia and Belarus", "Council of Ministers in St Petersburg") and
    spans that only add ordinary words ("Government of Syria": office and state nouns) are left alone."""
    names = GAZETTEER_KINDS - {"demonym"}
    known = [c for c in candidates if c.span.id_ in names or c.priority == PRIORITY["contextual"]]
    dropped: set[int] = set()
    for outer in candidates:
        span = outer.span
        if span.id_ != "model" or span.label_ == "PERSON" or outer.priority == PRIORITY["contextual"]:
            continue
        inner = [c for c in known if span.start <= c.span.start and c.span.end <= span.end and len(c.span) < len(span)]
        if not inner or any(c.span.label_ == "PERSON" for c in inner):
            continue
        covered = {i for c in inner for i in range(c.span.start, c.span.end)}
        outside = [t for t in span if t.i not in covered]
        if any(t.is_punct or (t.is_lower and t.lower_ not in ("of", "the", "for")) for t in outside):
            continue
        if any(t.is_alpha and t.text[:1].isupper() and t.lower_ not in ordinary_words for t in outside):
            dropped |= {id(c) for c in inner}
    return [c for c in candidates if id(c) not in dropped]


def select(candidates: list[Candidate]) -> list[Span]:
    """Non-overlapping spans: higher priority first, then longer, then earlier."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for candidate in sorted(candidates, key=lambda c: (-c.priority, -len(c.span), c.span.start)):
        span = candidate.span
        if taken.isdisjoint(range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


@Language.factory(
    "actor_tagger",
    assigns=["doc.spans"],
    default_config={"configs_dir": "configs"},
)
def make_actor_tagger(nlp: Language, name: str, configs_dir: str) -> ActorTagger:
    """``nlp.add_pipe("actor_tagger")``: the tagger built from a configs folder (entities.yaml + gazetteer)."""
    from pathlib import Path

    from pipeline.core.config import EntitiesConfig
    from pipeline.entities.gazetteer import load_gazetteer

    config = load_config(EntitiesConfig, Path(configs_dir))
    return ActorTagger(nlp, load_gazetteer(Path(config.gazetteer)), config)
