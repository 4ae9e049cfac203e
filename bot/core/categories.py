"""arXiv's category taxonomy, and forgiving parsing of what users type.

Every category of arXiv's taxonomy can be followed; the operator's `CATEGORIES` is only the set
shown on the keyboard. Users write `IR`, `ir`, `cs.IR` or `CS.IR`; the reference digest's short
codes (`LG`, `CV`, `CL`, `AS`, `RO`, `IR`) must work, and `AS` means eess.AS. A short code that
several archives share (`CV` is cs.CV and math.CV) means the one on the keyboard, else the one of
cs or eess (the archives whose tags show short codes), and is ambiguous otherwise (`CO`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.i18n import N_, Choices, Problem

# arXiv's archives in the order of arxiv.org/category_taxonomy: id -> name.
ARCHIVES: dict[str, str] = {
    "cs": "Computer Science",
    "econ": "Economics",
    "eess": "Electrical Engineering and Systems Science",
    "math": "Mathematics",
    "astro-ph": "Astrophysics",
    "cond-mat": "Condensed Matter",
    "gr-qc": "General Relativity and Quantum Cosmology",
    "hep-ex": "High Energy Physics - Experiment",
    "hep-lat": "High Energy Physics - Lattice",
    "hep-ph": "High Energy Physics - Phenomenology",
    "hep-th": "High Energy Physics - Theory",
    "math-ph": "Mathematical Physics",
    "nlin": "Nonlinear Sciences",
    "nucl-ex": "Nuclear Experiment",
    "nucl-th": "Nuclear Theory",
    "physics": "Physics",
    "quant-ph": "Quantum Physics",
    "q-bio": "Quantitative Biology",
    "q-fin": "Quantitative Finance",
    "stat": "Statistics",
}

# Archive names too long for a keyboard button.
SHORT_ARCHIVES: dict[str, str] = {
    "eess": "EE & Systems Science",
    "gr-qc": "Gravitation (gr-qc)",
    "hep-ex": "HEP Experiment",
    "hep-lat": "HEP Lattice",
    "hep-ph": "HEP Phenomenology",
    "hep-th": "HEP Theory",
    "q-bio": "Quantitative Bio.",
    "q-fin": "Quantitative Finance",
}

# Every category arXiv announces: full name -> title, as arxiv.org/category_taxonomy lists them.
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
    "econ.EM": "Econometrics",
    "econ.GN": "General Economics",
    "econ.TH": "Theoretical Economics",
    "eess.AS": "Audio and Speech Processing",
    "eess.IV": "Image and Video Processing",
    "eess.SP": "Signal Processing",
    "eess.SY": "Systems and Control",
    "math.AC": "Commutative Algebra",
    "math.AG": "Algebraic Geometry",
    "math.AP": "Analysis of PDEs",
    "math.AT": "Algebraic Topology",
    "math.CA": "Classical Analysis and ODEs",
    "math.CO": "Combinatorics",
    "math.CT": "Category Theory",
    "math.CV": "Complex Variables",
    "math.DG": "Differential Geometry",
    "math.DS": "Dynamical Systems",
    "math.FA": "Functional Analysis",
    "math.GM": "General Mathematics",
    "math.GN": "General Topology",
    "math.GR": "Group Theory",
    "math.GT": "Geometric Topology",
    "math.HO": "History and Overview",
    "math.IT": "Information Theory",
    "math.KT": "K-Theory and Homology",
    "math.LO": "Logic",
    "math.MG": "Metric Geometry",
    "math.MP": "Mathematical Physics",
    "math.NA": "Numerical Analysis",
    "math.NT": "Number Theory",
    "math.OA": "Operator Algebras",
    "math.OC": "Optimization and Control",
    "math.PR": "Probability",
    "math.QA": "Quantum Algebra",
    "math.RA": "Rings and Algebras",
    "math.RT": "Representation Theory",
    "math.SG": "Symplectic Geometry",
    "math.SP": "Spectral Theory",
    "math.ST": "Statistics Theory",
    "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
    "astro-ph.EP": "Earth and Planetary Astrophysics",
    "astro-ph.GA": "Astrophysics of Galaxies",
    "astro-ph.HE": "High Energy Astrophysical Phenomena",
    "astro-ph.IM": "Instrumentation and Methods for Astrophysics",
    "astro-ph.SR": "Solar and Stellar Astrophysics",
    "cond-mat.dis-nn": "Disordered Systems and Neural Networks",
    "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
    "cond-mat.mtrl-sci": "Materials Science",
    "cond-mat.other": "Other Condensed Matter",
    "cond-mat.quant-gas": "Quantum Gases",
    "cond-mat.soft": "Soft Condensed Matter",
    "cond-mat.stat-mech": "Statistical Mechanics",
    "cond-mat.str-el": "Strongly Correlated Electrons",
    "cond-mat.supr-con": "Superconductivity",
    "gr-qc": "General Relativity and Quantum Cosmology",
    "hep-ex": "High Energy Physics - Experiment",
    "hep-lat": "High Energy Physics - Lattice",
    "hep-ph": "High Energy Physics - Phenomenology",
    "hep-th": "High Energy Physics - Theory",
    "math-ph": "Mathematical Physics",
    "nlin.AO": "Adaptation and Self-Organizing Systems",
    "nlin.CD": "Chaotic Dynamics",
    "nlin.CG": "Cellular Automata and Lattice Gases",
    "nlin.PS": "Pattern Formation and Solitons",
    "nlin.SI": "Exactly Solvable and Integrable Systems",
    "nucl-ex": "Nuclear Experiment",
    "nucl-th": "Nuclear Theory",
    "physics.acc-ph": "Accelerator Physics",
    "physics.ao-ph": "Atmospheric and Oceanic Physics",
    "physics.app-ph": "Applied Physics",
    "physics.atm-clus": "Atomic and Molecular Clusters",
    "physics.atom-ph": "Atomic Physics",
    "physics.bio-ph": "Biological Physics",
    "physics.chem-ph": "Chemical Physics",
    "physics.class-ph": "Classical Physics",
    "physics.comp-ph": "Computational Physics",
    "physics.data-an": "Data Analysis, Statistics and Probability",
    "physics.ed-ph": "Physics Education",
    "physics.flu-dyn": "Fluid Dynamics",
    "physics.gen-ph": "General Physics",
    "physics.geo-ph": "Geophysics",
    "physics.hist-ph": "History and Philosophy of Physics",
    "physics.ins-det": "Instrumentation and Detectors",
    "physics.med-ph": "Medical Physics",
    "physics.optics": "Optics",
    "physics.plasm-ph": "Plasma Physics",
    "physics.pop-ph": "Popular Physics",
    "physics.soc-ph": "Physics and Society",
    "physics.space-ph": "Space Physics",
    "quant-ph": "Quantum Physics",
    "q-bio.BM": "Biomolecules",
    "q-bio.CB": "Cell Behavior",
    "q-bio.GN": "Genomics",
    "q-bio.MN": "Molecular Networks",
    "q-bio.NC": "Neurons and Cognition",
    "q-bio.OT": "Other Quantitative Biology",
    "q-bio.PE": "Populations and Evolution",
    "q-bio.QM": "Quantitative Methods",
    "q-bio.SC": "Subcellular Processes",
    "q-bio.TO": "Tissues and Organs",
    "q-fin.CP": "Computational Finance",
    "q-fin.EC": "Economics",
    "q-fin.GN": "General Finance",
    "q-fin.MF": "Mathematical Finance",
    "q-fin.PM": "Portfolio Management",
    "q-fin.PR": "Pricing of Securities",
    "q-fin.RM": "Risk Management",
    "q-fin.ST": "Statistical Finance",
    "q-fin.TR": "Trading and Market Microstructure",
    "stat.AP": "Applications",
    "stat.CO": "Computation",
    "stat.ME": "Methodology",
    "stat.ML": "Machine Learning (Statistics)",
    "stat.OT": "Other Statistics",
    "stat.TH": "Statistics Theory",
}

# Titles that do not fit a phone's keyboard button next to their code (at most SHORT_TITLE chars).
SHORT_TITLES: dict[str, str] = {
    "cs.AI": "AI",
    "cs.CE": "Comp. Engineering",
    "cs.CL": "Language (NLP)",
    "cs.CR": "Security",
    "cs.CV": "Computer Vision",
    "cs.CY": "Society",
    "cs.DC": "Distributed",
    "cs.DS": "Algorithms",
    "cs.FL": "Formal Languages",
    "cs.GT": "Game Theory",
    "cs.HC": "HCI",
    "cs.IR": "Retrieval",
    "cs.LO": "Logic in CS",
    "cs.NE": "Neural & Evolution",
    "cs.NI": "Networking",
    "cs.OH": "Other CS",
    "cs.SC": "Symbolic Comp.",
    "cs.SE": "Software Eng.",
    "cs.SI": "Social Networks",
    "eess.AS": "Audio & Speech",
    "eess.IV": "Image & Video",
    "eess.SY": "Systems & Control",
    "cs.SY": "Systems & Control",
    "stat.ML": "ML (stat)",
    "math.OC": "Optimization",
    "q-bio.NC": "Neuroscience",
}
SHORT_TITLE = 18

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

SHORT_CODE_ARCHIVES = ("cs", "eess")  # the reference digest's style: IR, LG, AS

_MAX_INPUT = 40


class CategoryError(Problem):
    """What was wrong with a category a user typed, and the categories they may have meant."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = (), /, **values: str | Choices) -> None:
        super().__init__(message, **values)
        self.suggestions = suggestions


