"""Explore in a real browser: a workspace with a hostile name renders as text (no dialog ever opens), for a
visitor and for a signed-in person, who forks it and lands in the copy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.api_client import User
from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, csrf, new_link, signed_in_client

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def owner(server: Server) -> User:
    client = signed_in_client(server)
    return User(client=client, headers=csrf(client))


def test_a_hostile_name_is_text_on_explore_and_a_fork_opens_the_copy(page: Page, server: Server, owner: User) -> None:
    ws = owner.create(HOSTILE, description="<b>bold?</b> <script>alert(2)</script>")
    owner.write(ws, "main.py", b"print('hello')\n")
    answer = owner.client.patch(f"/api/v1/workspaces/{ws}", json={"is_public": True}, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))

    page.goto(server.base_url + "/explore")  # not signed in
    card = page.get_by_test_id("explore-card").filter(has_text=HOSTILE)
    expect(card.get_by_test_id("explore-name")).to_have_text(HOSTILE)
    expect(card).to_contain_text("<b>bold?</b> <script>alert(2)</script>")
    expect(card.get_by_test_id("explore-fork")).to_have_count(0)
    assert page.locator("img[src=x]").count() == 0

    open_sign_in_link(page, new_link(server, "bob@example.com"))
    page.goto(server.base_url + "/explore")
    card = page.get_by_test_id("explore-card").filter(has_text=HOSTILE)
    expect(card.get_by_test_id("explore-name")).to_have_text(HOSTILE)
    card.get_by_test_id("explore-star").click()
    expect(page.get_by_test_id("explore-card").filter(has_text=HOSTILE).get_by_test_id("explore-stars")).to_have_text(
        "★ 1"
    )
    page.get_by_test_id("explore-card").filter(has_text=HOSTILE).get_by_test_id("explore-fork").click()

    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("page-title")).to_have_text(f"{HOSTILE} (fork)")
    expect(page.get_by_text("main.py").first).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []
