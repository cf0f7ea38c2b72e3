"""Plans against the real `codeloft serve` with an operator's CODELOFT_PLANS file and the real sandbox:
the usage API, 429 with Retry-After for runs of the hour, the workspaces a plan allows, and
`codeloft user set-tier`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import User, refused, sign_in
from tests.serving import Server, clean_env, codeloft, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

PLANS = {"free": {"runs_per_hour": 1, "max_workspaces": 2, "ai_requests_per_day": 7}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("plans")
    plans = folder / "plans.json"
    plans.write_text(json.dumps(PLANS))
    running = start_server(folder / "data", CODELOFT_RUNNER="bubblewrap", CODELOFT_PLANS=str(plans))
    yield running
    running.stop()


def usage(user: User) -> dict:
    response = user.client.get("/api/v1/account/usage")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_usage_shows_the_plan_with_the_operators_overrides(server: Server) -> None:
    ann = sign_in(server, "ann.plans@example.com")

    shown = usage(ann)

    assert shown["plan"] == "free"
    assert shown["ai_requests_today"]["limit"] == 7 and shown["ai_requests_today"]["left"] == 7
    assert shown["ai_requests_today"]["resets_at"].endswith("T00:00:00Z")
    assert shown["runs_this_hour"] == {"used": 0, "limit": 1, "left": 1, "resets_at": None}
    assert shown["workspaces"] == {"used": 0, "limit": 2, "left": 2, "resets_at": None}
    assert shown["per_workspace"] == {"max_files": 1000, "max_bytes": 100 * 1024 * 1024}
    assert shown["run_ceiling"]["cpu_seconds"] == 5 and shown["run_ceiling"]["memory_mb"] == 256


def test_usage_needs_a_sign_in(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as stranger:
        response = stranger.get("/api/v1/account/usage")
    assert response.status_code == 401 and response.json()["error"] == "Unauthenticated"


def test_a_run_past_the_hour_is_429_with_retry_after_and_is_not_recorded(server: Server) -> None:
    bob = sign_in(server, "bob.plans@example.com")
    ws = bob.create("Runs", language="python")
    bob.write(ws, "main.py", b"print('hi')\n")
    first = bob.client.post(f"/api/v1/workspaces/{ws}/runs", json={}, headers=bob.headers, timeout=120)
    assert first.status_code == 201, first.text

    second = bob.client.post(f"/api/v1/workspaces/{ws}/runs", json={}, headers=bob.headers, timeout=120)

    refused(second, 429, "You have started 1 run in the last hour, the most your plan (Free) allows; it resets at ")
    assert second.json()["error"] == "QuotaExceeded"
    assert 1 <= int(second.headers["Retry-After"]) <= 3600
    assert len(bob.client.get(f"/api/v1/workspaces/{ws}/runs").json()) == 1  # the refused run left no row
    shown = usage(bob)["runs_this_hour"]
    assert (shown["used"], shown["left"]) == (1, 0) and shown["resets_at"] is not None

    changed = server.cli("user", "set-tier", "Bob.Plans@example.com", "premium")

    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "bob.plans@example.com is on the premium plan now."
    assert usage(bob)["plan"] == "premium"
    third = bob.client.post(f"/api/v1/workspaces/{ws}/runs", json={}, headers=bob.headers, timeout=120)
    assert third.status_code == 201, third.text


def test_a_workspace_past_the_plans_number_is_429_without_retry_after_and_not_stored(server: Server) -> None:
    cy = sign_in(server, "cy.plans@example.com")
    cy.create("One")
    cy.create("Two")

    third = cy.client.post(
        "/api/v1/workspaces", json={"name": "Three", "language": "python", "template": "blank"}, headers=cy.headers
    )
    imported = cy.client.post(
        "/api/v1/workspaces/import?name=Four&language=python",
        content=b"PK\x05\x06" + b"\0" * 18,
        headers={**cy.headers, "Content-Type": "application/zip"},
    )

    for response in (third, imported):
        refused(response, 429, "You own 2 workspaces, the most your plan (Free) allows: delete one to make room")
        assert "Retry-After" not in response.headers
    assert sorted(cy.names()) == ["One", "Two"]


def test_set_tier_refuses_an_unknown_person_or_plan_and_changes_nothing(server: Server) -> None:
    sign_in(server, "dee.plans@example.com")

    unknown = server.cli("user", "set-tier", "nobody@example.com", "premium")
    bad_tier = server.cli("user", "set-tier", "dee.plans@example.com", "gold")

    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: No user has the e-mail address nobody@example.com."
    assert bad_tier.returncode == 2 and "'gold' is not one of" in bad_tier.stderr
    for result in (unknown, bad_tier):
        assert "Traceback" not in result.stdout + result.stderr
    help_text = server.cli("user", "--help").stdout
    assert "set-tier" in help_text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"gold": {}}', "there is no plan 'gold'; known are free, premium, enterprise."),
        ('{"free": {"runs_per_hour": -1}}', "free.runs_per_hour must be a whole number, zero or more."),
        ("not json", "is not JSON"),
    ],
)
def test_a_bad_plans_file_stops_the_command_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    plans = tmp_path / "plans.json"
    plans.write_text(content)
    env = clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"), CODELOFT_PLANS=str(plans))

    result = codeloft("migrate", env=env)

    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("error: CODELOFT_PLANS is not valid: ") and message in line, line
    assert "\n" not in line and not (tmp_path / "data").exists()


def test_a_missing_plans_file_is_named(tmp_path: Path) -> None:
    env = clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"), CODELOFT_PLANS=str(tmp_path / "nope.toml"))
    result = codeloft("migrate", env=env)
    assert result.returncode == 2 and "CODELOFT_PLANS is not valid: cannot read" in result.stderr


def test_a_toml_plans_file_is_read(tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text("[premium]\nmax_workspaces = 3\n\n[premium.run_ceiling]\ncpu_seconds = 30\n")
    env = clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"), CODELOFT_PLANS=str(plans))
    result = codeloft("migrate", env=env)
    assert result.returncode == 0, result.stderr


def test_the_api_document_declares_retry_after_on_429_and_the_usage_call(server: Server) -> None:
    document = httpx.get(f"{server.base_url}/openapi.json").json()
    start_run = document["paths"]["/api/v1/workspaces/{workspace_id}/runs"]["post"]["responses"]["429"]
    assert start_run["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    get_usage = document["paths"]["/api/v1/account/usage"]["get"]
    assert get_usage["operationId"] == "get_usage" and get_usage["tags"] == ["account"]
    assert "200" in get_usage["responses"] and "401" in get_usage["responses"]
