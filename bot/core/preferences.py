"""Parsing what users type for /time, /timezone and /size; pure, so bad input is easy to test."""

from __future__ import annotations

import difflib
import re
from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.i18n import N_, Choices, Problem
from bot.core.names import fold

DEFAULT_DIGEST_SIZE = 10
MAX_DIGEST_SIZE = 50

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


class PreferenceError(Problem):
    """A delivery time, time zone or digest size that cannot be read."""


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
    raise PreferenceError(
        N_("“{shown}” is not a time of day. Try /time 08:30, or /time now."), shown=cleaned[:40]
    )


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


# What people type for a zone that is not an IANA name: cities in Chinese, countries, the usual
# abbreviations (CST is China's here, as for this bot's readers). IANA names and their last part
# ("Shanghai", "New York") are understood without a line here.
ZONE_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        (
            "北京",
            "上海",
            "深圳",
            "广州",
            "杭州",
            "南京",
            "成都",
            "武汉",
            "西安",
            "天津",
            "苏州",
            "合肥",
            "重庆",
        ),
        "Asia/Shanghai",
    ),
    **dict.fromkeys(
        ("beijing", "peking", "china", "中国", "prc", "cst", "china standard time"), "Asia/Shanghai"
    ),
    **dict.fromkeys(
        ("shenzhen", "guangzhou", "hangzhou", "nanjing", "wuhan", "xian", "tianjin"), "Asia/Shanghai"
    ),
    **dict.fromkeys(("香港", "hong kong", "hkt"), "Asia/Hong_Kong"),
    **dict.fromkeys(("台北", "taiwan", "台湾"), "Asia/Taipei"),
    **dict.fromkeys(("东京", "japan", "日本", "jst", "kyoto", "osaka"), "Asia/Tokyo"),
    **dict.fromkeys(("首尔", "korea", "south korea", "韩国", "kst"), "Asia/Seoul"),
    **dict.fromkeys(("新加坡", "sgt"), "Asia/Singapore"),
    **dict.fromkeys(
        ("india", "ist", "mumbai", "delhi", "new delhi", "bangalore", "bengaluru"), "Asia/Kolkata"
    ),
    **dict.fromkeys(("伦敦", "uk", "united kingdom", "britain", "bst"), "Europe/London"),
    **dict.fromkeys(("巴黎", "france"), "Europe/Paris"),
    **dict.fromkeys(("柏林", "germany", "munich", "frankfurt", "cet", "cest"), "Europe/Berlin"),
    **dict.fromkeys(
        ("纽约", "new york city", "nyc", "boston", "washington", "est", "edt", "et", "eastern"),
        "America/New_York",
    ),
    **dict.fromkeys(("芝加哥", "cdt", "central", "austin", "houston", "dallas"), "America/Chicago"),
    **dict.fromkeys(("mst", "mdt", "mountain"), "America/Denver"),
    **dict.fromkeys(
        (
            "洛杉矶",
            "旧金山",
            "san francisco",
            "seattle",
            "silicon valley",
            "bay area",
            "pst",
            "pdt",
            "pt",
            "pacific",
        ),
        "America/Los_Angeles",
    ),
    **dict.fromkeys(("aest", "aedt"), "Australia/Sydney"),
}
# An offset names the zone people there mean: UTC+8 is China; other whole hours a fixed zone.
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")
_OFFSET_ZONES = {
    (8, 0): "Asia/Shanghai",
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (9, 30): "Australia/Adelaide",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (6, 30): "Asia/Yangon",
    (-3, 30): "America/St_Johns",
}


@cache
def _zones_by_city() -> dict[str, str]:
    """ "shanghai" -> Asia/Shanghai, "new york" -> America/New_York: the last part of each IANA name."""
    cities: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            cities.setdefault(_folded(name.rsplit("/", 1)[1]), name)
    return cities


def _folded(text: str) -> str:
    return " ".join(fold(text).replace("_", " ").replace("-", " ").split())


def _from_offset(text: str) -> str | None:
    match = _OFFSET.match(text.casefold().replace(" ", ""))
    if match is None:
        return None
    sign = 1 if match.group(1) == "+" else -1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    if (sign * hours, minutes) in _OFFSET_ZONES:
        return _OFFSET_ZONES[(sign * hours, minutes)]
    if minutes:
        return None
    # IANA's Etc zones count the other way: Etc/GMT-3 is three hours ahead of UTC.
    return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"


def parse_timezone(text: str) -> str:
    """An IANA zone name from what the user typed: an IANA name in any case, a city ("Shanghai",
    "北京"), a country, a common abbreviation (CST, PST) or an offset (UTC+8, GMT-5)."""
    cleaned = text.strip()[:60]
    zones = _zones_by_folded_name()
    folded = cleaned.casefold().replace(" ", "_")
    candidates = [
        ZONE_ALIASES.get(_folded(cleaned)) or ZONE_ALIASES.get(cleaned),
        zones.get(folded),
        _zones_by_city().get(_folded(cleaned)),
        _from_offset(cleaned),
    ]
    for name in candidates:
        if name is not None and _exists(name):
            return name
    close = difflib.get_close_matches(folded, list(zones), n=3, cutoff=0.6)
    if not close:
        raise PreferenceError(
            N_("Unknown time zone “{shown}”. Use a name like Europe/Berlin or a city."), shown=cleaned
        )
    raise PreferenceError(
        N_("Unknown time zone “{shown}”. Did you mean {choices}? Use a name like Europe/Berlin or a city."),
        shown=cleaned,
        choices=Choices(zones[key] for key in close),
    )


def _exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def chat_zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A chat's stored time zone, or `default` when it chose none (or one this system lacks)."""
    try:
        return ZoneInfo(name) if name else default
    except (ZoneInfoNotFoundError, ValueError):
        return default


def parse_digest_size(text: str) -> int:
    """Entries in a pushed digest: 1 to MAX_DIGEST_SIZE, or `all` (0)."""
    cleaned = text.strip().casefold()
    if cleaned == "all":
        return 0
    if cleaned.isdecimal() and len(cleaned) <= 3 and 1 <= int(cleaned) <= MAX_DIGEST_SIZE:
        return int(cleaned)
    raise PreferenceError(N_("The size is a number from 1 to {most}, or “all”."), most=MAX_DIGEST_SIZE)


def digest_limit(stored: int | None) -> int | None:
    """How many entries a chat's digest shows: the default when it chose nothing, None for `all` (0)."""
    size = DEFAULT_DIGEST_SIZE if stored is None else stored
    return size or None
