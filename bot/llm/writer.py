"""One writing pass: generated text for the papers a digest will show, each asked for once.

Papers are asked for in the order given (most shown first), two at a time, while the day's budget
lasts. Every answer is checked (`bot.core.generated.accept`) and recorded, accepted or not, so a
paper is never asked for twice in a language; an unreachable endpoint stops the pass early.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.generated import accept, request_messages
from bot.core.i18n import Language
from bot.llm.client import LlmClient, LlmError
from storage.generated import GeneratedTextRepository
from storage.models import Paper

logger = logging.getLogger(__name__)

IN_FLIGHT = 2


@dataclass(slots=True)
class WriteReport:
    asked: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    over_budget: int = 0  # papers left unasked because the day's budget was spent


async def write_for(
    papers: Sequence[Paper],
    language: Language,
    client: LlmClient,
    texts: GeneratedTextRepository,
    *,
    budget: int,
    clock: Clock,
) -> WriteReport:
    report = WriteReport()
    wanted = {paper.arxiv_id: paper for paper in papers}
    queue = [wanted[arxiv_id] for arxiv_id in await texts.not_asked(wanted, language.value)]
    stop = asyncio.Event()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def write(paper: Paper) -> None:
        async with slots:
            if stop.is_set():
                return
            if not await texts.take_request(clock().date(), budget):
                report.over_budget += 1
                return
            report.asked += 1
            try:
                answer = await client.complete(request_messages(paper, language))
            except LlmError as error:
                report.failed += 1
                stop.set()
                logger.warning("language model unavailable, pass stopped: %s", error)
                return
            result = accept(answer, language)
            if isinstance(result, str):
                report.rejected += 1
                logger.info("generated text for %s (%s) discarded: %s", paper.arxiv_id, language, result)
                await texts.record(
                    paper.arxiv_id, language, client.model, clock(), status="rejected", problem=result
                )
                return
            report.accepted += 1
            await texts.record(paper.arxiv_id, language, client.model, clock(), generated=result)

    await asyncio.gather(*(write(paper) for paper in queue))
    if report.over_budget:
        logger.warning(
            "language model: LLM_DAILY_BUDGET of %d requests spent; %d papers go out without generated lines",
            budget,
            report.over_budget,
        )
    if queue:
        logger.info(
            "language model (%s): %d asked, %d accepted, %d discarded, %d failed",
            language,
            report.asked,
            report.accepted,
            report.rejected,
            report.failed,
        )
    return report
