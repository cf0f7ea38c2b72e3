"""A person opens the printed link, creates a workspace, reloads, and cannot reuse the link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, link_in

pytestmark = pytest.mark.browser


def test_sign_in_create_a_workspace_reload_and_see_it(page: Page, server: Server, browser: Browser) -> None:
    open_sign_in_link(page, server.link)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("user-label")).to_have_text("Owner")
    expect(page.get_by_text("No workspaces yet")).to_be_visible()

    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill("Hello Python")
    page.get_by_test_id("new-create").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Hello Python")  # Create opens it
    workspace = page.url

    page.goto(server.base_url + "/")
    expect(page.get_by_test_id("workspace-card")).to_have_count(1)
    page.reload()
    expect(page.get_by_test_id("workspace-card")).to_contain_text("Hello Python")
    expect(page.get_by_test_id("workspace-card")).to_contain_text("Python script")

    page.get_by_test_id("workspace-open").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Hello Python")
    expect(page).to_have_url(workspace)

    # The same link a second time, in another browser: refused with a clear page.
    other = browser.new_context().new_page()
    other.goto(server.link)
    expect(other).to_have_url(re.compile(r"/login\?reason=used$"))
    expect(other.get_by_test_id("sign-in-message")).to_have_text(
        "This sign-in link has already been used: each link works only once."
    )
    other.goto(server.base_url + "/")
    expect(other).to_have_url(re.compile(r"/login$"))
    other.context.close()


def test_a_bad_name_is_explained_and_creates_nothing(page: Page, server: Server) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", "empty@example.com").stdout))
    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill("   ")
    page.get_by_test_id("new-create").click()
    expect(page.get_by_text("The workspace name cannot be empty.")).to_be_visible()
    page.keyboard.press("Escape")
    page.reload()
    expect(page.get_by_text("No workspaces yet")).to_be_visible()


def test_sign_out_ends_the_session(page: Page, server: Server) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", "leaver@example.com").stdout))
    expect(page.get_by_test_id("user-label")).to_have_text("leaver@example.com")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login\?reason=signed_out$"))
    expect(page.get_by_test_id("sign-in-message")).to_have_text("You are signed out.")
    page.goto(server.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_choosing_a_language_offers_its_templates(page: Page, server: Server) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", "polyglot@example.com").stdout))
    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill("Native")
    page.get_by_test_id("new-language").click()
    page.get_by_role("option", name="C++").click()
    expect(page.get_by_test_id("new-template")).to_contain_text("C++ program")
    page.get_by_test_id("new-name").press("Enter")
    expect(page.get_by_test_id("page-title")).to_have_text("Native")
    page.goto(server.base_url + "/")
    card = page.get_by_test_id("workspace-card")
    expect(card).to_contain_text("Native")
    expect(card.get_by_test_id("workspace-template")).to_have_text("C++ program")
    expect(card).to_contain_text("C++")
