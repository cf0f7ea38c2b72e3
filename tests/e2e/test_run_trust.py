"""Running code as a new user tries it (issue 8): big output keeps the page, Stop says stopped, Run runs
the project, errors lead to their place, output keeps the order it was written in, and the preview's
server tells what it did."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, link_in

pytestmark = pytest.mark.browser

LONG = 30_000  # ms: runs with a lot of output on two busy cores


# --- helpers: sign in, make a workspace through the API, open it by its address -------------------


def sign_in(page: Page, server: Server, email: str) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", email).stdout))
    expect(page.get_by_test_id("user-label")).to_be_visible()


def api(page: Page, server: Server, method: str, path: str, **kwargs: Any) -> Any:
    """A call with the page's session cookie and CSRF token; the answer's JSON (None when empty)."""
    csrf = page.request.get(f"{server.base_url}/api/v1/session").json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf, **kwargs.pop("headers", {})}
    answer = page.request.fetch(f"{server.base_url}{path}", method=method, headers=headers, **kwargs)
    assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
    return answer.json() if answer.text() else None


def open_workspace(
    page: Page, server: Server, name: str, language: str, template: str, files: dict[str, str] | None = None
) -> str:
    """A workspace from `template` with `files` written over it, open in the IDE; its id."""
    body = {"name": name, "language": language, "template": template}
    workspace_id = str(api(page, server, "POST", "/api/v1/workspaces", data=body)["id"])
    for path, text in (files or {}).items():
        api(page, server, "PUT", f"/api/v1/workspaces/{workspace_id}/files/{path}", data=text.encode())
    page.goto(f"{server.base_url}/w/{workspace_id}")
    expect(page.get_by_test_id("page-title")).to_have_text(name)
    expect(page.get_by_test_id("tab")).to_have_count(1)  # the page has opened its first file
    return workspace_id


def last_run(page: Page, server: Server, workspace_id: str) -> dict[str, Any]:
    runs = api(page, server, "GET", f"/api/v1/workspaces/{workspace_id}/runs")
    return dict(runs[0])


def open_in_tree(page: Page, label: str) -> None:
    page.get_by_test_id("file-tree").get_by_text(label, exact=True).click()
    expect(page.get_by_test_id("tab").filter(has_text=label)).to_have_count(1)


def mark_page(page: Page) -> None:
    """A mark that a reload (NiceGUI reconnecting with a fresh page) would wipe."""
    page.evaluate("window.__codeloft_mark = 'still here'")


def assert_same_page(page: Page) -> None:
    assert page.evaluate("window.__codeloft_mark") == "still here", "the page reloaded"


class Frames:
    """The size of every WebSocket message the page received."""

    def __init__(self, page: Page) -> None:
        self.sizes: list[int] = []
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.sizes.append(len(payload)))


# --- 6: big output ------------------------------------------------------------------------------


def test_twenty_thousand_lines_arrive_in_small_messages_and_the_page_stays(page: Page, server: Server) -> None:
    frames = Frames(page)
    sign_in(page, server, "many-lines@example.com")
    program = "for i in range(20_000):\n    print(f'line {i:05d} ' + 'x' * 20)\n"  # ~620 KB, under 1 MB
    open_workspace(page, server, "Many lines", "python", "python", {"main.py": program, "other.py": "x = 1\n"})
    open_in_tree(page, "other.py")
    expect(page.get_by_test_id("tab")).to_have_count(2)
    mark_page(page)
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.py finished", timeout=LONG)
    output = page.get_by_test_id("run-output")
    expect(output).to_contain_text("line 19999 xxxx", timeout=LONG)
    assert_same_page(page)
    expect(page.get_by_test_id("tab")).to_have_count(2)  # the open tabs are still there
    assert max(frames.sizes) < 256 * 1024, f"one message of {max(frames.sizes)} bytes"
    assert output.locator("> *").count() <= 5000  # the page keeps the last lines, not all of them


def test_a_flood_is_cut_at_the_output_limit_and_says_so(page: Page, server: Server) -> None:
    sign_in(page, server, "flood@example.com")
    program = "for i in range(200_000):\n    print(i)\n"  # 1.29 MB in 200,000 writes
    workspace_id = open_workspace(page, server, "Flood", "python", "python", {"main.py": program})
    mark_page(page)
    page.get_by_test_id("run-with-input").click()
    status = page.get_by_test_id("run-status")
    expect(status).to_contain_text("main.py wrote too much output", timeout=LONG)
    expect(page.get_by_test_id("run-output")).to_contain_text("[output cut at 1 MB]", timeout=LONG)
    assert_same_page(page)
    run = last_run(page, server, workspace_id)
    assert (run["status"], run["reason"], run["truncated"]) == ("error", "output_limit", True)
    assert run["wall_ms"] <= run["time_ms"] + 1500, run  # the output path did not cost the program its time


# --- 7: Stop ------------------------------------------------------------------------------------


def test_a_stopped_run_is_stopped_not_an_error(page: Page, server: Server) -> None:
    sign_in(page, server, "stop@example.com")
    program = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.1)\n"
    workspace_id = open_workspace(page, server, "Stop me", "python", "python", {"main.py": program})
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("started")
    page.get_by_test_id("stop").click()
    status = page.get_by_test_id("run-status")
    expect(status).to_contain_text("stopped: main.py was stopped")
    expect(status).not_to_contain_text("signal")
    expect(status).not_to_have_class(re.compile(r"text-red"))
    run = last_run(page, server, workspace_id)
    assert (run["status"], run["reason"]) == ("stopped", "stopped")
    page.get_by_test_id("run-history").click()
    entry = page.get_by_test_id("history-entry").first
    expect(entry).to_contain_text("stopped")
    expect(entry.locator(".q-badge")).not_to_have_class(re.compile(r"bg-(red|negative)"))


# --- 8: Run runs the project ---------------------------------------------------------------------


def test_cpp_runs_main_with_every_source_whatever_is_open(page: Page, server: Server) -> None:
    sign_in(page, server, "cpp-project@example.com")
    open_workspace(page, server, "Project", "cpp", "cpp")
    expect(page.get_by_test_id("run-entry")).to_have_text("main.cpp")  # Run says what it runs
    open_in_tree(page, "greeting.cpp")
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("Hello, Codeloft!", timeout=LONG)
    expect(page.get_by_test_id("run-status")).to_contain_text("success: main.cpp finished")


def test_java_runs_the_class_with_main_while_another_class_is_open(page: Page, server: Server) -> None:
    sign_in(page, server, "java-project@example.com")
    open_workspace(page, server, "Javanese", "java", "java")
    expect(page.get_by_test_id("run-entry")).to_have_text("src/app/Main.java")
    page.get_by_test_id("file-tree").get_by_text("src", exact=True).click()
    page.get_by_test_id("file-tree").get_by_text("app", exact=True).click()
    open_in_tree(page, "Greeting.java")
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("Hello, Codeloft!", timeout=LONG)
    expect(page.get_by_test_id("run-status")).to_contain_text("success: src/app/Main.java finished")
    expect(page.get_by_test_id("run-output")).not_to_contain_text("Main method not found")


# --- 9: problems lead to their place --------------------------------------------------------------


def test_a_python_traceback_links_to_the_line_in_its_file(page: Page, server: Server) -> None:
    sign_in(page, server, "traceback@example.com")
    files = {"main.py": "import helper\n\nhelper.divide()\n", "helper.py": "def divide():\n    return 1 / 0\n"}
    open_workspace(page, server, "Traceback", "python", "python", files)
    page.get_by_test_id("run-with-input").click()
    # A program's own error leaves the output in front; the Problems tab counts its places.
    expect(page.get_by_test_id("problem-count")).to_have_text("2")  # helper.py:2, and main.py:3 that called it
    expect(page.get_by_test_id("run-output")).to_be_visible()
    page.get_by_test_id("tab-problems").click()
    problem = page.get_by_test_id("compile-problem").first
    expect(problem).to_contain_text("helper.py:2")
    expect(problem).to_contain_text("ZeroDivisionError")
    problem.click()
    expect(page.locator(".cm-content")).to_contain_text("return 1 / 0")
    expect(page.locator(".cm-content")).not_to_contain_text("import helper")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 2, Col 1")  # the cursor is on the line
    mark = page.locator(".cl-problem-gutter .cl-problem-mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_attribute("title", re.compile("ZeroDivisionError"))
    expect(page.locator(".cm-line.cl-problem-line")).to_contain_text("return 1 / 0")


def test_a_node_stack_trace_links_to_the_line_in_its_file(page: Page, server: Server) -> None:
    sign_in(page, server, "stack@example.com")
    files = {
        "index.js": "const util = require('./lib/util.js');\nutil.explode();\n",
        "lib/util.js": "exports.explode = () => {\n  throw new Error('kaboom');\n};\n",
    }
    open_workspace(page, server, "Stack", "javascript", "javascript", files)
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("problem-count")).to_be_visible()
    page.keyboard.press("Control+Shift+M")  # the Problems tab, from the keyboard
    problem = page.get_by_test_id("compile-problem").filter(has_text="lib/util.js:2")
    expect(problem).to_contain_text("Error: kaboom")
    problem.click()
    expect(page.locator(".cm-content")).to_contain_text("throw new Error('kaboom')")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 2, Col 9")  # where Node says it threw


def test_a_compile_error_opens_its_file_at_the_line_and_column_and_marks_the_gutter(page: Page, server: Server) -> None:
    sign_in(page, server, "column@example.com")
    files = {
        "main.cpp": '#include "util.hpp"\nint main() { return twice(2); }\n',
        "util.hpp": "int twice(int x);\n",
        "util.cpp": '#include "util.hpp"\n\nint twice(int x) {\n    return x * undefined_name;\n}\n',
    }
    open_workspace(page, server, "Columns", "cpp", "cpp", files)
    page.get_by_test_id("run-with-input").click()
    problem = page.get_by_test_id("compile-problem").filter(has_text="util.cpp:4:16")
    expect(problem).to_be_visible(timeout=LONG)  # a build that failed brings the Problems tab to the front
    problem.click()
    expect(page.get_by_test_id("tab").filter(has_text="util.cpp")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("status-cursor")).to_have_text("Ln 4, Col 16")
    expect(page.locator(".cl-problem-gutter .cl-problem-mark")).to_have_count(1)
    # The marks follow the file they belong to: main.cpp has none.
    page.get_by_test_id("tab").filter(has_text="main.cpp").click()
    expect(page.locator(".cl-problem-gutter .cl-problem-mark")).to_have_count(0)


def test_fifty_errors_scroll_inside_the_panel_and_run_stays_in_sight(page: Page, server: Server) -> None:
    sign_in(page, server, "fifty@example.com")
    broken = "".join(f"int value{n} = ;\n" for n in range(50)) + "int main() { return 0; }\n"
    open_workspace(page, server, "Fifty", "cpp", "cpp", {"main.cpp": broken})
    page.get_by_test_id("run-with-input").click()
    problems = page.get_by_test_id("compile-problem")
    expect(problems).to_have_count(50, timeout=LONG)
    expect(page.get_by_test_id("run")).to_be_in_viewport()
    expect(page.get_by_test_id("stop")).to_be_in_viewport()
    problems.last.scroll_into_view_if_needed()
    expect(problems.last).to_be_in_viewport()
    expect(page.get_by_test_id("run")).to_be_in_viewport()  # the list scrolled, not the page
    problems.last.click()
    expect(page.locator(".cm-content")).to_contain_text("int value49 = ;")


# --- 10: output order -----------------------------------------------------------------------------


def test_a_prompt_shows_before_the_traceback_that_followed_it(page: Page, server: Server) -> None:
    sign_in(page, server, "prompt@example.com")
    open_workspace(page, server, "Prompt", "python", "python", {"main.py": "name = input('Your name: ')\n"})
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("exited with an error")
    output = page.get_by_test_id("run-output")
    expect(output).to_contain_text("EOFError")
    text = output.inner_text()
    assert text.index("Your name: ") < text.index("Traceback"), text


# --- 11: the preview's own output -----------------------------------------------------------------


def test_the_preview_servers_output_shows_in_the_output_panel(page: Page, server: Server) -> None:
    sign_in(page, server, "preview-log@example.com")
    open_workspace(page, server, "Logged", "javascript", "express")
    page.get_by_test_id("preview").click()
    expect(page.frame_locator("[data-testid=preview-frame]").locator("h1")).to_have_text("Hello from Codeloft!")
    output = page.get_by_test_id("run-output")
    expect(output).to_contain_text("Listening on")
    expect(output).to_be_in_viewport()
    page.get_by_test_id("preview-stop").click()


def test_a_preview_server_that_crashes_says_why(page: Page, server: Server) -> None:
    sign_in(page, server, "preview-crash@example.com")
    crash = "console.log('starting up on', process.env.PORT);\nthrow new Error('port is cursed');\n"
    open_workspace(page, server, "Crashing", "javascript", "express", {"server.js": crash})
    page.get_by_test_id("preview").click()
    output = page.get_by_test_id("run-output")
    expect(output).to_contain_text("starting up")
    expect(output).to_contain_text("Error: port is cursed")
    expect(page.get_by_test_id("run-status")).to_contain_text("(server.js) exited with exit code 1", timeout=LONG)
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.locator("body")).to_contain_text("exited")
    expect(frame.locator("body")).to_contain_text("port is cursed")


def test_preview_is_not_offered_where_it_cannot_work(page: Page, server: Server) -> None:
    sign_in(page, server, "no-preview@example.com")
    open_workspace(page, server, "Native", "cpp", "cpp")
    expect(page.get_by_test_id("preview")).to_be_disabled()
    page.get_by_test_id("preview-why").hover()
    expect(page.get_by_role("tooltip")).to_contain_text("C++")


def test_preview_is_offered_once_the_entry_point_serves_http(page: Page, server: Server) -> None:
    sign_in(page, server, "script-preview@example.com")
    open_workspace(page, server, "Script", "python", "python")  # main.py prints a greeting
    expect(page.get_by_test_id("preview")).to_be_disabled()
    page.get_by_test_id("preview-why").hover()
    expect(page.get_by_role("tooltip")).to_contain_text("main.py does not read the PORT variable")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("import os\nprint(os.environ['PORT'])\n")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("preview")).to_be_enabled()
