"""Parsing what users type for /time, /timezone and /size; pure, so bad input is easy to test."""

from __future__ import annotations

import difflib
import re
from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_DIGEST_SIZE = 10
MAX_DIGEST_SIZE = 50

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


class PreferenceError(ValueError):
    """A message fit to show the user."""


def parse_delivery_time(text: str) -> time | None:
    """`08:30`, `8:30`, `8.30`, `20h15`, `7am`, `7:30 pm`; `now` means "at once" (None)."""
    cleaned = text.strip()
    if cleaned.casefold() in ("now", "asap", "default", "off"):
        return None
    match = _TIME.match(cleaned)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = (match.group(3) or "").casefold()
        valid_hour = 1 <= hour <= 12 if meridiem else hour < 24
        if meridiem and valid_hour:
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        if valid_hour and minute < 60:
            return time(hour, minute)
    raise PreferenceError(f"“{cleaned[:40]}” is not a time of day. Try /time 08:30, or /time now.")


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def parse_timezone(text: str) -> str:
    """An IANA zone name, matched case-insensitively; close names are suggested."""
    cleaned = text.strip()[:60]
    zones = _zones_by_folded_name()
    folded = cleaned.casefold().replace(" ", "_")
    if folded in zones:
        name = zones[folded]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name
    close = difflib.get_close_matches(folded, list(zones), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(zones[key] for key in close)}?" if close else ""
    raise PreferenceError(f"Unknown time zone “{cleaned}”.{hint} Use a name like Europe/Berlin.")


def parse_digest_size(text: str) -> int:
    """Entries in a pushed digest: 1 to MAX_DIGEST_SIZE, or `all` (0)."""
    cleaned = text.strip().casefold()
    if cleaned == "all":
        return 0
    if cleaned.isdecimal() and len(cleaned) <= 3 and 1 <= int(cleaned) <= MAX_DIGEST_SIZE:
        return int(cleaned)
    raise PreferenceError(f"The size is a number from 1 to {MAX_DIGEST_SIZE}, or “all”.")


def digest_limit(stored: int | None) -> int | None:
    """How many entries a chat's digest shows: the default when it chose nothing, None for `all` (0)."""
    size = DEFAULT_DIGEST_SIZE if stored is None else stored
    return size or None
