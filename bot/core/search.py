"""What users type after /search, turned into an export API `search_query`, or a clear refusal.

`/search diffusion transformer` finds papers with every word anywhere; `au:lecun`, `ti:"graph
neural"`, `abs:retrieval` and `cat:IR` (any spelling `/subscribe` accepts) narrow a word to one field.
All terms must match (the API's AND). Anything else the API's syntax allows (OR, ANDNOT,
parentheses) is refused with a hint rather than sent and answered by an error. Pure.
"""

from __future__ import annotations

import re

from bot.core.categories import CategoryError, parse_category
from bot.core.i18n import N_, Problem

MAX_TERMS = 12
MAX_CHARS = 200
FIELDS = {"au": "au", "ti": "ti", "abs": "abs", "cat": "cat", "all": "all"}
_TOKEN = re.compile(r'(?:(?P<field>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))')
_OPERATORS = {"and", "or", "andnot", "not"}
_SAFE = re.compile(r"[^\w\s.\-'’]", re.UNICODE)


class SearchError(Problem):
    """A search the export API cannot be asked, and why."""


def search_query(text: str, keyboard: tuple[str, ...] = ()) -> str:
    """The export API query for `text`, every term required; raises SearchError."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise SearchError(
            N_("Search for what? Send e.g. /search diffusion transformer, or /search au:hinton.")
        )
    if len(cleaned) > MAX_CHARS:
        raise SearchError(
            N_("That search is too long: at most {most} characters. Pick a few telling words."),
            most=MAX_CHARS,
        )
    if cleaned.count('"') % 2:
        raise SearchError(N_('A quote is not closed: write phrases as ti:"graph neural network".'))
    if any(mark in cleaned for mark in "()"):
        raise SearchError(N_("Parentheses are not supported: all the words you give must match."))
    terms = []
    position = 0
    for match in _TOKEN.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            raise SearchError(
                N_("I cannot read “{shown}”."), shown=cleaned[position : match.start()].strip()[:40]
            )
        position = match.end()
        terms.append(_term(match, keyboard))
    terms = [term for term in terms if term]
    if not terms:
        raise SearchError(N_("Search for what? Give at least one word that is not AND, OR or NOT."))
    if len(terms) > MAX_TERMS:
        raise SearchError(
            N_("That search has {count} terms; at most {most} can all match at once."),
            count=len(terms),
            most=MAX_TERMS,
        )
    return " AND ".join(terms)


def _term(match: re.Match[str], keyboard: tuple[str, ...]) -> str | None:
    field = (match["field"] or "all").casefold()
    value = match["phrase"] if match["phrase"] is not None else match["word"]
    if field not in FIELDS:
        fields = ", ".join(f"{name}:" for name in FIELDS if name != "all")
        raise SearchError(
            N_("Unknown field “{shown}:”. Use {fields} or plain words."),
            shown=match["field"][:20],
            fields=fields,
        )
    if match["field"] is None and match["phrase"] is None and value.casefold() in _OPERATORS:
        if value.casefold() == "and":
            return None
        raise SearchError(N_("OR and NOT are not supported: all the words you give must match."))
    value = " ".join(_SAFE.sub(" ", value).split())
    if not value:
        if match["field"]:
            raise SearchError(N_("Nothing after “{field}:”. Write e.g. {field}:word."), field=match["field"])
        return None
    if field == "cat":
        try:
            return f"cat:{parse_category(value, keyboard).name}"
        except CategoryError as error:
            raise SearchError(error.message, **error.values) from None
    return f'{FIELDS[field]}:"{value}"' if " " in value else f"{FIELDS[field]}:{value}"
