"""Lines of text and superscript marks: what every element of an author block is read into."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Mark:
    """Superscript marks ("1", "*", "†") that tie a name to an institute."""

    values: tuple[str, ...]


_Line = list["str | _Mark"]
_INLINE_MARK = re.compile(
    r"\[(\d{1,2}|[a-z]|[*†‡§¶])\]"  # LaTeXML's "[1]" for an unsupported \author[1]{...}
    r"|(?<!\w)([*∗†‡§¶⋆★✝✉]+)|([*∗†‡§¶⋆★✝✉]+)(?!\w)"  # symbols typed as text, but not the "*" of "A*STAR"
    r"|([⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:[,˒][⁰¹²³⁴⁵⁶⁷⁸⁹]+)*)"
)
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹˒", "0123456789,")
_MARK_TEXT = re.compile(r"[\s,;.]*(?:(?:\d{1,2}|[A-Za-z]|[^\w\s,;.])[\s,;.]*){1,6}")
_MARK_VALUE = re.compile(r"\d+|[A-Za-z]|[^\w\s,;.()]")
_TEX_SYMBOLS = {
    "dagger": "†",
    "dag": "†",
    "ddagger": "‡",
    "ddag": "‡",
    "ast": "*",
    "star": "⋆",
    "bigstar": "★",
    "S": "§",
    "P": "¶",
    "sharp": "♯",
    "natural": "♮",
    "flat": "♭",
    "diamond": "⋄",
    "diamondsuit": "♢",
    "clubsuit": "♣",
    "spadesuit": "♠",
    "heartsuit": "♡",
    "circ": "∘",
    "bullet": "•",
    "triangle": "△",
}
# Styling around a mark: fonts and sizes, and the colour, bold and spacing of marks set as letters
# (`\hskip 1pt{}^{\color[rgb]{0,0.2,0.4}\boldsymbol{Y}}`).
_TEX_FORMATTING = re.compile(
    r"\\(?:text)?colou?r\s*(?:\[[^\]]*\])?\s*\{[^{}]*\}"
    r"|\\(?:hskip|hspace\*?|kern)\s*\{?\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|mu)\}?"
    r"|\\(?:text\w*|math\w*|boldsymbol|bm|rm|bf|it|sf|tt|scriptsize|footnotesize|small|tiny)\b|\\[,;:! ]"
)


class _Stream:
    """Text and marks read from elements: blocks (one per author written apart) of lines."""

    def __init__(self, *, collect_notes: bool = False) -> None:
        self.blocks: list[list[_Line]] = [[[]]]
        # Notes met on the way (markup elements), each replaced by a mark; None: notes are skipped.
        self.notes: list[object] | None = [] if collect_notes else None

    def add_text(self, text: str) -> None:
        line = self.blocks[-1][-1]
        position = 0
        for found in _INLINE_MARK.finditer(text):
            if found.start() > position:
                line.append(text[position : found.start()])
            line.append(_Mark(_mark_values(next(group for group in found.groups() if group))))
            position = found.end()
        if position < len(text):
            line.append(text[position:])

    def add_mark(self, values: tuple[str, ...]) -> None:
        if values:
            self.blocks[-1][-1].append(_Mark(values))

    def break_line(self) -> None:
        if _has_content(self.blocks[-1][-1]):
            self.blocks[-1].append([])

    def break_block(self) -> None:
        if any(_has_content(line) for line in self.blocks[-1]):
            self.blocks.append([[]])

    def extend(self, other: _Stream) -> None:
        for index, block in enumerate(other.blocks):
            if index:
                self.break_block()
            for line_index, line in enumerate(block):
                if line_index:
                    self.break_line()
                self.blocks[-1][-1].extend(line)

    def block_lines(self) -> list[list[_Line]]:
        blocks = [[line for line in block if _has_content(line)] for block in self.blocks]
        return [block for block in blocks if block]

    def lines(self) -> list[_Line]:
        return [line for block in self.block_lines() for line in block]


def _has_content(line: _Line) -> bool:
    return any(isinstance(token, _Mark) or token.strip() for token in line)


def _starts_with_mark(line: _Line) -> bool:
    return isinstance(
        next((token for token in line if isinstance(token, _Mark) or token.strip()), None), _Mark
    )


def _line_text(line: _Line) -> str:
    return "".join(token for token in line if isinstance(token, str))


def _mark_values(text: str) -> tuple[str, ...]:
    return tuple(_MARK_VALUE.findall(text.translate(_SUPERSCRIPT_DIGITS)))


def _marks_from_tex(tex: str) -> tuple[str, ...]:
    """Marks from a formula's TeX (`{}^{1,2}`, `^\\dagger`, `\\star`); other formulas here are noise."""
    text = _TEX_FORMATTING.sub("", tex).strip()
    superscript = re.match(r"^(?:\{\s*\})?\s*\^", text)
    if superscript:
        text = text[superscript.end() :]
    text = re.sub(r"\\([A-Za-z]+)", lambda found: _TEX_SYMBOLS.get(found.group(1), "\\"), text)
    text = re.sub(r"[{}\s]", "", text)
    if not text or "\\" in text or not _MARK_TEXT.fullmatch(text):
        return ()
    if not superscript and re.search(r"\w", text):
        return ()
    return _mark_values(text)


_TEX_LEFTOVER = re.compile(r"\\[A-Za-z]+\*?|\\\\|[{}$^_~]")