@dataclass(frozen=True, slots=True)
class Category:
    name: str  # full arXiv name, e.g. "cs.IR"
    title: str  # "Information Retrieval"

    @property
    def code(self) -> str:
        """Short code shown in tags: "IR" for cs.IR, "quant-ph" for quant-ph."""
        return self.name.split(".", 1)[1] if "." in self.name else self.name

    @property
    def archive(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_title(self) -> str:
        """The title in at most SHORT_TITLE characters, for keyboard buttons."""
        if self.name in SHORT_TITLES:
            return SHORT_TITLES[self.name]
        if len(self.title) <= SHORT_TITLE:
            return self.title
        return self.title[: SHORT_TITLE - 1].rsplit(" ", 1)[0].rstrip(" ,-") + "…"


def category(name: str) -> Category:
    return Category(name, TAXONOMY.get(name, name))


def is_category(name: str) -> bool:
    return name in TAXONOMY


def in_archive(archive: str) -> tuple[str, ...]:
    """The categories of one archive, in taxonomy order."""
    return tuple(name for name in TAXONOMY if category(name).archive == archive)


def _candidates(text: str, universe: Iterable[str]) -> list[str]:
    folded = text.casefold()
    exact = [name for name in universe if name.casefold() == folded]
    if exact:
        return exact
    return [name for name in universe if category(name).code.casefold() == folded]


def _preferred(found: list[str], keyboard: Iterable[str]) -> list[str]:
    """Narrow a short code shared by several archives: the keyboard's, else cs's or eess's."""
    on_keyboard = [name for name in found if name in set(keyboard)]
    if on_keyboard:
        return on_keyboard
    short = [name for name in found if category(name).archive in SHORT_CODE_ARCHIVES]
    return short or found


def parse_category(text: str, keyboard: Iterable[str] = ()) -> Category:
    """Resolve user input to one arXiv category; `keyboard` settles short codes several archives use.

    Raises CategoryError naming close matches when the input is unknown or ambiguous.
    """
    raw = text.strip()
    if not raw:
        raise CategoryError(N_("No category given."))
    shown = raw if len(raw) <= _MAX_INPUT else raw[:_MAX_INPUT] + "…"
    found = _candidates(raw, TAXONOMY)
    if len(found) > 1:
        found = _preferred(found, keyboard)
    if len(found) == 1:
        return category(found[0])
    if len(found) > 1:
        names = tuple(sorted(found))
        raise CategoryError(
            N_("“{shown}” is ambiguous: did you mean {choices}?"), names, shown=shown, choices=Choices(names)
        )
    close = suggest(raw, keyboard)
    if not close:
        raise CategoryError(N_("Unknown category “{shown}”."), shown=shown)
    typed = Choices(_as_typed(name, raw, keyboard) for name in close)
    raise CategoryError(
        N_("Unknown category “{shown}”. Did you mean {choices}?"), close, shown=shown, choices=typed
    )


def suggest(text: str, keyboard: Iterable[str] = (), limit: int = 3) -> tuple[str, ...]:
    """Close matches by full name or short code, the keyboard's first, in the form likely typed."""
    folded = text.strip().casefold()[:_MAX_INPUT]
    by_key: dict[str, str] = {}
    for name in (*keyboard, *TAXONOMY):
        by_key.setdefault(name.casefold(), name)
        by_key.setdefault(category(name).code.casefold(), name)
    keys = difflib.get_close_matches(folded, list(by_key), n=limit * 2, cutoff=0.5)
    result: list[str] = []
    for key in keys:
        name = by_key[key]
        if name not in result:
            result.append(name)
    return tuple(result[:limit])


def _as_typed(name: str, typed: str, keyboard: Iterable[str]) -> str:
    """Suggest `IR` to someone who typed a short code, `cs.IR` to someone who typed a full name
    (or when the short code would not lead back to this category)."""
    code = category(name).code
    if "." in typed:
        return name
    found = _candidates(code, TAXONOMY)
    return code if found == [name] or _preferred(found, keyboard) == [name] else name
