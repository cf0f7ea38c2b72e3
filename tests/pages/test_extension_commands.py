"""An installed extension's command in the IDE: the command palette lists it as "<extension>: <title>",
running it shows its output in the Output tab and its outcome in a notification, and the file it rewrote
shows its new text in the editor; a person who may not run the workspace's code gets no such entry.
(The sandbox here is a stand-in that formats the JSON files it is handed: the real one is in
tests/integration/test_extension_commands.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from nicegui import ElementFilter, app, ui
from nicegui.testing.user import User

from domain.sandbox import Cancellation, OutputSink, SandboxRequest, SandboxResult
from runners.archive import tar_of
from tests.api_client import make_zip
from tests.pages.simulated import Person, add_person, find_testid, sign_in, until, with_testid
from ui.components.code_editor import CodeEditor
from ui.workbench.state import WorkbenchState, WorkbenchStates

MODERATOR = "moderator@example.com"
MANIFEST: dict[str, Any] = {
    "name": "json-tools",
    "display_name": "JSON tools",
    "version": "1.0.0",
    "description": "Formats JSON",
    "main": "README.md",
    "category": "tool",
    "permissions": ["workspace:write"],
    "contributes": {
        "commands": [
            {"id": "format-json", "title": "Format JSON files", "run": ["python3", "format.py"],
             "permission": "workspace:write"},
        ],
    },
}  # fmt: skip
LABEL = "JSON tools: Format JSON files"
BEFORE = b'{"b": 1, "a": 2}'
AFTER = '{\n  "a": 2,\n  "b": 1\n}\n'


class Formatter:
    """The sandbox as the page sees it: it formats the .json files of the work folder and hands it back."""

    name = "formatter"

    def __init__(self) -> None:
        self.requests: list[SandboxRequest] = []

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        self.requests.append(request)
        assert request.collect == "."
        files = {
            path: (json.dumps(json.loads(data), indent=2, sort_keys=True) + "\n").encode() if path.endswith(".json")
            else data
            for path, data in request.files.items()
        }  # fmt: skip
        if on_output is not None:
            await on_output("stderr", "formatted data.json\n")
        return SandboxResult(
            exit_code=0, signal=None, stdout=b"", stderr=b"formatted data.json\n", truncated=False, cpu_ms=1,
            wall_ms=2, memory_kb=None, collected=tar_of(files),
        )  # fmt: skip

    async def version(self, argv: list[str]) -> str:
        return "formatter"

    async def close(self) -> None:
        return None


@pytest.fixture(autouse=True)
def moderator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_ADMIN_EMAILS", MODERATOR)


async def install(person: Person, *, grant: list[str]) -> None:
    author, moderator = await add_person("author@example.com"), await add_person(MODERATOR)
    market = person.services.extensions
    package = make_zip([("manifest.json", json.dumps(MANIFEST).encode()), ("README.md", b"# JSON\n")])
    await market.publish(author.actor, package)
    await market.approve(moderator.actor, "json-tools")
    await market.install(person.actor, "json-tools", grant=grant)


def texts(elements: Iterable[ui.element]) -> list[str]:
    return [element.text for element in elements if isinstance(element, ui.label)]


def editor_text(user: User) -> str:
    with user:
        [editor] = list(ElementFilter(kind=CodeEditor, local_scope=False))
    return str(editor.value)


async def open_with_the_json_file(user: User, person: Person) -> tuple[Any, Formatter]:
    workspace = await person.services.workspaces.create(person.actor, name="Data", language="python")
    await person.services.files.write(person.actor, workspace.id, "data.json", BEFORE)
    states = WorkbenchStates(app.storage.general)
    states.save(person.account.id, workspace.id, WorkbenchState(tabs=["data.json"], active="data.json"))
    formatter = Formatter()
    person.services.runs.executor.runner = formatter
    await user.open(f"/w/{workspace.id}")
    await until(lambda: editor_text(user) == BEFORE.decode(), "data.json in the editor")
    return workspace, formatter


async def run_from_the_palette(user: User) -> None:
    find_testid(user, "open-command-palette").click()
    await until(lambda: bool(with_testid(user, "command-palette-input")), "the command palette")
    assert LABEL in texts(with_testid(user, "command-palette-result"))
    find_testid(user, "command-palette-input").type("Format JSON").trigger("keydown.enter")


async def test_the_palette_lists_the_command_and_running_it_changes_the_file_in_the_editor(user: User) -> None:
    ada = await sign_in(user)
    await install(ada, grant=["workspace:write"])
    workspace, formatter = await open_with_the_json_file(user, ada)

    await run_from_the_palette(user)
    await until(lambda: editor_text(user) == AFTER, "the formatted file in the editor")
    stored = await ada.services.files.read(ada.actor, workspace.id, "data.json")
    assert stored[1].decode() == AFTER and formatter.requests[0].files == {"data.json": BEFORE}
    await user.should_see("Format JSON files saved 1 file (data.json).")  # the notification
    assert texts(find_testid(user, "run-status").elements) == ["Format JSON files saved 1 file (data.json)."]

    def output() -> list[str]:
        return texts(find_testid(user, "run-output").elements.pop().descendants())

    await until(lambda: "formatted data.json" in output(), "the command's output in the Output tab")


async def test_a_person_who_may_not_run_gets_no_command_in_the_palette(user: User) -> None:
    owner = await add_person("owner@example.com")
    workspace = await owner.services.workspaces.create(owner.actor, name="Public data", language="python")
    await owner.services.workspaces.update(owner.actor, workspace.id, is_public=True)
    ada = await sign_in(user)
    await install(ada, grant=["workspace:write"])
    await user.open(f"/w/{workspace.id}")
    find_testid(user, "open-command-palette").click()
    await until(lambda: bool(with_testid(user, "command-palette-input")), "the command palette")
    assert LABEL not in texts(with_testid(user, "command-palette-result"))
