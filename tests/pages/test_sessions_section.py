"""The account page's "Sessions" section under NiceGUI's user simulation, over the real services: every
browser of the account (this one marked), signing another out, signing out everywhere else (nobody else's
sessions touched), signing this one out, and an open page whose session was ended elsewhere leaving for the
sign-in page by itself."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from domain.auth import SignedIn
from domain.errors import Unauthenticated
from domain.sessions import ClientInfo
from tests.pages.simulated import Person, add_person, find_testid, sign_in, until, with_testid
from ui.components import frame

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open pages ask after their session every 0.1 s instead of every few seconds."""
    monkeypatch.setattr(frame, "SESSION_CHECK_SECONDS", 0.1)


async def elsewhere(person: Person, agent: str, address: str) -> SignedIn:
    """The same person signed in from another browser."""
    auth = person.services.auth
    link = await auth.issue_sign_in_link(person.account.id)
    return await auth.redeem_sign_in_link(link, client=ClientInfo(user_agent=agent, address=address))


def rows(user: User) -> list[str]:
    return [element.text for element in with_testid(user, "session-browser")]  # type: ignore[attr-defined]


async def live(person: Person, signed_in: SignedIn) -> bool:
    try:
        await person.services.auth.check(signed_in.session_id)
    except Unauthenticated:
        return False
    return True


async def test_the_section_lists_every_browser_and_marks_this_one(user: User) -> None:
    ada = await sign_in(user)
    await elsewhere(ada, FIREFOX, "198.51.100.2")
    await user.open("/account")
    await user.should_see("Sessions")
    assert rows(user) == ["Unknown browser", "Firefox on Windows"]  # this one first
    find_testid(user, "session-current")  # one "This browser" badge
    await user.should_see("This browser")
    details = [element.text for element in with_testid(user, "session-details")]  # type: ignore[attr-defined]
    assert details[1].startswith("198.51.100.2 · signed in ") and " · last active " in details[1]
    find_testid(user, "sessions-sign-out-others")


async def test_sign_out_on_another_browser_ends_it_at_once(user: User) -> None:
    ada = await sign_in(user)
    firefox = await elsewhere(ada, FIREFOX, "198.51.100.2")
    await user.open("/account")
    await user.should_see("Firefox on Windows")
    buttons = with_testid(user, "session-sign-out")
    assert buttons[1].props["aria-label"].startswith("Sign out Firefox on Windows")
    UserInteraction(user, {buttons[1]}, None).click()
    await user.should_see("Firefox on Windows is signed out.")
    await until(lambda: rows(user) == ["Unknown browser"])
    assert not await live(ada, firefox)
    find_testid(user, "sessions-only-this")


async def test_sign_out_everywhere_else_keeps_only_this_one_and_nobody_elses(user: User) -> None:
    ada = await sign_in(user)
    others = [await elsewhere(ada, FIREFOX, "198.51.100.2"), await elsewhere(ada, SAFARI, "198.51.100.3")]
    bob = await add_person("bob@example.com")
    bobs = await elsewhere(bob, FIREFOX, "192.0.2.9")
    await user.open("/account")
    await user.should_see("Safari on iOS")
    find_testid(user, "sessions-sign-out-others").click()
    await user.should_see("Signed out everywhere else (2 sessions).")
    await until(lambda: rows(user) == ["Unknown browser"])
    assert [await live(ada, other) for other in others] == [False, False]
    assert await live(bob, bobs)
    await user.should_see("Sessions")  # still signed in here


async def test_sign_out_on_this_browser_signs_out_and_goes_to_sign_in(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = await sign_in(user)
    firefox = await elsewhere(ada, FIREFOX, "198.51.100.2")
    await user.open("/account")
    await user.should_see("This browser")
    this_one = with_testid(user, "session-sign-out")[0]  # this browser's row is first
    assert this_one.props["aria-label"] == "Sign out Unknown browser (this browser)"
    # /signed-out (an HTTP route, not a page: it drops the cookie and sends to the sign-in page) is not served
    # by the page simulation; the browser test follows it.
    targets: list[str] = []
    monkeypatch.setattr(ui.navigate, "to", targets.append)
    UserInteraction(user, {this_one}, None).click()
    await until(lambda: targets[:1] == ["/signed-out"])  # (then its own check finds the session gone)
    assert await live(ada, firefox)  # the other browser stays signed in
    assert [view.browser for view in await ada.services.auth.sessions(ada.actor)] == ["Firefox on Windows"]


async def test_an_open_page_whose_session_ended_elsewhere_goes_to_sign_in(user: User) -> None:
    ada = await sign_in(user)
    await user.open("/")
    await user.should_see("Your workspaces")
    [mine] = await ada.services.auth.sessions(ada.actor)
    await ada.services.auth.end_session(ada.actor, mine.id)  # from another browser's account page
    await until(lambda: user.back_history[-1:] == ["/login?reason=session_ended"])
    await user.should_see("Your session was ended (signed out from another browser, or timed out): sign in again.")
