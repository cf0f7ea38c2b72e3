"""The marketplace end to end in Chromium, as three people use it: an author publishes an extension from
the page, an administrator approves it, and a person finds it, sees the permission it asks, installs
it; its theme colours the IDE, its language highlights a `.sh` file that Run runs in the sandbox, its
command (from the palette) rewrites a JSON file open in the editor; the person reviews it and the
average moves; disabled, its contributions are gone after a reload."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api_client import make_zip
from tests.e2e.ide import Api, open_ide, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.browser

ADMIN = "admin@example.com"
FORMAT_JSON = json.loads((Path(__file__).parents[2] / "extensions/format-json/manifest.json").read_text())
MANIFEST = {
    "name": "owl-tools",
    "display_name": "Owl tools",
    "version": "1.0.0",
    "description": "A night theme, shell scripts and a JSON tidier <b>for owls</b>",
    "main": "README.md",
    "category": "tool",
    "tags": ["owl", "theme", "shell"],
    "permissions": ["workspace:write"],
    "contributes": {
        "themes": [{"id": "night-owl", "label": "Night Owl", "kind": "dark",
                    "colors": {"background": "#011627", "foreground": "#d6deeb", "accent": "#7fdbca"},
                    "tokens": {"keyword": "#c792ea", "string": "#ecc48d", "comment": "#637777"}}],
        "languages": [{"id": "owl-shell", "label": "Owl shell", "extensions": [".sh"], "mode": "Shell",
                       "comments": {"line": "#"}, "run": ["bash", "{file}"]}],
        "commands": [{"id": "tidy-json", "title": "Tidy JSON files",
                      "run": FORMAT_JSON["contributes"]["commands"][0]["run"], "permission": "workspace:write"}],
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("flow")), CODELOFT_ADMIN_EMAILS=ADMIN)
    yield running
    running.stop()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


def publish_from_the_page(page: Page, server: Server, package: Path) -> None:
    sign_in(page, server, "author@example.com")
    page.goto(server.base_url + "/extensions")
    page.get_by_test_id("ext-upload").locator("input[type=file]").set_input_files(str(package))
    expect(page.get_by_test_id("ext-publish-result")).to_contain_text("pending review")


def approve_from_the_page(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN)
    page.goto(server.base_url + "/extensions")
    card = page.get_by_test_id("ext-waiting-card").filter(has_text="Owl tools")
    card.get_by_test_id("ext-approve").click()
    expect(page.get_by_test_id("ext-waiting")).to_contain_text("Nothing is waiting for review.")


def test_publish_approve_install_use_review_disable(browser: Browser, server: Server, tmp_path: Path) -> None:
    package = tmp_path / "owl-tools.zip"
    package.write_bytes(
        make_zip([("manifest.json", json.dumps(MANIFEST).encode()), ("README.md", b"# Owl tools\n\nFor owls.\n")])
    )
    author, admin, page = new_page(browser), new_page(browser), new_page(browser)
    publish_from_the_page(author, server, package)
    approve_from_the_page(admin, server)

    # Found by search, the permission shown before install.
    sign_in(page, server, "ada@example.com")
    page.goto(server.base_url + "/extensions")
    page.get_by_test_id("ext-search").fill("owl")
    card = page.get_by_test_id("ext-results").get_by_text("Owl tools", exact=True)
    expect(card).to_be_visible()
    expect(page.get_by_test_id("ext-results")).to_contain_text("<b>for owls</b>")  # text, never HTML
    card.click()
    expect(page).to_have_url(re.compile(r"/extensions/owl-tools$"))
    page.get_by_test_id("ext-install").click()
    expect(page.get_by_test_id("install-dialog")).to_contain_text("workspace:write")
    page.get_by_test_id("install-ok").click()
    expect(page.get_by_test_id("ext-enabled")).to_be_visible()

    # In the IDE: the theme, the language (highlighted, runnable), the command.
    api = Api(page, server)
    workspace = api.workspace("Owlery", template="blank")  # Run runs the open file
    api.put(workspace, "nest.sh", 'for owl in barn tawny; do\n  echo "hoot from $owl"\ndone\n')
    api.put(workspace, "data.json", '{"b": 1, "a": [1,2]}')
    open_ide(page, server, workspace)
    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("settings-theme").get_by_text("Night Owl (from owl-tools)").click()
    page.keyboard.press("Escape")
    expect(page.locator(".cm-editor")).to_have_css("background-color", "rgb(1, 22, 39)")

    open_file(page, "nest.sh")
    expect(page.get_by_test_id("status-language")).to_have_text("Owl shell")
    expect(page.locator(".cm-content .cl-tok-keyword", has_text="for")).to_have_css("color", "rgb(199, 146, 234)")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-console")).to_contain_text("hoot from tawny")

    open_file(page, "data.json")
    page.keyboard.press("Control+Shift+P")
    page.get_by_test_id("command-palette-input").fill("Tidy JSON")
    page.get_by_test_id("command-palette-input").press("Enter")
    expect(page.locator(".cm-content")).to_contain_text('"a": [    1,    2  ],  "b": 1')
    assert api.text(workspace, "data.json") == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    page.screenshot(path=str(tmp_path / "themed-ide.png"))  # left to look at (pytest's tmp_path)

    # A review moves the average.
    page.goto(server.base_url + "/extensions/owl-tools")
    page.get_by_role("tab", name="Reviews").click()
    page.get_by_test_id("ext-review-rating").get_by_text("4 stars").click()
    page.get_by_test_id("ext-review-text").fill("Hoots nicely")
    page.get_by_test_id("ext-review-save").click()
    expect(page.get_by_test_id("ext-rating").first).to_contain_text("4.0 (1)")

    # Disabled: after a reload, its theme, language and command are gone.
    page.get_by_test_id("ext-enabled").click()
    expect(page.get_by_text("Owl tools is disabled")).to_be_visible()
    open_ide(page, server, workspace)
    expect(page.locator(".cm-editor")).not_to_have_css("background-color", "rgb(1, 22, 39)")
    open_file(page, "nest.sh")
    expect(page.get_by_test_id("status-language")).not_to_have_text("Owl shell")
    page.keyboard.press("Control+Shift+P")
    page.get_by_test_id("command-palette-input").fill("Tidy JSON")
    expect(page.get_by_test_id("command-palette").get_by_text("Tidy JSON files")).to_have_count(0)
    for other in (author, admin):
        other.context.close()


def open_file(page: Page, name: str) -> None:
    page.keyboard.press("Control+p")
    page.get_by_test_id("quick-open-input").fill(name)
    page.get_by_test_id("quick-open-input").press("Enter")
    expect(page.get_by_test_id("editor-tabs").get_by_test_id("tab-name").filter(has_text=name)).to_be_visible()
