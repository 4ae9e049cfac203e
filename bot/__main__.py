"""Command line: `python -m bot run|...` (also installed as `paper-digest-bot`)."""

from __future__ import annotations

import argparse
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.log import configure_logging


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application

    application = build_application(settings)
    application.run_polling(allowed_updates=None)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="paper-digest-bot",
        description="Telegram bot that posts daily digests of new arXiv papers.",
        epilog="Settings come from the environment and .env; see .env.example.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_command = commands.add_parser("run", help="run the bot (long polling) until SIGINT/SIGTERM")
    run_command.set_defaults(handler=run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, [settings.telegram_bot_token])
        return args.handler(settings, args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
