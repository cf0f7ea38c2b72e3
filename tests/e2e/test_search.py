"""Search across the workspace (Ctrl+Shift+F): matches grouped by file, case toggle, a match opens the
file at its line, and Replace all after a preview that leaves a file changed meanwhile as it is."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in
from tests.serving import Server

pytestmark = pytest.mark.browser


def test_search_open_a_match_and_replace_across_files(page: Page, server: Server, tmp_path) -> None:
    api = signed_in(page, server, "search@example.com")
    workspace = api.workspace("Haystack")
    api.put(workspace, "a.py", "needle = 1\nprint(needle)\n")
    api.put(workspace, "b/c.py", "x = 2\n# Needle here\n")
    api.put(workspace, "d.txt", "hay\nhay\nthe needle in d\n")
    api.put(workspace, "e.txt", "only hay\n")
    open_ide(page, server, workspace)
    expect(page.get_by_test_id("file-tree")).to_be_visible()

    page.get_by_test_id("activity-search").click()  # the activity bar opens the search pane
    search = page.get_by_test_id("search-input")
    expect(search).to_be_visible()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Shift+F")  # and Ctrl+Shift+F puts the keyboard in its box
    expect(search).to_be_focused()
    page.keyboard.type("needle")
    expect(search).to_have_value("needle")  # no key typed right after Ctrl+Shift+F is lost
    page.keyboard.press("Enter")

    summary = page.get_by_test_id("search-summary")
    expect(summary).to_have_text("4 results in 3 files")  # case-insensitive unless asked
    expect(page.get_by_test_id("search-file")).to_have_count(3)
    expect(page.get_by_test_id("search-file").first).to_contain_text("a.py")
    expect(page.get_by_test_id("search-match")).to_have_count(4)
    case = page.get_by_test_id("search-case")
    expect(case).to_have_attribute("aria-pressed", "false")
    case.click()
    expect(case).to_have_attribute("aria-pressed", "true")
    expect(summary).to_have_text("3 results in 2 files")  # "Needle" in b/c.py no longer matches
    expect(page.get_by_test_id("search-match")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "search.png"))

    page.get_by_test_id("search-match").filter(has_text="in d").click()
    expect(page.locator('[data-testid="tab"][aria-current="true"]')).to_contain_text("d.txt")
    expect(page.get_by_test_id("status-cursor")).to_have_text(re.compile(r"^Ln 3, Col 5$"))

    case.click()
    expect(summary).to_have_text("4 results in 3 files")
    api.put(workspace, "b/c.py", "x = 2\n# Needle, changed in another tab\n")  # after the search
    page.get_by_test_id("replace-input").fill("pin")
    page.get_by_test_id("replace-all").click()
    preview = page.get_by_test_id("replace-preview")
    expect(preview).to_be_visible()
    expect(preview.get_by_test_id("replace-preview-file")).to_have_text(
        [
            re.compile(r"^a\.py\s*2$"),
            re.compile(r"^b/c\.py\s*1$"),
            re.compile(r"^d\.txt\s*1$"),
        ]
    )
    page.screenshot(path=str(tmp_path / "preview.png"))
    preview.get_by_test_id("replace-confirm").click()
    expect(preview).to_be_hidden()

    expect(page.get_by_text("Replaced 3 matches in 2 files")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Not replaced in b/c\.py: changed since the search"))).to_be_visible()
    assert api.text(workspace, "a.py") == "pin = 1\nprint(pin)\n"
    assert api.text(workspace, "d.txt") == "hay\nhay\nthe pin in d\n"
    assert api.text(workspace, "b/c.py") == "x = 2\n# Needle, changed in another tab\n"
    assert api.text(workspace, "e.txt") == "only hay\n"
    expect(summary).to_have_text("1 result in 1 file")  # the results are searched again: only b/c.py is left
    expect(page.locator(".cm-content")).to_contain_text("the pin in d")  # the open editor shows the new text
    page.screenshot(path=str(tmp_path / "replaced.png"))
