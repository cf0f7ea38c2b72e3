"""Driving the IDE in Playwright, shared by the browser tests: signing in, creating and opening a
workspace, the file tree, typing in the editor, and the REST API with the browser's own session."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, link_in


def sign_in(page: Page, server: Server, email: str) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", email).stdout))
    expect(page.get_by_test_id("user-label")).to_be_visible()


def create_workspace(page: Page, name: str, language: str = "Python", template: str = "Python script") -> None:
    page.goto(page.url.split("/w/")[0].rstrip("/") + "/" if "/w/" in page.url else page.url)
    page.get_by_test_id("new-workspace").click()
    page.get_by_test_id("new-name").fill(name)
    page.get_by_test_id("new-language").click()
    page.get_by_role("option", name=language, exact=True).click()
    page.get_by_test_id("new-template").click()
    page.get_by_role("option", name=template, exact=True).click()
    page.get_by_test_id("new-create").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}$"))  # Create opens the new workspace
    expect(page.get_by_test_id("page-title")).to_have_text(name)


def tree_item(page: Page, label: str):
    return (
        page.get_by_test_id("file-tree")
        .locator(".cl-tree-item")
        .filter(has=page.locator(".codeloft-tree-label", has_text=re.compile(f"^{re.escape(label)}$")))
    )


def replace_editor_text(page: Page, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def type_at_end(page: Page, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


class Api:
    """The REST API with the browser's own session."""

    def __init__(self, page: Page, server: Server) -> None:
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        self.client = httpx.Client(base_url=server.base_url, cookies=cookies, timeout=30)
        csrf = self.client.get("/api/v1/session").json()["csrf_token"]
        self.client.headers["X-CSRF-Token"] = csrf

    def workspace(self, name: str, language: str = "python", template: str = "python", **settings: Any) -> str:
        answer = self.client.post("/api/v1/workspaces", json={"name": name, "language": language, "template": template})
        answer.raise_for_status()
        workspace_id = str(answer.json()["id"])
        if settings:
            self.client.patch(f"/api/v1/workspaces/{workspace_id}", json={"editor": settings}).raise_for_status()
        return workspace_id

    def put(self, workspace_id: str, path: str, text: str) -> None:
        self.client.put(f"/api/v1/workspaces/{workspace_id}/files/{path}", content=text.encode()).raise_for_status()

    def text(self, workspace_id: str, path: str) -> str | None:
        answer = self.client.get(f"/api/v1/workspaces/{workspace_id}/files/{path}")
        return None if answer.status_code == 404 else answer.text

    def delete(self, workspace_id: str, path: str) -> None:
        self.client.delete(f"/api/v1/workspaces/{workspace_id}/files/{path}").raise_for_status()


def signed_in(page: Page, server: Server, email: str) -> Api:
    open_sign_in_link(page, link_in(server.cli("user", "add", email).stdout))
    expect(page.get_by_test_id("user-label")).to_be_visible()
    return Api(page, server)


def open_ide(page: Page, server: Server, workspace_id: str) -> None:
    page.goto(f"{server.base_url}/w/{workspace_id}")
    expect(page.get_by_test_id("page-title")).not_to_be_empty()  # the workspace's name (hidden on a phone)
