"""A public link in a real browser: with JavaScript turned off the page still shows the tree and the
highlighted file (it needs no script at all), and hostile names and content render as text (no dialog)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.api_client import User
from tests.e2e.ide import open_ide, signed_in
from tests.serving import Server, csrf, signed_in_client

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_FILE = f"{HOSTILE}.py"
HOSTILE_CONTENT = b"</script><script>alert(1)</script>\n"
PROGRAM = "".join(f"total = {n}  # line {n}\n" for n in range(1, 41))


@pytest.fixture(scope="module")
def owner(server: Server) -> User:
    client = signed_in_client(server)
    return User(client=client, headers=csrf(client))


def public_link(owner: User, name: str, files: dict[str, bytes]) -> str:
    ws = owner.create(name)
    for path, data in files.items():
        response = owner.client.put(
            f"/api/v1/workspaces/{ws}/files/{quote(path, safe='/')}", content=data, headers=owner.headers
        )
        assert response.status_code in (200, 201), response.text
    response = owner.post(f"/api/v1/workspaces/{ws}/links", json={})
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def test_with_javascript_off_the_link_shows_the_tree_and_the_highlighted_file(
    browser: Browser, server: Server, owner: User
) -> None:
    url = public_link(owner, "No script", {"main.py": PROGRAM.encode(), "lib/helpers.py": b"def helper():\n    pass\n"})
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        scripts: list[str] = []
        page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
        page.goto(url + "/main.py")
        tree = page.get_by_role("navigation", name="Files")
        expect(tree.get_by_role("link", name="main.py")).to_be_visible()
        expect(tree.get_by_role("link", name="helpers.py")).to_be_visible()
        expect(page.get_by_role("heading", name="main.py")).to_be_visible()
        expect(page.locator(".hl .k, .hl .n").first).to_be_visible()  # Pygments' token classes: highlighted
        expect(page.locator("#L12")).to_have_count(1)
        assert page.locator("link[rel=stylesheet]").count() == 1
        page.get_by_role("link", name="helpers.py").click()
        expect(page.get_by_role("heading", name="lib/helpers.py")).to_be_visible()
        assert scripts == []
    finally:
        context.close()


def test_hostile_names_and_content_render_as_text(browser: Browser, server: Server, owner: User) -> None:
    url = public_link(owner, HOSTILE, {HOSTILE_FILE: HOSTILE_CONTENT, "main.py": b"print(1)\n"})
    context = browser.new_context()
    try:
        page = context.new_page()
        dialogs: list[Dialog] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
        page.goto(url + "/" + quote(HOSTILE_FILE))
        expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
        expect(page.get_by_role("heading", name=HOSTILE_FILE)).to_be_visible()
        expect(page.get_by_role("link", name=HOSTILE_FILE)).to_be_visible()
        expect(page.locator(".hl")).to_contain_text("</script><script>alert(1)</script>")
        expect(page.locator("img")).to_have_count(0)
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
        assert dialogs == []
    finally:
        context.close()


def test_the_share_dialog_makes_a_link_that_opens_and_revokes_it(browser: Browser, page: Page, server: Server) -> None:
    api = signed_in(page, server, "sharer@example.com")
    ws = api.workspace("Shared from the IDE")
    api.put(ws, "main.py", "print('shared')\n")
    open_ide(page, server, ws)

    page.get_by_test_id("open-share").click()
    dialog = page.get_by_test_id("share-dialog")
    dialog.get_by_test_id("share-tab-links").click()
    expect(dialog.get_by_text("No links yet.")).to_be_visible()
    dialog.get_by_test_id("link-create").click()
    address = dialog.get_by_role("textbox", name="Link address")
    expect(address).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{43}$"))
    url = address.input_value()
    expect(dialog.get_by_test_id("link-details")).to_contain_text("0 views")

    visitor = browser.new_context(java_script_enabled=False)
    try:
        shared = visitor.new_page()
        shared.goto(url)
        expect(shared.get_by_role("heading", name="main.py")).to_be_visible()
        dialog.get_by_test_id("link-revoke").click()
        page.get_by_test_id("confirm-ok").click()
        expect(dialog.get_by_text("No links yet.")).to_be_visible()
        shared.goto(url)
        expect(shared.get_by_role("heading", name="Link not found")).to_be_visible()
    finally:
        visitor.close()
