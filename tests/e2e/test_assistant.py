"""The assistant in Chromium, against a server whose providers are the local fakes (OpenAI's streaming
protocol through the real openai SDK): the answer appears in pieces, its code goes in at the cursor, is
saved and runs; the conversation is there after a reload; Stop keeps what arrived; a cut stream is marked
and Retry answers; a hostile answer is text. Screenshots at 1280 and 390 px in /tmp/shots."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ai_providers import ChatScript, FakeProviders, fake_providers
from tests.e2e.ide import open_ide, replace_editor_text, signed_in
from tests.e2e.test_accessibility import serious_violations
from tests.serving import Server, start_server

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
CODE_ANSWER = (
    "Print",
    " it",
    " with",
    " `print`:",
    "\n\n```python\n",
    "print('hello from",
    " the assistant')\n",
    "```\n\n",
    "Run it",
    " to see.",
)
SLOW_ANSWER = tuple(f"word{n} " for n in range(12))


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@pytest.fixture(autouse=True)
def script(providers: FakeProviders) -> Iterator[None]:
    yield
    providers.chat = ChatScript()


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory, providers: FakeProviders) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("e2e-assistant")), **providers.chat_settings())
    yield running
    running.stop()


def open_assistant_on(page: Page, chat_server: Server, email: str, text: str = "", *, phone: bool = False) -> str:
    api = signed_in(page, chat_server, email)
    if phone:
        page.set_viewport_size({"width": 390, "height": 844})
    workspace = api.workspace("Assisted")
    api.put(workspace, "main.py", text)
    open_ide(page, chat_server, workspace)
    expect(page.get_by_test_id("tab")).to_contain_text("main.py")
    page.get_by_test_id("toggle-assistant").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    return workspace


def ask(page: Page, question: str) -> None:
    box = page.get_by_test_id("chat-input")
    box.fill(question)
    box.press("Enter")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.mouse.move(0, 500)  # no tooltip over the picture
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"assistant-{name}.png"))


def test_an_answer_streams_in_its_code_goes_in_at_the_cursor_and_runs(
    page: Page, chat_server: Server, providers: FakeProviders
) -> None:
    providers.chat = ChatScript(tokens=CODE_ANSWER, delay=0.25)
    api = signed_in(page, chat_server, "asker@example.com")
    workspace = api.workspace("Assisted")
    open_ide(page, chat_server, workspace)
    replace_editor_text(page, "")
    page.keyboard.press("Control+i")  # from the editor
    panel = page.get_by_test_id("chat-panel")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("chat-input")).to_be_focused()

    ask(page, "How do I print a greeting?")
    answer = page.get_by_test_id("chat-answer")
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not page.get_by_test_id("chat-usage").is_visible():
        text = answer.inner_text() if answer.count() else ""
        if text.strip() and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(100)
    assert len(seen) >= 2 and len(seen[0]) < len(seen[-1]), seen  # it grew in front of the reader
    expect(page.get_by_test_id("chat-usage")).to_have_text(re.compile(r"^gpt-4o-mini · \d+ in, 10 out tokens · "))
    expect(answer).to_contain_text("Run it to see.")
    shot(page, "answer-1280")
    assert (found := serious_violations(page)) == [], "\n".join(found)
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("body.body--dark")).to_have_count(1)
    shot(page, "answer-dark-1280")
    assert (found := serious_violations(page)) == [], "\n".join(found)
    page.get_by_test_id("theme-toggle").click()

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=chat_server.base_url)
    page.get_by_test_id("chat-copy").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "print('hello from the assistant')\n"

    page.get_by_test_id("chat-insert").click()
    expect(page.locator(".cm-content")).to_contain_text("print('hello from the assistant')")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("status-state")).to_have_text("Saved")
    assert api.text(workspace, "main.py") == "print('hello from the assistant')\n"
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-output")).to_contain_text("hello from the assistant")

    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")  # an edit like typing: undone
    expect(page.locator(".cm-content")).not_to_contain_text("hello from the assistant")

    page.wait_for_timeout(2500)  # the workbench is stored every 2 s when it changed
    page.reload()
    expect(panel).to_be_visible()  # still open
    expect(page.get_by_test_id("chat-question")).to_contain_text("How do I print a greeting?")
    expect(answer).to_contain_text("Run it to see.")
    expect(page.get_by_test_id("chat-conversation")).to_contain_text("How do I print a greeting?")

    page.keyboard.press("Control+i")
    expect(panel).to_be_hidden()


def test_fix_the_last_error_then_replace_the_selection(
    page: Page, chat_server: Server, providers: FakeProviders
) -> None:
    providers.chat = ChatScript(tokens=CODE_ANSWER)
    open_assistant_on(page, chat_server, "fixer@example.com", "print(greeting)\n")
    page.get_by_test_id("run-with-input").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("exited with an error")
    expect(page.get_by_test_id("chat-chip-error")).to_contain_text("Run error")

    page.get_by_test_id("chat-fix").click()

    expect(page.get_by_test_id("chat-usage")).to_be_visible()
    asked = providers.chats()[-1].body["messages"][-1]["content"]
    assert "NameError" in asked and "print(greeting)" in asked and "failed with the error shown" in asked
    expect(page.get_by_test_id("chat-context-used")).to_have_text("With main.py, the run's error")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    expect(page.get_by_test_id("chat-chip-selection")).to_contain_text("Selection (16 characters)")
    page.get_by_test_id("chat-replace").click()
    expect(page.locator(".cm-content")).to_have_text("print('hello from the assistant')")
    expect(page.get_by_test_id("tab-modified")).to_be_visible()  # an edit like typing: saved like one

    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    # the panel knows of the new selection (it looks every 0.3 s) before Explain selection is pressed
    expect(page.get_by_test_id("chat-chip-selection")).to_contain_text("Selection (34 characters)")  # with its newline
    page.get_by_test_id("chat-explain").click()
    expect(page.get_by_test_id("chat-usage")).to_have_count(2)
    asked = providers.chats()[-1].body["messages"][-1]["content"]
    assert "Explain the selected code" in asked and "hello from the assistant" in asked
    page.get_by_test_id("chat-explain").click()  # the same again: answered from the cache
    expect(page.get_by_test_id("chat-usage").nth(2)).to_contain_text("from the cache")


def test_stop_keeps_what_arrived(page: Page, chat_server: Server, providers: FakeProviders) -> None:
    providers.chat = ChatScript(tokens=SLOW_ANSWER, delay=0.5)
    open_assistant_on(page, chat_server, "stopper@example.com")
    ask(page, "Count slowly")
    answer = page.get_by_test_id("chat-answer")
    expect(answer).to_contain_text("word1")

    page.get_by_test_id("chat-stop").click()

    expect(page.get_by_test_id("chat-stopped")).to_have_text("Stopped: what arrived is kept.")
    kept = answer.inner_text()
    assert "word0" in kept and "word11" not in kept
    page.wait_for_timeout(1500)
    assert answer.inner_text() == kept  # nothing more comes
    expect(page.get_by_test_id("chat-send")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("chat-stopped")).to_be_visible()
    expect(answer).to_contain_text("word0")


def test_leaving_mid_answer_keeps_what_arrived(page: Page, chat_server: Server, providers: FakeProviders) -> None:
    providers.chat = ChatScript(tokens=SLOW_ANSWER, delay=0.5)
    open_assistant_on(page, chat_server, "leaver@example.com")
    ask(page, "Count slowly")
    expect(page.get_by_test_id("chat-answer")).to_contain_text("word1")

    page.reload()  # the page goes: its answer stops there
    for _ in range(3):  # the new page may be drawn before the server has heard that the old one went
        try:
            expect(page.get_by_test_id("chat-stopped")).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.reload()

    expect(page.get_by_test_id("chat-stopped")).to_be_visible()
    expect(page.get_by_test_id("chat-answer")).to_contain_text("word1")
    expect(page.get_by_test_id("chat-answer")).not_to_contain_text("word11")


def test_a_cut_stream_is_marked_and_retry_answers(page: Page, chat_server: Server, providers: FakeProviders) -> None:
    providers.chat = ChatScript(cut_after=3)
    open_assistant_on(page, chat_server, "cut@example.com")
    ask(page, "Say hello")

    failed = page.get_by_test_id("chat-failed")
    expect(failed).to_contain_text("Failed: ")
    expect(failed).to_contain_text("in the middle of the answer")
    answers = page.get_by_test_id("chat-answer")
    expect(answers.first).to_contain_text("Hello from the")
    expect(answers.first).not_to_contain_text("model.")
    shot(page, "failed-1280")

    providers.chat = ChatScript()
    page.get_by_test_id("chat-retry").click()
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("Hello from the fake model.")
    expect(page.get_by_test_id("chat-retry")).to_have_count(0)


def test_a_hostile_answer_is_text(page: Page, chat_server: Server, providers: FakeProviders) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    providers.chat = ChatScript(tokens=(hostile, " and <script>alert(2)</script>"))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_assistant_on(page, chat_server, "hostile@example.com")
    ask(page, "Be nasty")

    answer = page.get_by_test_id("chat-answer")
    expect(answer).to_contain_text(hostile)
    expect(answer.locator("img, script")).to_have_count(0)
    page.wait_for_timeout(500)
    assert dialogs == []


def test_the_panel_on_a_phone(page: Page, chat_server: Server, providers: FakeProviders) -> None:
    providers.chat = ChatScript(tokens=CODE_ANSWER)
    open_assistant_on(page, chat_server, "phone@example.com", "print('hi')\n", phone=True)
    ask(page, "How do I print?")
    expect(page.get_by_test_id("chat-usage")).to_be_visible()
    page.wait_for_timeout(300)
    shot(page, "answer-390")
    panel = page.get_by_test_id("chat-panel").bounding_box()
    assert panel and panel["width"] >= 300  # the pane takes the width, not a sliver beside the editor
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing sticks out sideways


def test_the_assistant_and_the_preview_share_the_pane_with_tabs(page: Page, chat_server: Server) -> None:
    api = signed_in(page, chat_server, "previewer@example.com")
    workspace = api.workspace("Served", language="javascript", template="express")
    open_ide(page, chat_server, workspace)
    page.get_by_test_id("preview").click()
    preview = page.get_by_test_id("preview-pane")
    expect(page.frame_locator("[data-testid=preview-frame]").locator("h1")).to_have_text("Hello from Codeloft!")
    tabs = page.get_by_role("tab", name=re.compile("^(Preview|Assistant)$"))
    expect(tabs).to_have_count(0)  # one pane: no tabs

    page.get_by_test_id("toggle-assistant").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    expect(preview).to_be_hidden()
    expect(tabs).to_have_count(2)
    shot(page, "with-preview-1280")
    page.get_by_role("tab", name="Preview").click()
    expect(preview).to_be_visible()
    expect(page.get_by_test_id("chat-panel")).to_be_hidden()

    page.keyboard.press("Control+i")  # the assistant to the front, then closed
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    page.keyboard.press("Control+i")
    expect(preview).to_be_visible()
    expect(tabs).to_have_count(0)
    page.get_by_test_id("preview-close").click()
    expect(preview).to_be_hidden()
