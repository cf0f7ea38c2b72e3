"""The workbench: panes that collapse from the keyboard, and a page that comes back as the person left
it (pane sizes and which are open, the open tabs, the active file, the cursor), per person."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in
from tests.serving import Server

pytestmark = pytest.mark.browser


def test_panes_and_tabs_come_back_after_a_reload_for_this_person_only(
    page: Page, server: Server, tmp_path, browser
) -> None:
    api = signed_in(page, server, "workbench@example.com")
    workspace = api.workspace("Bench")
    for name in ("a.py", "b.py", "c.py"):
        api.put(workspace, name, f"# {name}\nx = 1\ny = 2\nz = 3\n")
    open_ide(page, server, workspace)
    tree = page.get_by_test_id("file-tree")
    tree.get_by_text("a.py").click()
    tree.get_by_text("b.py").click()
    expect(page.get_by_test_id("tab")).to_have_count(3)  # main.py of the template, a.py, b.py
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 3, Col 6")
    page.keyboard.press("Control+b")
    expect(tree).to_be_hidden()
    page.keyboard.press("Control+j")
    expect(page.get_by_test_id("run")).to_be_hidden()
    page.wait_for_timeout(2500)  # the workbench is stored every 2 s when it changed
    page.screenshot(path=str(tmp_path / "collapsed.png"))

    page.reload()
    expect(page.get_by_test_id("tab")).to_have_count(3)
    expect(page.get_by_test_id("tab-name")).to_have_text(["main.py", "a.py", "b.py"])
    expect(page.locator('[data-testid="tab"][aria-current="true"]')).to_contain_text("b.py")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 3, Col 6")
    expect(tree).to_be_hidden()
    expect(page.get_by_test_id("run")).to_be_hidden()
    page.get_by_test_id("activity-files").click()  # the activity bar opens the side bar again
    expect(tree).to_be_visible()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+j")
    expect(page.get_by_test_id("run")).to_be_visible()
    page.screenshot(path=str(tmp_path / "restored.png"))

    other = browser.new_page()
    try:
        bob = signed_in(other, server, "bench-bob@example.com")
        assert bob  # a second person: the workspace is not shared with him, so he has his own
        own = bob.workspace("Bob's bench")
        open_ide(other, server, own)
        expect(other.get_by_test_id("file-tree")).to_be_visible()
        expect(other.get_by_test_id("run")).to_be_visible()
    finally:
        other.close()


def test_the_preview_opens_beside_the_editor_and_follows_a_save(page: Page, server: Server, tmp_path) -> None:
    api = signed_in(page, server, "beside@example.com")
    workspace = api.workspace("Beside", language="javascript", template="react")
    open_ide(page, server, workspace)
    page.get_by_test_id("preview").click()
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.get_by_role("button")).to_have_text("Clicked 0 times")
    editor, pane = page.locator(".cm-editor"), page.get_by_test_id("preview-pane")
    expect(editor).to_be_visible()
    left, right = editor.bounding_box(), pane.bounding_box()
    assert left and right and left["x"] + left["width"] <= right["x"] + 5  # side by side, not over it
    page.get_by_test_id("file-tree").get_by_text("index.html").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type('\n<p id="marker">second version</p>\n')
    page.keyboard.press("Control+s")
    expect(frame.locator("#marker")).to_have_text("second version", timeout=20_000)
    expect(page.get_by_test_id("run-output")).to_be_attached()  # the server's log is in the Output tab
    page.screenshot(path=str(tmp_path / "beside.png"))
    page.get_by_test_id("preview-close").click()
    expect(pane).to_be_hidden()


def test_the_theme_is_the_persons_on_every_page(page: Page, server: Server, browser) -> None:
    api = signed_in(page, server, "night@example.com")
    workspace = api.workspace("Night")
    toggle = page.get_by_test_id("theme-toggle")
    expect(page.locator("body.body--dark")).to_have_count(0)
    toggle.click()  # on the dashboard
    expect(page.locator("body.body--dark")).to_have_count(1)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    open_ide(page, server, workspace)
    expect(page.locator("body.body--dark")).to_have_count(1)
    expect(page.locator(".cm-editor")).to_have_css("background-color", "rgb(30, 30, 30)")  # the dark editor
    page.get_by_test_id("theme-toggle").click()  # back to light, in the IDE: the editor follows at once
    expect(page.locator("body.body--dark")).to_have_count(0)
    expect(page.locator(".cm-editor")).not_to_have_css("background-color", "rgb(30, 30, 30)")
    page.get_by_test_id("theme-toggle").click()
    other = browser.new_page()
    try:
        signed_in(other, server, "day@example.com")
        expect(other.locator("body.body--dark")).to_have_count(0)  # another person keeps theirs
    finally:
        other.close()
    page.goto(server.base_url + "/")
    expect(page.locator("body.body--dark")).to_have_count(1)  # kept for this person


@pytest.mark.parametrize("width", [800, 390])
def test_the_ide_is_usable_at_800_px_and_on_a_phone(page: Page, server: Server, tmp_path, width: int) -> None:
    api = signed_in(page, server, f"narrow{width}@example.com")
    workspace = api.workspace("Narrow")
    page.set_viewport_size({"width": width, "height": 800})
    open_ide(page, server, workspace)
    editor, tree = page.locator(".cm-editor"), page.get_by_test_id("file-tree")
    expect(editor).to_be_visible()
    if width <= 640:  # the side bar is a drawer: closed at first, the editor takes the width
        expect(tree).to_be_hidden()
        box = editor.bounding_box()
        assert box and box["width"] > width * 0.7, box
        page.get_by_test_id("activity-files").click()
        expect(tree).to_be_visible()
        tree.get_by_text("main.py").click()
        expect(tree).to_be_hidden()  # opening a file closes the drawer
        expect(editor).to_be_visible()
    else:
        expect(tree).to_be_visible()
    expect(page.get_by_test_id("run")).to_be_visible()
    header = page.locator(".q-header").bounding_box()
    assert header and header["height"] < 50, header  # one line, also on a phone
    toolbar = page.locator(".cl-run-toolbar").evaluate("(t) => [t.scrollWidth, t.clientWidth]")
    assert toolbar[0] <= toolbar[1], toolbar  # the run toolbar fits: no sideways scrolling
    expect(page.get_by_role("button", name="Run with input")).to_be_visible()  # named, also as an icon
    if width <= 640:
        sign_out = page.get_by_test_id("sign-out-narrow").bounding_box()
        assert sign_out and sign_out["x"] + sign_out["width"] <= width, sign_out  # all of the header is on screen
        page.get_by_test_id("account-narrow").click()  # the account, reached from the phone's header
        expect(page.get_by_test_id("account-profile")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"ide-{width}.png"))
