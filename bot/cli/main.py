"""Command line: `python -m bot run|fetch|digest|push|doctor|backup` (also `paper-digest-bot`)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import date

from bot.config import ConfigError, Settings, load_settings
from bot.core.categories import CategoryError, parse_category
from bot.log import configure_logging


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application
    from bot.jobs import cancel_running_work
    from bot.services import FATAL_KEY

    application = build_application(settings)

    def stop() -> None:
        """SIGINT/SIGTERM: cut long jobs short (they are safe to interrupt), then stop as PTB does."""
        cancel_running_work(application)
        application.stop_running()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop)
    application.run_polling(allowed_updates=None, stop_signals=None)
    fatal = application.bot_data.get(FATAL_KEY)
    if fatal:
        print(f"error: {fatal}", file=sys.stderr)
        return 1
    return 0


def _categories(settings: Settings, given: list[str]) -> list[str]:
    try:
        return list(dict.fromkeys(parse_category(text, settings.categories).name for text in given))
    except CategoryError as error:
        raise UsageError(str(error)) from None


def fetch(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import console
    from bot.jobs import run_ingest
    from bot.services import Services

    categories = _categories(settings, args.categories) or list(settings.categories)

    async def fetch_now() -> int:
        async with Services.open(settings) as services:
            with console.ingest_progress() as (on_progress, on_enrich):
                report = await run_ingest(services, categories, on_progress, on_enrich)
        console.console.print(console.ingest_table(report))
        for problem in report.errors:
            console.errors.print(f"[red]error:[/red] {problem}", highlight=False)
        if report.errors:
            console.errors.print("arXiv could not be read completely; what was read is stored.")
            return 1
        return 0

    return asyncio.run(fetch_now())


def digest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import console
    from bot.core.digest import build_digest
    from bot.core.render import Format, render_digest
    from bot.services import Services

    (category,) = _categories(settings, [args.category])

    async def show() -> int:
        async with Services.open(settings) as services:
            announced = args.date or await services.papers.latest_announcement(category)
            rows = await services.papers.listings([category], announced) if announced else []
        if not announced:
            console.errors.print(f"No announcement of {category} is stored yet: run `python -m bot fetch`.")
            return 1
        if not rows:
            console.errors.print(f"No announcement of {category} is stored for {announced}.")
            return 1
        messages = render_digest(build_digest(rows, [category], announced), fmt=Format.TEXT)
        console.console.print("\n\n".join(messages), markup=False, highlight=False, soft_wrap=True)
        return 0

    return asyncio.run(show())


def doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.doctor import doctor_command

    return doctor_command(settings)


def backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.backup import backup_command

    return backup_command(settings, args.path, force=args.force)


def push(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import console
    from bot.push.planning import broadcaster_for, run_push
    from bot.push.transport import push_bot
    from bot.services import Services

    token = settings.require_token()

    async def push_now() -> int:
        # SIGTERM (systemd stop, kill) ends the push cleanly: sent parts recorded, the rest released.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        async with (
            Services.open(settings) as services,
            push_bot(token, settings.telegram_api_base_url) as bot,
        ):
            broadcaster = broadcaster_for(services, bot)
            with console.push_progress() as progress:
                outcome = await run_push(
                    services,
                    broadcaster,
                    wait_for_affiliations=False,
                    dry_run=args.dry_run,
                    progress=progress,
                )
        console.console.print(console.push_table(outcome))
        return 0

    try:
        return asyncio.run(push_now())
    except (asyncio.CancelledError, KeyboardInterrupt) as stop:
        print("push stopped: what was sent is recorded; the rest goes with the next push.", file=sys.stderr)
        # SIGTERM is how a service manager asks for a stop: a clean one is a success. Ctrl-C is not.
        return 130 if isinstance(stop, KeyboardInterrupt) else 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="paper-digest-bot",
        description="Telegram bot that posts daily digests of new arXiv papers.",
        epilog="Settings come from the environment and .env; see .env.example.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser("run", help="run the bot (long polling) until SIGINT/SIGTERM")
    command.set_defaults(handler=run)
    command = commands.add_parser("fetch", help="ingest the latest arXiv announcement now")
    command.add_argument(
        "categories", nargs="*", metavar="CATEGORY", help="e.g. IR cs.LG (default: all offered)"
    )
    command.set_defaults(handler=fetch)
    command = commands.add_parser("digest", help="print a stored announcement of one category")
    command.add_argument("category", metavar="CATEGORY", help="e.g. IR or cs.IR")
    command.add_argument("--date", type=_date, help="announcement date, YYYY-MM-DD (default: the latest)")
    command.set_defaults(handler=digest)
    command = commands.add_parser("push", help="send every due digest of the latest announcement now")
    command.add_argument("--dry-run", action="store_true", help="render and count, send nothing")
    command.set_defaults(handler=push)
    command = commands.add_parser("doctor", help="check settings, database, Telegram and arXiv")
    command.set_defaults(handler=doctor)
    command = commands.add_parser("backup", help="copy the database consistently, also while the bot runs")
    command.add_argument("path", metavar="PATH", help="file to write the copy to (folders are created)")
    command.add_argument("--force", action="store_true", help="replace PATH if it exists")
    command.set_defaults(handler=backup)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, [settings.telegram_bot_token])
        return args.handler(settings, args)
    except (ConfigError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
