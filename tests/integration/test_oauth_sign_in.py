"""GitHub and Google sign-in over HTTP: the real `codeloft serve` (real Authlib) against the local
stand-in providers of `tests.oauth_providers`. Each refusal lands on /login saying what went wrong, and
no account, identity or session is made."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.oauth_providers import GOOGLE_CLIENT_ID, FakeProviders, running_providers
from tests.serving import Server, new_link, signed_in_client, start_server
from ui.pages.login import message_for


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with running_providers() as running:
        yield running


@pytest.fixture(scope="module")
def server(providers: FakeProviders, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("oauth")), **providers.env())
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh_knobs(providers: FakeProviders) -> None:
    providers.reset()


@dataclass
class Counts:
    users: int
    identities: int
    sessions: int


def counts(server: Server) -> Counts:
    database = Path(server.env["CODELOFT_DATA_DIR"]) / "codeloft.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return Counts(
            *(
                connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("users", "user_identities", "user_sessions")
            )
        )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client: httpx.Client, provider: str, **params: str) -> str:
    """Start a flow; the provider's authorize URL Codeloft sends the browser to."""
    answer = client.get(f"/auth/{provider}", params=params)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def at_provider(authorize_url: str) -> str:
    """The person at the provider (no cookies shared with Codeloft): where the provider sends them back."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def back_at_codeloft(client: httpx.Client, callback_url: str) -> httpx.Response:
    answer = client.get(callback_url, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def sign_in_with(client: httpx.Client, provider: str, **params: str) -> httpx.Response:
    return back_at_codeloft(client, at_provider(start(client, provider, **params)))


def assert_refused(client: httpx.Client, answer: httpx.Response, reason: str, provider: str) -> None:
    """The answer leads to /login with `reason`, the page shows its message, and nobody is signed in."""
    location = answer.headers["location"]
    assert urlsplit(location).path == "/login" and query(location) == {"reason": reason, "provider": provider}
    assert "codeloft_session" not in answer.cookies
    page = client.get(location)
    expected = message_for(reason, provider)
    assert expected and expected in html_text(page.text), page.text
    assert client.get("/api/v1/session").status_code == 401


def html_text(document: str) -> str:
    """The page's text as the person reads it (NiceGUI writes its elements as JSON in the page)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), document)


def test_github_sign_in_creates_a_free_account_and_lands_on_next(server: Server, providers: FakeProviders) -> None:
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        authorize = start(client, "github", next="/account")
        sent = query(authorize)
        assert sent["code_challenge_method"] == "S256" and sent["state"] and sent["code_challenge"]
        answer = back_at_codeloft(client, at_provider(authorize))

        assert answer.headers["location"] == "/account"
        assert "codeloft_session" in answer.cookies
        session = client.get("/api/v1/session").json()
        assert session["user"]["email"] == "ada@example.com"
        token_request = providers.received("/github/login/oauth/access_token")[-1]
        assert token_request["code_verifier"] and "client_secret" in token_request
        assert client.get("/account").status_code == 200
    after = counts(server)
    assert (after.users, after.identities, after.sessions) == (
        before.users + 1,
        before.identities + 1,
        before.sessions + 1,
    )


def test_signing_in_again_finds_the_account_and_gives_a_new_session_id(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        sign_in_with(client, "github")
        first = client.cookies["codeloft_session"]
        users = counts(server).users
        sign_in_with(client, "github")
        second = client.cookies["codeloft_session"]
        assert second != first
        assert counts(server).users == users
    with httpx.Client(base_url=server.base_url, cookies={"codeloft_session": first}) as old:
        assert old.get("/api/v1/session").status_code == 401


def test_google_sign_in_checks_the_id_token_and_signs_in(server: Server, providers: FakeProviders) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        authorize = start(client, "google")
        sent = query(authorize)
        assert sent["nonce"] and sent["code_challenge_method"] == "S256" and "openid" in sent["scope"]
        answer = back_at_codeloft(client, at_provider(authorize))

        assert answer.headers["location"] == "/"
        assert client.get("/api/v1/session").json()["user"]["email"] == "grace@example.com"


def test_github_without_a_profile_email_uses_the_primary_verified_one(server: Server, providers: FakeProviders) -> None:
    providers.knobs.github_user = {"id": 777, "login": "hidden", "name": None, "email": None}
    providers.knobs.github_emails = [
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "main@example.com", "primary": True, "verified": True},
    ]
    with httpx.Client(base_url=server.base_url) as client:
        sign_in_with(client, "github")
        assert client.get("/api/v1/session").json()["user"]["email"] == "main@example.com"


@pytest.mark.parametrize(
    "emails",
    [
        [{"email": "x@example.com", "primary": True, "verified": False}],
        [{"email": "x@example.com", "primary": False, "verified": True}],
        [],
    ],
    ids=["primary-unverified", "verified-not-primary", "none"],
)
def test_github_without_a_primary_verified_email_is_refused(
    server: Server, providers: FakeProviders, emails: list[dict[str, object]]
) -> None:
    providers.knobs.github_user = {"id": 888, "login": "nomail", "email": None}
    providers.knobs.github_emails = emails
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        assert_refused(client, sign_in_with(client, "github"), "no_verified_email", "github")
    assert counts(server) == before


