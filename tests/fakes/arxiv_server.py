"""A loopback fake of arXiv: announcement feeds, the export API subset `arxiv` uses, HTML pages.

Tests load papers with `add_paper` and announcements with `set_announcement`, point the real
clients at it through `env()` (ARXIV_FEED_URL, ARXIV_API_URL, ARXIV_HTML_URL), inject faults per
endpoint, and assert on `requests`. It is a stdlib ThreadingHTTPServer on 127.0.0.1 with a random
port in a background thread, so sync tests, async tests and other processes (the bot started by an
e2e test) all reach it the same way.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

FEED = "feed"
API = "api"
HTML = "html"

SAMPLE_FEED = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv-atom-feed-sample.xml"

_FEED_PREFIX = "/atom/"
_API_PATH = "/api/query"
_HTML_PREFIX = "/html/"
_ATOM = "http://www.w3.org/2005/Atom"
_ARXIV = "http://arxiv.org/schemas/atom"
_DC = "http://purl.org/dc/elements/1.1/"
_OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
_EASTERN = ZoneInfo("America/New_York")
_VERSIONED = re.compile(r"(?P<id>.+?)v(?P<version>\d+)")
_ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
_QUERY_FIELDS = ("ti", "au", "abs", "cat", "id", "all", "co", "jr")


@dataclass
class FakePaper:
    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[tuple[str, tuple[str, ...]], ...]  # (name, affiliations)
    categories: tuple[str, ...]  # primary first
    comment: str | None
    journal_ref: str | None
    doi: str | None
    published: datetime

    @property
    def primary(self) -> str:
        return self.categories[0]

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


@dataclass(frozen=True)
class Fault:
    """How to spoil one response: a status instead of the answer, a delay, or a damaged body."""

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0  # seconds before answering; math.inf waits until the fake stops
    malformed: bool = False  # a 200 whose XML stops halfway
    truncated: bool = False  # the connection closes before the promised Content-Length


@dataclass(frozen=True)
class RecordedRequest:
    endpoint: str | None  # FEED, API, HTML, or None for an unknown path
    path: str
    query: dict[str, list[str]]
    at: float  # time.monotonic() on arrival

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def ids(self) -> list[str]:
        """The API request's id_list."""
        return [item for item in (self.param("id_list") or "").split(",") if item]


@dataclass
class _Feed:
    announced: date | None = None
    entries: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None


