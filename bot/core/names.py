"""People's names: compact display ("A T Kalai"), and comparing names written differently.

One home for the name rules every layer needs: particles and suffixes, folding accents and TeX,
pairing two author lists by name. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

from bot.core.tex import readable_tex

PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "dei", "da", "di", "du", "dos", "das", "do", "la"}
    | {"le", "ter", "ten", "bin", "ibn", "zu", "af", "av", "al", "el", "y"}
)
"""Lower-case words that belong to the surname that follows them ("van der Waals")."""
NAME_SUFFIXES = frozenset(("jr", "jr.", "sr", "sr.", "ii", "iii", "iv"))
"""Generational suffixes, compared case-folded: "Jr." stays with the name it follows."""

_PARENTHESIS = re.compile(r"\([^()]*\)")
_GROUP_NAME = re.compile(
    r"(?i)\b(?:collaboration|consortium|team|group|project|initiative|laboratory|inc|ltd|corporation)\b"
)


def readable_name(name: str) -> str:
    r"""A name with its TeX made readable and grouping braces dropped: `J{\"o}rg` gives "Jörg"."""
    return readable_tex(name).replace("{", "").replace("}", "")


@lru_cache(maxsize=8192)  # a push renders the same authors in many digests
def compact_author(name: str) -> str:
    """Initials and surname, as in the reference digest: "Adam Tauman Kalai" gives "A T Kalai".

    Particles stay with the surname ("L van Beethoven"), hyphenated given names keep their hyphen
    ("J-P Dupont"), "Surname, Given" is turned around; single names and groups ("ATLAS
    Collaboration") are kept whole.
    """
    text = _PARENTHESIS.sub(" ", readable_name(name))
    if _GROUP_NAME.search(text):
        return " ".join(text.split())
    parts = [part.strip() for part in text.split(",") if part.strip()]
    suffix = [parts.pop()] if len(parts) > 1 and parts[-1].casefold() in NAME_SUFFIXES else []
    if len(parts) == 2:
        parts.reverse()
    tokens = " ".join(parts).split()
    while len(tokens) > 1 and tokens[-1].casefold() in NAME_SUFFIXES:
        suffix.insert(0, tokens.pop())
    if len(tokens) <= 1:
        return " ".join(tokens + suffix)
    start = next(
        (
            index
            for index in range(1, len(tokens) - 1)
            if tokens[index][0].islower() or tokens[index][0] in "'’" or tokens[index].casefold() in PARTICLES
        ),
        len(tokens) - 1,
    )
    initials = [_initials(token) for token in tokens[:start]]
    return " ".join([initial for initial in initials if initial] + tokens[start:] + suffix)


def _initials(given: str) -> str:
    """ "Jean-Pierre" gives "J-P", "A." gives "A"."""
    letters = [next((char for char in part if char.isalnum()), "") for part in re.split(r"[-‐]", given)]
    return "-".join(letter.upper() for letter in letters if letter)


_UNACCENTED = str.maketrans(
    {"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def fold(text: str) -> str:
    """Lower case without accents or TeX accent commands: "M\\"uller", "Müller" and "Muller" agree."""
    folded = readable_name(text).casefold()
    if folded.isascii():  # most abstracts: nothing to decompose, and each character costs a call below
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_UNACCENTED)


def name_tokens(name: str) -> tuple[str, ...]:
    """Comparable words of a name: "Jürgen {M\\"u}ller (TU Berlin)" gives ("jurgen", "muller")."""
    return tuple(re.findall(r"[^\W\d_]+", fold(_PARENTHESIS.sub(" ", name))))


def pair_by_name(api: list[tuple[str, ...]], html: list[tuple[str, ...]]) -> dict[int, int]:
    """One-to-one pairs (api index -> html index), best scores first."""
    scored = sorted(
        ((_name_score(a, h), i, j) for i, a in enumerate(api) for j, h in enumerate(html)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in scored:
        if score < 0.75:
            break
        if i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)
    return pairs


def _name_score(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if sorted(a) == sorted(b) or "".join(a) == "".join(b):
        return 0.95
    if a[-1] == b[-1] and _given_names_agree(a[:-1], b[:-1]):
        return 0.9
    if (a[0] == b[-1] and _given_names_agree(a[1:], b[:-1])) or (
        a[-1] == b[0] and _given_names_agree(a[:-1], b[1:])
    ):
        return 0.85
    ratio = SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()
    return ratio * 0.85 if ratio >= 0.9 else 0.0


def _given_names_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Given names agree as "J" / "John" / "John A", or "Xiaoming" / "Xiao Ming"; "John" / "Jane" do not."""
    if not a or not b:
        return False
    if "".join(a) == "".join(b):
        return True
    first_a, first_b = a[0], b[0]
    if len(first_a) == 1 or len(first_b) == 1:
        return first_a[0] == first_b[0]
    return first_a == first_b


NAME_MATCH = 0.85
"""The least `pair_by_name` score at which a followed name and an author's name are one person."""


def name_matches(followed: tuple[str, ...], author: tuple[str, ...]) -> bool:
    """A followed name (name_tokens) names this author: a surname alone ("Leskovec", "van der Waals")
    matches the end of the name; with given names or initials ("J Leskovec") they must agree too."""
    if not followed or len(followed) > len(author):
        return False
    if author[len(author) - len(followed) :] == followed:
        return True
    return len(followed) > 1 and _name_score(followed, author) >= NAME_MATCH
