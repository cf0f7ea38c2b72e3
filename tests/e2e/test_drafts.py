"""Unsaved text survives the page going away (a reload, a crashed tab; a lost server is in
test_cluster_faults.py): the tab keeps it, and the page that loads next puts it back as unsaved changes
when the file is as it started from, or offers it for download when the file changed meanwhile."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in
from tests.e2e.test_editor_trust import open_tab
from tests.serving import Server

pytestmark = pytest.mark.browser

DRAFT_WAIT = 0.6  # past the browser's 0.3 s delay before it writes a draft


def type_unsaved(page: Page, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    expect(page.get_by_test_id("status-state")).to_have_text("Modified")
    time.sleep(DRAFT_WAIT)


def reload_leaving(page: Page) -> None:
    """Reload the tab, answering the browser's leave-page prompt with Leave."""

    def leave(dialog: Any) -> None:
        dialog.accept()

    page.once("dialog", leave)
    page.reload()


def test_a_reload_puts_unsaved_text_back_and_saving_it_works(page: Page, server: Server) -> None:
    api = signed_in(page, server, "draft-reload@example.com")
    workspace = api.workspace("Draft reload", template="blank", autosave_delay_ms=0)
    api.put(workspace, "main.py", "print('saved')\n")
    api.put(workspace, "other.py", "other = 1\n")
    open_ide(page, server, workspace)
    open_tab(page, "main.py")
    type_unsaved(page, "# typed, not saved")
    open_tab(page, "other.py")  # the draft of a file that is not shown is kept too

    reload_leaving(page)
    expect(page.get_by_test_id("draft-restored")).to_contain_text(
        "Restored unsaved changes to main.py from before the page was reloaded"
    )
    expect(page.get_by_test_id("reconnected")).to_have_count(0)  # no connection was lost
    tab = page.get_by_test_id("tab").filter(has_text="main.py")
    expect(tab.get_by_test_id("tab-modified")).to_be_visible()
    assert api.text(workspace, "main.py") == "print('saved')\n"  # put back, not saved by itself
    tab.click()
    expect(page.locator(".cm-content")).to_contain_text("# typed, not saved")
    expect(page.get_by_test_id("status-state")).to_have_text("Modified")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    assert api.text(workspace, "main.py") == "print('saved')\n# typed, not saved"

    # Saved: nothing is kept any more, a reload brings nothing back.
    time.sleep(DRAFT_WAIT)
    page.reload()
    expect(page.get_by_test_id("tab").filter(has_text="main.py")).to_be_visible()
    time.sleep(1.5)
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)


def test_a_draft_of_a_file_changed_meanwhile_is_offered_not_applied(page: Page, server: Server) -> None:
    api = signed_in(page, server, "draft-changed@example.com")
    workspace = api.workspace("Draft changed", template="blank", autosave_delay_ms=0)
    api.put(workspace, "main.py", "print('saved')\n")
    open_ide(page, server, workspace)
    open_tab(page, "main.py")
    type_unsaved(page, "# mine")
    api.put(workspace, "main.py", "print('theirs')\n")  # someone else saves meanwhile

    reload_leaving(page)
    dialog = page.get_by_test_id("draft-dialog")
    expect(dialog).to_contain_text("main.py was changed elsewhere")
    expect(page.get_by_test_id("draft-text")).to_have_value("print('saved')\n# mine")
    expect(page.locator(".cm-content")).to_contain_text("print('theirs')")  # never applied
    assert "# mine" not in page.locator(".cm-content").inner_text()
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_test_id("draft-download").click()
    assert download.value.suggested_filename == "main.py"
    assert Path(download.value.path()).read_text(encoding="utf-8") == "print('saved')\n# mine"
    expect(dialog).to_have_count(0)
    assert api.text(workspace, "main.py") == "print('theirs')\n"

    # Downloaded: it is not offered again.
    page.reload()
    expect(page.locator(".cm-content")).to_contain_text("print('theirs')")
    time.sleep(1.5)
    expect(page.get_by_test_id("draft-dialog")).to_have_count(0)


def test_a_draft_of_a_deleted_file_is_offered_and_discard_drops_it(page: Page, server: Server) -> None:
    api = signed_in(page, server, "draft-deleted@example.com")
    workspace = api.workspace("Draft deleted", template="blank", autosave_delay_ms=0)
    api.put(workspace, "main.py", "print('saved')\n")
    api.put(workspace, "gone.py", "gone = 1\n")
    open_ide(page, server, workspace)
    open_tab(page, "gone.py")
    type_unsaved(page, "# kept")
    api.delete(workspace, "gone.py")

    reload_leaving(page)
    expect(page.get_by_test_id("draft-dialog")).to_contain_text("gone.py was deleted")
    expect(page.get_by_test_id("draft-text")).to_have_value("gone = 1\n# kept")
    page.get_by_test_id("draft-discard").click()
    expect(page.get_by_test_id("draft-dialog")).to_have_count(0)
    assert api.text(workspace, "gone.py") is None  # never created again behind the person's back
    page.reload()
    expect(page.get_by_test_id("page-title")).not_to_be_empty()
    time.sleep(1.5)
    expect(page.get_by_test_id("draft-dialog")).to_have_count(0)


def test_signing_out_drops_the_kept_text(page: Page, server: Server) -> None:
    api = signed_in(page, server, "draft-sign-out@example.com")
    workspace = api.workspace("Draft sign out", template="blank", autosave_delay_ms=0)
    api.put(workspace, "main.py", "print('saved')\n")
    open_ide(page, server, workspace)
    open_tab(page, "main.py")
    type_unsaved(page, "# private")
    kept = page.evaluate("Object.keys(sessionStorage).filter((key) => key.startsWith('codeloft.draft/'))")
    assert len(kept) == 1 and kept[0].endswith(f"/{workspace}/main.py")
    page.get_by_test_id("sign-out").click()
    page.get_by_test_id("leave-drop").click()
    # The sign-in page: signed out (or, if the page's session check came first, "session ended").
    expect(page).to_have_url(re.compile(r"/login\?reason=(signed_out|session_ended)"))
    assert page.evaluate("Object.keys(sessionStorage).filter((key) => key.startsWith('codeloft.'))") == []


def test_a_connection_back_to_the_same_server_says_reconnected_and_keeps_the_page(page: Page, server: Server) -> None:
    api = signed_in(page, server, "draft-reconnect@example.com")
    workspace = api.workspace("Draft reconnect", template="blank", autosave_delay_ms=0)
    api.put(workspace, "main.py", "print('saved')\n")
    open_ide(page, server, workspace)
    open_tab(page, "main.py")
    type_unsaved(page, "# still unsaved")
    page.evaluate("window.codeloftPage = 'the same page'")  # gone if the page reloads
    page.evaluate("window.socket.io.engine.close()")  # the connection drops; socket.io reconnects by itself
    expect(page.get_by_test_id("reconnected")).to_contain_text("Reconnected")
    assert page.evaluate("window.codeloftPage") == "the same page"
    assert page.evaluate("sessionStorage.getItem('codeloft.lost')") is None  # nothing was lost after all
    expect(page.locator(".cm-content")).to_contain_text("# still unsaved")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    assert api.text(workspace, "main.py") == "print('saved')\n# still unsaved"
