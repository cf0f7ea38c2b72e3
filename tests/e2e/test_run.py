"""Running code from the IDE: output streams in, the result shows, errors lead to their line, Stop stops."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import create_workspace, replace_editor_text, sign_in, type_at_end
from tests.serving import Server

pytestmark = pytest.mark.browser


def test_run_the_cpp_template_and_see_its_output(page: Page, server: Server) -> None:
    sign_in(page, server, "runner@example.com")
    create_workspace(page, "Native run", "C++", "C++ program")
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("Hello, Codeloft!")
    status = page.get_by_test_id("run-status")
    expect(status).to_contain_text("success: main.cpp finished · exit code 0")
    expect(status).to_contain_text("CPU")
    expect(status).to_contain_text("memory")


def test_stdin_stderr_and_ctrl_enter(page: Page, server: Server) -> None:
    sign_in(page, server, "stdin@example.com")
    create_workspace(page, "Echo")
    replace_editor_text(
        page, "import sys\nname = input()\nprint('hi', name)\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"
    )
    page.get_by_test_id("tab-output").click()
    page.get_by_test_id("stdin").fill("Ada")
    page.get_by_test_id("run-with-input").click()
    output = page.get_by_test_id("run-output")
    expect(output).to_contain_text("hi Ada")
    expect(output.locator(".text-red-600")).to_have_text("oops")
    expect(page.get_by_test_id("run-status")).to_contain_text("error: main.py exited with an error · exit code 3")


def test_a_compile_error_opens_its_line(page: Page, server: Server) -> None:
    sign_in(page, server, "broken@example.com")
    create_workspace(page, "Broken", "C++", "C++ program")
    page.get_by_test_id("file-tree").get_by_text("greeting.cpp").click()
    expect(page.get_by_test_id("tab").filter(has_text="greeting.cpp")).to_have_attribute("aria-current", "true")
    type_at_end(page, "\nint broken = ;")
    page.get_by_test_id("tab-name").filter(has_text="main.cpp").click()
    page.get_by_test_id("run-with-input").click()  # saves the edited file first
    problem = page.get_by_test_id("compile-problem").first
    expect(problem).to_contain_text("greeting.cpp:5:")
    expect(page.get_by_test_id("run-status")).to_contain_text("did not compile")
    problem.click()  # from main.cpp back to the file and line of the error
    expect(page.locator(".cm-content")).to_contain_text("int broken = ;")
    expect(page.locator(".cm-content")).not_to_contain_text("int main()")


def test_stop_ends_a_runaway_program_and_history_keeps_it(page: Page, server: Server) -> None:
    sign_in(page, server, "stopper@example.com")
    create_workspace(page, "Runaway")
    replace_editor_text(page, "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.1)\n")
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("started")
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("stopped: main.py was stopped", timeout=5_000)
    page.get_by_test_id("run-history").click()
    entries = page.get_by_test_id("history-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("stopped")


def test_the_entry_point_comes_from_the_template_and_the_settings_change_it(page: Page, server: Server) -> None:
    sign_in(page, server, "entry@example.com")
    create_workspace(page, "Entry", "C++", "C++ program")
    expect(page.get_by_test_id("run-entry")).to_have_text("main.cpp")  # from the template, in sight
    page.get_by_test_id("file-tree").get_by_text("greeting.cpp").click()
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.cpp finished")
    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("settings-entry").click()
    page.get_by_role("option", name="The open file").click()
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("run-entry")).to_be_hidden()
    page.get_by_test_id("file-tree").get_by_text("greeting.cpp").click()
    page.get_by_test_id("run-with-input").click()  # greeting.cpp has no main: the program it belongs to runs
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.cpp finished")
    page.reload()  # kept in the workspace's settings
    expect(page.get_by_test_id("tab").first).to_be_visible()
    expect(page.get_by_test_id("run-entry")).to_be_hidden()
    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("settings-entry").click()
    page.get_by_role("option", name="Always main.cpp").click()
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_text("Settings saved")).to_be_visible()
    expect(page.get_by_test_id("run-entry")).to_have_text("main.cpp")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.cpp finished")
