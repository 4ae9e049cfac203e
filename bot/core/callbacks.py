"""Callback data of inline buttons that the bot writes outside handlers (pushed digests)."""

from __future__ import annotations

from datetime import date

PAGE_PREFIX = "cat:"  # cat:<category>:<date>:<page> turns a /cat message's page in place
MORE_PREFIX = "more:"  # more:<category>:<date> opens a category below a pushed digest, keeping it


def more_data(category: str, announced: date) -> str:
    return f"{MORE_PREFIX}{category}:{announced.isoformat()}"
