"""Web previews: the express and react templates serve from the sandbox into the IDE's preview."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ide import create_workspace, sign_in
from tests.serving import Server

pytestmark = pytest.mark.browser


def test_the_express_template_serves_its_pages(page: Page, server: Server) -> None:
    sign_in(page, server, "web@example.com")
    create_workspace(page, "Web", "JavaScript (Node.js)", "Web server (Node.js, listens on PORT)")
    page.get_by_test_id("preview").click()
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.locator("h1")).to_have_text("Hello from Codeloft!")
    expect(frame.get_by_role("link", name="api/time")).to_have_attribute("href", "api/time")
    address = page.get_by_test_id("preview-frame").get_attribute("src")
    assert address is not None and address.startswith("/preview/")
    assert '"now"' in httpx.get(server.base_url + address + "api/time").text  # where the relative link leads
    own = page.get_by_test_id("preview-open-tab")  # the workspace's own address, for its readers
    expect(own).to_have_attribute("href", page.url.split("?")[0].removeprefix(server.base_url) + "/preview/")
    in_tab = page.request.get(server.base_url + str(own.get_attribute("href")))
    assert in_tab.ok and "Hello from Codeloft!" in in_tab.text() and "/preview/" in in_tab.url
    answer = httpx.get(server.base_url + address)  # no cookie needed, but a sandboxed document
    assert answer.status_code == 200 and "sandbox" in answer.headers["content-security-policy"]
    assert "set-cookie" not in answer.headers
    page.get_by_test_id("preview-stop").click()
    deadline = time.monotonic() + 10
    while (ended := httpx.get(server.base_url + address)).status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.2)  # the click returns before the server has been stopped
    assert ended.status_code == 404 and "This preview has ended" in ended.text


def test_the_react_template_runs_its_component(page: Page, server: Server) -> None:
    sign_in(page, server, "react@example.com")
    create_workspace(page, "Reactive", "JavaScript (Node.js)", "React page (no build step)")
    page.get_by_test_id("preview").click()
    frame = page.frame_locator("[data-testid=preview-frame]")
    button = frame.get_by_role("button")
    expect(button).to_have_text("Clicked 0 times")
    button.click()
    expect(button).to_have_text("Clicked 1 times")
    page.get_by_test_id("preview-close").click()


def test_a_made_up_preview_address_shows_nothing(server: Server) -> None:
    answer = httpx.get(f"{server.base_url}/preview/not-a-token/")
    assert answer.status_code == 404 and "This preview has ended" in answer.text


SIGN_OUT_JS = b"""require("http").createServer((req, res) => {
  res.setHeader("Clear-Site-Data", '"cookies", "storage", "cache"');
  res.setHeader("Set-Cookie", "session=planted; Path=/");
  res.setHeader("Content-Type", "text/html");
  res.end("<h1>Bye</h1>");
}).listen(process.env.PORT);
"""


def test_a_previewed_page_cannot_sign_its_viewer_out(page: Page, server: Server) -> None:
    sign_in(page, server, "kept@example.com")
    api = page.request
    csrf = {"X-CSRF-Token": api.get(server.base_url + "/api/v1/session").json()["csrf_token"]}
    workspace = api.post(
        server.base_url + "/api/v1/workspaces", data={"name": "Bye", "language": "javascript"}, headers=csrf
    ).json()["id"]
    assert api.put(
        f"{server.base_url}/api/v1/workspaces/{workspace}/files/server.js", data=SIGN_OUT_JS, headers=csrf
    ).ok
    address = api.post(f"{server.base_url}/api/v1/workspaces/{workspace}/preview", headers=csrf).json()["address"]
    page.goto(server.base_url + address)
    expect(page.locator("h1")).to_have_text("Bye")
    assert api.get(server.base_url + "/api/v1/session").status == 200  # still signed in
    page.goto(f"{server.base_url}/w/{workspace}")
    expect(page.get_by_test_id("user-label")).to_be_visible()
    api.delete(f"{server.base_url}/api/v1/workspaces/{workspace}/preview", headers=csrf)
