"""A loopback OpenAI-compatible server: `/v1/chat/completions` and `/v1/models`, as the real client
library (openai) reaches them through LLM_BASE_URL.

By default it answers like a well-behaved model (a JSON object in the language the system prompt
asks for); a test replaces `answer` to script anything else, and `fail`/`delay` inject faults.
Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-model-1"

Answer = Callable[[list[dict[str, str]]], str]


def well_behaved(messages: list[dict[str, str]]) -> str:
    """A valid answer: Chinese title and summary when the system prompt is Chinese, else one sentence."""
    paper = json.loads(messages[-1]["content"])
    if any("\u4e00" <= char <= "\u9fff" for char in messages[0]["content"]):
        return json.dumps(
            {
                "title": "关于检索的研究",
                "summary": "本文研究了信息检索中的一个问题，并提出了一种新的方法。实验表明该方法有效。",
            },
            ensure_ascii=False,
        )
    return json.dumps(
        {"summary": f"The paper studies {paper['title'].lower()} and reports that its method works."}
    )


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (a timeout test) closes the socket under a reply: not an error here."""


@dataclass
class FakeOpenAI:
    model: str = MODEL
    answer: Answer = well_behaved
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # status codes for the next requests, in order
    delay: float = 0.0
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    fake._reply(
                        self, 200, {"object": "list", "data": [{"id": fake.model, "object": "model"}]}
                    )
                else:
                    fake._reply(self, 404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.failures:
                    fake._reply(self, fake.failures.pop(0), {"error": {"message": "injected failure"}})
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    fake._reply(self, 404, {"error": {"message": "not found"}})
                    return
                content = fake.answer(body["messages"])
                fake._reply(
                    self,
                    200,
                    {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", fake.model),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                )

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: tests read `requests` instead."""

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "LLM_BASE_URL": self.base_url,
            "LLM_MODEL": self.model,
            "LLM_API_KEY": "sk-test-SECRET-key",
            **extra,
        }

    @property
    def completions(self) -> list[dict[str, Any]]:
        return [
            request for request in self.requests if request["path"].rstrip("/").endswith("/chat/completions")
        ]

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
