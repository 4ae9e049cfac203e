"""Webhooks as Telegram runs them: setWebhook, deleteWebhook and getWebhookInfo, getUpdates refused
while a webhook is set, and the fake posting updates to the registered URL with its secret header.
A host made unresolvable is refused by setWebhook, as Telegram refuses a host its resolver cannot find.
A post that fails (no connection, an answer other than 2xx) becomes getWebhookInfo's last error, in
Telegram's words; `webhook_delivery_failed` sets one directly (another wording, an older date).

`Webhooks` is mixed into `FakeTelegram`. Telegram posts to an https URL; in tests a reverse proxy
terminating TLS is modelled by `via`, the loopback address the registered URL's path is posted to.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram.requests import ApiError, bad_request

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PORTS = (80, 88, 443, 8443)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
UNRESOLVABLE = "bad webhook: Failed to resolve host: Name or service not known"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
REGISTERED = object()
"""`secret=REGISTERED`: post with the secret token the bot registered, as Telegram does."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """What setWebhook registered."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


class Webhooks:
    """The webhook methods of FakeTelegram and the test API to deliver updates through a webhook."""

    _lock: threading.Lock
    _updates: deque[dict[str, Any]]
    _webhook: Webhook | None
    _unresolvable: set[str]
    _webhook_error: tuple[int, str] | None
    _assign_update_id: Callable[[dict[str, Any]], dict[str, Any]]

    def webhook_methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    @property
    def webhook(self) -> Webhook | None:
        """The registered webhook, secret included (getWebhookInfo, like Telegram, never shows it)."""
        with self._lock:
            return self._webhook

    def make_unresolvable(self, host: str) -> None:
        """From now on setWebhook refuses URLs on `host`: Telegram's resolver does not find it."""
        with self._lock:
            self._unresolvable.add(host.casefold())

    def register_webhook(self, url: str, *, secret_token: str | None = None) -> None:
        """setWebhook as another process (another deployment of the token) would call it."""
        self._set_webhook({"url": url, "secret_token": secret_token})

    def webhook_delivery_failed(self, message: str, *, at: datetime | None = None) -> None:
        """getWebhookInfo reports `message` as the last error delivering to the webhook, at `at`
        (default now)."""
        moment = int(at.timestamp()) if at is not None else int(time.time())
        with self._lock:
            self._webhook_error = (moment, message)

    def deliver_update(self, update: dict[str, Any], *, via: str, secret: Any = REGISTERED) -> int:
        """Post `update` (an update_id assigned unless it has one) to the webhook; the HTTP status."""
        return self.post_to_webhook(
            json.dumps(self._assign_update_id(update)).encode(), via=via, secret=secret
        )

    def post_to_webhook(
        self,
        body: bytes,
        *,
        via: str,
        secret: Any = REGISTERED,
        timeout: float = 10.0,
    ) -> int:
        """POST `body` as JSON to the registered webhook's path at `via` (e.g. http://127.0.0.1:8443);
        `secret` is the header's value: REGISTERED, another string, or None for no header. 0 when
        no HTTP answer came. A failure is recorded as Telegram records it, for getWebhookInfo."""
        webhook = self.webhook
        if webhook is None:
            raise RuntimeError("no webhook is registered: the bot has not called setWebhook")
        target = urlsplit(webhook.url)
        url = via.rstrip("/") + (target.path or "/") + (f"?{target.query}" if target.query else "")
        headers = {"Content-Type": "application/json"}
        token = webhook.secret_token if secret is REGISTERED else secret
        if token is not None:
            headers[SECRET_HEADER] = token
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as refused:
            refused.close()
            self.webhook_delivery_failed(f"Wrong response from the webhook: {refused.code} {refused.reason}")
            return refused.code
        except urllib.error.URLError as failed:
            self.webhook_delivery_failed(_delivery_error(failed.reason))
            return 0
        except TimeoutError:
            self.webhook_delivery_failed("Read timeout expired")
            return 0

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in WEBHOOK_PORTS:
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        with self._lock:
            unresolvable = parts.hostname in self._unresolvable
        if unresolvable:
            raise bad_request(UNRESOLVABLE)
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and _SECRET_TOKEN.fullmatch(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        max_connections = int(params.get("max_connections") or 40)
        with self._lock:
            if self._webhook is None or self._webhook.url != url:
                self._webhook_error = None  # the errors were of another URL
            self._webhook = Webhook(
                url, secret, allowed if isinstance(allowed, list) else None, max_connections
            )
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._webhook = None
            self._webhook_error = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            webhook = self._webhook
            error = self._webhook_error
            info: dict[str, Any] = {
                "url": webhook.url if webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
        if error is not None:
            info["last_error_date"], info["last_error_message"] = error
        return info

    def _refuse_polling_while_webhook(self) -> None:
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)


def _delivery_error(reason: object) -> str:
    """Telegram's words for a post that got no HTTP answer."""
    if isinstance(reason, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(reason, TimeoutError):
        return "Read timeout expired"
    return str(reason)
