"""The file tree as code-server users expect it: a context menu on every item (mouse and keyboard),
F2 and Delete, dragging items onto folders, long names, file-type icons, copying a path."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.ide import Api, open_ide, signed_in, tree_item
from tests.e2e.test_ide import share_directly
from tests.serving import Server

pytestmark = pytest.mark.browser

FILE_MENU = ["open", "rename", "delete", "download", "copy-path"]
FOLDER_MENU = ["new-file", "new-folder", "rename", "delete", "download", "copy-path"]


def menu_entries(page: Page) -> list[str]:
    entries = page.locator('[data-testid^="tree-menu-"]')
    expect(entries.first).to_be_visible()
    return [str(entry.get_attribute("data-testid")).removeprefix("tree-menu-") for entry in entries.all()]


def item(page: Page, path: str) -> Locator:
    """The name of the tree's item at `path`."""
    return page.get_by_test_id("file-tree").locator(f'[data-path="{path}"] .codeloft-tree-label')


def workspace_with(api: Api, name: str, files: dict[str, str]) -> str:
    workspace = api.workspace(name)
    for path, text in files.items():
        api.put(workspace, path, text)
    return workspace


def test_rename_from_the_context_menu_and_the_open_tab_follows(page: Page, server: Server) -> None:
    api = signed_in(page, server, "tree-menu@example.com")
    workspace = workspace_with(api, "Menu", {"notes.txt": "hello\n", "lib/util.py": "X = 1\n"})
    open_ide(page, server, workspace)
    tree_item(page, "notes.txt").click()
    expect(page.get_by_test_id("tab-name").filter(has_text="notes.txt")).to_have_count(1)

    tree_item(page, "notes.txt").click(button="right")
    assert menu_entries(page) == FILE_MENU
    expect(page.get_by_test_id("tree-menu-rename")).to_have_attribute("role", "menuitem")
    page.get_by_test_id("tree-menu-rename").click()
    expect(page.get_by_test_id("dialog-input")).to_have_value("notes.txt")
    page.get_by_test_id("dialog-input").fill("todo.txt")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "todo.txt")).to_be_visible()
    expect(tree_item(page, "notes.txt")).to_have_count(0)
    expect(page.get_by_test_id("tab-name").filter(has_text="todo.txt")).to_have_count(1)
    expect(page.get_by_test_id("tab-name").filter(has_text="notes.txt")).to_have_count(0)
    assert api.text(workspace, "todo.txt") == "hello\n"
    assert api.text(workspace, "notes.txt") is None

    # A folder's menu; the selected item looks selected.
    tree_item(page, "lib").click(button="right")
    assert menu_entries(page) == FOLDER_MENU
    expect(page.get_by_test_id("tree-menu-download")).to_have_text("Download the workspace as a ZIP")
    expect(tree_item(page, "lib")).to_have_class(re.compile("cl-tree-item--selected"))
    background = tree_item(page, "lib").evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    page.get_by_test_id("tree-menu-new-file").click()
    page.get_by_test_id("dialog-input").fill("extra.py")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "extra.py")).to_be_visible()
    assert api.text(workspace, "lib/extra.py") == ""


def test_the_keyboard_opens_the_menu_renames_with_f2_and_deletes_with_delete(page: Page, server: Server) -> None:
    api = signed_in(page, server, "tree-keys@example.com")
    workspace = workspace_with(api, "Keys", {"a.py": "A = 1\n"})
    open_ide(page, server, workspace)

    # Shift+F10 on the focused item opens its menu, its first entry focused; arrows move; Escape closes.
    tree_item(page, "a.py").focus()
    page.keyboard.press("Shift+F10")
    expect(page.get_by_test_id("tree-menu-open")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("tree-menu-rename")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("tree-menu-copy-path")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("tree-menu-open")).to_be_hidden()
    tree_item(page, "a.py").focus()
    page.keyboard.press("ContextMenu")
    expect(page.get_by_test_id("tree-menu-open")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("tree-menu-open")).to_be_hidden()

    # F2 renames the focused item, through the same dialog as the button.
    tree_item(page, "a.py").focus()
    page.keyboard.press("F2")
    expect(page.get_by_test_id("dialog-input")).to_have_value("a.py")
    page.get_by_test_id("dialog-input").fill("b.py")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "b.py")).to_be_visible()
    assert api.text(workspace, "b.py") == "A = 1\n"

    # In the editor F2 and Delete are the editor's.
    tree_item(page, "b.py").click()
    page.locator(".cm-content").click()
    page.keyboard.press("F2")
    page.keyboard.press("Delete")
    page.wait_for_timeout(500)  # what the server would answer has come
    expect(page.get_by_test_id("dialog-input")).to_have_count(0)
    expect(page.get_by_test_id("confirm-ok")).to_have_count(0)

    # Delete asks first, as the button does.
    tree_item(page, "b.py").focus()
    page.keyboard.press("Delete")
    page.get_by_test_id("confirm-ok").click()
    expect(tree_item(page, "b.py")).to_have_count(0)
    assert api.text(workspace, "b.py") is None


