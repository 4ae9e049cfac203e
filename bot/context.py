"""The context handlers and jobs receive, kept apart from `bot.services` so a push, which has no
application, never loads PTB's application layer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import FATAL_KEY, SERVICES_KEY

if TYPE_CHECKING:
    from bot.services import Services

RUNNING_KEY = "running-work"  # bot_data: the jobs a stopping bot cuts short (`bot.jobs.cancelled_on_stop`)
STOPPING_KEY = "stopping"  # bot_data: set once the bot stops, for jobs that start after that


def stop_for_good(application: Application, reason: str) -> None:
    """A failure no retry mends (the token was revoked): stop, and let `run` exit non-zero with `reason`."""
    if FATAL_KEY not in application.bot_data:
        application.bot_data[FATAL_KEY] = reason
        cancel_running_work(application)  # as on SIGTERM: long jobs cut short, no new ones started
        application.stop_running()


def cancel_running_work(application: Application) -> None:
    """The bot is stopping: start no more jobs, and cut the running ones short.

    PTB waits for the jobs running when its job queue stops, then its scheduler cancels any job that
    started in the meantime: that job would log a traceback and run on, shielded, against closed
    connections.
    """
    application.bot_data[STOPPING_KEY] = True
    scheduler = application.job_queue.scheduler if application.job_queue else None
    if scheduler is not None and scheduler.running:
        scheduler.pause()
    current = asyncio.current_task()
    for task in list(application.bot_data.get(RUNNING_KEY, ())):
        if task is not current:  # a job that stops the bot itself (a rejected token) ends on its own
            task.cancel()


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The context handlers and jobs receive: PTB's own, plus this process's services."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES_KEY]

    def stop_for_good(self, reason: str) -> None:
        stop_for_good(self.application, reason)
