"""GitHub and Google sign-in in Chromium, the whole way: Codeloft's sign-in page, the provider's consent
page (the local stand-ins of `tests.oauth_providers`), back to Codeloft signed in; refusals on the sign-in
page; connecting and disconnecting a provider from the account page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.oauth_providers import GOOGLE_CLIENT_ID, FakeProviders, running_providers
from tests.serving import Server, start_server
from ui.pages.login import PROVIDER_REASONS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with running_providers() as running:
        yield running


@pytest.fixture(scope="module")
def server(providers: FakeProviders, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("e2e-oauth")), **providers.env())
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def consent_page(providers: FakeProviders) -> None:
    providers.reset()
    providers.knobs.consent_page = True


def authorize_at_provider(page: Page, name: str) -> None:
    expect(page.get_by_role("heading", name=f"{name}: authorize Codeloft?")).to_be_visible()
    page.get_by_role("link", name="Authorize Codeloft").click()


def test_the_whole_github_sign_in(page: Page, server: Server, providers: FakeProviders) -> None:
    page.goto(server.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))

    page.get_by_role("link", name="Sign in with GitHub").click()
    authorize_at_provider(page, "GitHub")

    expect(page).to_have_url(server.base_url + "/")
    expect(page.get_by_test_id("user-label")).to_have_text("Ada Lovelace")
    page.get_by_test_id("user-label").click()
    expect(page.get_by_test_id("account-email")).to_have_text("ada@example.com")
    expect(page.get_by_test_id("sign-in-method-github")).to_have_text("Signs in as ada@example.com")


def test_the_whole_google_sign_in_lands_on_next(page: Page, server: Server) -> None:
    page.goto(server.base_url + "/login?next=/account")

    page.get_by_role("link", name="Sign in with Google").click()
    authorize_at_provider(page, "Google")

    expect(page).to_have_url(server.base_url + "/account")
    expect(page.get_by_test_id("account-email")).to_have_text("grace@example.com")


def test_a_foreign_audience_is_refused_even_with_our_azp(page: Page, server: Server, providers: FakeProviders) -> None:
    providers.knobs.id_token = {"aud": "another-client", "azp": GOOGLE_CLIENT_ID}
    page.goto(server.base_url + "/login")

    page.get_by_role("link", name="Sign in with Google").click()
    authorize_at_provider(page, "Google")

    expect(page).to_have_url(re.compile(r"/login\?reason=bad_token&provider=google$"))
    expect(page.get_by_test_id("sign-in-message")).to_have_text(PROVIDER_REASONS["bad_token"].format(provider="Google"))
    page.goto(server.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_denied_consent_is_said_on_the_sign_in_page(page: Page, server: Server, providers: FakeProviders) -> None:
    providers.knobs.deny = True
    page.goto(server.base_url + "/login")

    page.get_by_role("link", name="Sign in with GitHub").click()

    expect(page.get_by_test_id("sign-in-message")).to_have_text(PROVIDER_REASONS["denied"].format(provider="GitHub"))
    page.goto(server.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_an_open_redirect_in_next_lands_on_the_dashboard(page: Page, server: Server) -> None:
    page.goto(server.base_url + "/auth/github?next=/%5Cevil.example")
    authorize_at_provider(page, "GitHub")

    expect(page).to_have_url(server.base_url + "/")
    expect(page.get_by_test_id("user-label")).to_be_visible()


def test_connect_google_from_the_account_page_then_disconnect_it(
    page: Page, server: Server, providers: FakeProviders
) -> None:
    providers.knobs.google_claims = {"sub": "g-owner", "email": "owner@gmail.example", "email_verified": True}
    open_sign_in_link(page, server.link)
    expect(page.get_by_test_id("user-label")).to_have_text("Owner")
    page.goto(server.base_url + "/account")

    page.get_by_test_id("connect-google").click()
    authorize_at_provider(page, "Google")

    expect(page).to_have_url(server.base_url + "/account?connected=google")
    expect(page.get_by_test_id("user-label")).to_have_text("Owner")  # still the same person
    expect(page.get_by_test_id("sign-in-method-google")).to_have_text("Signs in as owner@gmail.example")
    page.get_by_test_id("disconnect-google").click()
    expect(page.get_by_text("Google is disconnected")).to_be_visible()
    expect(page.get_by_test_id("sign-in-method-google")).to_have_count(0)
    expect(page.get_by_test_id("connect-google")).to_be_visible()
