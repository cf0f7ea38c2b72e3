"""A small local stand-in for the AI providers' HTTP APIs, served from a thread for the tests that start it:
OpenAI under `/openai/v1` (the key as `Authorization: Bearer`), Gemini under `/gemini` (google-genai 3.x
calls `/v1/...` with the key in `x-goog-api-key`). Each takes its keys (`openai_keys`, `gemini_keys`; any key with
`accept_any`) and refuses the others as the real services do: OpenAI 401 `invalid_api_key`, Gemini 400
`API_KEY_INVALID`. Every request is recorded. The assistant's tests add their routes to the same server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

OPENAI_KEY = "sk-proj-codeloftTESTkey0000000000000000abcd"
"""A key the fake OpenAI takes (the prefix and the last four show in the masked form: `sk-proj-…abcd`)."""
GEMINI_KEY = "AIzaSyCodeloftTESTkey000000000000000wxyz"
"""A key the fake Gemini takes (`AIza…wxyz`)."""
OPENAI_PREFIX = "/openai/v1"
GEMINI_PREFIX = "/gemini"


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeProviders:
    base: str = ""
    openai_keys: set[str] = field(default_factory=lambda: {OPENAI_KEY})
    gemini_keys: set[str] = field(default_factory=lambda: {GEMINI_KEY})
    accept_any: bool = False
    failing: int | None = None
    """A status (e.g. 503) every request is answered with, as a provider that is down."""
    requests: list[Seen] = field(default_factory=list)

    @property
    def openai_url(self) -> str:
        return self.base + OPENAI_PREFIX

    @property
    def gemini_url(self) -> str:
        return self.base + GEMINI_PREFIX

    def settings(self) -> dict[str, str]:
        """The environment that points Codeloft at this server."""
        return {"CODELOFT_OPENAI_BASE_URL": self.openai_url, "CODELOFT_GEMINI_BASE_URL": self.gemini_url}

    def takes(self, keys: set[str], key: str | None) -> bool:
        return key is not None and (self.accept_any or key in keys)

    def keys_sent(self) -> list[str]:
        """Every key the server was shown, in either provider's header."""
        found = []
        for seen in self.requests:
            bearer = seen.headers.get("authorization", "")
            if bearer.startswith("Bearer "):
                found.append(bearer.removeprefix("Bearer "))
            if "x-goog-api-key" in seen.headers:
                found.append(seen.headers["x-goog-api-key"])
        return found


def _openai(fake: FakeProviders, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    bearer = headers.get("authorization", "")
    key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
    if not fake.takes(fake.openai_keys, key):
        return 401, {
            "error": {
                "message": "Incorrect API key provided. You can find your API key at the provider's site.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
    if method == "GET" and path == "/models":
        return 200, {
            "object": "list",
            "data": [{"id": "gpt-4o-mini", "object": "model", "created": 1700000000, "owned_by": "fake"}],
        }
    return 404, {"error": {"message": f"Unknown request {method} {path}", "type": "invalid_request_error"}}


def _gemini(fake: FakeProviders, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    if not fake.takes(fake.gemini_keys, headers.get("x-goog-api-key")):
        return 400, {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            }
        }
    if method == "GET" and path == "/v1/models":
        return 200, {
            "models": [
                {
                    "name": "models/gemini-2.5-flash",
                    "displayName": "Gemini 2.5 Flash",
                    "supportedGenerationMethods": ["generateContent"],
                }
            ]
        }
    return 404, {"error": {"code": 404, "message": f"Unknown request {method} {path}", "status": "NOT_FOUND"}}


def _handler(fake: FakeProviders) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = urlsplit(self.path).path
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.requests.append(Seen(method=self.command, path=path, headers=headers))
            if fake.failing is not None:
                status, body = fake.failing, {"error": {"code": fake.failing, "message": "The service is down."}}
            elif path.startswith(OPENAI_PREFIX + "/"):
                status, body = _openai(fake, self.command, path.removeprefix(OPENAI_PREFIX), headers)
            elif path.startswith(GEMINI_PREFIX + "/"):
                status, body = _gemini(fake, self.command, path.removeprefix(GEMINI_PREFIX), headers)
            else:
                status, body = 404, {"error": "no such provider"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

    return Handler


@contextmanager
def fake_providers(**options: Any) -> Iterator[FakeProviders]:
    """The fake providers on a free port of 127.0.0.1 until the block ends."""
    fake = FakeProviders(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
