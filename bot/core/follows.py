"""What a chat follows beyond its categories: topics, authors and institutions, and which papers match.

`/follow "retrieval augmented generation"`, `/follow RAG`, `/follow author:Leskovec`,
`/follow inst:"Google DeepMind"`; several at once are separated by commas or quoted.

Matching is forgiving where readers expect it and strict where they would not: case, accents,
simple plurals and hyphen-or-space all agree ("Retrieval-Augmented Generations" matches
`retrieval augmented generation`), but a topic matches whole words only, so `RAG` never matches
"storage". Authors match by surname, with given names or initials when the follow names them
(`J Leskovec` matches "Jure Leskovec", not "Jane Leskovec"), through the name rules of
`bot.core.names`. Institutions match whole words of the authors' affiliations.

Pure: no I/O. `paper_text` is the costly step (folding an abstract); callers cache its result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.i18n import N_, Problem
from bot.core.names import compact_author, fold, name_matches, name_tokens
from bot.core.tex import readable_tex
from storage.models import Paper

MAX_FOLLOW_CHARS = 60
MAX_FOLLOWS = 50  # per chat
MAX_PER_COMMAND = 10
MAX_NAME_WORDS = 6

_QUOTES = '"“”«»„'
_PREFIXES = "author|au|inst|institution|topic|ti|abs"  # au:, ti: and abs: as /search writes them
_KIND = re.compile(rf"(?i)({_PREFIXES})\s*:\s*")
_UNQUOTED = re.compile(rf"[^,{_QUOTES}]*?(?=\s*(?:,|[{_QUOTES}]|\b(?:{_PREFIXES})\s*:|$))", re.I)
_PATTERN_CHARACTERS = frozenset("*?[]{}()|\\^$~<>=")
_WORD = re.compile(r"[^\W_]+")
_CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co/")
"""Hosts whose links are code links, looked for as substrings of the lower-cased text."""
# "code available", "our code" and "source code", in lower-cased text. The pattern starts with the
# literal "code" every phrase holds, so the regex engine skips from one "code" to the next (as fast
# as a substring search) and only there looks behind for what must precede it; a pattern starting
# with a word boundary is tried at every position of every abstract (a day of 800 papers spent
# 20 ms of CPU in it, most abstracts holding "code" inside "encoder" or "decoder").
_CODE_PHRASE = re.compile(
    r"code(?:(?<=\bcode) (?:is |are )?(?:publicly |freely )?(?:available|released)"
    r"|(?<=\bour code)\b|(?<=\bsource code)\b)"
)


class FollowKind(StrEnum):
    TOPIC = "topic"
    AUTHOR = "author"
    INSTITUTION = "inst"


_KINDS = {
    "topic": FollowKind.TOPIC,
    "ti": FollowKind.TOPIC,  # topics are matched in titles and abstracts alike
    "abs": FollowKind.TOPIC,
    "author": FollowKind.AUTHOR,
    "au": FollowKind.AUTHOR,
    "inst": FollowKind.INSTITUTION,
    "institution": FollowKind.INSTITUTION,
}


class FollowError(Problem):
    """What a user asked to follow that cannot be followed, and why."""


@dataclass(frozen=True, slots=True)
class Follow:
    kind: FollowKind
    text: str  # as the user wrote it, tidied: what lists and reasons show
    id: int | None = None  # the stored follow's id, for its remove button
    key: str = field(default="", compare=False)
    """The normalized form: two follows with the same kind and key are the same follow. Worked out
    once here (matching reads it for every paper), or given as stored."""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", follow_key(self.kind, self.text))

    @property
    def label(self) -> str:
        prefix = {FollowKind.TOPIC: "", FollowKind.AUTHOR: "author:", FollowKind.INSTITUTION: "inst:"}
        return prefix[self.kind] + (f"“{self.text}”" if " " in self.text else self.text)


def stem(word: str) -> str:
    """A folded word without its plural ending: "networks" and "network", "studies" and "study" agree."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    return word[:-1]


def words(text: str) -> list[str]:
    """Folded, singular words of already readable text: hyphens, case and accents do not matter."""
    return [stem(word) for word in _WORD.findall(fold(text))]


def follow_key(kind: FollowKind, text: str) -> str:
    if kind is FollowKind.AUTHOR:
        return " ".join(name_tokens(text))
    return " ".join(words(text))


def parse_follows(argument: str) -> list[Follow]:
    """What the user typed after /follow, as follows; raises FollowError with the reason."""
    found: list[Follow] = []
    for kind, text in _items(argument):
        found.append(_checked(kind, text))
    if not found:
        raise FollowError(
            N_(
                'Follow what? Send e.g. /follow "retrieval augmented generation", /follow RAG, '
                '/follow author:Leskovec or /follow inst:"Google DeepMind".'
            )
        )
    if len(found) > MAX_PER_COMMAND:
        raise FollowError(
            N_("That is {count} follows at once; send at most {most} per message."),
            count=len(found),
            most=MAX_PER_COMMAND,
        )
    unique: dict[tuple[FollowKind, str], Follow] = {}
    for item in found:
        unique.setdefault((item.kind, item.key), item)
    return list(unique.values())


def _items(argument: str) -> list[tuple[FollowKind, str]]:
    """(kind, text) pairs: quoted phrases whole, unquoted words up to a comma, quote or next prefix."""
    items = []
    position, end = 0, len(argument)
    while True:
        while position < end and (argument[position].isspace() or argument[position] == ","):
            position += 1
        if position >= end:
            return items
        kind = FollowKind.TOPIC
        prefix = _KIND.match(argument, position)
        if prefix:
            kind = _KINDS[prefix.group(1).casefold()]
            position = prefix.end()
        if position < end and argument[position] in _QUOTES:
            closing = next((index for index in range(position + 1, end) if argument[index] in _QUOTES), end)
            items.append((kind, argument[position + 1 : closing]))
            position = closing + 1
            continue
        match = _UNQUOTED.match(argument, position)
        text = match.group() if match else ""
        items.append((kind, text))
        position += len(text) or (0 if prefix else 1)


