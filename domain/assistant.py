"""The AI assistant: conversations about a workspace, private to the person who asks, with answers streamed
from a chat provider and stored with what they cost.

The panel (or the REST API) uses `AssistantService`:
- `models()`: the configured providers and their models, the default first;
- `conversations`, `start`, `get`, `rename`, `delete`: a person's conversations about one workspace;
- `ask` and `retry`: async generators of `AnswerEvent`s, `Accepted` first, then `Delta`s as the text arrives,
  then exactly one `Done` or `Failed`. Closing the generator early (Stop) keeps what arrived, marked stopped.
Pure helpers: `fit_context` (what of a context fits a budget, and what was cut) and `quick_question` (the
quick actions' questions: explain the selection, fix the last error, write tests for this file).

Which key: the person's own active key for the provider, else the server's, counted against the plan's daily
AI requests. Every request to a provider leaves a `UsageRecord`, failed ones too; a cached answer asks none.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar
from uuid import UUID

from domain import cache_keys
from domain.access import Action, Actor, require_own
from domain.ai_keys import AIKeyService
from domain.chat import (
    AnswerStatus,
    ChatEnd,
    ChatMessage,
    ChatRequest,
    ChatTurn,
    Conversation,
    ProviderError,
    Role,
    UsageRecord,
)
from domain.errors import InvalidInput, NotFound, QuotaExceeded
from domain.gate import WorkspaceGate
from domain.ports import Cache, ChatProvider, Clock, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaService
from domain.values import WorkspacePath, require_text

CHARS_PER_TOKEN: Final = 4
"""A rough estimate for English text and code; the budget errs on the safe side with it."""
ANSWER_TOKENS: Final = 2_048
"""Kept free in the model's window for the answer."""
MAX_QUESTION_LENGTH: Final = 20_000
MAX_CONTEXT_PART_LENGTH: Final = 200_000
"""Each part of a context as sent (the file, the selection, the output, the error); cut further to the budget."""
MODEL_PATTERN: Final = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$"
"""A model's name as providers write them (`gpt-4o-mini`, `models/gemini-2.5-flash`, `llama3.2:8b`)."""
MAX_TITLE_LENGTH: Final = 255
AUTO_TITLE_LENGTH: Final = 60
NO_SUCH_CONVERSATION = "No such conversation, or it is not yours."

