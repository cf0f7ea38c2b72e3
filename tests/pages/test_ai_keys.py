"""The account page's "AI keys" section under NiceGUI's user simulation, over the real services and the local
fake providers: add a key (only its masked form shows, and the typed key leaves the page), a refused key is
not added, switch off and on, delete after asking, the expired marker, nobody else's keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from nicegui import ElementFilter
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from tests.ai_providers import GEMINI_KEY, OPENAI_KEY, FakeProviders, fake_providers
from tests.pages.simulated import add_person, find_testid, sign_in, with_testid


@pytest.fixture(autouse=True)
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """Set before the `user` fixture starts the app, whose settings read these variables."""
    with fake_providers() as fake:
        for name, value in fake.settings().items():
            monkeypatch.setenv(name, value)
        yield fake


def page_holds(user: User, text: str) -> bool:
    """Whether any element of the page holds `text`: in its text, its value or its props."""
    with user:
        for element in ElementFilter(local_scope=False):
            seen = [str(element.props), str(getattr(element, "text", "")), str(getattr(element, "value", ""))]
            if any(text in part for part in seen):
                return True
    return False


def texts(user: User, testid: str) -> list[str]:
    return [element.text for element in with_testid(user, testid)]  # type: ignore[attr-defined]


async def shows(user: User, testid: str, expected: list[str]) -> None:
    """Wait (as `should_see` does) until the elements with `testid` show `expected`: a section redraws
    itself after the notification of the change."""
    for _ in range(100):
        if texts(user, testid) == expected:
            return
        await asyncio.sleep(0.05)
    assert texts(user, testid) == expected


async def add_key(user: User, name: str, key: str, provider: str = "OpenAI") -> None:
    if provider != "OpenAI":
        choice = UserInteraction(user, set(with_testid(user, "ai-key-provider")), provider)
        choice.click()  # opens the options
        choice.click()  # picks one
    find_testid(user, "ai-key-new-name").type(name)
    find_testid(user, "ai-key-secret").type(key)
    find_testid(user, "ai-key-add").click()


async def test_adding_a_key_shows_only_its_masked_form(user: User, providers: FakeProviders) -> None:
    person = await sign_in(user)
    await user.open("/account")
    await user.should_see("AI keys")
    find_testid(user, "ai-keys-empty")

    await add_key(user, "Work", OPENAI_KEY)
    await user.should_see("sk-proj-…abcd")
    await add_key(user, "Home", GEMINI_KEY, provider="Gemini")
    await user.should_see("AIza…wxyz")

    await shows(user, "ai-key-name", ["Work", "Home"])
    await shows(user, "ai-key-state", ["Active", "Active"])
    assert set(providers.keys_sent()) == {OPENAI_KEY, GEMINI_KEY}
    assert not page_holds(user, OPENAI_KEY) and not page_holds(user, GEMINI_KEY)  # the typed key is gone
    assert [k.masked for k in await person.services.ai_keys.list(person.actor)] == ["sk-proj-…abcd", "AIza…wxyz"]


async def test_a_key_the_provider_refuses_is_not_added(user: User) -> None:
    person = await sign_in(user)
    await user.open("/account")

    await add_key(user, "Wrong", "sk-proj-notAKeyTheProviderTakes0000")

    await user.should_see("OpenAI refused this key (401 invalid_api_key)")
    find_testid(user, "ai-keys-empty")
    assert await person.services.ai_keys.list(person.actor) == []


async def test_a_bad_expiry_is_refused(user: User, providers: FakeProviders) -> None:
    person = await sign_in(user)
    await user.open("/account")
    find_testid(user, "ai-key-expiry").type("next year")

    await add_key(user, "Work", OPENAI_KEY)

    await user.should_see("The expiry 'next year' is not a date (YYYY-MM-DD).")
    assert providers.requests == [] and await person.services.ai_keys.list(person.actor) == []


async def test_switching_off_and_on_and_deleting_after_asking(user: User) -> None:
    person = await sign_in(user)
    await person.services.ai_keys.add(person.actor, provider="openai", name="Work", key=OPENAI_KEY)
    await user.open("/account")
    await user.should_see("sk-proj-…abcd")

    find_testid(user, "ai-key-toggle").click()
    await user.should_see("Work is off.")
    await shows(user, "ai-key-state", ["Off"])
    find_testid(user, "ai-key-toggle").click()
    await user.should_see("Work is on.")
    await shows(user, "ai-key-state", ["Active"])

    find_testid(user, "ai-key-delete").click()
    await user.should_see("Delete Work?")
    user.find("Cancel").click()
    await user.should_see("sk-proj-…abcd")
    find_testid(user, "ai-key-delete").click()
    find_testid(user, "confirm-ok").click()
    await user.should_see("Work is deleted.")
    find_testid(user, "ai-keys-empty")
    assert await person.services.ai_keys.list(person.actor) == []


async def test_an_expired_key_is_marked(user: User) -> None:
    person = await sign_in(user)
    await person.services.ai_keys.add(
        person.actor, provider="gemini", name="Old", key=GEMINI_KEY, expires_at=datetime(2001, 1, 1, tzinfo=UTC)
    )
    await user.open("/account")

    await user.should_see("Expired 2001-01-01 00:00 UTC")
    await shows(user, "ai-key-state", ["Expired"])


async def test_nobody_elses_keys_show(user: User) -> None:
    other = await add_person("bob@example.com")
    await other.services.ai_keys.add(other.actor, provider="openai", name="Bob's", key=OPENAI_KEY)
    await sign_in(user)

    await user.open("/account")

    find_testid(user, "ai-keys-empty")
    await user.should_not_see("Bob's")


async def test_a_name_is_shown_as_text_and_never_read_as_markup(user: User) -> None:
    person = await sign_in(user)
    name = 'He said "hi" <b>x</b> data-x="1"'
    await person.services.ai_keys.add(person.actor, provider="openai", name=name, key=OPENAI_KEY)

    await user.open("/account")

    await shows(user, "ai-key-name", [name])
    (toggle,) = with_testid(user, "ai-key-toggle")
    (delete,) = with_testid(user, "ai-key-delete")
    assert toggle.props["aria-label"] == f"Switch off {name}" and "data-x" not in toggle.props
    assert delete.props["aria-label"] == f"Delete {name}" and "data-x" not in delete.props