def test_google_with_an_unverified_email_is_refused(server: Server, providers: FakeProviders) -> None:
    providers.knobs.google_claims = {"sub": "g-2", "email": "eve@example.com", "email_verified": False}
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        assert_refused(client, sign_in_with(client, "google"), "no_verified_email", "google")
    assert counts(server) == before


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("id_token", {"aud": "someone-else"}),
        ("id_token", {"aud": "someone-else", "azp": GOOGLE_CLIENT_ID}),
        ("id_token", {"aud": ["someone-else"], "azp": GOOGLE_CLIENT_ID}),
        ("id_token", {"iss": "https://accounts.example"}),
        ("id_token", {"nonce": "not-the-nonce-we-sent"}),
        ("id_token", {"nonce": None}),
        ("expires_in", -600),
        ("bad_signature", True),
    ],
    ids=[
        "wrong-aud",
        "wrong-aud-matching-azp",
        "wrong-aud-list-matching-azp",
        "wrong-iss",
        "wrong-nonce",
        "no-nonce",
        "expired",
        "badly-signed",
    ],
)
def test_a_bad_google_id_token_is_refused(server: Server, providers: FakeProviders, knob: str, value: object) -> None:
    setattr(providers.knobs, knob, value)
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        assert_refused(client, sign_in_with(client, "google"), "bad_token", "google")
    assert counts(server) == before


@pytest.mark.parametrize("provider", ["github", "google"])
def test_a_tampered_state_is_refused(server: Server, provider: str) -> None:
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        callback = at_provider(start(client, provider))
        params = query(callback)
        params["state"] = params["state"][:-2] + ("AA" if not params["state"].endswith("AA") else "BB")
        answer = back_at_codeloft(client, f"{callback.split('?')[0]}?{urlencode(params)}")
        assert_refused(client, answer, "state", provider)
    assert counts(server) == before


@pytest.mark.parametrize("provider", ["github", "google"])
def test_a_callback_without_state_or_from_another_browser_is_refused(server: Server, provider: str) -> None:
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as victim, httpx.Client(base_url=server.base_url) as attacker:
        callback = at_provider(start(attacker, provider))
        assert_refused(victim, back_at_codeloft(victim, callback), "state", provider)
        params = query(callback)
        del params["state"]
        missing = back_at_codeloft(attacker, f"{callback.split('?')[0]}?{urlencode(params)}")
        assert_refused(attacker, missing, "state", provider)
    assert counts(server) == before


@pytest.mark.parametrize("provider", ["github", "google"])
def test_a_code_whose_pkce_verifier_codeloft_does_not_hold_is_refused(
    server: Server, providers: FakeProviders, provider: str
) -> None:
    """A code injected from another sign-in (its challenge made from a verifier this flow never had): the
    provider's token endpoint refuses it, and Codeloft signs nobody in."""
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        callback = at_provider(start(client, provider))
        params = query(callback)
        grant = providers.grants.get(params["code"])
        assert grant is not None
        params["code"] = providers.grant_code(provider, grant.redirect_uri, verifier="x" * 50, nonce=grant.nonce)
        answer = back_at_codeloft(client, f"{callback.split('?')[0]}?{urlencode(params)}")
        assert_refused(client, answer, "provider_error", provider)
        token_request = providers.received(
            "/github/login/oauth/access_token" if provider == "github" else "/google/token"
        )[-1]
        assert token_request["code_verifier"]  # sent, but not the one the injected code was made for
    assert counts(server) == before


@pytest.mark.parametrize("provider", ["github", "google"])
def test_denied_consent_is_refused(server: Server, providers: FakeProviders, provider: str) -> None:
    providers.knobs.deny = True
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        assert_refused(client, sign_in_with(client, provider), "denied", provider)
    assert counts(server) == before


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/%5Cevil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\tevil",
    ],
)
def test_next_never_leads_off_the_site(server: Server, target: str) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        answer = sign_in_with(client, "github", next=target)
        location = answer.headers["location"]
        assert location == "/"


def test_an_email_of_an_account_without_github_is_refused_with_how_to_connect(
    server: Server, providers: FakeProviders
) -> None:
    new_link(server, "lin@example.com")
    providers.knobs.github_user = {"id": 9001, "login": "lin", "email": "lin@example.com"}
    before = counts(server)
    with httpx.Client(base_url=server.base_url) as client:
        answer = sign_in_with(client, "github")
        assert_refused(client, answer, "email_taken", "github")
        assert "connect GitHub under Account → Sign-in methods" in html_text(
            client.get(answer.headers["location"]).text
        )
    assert counts(server) == before


def test_a_signed_in_person_connects_github_and_then_signs_in_with_it(server: Server, providers: FakeProviders) -> None:
    link = new_link(server, "mo@example.com")
    providers.knobs.github_user = {"id": 31337, "login": "mo", "email": "mo@example.com"}
    client = signed_in_client(server, link)
    try:
        session_before = client.cookies["codeloft_session"]
        answer = sign_in_with(client, "github", connect="1")
        assert answer.headers["location"] == "/account?connected=github"
        assert client.cookies["codeloft_session"] == session_before  # connecting signs nobody in anew
        page = html_text(client.get("/account").text)
        assert "Sign-in methods" in page and "Signs in as mo@example.com" in page
    finally:
        client.close()
    with httpx.Client(base_url=server.base_url) as fresh:
        sign_in_with(fresh, "github")
        assert fresh.get("/api/v1/session").json()["user"]["email"] == "mo@example.com"


def test_connect_needs_a_signed_in_person(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        answer = client.get("/auth/github", params={"connect": "1"})
        assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_the_login_page_offers_each_configured_provider(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        page = client.get("/login").text
    assert "Sign in with GitHub" in page and "Sign in with Google" in page
    assert "/auth/github" in page and "/auth/google" in page


def test_the_flow_cookie_is_separate_lax_and_scoped_to_auth(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        answer = client.get("/auth/github")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("codeloft_oauth=") and "path=/auth" in cookie.lower()
    assert "samesite=lax" in cookie.lower() and "httponly" in cookie.lower()
