"""`/docs` in Chromium: Swagger UI served by Codeloft itself shows each operation with its errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.serving import Server

pytestmark = pytest.mark.browser


def test_docs_show_an_operation_with_its_errors_and_input_rules(page: Page, server: Server, tmp_path) -> None:
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(server.base_url) else outside.append(request.url))
    page.goto(f"{server.base_url}/docs#/workspaces/create_workspace")
    operation = page.locator("#operations-workspaces-create_workspace")
    expect(operation).to_be_visible()
    expect(operation.locator(".responses-table").first).to_be_visible()  # the deep link opened it
    responses = operation.locator(".responses-table .response-col_status")
    expect(responses.filter(has_text=re.compile(r"^\s*201"))).to_have_count(1)
    for status in ("400", "401", "403", "409", "413", "422", "429", "503"):
        expect(responses.filter(has_text=re.compile(rf"^\s*{status}"))).to_have_count(1)
    expect(operation).to_contain_text("A service is down")
    expect(operation).to_contain_text('"error": "InvalidInput"')  # the one error body, ErrorOut
    write_file = page.locator("#operations-files-write_file")
    write_file.locator(".opblock-summary").click()
    expect(write_file).to_contain_text("If-Match")
    expect(write_file).to_contain_text("Changed elsewhere since If-Match's ETag")
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert outside == []  # nothing from a CDN
