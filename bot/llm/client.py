"""The OpenAI client library, pointed at LLM_BASE_URL; imported only when a model is configured."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


class LlmError(Exception):
    """The endpoint did not answer usefully (unreachable, an HTTP error, a timeout, no choices)."""


class LlmClient:
    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float) -> None:
        from openai import AsyncOpenAI  # a heavy import that only a configured model needs

        self.model = model
        # Our own pass decides what is retried (nothing, within a pass); the library must not.
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int = 400) -> str:
        import openai

        try:
            response: Any = await self._client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=0.2
            )
        except openai.OpenAIError as error:
            raise LlmError(f"{type(error).__name__}: {_short(error)}") from None
        choices = getattr(response, "choices", None) or []
        content = choices[0].message.content if choices and choices[0].message else None
        if not isinstance(content, str):
            raise LlmError("the answer had no text")
        return content

    async def models(self) -> list[str]:
        """What the endpoint serves (for `doctor`); raises LlmError when it cannot be asked."""
        import openai

        try:
            page = await self._client.models.list()
        except openai.OpenAIError as error:
            raise LlmError(f"{type(error).__name__}: {_short(error)}") from None
        return [model.id for model in page.data]

    async def aclose(self) -> None:
        await self._client.close()


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
