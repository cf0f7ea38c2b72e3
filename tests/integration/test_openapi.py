"""The OpenAPI document tells the truth about errors, and the API answers as it says."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from uuid import uuid4

import httpx
import pytest

from domain import errors as domain_errors
from domain.errors import CodeloftError
from tests.serving import Server, sign_in, start_server
from ui.api.errors_doc import ErrorKind

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as signed_in:
        assert sign_in(signed_in, server.link).status_code == 303
        signed_in.headers["X-CSRF-Token"] = signed_in.get("/api/v1/session").json()["csrf_token"]
        yield signed_in


@pytest.fixture(scope="module")
def document(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def api_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                yield path, method, operation


def test_every_api_operation_declares_its_errors_as_error_out(document: dict[str, Any]) -> None:
    operations = list(api_operations(document))
    assert len(operations) >= 18
    for path, method, operation in operations:
        errors = {status for status in operation["responses"] if status.startswith(("4", "5"))}
        assert errors >= {"401", "403", "503"}, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        if method != "get" and "{" in path:
            assert {"409", "429"} <= errors, (method, path)
        for status in errors:
            declared = operation["responses"][status]
            assert declared["content"]["application/json"]["schema"] == ERROR_REF, (method, path, status)
    session = document["paths"]["/api/v1/session"]
    assert set(session["delete"]["responses"]) == {"204", "401", "403", "503"}  # nothing it cannot answer
    put_file = document["paths"]["/api/v1/workspaces/{workspace_id}/files/{path}"]["put"]["responses"]
    assert {"400", "404", "409", "412", "413", "422", "429"} <= set(put_file)


def test_every_success_answer_is_described(document: dict[str, Any]) -> None:
    for path, method, operation in api_operations(document):
        successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
        assert successes, (method, path)
        for status, answer in successes.items():
            assert status == "204" or answer.get("content"), (method, path, status)


def test_created_things_link_to_their_reads(document: dict[str, Any]) -> None:
    operation_ids = {operation["operationId"] for _, _, operation in api_operations(document)}
    created = document["paths"]["/api/v1/workspaces"]["post"]["responses"]["201"]["links"]
    assert created["get_workspace"] == {
        "operationId": "get_workspace",
        "parameters": {"workspace_id": "$response.body#/id"},
        "description": "After create_workspace",
    }
    written = document["paths"]["/api/v1/workspaces/{workspace_id}/files/{path}"]["put"]["responses"]["201"]["links"]
    assert written["read_file"]["parameters"] == {
        "workspace_id": "$request.path.workspace_id",
        "path": "$request.path.path",
    }
    for _, _, operation in api_operations(document):
        for answer in operation["responses"].values():
            for link in answer.get("links", {}).values():
                assert link["operationId"] in operation_ids


def test_validation_errors_are_declared_in_the_same_shape(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(document)
    error_out = document["components"]["schemas"]["ErrorOut"]
    assert error_out["required"] == ["detail", "error"]
    assert set(error_out["properties"]["error"]["enum"]) == set(get_args(ErrorKind))
    assert document["openapi"].startswith("3.1")


def test_the_error_kinds_name_every_domain_error() -> None:
    kinds = set(get_args(ErrorKind))
    for error in vars(domain_errors).values():
        if isinstance(error, type) and issubclass(error, CodeloftError) and error is not CodeloftError:
            assert error.__name__ in kinds


def test_a_validation_error_answers_as_declared(client: httpx.Client) -> None:
    response = client.post("/api/v1/workspaces", json={"name": "x", "language": "cobol"})
    assert response.status_code == 422
    assert set(response.json()) == {"detail", "error"} and response.json()["error"] == "InvalidInput"
    assert client.get("/api/v1/workspaces/not-a-uuid").json()["error"] == "NotFound"  # no such address


def test_a_body_that_is_not_json_answers_400_as_declared(client: httpx.Client, document: dict[str, Any]) -> None:
    response = client.post("/api/v1/workspaces", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body could not be read: send JSON in UTF-8.",
        "error": "MalformedBody",
    }
    for path, method, operation in api_operations(document):
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == ERROR_REF, (method, path)
    assert client.get("/api/v1/workspaces").json() == []  # nothing was made


@pytest.fixture(scope="module")
def workspace(client: httpx.Client) -> str:
    created = client.post("/api/v1/workspaces", json={"name": "Headers", "language": "python", "template": "blank"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("If-Match", ""),
        ("If-Match", "garbage"),
        ("If-Match", '"unclosed'),
        ("If-Match", '"a", "b"'),
        ("If-None-Match", ""),
    ],
)
def test_a_malformed_conditional_header_is_400_and_changes_nothing(
    client: httpx.Client, workspace: str, header: str, value: str
) -> None:
    url = f"/api/v1/workspaces/{workspace}/files/kept.txt"
    saved = client.put(url, content=b"kept")
    assert saved.status_code in (200, 201)
    response = client.put(url, content=b"overwritten", headers={header: value})
    assert response.status_code == 400 and response.json()["error"] == "MalformedHeader"
    assert response.json()["detail"].startswith(f"{header} must be")
    assert client.get(url).content == b"kept"
    fresh = client.put(f"/api/v1/workspaces/{workspace}/files/never.txt", content=b"x", headers={header: value})
    assert fresh.status_code == 400
    assert client.get(f"/api/v1/workspaces/{workspace}/files/never.txt").status_code == 404


def test_a_well_formed_if_match_still_saves_or_refuses_412(client: httpx.Client, workspace: str) -> None:
    url = f"/api/v1/workspaces/{workspace}/files/tagged.txt"
    tag = client.put(url, content=b"one").headers["ETag"]
    assert client.put(url, content=b"two", headers={"If-Match": tag}).status_code == 200
    stale = client.put(url, content=b"three", headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"] == "StaleFile"
    assert client.put(url, content=b"four", headers={"If-Match": "*"}).status_code == 200
    assert client.get(url).content == b"four"


def test_a_405_lists_in_allow_every_method_the_document_gives_its_path(
    client: httpx.Client, document: dict[str, Any], workspace: str
) -> None:
    checked = 0
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        declared = {method.upper() for method in operations}
        ids = {
            name: uuid4() for name in ("key_id", "session_id", "link_id", "share_id", "conversation_id", "message_id")
        }
        url = path.format(
            workspace_id=workspace, path="src/a.txt", name="no-such-extension", category="no-such-bundle", **ids
        )
        for method in sorted({"GET", "PUT", "PATCH", "POST", "DELETE"} - declared):
            response = client.request(method, url)
            assert response.status_code == 405, (method, path, response.text)
            assert set(response.headers["allow"].split(", ")) == declared, (method, path)
            assert response.json()["error"] == "MethodNotAllowed"
            checked += 1
    assert checked >= 20


def test_the_readmes_api_table_links_every_operation_in_docs(document: dict[str, Any]) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    linked = set(re.findall(r"/docs#/(\w+)/(\w+)\)", readme))
    operations = {(operation["tags"][0], operation["operationId"]) for _, _, operation in api_operations(document)}
    assert linked == operations
