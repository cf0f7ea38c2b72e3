"""Codeloft under NiceGUI's user simulation: the real pages over the real services (SQLite in the data
directory the `user` fixture makes), wired as `ui.app.serve` wires them but without a sandbox (the pages
under test run no code). `runpy` runs this file once per test, after `nicegui_reset_globals` has removed
every page route."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from pathlib import Path

from nicegui import app, ui

from domain.sandbox import Cancellation, OutputSink, SandboxRequest, SandboxResult
from ui import context
from ui.app import build_services, prepare
from ui.settings import Settings

DATA_DIR_VARIABLE = "CODELOFT_PAGES_DATA_DIR"
STORAGE_SECRET = "codeloft page tests"
MODERATOR = "moderator@example.com"
"""The page tests' administrator (CODELOFT_ADMIN_EMAILS): they moderate the extension marketplace."""
PAGES = (
    "ui.pages.not_found",
    "ui.pages.login",
    "ui.pages.dashboard",
    "ui.pages.workspace",
    "ui.pages.account",
    "ui.pages.explore",
    "ui.pages.extensions",
)


class NoSandbox:
    """The runner of page tests: they open pages, they run no code."""

    name = "none"

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        raise AssertionError("page tests run no code: use an end-to-end test for runs")

    async def version(self, argv: list[str]) -> str:
        return "none"

    async def close(self) -> None:
        return None


def settings_for(data_dir: Path) -> Settings:
    """The data directory's SQLite database and key file, whatever CODELOFT_* the shell has set."""
    return Settings(
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        secret_keys=None,
        runner="local",
        admin_emails=MODERATOR,
    )


def in_thread(function, *args) -> None:  # type: ignore[no-untyped-def]
    """Call blocking `function` (which runs its own event loop) from inside the test's event loop."""
    failure: list[BaseException] = []

    def call() -> None:
        try:
            function(*args)
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def register_pages() -> None:
    """Import the pages, so their `@ui.page`s register again: a module still loaded from an earlier import
    (in this process, before the simulation reset NiceGUI) is reloaded."""
    importlib.import_module("ui.pages")  # its parents too: the simulation's reset drops them from sys.modules
    for name in PAGES:
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)


def main() -> None:
    settings = settings_for(Path(os.environ[DATA_DIR_VARIABLE]))
    in_thread(prepare, settings)
    register_pages()

    async def start() -> None:
        context.install(await build_services(settings, runner=NoSandbox()))

    async def stop() -> None:
        await context.services().close()
        context.install(None)

    app.on_startup(start)
    app.on_shutdown(stop)
    ui.run(title="Codeloft", language="en-US", reload=False, show=False, storage_secret=STORAGE_SECRET)


if __name__ == "__main__":
    main()