class FakeArxiv:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._papers: dict[str, FakePaper] = {}
        self._feeds: dict[str, _Feed] = {}
        self._html: dict[str, str] = {}
        self._faults: dict[str, deque[tuple[Fault, int | None]]] = {
            FEED: deque(),
            API: deque(),
            HTML: deque(),
        }
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeArxiv:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-arxiv", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeArxiv:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake arXiv is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def feed_url(self) -> str:
        return self.base_url + _FEED_PREFIX

    @property
    def api_url(self) -> str:
        return self.base_url + _API_PATH

    @property
    def html_url(self) -> str:
        return self.base_url + _HTML_PREFIX

    def env(self) -> dict[str, str]:
        return {
            "ARXIV_FEED_URL": self.feed_url,
            "ARXIV_API_URL": self.api_url,
            "ARXIV_HTML_URL": self.html_url,
        }

    # Builder

    def add_paper(
        self,
        arxiv_id: str,
        title: str | None = None,
        *,
        authors: Sequence[str | tuple[str, Sequence[str]]] = ("Ada Lovelace",),
        categories: Sequence[str] = ("cs.IR",),
        primary: str | None = None,
        abstract: str | None = None,
        comment: str | None = None,
        journal_ref: str | None = None,
        doi: str | None = None,
        version: int = 1,
        published: datetime | None = None,
    ) -> FakePaper:
        """Add or replace a paper; `primary` defaults to the first category and is listed first."""
        primary = primary or categories[0]
        paper = FakePaper(
            arxiv_id=arxiv_id,
            version=version,
            title=title or f"Paper {arxiv_id}",
            abstract=abstract or f"We study the problem of paper {arxiv_id}.",
            authors=tuple((a, ()) if isinstance(a, str) else (a[0], tuple(a[1])) for a in authors),
            categories=tuple(dict.fromkeys([primary, *categories])),
            comment=comment,
            journal_ref=journal_ref,
            doi=doi,
            published=published or datetime(2025, 8, 18, 17, 59, 59, tzinfo=UTC),
        )
        with self._lock:
            self._papers[arxiv_id] = paper
        return paper

    def set_announcement(self, category: str, announced: date, entries: Iterable[tuple[str, str]]) -> None:
        """Serve `category`'s feed as arXiv's announcement of `announced`: (arxiv id, announce type)."""
        listed = [(arxiv_id, str(announce_type)) for arxiv_id, announce_type in entries]
        with self._lock:
            for arxiv_id, announce_type in listed:
                if arxiv_id not in self._papers:
                    raise KeyError(f"add_paper({arxiv_id!r}) before announcing it")
                if announce_type not in _ANNOUNCE_TYPES:
                    raise ValueError(f"unknown announce type {announce_type!r}")
            self._feeds[category] = _Feed(announced, listed)

    def set_empty_feed(self, category: str) -> None:
        """No announcement (weekend, holiday): a feed without entries. Unset categories are empty too."""
        with self._lock:
            self._feeds[category] = _Feed()

    def set_raw_feed(self, category: str, body: bytes) -> None:
        with self._lock:
            self._feeds[category] = _Feed(raw=body)

    def load_sample_feed(self, category: str = "cs.AI") -> None:
        """Serve the real feed sample (cs.AI, 2025-08-20: 2 new, 5 cross) for `category`, verbatim."""
        self.set_raw_feed(category, SAMPLE_FEED.read_bytes())

    def set_html(self, versioned_id: str, body: str) -> None:
        """Serve `body` at /html/<versioned_id> (e.g. "2508.13426v1"); other pages are 404."""
        with self._lock:
            self._html[versioned_id] = body

    # Faults

    def inject(self, endpoint: str, fault: Fault, *, times: int | None = 1) -> None:
        """Spoil the next `times` requests to `endpoint`; None spoils every request until cleared."""
        with self._lock:
            self._faults[endpoint].append((fault, times))

    def fail(
        self, endpoint: str, status: int = 503, *, times: int | None = 1, retry_after: str | None = None
    ) -> None:
        self.inject(endpoint, Fault(status=status, retry_after=retry_after), times=times)

    def slow(self, endpoint: str, seconds: float, *, times: int | None = 1) -> None:
        self.inject(endpoint, Fault(delay=seconds), times=times)

    def hang(self, endpoint: str, *, times: int | None = 1) -> None:
        self.inject(endpoint, Fault(delay=math.inf), times=times)

    def malformed(self, endpoint: str, *, times: int | None = 1) -> None:
        self.inject(endpoint, Fault(malformed=True), times=times)

    def truncate(self, endpoint: str, *, times: int | None = 1) -> None:
        self.inject(endpoint, Fault(truncated=True), times=times)

    def clear_faults(self, endpoint: str | None = None) -> None:
        with self._lock:
            for name, queue in self._faults.items():
                if endpoint in (None, name):
                    queue.clear()

    # Observations

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    # Serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        endpoint = _endpoint_of(parts.path)
        with self._lock:
            self._requests.append(
                RecordedRequest(endpoint, parts.path, parse_qs(parts.query), time.monotonic())
            )
            fault = self._take_fault(endpoint) if endpoint else Fault()
        if fault.delay:
            self._stopping.wait(None if math.isinf(fault.delay) else fault.delay)
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            _send(handler, fault.status, "text/plain", f"HTTP {fault.status}\n".encode(), headers)
            return
        status, content_type, body = self._respond(endpoint, parts.path, parts.query)
        if fault.malformed:
            body = body[: len(body) // 2]
        _send(handler, status, content_type, body, {}, truncate=fault.truncated)

    def _take_fault(self, endpoint: str) -> Fault:
        queue = self._faults[endpoint]
        if not queue:
            return Fault()
        fault, times = queue[0]
        if times is not None:
            if times <= 1:
                queue.popleft()
            else:
                queue[0] = (fault, times - 1)
        return fault

    def _respond(self, endpoint: str | None, path: str, query: str) -> tuple[int, str, bytes]:
        with self._lock:
            if endpoint == FEED:
                return 200, "application/atom+xml; charset=utf-8", self._feed(path.removeprefix(_FEED_PREFIX))
            if endpoint == API:
                return self._api(parse_qs(query, keep_blank_values=True))
            if endpoint == HTML:
                page = self._html_page(path.removeprefix(_HTML_PREFIX))
                if page is not None:
                    return 200, "text/html; charset=utf-8", page.encode()
        return 404, "text/plain", b"Not Found\n"

    def _feed(self, category: str) -> bytes:
        feed = self._feeds.get(category, _Feed())
        if feed.raw is not None:
            return feed.raw
        if feed.announced is None:
            return _feed_xml(category, datetime.now(UTC).replace(microsecond=0), [])
        midnight = datetime.combine(feed.announced, day_time(0), _EASTERN)
        entries = [(self._papers[arxiv_id], announce_type) for arxiv_id, announce_type in feed.entries]
        return _feed_xml(category, midnight, entries)

    def _api(self, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        def first(name: str, default: str) -> str:
            return (params.get(name) or [default])[0]

        try:
            start = int(first("start", "0"))
            max_results = int(first("max_results", "10"))
            matches = self._search(
                first("search_query", ""), [i for i in first("id_list", "").split(",") if i]
            )
        except ValueError as error:
            return 400, "text/plain", f"{error}\n".encode()
        if first("sortBy", "relevance") != "relevance" and not first("id_list", ""):
            matches.sort(
                key=lambda item: item[0].published, reverse=first("sortOrder", "descending") == "descending"
            )
        page = matches[start : start + max_results]
        return 200, "application/atom+xml; charset=utf-8", _api_xml(page, len(matches), start, max_results)

    def _search(self, query: str, id_list: list[str]) -> list[tuple[FakePaper, int]]:
        """(paper, version) matching the query; id_list order when ids are given, unknown ids skipped."""
        if id_list:
            candidates = []
            for item in id_list:
                match = _VERSIONED.fullmatch(item)
                arxiv_id, version = (match["id"], int(match["version"])) if match else (item, None)
                paper = self._papers.get(arxiv_id)
                if paper is not None and (version is None or version <= paper.version):
                    candidates.append((paper, version or paper.version))
        else:
            candidates = [(paper, paper.version) for paper in self._papers.values()]
        if not query.strip():
            if not id_list:
                raise ValueError("either search_query or id_list is required")
            return candidates
        terms = [_parse_term(term) for term in re.split(r"\s+AND\s+", query.strip())]
        return [(paper, version) for paper, version in candidates if all(_matches(paper, t) for t in terms)]

    def _html_page(self, name: str) -> str | None:
        if name in self._html:
            return self._html[name]
        paper = self._papers.get(name)
        return self._html.get(paper.versioned_id) if paper else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeArxiv

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that timed out and hung up is expected here, not a failure worth printing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    content_type: str,
    body: bytes,
    headers: dict[str, str],
    *,
    truncate: bool = False,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    if truncate:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2] if truncate else body)
    handler.wfile.flush()


