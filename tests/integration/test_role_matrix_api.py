"""Issue 13's role matrix through the real server on PostgreSQL: every role against every action, one
request per cell, each with the HTTP status it must answer. A refusal changes nothing (checked through the
owner's eyes: the file, the runs, the fork count, the shares, the links, the name, the owner); a refusal to
someone who may not see the workspace is the very 404 body a workspace that does not exist gets.

The actions: view = GET a file, edit = PUT it, run = POST .../runs, preview = POST .../preview, fork = POST
.../fork, share = POST .../shares, make a link = POST .../links, change settings = PATCH the workspace (its
name), delete = DELETE it, transfer = POST .../transfer, all under /api/v1/workspaces/{id}.

A link's visitor reaches the workspace only through /s/<token> pages (`ui/pages/public.py`), so their view
and fork cells go there: the file's page (GET /s/<token>/main.py) and the page's Fork form (POST
/s/<token>/fork, with the session's CSRF token; a 303 to the copy for a signed-in visitor, the "Sign in"
page's 401 for an anonymous one). A link grants nothing in the API, so their other cells are API requests
as who they are without it: 401 anonymous, 404 signed in (the same account as the stranger's).

Preview: an allowed start answers 201 as soon as the server is started in the sandbox (its program, a
print, then ends by itself; the cell stops it); a refused one is answered before any sandbox work.

The world (accounts, the workspace, its shares and link) is made once; only an allowed delete or transfer
makes it anew, and an allowed invitation is taken back."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api_client import NOWHERE, User, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.postgres

MATRIX = """
                        | view     edit     run      preview  fork     share    link     settings delete   transfer
owner                   | 200      200      201      201      201      201      201      200      204      200
admin                   | 200      200      201      201      201      201      201      200      403      403
write                   | 200      200      201      201      201      403      403      403      403      403
read                    | 200      403      201      201      201      403      403      403      403      403
expired share           | 404      404      404      404      404      404      404      404      404      404
link visitor            | 200      401      401      401      401      401      401      401      401      401
link visitor, signed in | 200      404      404      404      303      404      404      404      404      404
signed-in stranger      | 404      404      404      404      404      404      404      404      404      404
anonymous               | 401      401      401      401      401      401      401      401      401      401
"""


def cells(matrix: str) -> list[tuple[str, str, int]]:
    """(role, action, status) for every cell of a matrix written as above."""
    header, *rows = [line.split("|") for line in matrix.strip("\n").splitlines()]
    actions = header[1].split()
    found = []
    for role, answers in rows:
        found += [(role.strip(), action, int(answer)) for action, answer in zip(actions, answers.split(), strict=True)]
    return found


CELLS = cells(MATRIX)
LINK_ROLES = ("link visitor", "link visitor, signed in")
ACCOUNTS = {
    "owner": "owner@example.com",
    "admin": "admin@example.com",
    "write": "writer@example.com",
    "read": "reader@example.com",
    "expired share": "expired@example.com",
    "signed-in stranger": "stranger@example.com",
    "guest": "guest@example.com",
}
"""The guest is whom a cell invites or transfers the workspace to: an account with no role of its own."""
SHARES = {"admin": ("admin", None), "write": ("write", None), "read": ("read", None)}
SHARES["expired share"] = ("write", "2001-01-01T00:00:00Z")
PROGRAM = b"print('matrix')\n"
EDITED = b"print('matrix, edited')\n"
GUEST = {"email": ACCOUNTS["guest"], "permission": "read"}
NEEDS_SANDBOX = {"run", "preview"}


@dataclass
class World:
    server: Server
    people: dict[str, User]
    anonymous: httpx.Client
    ids: dict[str, str] = field(default_factory=dict)
    ws: str = ""
    token: str = ""

    @property
    def owner(self) -> User:
        return self.people["owner"]

    def build(self) -> None:
        """The workspace with its file, the three live shares, the expired one and a public link."""
        self.ws = self.owner.create("Matrix")
        self.owner.write(self.ws, "main.py", PROGRAM)
        for role, (permission, expires_at) in SHARES.items():
            body = {"email": ACCOUNTS[role], "permission": permission, "expires_at": expires_at}
            assert self.owner.post(f"/api/v1/workspaces/{self.ws}/shares", json=body).status_code == 201
        link = self.owner.post(f"/api/v1/workspaces/{self.ws}/links", json={})
        assert link.status_code == 201, link.text
        self.token = str(link.json()["url"]).rsplit("/s/", 1)[1]

    def who(self, role: str) -> tuple[httpx.Client, dict[str, str]]:
        """The role's browser and its CSRF header (none for anonymous callers)."""
        account = "signed-in stranger" if role == "link visitor, signed in" else role
        if account in ("anonymous", "link visitor"):
            return self.anonymous, {}
        return self.people[account].client, self.people[account].headers


