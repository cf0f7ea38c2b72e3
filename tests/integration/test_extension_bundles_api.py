"""The shipped extensions and the official bundles through the real server on PostgreSQL: `codeloft serve`
started twice seeds them once (approved, verified, without an author), and a bundle is listed for anyone
and installed whole over REST, or not at all without the permissions its extensions ask."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from domain.extension_package import read_package
from persistence.shipped_extensions import SHIPPED_ROOT, package_folder, shipped_packages
from tests.api_client import User, refused, sign_in
from tests.serving import Server, start_server

pytestmark = pytest.mark.postgres


async def rows(dsn: str) -> dict[str, object]:
    connection = await asyncpg.connect(dsn)
    try:
        return {
            "extensions": await connection.fetch(
                "SELECT name, version, status, author_id, is_verified FROM extensions ORDER BY name"
            ),
            "versions": await connection.fetchval("SELECT count(*) FROM extension_versions"),
            "bundles": await connection.fetch("SELECT category, is_official FROM extension_bundles ORDER BY category"),
            "members": await connection.fetchval("SELECT count(*) FROM bundle_extensions"),
        }
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("bundles") / "data"
    start_server(data, CODELOFT_DATABASE_URL=postgres_dsn).stop()  # the first start seeds
    running = start_server(data, CODELOFT_DATABASE_URL=postgres_dsn)  # the second finds it all in place
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> User:
    return sign_in(server, "ann@example.com")


async def test_starting_twice_seeds_once(server: Server, postgres_dsn: str) -> None:
    stored = await rows(postgres_dsn)
    shipped = sorted((p.manifest.name, p.manifest.version) for p in map(read_package, shipped_packages()))
    assert [tuple(r) for r in stored["extensions"]] == [  # type: ignore[attr-defined]
        (name, version, "approved", None, True) for name, version in shipped
    ]
    assert [name for name, _ in shipped] == ["format-json", "shell-language", "theme-pack"]
    assert stored["versions"] == 3 and stored["members"] == 6
    assert [tuple(r) for r in stored["bundles"]] == [  # type: ignore[attr-defined]
        ("beginner", True),
        ("data-science", True),
        ("web-dev", True),
    ]
    assert not any("was not published" in line for line in server.output)


def test_anyone_sees_the_bundles(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/api/v1/extension-bundles")
    assert response.status_code == 200, response.text
    assert [(b["category"], b["is_official"], b["permissions"]) for b in response.json()] == [
        ("beginner", True, []),
        ("data-science", True, ["workspace:write"]),
        ("web-dev", True, ["workspace:write"]),
    ]
    web = response.json()[2]
    assert [e["name"] for e in web["extensions"]] == ["format-json", "theme-pack"]
    assert web["extensions"][0]["manifest"]["contributes"]["commands"][0]["title"] == "Format JSON files"


def test_a_bundle_installs_whole_or_not_at_all(ann: User, server: Server) -> None:
    refused(
        ann.post("/api/v1/extension-bundles/web-dev/install", json={"permissions": []}),
        409,
        "asks for workspace:write: grant it to install (nothing was installed)",
    )
    assert ann.client.get("/api/v1/me/extensions").json() == []
    response = ann.post("/api/v1/extension-bundles/web-dev/install", json={"permissions": ["workspace:write"]})
    assert response.status_code == 200, response.text
    assert [(i["extension"]["name"], i["granted_permissions"]) for i in response.json()] == [
        ("format-json", ["workspace:write"]),
        ("theme-pack", []),
    ]
    mine = ann.client.get("/api/v1/me/extensions").json()
    assert [i["extension"]["name"] for i in mine] == ["format-json", "theme-pack"]
    refused(ann.post("/api/v1/extension-bundles/games/install"), 404, "No bundle is named 'games'")
    anonymous = httpx.post(f"{server.base_url}/api/v1/extension-bundles/beginner/install")
    assert anonymous.status_code in (401, 403)


def test_the_seeded_extensions_cannot_be_taken_over(ann: User) -> None:
    package = package_folder(SHIPPED_ROOT / "theme-pack")
    headers = ann.headers | {"Content-Type": "application/zip"}
    response = ann.client.post("/api/v1/extensions", content=package, headers=headers)
    refused(response, 409, "taken by another author")
