"""Digests, entries and `/cat` pages as Telegram HTML or plain text, from one renderer.

An entry reads like the reference digest: `[IR] Title`, compact authors ("P Baltescu, H Chen"),
affiliations in brackets ("[Microsoft Research & Aalto University]"), the venue when the comment
names one, for featured entries the first sentences of the abstract, then the abstract and PDF links.

Everything from arXiv is escaped, and no message exceeds Telegram's 4096 characters. Telegram
counts visible characters in UTF-16 code units; the raw HTML is always longer, so measuring that is
safe. Digests are split between entries only; an entry too long for a message of its own is shown
with less detail (no abstract, fewer authors, a shorter title), never cut inside markup.

Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.core.categories import category
from bot.core.digest import Digest, DigestEntry, Page, select_for_push
from storage.models import Author

MESSAGE_LIMIT = 4096
FEATURED = 3
MAX_AUTHORS = 6
MAX_AFFILIATIONS = 4
ABSTRACT_CHARS = 300
AFFILIATION_CHARS = 100
NAME_CHARS = 60

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SHORT_CODE_ARCHIVES = ("cs", "eess")  # the reference digest's style: IR, LG, AS


class Format(StrEnum):
    HTML = "html"  # Telegram parse_mode HTML
    TEXT = "text"  # terminal output: no markup, links printed


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much of an entry to show; shortened step by step until the entry fits."""

    abstract: bool
    authors: int
    affiliations: int
    venue: bool = True
    title_chars: int | None = None
    tags: int | None = None


