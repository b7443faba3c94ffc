"""Undoing what PDF extraction does to prose: line-end hyphenation, broken URLs, private-use glyphs."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
WORD = re.compile(r"[^\W\d_][\w'’-]*")
URLISH = re.compile(r"(https?://|www\.|\.(org|com|gov|by|eu|ru|htm|html|pdf)\b|/)", re.IGNORECASE)
LEADING_ALNUM = re.compile(r"^[\W_]*([^\W_]+)")
TRAILING_ALNUM = re.compile(r"([^\W_]+)[\W_]*$")


@lru_cache(maxsize=100_000)
def zipf(word: str) -> float:
    """Frequency of an English word on the Zipf scale (0 = unknown, 7 = 'the'), from wordfreq's word list."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def document_vocabulary(lines: Iterable[str]) -> Counter[str]:
    """Lower-cased words that stand whole inside lines (not split at a line end): the document's own evidence."""
    vocab: Counter[str] = Counter()
    for line in lines:
        tokens = WORD.findall(line)
        if tokens and line.rstrip().endswith("-"):
            tokens = tokens[:-1]
        for token in tokens:
            vocab[token.lower().strip("'’-")] += 1
    return vocab


@dataclass(frozen=True)
class Dehyphenator:
    """Decides whether ``left-`` at a line end and ``right`` on the next line are one word or a compound."""

    vocab: Counter[str]
    join_min_zipf: float
    keep_min_zipf: float

    def decide(self, left_token: str, right_token: str) -> str:
        """Return 'join' (drop the hyphen) or 'keep' (keep it, no space)."""
        if URLISH.search(left_token):
            return "keep"
        left = TRAILING_ALNUM.search(left_token[:-1])
        right = LEADING_ALNUM.search(right_token)
        if not left or not right:
            return "keep"
        x, y = left.group(1), right.group(1)
        if any(ch.isdigit() for ch in x + y):
            return "keep"
        hyphenated, joined = f"{x}-{y}".lower(), f"{x}{y}".lower()
        seen_hyphenated, seen_joined = self.vocab[hyphenated], self.vocab[joined]
        if seen_hyphenated != seen_joined:
            return "keep" if seen_hyphenated > seen_joined else "join"
        if y[0].isupper():
            return "keep"
        if zipf(joined) >= self.join_min_zipf:
            return "join"
        if zipf(x.lower()) >= self.keep_min_zipf and zipf(y.lower()) >= self.keep_min_zipf:
            return "keep"
        return "join"


def _url_continues(left_token: str, right_token: str) -> bool:
    """A URL broken at a line end without a hyphen (``.../rapid/`` + ``press-release...``)."""
    if not URLISH.search(left_token) or not right_token:
        return False
    if left_token.endswith(("/", "=", "_", "?", "&")):
        return True
    return left_token.endswith(".") and re.fullmatch(r"[a-z]{2,5}\.?", right_token) is not None


def join_lines(lines: Iterable[str], dehyphenator: Dehyphenator) -> str:
    """Join wrapped lines into running text, undoing line-end hyphenation and broken URLs."""
    text = ""
    for raw in lines:
        piece = " ".join(raw.split())
        if not piece:
            continue
        if not text:
            text = piece
            continue
        left_token = text.rsplit(" ", 1)[-1]
        right_token = piece.split(" ", 1)[0]
        if len(left_token) > 1 and left_token.endswith("-") and left_token[-2].isalnum():
            joined = dehyphenator.decide(left_token, right_token) == "join"
            text = (text[:-1] if joined else text) + piece
        elif _url_continues(left_token, right_token):
            text = text + piece
        else:
            text = text + " " + piece
    return text


def strip_private_use(text: str) -> str:
    return " ".join(PRIVATE_USE.sub(" ", text).split())
