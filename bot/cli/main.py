"""Command line: `python -m bot COMMAND` (console, run, fetch, digest, push, prune, doctor, backup,
migrate-to-postgres)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import date
from pathlib import Path

from bot.cli.failures import explain
from bot.config import ConfigError, Settings, load_settings
from bot.core.categories import CategoryError, parse_category
from bot.log import configure_logging, redact, settings_secrets

logger = logging.getLogger("bot")


def say(line: str) -> None:
    """One line on stderr in a single write: a library thread logging at that moment cannot split it."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


DRY_RUN_TOKEN = "1:dry-run-sends-nothing"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application, wait_for_telegram
    from bot.context import cancel_running_work
    from bot.gateway.webhook import run_webhook
    from bot.services import FATAL_KEY

    application = build_application(settings)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    waiting = loop.create_task(wait_for_telegram(settings))

    def stop(name: str) -> None:
        """SIGINT/SIGTERM: cut long jobs short (they are safe to interrupt), then stop as PTB does.

        PTB reads a `stop_running` that comes before it runs only once, after `post_init`: one that
        comes while its updater starts (a slow deleteWebhook, a webhook being set) would be lost.
        There it stops the way its own signal handler does, by SystemExit.
        """
        logger.info("%s: stopping", name)
        if not waiting.done():
            waiting.cancel()
            return
        cancel_running_work(application)
        updater = application.updater
        if updater is not None and updater.running and not application.running:
            raise SystemExit
        application.stop_running()

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop, stop_signal.name)
    try:
        loop.run_until_complete(waiting)
    except asyncio.CancelledError:
        logger.info("Stopped before Telegram could be reached")
        loop.close()
        return 0
    # The one place the run mode matters: how updates arrive. Everything else runs alike.
    if settings.run_mode == "webhook":
        run_webhook(application, settings)
    else:
        application.run_polling(allowed_updates=None, stop_signals=None)
    fatal = application.bot_data.get(FATAL_KEY)
    if fatal:
        say(f"error: {fatal}")
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


def migrate_to_postgres(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.migrate import migrate_command

    return migrate_command(settings)


def push(settings: Settings, args: argparse.Namespace) -> int:
    from telegram import Bot

    from bot.cli import console
    from bot.push.planning import broadcaster_for, run_push
    from bot.push.transport import push_bot
    from bot.services import Services
    from storage.deliveries import Plan

    if args.dry_run:
        from bot.cli.chat_console import ConsoleRequest

        # A dry run sends nothing, so it needs no token and talks to no Telegram: its Bot is
        # answered in-process, and only asked who it is.
        bot = Bot(DRY_RUN_TOKEN, request=ConsoleRequest(), get_updates_request=ConsoleRequest())
    else:
        bot = push_bot(settings.require_token(), settings.telegram_api_base_url)
    shown: dict[tuple[str, ...], list[Plan]] = {}

    def show(plan: Plan) -> None:
        shown.setdefault(tuple(part.text for part in plan.parts), []).append(plan)

    async def push_now() -> int:
        # SIGTERM (systemd stop, kill) ends the push cleanly: sent parts recorded, the rest released.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        async with Services.open(settings) as services, bot:
            broadcaster = broadcaster_for(services, bot)
            with console.push_progress() as progress:
                outcome = await run_push(
                    services,
                    broadcaster,
                    wait_for_affiliations=False,
                    dry_run=args.dry_run,
                    progress=progress,
                    on_plan=show if args.show else None,
                )
        for plans in shown.values():
            chats = "1 chat" if len(plans) == 1 else f"{len(plans)} chats"
            for number, part in enumerate(plans[0].parts, start=1):
                rows = (part.markup or {}).get("inline_keyboard") or []
                labels = [[button["text"] for button in row] for row in rows]
                messages = "1 message" if len(plans[0].parts) == 1 else f"{len(plans[0].parts)} messages"
                heading = f"── to {chats} ({messages}), message {number}"
                console.print_message(part.text, labels, heading=heading)
        console.console.print(console.push_table(outcome))
        return 0

    try:
        return asyncio.run(push_now())
    except (asyncio.CancelledError, KeyboardInterrupt) as stop:
        say("push stopped: what was sent is recorded; the rest goes with the next push.")
        # SIGTERM is how a service manager asks for a stop: a clean one is a success. Ctrl-C is not.
        return 130 if isinstance(stop, KeyboardInterrupt) else 0


def prune(settings: Settings, args: argparse.Namespace) -> int:
    """What the running bot does once a day, for deployments that push from cron instead."""
    from bot.jobs import prune_ledger
    from bot.services import Services
    from storage.db import database_size

    async def prune_now() -> int:
        async with Services.open(settings) as services:
            pruned = await prune_ledger(services)
            size = await database_size(services.db)
        say(
            f"pruned {pruned.parts} sent message(s) older than {settings.ledger_retention_days} days and "
            f"{pruned.contents} text(s) nothing refers to; database {size.total / 1e6:.1f} MB, "
            f"{size.free / 1e6:.1f} MB of it free for new rows"
        )
        return 0

    return asyncio.run(prune_now())


def console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.chat_console import console_command

    return console_command(settings, offline=args.offline, database=args.database)


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
    command = commands.add_parser("console", help="chat with the bot in this terminal, no Telegram needed")
    command.add_argument(
        "--offline", action="store_true", help="use a real announcement shipped with the project, no network"
    )
    command.add_argument(
        "--database",
        type=Path,
        metavar="PATH",
        help="keep the console's chats here (default: a throwaway one)",
    )
    command.set_defaults(handler=console)
    command = commands.add_parser(
        "run", help="run the bot (long polling, or a webhook with RUN_MODE) until SIGINT/SIGTERM"
    )
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
    command.add_argument(
        "--dry-run", action="store_true", help="render and count, send nothing (no token needed)"
    )
    command.add_argument("--show", action="store_true", help="print the messages the push would send")
    command.set_defaults(handler=push)
    command = commands.add_parser(
        "prune", help="forget sent messages older than LEDGER_RETENTION_DAYS (the bot does it daily)"
    )
    command.set_defaults(handler=prune)
    command = commands.add_parser("doctor", help="check settings, database, Telegram and arXiv")
    command.set_defaults(handler=doctor)
    command = commands.add_parser("backup", help="copy the database consistently, also while the bot runs")
    command.add_argument("path", metavar="PATH", help="file to write the copy to (folders are created)")
    command.add_argument("--force", action="store_true", help="replace PATH if it exists")
    command.set_defaults(handler=backup)
    command = commands.add_parser(
        "migrate-to-postgres",
        help="copy the SQLite database (DATABASE_PATH) into an empty PostgreSQL one (DATABASE_URL), verified",
    )
    command.set_defaults(handler=migrate_to_postgres)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one command; whatever ends it, the secrets stay out of what it prints."""
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        say(f"error: {error}")
        return 2
    secrets = settings_secrets(settings)
    configure_logging(settings.log_level, secrets)
    try:
        return args.handler(settings, args)
    except (ConfigError, UsageError) as error:
        say(f"error: {redact(str(error), secrets)}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        database: Path | str = settings.database_path
        if settings.database_url:
            from storage.postgres import place

            database = place(settings.database_url)
        failure = explain(error, settings.telegram_api_base_url, database)
        if failure is None:
            logger.critical("%s failed unexpectedly", args.command, exc_info=error)  # redacted by the log
            return 1
        say(f"error: {redact(failure.line, secrets)}")
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
