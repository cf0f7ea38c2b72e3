"""What a new user trips over outside the editor: uploads that replace files, names too long to run,
pages that do not exist, the dashboard's flow, the settings dialog, renaming a folder."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import create_workspace, sign_in, tree_item, type_at_end
from tests.serving import Server

pytestmark = pytest.mark.browser


# --- helpers ---------------------------------------------------------------------------------


def workspace_id(page: Page) -> str:
    return page.url.split("?")[0].rsplit("/w/", 1)[1]


def api(page: Page, server: Server) -> httpx.Client:
    """The API with the page's session, to check what the server holds."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=f"{server.base_url}/api/v1/workspaces/{workspace_id(page)}", cookies=cookies)


def stored(page: Page, server: Server, path: str) -> str:
    with api(page, server) as client:
        response = client.get(f"/files/{path}")
        assert response.status_code == 200, response.text
        return response.text


def put(page: Page, server: Server, path: str, text: str) -> None:
    with api(page, server) as client:
        token = client.get(f"{server.base_url}/api/v1/session").json()["csrf_token"]
        response = client.put(f"/files/{path}", content=text.encode(), headers={"X-CSRF-Token": token})
        assert response.status_code in (200, 201), response.text


def editor_settings(page: Page, server: Server) -> dict:
    with api(page, server) as client:
        response = client.get(f"{server.base_url}/api/v1/workspaces/{workspace_id(page)}")
        assert response.status_code == 200, response.text
        return dict(response.json()["settings"].get("editor", {}))


