"""The assistant's things: conversations and their messages (`ai_conversations`, `ai_messages`), one provider
request's record (`ai_usage_logs`), and what a chat provider is asked (`ChatRequest`) and answers (text
deltas, then one `ChatEnd`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.errors import Unavailable


class ProviderError(Unavailable):
    """An AI provider refused or failed a request: a key it does not take, too many requests (429), an error
    of its own (5xx), no answer in time, or a stream that broke off before the answer was complete. The
    message is for the person and never holds a key. The assistant turns it into a failed answer; it never
    reaches an edge by itself."""


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class AnswerStatus(StrEnum):
    COMPLETE = "complete"
    """The provider said the answer was finished."""
    STOPPED = "stopped"
    """The person stopped it (or went away): what had arrived is kept."""
    FAILED = "failed"
    """The provider refused or failed it, or no key could be used: what had arrived is kept, with the reason."""


@dataclass(kw_only=True, slots=True)
class Conversation:
    """One person's conversation about one workspace: private to that person."""

    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    workspace_id: UUID
    title: str | None = None
    """From the first question until renamed; None before it."""
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, slots=True)
class ChatMessage:
    """A question (role user) or an answer (role assistant).

    `metadata` of an answer: `status` (an AnswerStatus), `provider`, `model`, `key` ("own" or "server"),
    `tokens_in`, `tokens_out`, `latency_ms`, `finish_reason`, `cached`, and `error` (the reason, for a failed
    one). Of a question: `context` (the context sent with it, as cut), `cut` (what was cut), `one_shot`."""

    id: UUID = field(default_factory=uuid4)
    conversation_id: UUID
    role: Role
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime

    @property
    def status(self) -> AnswerStatus | None:
        """An answer's status (None for a question)."""
        value = self.metadata.get("status")
        return AnswerStatus(value) if value in tuple(AnswerStatus) else None

    @property
    def error(self) -> str | None:
        """Why a failed answer failed, as the person was told."""
        value = self.metadata.get("error")
        return value if isinstance(value, str) else None


@dataclass(kw_only=True, slots=True)
class UsageRecord:
    """One request to an AI provider (`ai_usage_logs`), whether it succeeded or not."""

    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    workspace_id: UUID | None
    provider: str
    request_type: str
    """"chat", or "explanation" for a one-shot question (cached)."""
    tokens_used: int | None
    """Tokens in and out together, as the provider counted them (None: it did not say)."""
    response_time_ms: int
    success: bool
    error_message: str | None = None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatRequest:
    """What a chat provider is asked: the turns (a system turn first), the model, and the person's own key
    (None: the adapter's own, the server's key)."""

    model: str
    turns: tuple[ChatTurn, ...]
    key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatEnd:
    """The last item of a provider's stream: the answer is complete. Token counts as the provider gave them."""

    tokens_in: int | None
    tokens_out: int | None
    finish_reason: str
    """The provider's own word: "stop", "length", "STOP", "MAX_TOKENS", ..."""
