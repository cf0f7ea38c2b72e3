"""The sign-in page's provider buttons and refusal messages, and the account page's "Sign-in methods"
section, under NiceGUI's user simulation."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing.user import User

from domain.identities import ProviderProfile
from tests.pages.simulated import add_person, find_testid, sign_in
from ui import context
from ui.pages.login import PROVIDER_REASONS
from ui.security import SESSION_COOKIE


@pytest.fixture
def github_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub sign-in switched on (set before the `user` fixture starts the app and reads the settings)."""
    monkeypatch.setenv("CODELOFT_GITHUB_CLIENT_ID", "client")
    monkeypatch.setenv("CODELOFT_GITHUB_CLIENT_SECRET", "secret")


async def test_without_providers_the_sign_in_page_explains_the_printed_link(user: User) -> None:
    await user.open("/login")

    await user.should_see("one-time link")
    await user.should_not_see("Sign in with GitHub")
    await user.should_not_see("Sign in with Google")


async def test_a_configured_provider_gets_a_button_and_the_others_none(github_configured: None, user: User) -> None:
    await user.open("/login?next=/account")

    link = find_testid(user, "sign-in-github")
    assert {element.props.get("href") for element in link.elements} == {"/auth/github?next=%2Faccount"}
    await user.should_not_see("Sign in with Google")


async def test_an_open_redirect_in_next_is_not_passed_on(github_configured: None, user: User) -> None:
    await user.open("/login?next=//evil.example")

    link = find_testid(user, "sign-in-github")
    assert {element.props.get("href") for element in link.elements} == {"/auth/github"}


@pytest.mark.parametrize("reason", sorted(PROVIDER_REASONS))
async def test_each_refusal_is_said_on_the_sign_in_page(user: User, reason: str) -> None:
    await user.open(f"/login?reason={reason}&provider=google")

    message = find_testid(user, "sign-in-message")
    text = next(iter(message.elements)).text  # type: ignore[attr-defined]
    assert text == PROVIDER_REASONS[reason].format(provider="Google")


async def test_a_provider_name_in_the_address_is_never_shown_as_given(user: User) -> None:
    await user.open("/login?reason=denied&provider=Evil%20Corp")

    await user.should_see("The sign-in did not complete, so nobody was signed in.")
    await user.should_not_see("Evil Corp")


async def test_a_local_account_sees_its_printed_link_and_may_connect_github(
    github_configured: None, user: User
) -> None:
    await sign_in(user, "ada@example.com")

    await user.open("/account")

    await user.should_see("Sign-in methods")
    await user.should_see("Printed sign-in link")
    link = find_testid(user, "connect-github")
    assert {element.props.get("href") for element in link.elements} == {"/auth/github?connect=1"}


async def test_a_connected_provider_can_be_disconnected_and_the_account_keeps_its_other_way_in(user: User) -> None:
    person = await sign_in(user, "ada@example.com")
    services = person.services
    await services.identities.connect(
        person.account.id, ProviderProfile(provider="github", provider_id="77", email="ada@users.example")
    )
    await user.open("/account")
    await user.should_see("Signs in as ada@users.example")

    find_testid(user, "disconnect-github").click()

    await user.should_see("GitHub is disconnected")
    await user.should_not_see("Signs in as ada@users.example")
    assert [i.provider for i in await services.identities.methods(person.account.id)] == ["local"]


async def test_the_only_way_in_offers_no_disconnect(user: User) -> None:
    await add_person("someone@example.com")
    signed_in = await context.services().identities.sign_in(
        ProviderProfile(provider="google", provider_id="g-5", email="gina@example.com")
    )
    user.http_client.cookies.set(SESSION_COOKIE, signed_in.session_token)

    await user.open("/account")

    await user.should_see("Your only way in")
    await user.should_see("Signs in as gina@example.com")
    assert not [e for e in user.find(ui.button).elements if "Disconnect" in (e.props.get("label") or "")]
