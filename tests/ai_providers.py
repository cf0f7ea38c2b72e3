"""A small local stand-in for the AI providers' HTTP APIs, served from a thread for the tests that start it:
OpenAI under `/openai/v1` (the key as `Authorization: Bearer`), Gemini under `/gemini` (google-genai 3.x
calls `/v1/...` with the key in `x-goog-api-key`), and an OpenAI-compatible server that needs no key (as
Ollama or llama.cpp) under `/compatible/v1`. Each takes its keys (`openai_keys`, `gemini_keys`; any key with
`accept_any`) and refuses the others as the real services do: OpenAI 401 `invalid_api_key`, Gemini 400
`API_KEY_INVALID`. Every request is recorded, with its JSON body.

Chat answers stream as the real APIs stream them: OpenAI's `POST /chat/completions` with `stream: true` as
server-sent events of `chat.completion.chunk`s (the usage in a last chunk without choices when
`stream_options.include_usage`, then `data: [DONE]`), Gemini's `POST /v1/models/<model>:streamGenerateContent
?alt=sse` as events of `GenerateContentResponse`s (the last with its `finishReason`). `chat` says how: the
tokens, a delay before each, an error status instead (401, 429, 500), or a connection cut after some tokens."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
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
COMPATIBLE_PREFIX = "/compatible/v1"
ANSWER = ("Hello", " from", " the", " fake", " model.")


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    """The JSON body, if there was one."""
    query: str = ""


@dataclass
class ChatScript:
    """How the fakes answer a chat request."""

    tokens: tuple[str, ...] = ANSWER
    delay: float = 0.0
    """Seconds before each token (the first one too)."""
    status: int | None = None
    """An error status (401, 429, 500) to answer instead, as the provider's JSON error."""
    cut_after: int | None = None
    """Close the connection after this many tokens, in the middle of the stream."""


@dataclass
class FakeProviders:
    base: str = ""
    openai_keys: set[str] = field(default_factory=lambda: {OPENAI_KEY})
    gemini_keys: set[str] = field(default_factory=lambda: {GEMINI_KEY})
    accept_any: bool = False
    failing: int | None = None
    """A status (e.g. 503) every request is answered with, as a provider that is down."""
    chat: ChatScript = field(default_factory=ChatScript)
    requests: list[Seen] = field(default_factory=list)

    @property
    def openai_url(self) -> str:
        return self.base + OPENAI_PREFIX

    @property
    def gemini_url(self) -> str:
        return self.base + GEMINI_PREFIX

    @property
    def compatible_url(self) -> str:
        return self.base + COMPATIBLE_PREFIX

    def settings(self) -> dict[str, str]:
        """The environment that points Codeloft at this server."""
        return {"CODELOFT_OPENAI_BASE_URL": self.openai_url, "CODELOFT_GEMINI_BASE_URL": self.gemini_url}

    def chat_settings(self) -> dict[str, str]:
        """`settings()`, and the assistant's: the server's own keys for OpenAI and Gemini, the compatible
        server (model `llama3.2`) without a key."""
        return {
            **self.settings(),
            "CODELOFT_OPENAI_API_KEY": next(iter(self.openai_keys)),
            "CODELOFT_GEMINI_API_KEY": next(iter(self.gemini_keys)),
            "CODELOFT_COMPATIBLE_BASE_URL": self.compatible_url,
            "CODELOFT_AI_MODELS": json.dumps({"compatible": ["llama3.2"]}),
        }

    def chats(self) -> list[Seen]:
        """The chat requests received, in order."""
        return [seen for seen in self.requests if seen.method == "POST"]

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


Answer = tuple[int, Any] | list[bytes]
"""A JSON answer (status, body), or a stream of server-sent events."""


def _openai_error(status: int) -> tuple[int, Any]:
    kinds = {
        429: ("rate_limit_exceeded", "Rate limit reached for requests."),
        500: ("server_error", "The server had an error."),
    }
    code, message = kinds.get(status, ("invalid_api_key", "Incorrect API key provided."))
    return status, {"error": {"message": message, "type": code, "param": None, "code": code}}


