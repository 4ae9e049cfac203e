"""Which language a chat is answered in, from its `/lang` choice or a Telegram `language_code`.

Pure: the catalogues themselves are loaded by `bot.locales`. `N_` marks a string for extraction
(`pybabel extract`) where it is defined, so it can be translated where it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Language(StrEnum):
    EN = "en"
    ZH = "zh"


LANGUAGE_NAMES = {Language.EN: "English", Language.ZH: "中文"}
"""Each language in its own words: what the /lang buttons say, whatever the chat's language."""

_ALIASES = {
    "en": Language.EN,
    "english": Language.EN,
    "zh": Language.ZH,
    "cn": Language.ZH,
    "chinese": Language.ZH,
    "中文": Language.ZH,
    "简体中文": Language.ZH,
}


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it (that happens where it is shown)."""
    return message


EITHER = N_("{first} or {last}")
LIST_SEPARATOR = N_(", ")


def one_of(names: Sequence[str], either: str = EITHER, separator: str = LIST_SEPARATOR) -> str:
    """ "A, B or C", in a language's words for "or" and for a list (English unless given)."""
    if len(names) == 1:
        return names[0]
    return either.format(first=separator.join(names[:-1]), last=names[-1])


class Choices(tuple[str, ...]):
    """Alternatives a message offers ("A, B or C"), joined in the reader's language where shown."""

    def __str__(self) -> str:
        return one_of(self)


class Problem(ValueError):
    """What was wrong with what a user typed, fit to show them: a message marked with `N_` and the
    values it names, so the core parses without catalogues. str() is the English text (logs, the
    command line); a chat gets it in its own language from `bot.locales.Translation.problem`."""

    def __init__(self, message: str, /, **values: str | int | Choices) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values


def language_of(chosen: str | None, language_code: str | None) -> Language:
    """The chat's `/lang` choice, else the user's Telegram language: every `zh`, `zh-hans`, `zh-cn`,
    `zh-hk`, `zh-tw`… is answered in Simplified Chinese, the only Chinese there is a catalogue for;
    anything else, or nothing, in English."""
    code = chosen or language_code
    if not code:
        return Language.EN
    primary = code.strip().replace("_", "-").split("-", 1)[0].casefold()
    return Language.ZH if primary == Language.ZH else Language.EN


def parse_language(text: str) -> Language | None:
    """What `/lang zh` (or en, English, 中文…) names, or None."""
    return _ALIASES.get(text.strip().casefold())
