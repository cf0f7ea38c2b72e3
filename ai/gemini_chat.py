"""`ChatProvider` over the Gemini API with `google-genai` (`client.aio.models.generate_content_stream`:
`:streamGenerateContent?alt=sse`, the key in `x-goog-api-key`). The system turn becomes the system
instruction, answers the model's turns. One httpx client keeps the connections of every request."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from ai.chat_failures import broken, reason_in, scrub, status_failure, timed_out
from domain.chat import ChatEnd, ChatRequest, ProviderError, Role

QUIET_SECONDS = 60.0
"""The longest wait for the first token, and between two tokens (google-genai sets one timeout per request
for connecting and reading alike)."""
SERVER_DEADLINE_SECONDS = 600
"""The deadline Gemini is given for a whole answer (`X-Server-Timeout`; by default google-genai would send the
read timeout, cutting long answers)."""


class GeminiChat:
    def __init__(
        self, *, base_url: str, api_key: str | None, title: str = "Gemini", quiet_seconds: float = QUIET_SECONDS
    ) -> None:
        self.title = title
        self._server_key = api_key
        self._quiet = quiet_seconds
        self._base_url = base_url
        self._shared: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """Our own httpx client, made at the first question: google-genai would otherwise pick aiohttp when it
        is installed, whose connection errors are other classes."""
        if self._shared is None:
            self._shared = httpx.AsyncClient()
        return self._shared

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.aclose()

    def _client(self, key: str) -> genai.Client:
        options = genai_types.HttpOptions(
            base_url=self._base_url,
            timeout=int(self._quiet * 1000),  # milliseconds
            headers={"X-Server-Timeout": str(SERVER_DEADLINE_SECONDS)},
            retry_options=genai_types.HttpRetryOptions(attempts=1),  # the person retries, not the library
            httpx_async_client=self._http,
        )
        return genai.Client(api_key=key, vertexai=False, http_options=options)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str | ChatEnd, None]:
        key = request.key or self._server_key
        if not key:
            raise ProviderError(f"There is no {self.title} key to ask with.")
        system = "\n\n".join(turn.content for turn in request.turns if turn.role is Role.SYSTEM)
        contents = [
            genai_types.Content(
                role="model" if turn.role is Role.ASSISTANT else "user", parts=[genai_types.Part(text=turn.content)]
            )
            for turn in request.turns
            if turn.role is not Role.SYSTEM
        ]
        config = genai_types.GenerateContentConfig(system_instruction=system or None, automatic_continuation=False)
        started = False
        finish: str | None = None
        usage: genai_types.GenerateContentResponseUsageMetadata | None = None
        try:
            chunks = await self._client(key).aio.models.generate_content_stream(
                model=request.model, contents=contents, config=config
            )
            try:
                async for chunk in chunks:
                    usage = chunk.usage_metadata or usage
                    for candidate in (chunk.candidates or [])[:1]:
                        for part in candidate.content.parts or [] if candidate.content else []:
                            if part.text and not part.thought:
                                started = True
                                yield part.text
                        if candidate.finish_reason is not None:
                            finish = str(candidate.finish_reason.value)
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
        except genai_errors.APIError as error:
            reason = scrub(reason_in(error.details) or error.message or "", request.key, self._server_key)
            raise status_failure(self.title, error.code, reason, own_key=request.key is not None) from None
        except httpx.TimeoutException:
            raise timed_out(self.title) from None
        except httpx.TransportError:
            raise broken(self.title, started=started) from None
        if finish is not None:
            yield ChatEnd(
                tokens_in=usage.prompt_token_count if usage else None,
                tokens_out=usage.candidates_token_count if usage else None,
                finish_reason=finish,
            )
