"""Affiliations for newly ingested papers, read from arXiv's HTML full text.

Runs after an ingest, politely: one page at a time, each waiting its turn at arxiv.org's pacer (the
crawl delay of its robots.txt). Papers go in the order the caller gives (the papers a push is about to
feature first, see `bot.reading.enrichment_order`), then the rest newest first. Each paper is looked at
once: a page found (with or without affiliations) and a 404 are both final and cached in the database;
a page that fails is retried on later passes, up to `GIVE_UP_AFTER` times. A refusal from arXiv (403,
429) ends the pass at once and counts against no paper. A page the parser cannot read within
`PARSE_TIMEOUT` is skipped with a log line; nothing on a page stops the pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from bot.arxiv.affiliations import merge_affiliations, parse_author_affiliations
from bot.arxiv.html import HtmlClient
from bot.arxiv.http import ArxivError, ArxivRefusedError
from storage.models import Author
from storage.papers import PaperRepository

logger = logging.getLogger(__name__)

GIVE_UP_AFTER = 3
PASS_LIMIT = 1500  # pages per pass: a day's announcement; at 15 s a page, about six hours
PARSE_TIMEOUT = 10.0  # seconds: a safety net, as the parser reads at most MAX_FRONT_MATTER of a page


@dataclass(slots=True)
class EnrichReport:
    with_affiliations: int = 0
    without_html: int = 0
    failed: int = 0
    unreadable: int = 0  # pages the parser could not read in time, or at all
    refused: bool = False  # arXiv refused us: the pass ended early
    tried: list[str] = field(default_factory=list)  # the papers looked at, in order

    @property
    def looked_at(self) -> int:
        return len(self.tried)


OnEnrichProgress = Callable[[int, int], None]


async def enrich_affiliations(
    html: HtmlClient,
    papers: PaperRepository,
    *,
    first: Sequence[str] = (),
    skip: Collection[str] = frozenset(),
    limit: int = PASS_LIMIT,
    on_progress: OnEnrichProgress | None = None,
) -> EnrichReport:
    """Fill in affiliations for complete papers not looked at yet: those of `first` in its order, then
    the others newest first, `limit` pages at most; papers in `skip` wait for another pass."""
    waiting = await papers.awaiting_affiliations(first, complete=True)
    queued = await papers.ids_missing_affiliations(limit + len(skip))
    ids = [arxiv_id for arxiv_id in dict.fromkeys([*waiting, *queued]) if arxiv_id not in skip][:limit]
    report = EnrichReport()
    if on_progress:
        on_progress(0, len(ids))
    for arxiv_id in ids:
        try:
            await _enrich(arxiv_id, html, papers, report)
        except ArxivRefusedError as error:
            report.refused = True
            logger.warning("affiliations: pass ended after %d papers: %s", report.looked_at, error)
            break
        report.tried.append(arxiv_id)
        if on_progress:
            on_progress(report.looked_at, len(ids))
    if ids:
        logger.info(
            "affiliations: %d papers looked at, %d with affiliations, %d without HTML, %d failed,"
            " %d unreadable",
            report.looked_at,
            report.with_affiliations,
            report.without_html,
            report.failed,
            report.unreadable,
        )
    return report


async def _enrich(arxiv_id: str, html: HtmlClient, papers: PaperRepository, report: EnrichReport) -> None:
    paper = await papers.paper(arxiv_id)
    if paper is None:
        return
    try:
        page = await html.fetch(paper.versioned_id)
    except ArxivRefusedError:
        raise
    except ArxivError as error:
        logger.warning("affiliations of %s: %s", paper.versioned_id, error)
        report.failed += 1
        await papers.record_affiliation_failure(arxiv_id, GIVE_UP_AFTER)
        return
    if page is None:
        report.without_html += 1
        await papers.set_author_affiliations(arxiv_id, paper.authors)
        return
    authors = await _read_page(paper.versioned_id, page, paper.authors)
    if authors is None:
        report.unreadable += 1
        await papers.set_author_affiliations(arxiv_id, paper.authors)
        return
    if any(author.affiliations for author in authors):
        report.with_affiliations += 1
    await papers.set_author_affiliations(arxiv_id, authors)


async def _read_page(versioned_id: str, page: bytes, authors: Sequence[Author]) -> tuple[Author, ...] | None:
    """The page's affiliations merged onto the paper's authors; None, with a log line, when the parser
    fails or takes longer than PARSE_TIMEOUT (in a worker thread, so the bot keeps answering)."""
    try:
        found = await asyncio.wait_for(asyncio.to_thread(parse_author_affiliations, page), PARSE_TIMEOUT)
    except TimeoutError:
        logger.warning("affiliations of %s: page not read within %g s, skipped", versioned_id, PARSE_TIMEOUT)
        return None
    except Exception as error:  # a parser bug on one hostile page must not end the pass
        logger.warning(
            "affiliations of %s: page not readable (%s), skipped", versioned_id, type(error).__name__
        )
        return None
    return merge_affiliations(authors, found)
