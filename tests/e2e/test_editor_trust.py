"""The editor never loses work: loading a file is not an undoable edit, each file keeps its own undo
history, leaving with unsaved changes asks first, and a file deleted elsewhere is said to be deleted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in
from tests.serving import Server

pytestmark = pytest.mark.browser

AUTOSAVE_WAIT = 2.0  # past the default autosave delay (1 s) and its 0.25 s timer


def open_tab(page: Page, name: str) -> None:
    """Open a file by quick open (Ctrl+P), as a person who knows its name would."""
    page.keyboard.press("Control+p")
    page.get_by_test_id("quick-open-input").fill(name)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("quick-open-input")).to_be_hidden()  # closed before the next Ctrl+P
    expect(page.get_by_test_id("tab").filter(has_text=name.rsplit("/", 1)[-1])).to_be_visible()


def editor_text(page: Page) -> str:
    return page.locator(".cm-content").inner_text()


def test_undo_right_after_opening_a_file_changes_nothing(page: Page, server: Server) -> None:
    api = signed_in(page, server, "undo-open@example.com")
    workspace = api.workspace("Undo on open")
    original = api.text(workspace, "main.py")
    assert original
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_contain_text(original.splitlines()[0])
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    time.sleep(AUTOSAVE_WAIT)
    expect(page.locator(".cm-content")).to_contain_text(original.splitlines()[0])
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    assert api.text(workspace, "main.py") == original


def test_undo_after_switching_files_never_brings_the_other_file_in(page: Page, server: Server) -> None:
    api = signed_in(page, server, "undo-switch@example.com")
    workspace = api.workspace("Undo on switch", template="blank")
    api.put(workspace, "a.py", "print('alpha')\n")
    api.put(workspace, "b.py", "print('beta')\n")
    open_ide(page, server, workspace)
    open_tab(page, "a.py")
    expect(page.locator(".cm-content")).to_contain_text("alpha")
    open_tab(page, "b.py")
    expect(page.locator(".cm-content")).to_contain_text("beta")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    time.sleep(AUTOSAVE_WAIT)
    assert "beta" in editor_text(page) and "alpha" not in editor_text(page)
    assert api.text(workspace, "a.py") == "print('alpha')\n"
    assert api.text(workspace, "b.py") == "print('beta')\n"
    page.get_by_test_id("tab").filter(has_text="a.py").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    time.sleep(AUTOSAVE_WAIT)
    assert "alpha" in editor_text(page)
    assert api.text(workspace, "a.py") == "print('alpha')\n"


def test_each_file_keeps_its_own_undo_history(page: Page, server: Server) -> None:
    api = signed_in(page, server, "undo-own@example.com")
    workspace = api.workspace("Own history", template="blank", autosave_delay_ms=0)
    api.put(workspace, "a.py", "a = 1\n")
    api.put(workspace, "b.py", "b = 2\n")
    open_ide(page, server, workspace)
    open_tab(page, "a.py")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# typed in a")
    open_tab(page, "b.py")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# typed in b")
    page.get_by_test_id("tab").filter(has_text="a.py").click()
    expect(page.locator(".cm-content")).to_contain_text("# typed in a")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")  # undoes the typing in a, not in b
    expect(page.locator(".cm-content")).not_to_contain_text("# typed in a")
    expect(page.locator(".cm-content")).to_contain_text("a = 1")
    page.keyboard.press("Control+s")
    page.get_by_test_id("tab").filter(has_text="b.py").click()
    expect(page.locator(".cm-content")).to_contain_text("# typed in b")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 10
    while api.text(workspace, "b.py") != "b = 2\n# typed in b":
        assert time.monotonic() < deadline, api.text(workspace, "b.py")
        time.sleep(0.1)
    assert api.text(workspace, "a.py") == "a = 1\n"


def test_undo_after_reloading_a_conflicted_file_keeps_the_reloaded_text(page: Page, server: Server) -> None:
    api = signed_in(page, server, "undo-reload@example.com")
    workspace = api.workspace("Reload history", template="blank", autosave_delay_ms=0)
    api.put(workspace, "c.py", "first = 1\n")
    open_ide(page, server, workspace)
    open_tab(page, "c.py")
    api.put(workspace, "c.py", "second = 2\n")  # changed elsewhere
    page.locator(".cm-content").click()
    page.keyboard.type("# mine ")
    page.keyboard.press("Control+s")
    page.get_by_test_id("conflict-reload").click()
    expect(page.locator(".cm-content")).to_contain_text("second = 2")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+s")
    time.sleep(1)
    expect(page.locator(".cm-content")).to_contain_text("second = 2")
    assert api.text(workspace, "c.py") == "second = 2\n"


def test_leaving_with_unsaved_changes_asks_first(page: Page, server: Server) -> None:
    api = signed_in(page, server, "leave@example.com")
    workspace = api.workspace("Leave", template="blank", autosave_delay_ms=0)
    api.put(workspace, "notes.py", "kept = True\n")
    open_ide(page, server, workspace)
    open_tab(page, "notes.py")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# unsaved")
    expect(page.get_by_test_id("tab-modified")).to_be_visible()

    # In-app navigation (the header's home link) asks with Codeloft's own dialog; Stay keeps the page.
    page.get_by_role("link", name="Codeloft").click()
    expect(page.get_by_test_id("leave-dialog")).to_contain_text("notes.py")
    page.get_by_test_id("leave-stay").click()
    expect(page.locator(".cm-content")).to_contain_text("# unsaved")
    assert "/w/" in page.url

    # Signing out asks too, and leaves the session alone when the person stays.
    page.get_by_test_id("sign-out").click()
    page.get_by_test_id("leave-stay").click()
    expect(page.get_by_test_id("user-label")).to_be_visible()
    assert api.client.get("/api/v1/session").status_code == 200

    # Closing the tab (or reloading it): the browser's own leave-page prompt; dismissed, the tab stays.
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 10
    while not prompts:
        assert time.monotonic() < deadline, "no leave-page prompt"
        page.wait_for_timeout(100)
    assert prompts == ["beforeunload"] and not page.is_closed()
    expect(page.locator(".cm-content")).to_contain_text("# unsaved")

    # Save and leave: the text reaches the server and the dashboard opens without a browser prompt.
    page.get_by_role("link", name="Codeloft").click()
    page.get_by_test_id("leave-save").click()
    expect(page.get_by_test_id("new-workspace")).to_be_visible()
    assert prompts == ["beforeunload"]
    assert api.text(workspace, "notes.py") == "kept = True\n# unsaved"


def test_saved_files_leave_without_a_prompt(page: Page, server: Server) -> None:
    api = signed_in(page, server, "leave-clean@example.com")
    workspace = api.workspace("Leave clean")
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_be_visible()
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name="Codeloft").click()
    expect(page.get_by_test_id("new-workspace")).to_be_visible()
    assert prompts == []


def test_a_file_deleted_elsewhere_is_said_to_be_deleted(page: Page, server: Server) -> None:
    api = signed_in(page, server, "deleted@example.com")
    workspace = api.workspace("Deleted", template="blank", autosave_delay_ms=0)
    api.put(workspace, "gone.py", "x = 1\n")
    api.put(workspace, "closed.py", "y = 1\n")
    open_ide(page, server, workspace)
    open_tab(page, "gone.py")
    api.delete(workspace, "gone.py")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# kept")
    page.keyboard.press("Control+s")
    dialog = page.get_by_test_id("deleted-dialog")
    expect(dialog).to_contain_text("gone.py was deleted")
    expect(page.get_by_test_id("conflict-dialog")).to_have_count(0)
    page.get_by_test_id("deleted-create").click()
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    assert api.text(workspace, "gone.py") == "x = 1\n# kept"

    open_tab(page, "closed.py")
    api.delete(workspace, "closed.py")
    page.locator(".cm-content").click()
    page.keyboard.type("# dropped")
    page.keyboard.press("Control+s")
    page.get_by_test_id("deleted-close").click()
    expect(page.get_by_test_id("tab").filter(has_text="closed.py")).to_have_count(0)
    time.sleep(0.5)
    assert api.text(workspace, "closed.py") is None


def test_status_bar_and_tabs_speak_of_the_file_shown(page: Page, server: Server) -> None:
    api = signed_in(page, server, "status@example.com")
    workspace = api.workspace("Status", template="blank")
    api.put(workspace, "my file.py", "one\ntwo\n")
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
        b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    api.client.put(f"/api/v1/workspaces/{workspace}/files/dot.png", content=png).raise_for_status()
    open_ide(page, server, workspace)
    open_tab(page, "my file.py")
    page.locator(".cm-line").nth(1).click()
    page.keyboard.press("End")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 2, Col 4")
    expect(page.get_by_test_id("tab").filter(has_text="my file.py")).to_have_attribute("title", "my file.py")
    foot = page.get_by_test_id("status-bar").bounding_box()
    open_tab(page, "dot.png")
    expect(page.get_by_test_id("image-preview")).to_be_visible()
    expect(page.get_by_test_id("status-cursor")).to_have_text("")
    assert page.get_by_test_id("status-bar").bounding_box() == foot  # at the pane's foot for a picture too
    # Tabs are reachable and chosen with the keyboard; their close buttons have names.
    page.get_by_test_id("tab").filter(has_text="my file.py").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".cm-content")).to_contain_text("two")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 2, Col 4")  # back where it was, and said
    expect(page.get_by_role("button", name="Close dot.png")).to_be_visible()


def test_closing_a_tab_with_unsaved_changes_asks_first(page: Page, server: Server) -> None:
    api = signed_in(page, server, "close-tab@example.com")
    workspace = api.workspace("Close tab", template="blank", autosave_delay_ms=0)
    api.put(workspace, "draft.py", "draft = 1\n")
    open_ide(page, server, workspace)
    open_tab(page, "draft.py")
    page.locator(".cm-content").click()
    page.keyboard.type("# more ")
    page.get_by_role("button", name="Close draft.py").click()
    page.get_by_test_id("discard-keep").click()
    expect(page.locator(".cm-content")).to_contain_text("# more")
    page.get_by_role("button", name="Close draft.py").click()
    page.get_by_test_id("discard-ok").click()
    expect(page.get_by_test_id("tab")).to_have_count(0)
    assert api.text(workspace, "draft.py") == "draft = 1\n"


def test_editing_and_saving_a_big_file_never_sends_it_back_whole(page: Page, server: Server) -> None:
    """Typing, saving and problems in a 2 MB file: only the opening carries the text to the browser."""
    api = signed_in(page, server, "big-file@example.com")
    workspace = api.workspace("Big file", template="blank", autosave_delay_ms=0)
    api.put(workspace, "big.py", "x = 1\n" * 350_000)  # 2.1 MB
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
    open_ide(page, server, workspace)
    open_tab(page, "big.py")
    expect(page.locator(".cm-content")).to_contain_text("x = 1")
    page.wait_for_timeout(500)
    opened = len(frames)
    page_size = page.evaluate("performance.getEntriesByType('navigation')[0].decodedBodySize")
    assert max([page_size, *frames]) > 2_000_000  # the opening carries the text once (in the page or a frame)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("# edited\n")
    expect(page.get_by_test_id("tab-modified")).to_be_visible()
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    page.wait_for_timeout(500)
    assert frames[opened:] and max(frames[opened:]) < 100_000, max(frames[opened:])
    # Problems after a run, an image shown and the text again: still no second copy of the text.
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("big.py", timeout=30_000)
    page.get_by_test_id("tab").filter(has_text="big.py").click()
    page.wait_for_timeout(300)
    assert max(frames[opened:]) < 100_000, max(frames[opened:])
    assert (api.text(workspace, "big.py") or "").startswith("# edited\nx = 1\n")
