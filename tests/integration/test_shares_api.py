"""Sharing with people over REST through the real server on PostgreSQL: invite by e-mail (again: the one
share changes), list, change, end; an unknown address or a bad permission stores nothing and says why; an
expired share is a 404 for its person, exactly as a workspace that does not exist; leaving; "Shared with
me"; transfer by the owner only (the new owner has it as theirs, the old one keeps admin), within the
recipient's plan (an operator's CODELOFT_PLANS file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api_client import NOWHERE, User, refused, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.postgres

PLANS = {"free": {"max_workspaces": 2}}
"""Gus (free) may own two workspaces; Ann is made premium, so her workspaces of every test fit."""
PAST = "2001-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("shares")
    plans = folder / "plans.json"
    plans.write_text(json.dumps(PLANS))
    running = start_server(folder / "data", CODELOFT_DATABASE_URL=postgres_dsn, CODELOFT_PLANS=str(plans))
    yield running
    running.stop()


def person(server: Server, email: str) -> User:
    return sign_in(server, email)


@pytest.fixture(scope="module")
def ann(server: Server) -> User:
    user = person(server, "ann@example.com")
    assert server.cli("user", "set-tier", "ann@example.com", "premium").returncode == 0
    return user


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return person(server, "bob@example.com")


def user_id(user: User) -> str:
    return str(user.client.get("/api/v1/session").json()["user"]["id"])


def shares_url(ws: str, share_id: str | None = None) -> str:
    return f"/api/v1/workspaces/{ws}/shares" + (f"/{share_id}" if share_id else "")


def invite(owner: User, ws: str, email: str, permission: str, **extra: Any) -> httpx.Response:
    return owner.post(shares_url(ws), json={"email": email, "permission": permission, **extra})


def shares(user: User, ws: str) -> list[dict[str, Any]]:
    response = user.client.get(shares_url(ws))
    assert response.status_code == 200, response.text
    return list(response.json())


def patch(user: User, ws: str, share_id: str, **body: Any) -> httpx.Response:
    return user.client.patch(shares_url(ws, share_id), json=body, headers=user.headers)


def delete(user: User, ws: str, share_id: str) -> httpx.Response:
    return user.client.delete(shares_url(ws, share_id), headers=user.headers)


def shared_with(user: User) -> list[dict[str, Any]]:
    response = user.client.get("/api/v1/workspaces/shared")
    assert response.status_code == 200, response.text
    return list(response.json())


def transfer(user: User, ws: str, email: str) -> httpx.Response:
    return user.post(f"/api/v1/workspaces/{ws}/transfer", json={"email": email})


def missing(user: User) -> dict[str, Any]:
    """What the person is answered for a workspace that does not exist."""
    response = user.client.get(f"/api/v1/workspaces/{NOWHERE}")
    assert response.status_code == 404
    return dict(response.json())


def test_invite_list_change_and_end_a_share(ann: User, bob: User) -> None:
    ws = ann.create("Team project")
    ann.write(ws, "main.py", b"print('ann')\n")

    made = invite(ann, ws, "Bob@Example.com", "write")
    assert made.status_code == 201, made.text
    share = made.json()
    assert set(share) == {"id", "email", "display_name", "permission", "expires_at", "created_at"}
    assert (share["email"], share["permission"], share["expires_at"]) == ("bob@example.com", "write", None)
    assert shares(ann, ws) == [share]
    bob.write(ws, "main.py", b"print('bob')\n")  # write: edits at once
    refused(bob.client.get(shares_url(ws)), 403, "does not allow you to share")

    # inviting again changes the one share
    again = invite(ann, ws, "bob@example.com", "read", expires_at=FUTURE)
    assert again.status_code == 201 and again.json()["id"] == share["id"]
    assert [(s["id"], s["permission"], s["expires_at"][:10]) for s in shares(ann, ws)] == [
        (share["id"], "read", "2999-01-01")
    ]
    refused(bob.put(ws, "main.py", b"print('lowered')\n"), 403, "'read'")  # a lowered role counts at once

    # PATCH: what is left out stays; expires_at null is never
    changed = patch(ann, ws, share["id"], permission="admin")
    assert changed.status_code == 200 and changed.json()["permission"] == "admin"
    assert changed.json()["expires_at"].startswith("2999-01-01")
    assert patch(ann, ws, share["id"]).json() == changed.json()
    never = patch(ann, ws, share["id"], expires_at=None)
    assert never.json()["permission"] == "admin" and never.json()["expires_at"] is None
    assert [s["email"] for s in shares(bob, ws)] == ["bob@example.com"]  # an admin sees the shares

    assert delete(ann, ws, share["id"]).status_code == 204
    assert shares(ann, ws) == []
    assert bob.client.get(f"/api/v1/workspaces/{ws}").json() == missing(bob)  # gone at once
    refused(delete(ann, ws, share["id"]), 404, "not shared with that person")
    refused(patch(ann, ws, share["id"], permission="read"), 404, "not shared with that person")
    assert ann.content(ws, "main.py") == b"print('bob')\n"


def test_refused_invitations_say_why_and_store_nothing(server: Server, ann: User, bob: User) -> None:
    ws = ann.create("Nothing stored")

    unknown = invite(ann, ws, "Nobody@Example.com", "read")
    refused(unknown, 404, "No Codeloft account has the e-mail address nobody@example.com")
    assert "sign in once" in unknown.json()["detail"]
    refused(invite(ann, ws, "bob@example.com", "owner"), 422, "permission")
    refused(invite(ann, ws, "bob@example.com", "READ"), 422, "permission")
    refused(invite(ann, ws, "not an address", "read"), 422, "not an e-mail address")
    refused(invite(ann, ws, "bob@example.com", "read", expires_at="3001-01-01T00:00:00Z"), 422, "2000 to 2999")
    refused(invite(ann, ws, "bob@example.com", "read", role="admin"), 422, "")
    refused(ann.post(shares_url(ws), json={"email": "bob@example.com"}), 422, "permission")
    refused(invite(ann, ws, "ann@example.com", "read"), 409, "You own this workspace")
    refused(invite(ann, NOWHERE, "bob@example.com", "read"), 404, "No such workspace")
    refused(invite(bob, ws, "bob@example.com", "admin"), 404, "No such workspace")  # nobody shared it with Bob
    with httpx.Client(base_url=server.base_url, timeout=30) as anonymous:
        assert anonymous.get(shares_url(ws)).status_code == 401
    assert shares(ann, ws) == []
    assert shared_with(bob) == []


def test_an_expired_share_is_a_404_for_its_person(server: Server, ann: User) -> None:
    cy = person(server, "cy@example.com")
    ws = ann.create("Until yesterday")
    ann.write(ws, "main.py", b"print(1)\n")
    share = invite(ann, ws, "cy@example.com", "write", expires_at=PAST).json()
    assert share["expires_at"].startswith("2001-01-01")
    assert [s["id"] for s in shares(ann, ws)] == [share["id"]]  # listed until ended

    for answer in (
        cy.client.get(f"/api/v1/workspaces/{ws}"),
        cy.read(ws, "main.py"),
        cy.put(ws, "main.py", b"print(2)\n"),
    ):
        assert answer.status_code == 404 and answer.json() == missing(cy)
    assert shared_with(cy) == []
    assert ws not in [w["id"] for w in cy.client.get("/api/v1/workspaces").json()]

    assert patch(ann, ws, share["id"], expires_at=None).status_code == 200  # never ends now
    assert cy.content(ws, "main.py") == b"print(1)\n"
    [entry] = shared_with(cy)
    assert (entry["workspace"]["id"], entry["permission"], entry["expires_at"]) == (ws, "write", None)


def test_the_person_leaves_a_workspace_shared_with_them(server: Server, ann: User, bob: User) -> None:
    dan = person(server, "dan@example.com")
    ws = ann.create("Leave me")
    dans = invite(ann, ws, "dan@example.com", "read", expires_at=FUTURE).json()
    bobs = invite(ann, ws, "bob@example.com", "read").json()

    [entry] = shared_with(dan)
    assert entry["workspace"]["id"] == ws and entry["workspace"]["name"] == "Leave me"
    assert entry["owner_name"] == "ann@example.com"  # no display name: the e-mail address
    assert (entry["share_id"], entry["permission"]) == (dans["id"], "read")
    assert entry["expires_at"].startswith("2999-01-01")

    refused(delete(dan, ws, bobs["id"]), 403, "does not allow you to share")  # only their own
    assert delete(dan, ws, dans["id"]).status_code == 204
    assert shared_with(dan) == []
    assert dan.client.get(f"/api/v1/workspaces/{ws}").json() == missing(dan)
    assert [s["email"] for s in shares(ann, ws)] == ["bob@example.com"]
    refused(delete(dan, ws, dans["id"]), 404, "No such workspace")  # left: a stranger now


def test_the_owner_transfers_and_keeps_admin_access(server: Server, ann: User, bob: User) -> None:
    fay = person(server, "fay@example.com")
    ws = ann.create("Handed over")
    ann.write(ws, "main.py", b"print('kept')\n")
    invite(ann, ws, "bob@example.com", "admin")
    invite(ann, ws, "fay@example.com", "read")

    refused(transfer(bob, ws, "bob@example.com"), 403, "does not allow you to transfer")  # admins may not
    refused(transfer(fay, ws, "fay@example.com"), 403, "does not allow you to transfer")
    refused(transfer(ann, ws, "nobody@example.com"), 404, "No Codeloft account has the e-mail address")
    refused(transfer(ann, ws, "ann@example.com"), 409, "You own this workspace already")
    refused(transfer(ann, ws, "no address"), 422, "not an e-mail address")
    assert ann.workspace(ws)["owner_id"] == user_id(ann)

    given = transfer(ann, ws, "Fay@Example.com")
    assert given.status_code == 200, given.text
    assert given.json()["id"] == ws and given.json()["owner_id"] == user_id(fay)
    assert fay.workspace(ws)["owner_id"] == user_id(fay)
    assert ws in [w["id"] for w in fay.client.get("/api/v1/workspaces").json()]
    assert shared_with(fay) == []  # hers now, not shared with her
    assert fay.content(ws, "main.py") == b"print('kept')\n"

    [entry] = [e for e in shared_with(ann) if e["workspace"]["id"] == ws]
    assert entry["permission"] == "admin" and entry["owner_name"] == "fay@example.com"
    assert {(s["email"], s["permission"]) for s in shares(fay, ws)} == {
        ("ann@example.com", "admin"),
        ("bob@example.com", "admin"),
    }
    renamed = ann.client.patch(f"/api/v1/workspaces/{ws}", json={"name": "Still mine to edit"}, headers=ann.headers)
    assert renamed.status_code == 200  # admin: settings yes
    refused(ann.client.delete(f"/api/v1/workspaces/{ws}", headers=ann.headers), 403, "does not allow you to delete")
    refused(transfer(ann, ws, "ann@example.com"), 403, "does not allow you to transfer")
    assert fay.workspace(ws)["owner_id"] == user_id(fay)

    # the new owner may end the previous owner's access
    assert delete(fay, ws, entry["share_id"]).status_code == 204
    assert ann.client.get(f"/api/v1/workspaces/{ws}").json() == missing(ann)


def test_a_transfer_beyond_the_recipients_plan_changes_nothing(server: Server, ann: User) -> None:
    gus = person(server, "gus@example.com")
    gus.create("Gus one")
    gus.create("Gus two")
    ws = ann.create("Too many for Gus")
    invite(ann, ws, "gus@example.com", "write")

    answer = transfer(ann, ws, "gus@example.com")
    refused(answer, 429, "gus@example.com owns 2 workspaces")
    assert ann.workspace(ws)["owner_id"] == user_id(ann)
    assert [(s["email"], s["permission"]) for s in shares(ann, ws)] == [("gus@example.com", "write")]
    assert [e["workspace"]["id"] for e in shared_with(gus)] == [ws]
    assert all(e["workspace"]["id"] != ws for e in shared_with(ann))