def _endpoint_of(path: str) -> str | None:
    if path.startswith(_FEED_PREFIX):
        return FEED
    if path == _API_PATH:
        return API
    if path.startswith(_HTML_PREFIX):
        return HTML
    return None


def _parse_term(term: str) -> tuple[str, str]:
    name, separator, value = term.partition(":")
    if not separator or name not in _QUERY_FIELDS:
        raise ValueError(f"unsupported search term {term!r}")
    return name, value.strip().strip('"').casefold()


def _matches(paper: FakePaper, term: tuple[str, str]) -> bool:
    name, value = term
    if name == "cat":
        return value in (category.casefold() for category in paper.categories)
    if name == "id":
        return value == paper.arxiv_id.casefold()
    texts = {
        "ti": [paper.title],
        "au": [author for author, _ in paper.authors],
        "abs": [paper.abstract],
        "co": [paper.comment or ""],
        "jr": [paper.journal_ref or ""],
    }
    searched = [text for group in texts.values() for text in group] if name == "all" else texts[name]
    return any(value in text.casefold() for text in searched)


def _feed_xml(category: str, moment: datetime, entries: list[tuple[FakePaper, str]]) -> bytes:
    """An announcement feed in rss.arxiv.org's shape (see tests/fixtures/arxiv-atom-feed-sample.xml)."""
    feed = etree.Element(f"{{{_ATOM}}}feed", nsmap={"arxiv": _ARXIV, "dc": _DC, None: _ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "en-us")
    updated = (moment.astimezone(UTC) + timedelta(seconds=19)).isoformat()
    _add(feed, "id", f"http://rss.arxiv.org/atom/{category}")
    _add(feed, "title", f"{category} updates on arXiv.org")
    _add(feed, "updated", updated)
    _add(feed, "link", href=f"http://rss.arxiv.org/atom/{category}", rel="self", type="application/atom+xml")
    _add(feed, "subtitle", f"{category} updates on the arXiv.org e-print archive.")
    for paper, announce_type in entries:
        entry = _add(feed, "entry")
        _add(entry, "id", f"oai:arXiv.org:{paper.versioned_id}")
        _add(entry, "title", paper.title)
        _add(entry, "updated", updated)
        _add(entry, "link", href=f"https://arxiv.org/abs/{paper.arxiv_id}", rel="alternate", type="text/html")
        summary = f"arXiv:{paper.versioned_id} Announce Type: {announce_type} \nAbstract: {paper.abstract}"
        _add(entry, "summary", summary)
        for name in paper.categories:
            _add(entry, "category", term=name)
        _add(entry, "published", moment.isoformat())
        _add(entry, f"{{{_ARXIV}}}announce_type", announce_type)
        _add(entry, f"{{{_DC}}}rights", "http://creativecommons.org/licenses/by/4.0/")
        _add(entry, f"{{{_DC}}}creator", ", ".join(name for name, _ in paper.authors))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def _api_xml(page: list[tuple[FakePaper, int]], total: int, start: int, per_page: int) -> bytes:
    """An export API response in arXiv's shape, with the extension elements the `arxiv` package reads."""
    feed = etree.Element(f"{{{_ATOM}}}feed", nsmap={None: _ATOM, "opensearch": _OPENSEARCH, "arxiv": _ARXIV})
    _add(feed, "id", "https://arxiv.org/api/fake")
    _add(feed, "title", "arXiv Query results")
    _add(feed, "updated", datetime.now(UTC).replace(microsecond=0).isoformat())
    _add(feed, f"{{{_OPENSEARCH}}}totalResults", str(total))
    _add(feed, f"{{{_OPENSEARCH}}}startIndex", str(start))
    _add(feed, f"{{{_OPENSEARCH}}}itemsPerPage", str(per_page))
    for paper, version in page:
        versioned = f"{paper.arxiv_id}v{version}"
        entry = _add(feed, "entry")
        _add(entry, "id", f"http://arxiv.org/abs/{versioned}")
        _add(entry, "updated", (paper.published + timedelta(days=version - 1)).isoformat())
        _add(entry, "published", paper.published.isoformat())
        _add(entry, "title", paper.title)
        _add(entry, "summary", f"  {paper.abstract}\n")
        for name, affiliations in paper.authors:
            author = _add(entry, "author")
            _add(author, "name", name)
            for affiliation in affiliations:
                _add(author, f"{{{_ARXIV}}}affiliation", affiliation)
        if paper.doi:
            _add(entry, f"{{{_ARXIV}}}doi", paper.doi)
            _add(entry, "link", title="doi", href=f"https://doi.org/{paper.doi}", rel="related")
        _add(entry, "link", href=f"http://arxiv.org/abs/{versioned}", rel="alternate", type="text/html")
        _add(
            entry,
            "link",
            title="pdf",
            href=f"http://arxiv.org/pdf/{versioned}",
            rel="related",
            type="application/pdf",
        )
        if paper.comment:
            _add(entry, f"{{{_ARXIV}}}comment", paper.comment)
        if paper.journal_ref:
            _add(entry, f"{{{_ARXIV}}}journal_ref", paper.journal_ref)
        _add(
            entry, f"{{{_ARXIV}}}primary_category", term=paper.primary, scheme="http://arxiv.org/schemas/atom"
        )
        for name in paper.categories:
            _add(entry, "category", term=name, scheme="http://arxiv.org/schemas/atom")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag if tag.startswith("{") else f"{{{_ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element
