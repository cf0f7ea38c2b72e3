"""The assistant over REST: a person's conversations about a workspace (private to them), their messages, and
asking, answered as server-sent events (`text/event-stream`) while the provider writes:

    event: question   data: {"message_id": ..., "cut": [{"part", "kept", "total"}], "left_out": n}
    event: delta      data: {"text": "..."}                 (as many as the text takes)
    event: done       data: {"message_id": ..., "usage": {...}}
 or event: error      data: {"detail": "...", "message_id": ...}

A question that cannot be asked at all (not yours, blank, an unknown provider) is refused before the stream
starts, with the API's usual error answer; once it is stored, whatever goes wrong (a refused key, the day's
AI requests used up, a provider that fails or breaks off) is the `error` event, and the partial answer is
kept. Closing the connection is Stop: what arrived is kept, marked stopped."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi.responses import Response, StreamingResponse
from fastapi.sse import format_sse_event
from pydantic import BaseModel, ConfigDict, Field

from domain.assistant import (
    MAX_CONTEXT_PART_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_TITLE_LENGTH,
    MODEL_PATTERN,
    Accepted,
    AnswerEvent,
    AskContext,
    Delta,
    Done,
    Failed,
)
from domain.chat import ChatMessage, Conversation
from ui.api.contract import CONTROL, NAME_PATTERN, SPACE, WorkspacePathText, documented
from ui.api.deps import CallerDep
from ui.api.routing import api_router, links
from ui.context import services

router = api_router(tags=["assistant"])

LINE_CONTROL = "\\x00-\\x08\\x0b-\\x1f\\x7f"
"""Control characters but the tab and the line break."""
QUESTION_PATTERN = f"^[^{LINE_CONTROL}]*[^{CONTROL}{SPACE}][^{LINE_CONTROL}]*$"

Title = Annotated[
    str,
    documented(
        maxLength=MAX_TITLE_LENGTH,
        pattern=NAME_PATTERN,
        description="Not blank, one line; spaces around it are dropped",
    ),
]
Question = Annotated[
    str,
    documented(
        maxLength=MAX_QUESTION_LENGTH,
        pattern=QUESTION_PATTERN,
        description="Not blank; tabs and line breaks but no other control characters",
    ),
]
ContextText = Annotated[str, Field(max_length=MAX_CONTEXT_PART_LENGTH, strict=True)]
ModelName = Annotated[
    str,
    documented(
        pattern=MODEL_PATTERN,
        maxLength=100,
        description="The provider's model (default: its first in GET /api/v1/ai/models). On the server's key only "
        "those listed; on your own key any the provider has",
    ),
]
ProviderName = Literal["openai", "gemini", "compatible"]


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title | None = None
    """Left out: the first question titles it."""


class ConversationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title


class ConversationOut(BaseModel):
    id: UUID
    workspace_id: UUID
    title: str | None
    created_at: datetime
    updated_at: datetime


class MessageOut(BaseModel):
    id: UUID
    role: Literal["user", "assistant", "system"]
    content: str
    status: Literal["complete", "stopped", "failed"] | None = Field(
        description="An answer's: complete, stopped (Stop; what arrived is kept) or failed (see metadata.error); "
        "null for a question"
    )
    metadata: dict[str, Any] = Field(
        description="An answer's provider, model, key (own, server or cache), tokens_in, tokens_out, latency_ms, "
        "finish_reason, cached, error; a question's context (as sent, after cutting), cut, one_shot"
    )
    created_at: datetime


class ConversationWithMessages(ConversationOut):
    messages: list[MessageOut]
    """Oldest first."""


class ContextIn(BaseModel):
    """What goes with the question; each part is cut to the model's budget (the `question` event says what was)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: WorkspacePathText | None = None
    file: ContextText | None = Field(default=None, description="The open file's text")
    selection: ContextText | None = None
    output: ContextText | None = Field(default=None, description="The last run's output")
    error: ContextText | None = Field(default=None, description="The last run's error (stderr or compile output)")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    content: Question
    context: ContextIn | None = None
    provider: ProviderName | None = Field(default=None, description="Default: the first in GET /api/v1/ai/models")
    model: ModelName | None = None
    one_shot: bool = Field(
        default=False,
        description="Answer from this question and context alone; the same one-shot question with the same "
        "context, provider and model is answered from the cache for an hour",
    )


def conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        workspace_id=conversation.workspace_id,
        title=conversation.title,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def message_out(message: ChatMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        role=message.role.value,
        content=message.content,
        status=message.status.value if message.status else None,
        metadata=message.metadata,
        created_at=message.created_at,
    )


def _event(name: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    payload = {"type": "object", "required": required, "properties": properties}
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "const": name},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": payload},
        },
    }


NULLABLE_INT = {"type": ["integer", "null"]}
EVENT_SCHEMA = {
    "anyOf": [
        _event(
            "question",
            ["message_id", "cut", "left_out"],
            {
                "message_id": {"type": "string", "format": "uuid"},
                "cut": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "part": {"type": "string", "enum": ["file", "selection", "output", "error"]},
                            "kept": {"type": "integer"},
                            "total": {"type": "integer"},
                        },
                    },
                },
                "left_out": {"type": "integer", "description": "Earlier messages left out for want of room"},
            },
        ),
        _event("delta", ["text"], {"text": {"type": "string"}}),
        _event(
            "done",
            ["message_id", "usage"],
            {
                "message_id": {"type": "string", "format": "uuid"},
                "usage": {
                    "type": "object",
                    "properties": {
                        "provider": {"type": "string"},
                        "model": {"type": "string"},
                        "key": {"type": "string", "enum": ["own", "server", "cache"]},
                        "tokens_in": NULLABLE_INT,
                        "tokens_out": NULLABLE_INT,
                        "latency_ms": {"type": "integer"},
                        "finish_reason": {"type": ["string", "null"]},
                        "cached": {"type": "boolean"},
                    },
                },
            },
        ),
        _event(
            "error",
            ["detail", "message_id"],
            {"detail": {"type": "string"}, "message_id": {"type": "string", "format": "uuid"}},
        ),
    ]
}
STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer as server-sent events: `question`, then `delta`s, then `done` or `error`",
        "content": {
            "text/event-stream": {
                "itemSchema": EVENT_SCHEMA,
                "schema": {"type": "array", "items": EVENT_SCHEMA},
            }
        },
    }
}


class EventStream(StreamingResponse):
    """Server-sent events, written by the route itself (FastAPI's EventStream would make it a generator)."""

    media_type = "text/event-stream"


def sse(event: AnswerEvent) -> bytes:
    """One event on the wire."""
    match event:
        case Accepted(question=question, cuts=cuts, left_out=left_out):
            cut = [{"part": c.part, "kept": c.kept, "total": c.total} for c in cuts]
            name, data = "question", {"message_id": str(question.id), "cut": cut, "left_out": left_out}
        case Delta(text=text):
            name, data = "delta", {"text": text}
        case Done(message=message, usage=usage):
            name = "done"
            data = {
                "message_id": str(message.id),
                "usage": {
                    "provider": usage.provider,
                    "model": usage.model,
                    "key": usage.key,
                    "tokens_in": usage.tokens_in,
                    "tokens_out": usage.tokens_out,
                    "latency_ms": usage.latency_ms,
                    "finish_reason": usage.finish_reason,
                    "cached": usage.cached,
                },
            }
        case Failed(detail=detail, message=message):
            name, data = "error", {"detail": detail, "message_id": str(message.id)}
    return format_sse_event(data_str=json.dumps(data), event=name)


async def event_stream(events: AsyncGenerator[AnswerEvent, None]) -> EventStream:
    """The answer's events as a stream. The first (the stored question) is awaited here, so that what refuses
    the question answers with its status; the generator is closed however the stream ends (a client gone:
    Stop)."""
    first = await anext(events)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield sse(first)
            async for event in events:
                yield sse(event)
        finally:
            await events.aclose()

    return EventStream(body(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Started, untitled unless a title was given",
        "links": links(
            "create_conversation",
            "get_conversation",
            "patch_conversation",
            "delete_conversation",
            "ask",
            conversation_id="$response.body#/id",
        ),
    }
}


