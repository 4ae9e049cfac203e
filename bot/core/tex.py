"""TeX in arXiv metadata made readable: one converter for titles, abstracts, names and affiliations.

arXiv's feeds and export API keep the submitter's TeX: accents (`Poincar\\'e`, `{\\"o}`, `\\c{c}`),
special letters (`\\o`, `\\ss`) and inline math (`$O(n^2)$`). Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_COMBINING = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_LETTER = r"\\i(?![A-Za-z])|[A-Za-z]"
_ACCENT = re.compile(
    rf"\{{\\(?P<a1>['`^\"~=.]|[uvHckrdb](?=[\s{{]))\s*\{{?(?P<l1>{_LETTER})\}}?\}}"
    rf"|\\(?P<a2>['`^\"~=.])\s*(?:\{{(?P<l2>{_LETTER})\}}|(?P<l3>{_LETTER}))"
    rf"|\\(?P<a3>[uvHckrdb])(?:\s*\{{(?P<l4>{_LETTER})\}}|\s+(?P<l5>{_LETTER}))"
)
_SPECIAL_LETTERS = {
    "ss": "ß",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
_SPECIAL = re.compile(
    r"\{\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)\}|\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L)(?![A-Za-z])(?:\{\})?"
)
_BRACED_LETTER = re.compile(r"\{([^\x00-\x7f])\}")
_TEXT_FONT = re.compile(r"\\(?:emph|textbf|textit|texttt|textsc|textrm|textsf|underline|url)\s*\{([^{}]*)\}")
_TEXT_ESCAPE = re.compile(r"\\([&%_#{}])")
_MATH = re.compile(r"(?<!\\)\$([^$]+?)(?<!\\)\$")

_MATH_SYMBOLS = {
    **dict.fromkeys(
        ("log", "exp", "sin", "cos", "tan", "max", "min", "arg", "lim", "sup", "inf", "det", "dim", "deg")
    ),
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "ell": "ℓ",
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "mp": "∓",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "simeq": "≃",
    "equiv": "≡",
    "propto": "∝",
    "ll": "≪",
    "gg": "≫",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "leftrightarrow": "↔",
    "mapsto": "↦",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "partial": "∂",
    "nabla": "∇",
    "sum": "Σ",
    "prod": "Π",
    "int": "∫",
    "sqrt": "√",
    "circ": "∘",
    "ast": "∗",
    "star": "⋆",
    "top": "⊤",
    "dagger": "†",
    "prime": "′",
    "oplus": "⊕",
    "otimes": "⊗",
    "odot": "⊙",
    "emptyset": "∅",
    "neg": "¬",
    "wedge": "∧",
    "vee": "∨",
    "land": "∧",
    "lor": "∨",
    "mid": "|",
    "langle": "⟨",
    "rangle": "⟩",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "quad": " ",
    "qquad": " ",
}
_MATH_FONT = re.compile(
    r"\\(?:mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathscr|mathfrak|text|textrm|textbf|textit"
    r"|operatorname|boldsymbol|bm)\s*\{([^{}]*)\}"
)
_BLACKBOARD = re.compile(r"\\mathbb\s*(?:\{([A-Za-z])\}|([A-Za-z]))")
_BLACKBOARD_LETTERS = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ"}
_FRACTION = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_MATH_COMMAND = re.compile(r"\\([A-Za-z]+|[,;:! {}|%&#_])")
_SCRIPT = re.compile(r"([\^_])(?:\{([^{}]*)\}|([^\s{}\\^_]))")
_SUPERSCRIPTS = str.maketrans("0123456789+-=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ")
_SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_OPEN, _CLOSE = "\ue000", "\ue001"  # literal braces while grouping braces are dropped


@lru_cache(maxsize=8192)
def readable_tex(text: str) -> str:
    """TeX in arXiv metadata made readable: accents become letters, simple math becomes Unicode.

    `Poincar\\'e` gives "Poincaré", `$O(n^2)$` gives "O(n²)", `$1.13\\times$` gives "1.13×". Math
    using anything unknown keeps its `$...$` source untouched rather than being half converted.
    Cached: a push renders the same titles and names in many digests.
    """
    text = _ACCENT.sub(_accented, text)
    text = _SPECIAL.sub(lambda match: _SPECIAL_LETTERS[match.group(1) or match.group(2)], text)
    text = _BRACED_LETTER.sub(r"\1", text)
    text = _MATH.sub(lambda match: _readable_math(match.group(1)), text)
    text = _TEXT_FONT.sub(r"\1", text)
    text = _TEXT_ESCAPE.sub(r"\1", text).replace("\\$", "$")
    return " ".join(text.split())


def _accented(match: re.Match[str]) -> str:
    accent = match.group("a1") or match.group("a2") or match.group("a3")
    letter = next(group for group in match.group("l1", "l2", "l3", "l4", "l5") if group)
    base = "i" if letter == "\\i" else letter
    return unicodedata.normalize("NFC", base + _COMBINING[accent])


def _readable_math(source: str) -> str:
    text = _MATH_FONT.sub(r"\1", source)
    text = _BLACKBOARD.sub(
        lambda m: _BLACKBOARD_LETTERS.get(m.group(1) or m.group(2), m.group(1) or m.group(2)), text
    )
    text = _FRACTION.sub(lambda m: f"{_grouped(m.group(1))}/{_grouped(m.group(2))}", text)
    text = _MATH_COMMAND.sub(_math_command, text)
    if "\\" in text:
        return f"${source}$"
    text = _SCRIPT.sub(_script, text)
    text = text.replace("{", "").replace("}", "").replace(_OPEN, "{").replace(_CLOSE, "}")
    return " ".join(text.split())


def _grouped(part: str) -> str:
    part = part.strip()
    return part if len(part) <= 1 or part.isalnum() else f"({part})"


def _math_command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in ("{", "}"):
        return _OPEN if name == "{" else _CLOSE
    if not name.isalpha():
        return {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "|": "‖"}.get(name, name)
    if name not in _MATH_SYMBOLS:
        return match.group()
    symbol = _MATH_SYMBOLS[name]
    if symbol is not None:
        return symbol
    following = match.string[match.end() : match.end() + 1]
    return name + " " if following.isalnum() else name


def _script(match: re.Match[str]) -> str:
    marker, content = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
    table = _SUPERSCRIPTS if marker == "^" else _SUBSCRIPTS
    converted = content.translate(table)
    if content and all(old != new for old, new in zip(content, converted, strict=True)):
        return converted
    return f"{marker}{content}" if len(content) == 1 else f"{marker}{_OPEN}{content}{_CLOSE}"
