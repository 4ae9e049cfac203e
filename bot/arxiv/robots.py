"""arxiv.org's robots.txt: the crawl delay it asks of us and the paths it keeps crawlers out of.

Read once a day and cached by `bot.arxiv.html.HtmlClient`. A missing or unreadable file gives no rules
and no crawl delay, which the client answers with `DEFAULT_CRAWL_DELAY`. Pure parsing, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CRAWL_DELAY = 15.0  # what arxiv.org's robots.txt has asked of every crawler for years


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The group of a robots.txt that applies to one crawler."""

    crawl_delay: float | None = None
    rules: tuple[tuple[bool, str], ...] = ()  # (allowed, path pattern), as written

    def allows(self, path: str) -> bool:
        """The longest matching pattern decides; Allow wins a tie; no match allows."""
        best: tuple[int, bool] | None = None
        for allowed, pattern in self.rules:
            if pattern and _pattern(pattern).match(path):
                candidate = (len(pattern), allowed)
                if best is None or candidate > best:
                    best = candidate
        return True if best is None else best[1]


def parse_robots(text: str, product: str) -> RobotsRules:
    """The rules for `product` (its own group, else the `*` group) in a robots.txt."""
    groups: list[tuple[list[str], list[tuple[str, str]]]] = []
    agents: list[str] = []
    lines: list[tuple[str, str]] = []
    for raw in text.splitlines():
        field, separator, value = raw.split("#", 1)[0].partition(":")
        if not separator:
            continue
        field, value = field.strip().lower(), value.strip()
        if field == "user-agent":
            if lines:
                groups.append((agents, lines))
                agents, lines = [], []
            agents.append(value.lower())
        elif agents:
            lines.append((field, value))
    if agents:
        groups.append((agents, lines))
    own = [group for group in groups if any(agent != "*" and agent in product.lower() for agent in group[0])]
    chosen = own or [group for group in groups if "*" in group[0]]
    crawl_delay: float | None = None
    rules: list[tuple[bool, str]] = []
    for _, group_lines in chosen:
        for field, value in group_lines:
            if field == "crawl-delay":
                crawl_delay = _seconds(value) if crawl_delay is None else crawl_delay
            elif field in ("allow", "disallow"):
                rules.append((field == "allow", value))
    return RobotsRules(crawl_delay, tuple(rules))


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 86_400 else None


def _pattern(pattern: str) -> re.Pattern[str]:
    """A robots.txt path pattern: a prefix, with `*` for any run and `$` for the end."""
    anchored = pattern.endswith("$")
    body = ".*".join(re.escape(part) for part in pattern.rstrip("$").split("*"))
    return re.compile(body + ("$" if anchored else ""))
