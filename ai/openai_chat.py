"""`ChatProvider` over the OpenAI chat-completions API with the `openai` SDK: streamed (`stream=True`, the
usage in the last chunk), also for any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio) by
its base URL. One client per provider keeps its connections; a person's own key rides on a copy of it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import openai
from openai.types.chat import ChatCompletionMessageParam

from ai.chat_failures import broken, reason_in, scrub, status_failure, timed_out
from domain.chat import ChatEnd, ChatRequest, ChatTurn, Role

CONNECT_SECONDS = 10.0
QUIET_SECONDS = 60.0
"""The longest wait for the first token, and between two tokens."""
NO_KEY = "none"
"""What the SDK sends when there is no key: servers that need none (Ollama, llama.cpp) ignore it."""


class OpenAIChat:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        title: str = "OpenAI",
        connect_seconds: float = CONNECT_SECONDS,
        quiet_seconds: float = QUIET_SECONDS,
    ) -> None:
        self.title = title
        self._server_key = api_key
        self._base_url = base_url
        self._timeout = openai.Timeout(quiet_seconds, connect=connect_seconds)
        self._shared: openai.AsyncOpenAI | None = None

    @property
    def _client(self) -> openai.AsyncOpenAI:
        """Made at the first question (loading the TLS certificates takes a while): a server whose assistant
        is never asked pays nothing for it."""
        if self._shared is None:
            self._shared = openai.AsyncOpenAI(
                api_key=self._server_key or NO_KEY,
                organization=None,
                project=None,
                base_url=self._base_url,
                max_retries=0,  # a failure is the person's to retry: a silent retry would double the cost
                timeout=self._timeout,
            )
        return self._shared

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str | ChatEnd, None]:
        client = self._client.with_options(api_key=request.key) if request.key else self._client
        started = False
        try:
            chunks = await client.chat.completions.create(
                model=request.model,
                messages=[message(turn) for turn in request.turns],
                stream=True,
                stream_options={"include_usage": True},
            )
            finish: str | None = None
            usage = None
            try:
                async for chunk in chunks:
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        if choice.delta.content:
                            started = True
                            yield choice.delta.content
                        finish = choice.finish_reason or finish
            finally:
                await chunks.close()
        except openai.APIStatusError as error:
            reason = scrub(reason_in(error.body), request.key, self._server_key)
            raise status_failure(self.title, error.status_code, reason, own_key=request.key is not None) from None
        except openai.APITimeoutError:
            raise timed_out(self.title) from None
        except openai.APIConnectionError:
            raise broken(self.title, started=started) from None
        except openai.APIError as error:  # an error event in the middle of the stream
            reason = scrub(reason_in({"message": error.message}), request.key, self._server_key)
            raise status_failure(self.title, 500, reason, own_key=request.key is not None) from None
        if finish is not None:
            yield ChatEnd(
                tokens_in=usage.prompt_tokens if usage else None,
                tokens_out=usage.completion_tokens if usage else None,
                finish_reason=finish,
            )


def message(turn: ChatTurn) -> ChatCompletionMessageParam:
    if turn.role is Role.SYSTEM:
        return {"role": "system", "content": turn.content}
    if turn.role is Role.ASSISTANT:
        return {"role": "assistant", "content": turn.content}
    return {"role": "user", "content": turn.content}
