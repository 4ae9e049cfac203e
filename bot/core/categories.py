"""The arXiv taxonomy the bot knows, and forgiving parsing of what users type.

Users write `IR`, `ir`, `cs.IR` or `CS.IR`; the reference digest's short codes (`LG`, `CV`, `CL`,
`AS`, `RO`, `IR`) must work, and `AS` means eess.AS. A short code is resolved among the offered
categories, so `SY` means whichever of cs.SY and eess.SY the bot offers, and is ambiguous only when
it offers both.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

TAXONOMY: dict[str, str] = {
    "cs.AI": "Artificial Intelligence",
    "cs.AR": "Hardware Architecture",
    "cs.CC": "Computational Complexity",
    "cs.CE": "Computational Engineering, Finance, and Science",
    "cs.CG": "Computational Geometry",
    "cs.CL": "Computation and Language",
    "cs.CR": "Cryptography and Security",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.CY": "Computers and Society",
    "cs.DB": "Databases",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
    "cs.DL": "Digital Libraries",
    "cs.DM": "Discrete Mathematics",
    "cs.DS": "Data Structures and Algorithms",
    "cs.ET": "Emerging Technologies",
    "cs.FL": "Formal Languages and Automata Theory",
    "cs.GL": "General Literature",
    "cs.GR": "Graphics",
    "cs.GT": "Computer Science and Game Theory",
    "cs.HC": "Human-Computer Interaction",
    "cs.IR": "Information Retrieval",
    "cs.IT": "Information Theory",
    "cs.LG": "Machine Learning",
    "cs.LO": "Logic in Computer Science",
    "cs.MA": "Multiagent Systems",
    "cs.MM": "Multimedia",
    "cs.MS": "Mathematical Software",
    "cs.NA": "Numerical Analysis",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.NI": "Networking and Internet Architecture",
    "cs.OH": "Other Computer Science",
    "cs.OS": "Operating Systems",
    "cs.PF": "Performance",
    "cs.PL": "Programming Languages",
    "cs.RO": "Robotics",
    "cs.SC": "Symbolic Computation",
    "cs.SD": "Sound",
    "cs.SE": "Software Engineering",
    "cs.SI": "Social and Information Networks",
    "cs.SY": "Systems and Control",
    "eess.AS": "Audio and Speech Processing",
    "eess.IV": "Image and Video Processing",
    "eess.SP": "Signal Processing",
    "eess.SY": "Systems and Control",
    "stat.AP": "Applications",
    "stat.CO": "Computation",
    "stat.ME": "Methodology",
    "stat.ML": "Machine Learning (Statistics)",
    "stat.OT": "Other Statistics",
    "stat.TH": "Statistics Theory",
    "math.OC": "Optimization and Control",
    "math.ST": "Statistics Theory",
    "math.NA": "Numerical Analysis",
    "math.PR": "Probability",
    "q-bio.NC": "Neurons and Cognition",
    "q-bio.QM": "Quantitative Methods",
    "q-fin.CP": "Computational Finance",
    "q-fin.ST": "Statistical Finance",
    "quant-ph": "Quantum Physics",
    "physics.comp-ph": "Computational Physics",
    "econ.EM": "Econometrics",
    "econ.GN": "General Economics",
}

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "cs.LG",
    "cs.CV",
    "cs.CL",
    "cs.AI",
    "cs.IR",
    "cs.RO",
    "eess.AS",
    "cs.SD",
    "stat.ML",
)

# Polled even before anyone subscribes, so a new bot's /today has something to show.
ALWAYS_POLLED: frozenset[str] = frozenset({"cs.LG", "cs.CV", "cs.CL", "eess.AS", "cs.RO", "cs.IR"})

_MAX_INPUT = 40


class CategoryError(ValueError):
    """Raised with a message fit to show a user: what was wrong and what was meant."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


@dataclass(frozen=True, slots=True)
class Category:
    name: str  # full arXiv name, e.g. "cs.IR"
    title: str  # "Information Retrieval"

    @property
    def code(self) -> str:
        """Short code shown in tags: "IR" for cs.IR, "quant-ph" for quant-ph."""
        return self.name.split(".", 1)[1] if "." in self.name else self.name


def category(name: str) -> Category:
    return Category(name, TAXONOMY.get(name, name))


def _candidates(text: str, universe: Iterable[str]) -> list[str]:
    folded = text.casefold()
    exact = [name for name in universe if name.casefold() == folded]
    if exact:
        return exact
    return [name for name in universe if category(name).code.casefold() == folded]


def parse_category(text: str, offered: Iterable[str] | None = None) -> Category:
    """Resolve user input to one category, among `offered` when given.

    Raises CategoryError naming close matches when the input is unknown, ambiguous or not offered.
    """
    raw = text.strip()
    if not raw:
        raise CategoryError("No category given.")
    shown = raw if len(raw) <= _MAX_INPUT else raw[:_MAX_INPUT] + "…"
    universe = tuple(offered) if offered is not None else tuple(TAXONOMY)
    found = _candidates(raw, universe)
    if len(found) == 1:
        return category(found[0])
    if len(found) > 1:
        names = tuple(sorted(found))
        raise CategoryError(f"“{shown}” is ambiguous: did you mean {_or(names)}?", names)
    elsewhere = _candidates(raw, TAXONOMY)
    if offered is not None and len(elsewhere) == 1:
        raise CategoryError(f"{elsewhere[0]} is an arXiv category this bot does not offer.")
    close = suggest(raw, universe)
    hint = ""
    if close:
        hint = f" Did you mean {_or(tuple(_as_typed(name, raw, universe) for name in close))}?"
    raise CategoryError(f"Unknown category “{shown}”.{hint}", close)


def suggest(text: str, universe: Iterable[str], limit: int = 3) -> tuple[str, ...]:
    """Close matches by full name or short code, in the form the user is likely to type."""
    folded = text.strip().casefold()[:_MAX_INPUT]
    by_key: dict[str, str] = {}
    for name in universe:
        by_key.setdefault(name.casefold(), name)
        by_key.setdefault(category(name).code.casefold(), name)
    keys = difflib.get_close_matches(folded, list(by_key), n=limit * 2, cutoff=0.5)
    result: list[str] = []
    for key in keys:
        name = by_key[key]
        if name not in result:
            result.append(name)
    return tuple(result[:limit])


def _as_typed(name: str, typed: str, universe: Iterable[str]) -> str:
    """Suggest `IR` to someone who typed a short code, `cs.IR` to someone who typed a full name."""
    code = category(name).code
    if "." in typed or sum(category(other).code == code for other in universe) > 1:
        return name
    return code


def _or(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
