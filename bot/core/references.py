"""arXiv ids and links in what users type: `2205.11728`, `arXiv:2205.11728v2`, `hep-th/9901001`,
`https://arxiv.org/abs/…`, `/pdf/…` and `/html/…` links; links elsewhere are told apart, so they get
an answer of their own instead of a wrong paper. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCANNED = 4096  # characters of a message looked at: one Telegram message

_NEW_STYLE = r"(?P<new>(?P<yymm>\d{4})\.\d{4,5})"
_OLD_STYLE = r"(?P<old>(?P<archive>[a-z][a-z-]*[a-z](?:\.[A-Z]{2})?)/(?P<oldyymm>\d{4})\d{3})"
_VERSION = r"(?:v(?P<version>\d{1,3}))?"
_BARE = re.compile(
    rf"(?<![\w./-])(?:arxiv:\s?)?(?:{_NEW_STYLE}|{_OLD_STYLE}){_VERSION}(?![\w/-]|\.\d)", re.IGNORECASE
)
# A link with a scheme or www., or a bare domain and path; `math.GT/0309136` is an old-style id.
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}/(?!\d{7}(?:v\d+)?\b)[^\s<>\"']*",
    re.IGNORECASE,
)
_ARXIV_HOST = re.compile(r"^(?:https?://)?(?:(?:www|export|browse)\.)?arxiv\.org/", re.IGNORECASE)
_ARXIV_PATH = re.compile(
    rf"^(?:abs|pdf|html|format|src)/(?:{_NEW_STYLE}|{_OLD_STYLE}){_VERSION}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PaperRef:
    arxiv_id: str  # without version: "2205.11728", "hep-th/9901001"
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """What a message names: arXiv papers in order of appearance, and links that are not arXiv's."""

    papers: tuple[PaperRef, ...]
    other_links: tuple[str, ...]
    arxiv_links_unread: tuple[str, ...]  # arxiv.org links that name no paper (a listing, a search)


def _valid_month(yymm: str) -> bool:
    return 1 <= int(yymm[2:]) <= 12


def _ref(match: re.Match[str]) -> PaperRef | None:
    if match["new"]:
        if not _valid_month(match["yymm"]):
            return None
        arxiv_id = match["new"]
    else:
        if not _valid_month(match["oldyymm"]):
            return None
        archive = match["archive"].lower()
        suffix = f".{match['archive'].split('.')[1].upper()}" if "." in match["archive"] else ""
        arxiv_id = f"{archive.split('.')[0]}{suffix}/{match['old'].split('/')[1]}"
    version = int(match["version"]) if match["version"] else None
    return PaperRef(arxiv_id, version if version else None)


def find_papers(text: str) -> Found:
    """Every arXiv paper named in `text` (each once), and the links that name none."""
    scanned = text[:MAX_SCANNED]
    papers: list[PaperRef] = []
    others: list[str] = []
    unread: list[str] = []
    positions: list[tuple[int, PaperRef]] = []
    for url in _URL.finditer(scanned):
        link = url.group().rstrip(".,;:!?)]}")
        host = _ARXIV_HOST.match(link)
        if host is None:
            others.append(link)
            continue
        path = _ARXIV_PATH.match(link[host.end() :])
        ref = _ref(path) if path else None
        if ref is None:
            unread.append(link)
        else:
            positions.append((url.start(), ref))
    rest = _URL.sub(lambda url: " " * len(url.group()), scanned)
    for match in _BARE.finditer(rest):
        ref = _ref(match)
        if ref is not None:
            positions.append((match.start(), ref))
    for _, ref in sorted(positions, key=lambda item: item[0]):
        if all(known.arxiv_id != ref.arxiv_id for known in papers):
            papers.append(ref)
    return Found(tuple(papers), tuple(others), tuple(unread))


def parse_paper(text: str) -> PaperRef | None:
    """The one paper `text` names (an id or a link, nothing else), or None."""
    found = find_papers(text.strip())
    if len(found.papers) != 1 or found.other_links:
        return None
    return found.papers[0]
