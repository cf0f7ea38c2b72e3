"""The run console: Run attaches the program to a terminal in the sandbox; the person answers its
prompts, Ctrl+C interrupts it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import create_workspace, replace_editor_text, sign_in
from tests.serving import Server

pytestmark = pytest.mark.browser


def type_into_console(page: Page, text: str) -> None:
    page.get_by_test_id("run-console").locator(".xterm-helper-textarea").focus()
    page.keyboard.type(text)


def test_a_python_program_asks_for_a_name_and_greets(page: Page, server: Server, tmp_path) -> None:
    sign_in(page, server, "console@example.com")
    create_workspace(page, "Greeter")
    replace_editor_text(page, 'name = input("Name? ")\nprint(f"\\x1b[32mHello, {name}!\\x1b[0m")\n')
    page.keyboard.press("Control+Enter")
    console = page.get_by_test_id("run-console")
    expect(console).to_contain_text("Name?")
    type_into_console(page, "Ann\n")
    expect(console).to_contain_text("Hello, Ann!")
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.py finished")
    page.screenshot(path=str(tmp_path / "console.png"))
    assert console.locator("span.xterm-fg-2, span[style*='color']").filter(has_text="Hello").count() >= 1  # green


def test_a_cpp_program_reads_two_numbers(page: Page, server: Server) -> None:
    sign_in(page, server, "cin@example.com")
    create_workspace(page, "Adder", "C++", "C++ program")
    replace_editor_text(
        page, "#include <iostream>\nint main() { int a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }\n"
    )
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("Running", timeout=30_000)
    type_into_console(page, "19 23\n")
    expect(page.get_by_test_id("run-console")).to_contain_text("42", timeout=30_000)
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.cpp finished")


def test_ctrl_c_stops_a_loop(page: Page, server: Server) -> None:
    sign_in(page, server, "ctrlc@example.com")
    create_workspace(page, "Loop")
    replace_editor_text(page, "print('looping', flush=True)\nwhile True:\n    pass\n")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-console")).to_contain_text("looping")
    type_into_console(page, "\x03")
    expect(page.get_by_test_id("run-console")).to_contain_text("KeyboardInterrupt")
    expect(page.get_by_test_id("run-status")).to_contain_text("was killed by a signal")
    expect(page.get_by_test_id("run")).to_be_enabled()