def meant_as(follow: Follow) -> Follow | None:
    """The author or institution a topic seems to mean when it starts with that kind's word and no
    colon ("author Yann LeCun"), for a hint: it is followed as written, since "author disambiguation"
    is a topic too. None for anything else."""
    first, _, rest = follow.text.partition(" ")
    kind = _KINDS.get(first.casefold())
    if follow.kind is not FollowKind.TOPIC or kind in (None, FollowKind.TOPIC):
        return None
    try:
        return _checked(kind, rest)
    except FollowError:
        return None


def _checked(kind: FollowKind, raw: str) -> Follow:
    text = " ".join(raw.split())
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not text:
        raise FollowError(
            N_("An empty {kind} cannot be followed: write the words after “{kind}:”."), kind=kind.value
        )
    if len(text) > MAX_FOLLOW_CHARS:
        raise FollowError(
            N_("“{shown}” is too long to follow: at most {most} characters."),
            shown=shown,
            most=MAX_FOLLOW_CHARS,
        )
    odd = sorted(set(text) & _PATTERN_CHARACTERS)
    if odd:
        raise FollowError(
            N_(
                "Follows are plain words, not patterns: “{shown}” has {characters}. "
                "Write e.g. /follow graph neural networks."
            ),
            shown=shown,
            characters=" ".join(odd),
        )
    key = follow_key(kind, text)
    if not key:
        raise FollowError(N_("“{shown}” has no letters or digits to follow."), shown=shown)
    if kind is FollowKind.AUTHOR and len(key.split()) > MAX_NAME_WORDS:
        raise FollowError(
            N_("“{shown}” is not a person's name; follow an author as author:Leskovec."), shown=shown
        )
    return Follow(kind, text)


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperText:
    """A paper in the folded form matching needs; built once per paper (see `paper_text`)."""

    arxiv_id: str
    title: str  # readable title, as rendered; spans below index it
    title_words: tuple[tuple[str, int, int], ...]  # (folded singular word, start, end) in `title`
    text: str  # " word word ... " of title and abstract, for whole-word phrase search
    people: tuple[tuple[str, ...], ...]  # name_tokens of each author
    names: tuple[str, ...]  # the authors' names as given, in order
    surnames: frozenset[str]  # every token of every author's name: a cheap first test
    places: str  # " word word | word ... " of every affiliation
    has_code: bool  # a code link or "code available" in the comment or abstract


@dataclass(frozen=True, slots=True)
class FollowMatch:
    follow: Follow
    label: str  # what the reason shows: the follow, or the matched author's compact name
    spans: tuple[tuple[int, int], ...] = ()  # matched words in PaperText.title


def paper_text(paper: Paper) -> PaperText:
    title = readable_tex(paper.title)
    title_words = tuple(
        (stem(fold(match.group())), match.start(), match.end()) for match in _WORD.finditer(title)
    )
    body = words(paper.abstract)
    text = " " + " ".join([word for word, _, _ in title_words] + body) + " "
    people = tuple(name_tokens(author.name) for author in paper.authors)
    places = " | ".join(
        " ".join(words(affiliation)) for author in paper.authors for affiliation in author.affiliations
    )
    return PaperText(
        arxiv_id=paper.arxiv_id,
        title=title,
        title_words=title_words,
        text=text,
        people=people,
        names=tuple(author.name for author in paper.authors),
        surnames=frozenset(token for tokens in people for token in tokens),
        places=f" {places} " if places else "",
        has_code=mentions_code(paper.comment, paper.abstract),
    )


def mentions_code(comment: str | None, abstract: str) -> bool:
    """A code link, or "code available", in a paper's comment or abstract."""
    return _has_code((comment or "").lower()) or _has_code(abstract.lower())


def _has_code(text: str) -> bool:
    return any(host in text for host in _CODE_HOSTS) or _CODE_PHRASE.search(text) is not None


def match_follows(follows: Sequence[Follow], paper: PaperText) -> tuple[FollowMatch, ...]:
    """The chat's follows this paper matches, in the order they were followed."""
    found = []
    for follow in follows:
        key = follow.key
        if follow.kind is FollowKind.TOPIC:
            if f" {key} " in paper.text:
                found.append(FollowMatch(follow, follow.text, _title_spans(key.split(), paper)))
        elif follow.kind is FollowKind.INSTITUTION:
            if paper.places and f" {key} " in paper.places:
                found.append(FollowMatch(follow, follow.text))
        else:
            tokens = tuple(key.split())
            if tokens and tokens[-1] in paper.surnames:
                for position, person in enumerate(paper.people):
                    if name_matches(tokens, person):
                        found.append(FollowMatch(follow, compact_author(paper.names[position])))
                        break
    return tuple(found)


def _title_spans(phrase: Sequence[str], paper: PaperText) -> tuple[tuple[int, int], ...]:
    spans = []
    size = len(phrase)
    keys = [word for word, _, _ in paper.title_words]
    for index in range(len(keys) - size + 1):
        if keys[index : index + size] == list(phrase):
            spans.append((paper.title_words[index][1], paper.title_words[index + size - 1][2]))
    return tuple(spans)


def followed_keys(follows: Iterable[Follow]) -> tuple[tuple[str, str], ...]:
    """A chat's follows as a sortable key: chats with the same follows share one ranking."""
    return tuple(sorted({(follow.kind.value, follow.key) for follow in follows}))
