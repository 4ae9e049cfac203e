"""Affiliations for newly ingested papers, read from arXiv's HTML full text.

Runs right after an ingest, politely: at most two pages in flight and the shared pacer between
requests. Each paper is looked at once: a page found (with or without affiliations) and a 404 are
both final and cached in the database; a page that fails is retried on later passes, up to
`GIVE_UP_AFTER` times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.arxiv.affiliations import merge_affiliations, parse_author_affiliations
from bot.arxiv.html import HtmlClient
from bot.arxiv.http import ArxivError
from storage.papers import PaperRepository

logger = logging.getLogger(__name__)

IN_FLIGHT = 2
GIVE_UP_AFTER = 3
PASS_LIMIT = 1500  # pages per pass: 75 minutes at arXiv's pace of one request every 3 s


@dataclass(slots=True)
class EnrichReport:
    looked_at: int = 0
    with_affiliations: int = 0
    without_html: int = 0
    failed: int = 0


OnEnrichProgress = Callable[[int, int], None]


async def enrich_affiliations(
    html: HtmlClient,
    papers: PaperRepository,
    *,
    limit: int = PASS_LIMIT,
    on_progress: OnEnrichProgress | None = None,
) -> EnrichReport:
    """Fill in affiliations for complete papers not looked at yet, newest first."""
    ids = await papers.ids_missing_affiliations(limit)
    report = EnrichReport()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def enrich_one(arxiv_id: str) -> None:
        async with slots:
            await _enrich(arxiv_id, html, papers, report)
        report.looked_at += 1
        if on_progress:
            on_progress(report.looked_at, len(ids))

    if on_progress:
        on_progress(0, len(ids))
    await asyncio.gather(*(enrich_one(arxiv_id) for arxiv_id in ids))
    if ids:
        logger.info(
            "affiliations: %d papers looked at, %d with affiliations, %d without HTML, %d failed",
            report.looked_at,
            report.with_affiliations,
            report.without_html,
            report.failed,
        )
    return report


async def _enrich(arxiv_id: str, html: HtmlClient, papers: PaperRepository, report: EnrichReport) -> None:
    paper = await papers.paper(arxiv_id)
    if paper is None:
        return
    try:
        page = await html.fetch(paper.versioned_id)
    except ArxivError as error:
        logger.warning("affiliations of %s: %s", paper.versioned_id, error)
        report.failed += 1
        await papers.record_affiliation_failure(arxiv_id, GIVE_UP_AFTER)
        return
    if page is None:
        report.without_html += 1
        await papers.set_author_affiliations(arxiv_id, paper.authors)
        return
    authors = merge_affiliations(paper.authors, parse_author_affiliations(page))
    if any(author.affiliations for author in authors):
        report.with_affiliations += 1
    await papers.set_author_affiliations(arxiv_id, authors)
