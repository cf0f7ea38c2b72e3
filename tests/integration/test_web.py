"""The running server, over HTTP: sign-in links, cookies, CSRF, the workspace API, health."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_TEST_URL, create_postgres_database, drop_postgres_database
from tests.serving import FORM_TOKEN, Server, csrf, link_in, new_link, sign_in, signed_in_client, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve"))
    yield running
    running.stop()


def test_health_reports_database_cache_queue_and_sandbox_and_the_instance_is_ready(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report.pop("sandbox") in ("bubblewrap", "local")
    assert report == {"status": "ok", "database": "ok", "cache": "in-process: ok", "queue": "in-process: ok, 0 waiting"}
    ready = httpx.get(f"{server.base_url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})


def test_the_printed_link_sets_a_safe_session_cookie_and_works_once(server: Server) -> None:
    link = new_link(server, "cookie@example.com")
    with httpx.Client(base_url=server.base_url) as client:
        response = sign_in(client, link)
        cookie = response.headers["set-cookie"]
        assert "codeloft_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http on localhost
        assert client.get("/api/v1/session").json()["user"]["email"] == "cookie@example.com"
    again = httpx.get(f"{server.base_url}{link.split(server.base_url)[1]}", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/login?reason=used"
    assert "set-cookie" not in again.headers
    page = httpx.get(server.base_url + again.headers["location"])
    assert "already been used" in page.text


def test_a_forged_link_is_refused(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/login/token/forged", follow_redirects=False)
    assert response.headers["location"] == "/login?reason=unknown"


def test_the_api_needs_a_session(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/api/v1/workspaces")
    assert response.status_code == 401 and "Sign in" in response.json()["detail"]
    pages = httpx.get(server.base_url + "/", follow_redirects=False)
    assert pages.status_code in (303, 307) and pages.headers["location"] == "/login"


def test_writes_need_the_csrf_token(server: Server) -> None:
    client = signed_in_client(server, new_link(server, "csrf@example.com"))
    body = {"name": "No token", "language": "python", "template": "python"}
    refused = client.post("/api/v1/workspaces", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post("/api/v1/workspaces", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert client.get("/api/v1/workspaces").json() == []  # nothing was created
    created = client.post("/api/v1/workspaces", json=body, headers=csrf(client))
    assert created.status_code == 201
    assert created.json()["name"] == "No token" and created.json()["template"] == "python"
    assert [w["name"] for w in client.get("/api/v1/workspaces").json()] == ["No token"]


def test_bad_workspace_input_gets_422_with_the_rule(server: Server) -> None:
    client = signed_in_client(server, new_link(server, "bad@example.com"))
    headers = csrf(client)
    for body, message in [
        ({"name": " ", "language": "python"}, "cannot be empty"),
        ({"name": "x", "language": "cobol"}, "language: Input should be 'python', 'javascript', 'cpp' or 'java'"),
        ({"name": "x\x1f", "language": "python"}, "cannot contain control characters"),
        ({"name": " " + "x" * 255, "language": "python"}, "at most 255 characters"),
        ({"name": "x", "language": "java", "template": "react"}, "Unknown template"),
    ]:
        response = client.post("/api/v1/workspaces", json=body, headers=headers)
        assert response.status_code == 422 and message in response.json()["detail"]
    assert client.get("/api/v1/workspaces").json() == []


def test_another_users_workspace_answers_404_like_a_missing_one(server: Server) -> None:
    ann = signed_in_client(server, new_link(server, "ann@example.com"))
    bob = signed_in_client(server, new_link(server, "bob@example.com"))
    workspace = ann.post("/api/v1/workspaces", json={"name": "Ann's", "language": "java"}, headers=csrf(ann)).json()
    assert ann.get(f"/api/v1/workspaces/{workspace['id']}").status_code == 200
    hidden = bob.get(f"/api/v1/workspaces/{workspace['id']}")
    missing = bob.get("/api/v1/workspaces/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert bob.get("/api/v1/workspaces").json() == []


def test_an_unknown_address_is_a_real_404_with_a_way_home(server: Server) -> None:
    client = signed_in_client(server, new_link(server, "lost@example.com"))
    for address in ("/no/such/page", "/w/", "/w/1/2/3", "/workspaces"):
        page = client.get(address)
        assert page.status_code == 404, address
        assert "There is no page at this address" in page.text and "Back to your workspaces" in page.text
        assert "HTTPException" not in page.text
    anonymous = httpx.get(f"{server.base_url}/no/such/page")
    assert anonymous.status_code == 404 and "There is no page at this address" in anonymous.text
    api = client.get("/api/v1/no-such-endpoint")  # the API keeps answering in JSON
    assert api.status_code == 404 and api.json()["error"] == "NotFound"


def test_a_missing_hidden_or_malformed_workspace_page_is_404_and_they_look_the_same(server: Server) -> None:
    ann = signed_in_client(server, new_link(server, "ann404@example.com"))
    bob = signed_in_client(server, new_link(server, "bob404@example.com"))
    hidden = ann.post("/api/v1/workspaces", json={"name": "Ann's", "language": "python"}, headers=csrf(ann)).json()
    answers = [bob.get(f"/w/{ws}") for ws in (hidden["id"], "00000000-0000-0000-0000-000000000000", "not-an-id")]
    for answer in answers:
        assert "No such workspace" in answer.text and "Back to your workspaces" in answer.text
    assert [answer.status_code for answer in answers] == [404, 404, 404]


def test_the_ide_page_arrives_with_its_file_tree_and_the_open_files_text(server: Server) -> None:
    """One answer carries what the first paint shows: no websocket round before the tree and the editor."""
    client = signed_in_client(server, new_link(server, "whole@example.com"))
    workspace = client.post(
        "/api/v1/workspaces", json={"name": "Whole", "language": "python", "template": "blank"}, headers=csrf(client)
    ).json()
    for path, text in {"main.py": "print('MARKER_IN_THE_PAGE')\n", "pkg/notes.txt": "notes\n"}.items():
        stored = client.put(f"/api/v1/workspaces/{workspace['id']}/files/{path}", content=text, headers=csrf(client))
        assert stored.status_code in (200, 201), stored.text

    page = client.get(f"/w/{workspace['id']}")

    assert page.status_code == 200
    assert "MARKER_IN_THE_PAGE" in page.text  # the entry point's text, in the editor
    assert '"pkg"' in page.text and '"main.py"' in page.text  # the tree's top level


def test_pages_link_the_stylesheet_made_ahead_of_time_and_browsers_keep_it(server: Server) -> None:
    page = httpx.get(f"{server.base_url}/login")
    [address] = re.findall(r'<link rel="stylesheet" href="(/codeloft-static/[0-9a-f]+/tailwind.css)">', page.text)
    assert "tailwindcss.min.js" not in page.text  # no Tailwind runtime in the browser

    stylesheet = httpx.get(f"{server.base_url}{address}")

    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "immutable" in stylesheet.headers["cache-control"]
    assert ".items-center" in stylesheet.text


def test_nicegui_files_are_cached_and_redirects_keep_a_proxys_prefix(server: Server) -> None:
    """NiceGUI's two response middlewares, which Codeloft serves as plain ASGI (ui/nicegui_middlewares.py)."""
    page = httpx.get(f"{server.base_url}/login")
    [script] = re.findall(r'src="(/_nicegui/[^/"]+/static/[^"]+\.js)"', page.text)[:1]
    static = httpx.get(f"{server.base_url}{script}")
    assert static.status_code == 200 and "immutable" in static.headers["cache-control"]
    assert "cache-control" not in page.headers or "immutable" not in page.headers["cache-control"]

    redirect = httpx.get(f"{server.base_url}/", headers={"X-Forwarded-Prefix": "/ide"}, follow_redirects=False)
    assert redirect.status_code in (302, 303, 307) and redirect.headers["location"].startswith("/ide/login")