def request(world: World, role: str, action: str, ws: str) -> httpx.Response:
    """The cell's one request: `action` by `role` on the workspace `ws`."""
    client, headers = world.who(role)
    if role in LINK_ROLES and action == "view":
        return client.get(f"/s/{world.token}/main.py")
    if role in LINK_ROLES and action == "fork":
        return client.post(f"/s/{world.token}/fork", data={"csrf": headers.get("X-CSRF-Token", "")})
    api = f"/api/v1/workspaces/{ws}"
    match action:
        case "view":
            return client.get(f"{api}/files/main.py")
        case "edit":
            return client.put(f"{api}/files/main.py", content=EDITED, headers=headers)
        case "run":
            return client.post(f"{api}/runs", json={"path": "main.py"}, headers=headers)
        case "preview":
            return client.post(f"{api}/preview", headers=headers)
        case "fork":
            return client.post(f"{api}/fork", headers=headers)
        case "share":
            return client.post(
                f"{api}/shares", json={"email": ACCOUNTS["guest"], "permission": "read"}, headers=headers
            )
        case "link":
            return client.post(f"{api}/links", json={}, headers=headers)
        case "settings":
            return client.patch(api, json={"name": "Renamed"}, headers=headers)
        case "delete":
            return client.delete(api, headers=headers)
        case "transfer":
            return client.post(f"{api}/transfer", json={"email": GUEST["email"]}, headers=headers)
    raise AssertionError(action)


def owners_view(world: World, action: str) -> Any:
    """What `action` would change, as the owner sees it (nothing to see for view and preview)."""
    owner, api = world.owner, f"/api/v1/workspaces/{world.ws}"

    def get(path: str) -> Any:
        response = owner.client.get(api + path)
        assert response.status_code == 200, response.text
        return response.json()

    looks: dict[str, Callable[[], Any]] = {
        "edit": lambda: owner.content(world.ws, "main.py"),
        "run": lambda: [run["id"] for run in get("/runs")],
        "fork": lambda: get("")["fork_count"],
        "share": lambda: get("/shares"),
        "link": lambda: [link["id"] for link in get("/links")],
        "settings": lambda: get(""),
        "delete": lambda: get(""),
        "transfer": lambda: (get("")["owner_id"], get("/shares")),
    }
    look = looks.get(action)
    return look() if look else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("matrix"), CODELOFT_DATABASE_URL=postgres_dsn)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    with ThreadPoolExecutor(max_workers=4) as pool:  # each sign-in runs the `codeloft user add` command
        people = dict(zip(ACCOUNTS, pool.map(lambda email: sign_in(server, email), ACCOUNTS.values()), strict=True))
    with httpx.Client(base_url=server.base_url, timeout=60) as anonymous:
        made = World(server=server, people=people, anonymous=anonymous)
        made.ids = {role: str(user.client.get("/api/v1/session").json()["user"]["id"]) for role, user in people.items()}
        made.build()
        yield made
    for user in people.values():
        user.client.close()


@pytest.mark.parametrize(("role", "action", "status"), CELLS, ids=[f"{r}-{a}" for r, a, _ in CELLS])
def test_role_against_action(world: World, role: str, action: str, status: int) -> None:
    if action in NEEDS_SANDBOX and status < 300 and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed: nothing runs code here")
    before = owners_view(world, action)

    answer = request(world, role, action, world.ws)

    assert answer.status_code == status, f"{role} {action}: {answer.status_code} {answer.text[:300]}"
    if status < 400:
        allowed(world, role, action, answer)
        return
    assert owners_view(world, action) == before, f"{role} {action}: refused, yet it changed"
    if role in LINK_ROLES and action in ("view", "fork"):
        assert "Sign in" in answer.text  # the public page's own answer, not the API's
        return
    body = answer.json()
    assert body["error"] == {401: "Unauthenticated", 403: "PermissionDenied", 404: "NotFound"}[status], body
    if status == 404:
        assert body == request(world, role, action, NOWHERE).json()  # exactly as if there were no workspace
    if status == 403:
        assert f"'{role}'" in body["detail"], body


def allowed(world: World, role: str, action: str, answer: httpx.Response) -> None:
    """An allowed cell did what it says; a deleted or transferred workspace is made anew, an invitation
    taken back, a preview stopped."""
    client, headers = world.who(role)
    api = f"/api/v1/workspaces/{world.ws}"
    match action:
        case "view":
            assert "matrix" in answer.text
        case "edit":
            assert world.owner.content(world.ws, "main.py") == EDITED
        case "run":
            assert answer.json()["status"] == "success" and answer.json()["stdout"].startswith("matrix")
        case "preview":
            assert answer.json()["path"] == "main.py"
            assert client.delete(f"{api}/preview", headers=headers).status_code == 204
        case "fork" if role in LINK_ROLES:
            assert answer.headers["location"].startswith("/w/")
        case "fork":
            assert answer.json()["forked_from"] == world.ws
        case "share":
            assert answer.json()["email"] == GUEST["email"]
            assert world.owner.client.delete(
                f"{api}/shares/{answer.json()['id']}", headers=world.owner.headers
            ).is_success
        case "link":
            assert answer.json()["url"].startswith(world.server.base_url + "/s/")
        case "settings":
            assert world.owner.workspace(world.ws)["name"] == "Renamed"
        case "delete":
            assert world.owner.client.get(api).status_code == 404
            world.build()
        case "transfer":
            assert answer.json()["owner_id"] == world.ids["guest"]
            world.build()
