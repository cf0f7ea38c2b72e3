"""Explore, stars and forks through the real server on PostgreSQL: anyone lists public workspaces and
templates, signed-in people star (once each) and fork them, only the owner publishes; each refusal says
why and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api_client import NOWHERE, User, refused, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("explore"), CODELOFT_DATABASE_URL=postgres_dsn)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> User:
    return sign_in(server, "ann@example.com")


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return sign_in(server, "bob@example.com")


def explore(server: Server, **params: str) -> dict:
    response = httpx.get(f"{server.base_url}/api/v1/explore", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_explore_star_fork_and_publish(server: Server, ann: User, bob: User) -> None:
    ws = ann.create("Graph algorithms", description="Dijkstra and friends")
    ann.write(ws, "main.py", b"print('shortest')\n")
    secret = ann.create("Secret graph")
    # not public yet: nobody else sees, stars or forks it
    assert [i["name"] for i in explore(server, q="graph")["items"]] == []
    refused(bob.post(f"/api/v1/workspaces/{ws}/star"), 404, "No such workspace")
    refused(bob.post(f"/api/v1/workspaces/{ws}/fork"), 404, "No such workspace")
    # only the owner publishes
    refused(bob.client.patch(f"/api/v1/workspaces/{ws}", json={"is_public": True}, headers=bob.headers), 404, "No such")
    answer = ann.client.patch(f"/api/v1/workspaces/{ws}", json={"is_public": True}, headers=ann.headers)
    assert answer.status_code == 200 and answer.json()["is_public"] is True

    listed = explore(server, q="graph")
    assert [(i["name"], i["description"], i["starred"]) for i in listed["items"]] == [
        ("Graph algorithms", "Dijkstra and friends", False)
    ]
    assert "ann@example.com" not in str(listed)  # the owner's e-mail address is never shown
    assert secret not in str(listed)

    # starring twice counts once; anonymous callers must sign in
    assert bob.post(f"/api/v1/workspaces/{ws}/star").json() == {"starred": True, "star_count": 1}
    assert bob.post(f"/api/v1/workspaces/{ws}/star").json() == {"starred": True, "star_count": 1}
    assert [i["starred"] for i in bob.client.get("/api/v1/explore", params={"q": "graph"}).json()["items"]] == [True]
    refused(httpx.post(f"{server.base_url}/api/v1/workspaces/{ws}/star", timeout=30), 401, "Sign in")
    assert explore(server, q="graph")["items"][0]["star_count"] == 1
    unstarred = bob.client.delete(f"/api/v1/workspaces/{ws}/star", headers=bob.headers)
    assert unstarred.json() == {"starred": False, "star_count": 0}

    # a fork copies the files, records where it came from, and counts
    forked = bob.post(f"/api/v1/workspaces/{ws}/fork")
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert (fork["name"], fork["forked_from"], fork["is_public"]) == ("Graph algorithms (fork)", ws, False)
    assert bob.content(fork["id"], "main.py") == b"print('shortest')\n"
    assert ann.workspace(ws)["fork_count"] == 1
    assert explore(server, sort="forks")["items"][0]["fork_count"] == 1
    refused(bob.post(f"/api/v1/workspaces/{NOWHERE}/fork"), 404, "No such workspace")

    # a template appears on Explore too
    ann.client.patch(f"/api/v1/workspaces/{secret}", json={"is_template": True}, headers=ann.headers)
    assert {i["name"] for i in explore(server)["items"]} == {"Graph algorithms", "Secret graph"}
    refused(bob.client.get("/api/v1/explore", params={"sort": "best"}), 422, "")
    refused(bob.client.get("/api/v1/explore", params={"page": "0"}), 422, "")
