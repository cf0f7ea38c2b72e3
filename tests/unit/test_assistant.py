"""The assistant on fakes: questions and answers stored with their metadata, Stop keeps the partial answer,
failures are stored and retried, own keys are not counted and the server's key stops at the plan's limit,
one usage row per provider request (failed ones too), conversations private to their author, the context
cut to the model's budget, one-shot answers cached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from uuid import UUID, uuid4

import pytest

from domain import cache_keys
from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.ai_keys import AIKeyService
from domain.assistant import (
    Accepted,
    AnswerEvent,
    AskContext,
    AssistantService,
    ChatBackend,
    Cut,
    Delta,
    Done,
    Failed,
    QuickAction,
    cache_digest,
    fit_context,
    quick_question,
)
from domain.chat import AnswerStatus, ChatTurn, ProviderError, Role
from domain.errors import InvalidInput, NotFound, Unauthenticated
from domain.gate import WorkspaceGate
from domain.quotas import QuotaService
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeCache, FakeChatProvider, FakeKeyChecker, FakeSecretBox, FakeUnitOfWork, Store

OWN_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"


@pytest.fixture
def provider() -> FakeChatProvider:
    return FakeChatProvider()


@pytest.fixture
def keys(store: Store, cache: FakeCache, clock: FrozenClock) -> AIKeyService:
    return AIKeyService(
        uow=lambda: FakeUnitOfWork(store),
        cache=cache,
        clock=clock,
        box=FakeSecretBox("k1"),
        checker=FakeKeyChecker(OWN_KEY),
    )


def backend(provider: FakeChatProvider, **changes: object) -> ChatBackend:
    values: dict[str, object] = {
        "name": "openai",
        "title": "OpenAI",
        "models": ("gpt-4o-mini", "gpt-4o"),
        "provider": provider,
        "shared": True,
        "own_keys": True,
    }
    values.update(changes)
    return ChatBackend(**values)  # type: ignore[arg-type]


@pytest.fixture
def assistant(
    store: Store,
    cache: FakeCache,
    clock: FrozenClock,
    gate: WorkspaceGate,
    keys: AIKeyService,
    provider: FakeChatProvider,
) -> AssistantService:
    return AssistantService(
        uow=lambda: FakeUnitOfWork(store),
        cache=cache,
        clock=clock,
        gate=gate,
        keys=keys,
        quotas=QuotaService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock),
        backends=[
            backend(provider),
            backend(FakeChatProvider("Gemini says hi."), name="gemini", title="Gemini", models=("gemini-2.5-flash",)),
        ],
    )


@pytest.fixture
async def workspace(workspaces: WorkspaceService, owner: Actor) -> UUID:
    return (await workspaces.create(owner, name="Chat", language="python")).id


async def collect(events: AsyncGenerator[AnswerEvent, None]) -> list[AnswerEvent]:
    return [event async for event in events]


async def test_a_question_and_its_streamed_answer_are_stored_with_their_metadata(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider, store: Store
) -> None:
    conversation = await assistant.start(owner, workspace)
    events = await collect(assistant.ask(owner, conversation.id, "  How do I read a file?\n", provider="openai"))

    accepted, *deltas, done = events
    assert isinstance(accepted, Accepted) and accepted.question.content == "How do I read a file?"
    assert [event.text for event in deltas if isinstance(event, Delta)] == ["Hello", ", ", "world."]
    assert isinstance(done, Done)
    assert done.usage.provider == "openai" and done.usage.model == "gpt-4o-mini" and done.usage.key == "server"
    assert done.usage.tokens_out == 3 and done.usage.finish_reason == "stop"
    stored, messages = await assistant.get(owner, conversation.id)
    assert stored.title == "How do I read a file?"  # titled from the first question
    assert [(m.role, m.content) for m in messages] == [
        (Role.USER, "How do I read a file?"),
        (Role.ASSISTANT, "Hello, world."),
    ]
    answer = messages[1]
    assert answer.id == done.message.id and answer.status is AnswerStatus.COMPLETE
    assert {"provider", "model", "tokens_in", "tokens_out", "latency_ms", "finish_reason"} <= set(answer.metadata)
    (request,) = provider.requests
    assert request.turns[0].role is Role.SYSTEM and request.turns[-1] == ChatTurn(Role.USER, "How do I read a file?")
    assert request.key is None  # the server's key


async def test_later_questions_carry_the_conversation_and_keep_the_title(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider
) -> None:
    conversation = await assistant.start(owner, workspace)
    await collect(assistant.ask(owner, conversation.id, "First question"))
    await collect(assistant.ask(owner, conversation.id, "Second question"))

    turns = provider.requests[-1].turns
    assert [(t.role, t.content) for t in turns[1:]] == [
        (Role.USER, "First question"),
        (Role.ASSISTANT, "Hello, world."),
        (Role.USER, "Second question"),
    ]
    assert (await assistant.get(owner, conversation.id))[0].title == "First question"


async def test_stop_keeps_what_arrived_marked_stopped(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider, store: Store
) -> None:
    conversation = await assistant.start(owner, workspace)
    events = assistant.ask(owner, conversation.id, "Tell me a long story")
    assert isinstance(await anext(events), Accepted)
    assert await anext(events) == Delta("Hello")
    assert await anext(events) == Delta(", ")
    await events.aclose()  # Stop

    _, messages = await assistant.get(owner, conversation.id)
    assert messages[-1].content == "Hello, " and messages[-1].status is AnswerStatus.STOPPED
    assert provider.closed == 1  # the provider's request ended too
    (record,) = store.ai_usage
    assert record.success and record.request_type == "chat"


async def test_a_client_gone_mid_answer_keeps_what_arrived_marked_stopped(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider, store: Store
) -> None:
    conversation = await assistant.start(owner, workspace)
    provider.pause = 0.05
    arrived: list[AnswerEvent] = []

    async def listen() -> None:
        async for event in assistant.ask(owner, conversation.id, "Stream slowly"):
            arrived.append(event)

    listening = asyncio.create_task(listen())
    while not any(isinstance(event, Delta) for event in arrived):
        await asyncio.sleep(0.01)
    listening.cancel()  # the connection closed: the request's task is cancelled mid-answer
    with pytest.raises(asyncio.CancelledError):
        await listening
    await asyncio.sleep(0.05)  # the answer is stored by a task of its own

    _, messages = await assistant.get(owner, conversation.id)
    assert messages[-1].status is AnswerStatus.STOPPED and messages[-1].content == "Hello"
    assert provider.closed == 1 and len(store.ai_usage) == 1


@pytest.mark.parametrize(
    ("fail_after", "cut", "reason", "kept"),
    [
        (0, False, "OpenAI refused the key (401).", ""),
        (2, False, "OpenAI answered 500.", "Hello, "),
        (0, True, "OpenAI stopped sending in the middle of the answer", "Hello, world."),
    ],
)
async def test_a_failure_keeps_the_partial_answer_with_its_reason_and_retry_asks_again(
    assistant: AssistantService,
    owner: Actor,
    workspace: UUID,
    provider: FakeChatProvider,
    store: Store,
    fail_after: int,
    cut: bool,
    reason: str,
    kept: str,
) -> None:
    conversation = await assistant.start(owner, workspace)
    provider.fail = None if cut else ProviderError(reason)
    provider.fail_after, provider.cut = fail_after, cut

    *_, last = await collect(assistant.ask(owner, conversation.id, "Why?", context=AskContext(selection="x = 1")))

    assert isinstance(last, Failed) and last.detail.startswith(reason)
    assert last.message.content == kept and last.message.status is AnswerStatus.FAILED
    assert last.message.error == last.detail and "Traceback" not in last.detail
    provider.fail, provider.cut = None, False
    events = await collect(assistant.retry(owner, conversation.id, last.message.id))
    assert isinstance(events[0], Accepted) and events[0].question.content == "Why?"
    assert isinstance(events[-1], Done)
    assert provider.requests[-1].turns == provider.requests[0].turns  # the same question, with its context
    _, messages = await assistant.get(owner, conversation.id)
    assert [m.status for m in messages] == [None, AnswerStatus.FAILED, AnswerStatus.COMPLETE]  # nothing lost
    assert [r.success for r in store.ai_usage] == [False, True]
    assert store.ai_usage[0].error_message == last.detail


async def test_a_failed_answer_is_not_sent_again_as_history(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider
) -> None:
    conversation = await assistant.start(owner, workspace)
    provider.fail = ProviderError("OpenAI answered 503.")
    await collect(assistant.ask(owner, conversation.id, "Lost question"))
    provider.fail = None
    await collect(assistant.ask(owner, conversation.id, "Next question"))

    assert [t.content for t in provider.requests[-1].turns[1:]] == ["Next question"]


async def test_the_servers_key_stops_at_the_plans_daily_limit_naming_the_reset(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider, store: Store
) -> None:
    conversation = await assistant.start(owner, workspace)
    for _ in range(25):  # the free plan's AI requests a day
        assert isinstance((await collect(assistant.ask(owner, conversation.id, "Again?")))[-1], Done)

    *_, refused = await collect(assistant.ask(owner, conversation.id, "One more?"))

    assert isinstance(refused, Failed)
    assert refused.detail.startswith("You have used the 25 AI requests a day your plan (Free) gives")
    assert "it resets at 2026-01-02 00:00 UTC" in refused.detail
    assert len(provider.requests) == 25 and len(store.ai_usage) == 25  # refused before any request
    _, messages = await assistant.get(owner, conversation.id)
    assert messages[-2].content == "One more?" and messages[-1].status is AnswerStatus.FAILED  # the question is kept


async def test_an_own_key_is_used_first_and_not_counted(
    assistant: AssistantService,
    keys: AIKeyService,
    owner: Actor,
    workspace: UUID,
    provider: FakeChatProvider,
    store: Store,
) -> None:
    await keys.add(owner, provider="openai", name="Mine", key=OWN_KEY)
    conversation = await assistant.start(owner, workspace)
    provider.fail = ProviderError(f"OpenAI refused the key {OWN_KEY} (401).")

    *_, failed = await collect(assistant.ask(owner, conversation.id, "Hi", model="gpt-4.1"))  # any model on one's own

    assert provider.requests[0].key == OWN_KEY
    assert isinstance(failed, Failed) and OWN_KEY not in failed.detail and OWN_KEY not in repr(store.chat_messages)
    provider.fail = None
    *_, done = await collect(assistant.ask(owner, conversation.id, "Hi"))
    assert isinstance(done, Done) and done.usage.key == "own"
    assert store.users[owner.user_id].ai_quota_used == 0  # type: ignore[index]
    assert [r.success for r in store.ai_usage] == [False, True]  # every request, failed ones too


async def test_the_servers_key_only_serves_the_configured_models(
    assistant: AssistantService, owner: Actor, workspace: UUID, provider: FakeChatProvider
) -> None:
    conversation = await assistant.start(owner, workspace)

    *_, refused = await collect(assistant.ask(owner, conversation.id, "Hi", model="gpt-4.5-preview"))

    assert isinstance(refused, Failed) and refused.detail == (
        "On the server's account, gpt-4.5-preview is not offered: choose one of gpt-4o-mini, gpt-4o, "
        "or add your own OpenAI key to use gpt-4.5-preview."
    )
    assert provider.requests == []


async def test_a_provider_without_a_server_key_asks_for_ones_own(
    store: Store,
    cache: FakeCache,
    clock: FrozenClock,
    gate: WorkspaceGate,
    keys: AIKeyService,
    owner: Actor,
    workspace: UUID,
    provider: FakeChatProvider,
) -> None:
    own_only = AssistantService(
        uow=lambda: FakeUnitOfWork(store),
        cache=cache,
        clock=clock,
        gate=gate,
        keys=keys,
        quotas=QuotaService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock),
        backends=[backend(provider, shared=False)],
    )
    conversation = await own_only.start(owner, workspace)

    *_, refused = await collect(own_only.ask(owner, conversation.id, "Hi"))

    assert isinstance(refused, Failed) and "add yours under Account, AI keys" in refused.detail
    assert provider.requests == [] and store.ai_usage == []


async def test_conversations_are_private_to_their_author_readers_may_chat(
    assistant: AssistantService,
    accounts: AccountService,
    owner: Actor,
    workspace: UUID,
    store: Store,
) -> None:
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    share(store, workspace, owner, reader, PermissionLevel.READ)
    mine = await assistant.start(owner, workspace, title="Mine")
    theirs = await assistant.start(reader, workspace)
    assert isinstance((await collect(assistant.ask(reader, theirs.id, "What is this?")))[-1], Done)

    assert [c.id for c in await assistant.conversations(owner, workspace)] == [mine.id]
    assert [c.id for c in await assistant.conversations(reader, workspace)] == [theirs.id]
    for other, conversation in [(reader, mine.id), (owner, theirs.id), (stranger, mine.id)]:
        for attempt in (
            assistant.get(other, conversation),
            assistant.rename(other, conversation, "Taken"),
            assistant.delete(other, conversation),
            anext(assistant.ask(other, conversation, "Peek")),
        ):
            with pytest.raises(NotFound, match=r"No such conversation, or it is not yours\."):
                await attempt
    with pytest.raises(NotFound, match="No such conversation"):
        await assistant.get(owner, uuid4())
    with pytest.raises(NotFound, match="No such workspace"):
        await assistant.start(stranger, workspace)
    with pytest.raises(Unauthenticated):
        await assistant.conversations(ANONYMOUS, workspace)
    store.shares.clear()  # access ended: the reader's own conversation goes with it
    with pytest.raises(NotFound):
        await assistant.get(reader, theirs.id)


async def test_rename_and_delete(assistant: AssistantService, owner: Actor, workspace: UUID, store: Store) -> None:
    conversation = await assistant.start(owner, workspace)
    await collect(assistant.ask(owner, conversation.id, "Question"))

    assert (await assistant.rename(owner, conversation.id, "  Renamed ")).title == "Renamed"
    with pytest.raises(InvalidInput, match="conversation title cannot be empty"):
        await assistant.rename(owner, conversation.id, " ")
    with pytest.raises(InvalidInput, match="conversation title cannot be empty"):
        await assistant.start(owner, workspace, title="")
    await assistant.delete(owner, conversation.id)

    assert await assistant.conversations(owner, workspace) == []
    assert store.chat_messages == [] and len(store.ai_usage) == 1  # the usage record counts the request still


async def test_bad_questions_and_providers_are_refused_before_anything_is_stored(
    assistant: AssistantService, owner: Actor, workspace: UUID, store: Store
) -> None:
    conversation = await assistant.start(owner, workspace)
    for content, provider, message in [
        (" \n ", None, "The question cannot be empty"),
        ("x" * 20_001, None, "at most 20000 characters"),
        ("Hi", "anthropic", "Unknown AI provider 'anthropic': choose one of openai, gemini"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await anext(assistant.ask(owner, conversation.id, content, provider=provider))
    with pytest.raises(InvalidInput, match="path"):
        await anext(assistant.ask(owner, conversation.id, "Hi", context=AskContext(path="../etc/passwd")))
    assert store.chat_messages == []


def test_models_lists_the_configured_providers_default_first(assistant: AssistantService) -> None:
    assert assistant.models() == {"openai": ["gpt-4o-mini", "gpt-4o"], "gemini": ["gemini-2.5-flash"]}


async def test_another_provider_and_model_are_used_when_chosen(
    assistant: AssistantService, owner: Actor, workspace: UUID
) -> None:
    conversation = await assistant.start(owner, workspace)
    *_, done = await collect(assistant.ask(owner, conversation.id, "Hi", provider="gemini"))
    assert isinstance(done, Done) and done.message.content == "Gemini says hi."
    assert (done.usage.provider, done.usage.model) == ("gemini", "gemini-2.5-flash")


def test_the_context_is_cut_to_the_budget_output_first_keeping_an_errors_end() -> None:
    context = AskContext(path="main.py", file="f" * 100, selection="s" * 10, output="o" * 50, error="E" * 20 + "end")
    whole, none_cut = fit_context(context, 1_000)
    assert whole == context and none_cut == ()

    fitted, cuts = fit_context(context, 100)

    assert cuts == (Cut("file", 67, 100), Cut("output", 0, 50))
    assert fitted.output is None and fitted.file == "f" * 67 and fitted.error == context.error
    fitted, cuts = fit_context(context, 5)
    assert cuts == (Cut("file", 0, 100), Cut("selection", 5, 10), Cut("output", 0, 50), Cut("error", 0, 23))
    assert fitted.selection == "sssss"
    _, cuts = fit_context(AskContext(error="a" * 10 + "the end"), 7)
    assert fit_context(AskContext(error="a" * 10 + "the end"), 7)[0].error == "the end" and cuts[0].kept == 7


async def test_a_context_over_the_models_window_is_cut_and_the_cut_reported(
    store: Store,
    cache: FakeCache,
    clock: FrozenClock,
    gate: WorkspaceGate,
    keys: AIKeyService,
    owner: Actor,
    workspace: UUID,
    provider: FakeChatProvider,
) -> None:
    small = AssistantService(
        uow=lambda: FakeUnitOfWork(store),
        cache=cache,
        clock=clock,
        gate=gate,
        keys=keys,
        quotas=QuotaService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock),
        backends=[backend(provider, context_tokens=2_048 + 1_000)],  # 4,000 characters of prompt
    )
    conversation = await small.start(owner, workspace)
    context = AskContext(path="big.py", file="x = 1\n" * 2_000, error="Traceback ...\nValueError: boom")

    accepted, *_ = await collect(small.ask(owner, conversation.id, "Why does it fail?", context=context))

    assert isinstance(accepted, Accepted) and [cut.part for cut in accepted.cuts] == ["file"]
    assert accepted.cuts[0].total == 12_000 and accepted.cuts[0].kept < 4_000
    assert accepted.question.metadata["cut"] == [{"part": "file", "kept": accepted.cuts[0].kept, "total": 12_000}]
    sent = provider.requests[0].turns[-1].content
    assert "ValueError: boom" in sent and sent.endswith("Why does it fail?")
    assert sum(len(turn.content) for turn in provider.requests[0].turns) <= 4_000


async def test_one_shot_answers_are_cached_for_an_hour_by_provider_model_and_prompt(
    assistant: AssistantService,
    owner: Actor,
    workspace: UUID,
    provider: FakeChatProvider,
    cache: FakeCache,
    store: Store,
) -> None:
    conversation = await assistant.start(owner, workspace)
    context = AskContext(path="main.py", selection="print(sum(range(10)))")
    question = quick_question(QuickAction.EXPLAIN, context)

    first = await collect(assistant.ask(owner, conversation.id, question, context=context, one_shot=True))
    again = await collect(assistant.ask(owner, conversation.id, question, context=context, one_shot=True))

    assert isinstance(first[-1], Done) and isinstance(again[-1], Done)
    assert again[-1].usage.cached and again[-1].message.content == "Hello, world."
    assert len(provider.requests) == 1 and len(store.ai_usage) == 1  # the cached answer asked nobody
    assert store.ai_usage[0].request_type == "explanation"
    digest = cache_digest(provider="openai", model="gpt-4o-mini", prompt=provider.requests[0].turns)
    assert cache.entries[cache_keys.ai_response(digest).name] == (3600, "Hello, world.")
    await collect(assistant.ask(owner, conversation.id, question, context=context, one_shot=True, model="gpt-4o"))
    other = AskContext(path="main.py", selection="print(1)")
    await collect(assistant.ask(owner, conversation.id, question, context=other, one_shot=True))
    assert len(provider.requests) == 3  # another model, another context: asked again
    assert store.users[owner.user_id].ai_quota_used == 3  # type: ignore[index]


def test_quick_actions_name_what_they_need() -> None:
    context = AskContext(path="main.py", file="print(x)\n", selection="print(x)", error="NameError: x")
    assert quick_question(QuickAction.EXPLAIN, context).startswith("Explain the selected code from `main.py`")
    assert "failed with the error shown" in quick_question(QuickAction.FIX, context)
    assert quick_question(QuickAction.TESTS, context).startswith("Write unit tests for `main.py`")
    for action, message in [
        (QuickAction.EXPLAIN, "Select the code"),
        (QuickAction.FIX, "no error to fix"),
        (QuickAction.TESTS, "Open the file"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            quick_question(action, AskContext())


async def test_every_answer_that_ends_reaches_the_instances_metrics(
    store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate, keys: AIKeyService,
    provider: FakeChatProvider, owner: Actor, workspace: UUID,
) -> None:  # fmt: skip
    from tests.unit.test_metrics import samples
    from ui.metrics import Metrics

    metrics = Metrics()
    measured = AssistantService(
        uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, gate=gate, keys=keys,
        quotas=QuotaService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock),
        backends=[backend(provider)], on_answer=metrics.answer_finished,
    )  # fmt: skip
    conversation = await measured.start(owner, workspace)
    await collect(measured.ask(owner, conversation.id, "Hi?", provider="openai"))
    await collect(measured.ask(owner, conversation.id, "Again?", provider="openai"))

    found = samples(metrics)
    labels = (("key", "server"), ("model", "gpt-4o-mini"), ("provider", "openai"), ("status", "complete"))
    assert found[("codeloft_ai_requests_total", labels)] == 2
    out = (("direction", "out"), ("model", "gpt-4o-mini"), ("provider", "openai"))
    assert found[("codeloft_ai_tokens_total", out)] == 6