def _openai_chat(fake: FakeProviders, body: Any) -> Answer:
    script = fake.chat
    if script.status is not None:
        return _openai_error(script.status)
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": body["model"]}
    events = []
    for token in script.tokens:
        choice = {"index": 0, "delta": {"role": "assistant", "content": token}, "finish_reason": None}
        events.append({**base, "choices": [choice]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        prompt = sum(len(str(message.get("content", ""))) for message in body["messages"]) // 4
        usage = {"prompt_tokens": prompt, "completion_tokens": len(script.tokens)}
        events.append({**base, "choices": [], "usage": {**usage, "total_tokens": sum(usage.values())}})
    return [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]


def _openai(fake: FakeProviders, method: str, path: str, headers: dict[str, str], body: Any = None) -> Answer:
    bearer = headers.get("authorization", "")
    key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
    if key is not None and path == "/chat/completions" and method == "POST" and fake.takes(fake.openai_keys, key):
        return _openai_chat(fake, body)
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


def _gemini_chat(fake: FakeProviders, path: str, body: Any) -> Answer:
    script = fake.chat
    if script.status is not None:
        status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(script.status, "PERMISSION_DENIED")
        return script.status, {
            "error": {"code": script.status, "message": f"The fake says {status}.", "status": status}
        }
    model = path.removeprefix("/v1/models/").split(":", 1)[0]
    prompt = sum(len(part.get("text", "")) for content in body["contents"] for part in content["parts"]) // 4
    events = []
    for index, token in enumerate(script.tokens):
        last = index == len(script.tokens) - 1
        candidate: dict[str, Any] = {"content": {"parts": [{"text": token}], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": index + 1, "totalTokenCount": prompt + index + 1}
        events.append({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})
    return [f"data: {json.dumps(event)}\r\n\r\n".encode() for event in events]


def _gemini(fake: FakeProviders, method: str, path: str, headers: dict[str, str], body: Any = None) -> Answer:
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
    if method == "POST" and path.startswith("/v1/models/") and path.endswith(":streamGenerateContent"):
        return _gemini_chat(fake, path, body)
    return 404, {"error": {"code": 404, "message": f"Unknown request {method} {path}", "status": "NOT_FOUND"}}


def _handler(fake: FakeProviders) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw.startswith(b"{") else None
            path = urlsplit(self.path).path
            headers = {name.lower(): value for name, value in self.headers.items()}
            seen = Seen(method=self.command, path=path, headers=headers, body=body, query=urlsplit(self.path).query)
            fake.requests.append(seen)
            answer: Answer
            if fake.failing is not None:
                answer = fake.failing, {"error": {"code": fake.failing, "message": "The service is down."}}
            elif path.startswith(OPENAI_PREFIX + "/"):
                answer = _openai(fake, self.command, path.removeprefix(OPENAI_PREFIX), headers, body)
            elif path.startswith(GEMINI_PREFIX + "/"):
                answer = _gemini(fake, self.command, path.removeprefix(GEMINI_PREFIX), headers, body)
            elif path == COMPATIBLE_PREFIX + "/chat/completions" and self.command == "POST":
                answer = _openai_chat(fake, body)
            else:
                answer = 404, {"error": "no such provider"}
            if isinstance(answer, list):
                self._stream(answer)
                return
            status, content = answer
            data = json.dumps(content).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: list[bytes]) -> None:
            """Server-sent events, one HTTP chunk each: the script's delay before each token's event, the
            connection cut (no last chunk) after `cut_after` tokens."""
            try:
                self._send_events(events)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: Stop
                self.close_connection = True

        def _send_events(self, events: list[bytes]) -> None:
            script = fake.chat
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for index, event in enumerate(events):
                if index == script.cut_after:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if index < len(script.tokens) and script.delay:
                    time.sleep(script.delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = _answer

    return Handler


class Listener(ThreadingHTTPServer):
    request_queue_size = 128  # many answers at once (the benchmark) connect without waiting for a retry

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (Stop, a server shutting down) is no error of the fake's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def fake_providers(**options: Any) -> Iterator[FakeProviders]:
    """The fake providers on a free port of 127.0.0.1 until the block ends."""
    fake = FakeProviders(**options)
    server = Listener(("127.0.0.1", 0), _handler(fake))
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
