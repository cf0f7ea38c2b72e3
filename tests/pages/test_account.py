"""The account page under NiceGUI's user simulation: a signed-in person sees their own account, nobody
else gets in."""

from __future__ import annotations

from nicegui.testing.user import User

from tests.pages.simulated import find_testid, sign_in


async def test_the_account_page_shows_the_signed_in_persons_profile(user: User) -> None:
    await sign_in(user, "ada@example.com")

    await user.open("/account")

    await user.should_see("Your account")
    await user.should_see("ada@example.com")
    find_testid(user, "account-profile")


async def test_the_header_links_to_the_account_page(user: User) -> None:
    await sign_in(user, "ada@example.com")
    await user.open("/")

    find_testid(user, "user-label").click()

    await user.should_see("Your account")


async def test_the_account_page_sends_someone_not_signed_in_to_sign_in(user: User) -> None:
    await user.open("/account")

    await user.should_see("Sign in to Codeloft")
