"""An IDE left open while its person's access changes, in a real browser: lowered to read, the page turns
read-only with a banner that says why, and the unsaved text stays (and downloads); revoked, the next save
is refused, a dialog says why, and the unsaved text can still be copied or downloaded. Nothing typed is
lost without warning, and nothing reaches the workspace after the change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.ide import Api, open_ide, signed_in, tree_item, type_at_end
from tests.serving import Server

pytestmark = pytest.mark.browser

ORIGINAL = "print('hello')\n"
TYPED = "# typed by the guest"


@pytest.fixture
def guest_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield page
    context.close()


def shared_workspace(owner: Api, guest_email: str, name: str) -> tuple[str, str]:
    """A workspace of the owner's, without autosave (the test decides when a save happens), shared with the
    guest for writing; its id and the share's id."""
    workspace_id = owner.workspace(name, autosave_delay_ms=0)
    owner.put(workspace_id, "main.py", ORIGINAL)
    answer = owner.client.post(
        f"/api/v1/workspaces/{workspace_id}/shares", json={"email": guest_email, "permission": "write"}
    )
    assert answer.status_code == 201, answer.text
    return workspace_id, str(answer.json()["id"])


def type_unsaved(page: Page, server: Server, workspace_id: str) -> None:
    open_ide(page, server, workspace_id)
    tree_item(page, "main.py").click()
    expect(page.locator(".cm-content")).to_contain_text("print('hello')")
    type_at_end(page, TYPED)
    expect(page.get_by_test_id("status-state")).to_have_text("Modified")


def test_lowered_to_read_the_open_ide_turns_read_only_and_keeps_the_unsaved_text(
    page: Page, guest_page: Page, server: Server
) -> None:
    owner = signed_in(page, server, "lowering-owner@example.com")
    signed_in(guest_page, server, "lowered-guest@example.com")
    workspace_id, share_id = shared_workspace(owner, "lowered-guest@example.com", "Lowered")
    type_unsaved(guest_page, server, workspace_id)
    expect(guest_page.get_by_test_id("read-only")).to_be_hidden()

    answer = owner.client.patch(f"/api/v1/workspaces/{workspace_id}/shares/{share_id}", json={"permission": "read"})
    assert answer.status_code == 200, answer.text

    banner = guest_page.get_by_test_id("access-changed")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("changed to read-only")
    expect(banner).to_contain_text("Your unsaved changes are still here")
    expect(guest_page.get_by_test_id("read-only")).to_be_visible()
    expect(guest_page.get_by_test_id("save")).to_be_hidden()
    expect(guest_page.locator(".cm-content")).to_have_attribute("contenteditable", "false")
    expect(guest_page.locator(".cm-content")).to_contain_text(TYPED)  # still there, to be selected and copied
    guest_page.keyboard.press("Control+s")
    expect(guest_page.get_by_text("You can read this workspace but not change it.")).to_be_visible()
    with guest_page.expect_download() as download:
        banner.get_by_test_id("access-download").click()
    assert download.value.suggested_filename == "main.py"
    assert TYPED in download.value.path().read_text()
    assert owner.text(workspace_id, "main.py") == ORIGINAL

    guest_page.screenshot(path="/tmp/access-read-only.png")


def test_revoked_the_next_save_is_refused_and_the_unsaved_text_can_be_copied_or_downloaded(
    page: Page, guest_page: Page, server: Server
) -> None:
    owner = signed_in(page, server, "revoking-owner@example.com")
    signed_in(guest_page, server, "revoked-guest@example.com")
    workspace_id, share_id = shared_workspace(owner, "revoked-guest@example.com", "Revoked")
    type_unsaved(guest_page, server, workspace_id)

    answer = owner.client.delete(f"/api/v1/workspaces/{workspace_id}/shares/{share_id}")
    assert answer.status_code == 204, answer.text
    guest_page.keyboard.press("Control+s")  # at once: before the page's own check, most likely

    ended = guest_page.get_by_test_id("access-ended")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("You no longer have access to this workspace")
    expect(ended).to_contain_text("Your unsaved changes are still here")
    assert owner.text(workspace_id, "main.py") == ORIGINAL  # the save was refused
    ended.get_by_test_id("access-copy").click()
    expect(guest_page.get_by_text("Copied the unsaved text of main.py")).to_be_visible()
    assert TYPED in guest_page.evaluate("navigator.clipboard.readText()")
    with guest_page.expect_download() as download:
        ended.get_by_test_id("access-download").click()
    assert TYPED in download.value.path().read_text()
    guest_page.keyboard.press("Escape")
    expect(ended).to_be_visible()  # it cannot be dismissed: the page is of no more use
    guest_page.screenshot(path="/tmp/access-ended.png")
    ended.get_by_test_id("access-leave").click()
    expect(guest_page.get_by_test_id("user-label")).to_be_visible()
    expect(guest_page).to_have_url(f"{server.base_url}/")
