"""What PTB's webhook server logs becomes one WARNING line per refused request; the rest of its
DEBUG chatter shows only when the bot logs at DEBUG."""

from __future__ import annotations

import json
import logging

import pytest
from tornado.web import HTTPError

from bot.gateway.webhook import UPDATER_LOGGER, WebhookRefusals


def record(level: int, message: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error else None
    return logging.LogRecord(UPDATER_LOGGER, level, __file__, 1, message, args, exc_info)


def handler_failure(error: BaseException) -> logging.LogRecord:
    """The line PTB's TelegramHandler.log_exception writes for a request it did not take."""
    return record(logging.DEBUG, "%s - %s", "10.0.0.5", "Exception in TelegramHandler", error=error)


def test_a_refusal_is_one_warning_line_naming_the_sender_reason_and_status():
    line = handler_failure(HTTPError(403, reason="Request had the wrong secret token"))
    assert WebhookRefusals(debugging=False).filter(line)
    assert (line.levelname, line.exc_info) == ("WARNING", None)
    assert line.getMessage() == (
        "webhook request from 10.0.0.5 refused: Request had the wrong secret token (403)"
    )


def test_an_unreadable_body_or_update_is_told_once_without_its_traceback():
    refusals = WebhookRefusals(debugging=False)
    try:
        json.loads("{not json")
    except ValueError as error:
        garbage = handler_failure(error)
    assert refusals.filter(garbage)
    assert "its body is not JSON (JSONDecodeError" in garbage.getMessage()
    assert garbage.getMessage().endswith("(500)")

    cause = AttributeError("'int' object has no attribute 'copy'")
    critical = record(logging.CRITICAL, "Received data was *not* processed! %r", {"message": 5}, error=cause)
    assert not refusals.filter(critical), "the refusal line below says it, without the traceback"
    unreadable = HTTPError(400, reason="Update could not be processed")
    unreadable.__cause__ = cause
    line = handler_failure(unreadable)
    assert refusals.filter(line)
    assert line.getMessage().endswith(
        "Update could not be processed (AttributeError: 'int' object has no attribute 'copy') (400)"
    )


@pytest.mark.parametrize(("debugging", "shown"), [(False, False), (True, True)])
def test_other_debug_lines_show_only_when_debugging(debugging: bool, shown: bool):
    refusals = WebhookRefusals(debugging=debugging)
    assert refusals.filter(record(logging.DEBUG, "Webhook triggered")) is shown
    assert refusals.filter(record(logging.INFO, "anything PTB says at INFO")) is True


def test_a_request_not_sent_as_json_is_named_so():
    line = handler_failure(HTTPError(403))  # PTB refuses another Content-Type without a reason
    assert WebhookRefusals(debugging=False).filter(line)
    assert line.getMessage().endswith("refused: not sent as application/json (403)")
