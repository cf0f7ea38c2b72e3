"""Sharing with people in a real browser: the owner invites a second person as "Can edit" through the Share
dialog of a dashboard card; the second person (another browser) finds it under "Shared with me" with its
owner and their role, opens it, edits a file and saves; the owner reloads and sees the change. A workspace
named like markup is text on the second person's dashboard (no dialog ever opens). Screenshots of the dialog
and of the dashboard at desktop and phone width go to /tmp/shots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.e2e.ide import open_ide, signed_in, type_at_end
from tests.e2e.test_accessibility import serious_violations
from tests.serving import Server, new_link

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def card_named(page: Page, testid: str, name: str) -> Locator:
    """The dashboard card (`workspace-card` or `shared-card`) whose title is exactly `name`."""
    return page.get_by_test_id(testid).filter(has=page.get_by_role("link", name=name, exact=True))


def shoot(page: Page, name: str) -> None:
    """Screenshots of the page as it is, at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), animations="disabled")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True, animations="disabled")
    page.set_viewport_size(DESKTOP)


def invite(page: Page, workspace: str, email: str, role: str, *, shots: str | None = None) -> None:
    """Share `workspace` with `email` as `role` through its card's Share dialog, pressing Enter to invite."""
    card_named(page, "workspace-card", workspace).get_by_test_id("workspace-menu").click()
    page.get_by_test_id("workspace-share").click()
    dialog = page.get_by_test_id("share-dialog")
    expect(dialog.get_by_text("Not shared with anyone yet.")).to_be_visible()
    dialog.get_by_test_id("share-role").click()
    page.get_by_role("option", name=role, exact=True).click()
    dialog.get_by_test_id("share-email").fill(email)
    dialog.get_by_test_id("share-email").press("Enter")
    row = dialog.get_by_test_id("share-row")
    expect(row).to_contain_text(email)
    expect(row.get_by_test_id("share-row-role")).to_contain_text(role)
    if shots:  # and the public links, the dialog's other tab, with one link
        shoot(page, shots)
        dialog.get_by_test_id("share-tab-links").click()
        dialog.get_by_test_id("link-create").click()
        expect(dialog.get_by_role("textbox", name="Link address")).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{43}$"))
        shoot(page, f"{shots}-links")
    dialog.get_by_test_id("share-close").click()
    expect(dialog).to_be_hidden()


def test_an_invited_editor_finds_edits_and_saves_and_the_owner_sees_it(
    browser: Browser, page: Page, server: Server
) -> None:
    owner = signed_in(page, server, "sharing-owner@example.com")
    workspace = owner.workspace("Team project")
    owner.put(workspace, "main.py", "print('draft')\n")
    owner.workspace(HOSTILE)
    guest_link = new_link(server, "sharing-guest@example.com")  # an account exists before it is invited

    page.goto(server.base_url + "/")
    invite(page, "Team project", "sharing-guest@example.com", "Can edit", shots="share-dialog")
    invite(page, HOSTILE, "sharing-guest@example.com", "Can view")
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_contain_text("print('draft')")

    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        guest = context.new_page()
        dialogs: list[Dialog] = []
        guest.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
        open_sign_in_link(guest, guest_link)
        expect(guest.get_by_test_id("no-workspaces")).to_be_visible()  # none of their own
        shared = card_named(guest, "shared-card", "Team project")
        expect(shared.get_by_test_id("shared-owner")).to_have_text("by sharing-owner@example.com")
        expect(shared.get_by_test_id("shared-role")).to_have_text("Can edit")
        hostile = card_named(guest, "shared-card", HOSTILE)
        expect(hostile.get_by_test_id("shared-open")).to_have_text(HOSTILE)
        expect(hostile.get_by_test_id("shared-role")).to_have_text("Can view")
        assert guest.locator("img[src=x]").count() == 0
        assert (found := serious_violations(guest)) == [], "\n".join(found)
        shoot(guest, "dashboard")

        shared.get_by_test_id("shared-open").click()
        expect(guest).to_have_url(re.compile(f"/w/{workspace}$"))
        expect(guest.get_by_test_id("tab-name")).to_have_text("main.py")
        type_at_end(guest, "\nprint('edited by the guest')")
        guest.keyboard.press("Control+s")
        expect(guest.get_by_test_id("status-state")).to_have_text("Saved")
        assert dialogs == []
    finally:
        context.close()

    page.reload()
    expect(page.locator(".cm-content")).to_contain_text("print('edited by the guest')")
