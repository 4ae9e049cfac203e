"""Replies in a chat's language: the gettext catalogues in `bot/locales/`, dates and category names.

The `.po` files are the one source of the translations. Each is compiled in memory with Babel the
first time its language is needed, so there is no `.mo` to rebuild (or to fall out of step with its
`.po`) and no `msgfmt` to install; English is the source language and needs no catalogue. Fuzzy
entries are left out, so a translation a translator has not confirmed shows in English. Babel is
imported on first use: a push to English chats never needs it.
"""

from __future__ import annotations

import dataclasses
import functools
import gettext
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.core import categories_zh
from bot.core.categories import ARCHIVES, SHORT_ARCHIVES, category
from bot.core.i18n import EITHER, LIST_SEPARATOR, Choices, Language, Problem, one_of
from bot.core.render import ENGLISH_WORDS, DigestWords

LOCALES = Path(__file__).resolve().parent  # the catalogues live beside this module
DOMAIN = "messages"

_BABEL_LOCALES = {Language.EN: "en", Language.ZH: "zh_Hans_CN"}
_DATE_PATTERNS = {
    Language.EN: "EEE d MMM y",
    Language.ZH: "y年M月d日 EEE",
}  # Fri 9 Aug 2024; 2024年8月9日 周五


def catalogue_path(language: Language) -> Path:
    return LOCALES / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(language: Language) -> gettext.NullTranslations:
    """The compiled catalogue of `language`, read once per process."""
    if language is Language.EN:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(language).open("rb") as source:
        messages = read_po(source, locale=_BABEL_LOCALES[language])
    compiled = io.BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@dataclass(frozen=True, slots=True)
class Translation:
    """Everything a reply needs in one language: `gettext`/`ngettext`, dates and arXiv's names."""

    language: Language

    def gettext(self, message: str) -> str:
        return catalogue(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return catalogue(self.language).ngettext(singular, plural, count)

    def problem(self, problem: Problem) -> str:
        """What was wrong with the user's input, in this language, its alternatives joined as the
        digest joins its "All" buttons ("A、B 或 C")."""
        if self.language is Language.EN:
            return str(problem)
        either, separator = self.gettext(EITHER), self.gettext(LIST_SEPARATOR)
        values = {
            name: one_of(value, either, separator) if isinstance(value, Choices) else value
            for name, value in problem.values.items()
        }
        return self.gettext(problem.message).format(**values)

    def date(self, day: date) -> str:
        """`Fri 9 Aug 2024`, `2024年8月9日 周五`."""
        from babel.dates import format_date

        return format_date(day, _DATE_PATTERNS[self.language], locale=_BABEL_LOCALES[self.language])

    def category_title(self, name: str) -> str:
        """`Machine Learning`, `机器学习` for cs.LG."""
        if self.language is Language.ZH and name in categories_zh.TITLES:
            return categories_zh.TITLES[name]
        return category(name).title

    def category_short_title(self, name: str) -> str:
        """The title as a keyboard button holds it next to the code."""
        if self.language is Language.ZH and name in categories_zh.TITLES:
            return categories_zh.short_title(name, categories_zh.TITLES[name])
        return category(name).short_title

    def digest_words(self) -> DigestWords:
        """The digest's fixed words in this language, with its dates and category names; a language
        other than arXiv's own gets the legend of category names under the header."""
        if self.language is Language.EN:
            return ENGLISH_WORDS
        texts = {
            item.name: self.gettext(getattr(ENGLISH_WORDS, item.name))
            for item in dataclasses.fields(DigestWords)
            if item.type == "str"
        }
        return DigestWords(
            **texts, date=self.date, category_title=self.category_title, gettext=self.gettext, legend=True
        )

    def archive_name(self, archive: str, *, short: bool = False) -> str:
        if self.language is Language.ZH and archive in categories_zh.ARCHIVES:
            return categories_zh.ARCHIVES[archive]
        return SHORT_ARCHIVES.get(archive, ARCHIVES[archive]) if short else ARCHIVES[archive]


ENGLISH = Translation(Language.EN)
CHINESE = Translation(Language.ZH)


def translation(language: Language) -> Translation:
    return CHINESE if language is Language.ZH else ENGLISH
