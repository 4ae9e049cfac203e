"""Telling a line of names from a line of addresses, and cleaning names of marks and TeX leftovers."""

from __future__ import annotations

import re

from bot.arxiv.affiliations.institutions import (
    _AFFILIATION_KINDS,
    _KNOWN_ORGANISATION,
    _collapse,
    _Kind,
    _segment_kind,
    _segments,
    _strip_contacts,
)
from bot.arxiv.affiliations.tokens import _TEX_LEFTOVER, _Line, _Mark, _starts_with_mark
from bot.core.names import PARTICLES

_NAME_SEPARATOR = re.compile(r"\s*(?:[,;，、]|\band\b|&|[\u2000-\u200a\u3000]|\u00a0{2,}|\s{3,})\s*")
_PARENTHETICAL = re.compile(r"\(([^()]*)\)")
_TRAILING_NUMBERS = re.compile(r"[\d\s,]+$")


def _is_names_line(line: _Line, *, first: bool) -> bool:
    """The first line is names unless nothing on it reads as one; later lines must read as full names
    and not start with a mark (a marked line under names is an affiliation)."""
    if not first and _starts_with_mark(line):
        return False
    texts = [token for token in line if not isinstance(token, _Mark)]
    parts = [
        part
        for text in "\x00".join(texts).split("\x00")  # a mark separates names like a comma
        for part in _NAME_SEPARATOR.split(_PARENTHETICAL.sub(" ", _strip_contacts(text)))
    ]
    items = [item for item in (_clean_name(part) for part in parts) if item]
    if not items:
        return False
    if first:
        return any(_segment_kind(item) is _Kind.UNKNOWN or _is_person_name(item) for item in items)
    return all(_looks_like_full_name(item) for item in items)


_IEEE_MEMBERSHIP = re.compile(
    r",?\s*\b(?:(?:Senior|Student|Life)\s+)?(?:Member|Fellow),?\s*IEEE\b", re.IGNORECASE
)


def _split_typed_marks(text: str) -> tuple[str, list[str]]:
    """ "Alice Smith1,2" is a name with marks typed as plain digits."""
    trailing = _TRAILING_NUMBERS.search(text)
    numbers = re.findall(r"\d+", trailing.group()) if trailing else []
    if (
        not numbers
        or any(len(number) > 2 for number in numbers)
        or not re.search(r"[^\W\d_]", text[: trailing.start()])
    ):
        return text, []
    return text[: trailing.start()], numbers


def _clean_name(text: str) -> str:
    text = _IEEE_MEMBERSHIP.sub(" ", _strip_contacts(text))
    text = _collapse(_TEX_LEFTOVER.sub(" ", text)).strip(" ,;:-–—|/")
    return re.sub(r"(?<=[^\W\d_]{3})\.$", "", text)


_PRODUCT_WORDS = frozenset({"cloud", "brain", "azure", "health", "labs", "research", "search", "quantum"})


def _is_person_name(item: str) -> bool:
    """ "Huawei Zhang": a company's name can be a given name; a surname then follows it."""
    words = item.split()
    return (
        len(words) == 2
        and bool(_KNOWN_ORGANISATION.fullmatch(words[0]))
        and re.fullmatch(r"[A-Z][a-z][\w'’\-]*", words[1]) is not None
        and words[1].lower() not in _PRODUCT_WORDS
        and _segment_kind(words[1]) is _Kind.UNKNOWN
    )


def _looks_like_full_name(item: str) -> bool:
    words = item.split()
    if len(words) == 1 and _is_cjk(item):
        return True
    if not 2 <= len(words) <= 5 or re.search(r"[\d@/:]", item):
        return False
    if _segment_kind(item) is not _Kind.UNKNOWN and not _is_person_name(item):
        return False
    return all(word[:1].isupper() or word.lower() in PARTICLES or _is_cjk(word) for word in words)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" for char in text)


def _is_affiliation_text(text: str) -> bool:
    if _is_person_name(text):
        return False
    if "@" in text:
        return True
    return any(_segment_kind(segment) in _AFFILIATION_KINDS for segment in _segments(text))
