"""The Terminal tab: a shell in the sandbox over the workspace's files. What a command creates appears in
the tree and is saved, what it deletes goes, and a change that meets an unsaved edit in the editor opens
the conflict dialog instead of overwriting anything."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in, tree_item, type_at_end
from tests.serving import Server

pytestmark = pytest.mark.browser


def open_terminal(page: Page):
    page.get_by_test_id("tab-terminal").click()
    terminal = page.get_by_test_id("terminal")
    expect(terminal).to_be_visible()
    expect(terminal).to_contain_text("$", timeout=30_000)  # the prompt
    return terminal


def type_into_terminal(page: Page, text: str) -> None:
    page.get_by_test_id("terminal").locator(".xterm-helper-textarea").focus()
    page.keyboard.type(text)


def test_commands_create_and_delete_files_that_are_saved(page: Page, server: Server) -> None:
    api = signed_in(page, server, "terminal@example.com")
    workspace = api.workspace("Shell", template="python")
    open_ide(page, server, workspace)
    terminal = open_terminal(page)
    type_into_terminal(page, "ls\n")
    expect(terminal).to_contain_text("main.py")
    type_into_terminal(page, "echo hi > x.txt\n")
    expect(tree_item(page, "x.txt")).to_be_visible(timeout=15_000)
    assert api.text(workspace, "x.txt") == "hi\n"
    type_into_terminal(page, "rm x.txt\n")
    expect(tree_item(page, "x.txt")).to_have_count(0, timeout=15_000)
    assert api.text(workspace, "x.txt") is None


def test_a_file_saved_from_the_editor_is_in_the_shell_for_the_next_command(page: Page, server: Server) -> None:
    api = signed_in(page, server, "terminal-in@example.com")
    workspace = api.workspace("Shell in", template="python")
    open_ide(page, server, workspace)
    terminal = open_terminal(page)
    api.put(workspace, "data.txt", "from elsewhere\n")
    type_into_terminal(page, "true\n")  # the prompt after it copies the file in
    type_into_terminal(page, "cat data.txt\n")
    expect(terminal).to_contain_text("from elsewhere")


def test_a_terminal_change_meeting_an_unsaved_edit_opens_the_conflict_dialog(page: Page, server: Server) -> None:
    api = signed_in(page, server, "terminal-conflict@example.com")
    workspace = api.workspace("Shell conflict", template="python", autosave_delay_ms=0)
    open_ide(page, server, workspace)
    before = api.text(workspace, "main.py")
    type_at_end(page, "# an edit in the editor, not saved\n")
    open_terminal(page)
    type_into_terminal(page, "echo 'print(\"terminal\")' > main.py\n")
    deadline = time.monotonic() + 15
    while api.text(workspace, "main.py") == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.text(workspace, "main.py") == 'print("terminal")\n'  # saved: the editor had not saved
    page.locator(".cm-content").click()
    page.keyboard.press("Control+s")  # the editor's save meets the terminal's: the person chooses
    expect(page.get_by_test_id("conflict-dialog")).to_be_visible(timeout=15_000)
    assert api.text(workspace, "main.py") == 'print("terminal")\n'


def test_the_terminal_shows_why_it_closed_and_starts_again(page: Page, server: Server) -> None:
    api = signed_in(page, server, "terminal-exit@example.com")
    workspace = api.workspace("Shell exit", template="python")
    open_ide(page, server, workspace)
    terminal = open_terminal(page)
    type_into_terminal(page, "exit\n")
    expect(terminal).to_contain_text("[codeloft] terminal closed: the shell ended")
    expect(page.get_by_test_id("terminal-ended")).to_be_visible()
    page.get_by_test_id("terminal-restart").click()
    type_into_terminal(page, "echo again\n")
    expect(terminal).to_contain_text("again")


def test_a_reload_brings_back_the_terminal_on_the_same_shell_and_the_preview(page: Page, server: Server) -> None:
    """The page comes back as it was left: the Terminal tab on the shell that still runs (its variables
    kept), and the preview beside the editor, served."""
    api = signed_in(page, server, "comeback@example.com")
    workspace = api.workspace("Back", language="javascript", template="express")
    open_ide(page, server, workspace)
    page.get_by_test_id("preview").click()
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.locator("h1")).to_have_text("Hello from Codeloft!")
    terminal = open_terminal(page)
    type_into_terminal(page, "KEPT=$((6*7))\n")
    time.sleep(2.5)  # the workbench is remembered every second or two
    page.reload()
    expect(page.frame_locator("[data-testid=preview-frame]").locator("h1")).to_have_text("Hello from Codeloft!")
    terminal = page.get_by_test_id("terminal")
    expect(terminal).to_be_visible()
    type_into_terminal(page, "echo kept=$KEPT\n")
    expect(terminal).to_contain_text("kept=42", timeout=15_000)
