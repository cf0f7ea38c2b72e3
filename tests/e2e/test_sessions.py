"""Sessions people can see and end, in Chromium: two browsers (contexts) of the same person; the first signs
the second out from /account and the second's open IDE page goes to the sign-in page by itself (its live
check); "Sign out everywhere else" does the same to every other browser and keeps this one. The server
renews session tokens every 2 seconds, so the browsers also live through renewals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, link_in, start_server

pytestmark = pytest.mark.browser

ENDED = re.compile(r"/login\?reason=session_ended$")
ENDED_MESSAGE = "Your session was ended (signed out from another browser, or timed out): sign in again."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("sessions-e2e")), CODELOFT_SESSION_ROTATE_SECONDS="2")
    yield running
    running.stop()


def signed_in_browser(browser: Browser, server: Server, email: str) -> Page:
    """Another browser (its own cookies) of `email`, signed in with a fresh link."""
    listed = server.cli("user", "link", email)
    link = link_in(listed.stdout if listed.returncode == 0 else server.cli("user", "add", email).stdout)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    open_sign_in_link(page, link)
    expect(page).to_have_url(re.compile(r"/$"))
    return page


def open_ide(page: Page, name: str) -> None:
    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill(name)
    page.get_by_test_id("new-create").click()
    expect(page.get_by_test_id("page-title")).to_have_text(name)
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]+$"))


def test_signing_another_browser_out_sends_its_open_ide_page_to_sign_in(browser: Browser, server: Server) -> None:
    first = signed_in_browser(browser, server, "two@example.com")
    second = signed_in_browser(browser, server, "two@example.com")
    open_ide(second, "Open elsewhere")

    first.goto(server.base_url + "/account")
    rows = first.get_by_test_id("session-row")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_test_id("session-current")).to_have_text("This browser")
    expect(rows.first.get_by_test_id("session-browser")).to_have_text("Headless Chrome on Linux")
    other = first.get_by_test_id("session-row").filter(has_not=first.get_by_test_id("session-current"))
    expect(other.get_by_test_id("session-details")).to_contain_text("127.0.0.1 · signed in ")
    other.get_by_test_id("session-sign-out").click()
    expect(first.get_by_text("Headless Chrome on Linux is signed out.")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(first.get_by_test_id("sessions-only-this")).to_be_visible()

    # Nobody touches the second browser: its open IDE page notices by itself.
    expect(second).to_have_url(ENDED)
    expect(second.get_by_test_id("sign-in-message")).to_have_text(ENDED_MESSAGE)
    second.goto(server.base_url + "/")
    expect(second).to_have_url(re.compile(r"/login$"))

    first.reload()  # the first browser is still signed in
    expect(first.get_by_test_id("session-row")).to_have_count(1)
    first.context.close()
    second.context.close()


def test_sign_out_everywhere_else_keeps_only_this_browser(browser: Browser, server: Server) -> None:
    here = signed_in_browser(browser, server, "many@example.com")
    elsewhere = [signed_in_browser(browser, server, "many@example.com") for _ in range(2)]
    open_ide(elsewhere[0], "Left open")
    someone_else = signed_in_browser(browser, server, "someone-else@example.com")

    here.goto(server.base_url + "/account")
    expect(here.get_by_test_id("session-row")).to_have_count(3)
    here.get_by_test_id("sessions-sign-out-others").click()
    expect(here.get_by_text("Signed out everywhere else (2 sessions).")).to_be_visible()
    expect(here.get_by_test_id("session-row")).to_have_count(1)
    expect(here.get_by_test_id("session-current")).to_be_visible()

    for page in elsewhere:  # both open pages (the IDE and the dashboard) leave by themselves
        expect(page).to_have_url(ENDED)
    someone_else.reload()  # another person's session is not touched
    expect(someone_else.get_by_test_id("user-label")).to_be_visible()
    here.reload()
    expect(here.get_by_test_id("session-row")).to_have_count(1)

    # This browser's own "Sign out" signs out and goes to the sign-in page.
    here.get_by_test_id("session-sign-out").click()
    expect(here).to_have_url(re.compile(r"/login\?reason=signed_out$"))
    here.goto(server.base_url + "/account")
    expect(here).to_have_url(re.compile(r"/login$"))
    for page in (here, *elsewhere, someone_else):
        page.context.close()
