import logging

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