@router.get("/api/v1/ai/models")
async def list_models(caller: CallerDep) -> dict[str, list[str]]:
    """The assistant's providers and their models, each default first; the first provider is the default."""
    del caller
    return services().assistant.models()


@router.get("/api/v1/workspaces/{workspace_id:uuid}/conversations")
async def list_conversations(workspace_id: UUID, caller: CallerDep) -> list[ConversationOut]:
    """Your conversations about the workspace, most recently active first (nobody else's: they are private)."""
    conversations = await services().assistant.conversations(caller.actor, workspace_id)
    return [conversation_out(conversation) for conversation in conversations]


@router.post("/api/v1/workspaces/{workspace_id:uuid}/conversations", status_code=201, responses=CREATED)
async def create_conversation(workspace_id: UUID, body: ConversationIn, caller: CallerDep) -> ConversationOut:
    """A new conversation about a workspace you can see (readers too)."""
    conversation = await services().assistant.start(caller.actor, workspace_id, title=body.title)
    return conversation_out(conversation)


@router.get("/api/v1/conversations/{conversation_id:uuid}")
async def get_conversation(conversation_id: UUID, caller: CallerDep) -> ConversationWithMessages:
    """One of your conversations with its messages, oldest first."""
    conversation, messages = await services().assistant.get(caller.actor, conversation_id)
    return ConversationWithMessages(
        **conversation_out(conversation).model_dump(), messages=[message_out(message) for message in messages]
    )


@router.patch("/api/v1/conversations/{conversation_id:uuid}")
async def patch_conversation(conversation_id: UUID, body: ConversationPatch, caller: CallerDep) -> ConversationOut:
    """Rename it."""
    return conversation_out(await services().assistant.rename(caller.actor, conversation_id, body.title))


@router.delete("/api/v1/conversations/{conversation_id:uuid}", status_code=204)
async def delete_conversation(conversation_id: UUID, caller: CallerDep) -> Response:
    """Delete it with all its messages."""
    await services().assistant.delete(caller.actor, conversation_id)
    return Response(status_code=204)


@router.post("/api/v1/conversations/{conversation_id:uuid}/messages", response_class=EventStream, responses=STREAMED)
async def ask(conversation_id: UUID, body: MessageIn, caller: CallerDep) -> EventStream:
    """Ask a question: stored at once, then answered as server-sent events while the provider writes:
    `question` (`{message_id, cut, left_out}`: what of the context and of the earlier messages did not fit),
    `delta`s (`{text}`), then `done` (`{message_id, usage}`) or `error` (`{detail, message_id}`: a refused key,
    the day's AI requests used up, a provider that failed or broke off; the partial answer is kept, marked
    failed, and retry asks again). Closing the connection is Stop: what arrived is kept, marked stopped. Your
    own key for the provider is used first; else the server's, counted against your plan's AI requests a day.
    A question that cannot be asked at all answers an error status before any event."""
    given = body.context.model_dump() if body.context else {}
    events = services().assistant.ask(
        caller.actor,
        conversation_id,
        body.content,
        context=AskContext(**given),
        provider=body.provider,
        model=body.model,
        one_shot=body.one_shot,
    )
    return await event_stream(events)


@router.post(
    "/api/v1/conversations/{conversation_id:uuid}/messages/{message_id:uuid}/retry",
    response_class=EventStream,
    responses=STREAMED,
)
async def retry(conversation_id: UUID, message_id: UUID, caller: CallerDep) -> EventStream:
    """Ask again after a failed or stopped answer (its id, or its question's): the same question and context,
    the same provider and model; the old answer is kept. Events as when asking."""
    return await event_stream(services().assistant.retry(caller.actor, conversation_id, message_id))
