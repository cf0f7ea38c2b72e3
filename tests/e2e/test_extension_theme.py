"""In Chromium: an installed extension's theme colours the page and the editor (its background and its
keywords), its language highlights a `.sh` file, and its snippet is offered by the editor's completion."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.api_client import sign_in as api_sign_in
from tests.e2e.ide import open_ide, signed_in
from tests.owl_pack import owl_pack
from tests.serving import Server, start_server

pytestmark = pytest.mark.browser

MODERATOR = "owl-moderator@example.com"
SCREENSHOT = os.environ.get("CODELOFT_THEME_SCREENSHOT")
"""Where to leave a screenshot of the themed IDE (to look at it), if anywhere."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("themes")), CODELOFT_ADMIN_EMAILS=MODERATOR)
    yield running
    running.stop()


def publish_owl_pack(server: Server) -> None:
    author, moderator = api_sign_in(server, "owl-author@example.com"), api_sign_in(server, MODERATOR)
    package = owl_pack()
    headers = author.headers | {"Content-Type": "application/zip"}
    assert author.client.post("/api/v1/extensions", content=package, headers=headers).status_code == 201
    assert moderator.post("/api/v1/admin/extensions/owl-pack/approve").status_code == 200


def colour_of(page: Page, selector: str, css_property: str) -> str:
    return str(page.locator(selector).first.evaluate(f"e => getComputedStyle(e)['{css_property}']"))


def test_an_extension_themes_the_ide_highlights_its_language_and_offers_its_snippets(
    page: Page, server: Server
) -> None:
    publish_owl_pack(server)
    api = signed_in(page, server, "owl@example.com")
    api.client.post("/api/v1/extensions/owl-pack/install", json={"permissions": []}).raise_for_status()
    workspace = api.workspace("Owlery")
    api.put(workspace, "main.py", 'def main():\n    return "hoot"\n')
    api.put(workspace, "nest.sh", "for owl in *; do\n  echo $owl\ndone\n")
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_contain_text("def main")
    light_background = colour_of(page, ".cm-editor", "backgroundColor")

    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("settings-theme").get_by_text("Night Owl (from owl-pack)").click()
    page.keyboard.press("Escape")  # chosen is applied: no Save needed
    expect(page.locator("body.body--dark")).to_have_count(1)
    expect(page.locator(".cm-editor")).to_have_css("background-color", "rgb(1, 22, 39)")  # #011627
    keyword = page.locator(".cm-content .cl-tok-keyword", has_text="def")
    expect(keyword).to_have_css("color", "rgb(199, 146, 234)")  # #c792ea
    expect(page.locator(".cm-content .cl-tok-string").first).to_have_css("color", "rgb(236, 196, 141)")
    expect(page.locator(".xterm-viewport").first).to_have_css("background-color", "rgb(1, 22, 39)")  # the console

    page.reload()  # remembered
    expect(page.locator(".cm-editor")).to_have_css("background-color", "rgb(1, 22, 39)")
    page.keyboard.press("Control+p")
    page.get_by_test_id("quick-open-input").fill("nest")
    page.get_by_test_id("quick-open-input").press("Enter")
    expect(page.get_by_test_id("status-language")).to_have_text("Owl shell")
    expect(page.locator(".cm-content .cl-tok-keyword", has_text="for")).to_have_css("color", "rgb(199, 146, 234)")

    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("for")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="fori")
    expect(option).to_contain_text("For loop · owl-pack")
    option.click()
    expect(page.locator(".cm-content")).to_contain_text("for x in *; do  echo xdone")  # $1 repeats ${1:x}
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Space")  # asked for: every snippet of the mode
    expect(page.locator(".cm-tooltip-autocomplete li", has_text="fori")).to_be_visible()
    page.keyboard.press("Escape")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT)

    page.get_by_test_id("theme-toggle").click()  # back to the plain light base: the editor's own colours
    expect(page.locator("body.body--dark")).to_have_count(0)
    expect(page.locator(".cm-editor")).to_have_css("background-color", light_background)
