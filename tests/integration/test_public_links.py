"""Public read-only links through the real server on PostgreSQL: made, listed and revoked over REST by the
owner only; `/s/<token>` rendered on the server with no script and the strict headers on every answer;
raw files and the ZIP; unknown, expired and revoked links one and the same 404; 50 concurrent views
counted exactly 50; a change shows on the next view; the token never in the server's output."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.api_client import NOWHERE, User, refused, sign_in
from tests.serving import Server, csrf, signed_in_client, start_server

pytestmark = pytest.mark.postgres

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PROGRAM = "".join(f"print({n})  # line {n}\n" for n in range(1, 31))
README = "# Demo\n\nSome *text* and <script>alert(1)</script> and [a link](javascript:alert(1)).\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("links"), CODELOFT_DATABASE_URL=postgres_dsn)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def owner(server: Server) -> User:
    client = signed_in_client(server)
    return User(client=client, headers=csrf(client))


@pytest.fixture
def project(owner: User) -> str:
    ws = owner.create("Shared demo")
    owner.write(ws, "main.py", PROGRAM.encode())
    owner.write(ws, "README.md", README.encode())
    owner.write(ws, "pkg/util.py", b"def util():\n    return 1\n")
    owner.write(ws, "logo.png", PNG)
    owner.write(ws, "data.bin", bytes(range(256)))
    owner.write(ws, "page.html", b"<script>alert(1)</script>")
    return ws


def make_link(owner: User, ws: str, **body: Any) -> dict[str, Any]:
    response = owner.post(f"/api/v1/workspaces/{ws}/links", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def token_of(link: dict[str, Any]) -> str:
    return str(link["url"]).rsplit("/s/", 1)[1]


def anonymous(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30)


def assert_public_headers(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_owner_makes_lists_and_revokes_links(server: Server, owner: User, project: str) -> None:
    link = make_link(owner, project)
    assert set(link) == {"id", "url", "view_count", "expires_at", "created_at"}
    assert link["url"].startswith(server.base_url + "/s/") and len(token_of(link)) >= 43
    assert link["view_count"] == 0 and link["expires_at"] is None
    later = make_link(owner, project, expires_at="2999-01-01T00:00:00Z")
    assert later["expires_at"].startswith("2999-01-01")

    listed = owner.client.get(f"/api/v1/workspaces/{project}/links").json()
    assert {entry["id"] for entry in listed} == {link["id"], later["id"]}

    response = owner.client.delete(f"/api/v1/workspaces/{project}/links/{link['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert [entry["id"] for entry in owner.client.get(f"/api/v1/workspaces/{project}/links").json()] == [later["id"]]
    refused(
        owner.client.delete(f"/api/v1/workspaces/{project}/links/{link['id']}", headers=owner.headers),
        404,
        "no such link",
    )


def test_refusals_store_nothing(server: Server, owner: User, project: str) -> None:
    refused(owner.post(f"/api/v1/workspaces/{project}/links", json={"expires_at": "3001-01-01T00:00:00Z"}), 422, "")
    refused(owner.post(f"/api/v1/workspaces/{project}/links", json={"token": "mine"}), 422, "")
    refused(owner.post(f"/api/v1/workspaces/{NOWHERE}/links", json={}), 404, "No such workspace")
    stranger = sign_in(server, "stranger@example.com")
    refused(stranger.post(f"/api/v1/workspaces/{project}/links", json={}), 404, "No such workspace")
    refused(stranger.client.get(f"/api/v1/workspaces/{project}/links"), 404, "No such workspace")
    with anonymous(server) as client:
        assert client.get(f"/api/v1/workspaces/{project}/links").status_code == 401
    assert owner.client.get(f"/api/v1/workspaces/{project}/links").json() == []


def test_the_public_page_is_plain_html_with_the_tree_and_a_highlighted_file(
    server: Server, owner: User, project: str
) -> None:
    token = token_of(make_link(owner, project))
    with anonymous(server) as client:
        page = client.get(f"/s/{token}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert_public_headers(page)
        assert "<script" not in page.text.lower()
        for path in ("main.py", "README.md", "pkg/util.py", "logo.png"):
            assert f'href="/s/{token}/{path}"' in page.text
        assert "<h2>README.md <small>" in page.text  # no entry point (a blank template): the README first
        page = client.get(f"/s/{token}/main.py")
        assert page.status_code == 200 and "<h2>main.py <small>" in page.text
        assert 'aria-current="page">main.py<' in page.text
        assert 'id="L12"' in page.text and 'href="#L12"' in page.text and "line 12" in page.text
        assert 'class="hl"' in page.text
        css = client.get(re.search(r'<link rel="stylesheet" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        assert css.status_code == 200 and ".hl" in css.text and css.headers["content-type"].startswith("text/css")

        readme = client.get(f"/s/{token}/README.md")
        assert "<h1>Demo</h1>" in readme.text and "<em>text</em>" in readme.text
        assert "<script>alert" not in readme.text and 'href="javascript' not in readme.text

        image = client.get(f"/s/{token}/logo.png")
        assert f'<img class="shared-image" src="/s/{token}/raw/logo.png"' in image.text
        binary = client.get(f"/s/{token}/data.bin")
        assert f'href="/s/{token}/raw/data.bin?download=1"' in binary.text

        raw = client.get(f"/s/{token}/raw/main.py")
        assert raw.content == PROGRAM.encode() and raw.headers["content-type"].startswith("text/plain")
        assert_public_headers(raw)
        assert "sandbox" in raw.headers["content-security-policy"]
        html_file = client.get(f"/s/{token}/raw/page.html")
        assert html_file.headers["content-type"].startswith("text/plain")
        assert client.get(f"/s/{token}/raw/logo.png").headers["content-type"] == "image/png"

        archive = client.get(f"/s/{token}/archive")
        assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
        assert_public_headers(archive)
        names = set(zipfile.ZipFile(io.BytesIO(archive.content)).namelist())
        assert {"main.py", "README.md", "pkg/util.py"} <= names


async def expire(postgres_dsn: str, link_id: str) -> None:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        await connection.execute(
            "UPDATE public_shares SET expires_at = now() - interval '1 minute' WHERE id = $1", link_id
        )
    finally:
        await connection.close()


async def test_unknown_expired_and_revoked_links_answer_the_same_404(
    server: Server, owner: User, project: str, postgres_dsn: str
) -> None:
    expired, revoked, live = make_link(owner, project), make_link(owner, project), make_link(owner, project)
    await expire(postgres_dsn, expired["id"])
    assert owner.client.delete(f"/api/v1/workspaces/{project}/links/{revoked['id']}", headers=owner.headers).is_success
    with anonymous(server) as client:
        answers = [
            client.get(f"/s/{token}{suffix}")
            for token in (token_of(expired), token_of(revoked), "A" * 43, "nonsense")
            for suffix in ("", "/main.py", "/raw/main.py", "/archive")
        ]
        for answer in answers:
            assert answer.status_code == 404
            assert_public_headers(answer)
        assert len({answer.text for answer in answers}) == 1
        assert "does not exist, has expired or was revoked" in answers[0].text
        assert "<script" not in answers[0].text.lower()
        live_token = token_of(live)
        missing = client.get(f"/s/{live_token}/nothing/here.py")
        assert missing.status_code == 404 and missing.text == answers[0].text
        assert client.get(f"/s/{live_token}/raw/../main.py").status_code in (200, 404)


async def test_fifty_concurrent_views_count_fifty(server: Server, owner: User, project: str) -> None:
    link = make_link(owner, project)
    token = token_of(link)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        answers = await asyncio.gather(*(client.get(f"/s/{token}") for _ in range(50)))
        assert [answer.status_code for answer in answers] == [200] * 50
        await client.get(f"/s/{token}/raw/main.py")  # not a page view
        await client.get(f"/s/{token}/archive")
    (listed,) = [e for e in owner.client.get(f"/api/v1/workspaces/{project}/links").json() if e["id"] == link["id"]]
    assert listed["view_count"] == 50


def test_a_change_shows_on_the_next_view(server: Server, owner: User, project: str) -> None:
    token = token_of(make_link(owner, project))
    with anonymous(server) as client:
        assert "line 12" in client.get(f"/s/{token}/main.py").text
        owner.write(project, "main.py", b"print('changed')\n")
        page = client.get(f"/s/{token}/main.py")
        assert "changed" in page.text and "line 12" not in page.text
        owner.write(project, "new.py", b"x = 1\n")
        assert f'href="/s/{token}/new.py"' in client.get(f"/s/{token}").text


def test_a_signed_in_owner_is_offered_the_ide_and_a_stranger_is_not(server: Server, owner: User, project: str) -> None:
    token = token_of(make_link(owner, project))
    assert f'href="/w/{project}"' in owner.client.get(f"/s/{token}").text
    stranger = sign_in(server, "visitor@example.com")
    page = stranger.client.get(f"/s/{token}")
    assert page.status_code == 200 and f"/w/{project}" not in page.text
    with anonymous(server) as client:
        assert f"/w/{project}" not in client.get(f"/s/{token}").text


def test_the_token_never_appears_in_the_server_output(server: Server, owner: User, project: str) -> None:
    link = make_link(owner, project)
    token = token_of(link)
    with anonymous(server) as client:
        for suffix in ("", "/main.py", "/raw/main.py", "/archive", "/nothing"):
            client.get(f"/s/{token}{suffix}")
    owner.client.delete(f"/api/v1/workspaces/{project}/links/{link['id']}", headers=owner.headers)
    with anonymous(server) as client:
        assert client.get(f"/s/{token}").status_code == 404
    assert server.output and token not in "".join(server.output)


FORK_FORM = re.compile(
    r'<form method="post" action="(/s/[^"]+/fork)"><input type="hidden" name="csrf" value="([^"]+)">'
)


def test_a_signed_in_visitor_forks_through_the_link(server: Server, owner: User, project: str) -> None:
    token = token_of(make_link(owner, project))
    visitor = sign_in(server, "forker@example.com")
    form = FORK_FORM.search(visitor.client.get(f"/s/{token}").text)
    assert form is not None and form.group(1) == f"/s/{token}/fork"

    refused_page = visitor.client.post(form.group(1), data={"csrf": "wrong"}, follow_redirects=False)
    assert refused_page.status_code == 403 and "Fork refused" in refused_page.text
    assert_public_headers(refused_page)
    with anonymous(server) as client:
        assert client.post(form.group(1), data={"csrf": form.group(2)}).status_code == 401
    assert visitor.names() == []

    forked = visitor.client.post(form.group(1), data={"csrf": form.group(2)}, follow_redirects=False)
    assert forked.status_code == 303 and forked.headers["location"].startswith("/w/")
    assert token not in forked.headers["location"]
    copy = forked.headers["location"].removeprefix("/w/")
    assert visitor.content(copy, "main.py") == PROGRAM.encode()
    assert len(visitor.names()) == 1