SYSTEM_PROMPT = (
    "You are the coding assistant of Codeloft, a browser IDE. Answer in Markdown and put code in fenced blocks "
    "that name their language. Be brief and exact; say so when you are not sure. The person's open file, "
    "selection and last run may come with a question: use them."
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatBackend:
    """One configured provider, as the composition root builds it from the settings."""

    name: str
    """"openai", "gemini" or "compatible" (any OpenAI-compatible server)."""
    title: str
    models: tuple[str, ...]
    """The models offered, the default first."""
    provider: ChatProvider
    shared: bool
    """The server can call it on its own (its own key, or a server that needs none), counted against each
    person's daily AI requests."""
    own_keys: bool
    """People's own keys of this provider (their AI keys) are used first."""
    context_tokens: int = 32_000
    """The models' window: what a prompt and its answer may take together."""

    @property
    def prompt_chars(self) -> int:
        return max(self.context_tokens - ANSWER_TOKENS, 1_000) * CHARS_PER_TOKEN


# --- Context --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class AskContext:
    """What goes with a question: the open file (its path and text), the selection in it, and the last run's
    output and error (stderr or compile output). The panel shows each as a chip the person may remove;
    the service gets what is left."""

    path: str | None = None
    file: str | None = None
    selection: str | None = None
    output: str | None = None
    error: str | None = None

    def checked(self) -> AskContext:
        if self.path is not None:
            WorkspacePath(self.path)
        for part in PARTS:
            value = getattr(self, part)
            if value is not None and len(value) > MAX_CONTEXT_PART_LENGTH:
                raise InvalidInput(f"The context's {part} may be at most {MAX_CONTEXT_PART_LENGTH:,} characters long.")
        return self

    @property
    def empty(self) -> bool:
        return not any(getattr(self, part) for part in PARTS)


PARTS: Final = ("file", "selection", "output", "error")
CUT_ORDER: Final = ("output", "file", "error", "selection")
"""What gives way first when a context is too long: the run's output, then the file, the error, the selection."""
KEEP_END: Final = frozenset({"output", "error"})
"""Parts whose end matters most (a traceback's last lines): these are cut at their start."""


@dataclass(frozen=True, slots=True)
class Cut:
    """One part of the context that did not fit whole: how many characters of it were sent, of how many."""

    part: str
    kept: int
    total: int


def fit_context(context: AskContext, budget: int) -> tuple[AskContext, tuple[Cut, ...]]:
    """The context cut to `budget` characters, and what was cut (for the panel to say so). The parts give
    way in CUT_ORDER; an output or error keeps its end, a file or selection its start."""
    sizes = {part: len(getattr(context, part) or "") for part in PARTS}
    over = sum(sizes.values()) - max(budget, 0)
    changes: dict[str, str] = {}
    cuts = []
    for part in CUT_ORDER:
        if over <= 0:
            break
        text = getattr(context, part) or ""
        if not text:
            continue
        keep = max(len(text) - over, 0)
        over -= len(text) - keep
        changes[part] = (text[len(text) - keep :] if part in KEEP_END else text[:keep]) if keep else ""
        cuts.append(Cut(part, keep, len(text)))
    fitted = replace(context, **{part: value or None for part, value in changes.items()})
    return fitted, tuple(sorted(cuts, key=lambda cut: PARTS.index(cut.part)))


def render_question(question: str, context: AskContext) -> str:
    """A question as the model reads it: its context first, each part in a fenced block."""
    name = f"`{context.path}`" if context.path else "the open file"
    blocks = [
        (context.file, f"The open file {name}:"),
        (context.selection, f"Selected in {name}:"),
        (context.output, "The last run's output:"),
        (context.error, "The last run's error:"),
    ]
    parts = [f"{label}\n{fence(text)}" for text, label in blocks if text]
    return "\n\n".join([*parts, question])


def framed_length(question: str, context: AskContext) -> int:
    """How long the question is as the model reads it, but for the text of the context's parts."""
    present = [part for part in PARTS if getattr(context, part)]
    skeleton = replace(context, **dict.fromkeys(present, "x"))
    return len(render_question(question, skeleton)) - len(present)


def fence(text: str) -> str:
    """`text` in a fenced block whose fence no line of it can close."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text}\n{ticks}"


# --- Quick actions --------------------------------------------------------------------------------------


class QuickAction(StrEnum):
    EXPLAIN = "explain"
    FIX = "fix"
    TESTS = "tests"


def quick_question(action: QuickAction, context: AskContext) -> str:
    """The question of a quick action, for the context it needs (`InvalidInput` naming what is missing).
    Ask "explain" with `one_shot=True`: its answer is cached."""
    name = f"`{context.path}`" if context.path else "the open file"
    if action is QuickAction.EXPLAIN:
        if not context.selection:
            raise InvalidInput("Select the code to explain first.")
        return f"Explain the selected code from {name}: what it does, step by step, and anything surprising in it."
    if action is QuickAction.FIX:
        if not context.error:
            raise InvalidInput("There is no error to fix: the last run did not fail.")
        if not context.file:
            raise InvalidInput("Open the file to fix first.")
        return (
            f"The last run of {name} failed with the error shown. Explain the cause in one or two sentences, "
            "then give the corrected code."
        )
    if not context.file:
        raise InvalidInput("Open the file to write tests for first.")
    return (
        f"Write unit tests for {name} with the usual test framework of its language: cover the normal cases, "
        "the edge cases and the errors. Give the whole test file."
    )


# --- Events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerUsage:
    provider: str
    model: str
    key: str
    """"own" (the person's key), "server" (counted against the plan) or "cache" (no request made)."""
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int = 0
    finish_reason: str | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Accepted:
    """The question is stored (and its conversation titled); `cuts`: what of its context did not fit;
    `left_out`: how many earlier messages did not fit either (the oldest go first)."""

    question: ChatMessage
    cuts: tuple[Cut, ...] = ()
    left_out: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    message: ChatMessage
    usage: AnswerUsage


@dataclass(frozen=True, slots=True)
class Failed:
    """No complete answer: `detail` says why (for the person, never a key); `message` is the stored answer
    (what arrived, maybe nothing), marked failed: `retry` asks again."""

    detail: str
    message: ChatMessage


AnswerEvent = Accepted | Delta | Done | Failed


# --- The service ----------------------------------------------------------------------------------------


def model_name(value: str) -> str:
    if not re.fullmatch(MODEL_PATTERN, value):
        raise InvalidInput(
            "A model's name is 1 to 100 letters, digits and . _ : / @ + - (starting with a letter or digit)."
        )
    return value


def auto_title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= AUTO_TITLE_LENGTH else line[: AUTO_TITLE_LENGTH - 1].rstrip() + "…"


def cache_digest(*, provider: str, model: str, prompt: Sequence[ChatTurn]) -> str:
    """The `ai:response:<hash>` of a one-shot question: provider, model and the whole prompt (question and
    context as sent)."""
    payload = json.dumps([provider, model, [[turn.role.value, turn.content] for turn in prompt]])
    return hashlib.sha256(payload.encode()).hexdigest()


def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "…") if secret else text


T = TypeVar("T")
_SURVIVING: set[asyncio.Future[Any]] = set()


async def survive(work: Awaitable[T]) -> T:
    """`work`'s result, finished even if the task awaiting it is being cancelled (a client that went away
    while an answer was stored): the caller still sees the cancellation, the work runs to its end."""
    task = asyncio.ensure_future(work)
    _SURVIVING.add(task)
    task.add_done_callback(_SURVIVING.discard)
    return await asyncio.shield(task)


class AssistantService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        cache: Cache,
        clock: Clock,
        gate: WorkspaceGate,
        keys: AIKeyService,
        quotas: QuotaService,
        backends: Sequence[ChatBackend],
        on_answer: Callable[[AnswerUsage, AnswerStatus], None] | None = None,
    ) -> None:
        self._uow = uow
        self._on_answer = on_answer
        """Told of every answer that ended, however it ended, with its usage (the instance's metrics)."""
        self._cache = cache
        self._clock = clock
        self._gate = gate
        self._keys = keys
        self._quotas = quotas
        self._backends: Mapping[str, ChatBackend] = {backend.name: backend for backend in backends if backend.models}

    def models(self) -> dict[str, list[str]]:
        """The configured providers and their models, each default first (the first provider is the default)."""
        return {name: list(backend.models) for name, backend in self._backends.items()}

    def backend(self, provider: str | None) -> ChatBackend:
        """The configured provider (None: the default); `InvalidInput` naming those there are."""
        if not self._backends:
            raise InvalidInput("No AI provider is configured on this server: ask its operator (CODELOFT_AI_MODELS).")
        if provider is None:
            return next(iter(self._backends.values()))
        backend = self._backends.get(provider)
        if backend is None:
            raise InvalidInput(f"Unknown AI provider {provider!r}: choose one of {', '.join(self._backends)}.")
        return backend

    # conversations

    async def conversations(self, actor: Actor, workspace_id: UUID) -> list[Conversation]:
        """Your conversations about the workspace, most recently active first."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.ASK, workspace_id)
            return list(await uow.conversations.of(user_id, workspace_id))

    async def start(self, actor: Actor, workspace_id: UUID, title: str | None = None) -> Conversation:
        """A new conversation about the workspace (untitled: the first question will title it)."""
        user_id = actor.require_user()
        name = (
            require_text(title, what="conversation title", max_length=MAX_TITLE_LENGTH) if title is not None else None
        )
        now = self._clock()
        conversation = Conversation(
            user_id=user_id, workspace_id=workspace_id, title=name, created_at=now, updated_at=now
        )
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.ASK, workspace_id)
            await uow.conversations.add(conversation)
            await uow.commit()
        return conversation

    async def get(self, actor: Actor, conversation_id: UUID) -> tuple[Conversation, list[ChatMessage]]:
        """The conversation and its messages, oldest first."""
        async with self._uow() as uow:
            conversation = await self._own(uow, actor, conversation_id)
            return conversation, list(await uow.chat_messages.of(conversation_id))

    async def rename(self, actor: Actor, conversation_id: UUID, title: str) -> Conversation:
        """Give the conversation a title of your own (not blank, one line, at most MAX_TITLE_LENGTH)."""
        name = require_text(title, what="conversation title", max_length=MAX_TITLE_LENGTH)
        now = self._clock()
        async with self._uow() as uow:
            conversation = await self._own(uow, actor, conversation_id)
            await uow.conversations.update(conversation_id, title=name, at=now)
            await uow.commit()
        return replace(conversation, title=name, updated_at=now)

    async def delete(self, actor: Actor, conversation_id: UUID) -> None:
        """Delete the conversation with all its messages (the usage records stay: they count requests)."""
        async with self._uow() as uow:
            await self._own(uow, actor, conversation_id)
            await uow.conversations.delete(conversation_id)
            await uow.commit()

    async def _own(self, uow: UnitOfWork, actor: Actor, conversation_id: UUID) -> Conversation:
        """The conversation if it is the actor's and they may still ask about its workspace; to anybody
        else, as to a missing one, `NotFound`."""
        conversation = await uow.conversations.get(conversation_id)
        require_own(actor, conversation.user_id if conversation else None, what="conversation")
        assert conversation is not None
        try:
            await self._gate.require(uow, actor, Action.ASK, conversation.workspace_id)
        except NotFound:
            raise NotFound(NO_SUCH_CONVERSATION) from None
        return conversation

    # asking

    async def ask(
        self,
        actor: Actor,
        conversation_id: UUID,
        content: str,
        *,
        context: AskContext | None = None,
        provider: str | None = None,
        model: str | None = None,
        one_shot: bool = False,
    ) -> AsyncGenerator[AnswerEvent, None]:
        """Ask a question in the conversation: the events of its answer (see the module's docstring). Checked
        before anything is stored (errors raised at the first `anext`): the conversation is yours, the question
        is not blank (at most MAX_QUESTION_LENGTH), the provider is configured. `model`: the provider's default
        if None; with the server's key only the configured models. `one_shot`: answered from this question and
        context alone (not the earlier messages), and the same one-shot question with the same context,
        provider and model is answered from the cache for an hour."""
        question = require_text(content, what="question", max_length=MAX_QUESTION_LENGTH, lines=True)
        given = (context or AskContext()).checked()
        backend = self.backend(provider)
        chosen = model_name(model) if model is not None else backend.models[0]
        fitted, cuts = fit_context(given, backend.prompt_chars - len(SYSTEM_PROMPT) - framed_length(question, given))
        current = ChatTurn(Role.USER, render_question(question, fitted))
        now = self._clock()
        stored = ChatMessage(
            conversation_id=conversation_id,
            role=Role.USER,
            content=question,
            metadata={
                "context": {key: value for key, value in asdict(fitted).items() if value is not None},
                "cut": [asdict(cut) for cut in cuts],
                "one_shot": one_shot,
            },
            created_at=now,
        )
        async with self._uow() as uow:  # one transaction: check, read the history, store the question
            conversation = await self._own(uow, actor, conversation_id)
            history = [] if one_shot else list(await uow.chat_messages.of(conversation_id))
            await uow.chat_messages.add(stored)
            title = None if conversation.title else auto_title(question)
            await uow.conversations.update(conversation_id, title=title, at=now)
            await uow.commit()
        earlier, left_out = fit_history(history, backend.prompt_chars - len(SYSTEM_PROMPT) - len(current.content))
        yield Accepted(stored, cuts, left_out)
        turns = (ChatTurn(Role.SYSTEM, SYSTEM_PROMPT), *earlier, current)
        async with aclosing(self._answer(actor, conversation, backend, chosen, turns, one_shot=one_shot)) as events:
            async for event in events:
                yield event

    async def retry(self, actor: Actor, conversation_id: UUID, message_id: UUID) -> AsyncGenerator[AnswerEvent, None]:
        """Ask a question again: `message_id` is a failed or stopped answer, or the question itself. The same
        provider and model as that answer (the default if there was none), the same context as the question
        had; the new answer follows the old one, which is kept. Events as `ask`'s, `Accepted` naming the
        question asked again."""
        async with self._uow() as uow:
            conversation = await self._own(uow, actor, conversation_id)
            messages = list(await uow.chat_messages.of(conversation_id))
        position = next((i for i, message in enumerate(messages) if message.id == message_id), None)
        if position is None:
            raise NotFound("No such message in this conversation.")
        answer = messages[position] if messages[position].role is Role.ASSISTANT else None
        question_at = next((i for i in range(position, -1, -1) if messages[i].role is Role.USER), None)
        if question_at is None:
            raise InvalidInput("That answer has no question to ask again.")
        question = messages[question_at]
        backend = self.backend(answer.metadata.get("provider") if answer else None)
        chosen = str(answer.metadata.get("model") or backend.models[0]) if answer else backend.models[0]
        context = AskContext(**{k: v for k, v in question.metadata.get("context", {}).items() if k in ASK_FIELDS})
        current = ChatTurn(Role.USER, render_question(question.content, context))
        one_shot = bool(question.metadata.get("one_shot"))
        history = [] if one_shot else messages[:question_at]
        earlier, left_out = fit_history(history, backend.prompt_chars - len(SYSTEM_PROMPT) - len(current.content))
        yield Accepted(question, tuple(Cut(**cut) for cut in question.metadata.get("cut", [])), left_out)
        turns = (ChatTurn(Role.SYSTEM, SYSTEM_PROMPT), *earlier, current)
        async with aclosing(self._answer(actor, conversation, backend, chosen, turns, one_shot=one_shot)) as events:
            async for event in events:
                yield event

    async def _answer(
        self,
        actor: Actor,
        conversation: Conversation,
        backend: ChatBackend,
        model: str,
        turns: tuple[ChatTurn, ...],
        *,
        one_shot: bool,
    ) -> AsyncGenerator[AnswerEvent, None]:
        started = self._clock()
        entry = cache_keys.ai_response(cache_digest(provider=backend.name, model=model, prompt=turns))
        if one_shot:
            cached = await self._cache.get(entry)
            if isinstance(cached, str):
                yield Delta(cached)
                usage = AnswerUsage(
                    provider=backend.name, model=model, key="cache", finish_reason="cached", cached=True
                )
                message = await self._store_answer(conversation, cached, usage, AnswerStatus.COMPLETE)
                yield Done(message, usage)
                return
        try:
            key, whose = await self._key(actor, backend, model)
        except (InvalidInput, QuotaExceeded) as refusal:
            usage = AnswerUsage(provider=backend.name, model=model, key="none")
            message = await self._store_answer(conversation, "", usage, AnswerStatus.FAILED, error=refusal.message)
            yield Failed(refusal.message, message)
            return
        request = ChatRequest(model=model, turns=turns, key=key)
        stream = backend.provider.stream(request)
        pieces: list[str] = []
        end: ChatEnd | None = None
        error: str | None = None
        try:
            async for item in stream:
                if isinstance(item, ChatEnd):
                    end = item
                    break
                pieces.append(item)
                yield Delta(item)
            if end is None:
                error = f"{backend.title} stopped sending in the middle of the answer: what arrived is kept."
        except ProviderError as failure:
            error = scrub(failure.message, key)
        finally:
            if end is None and error is None:  # closed early: Stop, or the client went away
                usage = self._usage(backend, model, whose, started, None)
                await survive(
                    self._settle(stream, conversation, "".join(pieces), usage, AnswerStatus.STOPPED, None, one_shot)
                )
        text = "".join(pieces)
        usage = self._usage(backend, model, whose, started, end)
        if end is None:
            message = await self._settle(stream, conversation, text, usage, AnswerStatus.FAILED, error, one_shot)
            yield Failed(error or "", message)
            return
        message = await self._settle(stream, conversation, text, usage, AnswerStatus.COMPLETE, None, one_shot)
        if one_shot:
            await self._cache.set(entry, text)
        yield Done(message, usage)

    def _usage(
        self, backend: ChatBackend, model: str, whose: str, started: datetime, end: ChatEnd | None
    ) -> AnswerUsage:
        elapsed = int((self._clock() - started).total_seconds() * 1000)
        return AnswerUsage(
            provider=backend.name,
            model=model,
            key=whose,
            tokens_in=end.tokens_in if end else None,
            tokens_out=end.tokens_out if end else None,
            latency_ms=max(elapsed, 0),
            finish_reason=end.finish_reason if end else None,
        )

    async def _key(self, actor: Actor, backend: ChatBackend, model: str) -> tuple[str | None, str]:
        """The person's own key for the provider ("own"), else the server's (None, "server") after counting
        one request against their plan (`QuotaExceeded` naming the reset time)."""
        user_id = actor.require_user()
        if backend.own_keys:
            own = await self._keys.active_key(actor, backend.name)
            if own is not None:
                return own, "own"
        if not backend.shared:
            raise InvalidInput(
                f"This server has no {backend.title} key of its own: add yours under Account, AI keys, and ask again."
            )
        if model not in backend.models:
            own = f", or add your own {backend.title} key to use {model}" if backend.own_keys else ""
            raise InvalidInput(
                f"On the server's account, {model} is not offered: choose one of {', '.join(backend.models)}{own}."
            )
        await self._quotas.take_ai_request(user_id)
        return None, "server"

    async def _settle(
        self,
        stream: AsyncGenerator[str | ChatEnd, None],
        conversation: Conversation,
        text: str,
        usage: AnswerUsage,
        status: AnswerStatus,
        error: str | None,
        one_shot: bool,
    ) -> ChatMessage:
        """End the provider's request, record it, and store the answer."""
        await stream.aclose()
        tokens = [count for count in (usage.tokens_in, usage.tokens_out) if count is not None]
        record = UsageRecord(
            user_id=conversation.user_id,
            workspace_id=conversation.workspace_id,
            provider=usage.provider,
            request_type="explanation" if one_shot else "chat",
            tokens_used=sum(tokens) if tokens else None,
            response_time_ms=usage.latency_ms,
            success=status is not AnswerStatus.FAILED,
            error_message=error,
            created_at=self._clock(),
        )
        return await self._store_answer(conversation, text, usage, status, error=error, record=record)

    async def _store_answer(
        self,
        conversation: Conversation,
        text: str,
        usage: AnswerUsage,
        status: AnswerStatus,
        *,
        error: str | None = None,
        record: UsageRecord | None = None,
    ) -> ChatMessage:
        if self._on_answer is not None:
            self._on_answer(usage, status)
        now = self._clock()
        metadata: dict[str, Any] = {**asdict(usage), "status": status.value}
        if error is not None:
            metadata["error"] = error
        message = ChatMessage(
            conversation_id=conversation.id, role=Role.ASSISTANT, content=text, metadata=metadata, created_at=now
        )
        await survive(self._write(conversation, message, record))
        return message

    async def _write(self, conversation: Conversation, message: ChatMessage, record: UsageRecord | None) -> None:
        async with self._uow() as uow:
            if record is not None:
                await uow.ai_usage.add(record)
            await uow.chat_messages.add(message)
            await uow.conversations.update(conversation.id, at=message.created_at)
            await uow.commit()


ASK_FIELDS: Final = frozenset(("path", *PARTS))


def fit_history(messages: Sequence[ChatMessage], budget: int) -> tuple[list[ChatTurn], int]:
    """The earlier questions (with the context each was sent with) and their answers that fit `budget`
    characters, newest kept first; a failed answer is left out, and a question without any other answer
    with it. How many messages were left out for want of room."""
    pairs: list[tuple[ChatTurn, ChatTurn]] = []
    question: ChatMessage | None = None
    for message in messages:
        if message.role is Role.USER:
            question = message
        elif message.role is Role.ASSISTANT and question is not None and message.status is not AnswerStatus.FAILED:
            fields = {k: v for k, v in question.metadata.get("context", {}).items() if k in ASK_FIELDS}
            asked = ChatTurn(Role.USER, render_question(question.content, AskContext(**fields)))
            pairs.append((asked, ChatTurn(Role.ASSISTANT, message.content)))
            question = None
    kept: list[tuple[ChatTurn, ChatTurn]] = []
    room = budget
    for pair in reversed(pairs):
        size = len(pair[0].content) + len(pair[1].content)
        if size > room:
            break
        kept.append(pair)
        room -= size
    turns = [turn for pair in reversed(kept) for turn in pair]
    return turns, 2 * (len(pairs) - len(kept))
