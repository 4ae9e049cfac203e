import logging

from telegram.error import BadRequest

from bot.log import configure_logging
from tests.support import TEST_TOKEN


def test_token_is_redacted_from_messages_arguments_and_tracebacks(capfd):
    configure_logging("DEBUG", [TEST_TOKEN])
    url = f"https://api.telegram.org/bot{TEST_TOKEN}/getMe"
    logging.getLogger("httpx").debug("HTTP Request: POST %s", url)
    try:
        raise RuntimeError(f"failed calling {url}")
    except RuntimeError:
        logging.getLogger("telegram.ext").exception("boom")
    err = capfd.readouterr().err
    assert TEST_TOKEN not in err
    assert "HTTP Request: POST https://api.telegram.org/bot[TOKEN]/getMe" in err
    assert "RuntimeError: failed calling https://api.telegram.org/bot[TOKEN]/getMe" in err


def test_an_error_ptb_s_retry_loop_gives_up_on_is_one_line_without_its_traceback(capfd):
    """The loop raises it to its caller, which tells it (the CLI in one line)."""
    configure_logging("DEBUG", [TEST_TOKEN])
    record = logging.LogRecord(
        "telegram.ext",
        logging.ERROR,
        "/site-packages/telegram/ext/_utils/networkloop.py",
        1,
        "%s Failed run number %s of %s. Aborting.",
        ("Network Retry Loop (Bootstrap Set Webhook):", 0, 0),
        (BadRequest, BadRequest("Bad Request: bad webhook: Failed to resolve host"), None),
    )
    logging.getLogger("telegram.ext").handle(record)
    try:
        raise BadRequest("Bad Request: chat not found")
    except BadRequest:
        logging.getLogger("telegram.ext").exception("elsewhere")
    err = capfd.readouterr().err
    assert err.splitlines()[0].endswith(
        "Network Retry Loop (Bootstrap Set Webhook): Failed run number 0 of 0. Aborting. "
        "(BadRequest: Bad webhook: failed to resolve host)"
    )
    assert err.count("Traceback") == 1, "errors logged elsewhere keep their traceback"