def test_sign_out_revokes_the_session_server_side(server: Server) -> None:
    client = signed_in_client(server, new_link(server, "out@example.com"))
    stolen_cookie = client.cookies.get("codeloft_session")
    assert client.delete("/api/v1/session", headers=csrf(client)).status_code == 204
    replay = httpx.get(f"{server.base_url}/api/v1/session", cookies={"codeloft_session": stolen_cookie})
    assert replay.status_code == 401


def test_openapi_documents_the_api(server: Server) -> None:
    paths = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    assert "/api/v1/workspaces" in paths and "/api/v1/session" in paths


def test_a_second_server_on_the_same_port_says_so(server: Server, tmp_path: Path) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    env = {**server.env, "CODELOFT_DATA_DIR": str(tmp_path)}
    from tests.serving import codeloft

    result = codeloft("serve", env={**env, "CODELOFT_PORT": port}, timeout=60)
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.postgres
@pytest.mark.redis
async def test_serve_on_postgresql_and_redis(tmp_path: Path) -> None:
    url = await create_postgres_database()
    running = None
    try:
        running = start_server(
            tmp_path,
            CODELOFT_DATABASE_URL=url.render_as_string(hide_password=False),
            CODELOFT_REDIS_URL=REDIS_TEST_URL,
        )
        assert httpx.get(f"{running.base_url}/healthz").json() == {
            "status": "ok",
            "database": "ok",
            "cache": "redis: ok",
            "queue": "redis: ok, 0 waiting",
            "sandbox": "redis queue",
        }
        client = signed_in_client(running)
        created = client.post(
            "/api/v1/workspaces", json={"name": "On PG", "language": "cpp", "template": "cpp"}, headers=csrf(client)
        )
        assert created.status_code == 201
        assert client.get(f"/api/v1/workspaces/{created.json()['id']}").json()["name"] == "On PG"
        assert not (tmp_path / "codeloft.db").exists()
        await drop_postgres_database(url)  # the database goes away under the running server
        down = httpx.get(f"{running.base_url}/healthz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable" and "Cannot reach PostgreSQL" in down.json()["database"]
        assert down.json()["cache"] == "redis: ok"
        not_ready = httpx.get(f"{running.base_url}/readyz")
        assert not_ready.status_code == 503 and "Cannot reach PostgreSQL" in not_ready.json()["reason"]["database"]
    finally:
        if running:
            running.stop()
        await drop_postgres_database(url)


def test_an_expired_link_is_refused_with_its_reason(server: Server) -> None:
    link = new_link(server, "late@example.com")
    database = sqlite3.connect(Path(server.env["CODELOFT_DATA_DIR"]) / "codeloft.db")
    with database:
        database.execute("UPDATE sign_in_tokens SET expires_at = '2020-01-01 00:00:00' WHERE used_at IS NULL")
    database.close()
    response = httpx.get(link, follow_redirects=False)
    assert response.headers["location"] == "/login?reason=expired"
    assert "set-cookie" not in response.headers
    assert "has expired" in httpx.get(server.base_url + response.headers["location"]).text


def test_behind_https_links_use_the_public_url_and_cookies_are_secure(tmp_path: Path) -> None:
    running = start_server(tmp_path, CODELOFT_PUBLIC_URL="https://ide.example.test")
    try:
        assert running.link.startswith("https://ide.example.test/login/token/")
        local_link = running.base_url + running.link.removeprefix("https://ide.example.test")
        with httpx.Client() as client:
            response = sign_in(client, local_link)
        assert "Secure" in response.headers["set-cookie"]
        # CODELOFT_PUBLIC_URL's origin is this server's own too (behind a proxy that rewrites the Host).
        link = link_in(running.cli("user", "add", "public@example.com").stdout)
        with httpx.Client(base_url=running.base_url) as client:
            token = token_of(client.get(link.removeprefix("https://ide.example.test")))
            signed = client.post("/login/token", data={"token": token}, headers={"Origin": "https://ide.example.test"})
            assert signed.status_code == 303 and "Secure" in signed.headers["set-cookie"]
    finally:
        running.stop()


# --- login CSRF (issue 9, point 2): a link's GET only asks; only a same-origin POST signs in ---------

FOREIGN = "http://attacker.example"


def token_of(page: httpx.Response) -> str:
    match = FORM_TOKEN.search(page.text)
    assert page.status_code == 200 and match, f"no sign-in form: {page.status_code} {page.text[:300]!r}"
    return match.group(1)


def email_of(client: httpx.Client) -> str | None:
    answer = client.get("/api/v1/session")
    return str(answer.json()["user"]["email"]) if answer.status_code == 200 else None


def test_opening_a_link_shows_a_confirmation_and_consumes_nothing(server: Server) -> None:
    link = new_link(server, "look@example.com")
    with httpx.Client(base_url=server.base_url) as client:
        first = client.get(link, follow_redirects=False)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in first.headers and email_of(client) is None
        assert '<form method="post" action="/login/token">' in first.text
        assert "Sign in as look@example.com" in first.text
        assert "<script" not in first.text  # plain HTML: works with JavaScript off
        assert first.headers["cache-control"] == "no-store"
        assert first.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
        assert first.headers["x-frame-options"] == "DENY"
        second = client.get(link, follow_redirects=False)  # still unused: the form again
        assert token_of(second) == token_of(first) == link.rsplit("/", 1)[1]
        assert email_of(client) is None


def test_a_cross_site_post_is_refused_and_leaves_the_victim_signed_in(server: Server) -> None:
    victim = signed_in_client(server, new_link(server, "victim@example.com"))
    attacker_link = new_link(server, "attacker@example.com")
    token = attacker_link.rsplit("/", 1)[1]
    # A cross-site navigation to the link: the form, and the victim's session untouched.
    assert token_of(victim.get(attacker_link, follow_redirects=False)) == token
    assert email_of(victim) == "victim@example.com"
    refusals = [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Referer": FOREIGN + "/page.html"},
        {},  # neither Origin nor Referer: nothing says where it came from
        {"Origin": FOREIGN, "Referer": server.base_url + "/"},  # Origin rules when present
    ]
    for headers in refusals:
        refused = victim.post("/login/token", data={"token": token}, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, headers
        assert "set-cookie" not in refused.headers
        assert "another site" in refused.text and refused.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
        assert email_of(victim) == "victim@example.com"
    # Nothing was consumed: the attacker's link still shows its form and still signs in from this origin.
    with httpx.Client(base_url=server.base_url) as other:
        assert sign_in(other, attacker_link).status_code == 303
        assert email_of(other) == "attacker@example.com"
    assert email_of(victim) == "victim@example.com"


def test_a_same_origin_post_signs_in_and_then_the_link_is_used(server: Server) -> None:
    link = new_link(server, "confirm@example.com")
    with httpx.Client(base_url=server.base_url) as client:
        token = token_of(client.get(link))
        referer_only = client.post(
            "/login/token", data={"token": token}, headers={"Referer": server.base_url + "/login/token/x"}
        )
        assert referer_only.status_code == 303 and referer_only.headers["location"] == "/"
        assert email_of(client) == "confirm@example.com"
        again = client.post("/login/token", data={"token": token}, headers={"Origin": server.base_url})
        assert again.status_code == 303 and again.headers["location"] == "/login?reason=used"
        assert email_of(client) == "confirm@example.com"  # a used link leaves the session alone
        forged = client.post("/login/token", data={"token": "forged"}, headers={"Origin": server.base_url})
        assert forged.headers["location"] == "/login?reason=unknown"
        missing = client.post("/login/token", data={}, headers={"Origin": server.base_url})
        assert missing.headers["location"] == "/login?reason=unknown"