_LEVELS = (
    _Detail(abstract=True, authors=MAX_AUTHORS, affiliations=MAX_AFFILIATIONS),
    _Detail(abstract=False, authors=MAX_AUTHORS, affiliations=MAX_AFFILIATIONS),
    _Detail(abstract=False, authors=3, affiliations=2),
    _Detail(abstract=False, authors=1, affiliations=0, title_chars=200, tags=3),
    # The last level bounds an entry at about 450 UTF-16 units even for a title of ampersands,
    # so a /cat page of digest.MAX_PAGE_SIZE entries always fits one message.
    _Detail(abstract=False, authors=0, affiliations=0, venue=False, title_chars=40, tags=3),
)
_COMPACT_LEVEL = 1


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def format_date(day: date) -> str:
    """ "Wed 20 Aug 2025", independent of the process locale."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def tag_label(name: str) -> str:
    """The tag shown for a category: the short code for cs and eess (IR, AS), else the full name."""
    archive = name.split(".", 1)[0]
    return category(name).code if archive in _SHORT_CODE_ARCHIVES else name


def tag_labels(categories: Iterable[str]) -> dict[str, str]:
    """Labels for a set of categories, falling back to full names where short codes collide."""
    names = tuple(dict.fromkeys(categories))
    short = {name: tag_label(name) for name in names}
    taken = [label.casefold() for label in short.values()]
    return {name: label if taken.count(label.casefold()) == 1 else name for name, label in short.items()}


# --- TeX -----------------------------------------------------------------------------------------

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


def readable_tex(text: str) -> str:
    """TeX in arXiv metadata made readable: accents become letters, simple math becomes Unicode.

    `Poincar\\'e` gives "Poincaré", `$O(n^2)$` gives "O(n²)", `$1.13\\times$` gives "1.13×". Math
    using anything unknown keeps its `$...$` source untouched rather than being half converted.
    """
    text = _SPECIAL.sub(lambda match: _SPECIAL_LETTERS[match.group(1) or match.group(2)], text)
    text = _ACCENT.sub(_accented, text)
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


# --- pieces of an entry --------------------------------------------------------------------------

_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "dei", "da", "di", "du", "dos", "das", "do", "la"}
    | {"le", "ter", "ten", "bin", "ibn", "zu", "af", "av"}
)
_SUFFIXES = frozenset(("jr", "jr.", "sr", "sr.", "ii", "iii", "iv"))
_PARENTHESIS = re.compile(r"\([^()]*\)")
_GROUP_NAME = re.compile(
    r"(?i)\b(?:collaboration|consortium|team|group|project|initiative|laboratory|inc|ltd|corporation)\b"
)


def compact_author(name: str) -> str:
    """Initials and surname, as in the reference digest: "Adam Tauman Kalai" gives "A T Kalai".

    Particles stay with the surname ("L van Beethoven"), hyphenated given names keep their hyphen
    ("J-P Dupont"), "Surname, Given" is turned around; single names and groups ("ATLAS
    Collaboration") are kept whole.
    """
    text = _PARENTHESIS.sub(" ", readable_tex(name)).replace("{", "").replace("}", "")
    if _GROUP_NAME.search(text):
        return " ".join(text.split())
    parts = [part.strip() for part in text.split(",") if part.strip()]
    suffix = [parts.pop()] if len(parts) > 1 and parts[-1].casefold() in _SUFFIXES else []
    if len(parts) == 2:
        parts.reverse()
    tokens = " ".join(parts).split()
    while len(tokens) > 1 and tokens[-1].casefold() in _SUFFIXES:
        suffix.insert(0, tokens.pop())
    if len(tokens) <= 1:
        return " ".join(tokens + suffix)
    start = next(
        (
            index
            for index in range(1, len(tokens) - 1)
            if tokens[index][0].islower()
            or tokens[index][0] in "'’"
            or tokens[index].casefold() in _PARTICLES
        ),
        len(tokens) - 1,
    )
    initials = [_initials(token) for token in tokens[:start]]
    return " ".join([initial for initial in initials if initial] + tokens[start:] + suffix)


def _initials(given: str) -> str:
    """ "Jean-Pierre" gives "J-P", "A." gives "A"."""
    letters = [next((char for char in part if char.isalnum()), "") for part in re.split(r"[-‐]", given)]
    return "-".join(letter.upper() for letter in letters if letter)


def author_line(authors: Sequence[Author], limit: int = MAX_AUTHORS) -> str:
    """ "P Baltescu, H Chen", or the first `limit` and "et al. (60 authors)"."""
    names = [_clip(compact_author(author.name), NAME_CHARS) for author in authors[:limit]]
    line = ", ".join(name for name in names if name)
    if len(authors) > limit:
        line = f"{line} et al. ({len(authors)} authors)".strip()
    return line


def affiliation_line(authors: Sequence[Author], limit: int = MAX_AFFILIATIONS) -> str:
    """ "[Microsoft Research & Aalto University]" in order of first appearance; empty when none known."""
    if limit <= 0:
        return ""
    seen: dict[str, str] = {}
    for author in authors:
        for affiliation in author.affiliations:
            text = " ".join(affiliation.split())
            if text and text.casefold() not in ("unknown", "none", "n/a"):
                seen.setdefault(text.casefold(), text)
    shown = [_clip(readable_tex(text), AFFILIATION_CHARS) for text in list(seen.values())[:limit]]
    more = f" +{len(seen) - limit} more" if len(seen) > limit else ""
    return f"[{' & '.join(shown)}{more}]" if shown else ""


_SENTENCE_END = re.compile(r"[.!?](?=\s+[\"'(\[]?[A-Z0-9])")
_NO_SENTENCE_END = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|resp|approx|Fig|Figs|Eq|Eqs|Sec|Tab|Ref|Refs|No|Dr|Prof|St)|\b[A-Z])$"
)


def first_sentences(abstract: str, max_chars: int = ABSTRACT_CHARS, sentences: int = 2) -> str:
    """The abstract's first sentence or two within `max_chars`, math kept whole.

    A first sentence longer than `max_chars` is cut at a word and ends with "…".
    """
    text = readable_tex(abstract)
    found: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start()]
        if _inside_math(text, match.start()) or _NO_SENTENCE_END.search(head):
            continue
        found.append(text[start : match.end()].strip())
        start = match.end()
    found.append(text[start:].strip())
    chosen = ""
    for sentence in found[:sentences]:
        candidate = f"{chosen} {sentence}".strip()
        if len(candidate) > max_chars:
            break
        chosen = candidate
    return chosen or _clip(found[0], max_chars)


def _inside_math(text: str, position: int) -> bool:
    return len(re.findall(r"(?<!\\)\$", text[:position])) % 2 == 1


def _clip(text: str, max_chars: int) -> str:
    """At most `max_chars` characters, cut between words (never inside `$...$`), ending with "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    if _inside_math(text, len(cut)):
        cut = cut[: cut.rfind("$")]
    return cut.rstrip(" ,;:-–") + "…"


# --- entries -------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _link(url: str, text: str) -> str:
    return f'<a href="{_attribute(url)}">{_escape(text)}</a>'


def _entry_text(
    entry: DigestEntry, number: int | None, fmt: Format, labels: Mapping[str, str], detail: _Detail
) -> str:
    paper = entry.paper
    html = fmt is Format.HTML
    show = _escape if html else str
    tags = [labels.get(name) or tag_label(name) for name in entry.tags]
    if detail.tags is not None and len(tags) > detail.tags:
        tags = [*tags[: detail.tags], f"+{len(tags) - detail.tags}"]
    title = readable_tex(paper.title)
    if detail.title_chars is not None:
        title = _clip(title, detail.title_chars)
    head = f"{number}. " if number is not None else ""
    head += f"[{show(', '.join(tags))}] " if tags else ""
    head += f"<b>{_link(paper.abs_url, title)}</b>" if html else title
    lines = [head]
    if detail.authors:
        lines.append(show(author_line(paper.authors, detail.authors)))
    lines.append(show(affiliation_line(paper.authors, detail.affiliations)))
    if detail.venue and entry.venue:
        lines.append(f"<i>{_escape(entry.venue)}</i>" if html else entry.venue)
    if detail.abstract:
        snippet = first_sentences(paper.abstract)
        lines.append(f"<blockquote>{_escape(snippet)}</blockquote>" if html and snippet else snippet)
    origin = _cross_origin(entry)
    origin_note = f" · cross-list from {show(origin)}" if origin else ""
    if html:
        abs_link = _link(paper.abs_url, "arXiv:" + paper.arxiv_id)
        lines.append(f"{abs_link} · {_link(paper.pdf_url, 'PDF')}{origin_note}")
    else:
        lines.append(f"{paper.abs_url} · PDF: {paper.pdf_url}{origin_note}")
    return "\n".join(line for line in lines if line)


def _cross_origin(entry: DigestEntry) -> str | None:
    """The primary category of a paper that is only cross-listed in the chat's categories."""
    paper = entry.paper
    primary = paper.primary_category or (paper.categories[0] if paper.categories else None)
    return primary if entry.is_cross and primary not in entry.tags else None


def _fit_entry(
    entry: DigestEntry,
    number: int | None,
    fmt: Format,
    labels: Mapping[str, str],
    *,
    featured: bool,
    budget: int,
) -> str:
    """The entry at the most detail that fits `budget` UTF-16 units, else at the least detail."""
    levels = _LEVELS if featured else _LEVELS[_COMPACT_LEVEL:]
    for detail in levels[:-1]:
        text = _entry_text(entry, number, fmt, labels, detail)
        if utf16_length(text) <= budget:
            return text
    return _entry_text(entry, number, fmt, labels, levels[-1])


def render_entry(
    entry: DigestEntry,
    *,
    featured: bool,
    number: int | None = None,
    fmt: Format = Format.HTML,
    labels: Mapping[str, str] | None = None,
) -> str:
    """One entry, fit for a message of its own; featured entries include the abstract's opening."""
    labels = tag_labels(entry.tags) if labels is None else labels
    return _fit_entry(entry, number, fmt, labels, featured=featured, budget=MESSAGE_LIMIT)


# --- messages ------------------------------------------------------------------------------------


def render_digest(
    digest: Digest, *, featured: int = FEATURED, limit: int | None = None, fmt: Format = Format.HTML
) -> list[str]:
    """The digest as messages of at most 4096 UTF-16 units, split between entries.

    The first `featured` entries show the abstract's opening; `limit` caps the entries shown (see
    `select_for_push`), and a footer points to `/cat` for the rest.
    """
    html = fmt is Format.HTML
    labels = tag_labels(digest.categories)
    shown, remaining = select_for_push(digest, limit)
    blocks = [_digest_header(digest, labels, fmt)]
    if not digest.entries:
        blocks.append("No new papers in your categories in this announcement.")
    heading = "<b>More papers</b>" if html else "More papers"
    for index, entry in enumerate(shown):
        if index == featured and index > 0:
            budget = MESSAGE_LIMIT - utf16_length(heading) - 1
            text = _fit_entry(entry, index + 1, fmt, labels, featured=False, budget=budget)
            blocks.append(f"{heading}\n{text}")
        else:
            text = _fit_entry(entry, index + 1, fmt, labels, featured=index < featured, budget=MESSAGE_LIMIT)
            blocks.append(text)
    if remaining:
        blocks.append(_digest_footer(digest, len(shown), remaining, labels, fmt))
    return _pack(blocks)


def _digest_header(digest: Digest, labels: Mapping[str, str], fmt: Format) -> str:
    title = f"arXiv digest · {format_date(digest.announced)}"
    counts = []
    for count in digest.counts:
        cross = f" (+{count.cross} cross)" if count.cross else ""
        counts.append(f"{labels[count.category]} {count.new}{cross}")
    tail = "".join(f" · {_escape(part) if fmt is Format.HTML else part}" for part in counts)
    return (f"<b>{title}</b>" if fmt is Format.HTML else title) + tail


def _digest_footer(digest: Digest, shown: int, remaining: int, labels: Mapping[str, str], fmt: Format) -> str:
    hidden = {name for entry in digest.entries[shown:] for name in entry.tags}
    commands = " · ".join(f"/cat {labels[name]}" for name in digest.categories if name in hidden)
    return f"+{remaining} more: {_escape(commands) if fmt is Format.HTML else commands}"


def _pack(blocks: Sequence[str]) -> list[str]:
    """Blocks joined by blank lines into as few messages as fit; each block is already small enough."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and utf16_length(candidate) > MESSAGE_LIMIT:
            messages.append(current)
            current = block
        else:
            current = candidate
    messages.append(current)
    return messages


def render_page(page: Page, *, fmt: Format = Format.HTML, abstracts: bool = False) -> str:
    """A `/cat` page as one message of at most 4096 UTF-16 units.

    Entries show the abstract's opening when `abstracts` is set and everything fits; otherwise all
    entries of the page step down together to less detail.
    """
    html = fmt is Format.HTML
    title = f"{page.category} · {format_date(page.announced)}"
    papers = "1 paper" if page.total == 1 else f"{page.total} papers"
    header = f"<b>{_escape(title)}</b>" if html else title
    header += f" · page {page.number} of {page.count} · {papers}"
    if not page.entries:
        name = _escape(page.category) if html else page.category
        return f"{header}\n\nNo new papers in {name} in this announcement."
    labels = tag_labels(name for entry in page.entries for name in entry.tags)
    levels = _LEVELS if abstracts else _LEVELS[_COMPACT_LEVEL:]
    for detail in levels:
        text = "\n\n".join(
            [header]
            + [
                _entry_text(entry, page.first_position + offset, fmt, labels, detail)
                for offset, entry in enumerate(page.entries)
            ]
        )
        if utf16_length(text) <= MESSAGE_LIMIT:
            break
    return text