def wait_for(page: Page, server: Server, path: str, text: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while stored(page, server, path) != text:
        assert time.monotonic() < deadline, f"{path} never became {text!r}: {stored(page, server, path)!r}"
        time.sleep(0.1)


def drop(page: Page, files: dict[str, str]) -> None:
    """Drop files from the desktop onto the file tree, as a browser delivers them (once the tree takes
    drops: its listeners come with the page's connection)."""
    expect(page.locator('[data-drop-ready="1"]')).to_have_count(1)
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, text] of files) transfer.items.add(new File([text], name, {type: "text/plain"}));
            return transfer;
        }""",
        list(files.items()),
    )
    page.get_by_test_id("file-tree").dispatch_event("drop", {"dataTransfer": transfer})


# --- 4: uploading over an existing file asks first -------------------------------------------


def test_the_upload_dialog_asks_before_replacing_and_an_open_tab_does_not_overwrite_it(
    page: Page, server: Server, tmp_path: Path
) -> None:
    sign_in(page, server, "replacer@example.com")
    create_workspace(page, "Replacing")
    expect(page.locator(".cm-content")).to_contain_text("Hello")  # main.py is open in the editor
    original = stored(page, server, "main.py")
    (tmp_path / "main.py").write_text("print('uploaded')\n")
    (tmp_path / "extra.py").write_text("X = 1\n")

    page.get_by_test_id("tree-upload").click()
    page.get_by_test_id("upload").locator("input[type=file]").set_input_files(
        [str(tmp_path / "main.py"), str(tmp_path / "extra.py")]
    )
    question = page.get_by_test_id("replace-dialog")
    expect(question).to_contain_text("main.py exists. Replace it?")
    page.get_by_test_id("replace-skip").click()
    expect(question).to_be_hidden()
    expect(tree_item(page, "extra.py")).to_be_visible()  # the new file came in
    assert stored(page, server, "main.py") == original  # the skipped one is untouched
    assert stored(page, server, "extra.py") == "X = 1\n"

    page.get_by_test_id("upload").locator("input[type=file]").set_input_files(str(tmp_path / "main.py"))
    expect(question).to_contain_text("main.py exists. Replace it?")
    page.get_by_test_id("replace-ok").click()
    wait_for(page, server, "main.py", "print('uploaded')\n")
    page.keyboard.press("Escape")

    # The tab still holds the old text: saving it must not silently undo the replacement.
    type_at_end(page, "\n# typed in the old copy")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("conflict-dialog")).to_be_visible()
    assert stored(page, server, "main.py") == "print('uploaded')\n"
    page.get_by_test_id("conflict-reload").click()
    expect(page.locator(".cm-content")).to_contain_text("print('uploaded')")


def test_dropping_files_asks_the_same_question_and_can_answer_for_all(page: Page, server: Server) -> None:
    sign_in(page, server, "dropper@example.com")
    create_workspace(page, "Dropping")
    put(page, server, "a.py", "A = 'mine'\n")
    put(page, server, "b.py", "B = 'mine'\n")
    page.reload()
    expect(tree_item(page, "b.py")).to_be_visible()

    drop(page, {"a.py": "A = 'dropped'\n", "b.py": "B = 'dropped'\n", "c.py": "C = 1\n"})
    question = page.get_by_test_id("replace-dialog")
    expect(question).to_contain_text("a.py exists. Replace it?")
    question.get_by_text("Do the same for the other file that exists").click()
    page.get_by_test_id("replace-ok").click()
    expect(question).to_be_hidden()
    expect(tree_item(page, "c.py")).to_be_visible()
    wait_for(page, server, "b.py", "B = 'dropped'\n")  # no second question: the answer was for all
    assert stored(page, server, "a.py") == "A = 'dropped'\n"

    drop(page, {"main.py": "overwritten?\n"})
    expect(question).to_contain_text("main.py exists. Replace it?")
    expect(question.get_by_text("Do the same")).to_have_count(0)  # one file: nothing to do "for all"
    page.get_by_test_id("replace-skip").click()
    expect(page.get_by_text("Skipped main.py")).to_be_visible()
    assert "Hello" in stored(page, server, "main.py")


# --- 5: a name longer than a file system allows ----------------------------------------------


def test_the_tree_refuses_a_name_longer_than_255_bytes(page: Page, server: Server) -> None:
    sign_in(page, server, "longname@example.com")
    create_workspace(page, "Long names")
    page.get_by_test_id("tree-new-file").click()
    page.get_by_test_id("dialog-input").fill("n" * 300 + ".py")
    page.get_by_test_id("dialog-ok").click()
    expect(page.get_by_text("at most 255 bytes per path segment")).to_be_visible()
    with api(page, server) as client:
        assert [entry["path"] for entry in client.get("/files").json()] == ["main.py"]


# --- 12: pages that do not exist -------------------------------------------------------------


def test_an_unknown_address_answers_404_with_a_way_home(page: Page, server: Server) -> None:
    sign_in(page, server, "lost@example.com")
    response = page.goto(f"{server.base_url}/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("There is no page at this address")
    expect(page.get_by_text("HTTPException")).to_have_count(0)
    expect(page.get_by_test_id("user-label")).to_have_text("lost@example.com")  # Codeloft's own frame
    page.get_by_role("link", name="Back to your workspaces").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("new-workspace")).to_be_visible()


@pytest.mark.parametrize("address", [f"/w/{uuid.uuid4()}", "/w/not-an-id"], ids=["unknown", "malformed"])
def test_a_missing_workspace_shows_a_plain_page_with_a_way_home(page: Page, server: Server, address: str) -> None:
    sign_in(page, server, f"nowhere-{address[-4:]}@example.com")
    page.goto(server.base_url + address)
    expect(page.get_by_test_id("not-found")).to_contain_text("No such workspace")
    expect(page.get_by_text("HTTPException")).to_have_count(0)
    page.get_by_role("link", name="Back to your workspaces").click()
    expect(page.get_by_test_id("new-workspace")).to_be_visible()


# --- 13: after Create, the new workspace opens; the whole card opens a workspace ---------------


def test_create_opens_the_workspace_and_the_whole_card_opens_it(page: Page, server: Server) -> None:
    sign_in(page, server, "carder@example.com")
    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill("Straight in")
    page.get_by_test_id("new-language").click()
    page.get_by_role("option", name="JavaScript (Node.js)", exact=True).click()
    page.get_by_test_id("new-template").click()
    page.get_by_role("option", name="Web server (Node.js, listens on PORT)", exact=True).click()
    page.get_by_test_id("new-create").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("page-title")).to_have_text("Straight in")
    opened = page.url

    page.goto(server.base_url + "/")
    card = page.get_by_test_id("workspace-card").filter(has_text="Straight in")
    expect(card).to_contain_text("Web server (Node.js, listens on PORT)")  # the template, not only the language
    card.get_by_test_id("workspace-menu").click()  # the ⋮ menu opens its menu, not the workspace
    expect(page.locator(".q-menu").get_by_text("Rename")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/$"))
    card.get_by_text("Updated").click()  # anywhere on the card
    expect(page).to_have_url(opened)

    page.goto(server.base_url + "/")
    title = page.get_by_test_id("workspace-card").filter(has_text="Straight in").get_by_test_id("workspace-open")
    title.focus()  # the keyboard's way in: the title is a link
    page.keyboard.press("Enter")
    expect(page).to_have_url(opened)


# --- 14: the settings dialog and renaming a folder -------------------------------------------


def test_settings_labels_are_whole_and_a_bad_value_keeps_the_dialog_open(page: Page, server: Server) -> None:
    sign_in(page, server, "settings14@example.com")
    create_workspace(page, "Settings")
    page.get_by_test_id("open-settings").click()
    dialog = page.get_by_test_id("settings-dialog")
    for label in ("Font size (px)", "Tab size (spaces)", "Autosave delay (ms, 0 = off)"):
        shown = dialog.locator(".q-field__label", has_text=label)
        expect(shown).to_have_text(label)
        assert shown.evaluate("(e) => e.scrollWidth <= e.clientWidth"), f"{label!r} is cut off"

    tab_size = page.get_by_test_id("settings-tab-size")
    for bad in ("99", "0"):
        tab_size.fill(bad)
        page.get_by_test_id("settings-save").click()
        expect(dialog.get_by_text("Tab size must be between 1 and 8 spaces.")).to_be_visible()
        expect(dialog).to_be_visible()  # still open, with the person's value to correct
        expect(tab_size).to_have_value(bad)
        expect(page.get_by_text("tab_size")).to_have_count(0)
    assert "tab_size" not in editor_settings(page, server)  # nothing was saved
    tab_size.fill("2")
    page.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    assert editor_settings(page, server)["tab_size"] == 2


def test_renaming_a_folder_keeps_it_open_and_selected(page: Page, server: Server) -> None:
    sign_in(page, server, "folders14@example.com")
    create_workspace(page, "Folders")
    page.get_by_test_id("tree-new-folder").click()
    page.get_by_test_id("dialog-input").fill("pkg/inner")
    page.get_by_test_id("dialog-ok").click()
    tree_item(page, "inner").click()
    page.get_by_test_id("tree-new-file").click()
    page.get_by_test_id("dialog-input").fill("util.py")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "util.py")).to_be_visible()
    tree_item(page, "pkg").click()

    page.get_by_test_id("tree-move").click()
    page.get_by_test_id("dialog-input").fill("lib")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "lib")).to_be_visible()
    expect(tree_item(page, "inner")).to_be_visible()  # the renamed folder stays open...
    expect(tree_item(page, "util.py")).to_be_visible()  # ...and so do the folders inside it
    expect(tree_item(page, "lib")).to_have_class(re.compile(r"cl-tree-item--selected"))  # and selected
    expect(tree_item(page, "pkg")).to_have_count(0)
