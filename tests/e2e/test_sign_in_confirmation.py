"""Login CSRF (issue 9, point 2): a page on another site cannot sign a person out, nor in as someone else;
the confirmation form works with JavaScript off."""

from __future__ import annotations

import html
import http.server
import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SIGN_IN_AS, open_sign_in_link
from tests.serving import Server, free_port, link_in

pytestmark = pytest.mark.browser


class AttackerSite:
    """A page on another origin (another port): `/navigate` sends the browser to a sign-in link, `/post`
    submits the link's token to `/login/token` by itself."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.link = ""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                token = html.escape(site.link.rsplit("/", 1)[-1], quote=True)
                if self.path == "/navigate":
                    body = f'<script>location.href = "{site.link}";</script>'
                else:
                    body = (
                        f'<form id="f" method="post" action="{site.server.base_url}/login/token">'
                        f'<input type="hidden" name="token" value="{token}"></form>'
                        '<script>document.getElementById("f").submit();</script>'
                    )
                data = f"<!doctype html><html><body>{body}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        # "localhost" against the server's 127.0.0.1: another origin (and another port), as another site is.
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://localhost:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def attacker(server: Server) -> Iterator[AttackerSite]:
    site = AttackerSite(server)
    yield site
    site.close()


def session_email(page: Page, server: Server) -> str | None:
    answer = page.request.get(f"{server.base_url}/api/v1/session")
    return str(answer.json()["user"]["email"]) if answer.ok else None


def test_another_site_cannot_sign_the_victim_out_or_in_as_the_attacker(
    page: Page, server: Server, attacker: AttackerSite
) -> None:
    open_sign_in_link(page, link_in(server.cli("user", "add", "victim@example.com").stdout))
    expect(page.get_by_test_id("user-label")).to_have_text("victim@example.com")
    attacker.link = link_in(server.cli("user", "add", "mallory@example.com").stdout)

    page.goto(attacker.base_url + "/post")  # a form on another site that submits itself
    expect(page.get_by_text("another site")).to_be_visible()
    assert session_email(page, server) == "victim@example.com"

    page.goto(attacker.base_url + "/navigate")  # another site sends the browser to the link
    expect(page.get_by_role("button", name="Sign in as mallory@example.com")).to_be_visible()
    assert session_email(page, server) == "victim@example.com"

    page.goto(server.base_url + "/")
    expect(page.get_by_test_id("user-label")).to_have_text("victim@example.com")


def test_the_confirmation_works_with_javascript_off(browser: Browser, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(link_in(server.cli("user", "add", "no-js@example.com").stdout))
        button = page.get_by_role("button", name=SIGN_IN_AS)
        expect(button).to_have_text("Sign in as no-js@example.com")
        button.click()
        expect(page).to_have_url(re.compile(r"/$"))
        assert session_email(page, server) == "no-js@example.com"
    finally:
        context.close()
