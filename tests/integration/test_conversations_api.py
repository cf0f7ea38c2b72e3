"""The assistant through the real server on PostgreSQL, with the fake providers behind the real SDKs: an answer
streams as server-sent events in pieces and is stored with its metadata, a cut stream keeps the partial
answer marked failed and Retry answers, Stop (closing the connection) keeps what arrived, the server's key
stops at the plan's limit while one's own is not counted, every provider request is an `ai_usage_logs`
row, and a conversation is private to its author."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.ai_providers import ANSWER, OPENAI_KEY, ChatScript, FakeProviders, fake_providers
from tests.api_client import NOWHERE, User, refused, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.postgres

DAILY = 12
"""The free plan's AI requests a day on this server (CODELOFT_PLANS)."""
OWN_KEY = "sk-proj-adasOwnKEYadasOwnKEY000000000own1"
Event = tuple[str, dict[str, Any]]
CONTEXT = {"path": "main.py", "file": "print(x)\n", "error": "NameError"}


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        fake.openai_keys.add(OWN_KEY)
        yield fake


@pytest.fixture(autouse=True)
def script(providers: FakeProviders) -> Iterator[None]:
    providers.chat = ChatScript()
    yield
    providers.chat = ChatScript()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, providers: FakeProviders, postgres_dsn: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("assistant")
    plans = folder / "plans.json"
    plans.write_text(json.dumps({"free": {"ai_requests_per_day": DAILY}}))
    running = start_server(
        folder / "data", CODELOFT_DATABASE_URL=postgres_dsn, CODELOFT_PLANS=str(plans), **providers.chat_settings()
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> User:
    return sign_in(server, "ann@example.com")


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return sign_in(server, "bob@example.com")


@pytest.fixture(scope="module")
def workspace(ann: User) -> str:
    return ann.create("Assistant")


def start(user: User, ws: str, **body: Any) -> str:
    created = user.post(f"/api/v1/workspaces/{ws}/conversations", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def events_of(response: httpx.Response) -> Iterator[Event]:
    name, data = "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and name:
            yield name, json.loads(data)
            name, data = "", ""


def ask(user: User, conversation: str, content: str = "How do I read a file?", **body: Any) -> list[Event]:
    with user.client.stream(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": content, **body},
        headers=user.headers,
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(events_of(response))


def messages(user: User, conversation: str) -> list[dict[str, Any]]:
    answer = user.client.get(f"/api/v1/conversations/{conversation}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


async def usage_rows(postgres_dsn: str, email: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        rows = await connection.fetch(
            "SELECT l.* FROM ai_usage_logs l JOIN users u ON u.id = l.user_id WHERE u.email = $1 ORDER BY l.created_at",
            email,
        )
    finally:
        await connection.close()
    return [dict(row) for row in rows]


def test_the_models_offered(ann: User) -> None:
    models = ann.client.get("/api/v1/ai/models")
    assert models.status_code == 200
    assert models.json() == {
        "openai": ["gpt-4o-mini", "gpt-4o"],
        "gemini": ["gemini-2.5-flash", "gemini-2.5-pro"],
        "compatible": ["llama3.2"],
    }


async def test_an_answer_streams_in_pieces_and_is_stored_with_its_metadata(
    ann: User, workspace: str, providers: FakeProviders, postgres_dsn: str
) -> None:
    conversation = start(ann, workspace)
    providers.chat = ChatScript(delay=0.15)
    arrivals = []
    with ann.client.stream(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "Why does it fail?", "context": CONTEXT},
        headers=ann.headers,
    ) as response:
        assert response.status_code == 200, response.read()
        for event in events_of(response):
            arrivals.append((time.monotonic(), event))

    names = [name for _, (name, _) in arrivals]
    assert names == ["question", *["delta"] * len(ANSWER), "done"]
    assert "".join(data["text"] for _, (name, data) in arrivals if name == "delta") == "".join(ANSWER)
    assert arrivals[-1][0] - arrivals[1][0] >= 0.15 * (len(ANSWER) - 1) * 0.9  # pieces, not one lump at the end
    done = arrivals[-1][1][1]
    assert done["usage"]["provider"] == "openai" and done["usage"]["model"] == "gpt-4o-mini"
    assert done["usage"]["key"] == "server" and done["usage"]["tokens_out"] == len(ANSWER)
    sent = providers.chats()[-1].body["messages"][-1]["content"]
    assert "print(x)" in sent and "NameError" in sent and sent.endswith("Why does it fail?")

    detail = ann.client.get(f"/api/v1/conversations/{conversation}").json()
    assert detail["title"] == "Why does it fail?"
    question, answer = detail["messages"]
    assert (question["role"], question["content"], question["status"]) == ("user", "Why does it fail?", None)
    assert question["metadata"]["context"] == CONTEXT
    assert (answer["role"], answer["content"], answer["status"]) == ("assistant", "".join(ANSWER), "complete")
    assert answer["id"] == done["message_id"] and answer["metadata"]["latency_ms"] >= 600
    assert answer["metadata"]["finish_reason"] == "stop"
    (row,) = await usage_rows(postgres_dsn, "ann@example.com")
    assert (row["provider"], row["request_type"], row["success"], row["error_message"]) == (
        "openai",
        "chat",
        True,
        None,
    )
    assert row["tokens_used"] == done["usage"]["tokens_in"] + len(ANSWER) and row["response_time_ms"] >= 600


@pytest.mark.parametrize("provider", ["gemini", "compatible"])
def test_other_providers_answer_the_same_way(ann: User, workspace: str, provider: str) -> None:
    conversation = start(ann, workspace)
    *_, (name, done) = ask(ann, conversation, provider=provider)
    assert name == "done" and done["usage"]["provider"] == provider
    assert messages(ann, conversation)[-1]["content"] == "".join(ANSWER)


async def test_a_cut_stream_keeps_the_partial_answer_and_retry_answers(
    ann: User, workspace: str, providers: FakeProviders, postgres_dsn: str
) -> None:
    conversation = start(ann, workspace)
    before = len(await usage_rows(postgres_dsn, "ann@example.com"))
    providers.chat = ChatScript(cut_after=2)

    events = ask(ann, conversation, "Explain generators")

    assert [name for name, _ in events] == ["question", "delta", "delta", "error"]
    error = events[-1][1]
    assert error["detail"].startswith("OpenAI broke off in the middle of the answer")
    failed = messages(ann, conversation)[-1]
    assert (failed["id"], failed["status"], failed["content"]) == (error["message_id"], "failed", "".join(ANSWER[:2]))
    assert failed["metadata"]["error"] == error["detail"]

    providers.chat = ChatScript()
    with ann.client.stream(
        "POST", f"/api/v1/conversations/{conversation}/messages/{failed['id']}/retry", headers=ann.headers
    ) as response:
        retried = list(events_of(response))
    assert retried[0] == ("question", {"message_id": messages(ann, conversation)[0]["id"], "cut": [], "left_out": 0})
    assert retried[-1][0] == "done"
    assert [m["status"] for m in messages(ann, conversation)] == [None, "failed", "complete"]  # nothing lost
    rows = (await usage_rows(postgres_dsn, "ann@example.com"))[before:]
    assert [(row["success"], row["error_message"]) for row in rows] == [(False, error["detail"]), (True, None)]


@pytest.mark.parametrize(
    ("status", "detail"),
    [(429, "OpenAI is receiving too many requests (429"), (500, "OpenAI failed (500")],
)
def test_a_provider_refusing_is_an_error_event_without_the_key(
    ann: User, workspace: str, providers: FakeProviders, server: Server, status: int, detail: str
) -> None:
    conversation = start(ann, workspace)
    providers.chat = ChatScript(status=status)

    events = ask(ann, conversation)

    assert [name for name, _ in events] == ["question", "error"] and events[-1][1]["detail"].startswith(detail)
    assert OPENAI_KEY not in json.dumps(events) and OPENAI_KEY not in "".join(server.output)


def test_closing_the_stream_is_stop_and_keeps_what_arrived(ann: User, workspace: str, providers: FakeProviders) -> None:
    conversation = start(ann, workspace)
    providers.chat = ChatScript(delay=0.3)
    with ann.client.stream(
        "POST", f"/api/v1/conversations/{conversation}/messages", json={"content": "Go on"}, headers=ann.headers
    ) as response:
        events = events_of(response)
        assert next(events)[0] == "question"
        assert next(events) == ("delta", {"text": ANSWER[0]})
    # the connection is closed: the server stops and keeps the first piece
    deadline = time.monotonic() + 10
    while len(stored := messages(ann, conversation)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored[-1]["status"] == "stopped" and stored[-1]["content"].startswith(ANSWER[0])
    assert len(stored[-1]["content"]) < len("".join(ANSWER))


def test_conversations_are_private_and_readers_may_chat(ann: User, bob: User, workspace: str, server: Server) -> None:
    mine = start(ann, workspace, title="Private")
    listed = ann.client.get(f"/api/v1/workspaces/{workspace}/conversations").json()
    assert listed[0]["title"] == "Private"
    refused(bob.client.get(f"/api/v1/workspaces/{workspace}/conversations"), 404, "No such workspace")
    refused(bob.post(f"/api/v1/workspaces/{workspace}/conversations", json={}), 404, "No such workspace")
    for response in (
        bob.client.get(f"/api/v1/conversations/{mine}"),
        bob.client.patch(f"/api/v1/conversations/{mine}", json={"title": "Mine now"}, headers=bob.headers),
        bob.client.delete(f"/api/v1/conversations/{mine}", headers=bob.headers),
        bob.post(f"/api/v1/conversations/{mine}/messages", json={"content": "Peek"}),
        bob.client.get(f"/api/v1/conversations/{NOWHERE}"),
    ):
        refused(response, 404, "No such conversation, or it is not yours.")
    refused(httpx.get(f"{server.base_url}/api/v1/conversations/{mine}", timeout=30), 401, "Sign in")

    public = ann.client.patch(f"/api/v1/workspaces/{workspace}", json={"is_public": True}, headers=ann.headers)
    assert public.status_code == 200
    try:
        theirs = start(bob, workspace)  # whoever may read the workspace may ask about it
        assert ask(bob, theirs)[-1][0] == "done"
        assert [c["id"] for c in bob.client.get(f"/api/v1/workspaces/{workspace}/conversations").json()] == [theirs]
        assert theirs not in ann.client.get(f"/api/v1/workspaces/{workspace}/conversations").text
        refused(ann.client.get(f"/api/v1/conversations/{theirs}"), 404, "No such conversation")
    finally:
        ann.client.patch(f"/api/v1/workspaces/{workspace}", json={"is_public": False}, headers=ann.headers)


def test_rename_and_delete(ann: User, workspace: str) -> None:
    conversation = start(ann, workspace)
    renamed = ann.client.patch(f"/api/v1/conversations/{conversation}", json={"title": " Notes "}, headers=ann.headers)
    assert renamed.status_code == 200 and renamed.json()["title"] == "Notes"
    assert ann.client.delete(f"/api/v1/conversations/{conversation}", headers=ann.headers).status_code == 204
    refused(ann.client.get(f"/api/v1/conversations/{conversation}"), 404, "No such conversation")


def test_a_question_that_cannot_be_asked_is_refused_before_the_stream(ann: User, workspace: str) -> None:
    conversation = start(ann, workspace)
    url = f"/api/v1/conversations/{conversation}/messages"
    refused(ann.post(url, json={"content": "  "}), 422, "The question cannot be empty")
    refused(ann.post(url, json={"content": "Hi", "provider": "anthropic"}), 422, "provider")
    refused(ann.post(url, json={"content": "Hi", "context": {"path": "../x"}}), 422, "")
    assert messages(ann, conversation) == []


async def test_the_servers_key_stops_at_the_plans_limit_and_an_own_key_is_not_counted(
    server: Server, providers: FakeProviders, postgres_dsn: str
) -> None:
    cy = sign_in(server, "cy@example.com")
    conversation = start(cy, cy.create("Quota"))
    for _ in range(DAILY):
        assert ask(cy, conversation, "Again?", one_shot=False)[-1][0] == "done"

    *_, (name, refusal) = ask(cy, conversation, "Once more?")

    assert name == "error" and refusal["detail"].startswith(f"You have used the {DAILY} AI requests a day your plan")
    assert "it resets at" in refusal["detail"] and refusal["detail"].endswith("UTC.")
    assert messages(cy, conversation)[-2]["content"] == "Once more?"  # the question is kept
    assert len(await usage_rows(postgres_dsn, "cy@example.com")) == DAILY  # no request, no row
    added = cy.post("/api/v1/ai-keys", json={"provider": "openai", "name": "Mine", "key": OWN_KEY})
    assert added.status_code == 201, added.text
    asked = len(providers.chats())
    *_, (name, done) = ask(cy, conversation, "With my own key?", model="gpt-4.1")
    assert name == "done" and done["usage"]["key"] == "own"
    assert providers.chats()[asked].headers["authorization"] == f"Bearer {OWN_KEY}"
    assert cy.client.get("/api/v1/account/usage").json()["ai_requests_today"]["used"] == DAILY  # not counted
    assert len(await usage_rows(postgres_dsn, "cy@example.com")) == DAILY + 1


def test_one_shot_answers_come_from_the_cache(ann: User, workspace: str, providers: FakeProviders) -> None:
    conversation = start(ann, workspace)
    body = {"context": {"path": "main.py", "selection": "print(sum(range(10)))"}, "one_shot": True}
    asked = len(providers.chats())

    first = ask(ann, conversation, "Explain the selected code", **body)
    again = ask(ann, conversation, "Explain the selected code", **body)

    assert first[-1][1]["usage"]["cached"] is False and again[-1][1]["usage"]["cached"] is True
    assert [d["text"] for n, d in again if n == "delta"] == ["".join(ANSWER)]
    assert len(providers.chats()) == asked + 1
