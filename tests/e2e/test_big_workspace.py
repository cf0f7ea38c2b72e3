"""A 50,000-file workspace (the enterprise plan's limit) in the IDE: the tree loads folders as they
open, so the page opens with the top level only; a deep folder opens click by click; quick open finds
a deep file by name among all 50,000 (asked of the server) and opens it.

The workspace comes from a ZIP imported through the REST API, as bench/tree_open.py does (no folder
entries in the archive: the folders are implied, so the 50,000 files are the 50,000 entries)."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.e2e.ide import Api, tree_item
from tests.serving import Server, link_in

pytestmark = pytest.mark.browser

TOTAL = 50_000
FOLDERS = 200
DEEP = "zdeep/a/b/c/needle_file.py"  # after main.py, which opens first (the first path)
TOP_LEVEL = FOLDERS + 2  # pkg_000 ... pkg_199, zdeep, main.py


def archive() -> bytes:
    paths = ["main.py", DEEP]
    per_folder = -(-(TOTAL - len(paths)) // FOLDERS)
    for folder in range(FOLDERS):
        for module in range(per_folder):
            if len(paths) < TOTAL:
                paths.append(f"pkg_{folder:03d}/mod_{module:03d}.py")
    assert len(paths) == TOTAL
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in paths:
            zipped.writestr(path, f"# {path}\nprint({path!r})\n")
    return buffer.getvalue()


def test_a_50000_file_workspace_opens_with_its_top_level_and_finds_deep_files(page: Page, server: Server) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", "big@example.com", "--tier", "enterprise").stdout))
    expect(page.get_by_test_id("user-label")).to_be_visible()
    api = Api(page, server)
    api.client.timeout = httpx.Timeout(600.0)
    created = api.client.post(
        "/api/v1/workspaces/import",
        params={"name": "big", "language": "python"},
        content=archive(),
        headers={"Content-Type": "application/zip"},
    )
    assert created.status_code == 201, created.text[:500]
    workspace_id = created.json()["id"]

    page.goto(f"{server.base_url}/w/{workspace_id}")
    tree = page.get_by_test_id("file-tree")
    headers = tree.locator(".cl-tree-item")
    expect(tree_item(page, "pkg_199")).to_be_visible(timeout=30_000)
    expect(tree_item(page, "main.py")).to_be_visible()
    # Only the top level came with the page, and only shown items are drawn.
    assert headers.count() == TOP_LEVEL
    visible = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="file-tree"] .cl-tree-item')]
              .filter((el) => el.checkVisibility()).length"""
    )
    assert visible == TOP_LEVEL

    for folder in ["zdeep", "a", "b", "c"]:
        tree_item(page, folder).locator(".cl-tree-arrow").click()
    expect(tree_item(page, "needle_file.py")).to_be_visible()
    expect(tree_item(page, "mod_000.py")).to_have_count(0)  # no other folder was loaded

    page.keyboard.press("Control+p")
    box = page.get_by_test_id("quick-open-input")
    expect(box).to_be_focused()
    box.fill("pkg_150mod_123")
    result = page.get_by_test_id("quick-open-result").filter(has_text="pkg_150/mod_123.py")
    expect(result).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tab-name").filter(has_text="mod_123.py")).to_have_count(1)
    expect(page.locator(".cm-content")).to_contain_text("print('pkg_150/mod_123.py')")
    expect(tree_item(page, "mod_123.py")).to_be_visible()  # the tree revealed it
