"""People's own AI keys through the real server on PostgreSQL, checked with a local fake of OpenAI and Gemini
through the real client libraries: the database never holds a key in clear, no answer shows one, a key the
provider refuses is not stored, nobody else reaches my keys, and `codeloft secrets rotate` moves every key to
the new secret key so that the old one can be dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet, InvalidToken

from tests.ai_providers import GEMINI_KEY, OPENAI_KEY, FakeProviders, fake_providers
from tests.api_client import User, refused, sign_in
from tests.serving import Server, codeloft, link_in, signed_in_client, start_server

pytestmark = pytest.mark.postgres

OLD_SECRET = Fernet.generate_key().decode()
NEW_SECRET = Fernet.generate_key().decode()
KEYS = "/api/v1/ai-keys"


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


def settings(providers: FakeProviders, postgres_dsn: str, secret_keys: str) -> dict[str, str]:
    return {"CODELOFT_DATABASE_URL": postgres_dsn, "CODELOFT_SECRET_KEYS": secret_keys, **providers.settings()}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def server(data_dir: Path, providers: FakeProviders, postgres_dsn: str) -> Iterator[Server]:
    running = start_server(data_dir, **settings(providers, postgres_dsn, OLD_SECRET))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ada(server: Server) -> User:
    return sign_in(server, "ada@example.com")


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return sign_in(server, "bob@example.com")


async def stored_rows(postgres_dsn: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        rows = await connection.fetch("SELECT * FROM user_ai_tokens ORDER BY created_at, id")
    finally:
        await connection.close()
    return [dict(row) for row in rows]


def add(user: User, **body: Any) -> Any:
    return user.client.post(KEYS, json=body, headers=user.headers)


def listed(user: User) -> list[dict[str, Any]]:
    response = user.client.get(KEYS)
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_key_is_stored_encrypted_and_only_ever_shown_masked(
    ada: User, server: Server, providers: FakeProviders, postgres_dsn: str
) -> None:
    created = add(ada, provider="openai", name="Work", key=OPENAI_KEY, expires_at="2030-01-01T00:00:00Z")
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["masked"] == "sk-proj-…abcd" and answer["name"] == "Work" and answer["provider"] == "openai"
    assert answer["is_active"] is True and answer["expired"] is False
    assert answer["expires_at"].startswith("2030-01-01T00:00:00")
    assert OPENAI_KEY in providers.keys_sent()  # the provider was asked, with the real client
    gemini = add(ada, provider="gemini", name="Home", key=GEMINI_KEY)
    assert gemini.status_code == 201 and gemini.json()["masked"] == "AIza…wxyz"

    everything_shown = created.text + gemini.text + ada.client.get(KEYS).text
    rows = await stored_rows(postgres_dsn)
    assert [row["token_name"] for row in rows] == ["Work", "Home"]
    for key in (OPENAI_KEY, GEMINI_KEY):
        assert key not in everything_shown
        assert all(key not in str(value) for row in rows for value in row.values())
        assert key not in "".join(server.output)  # nor in the server's log
    assert [k["masked"] for k in listed(ada)] == ["sk-proj-…abcd", "AIza…wxyz"]


async def test_a_key_the_provider_refuses_is_not_stored(ada: User, postgres_dsn: str) -> None:
    before = await stored_rows(postgres_dsn)
    for provider, key, reason in [
        ("openai", "sk-proj-thisIsNotAKeyOpenAITakes0000", "OpenAI refused this key (401 invalid_api_key)"),
        ("gemini", "AIzaThisIsNotAKeyGeminiTakes000000", "Gemini refused this key (400 API_KEY_INVALID)"),
    ]:
        response = add(ada, provider=provider, name="Refused", key=key)
        refused(response, 422, reason)
        assert "Nothing was stored" in response.json()["detail"] and key not in response.text
    assert await stored_rows(postgres_dsn) == before
    assert "Refused" not in [k["name"] for k in listed(ada)]


async def test_a_provider_that_is_down_stores_nothing(ada: User, providers: FakeProviders, postgres_dsn: str) -> None:
    before = await stored_rows(postgres_dsn)
    asked = len(providers.requests)
    providers.failing = 503
    try:
        for provider, key, name in [("openai", OPENAI_KEY, "OpenAI"), ("gemini", GEMINI_KEY, "Gemini")]:
            response = add(ada, provider=provider, name="Down", key=key)
            refused(response, 503, f"{name} could not be asked whether it takes this key (it answered 503)")
            assert "Nothing was stored" in response.json()["detail"] and key not in response.text
    finally:
        providers.failing = None
    assert len(providers.requests) == asked + 2  # asked once each: no retries
    assert await stored_rows(postgres_dsn) == before


async def test_bad_input_is_refused_and_nothing_is_stored(
    ada: User, providers: FakeProviders, postgres_dsn: str
) -> None:
    before = await stored_rows(postgres_dsn)
    asked = len(providers.requests)
    cases = [
        ({"provider": "anthropic", "name": "X", "key": OPENAI_KEY}, "provider"),
        ({"provider": "openai", "name": "  ", "key": OPENAI_KEY}, "The key name cannot be empty"),
        ({"provider": "openai", "name": "Short", "key": "sk-short"}, "An API key is 20 to 500 characters"),
        ({"provider": "openai", "name": "Spaced", "key": "sk-proj-with a space in it 0000"}, "no spaces"),
        ({"provider": "openai", "name": "Work", "key": OPENAI_KEY, "extra": 1}, "extra"),
        ({"provider": "openai", "name": "Old", "key": OPENAI_KEY, "expires_at": "1999-01-01T00:00:00Z"}, "2000"),
    ]
    for body, message in cases:
        refused(add(ada, **body), 422, message)
    conflict = add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    refused(conflict, 409, "You have a OpenAI key named 'Work' already")
    assert len(providers.requests) == asked  # none of them reached the provider
    assert await stored_rows(postgres_dsn) == before


async def test_switch_off_and_on_rename_expiry_and_delete(ada: User, postgres_dsn: str) -> None:
    created = add(ada, provider="openai", name="Spare", key=OPENAI_KEY)
    assert created.status_code == 201, created.text
    url = f"{KEYS}/{created.json()['id']}"

    off = ada.client.patch(url, json={"is_active": False}, headers=ada.headers)
    assert off.status_code == 200 and off.json()["is_active"] is False
    renamed = ada.client.patch(url, json={"is_active": True, "name": "Spare 2"}, headers=ada.headers)
    assert renamed.json()["is_active"] is True and renamed.json()["name"] == "Spare 2"
    dated = ada.client.patch(url, json={"expires_at": "2001-01-01T00:00:00+02:00"}, headers=ada.headers)
    assert dated.json()["expired"] is True and dated.json()["expires_at"].startswith("2000-12-31T22:00:00")
    kept = ada.client.patch(url, json={"name": "Spare 3"}, headers=ada.headers)
    assert kept.json()["expires_at"] == dated.json()["expires_at"]  # left out: unchanged
    cleared = ada.client.patch(url, json={"expires_at": None}, headers=ada.headers)
    assert cleared.json()["expires_at"] is None and cleared.json()["expired"] is False
    assert [k["name"] for k in listed(ada) if k["id"] == created.json()["id"]] == ["Spare 3"]

    assert ada.client.delete(url, headers=ada.headers).status_code == 204
    assert created.json()["id"] not in [k["id"] for k in listed(ada)]
    assert all(row["token_name"] != "Spare 3" for row in await stored_rows(postgres_dsn))
    refused(ada.client.delete(url, headers=ada.headers), 404, "No such AI key")


async def test_nobody_else_can_see_change_or_delete_my_key(ada: User, bob: User, postgres_dsn: str) -> None:
    mine = listed(ada)[0]
    before = await stored_rows(postgres_dsn)

    assert listed(bob) == []
    url = f"{KEYS}/{mine['id']}"
    refused(bob.client.patch(url, json={"is_active": False}, headers=bob.headers), 404, "No such AI key")
    refused(bob.client.delete(url, headers=bob.headers), 404, "No such AI key")
    assert ada.client.patch(url, json={"is_active": False}).status_code == 403  # no CSRF token

    assert await stored_rows(postgres_dsn) == before
    assert listed(ada)[0] == mine


async def test_secrets_rotate_moves_every_key_to_the_new_secret_key(
    ada: User, server: Server, data_dir: Path, providers: FakeProviders, postgres_dsn: str
) -> None:
    before = await stored_rows(postgres_dsn)
    assert len(before) == 2
    old_env = {**server.env, **settings(providers, postgres_dsn, OLD_SECRET)}

    wrong = codeloft("secrets", "rotate", env={**old_env, "CODELOFT_SECRET_KEYS": NEW_SECRET})
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip() == (
        "error: 2 of 2 stored secrets cannot be decrypted with CODELOFT_SECRET_KEYS: keep the key they were "
        "encrypted with in the list (after the new first key) and run this again; nothing was re-encrypted."
    )
    assert await stored_rows(postgres_dsn) == before

    rotated = codeloft("secrets", "rotate", env={**old_env, "CODELOFT_SECRET_KEYS": f"{NEW_SECRET},{OLD_SECRET}"})
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("Re-encrypted 2 stored secrets under the first secret key")

    rows = await stored_rows(postgres_dsn)
    assert [row["id"] for row in rows] == [row["id"] for row in before]
    new_only, old_only = Fernet(NEW_SECRET.encode()), Fernet(OLD_SECRET.encode())
    assert [new_only.decrypt(row["encrypted_token"].encode()).decode() for row in rows] == [OPENAI_KEY, GEMINI_KEY]
    for row in rows:
        with pytest.raises(InvalidToken):
            old_only.decrypt(row["encrypted_token"].encode())

    server.stop()  # the old key dropped: a server with the new key alone reads every key
    restarted = start_server(data_dir, **settings(providers, postgres_dsn, NEW_SECRET))
    try:
        ada_link = restarted.cli("user", "link", "ada@example.com")
        assert ada_link.returncode == 0, ada_link.stderr
        client = signed_in_client(restarted, link_in(ada_link.stdout))
        assert [k["masked"] for k in client.get(KEYS).json()] == ["sk-proj-…abcd", "AIza…wxyz"]
        assert restarted.cli("secrets", "rotate").stdout.startswith("Re-encrypted 2 stored secrets")
    finally:
        restarted.stop()
