"""Sessions through the real server on PostgreSQL: each browser's session with its browser and address,
the cookie's token renewed on API calls and page loads (the old one accepted for the grace, after it the
whole session ends), and signing sessions out over REST. The server renews tokens every second and
accepts a replaced one for 4 seconds, so the waits below are short."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.api_client import NOWHERE, refused
from tests.serving import Server, csrf, link_in, new_link, sign_in, start_server
from ui.security import SESSION_COOKIE

pytestmark = pytest.mark.postgres

ROTATE_SECONDS = 1
GRACE_SECONDS = 4
CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/131.0 Chrome/131.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SESSIONS = "/api/v1/sessions"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("sessions"),
        CODELOFT_DATABASE_URL=postgres_dsn,
        CODELOFT_SESSION_ROTATE_SECONDS=str(ROTATE_SECONDS),
        CODELOFT_SESSION_GRACE_SECONDS=str(GRACE_SECONDS),
    )
    yield running
    running.stop()


def browser(server: Server, email: str, agent: str) -> httpx.Client:
    """A browser of `email` (created on its first sign-in) signed in with its own session."""
    listed = server.cli("user", "link", email)
    link = link_in(listed.stdout) if listed.returncode == 0 else new_link(server, email)
    client = httpx.Client(base_url=server.base_url, timeout=30, headers={"User-Agent": agent})
    assert sign_in(client, link).status_code == 303
    return client


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def rows(postgres_dsn: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        found = await connection.fetch("SELECT * FROM user_sessions ORDER BY created_at, id")
    finally:
        await connection.close()
    return [dict(row) for row in found]


def with_cookie(server: Server, token: str, path: str = "/api/v1/session") -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", cookies={SESSION_COOKIE: token}, follow_redirects=False, timeout=30)


def renewed(client: httpx.Client, path: str = "/api/v1/session") -> tuple[str, httpx.Response]:
    """Wait past the renewal interval, then make one request: the answer sets the session's new token."""
    before = client.cookies[SESSION_COOKIE]
    time.sleep(ROTATE_SECONDS + 0.2)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200, response.text
    cookie = response.headers.get("set-cookie", "")
    assert cookie.startswith(f"{SESSION_COOKIE}="), response.headers
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    return before, response


async def test_an_api_call_renews_the_token_and_the_old_one_works_only_for_the_grace(
    server: Server, postgres_dsn: str
) -> None:
    client = browser(server, "rotate@example.com", CHROMIUM)
    old, _ = renewed(client)
    new = client.cookies[SESSION_COOKIE]
    [row] = [row for row in await rows(postgres_dsn) if row["previous_token_hash"] == sha256(old)]
    assert row["refresh_token_hash"] == sha256(new)
    assert old not in str(row) and new not in str(row)  # only hashes are stored
    assert row["user_agent"] == CHROMIUM and row["address"] == "127.0.0.1"

    in_flight = with_cookie(server, old)  # a request already under way with the old cookie
    assert in_flight.status_code == 200 and "set-cookie" not in in_flight.headers
    assert in_flight.json()["user"]["email"] == "rotate@example.com"

    time.sleep(GRACE_SECONDS + 0.5)
    reused = with_cookie(server, old)
    refused(reused, 401, "old copy of its sign-in was used again")
    assert reused.json()["error"] == "SessionReused"
    assert row["id"] not in [other["id"] for other in await rows(postgres_dsn)]
    refused(client.get("/api/v1/session"), 401, "Your session has ended")  # the new cookie is refused too
    client.close()


async def test_a_page_load_renews_the_token_and_a_reused_one_sends_to_sign_in_with_a_reason(server: Server) -> None:
    client = browser(server, "pages@example.com", FIREFOX)
    old, page = renewed(client, "/")
    assert "Workspaces" in page.text
    time.sleep(GRACE_SECONDS + 0.5)
    reused = with_cookie(server, old, "/")
    assert reused.status_code == 303 and reused.headers["location"] == "/login?reason=session_reused"
    assert "set-cookie" not in reused.headers
    assert "old copy of its sign-in was used again" in httpx.get(server.base_url + reused.headers["location"]).text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    client.close()


def test_the_list_shows_each_browser_and_marks_this_one(server: Server) -> None:
    here = browser(server, "list@example.com", CHROMIUM)
    there = browser(server, "list@example.com", FIREFOX)
    answer = here.get(SESSIONS)
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert [(s["browser"], s["current"], s["address"]) for s in listed] == [
        ("Chromium on Linux", True, "127.0.0.1"),
        ("Firefox on Windows", False, "127.0.0.1"),
    ]
    assert [s["current"] for s in there.get(SESSIONS).json()] == [True, False]
    shown = answer.text
    for token in (here.cookies[SESSION_COOKIE], there.cookies[SESSION_COOKIE]):
        assert token not in shown and sha256(token) not in shown
    here.close()
    there.close()


def test_signing_another_browser_out_takes_effect_at_once(server: Server) -> None:
    here = browser(server, "end@example.com", CHROMIUM)
    there = browser(server, "end@example.com", FIREFOX)
    other = next(s["id"] for s in here.get(SESSIONS).json() if not s["current"])
    ended = here.delete(f"{SESSIONS}/{other}", headers=csrf(here))
    assert ended.status_code == 204 and "set-cookie" not in ended.headers
    refused(there.get("/api/v1/session"), 401, "Your session has ended")
    assert there.get("/", follow_redirects=False).headers["location"] == "/login"
    assert [s["current"] for s in here.get(SESSIONS).json()] == [True]
    here.close()
    there.close()


def test_signing_out_ones_own_session_drops_its_cookie(server: Server) -> None:
    client = browser(server, "self@example.com", CHROMIUM)
    mine = client.get(SESSIONS).json()[0]["id"]
    ended = client.delete(f"{SESSIONS}/{mine}", headers=csrf(client))
    assert ended.status_code == 204
    assert ended.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in ended.headers["set-cookie"]
    refused(client.get(SESSIONS), 401, "Sign in first")
    client.close()


def test_nobody_ends_someone_elses_session_or_one_without_the_csrf_token(server: Server) -> None:
    ada = browser(server, "ada-sessions@example.com", CHROMIUM)
    ada_elsewhere = browser(server, "ada-sessions@example.com", FIREFOX)
    bob = browser(server, "bob-sessions@example.com", FIREFOX)
    adas = [s["id"] for s in ada.get(SESSIONS).json()]
    for session_id in adas:
        refused(bob.delete(f"{SESSIONS}/{session_id}", headers=csrf(bob)), 404, "No such session, or it is not yours")
    refused(bob.delete(f"{SESSIONS}/{NOWHERE}", headers=csrf(bob)), 404, "No such session, or it is not yours")
    refused(ada.delete(f"{SESSIONS}/{adas[1]}"), 403, "X-CSRF-Token")
    refused(httpx.get(f"{server.base_url}{SESSIONS}"), 401, "Sign in first")
    assert [s["id"] for s in ada.get(SESSIONS).json()] == adas
    assert ada_elsewhere.get("/api/v1/session").status_code == 200
    assert [s["browser"] for s in bob.get(SESSIONS).json()] == ["Firefox on Windows"]
    for client in (ada, ada_elsewhere, bob):
        client.close()
