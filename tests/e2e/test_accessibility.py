"""WCAG 2.2 AA basics, checked by axe-core's rules (vendored as tests/e2e/vendor/axe.min.js, axe-core
4.14.1 from the npm registry, MPL-2.0) in the real browser: no serious or critical violation on the
dashboard, the IDE or a dialog; plus what axe cannot see (names of icon buttons, the focus ring, the
output announced, tabs reached with the keyboard)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import open_ide, signed_in
from tests.serving import Server

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def serious_violations(page: Page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE)
    result: dict[str, Any] = page.evaluate("(options) => axe.run(document, options)", RULES)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}: "
        + "; ".join(f"{node['html'][:120]} ({node['failureSummary'][:160]})" for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_dashboard_ide_and_a_dialog_have_no_serious_violations(page: Page, server: Server) -> None:
    api = signed_in(page, server, "a11y@example.com")
    workspace = api.workspace("Accessible")
    page.goto(server.base_url + "/")
    expect(page.get_by_test_id("workspace-card")).to_have_count(1)
    assert (found := serious_violations(page)) == [], "\n".join(found)
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_be_visible()
    assert (found := serious_violations(page)) == [], "\n".join(found)
    page.keyboard.press("Control+Shift+P")
    expect(page.get_by_test_id("command-palette-input")).to_be_visible()
    assert (found := serious_violations(page)) == [], "\n".join(found)
    page.keyboard.press("Escape")
    page.goto(server.base_url + "/")
    page.get_by_test_id("new-workspace").click()
    expect(page.get_by_test_id("new-name")).to_be_visible()
    assert (found := serious_violations(page)) == [], "\n".join(found)


def tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_users_can_see_focus_and_leave_the_editor(page: Page, server: Server) -> None:
    api = signed_in(page, server, "a11y-keys@example.com")
    workspace = api.workspace("Keyboard")
    open_ide(page, server, workspace)
    expect(page.locator("html")).to_have_attribute("lang", "en-US")
    content = page.locator(".cm-content")
    expect(content).to_have_attribute("aria-label", re.compile("Escape, then Tab"))

    # Tab indents inside the editor; Escape then Tab moves the focus on, as the label says.
    content.click()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("document.activeElement.classList.contains('cm-content')")

    # A focused button shows a ring that can be seen (not Quasar's faint overlay only).
    for test_id in ("open-command-palette", "tab-close", "run"):
        tab_to(page, f'[data-testid="{test_id}"]')
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert outline[0] != "none" and float(outline[1].removesuffix("px")) >= 2, (test_id, outline)

    # The output is announced as it comes; the status bar too.
    expect(page.get_by_test_id("run-output")).to_have_attribute("role", "log")
    expect(page.get_by_test_id("run-output")).to_have_attribute("aria-live", "polite")

    # Icon-only buttons are named by what their tooltip says.
    for name in ("New file", "New folder", "Upload files", "Download the workspace as a ZIP", "The last 20 runs"):
        expect(page.get_by_role("button", name=name)).to_be_visible()


def test_the_dark_theme_has_no_serious_violations(page: Page, server: Server) -> None:
    api = signed_in(page, server, "a11y-dark@example.com")
    workspace = api.workspace("Dark", theme="dark")
    api.put(workspace, "main.py", "print('out')\nprint(1 / 0)\n")
    open_ide(page, server, workspace)
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator("body.body--dark")).to_have_count(1)
    page.get_by_test_id("run").click()  # output, stderr and a status line, all on dark
    expect(page.get_by_test_id("problem-count")).to_have_text("1")
    # The Run button comes back from its disabled look (an opacity transition): judge it once it has.
    expect(page.get_by_test_id("run")).to_be_enabled()
    page.wait_for_function("() => getComputedStyle(document.querySelector('[data-testid=run]')).opacity === '1'")
    page.wait_for_timeout(400)
    assert (found := serious_violations(page)) == [], "\n".join(found)
    page.get_by_test_id("tab-problems").click()  # and the problem's entry
    expect(page.get_by_test_id("compile-problem")).to_be_visible()
    assert (found := serious_violations(page)) == [], "\n".join(found)
