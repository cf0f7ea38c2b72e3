"""Schemathesis, the property-based OpenAPI tester, against the live server: every operation of
`/openapi.json`, signed in, with all of its checks (status codes and bodies as documented, valid input
accepted, invalid input refused, 405 with a true `Allow`, authentication not ignored, created
resources found by the document's links, ...) and the stateful phase that follows those links.

Nothing here names an operation: a route added later is checked the same way. Bounded by a fixed
seed and example counts; signing out runs on its own session."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.engine import Status, events
from schemathesis.schemas import BaseSchema

from tests.ai_providers import fake_providers
from tests.serving import Server, new_link, sign_in, start_server
from ui.api.extensions import PACKAGE_MEDIA_TYPE
from ui.security import SESSION_COOKIE

SEED = 20261130
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "412", "429"]
"""A well-formed request may still be refused for who asks (401, 403), what is stored (404, 409), a
stale If-Match or an If-None-Match: * on an existing file (412) or a quota (429): the document says
so. A 5xx is never accepted."""
SIGN_OUT = {"path": "/api/v1/session", "method": "DELETE"}

NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,11}(/[a-z][a-z0-9_]{0,11}){0,2}\.(py|txt|js)\Z")


@st.composite
def zip_archives(draw: st.DrawFn) -> bytes:
    """ZIP archives of a few small files: what the ZIP bodies (`application/zip`) carry."""
    files = draw(st.dictionaries(NAMES, st.binary(max_size=64), max_size=4))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


schemathesis.openapi.media_type("application/zip", zip_archives())


@st.composite
def extension_packages(draw: st.DrawFn) -> bytes:
    """Extension packages (`application/vnd.codeloft.extension+zip`): a valid manifest, a few more files."""
    manifest = {
        "name": draw(st.from_regex(r"\A[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,5})?\Z")),
        "display_name": draw(st.text(min_size=1, max_size=20).filter(str.strip)),
        "version": ".".join(str(draw(st.integers(0, 20))) for _ in range(3)),
        "description": draw(st.text(min_size=1, max_size=40)),
        "main": "README.md",
        "category": draw(st.sampled_from(["theme", "language", "tool", "ai"])),
        "permissions": draw(st.lists(st.sampled_from(["workspace:read", "workspace:write"]), unique=True)),
        "contributes": {},
    }
    files = {"manifest.json": json.dumps(manifest).encode(), "README.md": b"# Readme\n"}
    files.update(draw(st.dictionaries(NAMES, st.binary(max_size=64), max_size=3)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


schemathesis.openapi.media_type(PACKAGE_MEDIA_TYPE, extension_packages())

HEADER_PATTERNS: dict[str, dict[str, str]] = {}
"""Per operation label ("PUT /api/v1/..."), the pattern of each header parameter (lower-case name)."""


@schemathesis.hook
def filter_failure(_context: Any, failure: Any, case: Any, _response: Any) -> bool:
    """Schemathesis 4.32's coverage phase fills an optional header whose pattern needs characters
    other than A-Z, a-z and 0-9 (If-Match's quoted ETag) with "0" and calls the request valid: its
    refusal is then no failure of the API. Every other failure stands."""
    if type(failure).__name__ != "RejectedPositiveData" or case.meta is None:
        return True
    patterns = HEADER_PATTERNS.get(case.operation.label, {})
    sent = {name.lower(): value for name, value in (case.headers or {}).items()}
    return all(re.search(pattern, sent[name]) for name, pattern in patterns.items() if name in sent)


def read_header_patterns(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            HEADER_PATTERNS[f"{method.upper()} {path}"] = {
                parameter["name"].lower(): parameter["schema"]["pattern"]
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "header" and "pattern" in parameter.get("schema", {})
            }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # The AI providers that people's keys are checked with and the assistant asks: local stand-ins taking every
    # key, so that a well-formed key is stored (a refused one answers 422, which the document cannot tell apart).
    with fake_providers(accept_any=True) as providers:
        # Schemathesis sends the cookie it was given and never takes a renewed one: no renewal during the run
        # (a replaced token used after its grace would end the session, as it should).
        running = start_server(
            tmp_path_factory.mktemp("fuzz"), CODELOFT_SESSION_ROTATE_SECONDS="86400", **providers.chat_settings()
        )
        yield running
        running.stop()


def session_of(server: Server, link: str) -> dict[str, Any]:
    """Schemathesis's credentials for the document's security schemes, from a session of their own."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert sign_in(client, link).status_code == 303
        token = client.get("/api/v1/session").json()["csrf_token"]
        return {"session": {"api_key": client.cookies[SESSION_COOKIE]}, "csrf": {"api_key": token}}


def load(server: Server, link: str, *, max_examples: int, stateful: bool = True) -> BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # A run answers when its program ends: a compile and a run in the sandbox may pass 10 s (the
            # default) on a busy two-core machine without anything being wrong.
            "request-timeout": 60,
            "auth": {"openapi": session_of(server, link)},
            "suppress-health-check": ["filter_too_much", "too_slow", "data_too_large"],
            "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True},
            # Only the document's own links: Schemathesis's guesses would link a new workspace to moving a
            # file it does not hold, whose 404 is right.
            "phases": {"stateful": {"enabled": stateful, "max-steps": 12, "inference": {"algorithms": []}}},
            "checks": {"enabled": True, "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "workers": 1,
        }
    )
    read_header_patterns(httpx.get(f"{server.base_url}/openapi.json").json())
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


def problems(schema: BaseSchema) -> tuple[list[str], int]:
    """Every failed check and every error of a whole run (all phases), and how many checks passed."""
    found: list[str] = []
    passed = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"{event.recorder.label}: {failure.title}\n{failure.message}\n"
                            f"{check.failure_info.code_sample}"
                        )
                    elif check.status == Status.SUCCESS:
                        passed += 1
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"error in {getattr(event, 'label', 'the run')}: {event.info.title}: {event.info.message}")
    return found, passed


def test_every_operation_answers_as_the_document_says(server: Server) -> None:
    """All phases: the examples, the coverage phase (boundaries, every undeclared method, missing
    headers, each constraint broken), fuzzing, and the stateful phase along the document's links."""
    schema = load(server, server.link, max_examples=40).exclude(**SIGN_OUT)
    found, passed = problems(schema)
    assert not found, f"{len(found)} failures:\n\n" + "\n\n".join(dict.fromkeys(found)) + "".join(server.output[-80:])
    assert passed > 1000


def test_signing_out_answers_as_the_document_says(server: Server) -> None:
    """On a session of its own: it would sign every other request out."""
    schema = load(server, new_link(server, "sign-out@example.com"), max_examples=3, stateful=False)
    schema = schema.include(**SIGN_OUT)
    found, passed = problems(schema)
    assert not found, "\n\n".join(found)
    assert passed > 0
