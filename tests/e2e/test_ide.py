"""The IDE page in a real browser: templates, the file tree, the editor, conflicts, uploads, ZIPs."""

from __future__ import annotations

import io
import sqlite3
import struct
import time
import uuid
import zipfile
import zlib
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.ide import create_workspace, sign_in, tree_item, type_at_end
from tests.serving import Server

pytestmark = pytest.mark.browser

TEMPLATES = [
    ("Python", "Blank", []),
    ("Python", "Python script", ["main.py"]),
    ("JavaScript (Node.js)", "Blank", []),
    ("JavaScript (Node.js)", "Node.js script", ["index.js"]),
    ("JavaScript (Node.js)", "Web server (Node.js, listens on PORT)", ["package.json", "server.js"]),
    (
        "JavaScript (Node.js)",
        "React page (no build step)",
        ["vendor", "app.js", "index.html", "server.js", "style.css"],
    ),
    ("C++", "Blank", []),
    ("C++", "C++ program", ["greeting.cpp", "greeting.hpp", "main.cpp"]),
    ("Java", "Blank", []),
    ("Java", "Java program", ["src"]),
]


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wait_until_stored(page: Page, server: Server, path: str, text: str, seconds: float = 10) -> None:
    """Poll the API (with the page's cookie) until the file on the server contains `text`."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    url = f"{server.base_url}/api/v1/workspaces/{page.url.rsplit('/w/', 1)[1]}/files/{path}"
    deadline = time.monotonic() + seconds
    while text not in httpx.get(url, cookies=cookies).text:
        assert time.monotonic() < deadline, f"{path} never got {text!r}"
        time.sleep(0.1)


def editor_text(page: Page) -> str:
    return page.locator(".cm-content").inner_text()


@pytest.mark.parametrize(
    ("language", "template", "top_level"), TEMPLATES, ids=[f"{lang}-{name}" for lang, name, _ in TEMPLATES]
)
def test_create_a_workspace_from_each_template(
    page: Page, server: Server, language: str, template: str, top_level: list[str]
) -> None:
    sign_in(page, server, f"t{abs(hash((language, template)))}@example.com")
    create_workspace(page, f"{language} {template}", language, template)
    labels = page.get_by_test_id("file-tree").locator('.cl-tree-item[aria-level="1"] .codeloft-tree-label')
    if top_level:
        expect(labels).to_have_text(top_level)
        expect(page.get_by_test_id("tab")).to_have_count(1)  # the entry point opens by itself
    else:
        expect(page.get_by_text("No files yet.")).to_be_visible()


def test_folder_file_type_save_reload(page: Page, server: Server) -> None:
    sign_in(page, server, "typist@example.com")
    create_workspace(page, "Typing", "Python", "Blank")
    page.get_by_test_id("tree-new-folder").click()
    page.get_by_test_id("dialog-input").fill("pkg")
    page.get_by_test_id("dialog-ok").click()
    tree_item(page, "pkg").click()
    page.get_by_test_id("tree-new-file").click()
    page.get_by_test_id("dialog-input").fill("util.py")
    page.get_by_test_id("dialog-ok").click()
    expect(page.get_by_test_id("tab-name")).to_have_text("util.py")
    expect(page.get_by_test_id("status-language")).to_have_text("Python")
    type_at_end(page, "VALUE = 42")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 1, Col 11")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("status-state")).to_have_text("Saved")
    expect(page.get_by_test_id("tab-modified")).to_have_count(0)
    page.reload()  # the only file opens by itself, its folder unfolded
    expect(tree_item(page, "util.py")).to_be_visible()
    expect(page.get_by_test_id("tab-name")).to_have_text("util.py")
    expect(page.locator(".cm-content")).to_have_text("VALUE = 42")


def test_a_save_over_a_newer_version_opens_the_conflict_dialog(browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    first = context.new_page()
    sign_in(first, server, "conflicted@example.com")
    create_workspace(first, "Conflicts")
    url = first.url
    second = context.new_page()
    second.goto(url)
    expect(second.locator(".cm-content")).to_contain_text("Hello")
    type_at_end(first, "\n# first tab")
    first.keyboard.press("Control+s")
    expect(first.get_by_test_id("status-state")).to_have_text("Saved")
    type_at_end(second, "\n# second tab")
    second.keyboard.press("Control+s")
    dialog = second.get_by_test_id("conflict-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("main.py was changed")
    second.get_by_test_id("conflict-reload").click()
    expect(second.locator(".cm-content")).to_contain_text("# first tab")
    expect(second.locator(".cm-content")).not_to_contain_text("# second tab")
    # and overwriting is a deliberate choice
    type_at_end(first, "\n# first again")
    first.keyboard.press("Control+s")
    expect(first.get_by_test_id("status-state")).to_have_text("Saved")
    type_at_end(second, "\n# mine wins")
    second.keyboard.press("Control+s")
    second.get_by_test_id("conflict-overwrite").click()
    expect(second.get_by_test_id("status-state")).to_have_text("Saved")
    first.reload()
    expect(first.locator(".cm-content")).to_contain_text("# mine wins")
    expect(first.locator(".cm-content")).not_to_contain_text("# first again")
    context.close()


def test_upload_a_png_and_see_its_preview(page: Page, server: Server, tmp_path: Path) -> None:
    sign_in(page, server, "uploader@example.com")
    create_workspace(page, "Pictures", "Python", "Blank")
    picture = tmp_path / "dot.png"
    picture.write_bytes(png_bytes())
    page.get_by_test_id("tree-upload").click()
    page.get_by_test_id("upload").locator("input[type=file]").set_input_files(str(picture))
    expect(tree_item(page, "dot.png")).to_be_visible()
    page.keyboard.press("Escape")
    tree_item(page, "dot.png").click()
    preview = page.get_by_test_id("image-preview").locator("img")
    expect(preview).to_be_visible()
    loaded = "() => document.querySelector('[data-testid=image-preview] img')?.naturalWidth === 4"
    page.wait_for_function(loaded)  # the browser decoded the stored bytes as the 4x3 PNG
    expect(page.get_by_test_id("status-language")).to_have_text("Binary")


def test_download_the_workspace_as_a_zip(page: Page, server: Server) -> None:
    sign_in(page, server, "zipper@example.com")
    create_workspace(page, "Zipped", "C++", "C++ program")
    with page.expect_download() as download:
        page.get_by_test_id("tree-download-zip").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert sorted(archive.namelist()) == ["greeting.cpp", "greeting.hpp", "main.cpp"]
    assert b"int main()" in archive.read("main.cpp")
    assert download.value.suggested_filename == "Zipped.zip"


def test_quick_open_settings_and_autosave(page: Page, server: Server) -> None:
    sign_in(page, server, "settler@example.com")
    create_workspace(page, "Settled", "Java", "Java program")
    page.keyboard.press("Control+p")
    page.get_by_test_id("quick-open-input").fill("greet")
    expect(page.get_by_test_id("quick-open-result")).to_have_text(["src/app/Greeting.java"])
    page.get_by_test_id("quick-open-input").press("Enter")
    expect(page.get_by_test_id("tab")).to_have_count(2)
    expect(page.get_by_test_id("status-language")).to_have_text("Java")

    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("settings-theme").get_by_text("Dark").click()
    page.get_by_test_id("settings-autosave").fill("300")
    page.get_by_test_id("settings-save").click()
    expect(page.locator("body.body--dark")).to_have_count(1)

    type_at_end(page, "\n// autosaved")
    wait_until_stored(page, server, "src/app/Greeting.java", "// autosaved")  # nobody pressed Ctrl+S
    expect(page.get_by_test_id("status-state")).to_have_text("Saved")
    page.reload()
    expect(page.locator("body.body--dark")).to_have_count(1)  # the setting persisted
    page.keyboard.press("Control+p")
    page.get_by_test_id("quick-open-input").fill("Greeting")
    page.get_by_test_id("quick-open-input").press("Enter")
    expect(page.locator(".cm-content")).to_contain_text("// autosaved")


def test_the_api_sees_what_the_editor_saved(page: Page, server: Server) -> None:
    sign_in(page, server, "apier@example.com")
    create_workspace(page, "Shared state")
    type_at_end(page, "\n# via editor")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("status-state")).to_have_text("Saved")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    workspace_id = page.url.rsplit("/w/", 1)[1]
    url = f"{server.base_url}/api/v1/workspaces/{workspace_id}/files/main.py"
    deadline = time.monotonic() + 15  # "Saved" may still be the state from before the typing reached the server
    while not (body := httpx.get(url, cookies=cookies).text).endswith("# via editor"):
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_import_a_zip_into_the_workspace_and_refuse_a_bad_one(page: Page, server: Server, tmp_path: Path) -> None:
    sign_in(page, server, "importer@example.com")
    create_workspace(page, "Imports")
    good, evil = tmp_path / "good.zip", tmp_path / "evil.zip"
    for target, entries in ((good, {"lib/helper.py": b"X = 1\n"}), (evil, {"ok.py": b"", "../escape.py": b""})):
        with zipfile.ZipFile(target, "w") as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
    page.get_by_test_id("tree-import-zip").click()
    page.get_by_test_id("import-zip-upload").locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("Imported 1 file")).to_be_visible()
    expect(tree_item(page, "lib")).to_be_visible()
    expect(page.get_by_test_id("import-zip-upload")).to_have_count(0)  # the dialog closed and went away
    page.get_by_test_id("tree-import-zip").click()
    page.get_by_test_id("import-zip-upload").locator("input[type=file]").set_input_files(str(evil))
    expect(page.get_by_text("points outside the workspace")).to_be_visible()
    page.keyboard.press("Escape")
    expect(tree_item(page, "ok.py")).to_have_count(0)  # nothing of the bad archive arrived


def test_the_command_palette_finds_and_runs_commands(page: Page, server: Server) -> None:
    sign_in(page, server, "palette@example.com")
    create_workspace(page, "Palette")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Shift+P")
    box = page.get_by_test_id("command-palette-input")
    expect(box).to_be_visible()
    box.fill("run")
    results = page.get_by_test_id("command-palette-result")
    expect(results.first).to_have_text("Run in the console")
    expect(page.get_by_text("Ctrl+Enter")).to_be_visible()  # each command shows its shortcut
    box.press("Enter")
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.py finished")
    expect(box).to_be_hidden()
    page.keyboard.press("F1")
    box.fill("new folder")
    expect(results).to_have_text(["New folder"])  # the server has the query before Enter chooses
    box.press("Enter")
    page.get_by_test_id("dialog-input").fill("pkg")
    page.get_by_test_id("dialog-ok").click()
    expect(tree_item(page, "pkg")).to_be_visible()
    expect(box).to_be_hidden()
    page.get_by_test_id("open-command-palette").click()
    box.fill("settings")
    expect(results).to_have_text(["Settings: editor and entry point"])
    results.first.click()
    expect(page.get_by_test_id("settings-entry")).to_be_visible()


def share_directly(server: Server, workspace_id: str, owner: str, reader: str, level: str) -> None:
    """A share row as the sharing feature will write it (it has no screen yet)."""
    connection = sqlite3.connect(Path(server.env["CODELOFT_DATA_DIR"]) / "codeloft.db")
    try:
        ids = dict(connection.execute("SELECT email, id FROM users WHERE email IN (?, ?)", (owner, reader)))
        connection.execute(
            "INSERT INTO workspace_shares (id, workspace_id, shared_by_user_id, shared_with_user_id, permission_level)"
            " VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, uuid.UUID(workspace_id).hex, ids[owner], ids[reader], level),
        )
        connection.commit()
    finally:
        connection.close()


def test_a_reader_gets_a_read_only_ide(page: Page, browser: Browser, server: Server) -> None:
    sign_in(page, server, "lender@example.com")
    create_workspace(page, "Lent")
    workspace_id = page.url.rsplit("/w/", 1)[1]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    reader = context.new_page()
    try:
        sign_in(reader, server, "borrower@example.com")
        share_directly(server, workspace_id, "lender@example.com", "borrower@example.com", "read")
        reader.goto(f"{server.base_url}/w/{workspace_id}")
        expect(reader.get_by_test_id("read-only")).to_be_visible()
        expect(reader.locator(".cm-content")).to_contain_text("print")  # the file shows
        expect(reader.locator(".cm-content")).to_have_attribute("contenteditable", "false")
        expect(reader.get_by_test_id("save")).to_be_hidden()
        expect(reader.get_by_test_id("tree-new-file")).to_have_count(0)
        expect(reader.get_by_test_id("run")).to_be_enabled()  # readers may run (and preview) what they read
        expect(reader.get_by_test_id("open-settings")).to_have_count(0)
        reader.get_by_test_id("open-command-palette").click()
        reader.get_by_test_id("command-palette-input").fill("")
        offered = reader.get_by_test_id("command-palette-result").all_inner_texts()
        assert "Open a file by name" in offered and "Download the workspace as a ZIP" in offered
        assert "Run in the console" in offered
        assert not {"Save", "New file", "Delete the selected file", "Upload files"} & set(offered), offered
    finally:
        context.close()
