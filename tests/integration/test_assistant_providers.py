"""The chat adapters through the real openai and google-genai clients against the local fake providers: what
each provider is sent (the protocol, the key in its place), the answer in pieces with its usage, and what a
refused key, 429, 500, a cut stream and Stop become; no message holds a key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from ai.gemini_chat import GeminiChat
from ai.openai_chat import OpenAIChat
from domain.chat import ChatEnd, ChatRequest, ChatTurn, ProviderError, Role
from tests.ai_providers import ANSWER, GEMINI_KEY, OPENAI_KEY, ChatScript, FakeProviders, fake_providers

OWN_OPENAI_KEY = "sk-proj-personalKEYpersonalKEY00000000wxyz"
OWN_GEMINI_KEY = "AIzaSyPersonalKEYpersonalKEY00000000qrst"
TURNS = (
    ChatTurn(Role.SYSTEM, "Be brief."),
    ChatTurn(Role.USER, "What is 1 + 1?"),
    ChatTurn(Role.ASSISTANT, "2."),
    ChatTurn(Role.USER, "And 2 + 2?"),
)


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        fake.openai_keys.add(OWN_OPENAI_KEY)
        fake.gemini_keys.add(OWN_GEMINI_KEY)
        yield fake


@pytest.fixture(autouse=True)
def fresh(providers: FakeProviders) -> None:
    providers.requests.clear()
    providers.chat = ChatScript()


@pytest.fixture
async def openai_chat(providers: FakeProviders) -> AsyncIterator[OpenAIChat]:
    chat = OpenAIChat(base_url=providers.openai_url, api_key=OPENAI_KEY)
    yield chat
    await chat.close()


@pytest.fixture
async def gemini_chat(providers: FakeProviders) -> AsyncIterator[GeminiChat]:
    chat = GeminiChat(base_url=providers.gemini_url, api_key=GEMINI_KEY)
    yield chat
    await chat.close()


MODELS = {"openai": "gpt-4o-mini", "gemini": "gemini-2.5-flash"}


@pytest.fixture(params=["openai", "gemini"])
def adapter(request: pytest.FixtureRequest, openai_chat: OpenAIChat, gemini_chat: GeminiChat) -> tuple[str, object]:
    return request.param, openai_chat if request.param == "openai" else gemini_chat


async def answer(chat: object, request: ChatRequest) -> list[str | ChatEnd]:
    return [item async for item in chat.stream(request)]  # type: ignore[attr-defined]


async def test_openai_streams_the_answer_with_its_usage(openai_chat: OpenAIChat, providers: FakeProviders) -> None:
    items = await answer(openai_chat, ChatRequest(model="gpt-4o-mini", turns=TURNS))

    *pieces, end = items
    assert pieces == list(ANSWER)
    assert end == ChatEnd(tokens_in=sum(len(t.content) for t in TURNS) // 4, tokens_out=5, finish_reason="stop")
    (seen,) = providers.chats()
    assert seen.path == "/openai/v1/chat/completions" and seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert seen.body["stream"] is True and seen.body["stream_options"] == {"include_usage": True}
    assert seen.body["model"] == "gpt-4o-mini"
    assert [(m["role"], m["content"]) for m in seen.body["messages"]] == [(t.role.value, t.content) for t in TURNS]


async def test_gemini_streams_the_answer_with_its_usage(gemini_chat: GeminiChat, providers: FakeProviders) -> None:
    items = await answer(gemini_chat, ChatRequest(model="gemini-2.5-flash", turns=TURNS))

    *pieces, end = items
    assert pieces == list(ANSWER)
    assert isinstance(end, ChatEnd) and end.finish_reason == "STOP" and end.tokens_out == 5
    (seen,) = providers.chats()
    assert seen.path == "/gemini/v1/models/gemini-2.5-flash:streamGenerateContent" and seen.query == "alt=sse"
    assert seen.headers["x-goog-api-key"] == GEMINI_KEY and "authorization" not in seen.headers
    assert seen.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert [(c["role"], c["parts"][0]["text"]) for c in seen.body["contents"]] == [
        ("user", "What is 1 + 1?"),
        ("model", "2."),
        ("user", "And 2 + 2?"),
    ]


async def test_a_persons_own_key_is_sent_instead_of_the_servers(
    openai_chat: OpenAIChat, gemini_chat: GeminiChat, providers: FakeProviders
) -> None:
    await answer(openai_chat, ChatRequest(model="gpt-4o", turns=TURNS, key=OWN_OPENAI_KEY))
    await answer(gemini_chat, ChatRequest(model="gemini-2.5-pro", turns=TURNS, key=OWN_GEMINI_KEY))
    await answer(openai_chat, ChatRequest(model="gpt-4o", turns=TURNS))

    assert providers.keys_sent() == [OWN_OPENAI_KEY, OWN_GEMINI_KEY, OPENAI_KEY]


async def test_an_openai_compatible_server_is_the_openai_adapter_at_its_own_address(providers: FakeProviders) -> None:
    local = OpenAIChat(base_url=providers.compatible_url, api_key=None, title="Ollama")
    try:
        *pieces, end = await answer(local, ChatRequest(model="llama3.2", turns=TURNS))
    finally:
        await local.close()

    assert "".join(pieces) == "".join(ANSWER) and isinstance(end, ChatEnd)
    (seen,) = providers.chats()
    assert seen.path == "/compatible/v1/chat/completions" and seen.body["model"] == "llama3.2"


@pytest.mark.parametrize(
    ("script", "own", "message"),
    [
        (ChatScript(), True, "{title} refused the key (40"),  # OpenAI 401, Gemini 400 API_KEY_INVALID
        (ChatScript(status=429), False, "{title} is receiving too many requests (429"),
        (ChatScript(status=500), False, "{title} failed (500"),
    ],
    ids=["refused key", "429", "500"],
)
async def test_refusals_and_failures_are_provider_errors_without_the_key(
    adapter: tuple[str, object], providers: FakeProviders, script: ChatScript, own: bool, message: str
) -> None:
    name, chat = adapter
    providers.chat = script
    wrong = {"openai": "sk-proj-notAKeyTheFakeTakes0000000000zzzz", "gemini": "AIzaNotAKeyTheFakeTakes00000000000zzzz"}
    key = wrong[name] if own else None

    with pytest.raises(ProviderError) as failed:
        await answer(chat, ChatRequest(model=MODELS[name], turns=TURNS, key=key))

    title = "OpenAI" if name == "openai" else "Gemini"
    assert failed.value.message.startswith(message.format(title=title)), failed.value.message
    if own:
        assert "check your key under Account, AI keys" in failed.value.message
    for secret in (OPENAI_KEY, GEMINI_KEY, wrong[name]):
        assert secret not in failed.value.message
    assert len(providers.chats()) == 1  # asked once: no silent retries


async def test_a_stream_cut_in_the_middle_fails_after_what_arrived(
    adapter: tuple[str, object], providers: FakeProviders
) -> None:
    name, chat = adapter
    providers.chat = ChatScript(cut_after=2)
    arrived: list[str | ChatEnd] = []

    with pytest.raises(ProviderError, match="broke off in the middle of the answer"):
        async for item in chat.stream(ChatRequest(model=MODELS[name], turns=TURNS)):  # type: ignore[attr-defined]
            arrived.append(item)

    assert arrived == list(ANSWER[:2])


async def test_tokens_arrive_as_they_are_sent_and_closing_early_ends_the_request(
    adapter: tuple[str, object], providers: FakeProviders
) -> None:
    name, chat = adapter
    providers.chat = ChatScript(delay=0.2)
    stream = chat.stream(ChatRequest(model=MODELS[name], turns=TURNS))  # type: ignore[attr-defined]
    start = time.monotonic()

    first = await anext(stream)
    first_after = time.monotonic() - start
    await stream.aclose()  # Stop

    assert first == ANSWER[0] and 0.2 <= first_after < 0.9  # the first token, not the whole answer
    assert time.monotonic() - start < 0.9