def test_drag_a_file_onto_a_folder_and_back_to_the_root(page: Page, server: Server) -> None:
    api = signed_in(page, server, "tree-drag@example.com")
    workspace = workspace_with(api, "Drag", {"lib/__init__.py": "", "moved.py": "M = 1\n"})
    open_ide(page, server, workspace)
    expect(page.locator('[data-drop-ready="1"]')).to_have_count(1)  # the tree takes drops
    tree_item(page, "moved.py").drag_to(tree_item(page, "lib"))
    expect(page.get_by_text("Move moved.py into lib?")).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(item(page, "lib/moved.py")).to_be_visible()
    expect(item(page, "moved.py")).to_have_count(0)
    assert api.text(workspace, "moved.py") is None
    assert api.text(workspace, "lib/moved.py") == "M = 1\n"

    # The tree's empty area is the root.
    tree = page.get_by_test_id("file-tree")
    box = tree.bounding_box()
    assert box is not None
    tree_item(page, "moved.py").drag_to(tree, target_position={"x": 40, "y": box["height"] - 10})
    page.get_by_test_id("confirm-ok").click()
    expect(item(page, "moved.py")).to_be_visible()
    expect(item(page, "lib/moved.py")).to_have_count(0)
    assert api.text(workspace, "lib/moved.py") is None
    assert api.text(workspace, "moved.py") == "M = 1\n"

    # A folder cannot move into itself.
    tree_item(page, "lib").drag_to(tree_item(page, "__init__.py"))
    expect(page.get_by_text("lib cannot move into itself.")).to_be_visible()
    assert api.text(workspace, "lib/__init__.py") == ""


def test_a_readers_menu_only_opens_downloads_and_copies(page: Page, browser: Browser, server: Server) -> None:
    api = signed_in(page, server, "tree-owner@example.com")
    workspace = workspace_with(api, "Lent tree", {"main.py": "print(1)\n"})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    reader = context.new_page()
    try:
        signed_in(reader, server, "tree-reader@example.com")
        share_directly(server, workspace, "tree-owner@example.com", "tree-reader@example.com", "read")
        open_ide(reader, server, workspace)
        tree_item(reader, "main.py").click(button="right")
        assert menu_entries(reader) == ["open", "download", "copy-path"]
        reader.keyboard.press("Escape")
        tree_item(reader, "main.py").focus()
        reader.keyboard.press("F2")
        reader.keyboard.press("Delete")
        reader.wait_for_timeout(500)  # what the server would answer has come
        expect(reader.get_by_test_id("dialog-input")).to_have_count(0)
        expect(reader.get_by_test_id("confirm-ok")).to_have_count(0)
        assert tree_item(reader, "main.py").get_attribute("draggable") is None
    finally:
        context.close()
    assert api.text(workspace, "main.py") == "print(1)\n"


def test_long_names_are_cut_with_the_full_path_as_tooltip_and_icons_say_the_type(page: Page, server: Server) -> None:
    api = signed_in(page, server, "tree-long@example.com")
    name = "n" * 117 + ".md"
    assert len(name) == 120
    workspace = workspace_with(api, "Long", {f"docs/{name}": "# long\n", "app.js": "", "page.html": ""})
    open_ide(page, server, workspace)
    tree_item(page, "docs").locator(".cl-tree-arrow").click()
    label = item(page, f"docs/{name}")
    expect(label).to_have_attribute("title", f"docs/{name}")
    expect(label).to_have_text(name)
    cut = label.evaluate(
        "(e) => [getComputedStyle(e).textOverflow, e.scrollWidth > e.clientWidth, e.getBoundingClientRect().right]"
    )
    tree_box = page.get_by_test_id("file-tree").bounding_box()
    assert tree_box is not None
    assert cut[0] == "ellipsis" and cut[1] is True, cut
    assert cut[2] <= tree_box["x"] + tree_box["width"] + 1, (cut, tree_box)

    def icon(label: str) -> tuple[str, str | None]:
        element = tree_item(page, label).locator("i.codeloft-tree-icon")
        return element.inner_text(), element.get_attribute("aria-hidden")

    assert icon("docs") == ("folder_open", "true")
    assert icon(name) == ("description", "true")
    assert icon("app.js")[0] == "javascript"
    assert icon("page.html")[0] == "html"
    assert icon("main.py")[0] == "code"


def test_copy_path_puts_the_workspace_path_on_the_clipboard(page: Page, server: Server) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    api = signed_in(page, server, "tree-copy@example.com")
    workspace = workspace_with(api, "Copy", {"lib/util.py": "U = 1\n"})
    open_ide(page, server, workspace)
    tree_item(page, "lib").locator(".cl-tree-arrow").click()
    tree_item(page, "util.py").click(button="right")
    page.get_by_test_id("tree-menu-copy-path").click()
    expect(page.get_by_text("Copied lib/util.py")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "lib/util.py"
