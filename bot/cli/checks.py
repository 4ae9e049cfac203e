"""What `doctor` reports: a verdict per check, the worst of them, and details safe to print."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.log import redact


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


def worst(checks: list[Check]) -> Verdict:
    verdicts = {check.verdict for check in checks}
    return next((v for v in (Verdict.FAIL, Verdict.WARN) if v in verdicts), Verdict.OK)


def summary(checks: list[Check]) -> str:
    failed = sum(check.verdict is Verdict.FAIL for check in checks)
    warned = sum(check.verdict is Verdict.WARN for check in checks)
    if not failed and not warned:
        return f"Verdict: OK, all {len(checks)} checks passed."
    return f"Verdict: {worst(checks)}, {failed} failed and {warned} with warnings of {len(checks)} checks."


def redacted(check: Check, *secrets: str) -> Check:
    """Library error messages may quote a secret (PTB's InvalidToken does); none reaches the screen."""
    return Check(check.name, check.verdict, redact(check.detail, secrets))
