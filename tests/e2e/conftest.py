"""Playwright with Debian's Chromium (browsers cannot be downloaded here).

The sync API keeps an event loop running while it is open, so the browser lives only as long as
this package's tests and the asyncio tests run before them (see `testpaths`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.serving import Server, start_server

SIGN_IN_AS = re.compile(r"^Sign in as ")

CHROMIUM = os.environ.get("CODELOFT_TEST_CHROMIUM", "/usr/bin/chromium")
# Two cores shared with the server under test: give assertions room before they call a page slow.
expect.set_options(timeout=15_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("e2e")))
    yield running
    running.stop()


def open_sign_in_link(page: Page, link: str) -> None:
    """Open a printed sign-in link and confirm it, as a person does: the link only asks, the button signs in."""
    page.goto(link)
    page.get_by_role("button", name=SIGN_IN_AS).click()
