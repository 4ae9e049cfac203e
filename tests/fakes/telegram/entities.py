"""HTML entities the way Telegram reads parse_mode=HTML: visible text, entities in UTF-16 units, and
the errors Telegram answers for HTML it refuses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple


class EntityParseError(ValueError):
    """Why Telegram would refuse a message's HTML, worded like Telegram's own error."""


class FormattedText(NamedTuple):
    text: str
    """The visible text, with surrounding whitespace stripped as Telegram strips it."""
    entities: list[dict[str, Any]]
    """MessageEntity JSON objects; offsets and lengths in UTF-16 code units."""


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MARKUP_CHARACTER = re.compile(r"[<>&]")
_CHARACTER_REFERENCE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]{1,8}));")
_TAG_NAME = re.compile(r"[^\s>]*")
_START_TAG = re.compile(r"""<[^\s>]+((?:\s+[^\s=>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>""")
_ATTRIBUTE = re.compile(r"""([^\s=>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_END_TAG = re.compile(r"</([^\s>]*)\s*>")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_STRIPPED = " \t\r\n"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_reference(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _decode_attribute(value: str) -> str:
    return _CHARACTER_REFERENCE.sub(lambda match: _decode_reference(match) or match.group(), value)


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int
    entity: dict[str, Any] | None


class _HtmlParser:
    """One pass over the source: visible text in chunks, entities with code-point offsets."""

    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.strict = strict
        self.chunks: list[str] = []
        self.length = 0
        self.open_tags: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> FormattedText:
        source = self.source
        position = 0
        while (found := _MARKUP_CHARACTER.search(source, position)) is not None:
            start = found.start()
            self._append(source[position:start])
            character = source[start]
            if character == "<":
                position = self._end_tag(start) if source.startswith("</", start) else self._start_tag(start)
            elif character == "&":
                position = self._character_reference(start)
            else:
                self._reject_bare(">", start)
                self._append(">")
                position = start + 1
        self._append(source[position:])
        if self.open_tags:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.open_tags[-1].name}"'
            )
        return _strip_and_measure("".join(self.chunks), self.entities)

    def _append(self, piece: str) -> None:
        if piece:
            self.chunks.append(piece)
            self.length += len(piece)

    def _reject_bare(self, character: str, start: int) -> None:
        if self.strict:
            raise EntityParseError(
                f'Unescaped "{character}" at byte offset {_byte_offset(self.source, start)} '
                "(Telegram tolerates it, but the text was not HTML-escaped)"
            )

    def _character_reference(self, start: int) -> int:
        match = _CHARACTER_REFERENCE.match(self.source, start)
        decoded = _decode_reference(match) if match else None
        if match is None or decoded is None:
            self._reject_bare("&", start)
            self._append("&")
            return start + 1
        self._append(decoded)
        return match.end()

    def _start_tag(self, start: int) -> int:
        name_match = _TAG_NAME.match(self.source, start + 1)
        name = name_match.group().lower() if name_match else ""
        offset = _byte_offset(self.source, start)
        if name not in _TAG_ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        tag = _START_TAG.match(self.source, start)
        if tag is None:
            if ">" not in self.source[start:]:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            raise EntityParseError(f'Can\'t parse attributes of the tag "{name}" at byte offset {offset}')
        attributes = {
            match.group(1).lower(): _decode_attribute(
                match.group(2) or match.group(3) or match.group(4) or ""
            )
            for match in _ATTRIBUTE.finditer(tag.group(1))
        }
        self.open_tags.append(_OpenTag(name, self.length, self._entity_for(name, attributes)))
        return tag.end()

    def _entity_for(self, name: str, attributes: dict[str, str]) -> dict[str, Any] | None:
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if name == "a":
            href = attributes.get("href")
            return {"type": "text_link", "url": href} if href else None
        if name == "tg-emoji":
            emoji_id = attributes.get("emoji-id")
            if not emoji_id:
                raise EntityParseError('Tag "tg-emoji" must have attribute "emoji-id"')
            return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        if name == "blockquote" and "expandable" in attributes:
            return {"type": "expandable_blockquote"}
        if name == "code" and self.open_tags and self.open_tags[-1].name == "pre":
            pre = self.open_tags[-1].entity
            language = attributes.get("class", "")
            if pre is not None and language.startswith("language-"):
                pre["language"] = language.removeprefix("language-")
            return None
        return {"type": _TAG_ENTITY_TYPES[name]}

    def _end_tag(self, start: int) -> int:
        offset = _byte_offset(self.source, start)
        tag = _END_TAG.match(self.source, start)
        if tag is None:
            raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
        name = tag.group(1).lower()
        if not self.open_tags:
            raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
        opened = self.open_tags.pop()
        if name != opened.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{opened.name}>", found "</{name}>"'
            )
        if opened.entity is not None and self.length > opened.start:
            opened.entity["offset"] = opened.start
            opened.entity["length"] = self.length - opened.start
            self.entities.append(opened.entity)
        return tag.end()


def _strip_and_measure(text: str, entities: list[dict[str, Any]]) -> FormattedText:
    """Strip surrounding whitespace like Telegram, then move entity offsets to UTF-16 units."""
    stripped = text.strip(_STRIPPED)
    lead = len(text) - len(text.lstrip(_STRIPPED))
    astral = _ASTRAL.search(stripped) is not None
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, len(stripped))
        if end <= start:
            continue
        if astral:
            entity["offset"], entity["length"] = (
                utf16_length(stripped[:start]),
                utf16_length(stripped[start:end]),
            )
        else:
            entity["offset"], entity["length"] = start, end - start
        kept.append(entity)
    kept.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return FormattedText(stripped, kept)


def parse_html(source: str, *, strict: bool = True) -> FormattedText:
    """Parse Bot API HTML into visible text and entities, raising EntityParseError where Telegram would.

    With strict=True a bare "&" or ">" is refused too: Telegram shows it literally, but it means the
    bot forgot to escape text, which breaks as soon as that text contains "<".
    """
    return _HtmlParser(source, strict).parse()


def plain_text(source: str) -> FormattedText:
    """Text sent without parse_mode (or in a Markdown mode the fake does not parse): stripped only."""
    return FormattedText(source.strip(_STRIPPED), [])
