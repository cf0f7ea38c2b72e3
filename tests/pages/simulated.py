"""What page tests do besides NiceGUI's `User` API: sign someone in, find an element by its data-testid,
open a page answered with another status than 200."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ElementFilter, ui
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from domain.access import Actor
from domain.entities import User as Account
from ui import context
from ui.context import Services
from ui.security import SESSION_COOKIE


@dataclass
class Person:
    """Someone signed in: their account, and the services to arrange their data with."""

    account: Account
    services: Services

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.account.id)


async def add_person(email: str) -> Person:
    """An account that is not signed in (someone else)."""
    services = context.services()
    return Person(account=await services.accounts.add_local_user(email), services=services)


async def sign_in(user: User, email: str = "ada@example.com") -> Person:
    """Create an account and make `user` its session: what a redeemed sign-in link leaves in the browser."""
    person = await add_person(email)
    signed_in = await person.services.auth.redeem_sign_in_link(
        await person.services.auth.issue_sign_in_link(person.account.id)
    )
    user.http_client.cookies.set(SESSION_COOKIE, signed_in.session_token)
    return person


def shown(element: ui.element) -> bool:
    """Whether a person sees `element`: visible, and not in a closed dialog (NiceGUI's element filter, and
    so `User.find` and `User.should_see`, count a closed dialog's content as visible)."""
    return all(not isinstance(e, ui.dialog) or e.value for e in (element, *element.ancestors()))


def with_testid(user: User, testid: str) -> list[ui.element]:
    """The shown elements whose `data-testid` is `testid` (`User.find` selects by marker, kind and content
    only; Codeloft's elements carry data-testids, as the end-to-end tests find them)."""
    with user:
        return [
            element
            for element in ElementFilter(only_visible=True, local_scope=False)
            if element.props.get("data-testid") == testid and shown(element)
        ]


def find_testid(user: User, testid: str) -> UserInteraction[ui.element]:
    """`User.find` by data-testid: exactly one shown element."""
    found = with_testid(user, testid)
    assert len(found) == 1, f"expected one shown element with data-testid={testid}, found {len(found)}"
    return UserInteraction(user, set(found), None)


async def open_with_status(user: User, path: str, status: int) -> None:
    """`User.open` for a page answered with `status` (it accepts only 200), e.g. Codeloft's 404 page."""
    seen: list[int] = []

    async def accept(response: object) -> None:
        seen.append(response.status_code)  # type: ignore[attr-defined]
        if response.status_code == status:  # type: ignore[attr-defined]
            response.status_code = 200  # type: ignore[attr-defined]

    hooks = user.http_client.event_hooks["response"]
    hooks.append(accept)
    try:
        await user.open(path)
    finally:
        hooks.remove(accept)
    assert seen[-1] == status, f"{path} answered {seen[-1]}, expected {status}"


async def until(condition: Callable[[], bool], what: str = "condition", seconds: float = 10) -> None:
    """Wait for something the page does after an await of its own (a navigation, a refresh) to show."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")
