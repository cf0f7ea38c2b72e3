"""Interactive runs over a WebSocket: the program runs on a pseudo-terminal in the sandbox and the socket
is its terminal (what the UI's xterm.js, or any client, types and shows).

Protocol, at `/api/v1/workspaces/{workspace_id}/runs/interactive`, with the session cookie:
1. the client's first text frame is JSON `{"path"?: str, "limits"?: {...}, "csrf_token": str}` (the token
   GET /api/v1/session gives; browsers send cookies with cross-site WebSocket handshakes, so the cookie
   alone proves nothing, and an `Origin` that is not this server's is refused too);
2. then each text frame in is typed at the terminal (keystrokes or lines; "\\x03" is Ctrl+C, "\\x04"
   Ctrl+D); a binary frame holding JSON `{"type": "resize", "rows": R, "cols": C}` sets its size;
   each text frame out is the terminal's output (the compiler's, then the program's, ANSI colours kept);
3. the last frame is JSON `{"type": "result", "run": <the run, as GET .../runs shows it>}`, and the server
   closes with 1000. Closing the socket stops the program.
A refusal before the run starts is one JSON frame `{"type": "error", "detail": ..., "error": <kind>}` and
close code 4000 + the HTTP status the REST API would answer (4401, 4403, 4404, 4422, ...).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from domain.access import Actor
from domain.errors import CodeloftError, InvalidInput, NotFound, PermissionDenied
from domain.sandbox import Cancellation
from ui.api.contract import WorkspacePathText
from ui.api.runs import LimitsIn, run_out
from ui.api.sign_in import origin_of
from ui.context import services
from ui.errors import translate
from ui.security import SESSION_COOKIE, csrf_valid

router = APIRouter()

START_SECONDS = 30
"""How long the server waits for the first frame (what to run)."""
CLOSE_NORMAL = 1000
TRANSPORT_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)
"""What sending on a socket the client has closed raises (Starlette, the ASGI server)."""


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: WorkspacePathText | None = None
    limits: LimitsIn | None = None
    csrf_token: str | None = None


class SocketTerminal:
    """The WebSocket as the run's terminal. Output is decoded as UTF-8 incrementally, so a character
    split between two reads of the pty is sent whole; a client gone stops the run."""

    def __init__(self, websocket: WebSocket, cancel: Cancellation) -> None:
        self._socket = websocket
        self._cancel = cancel
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._resized: list[Callable[[int, int], None]] = []
        self._size: tuple[int, int] | None = None
        self.gone = False

    async def read(self) -> bytes | None:
        while not self.gone:
            try:
                message = await self._socket.receive()
            except TRANSPORT_ERRORS:
                message = {"type": "websocket.disconnect"}
            if message["type"] == "websocket.disconnect":
                self._lost()
                return None
            if message.get("text") is not None:
                return str(message["text"]).encode("utf-8")
            if message.get("bytes") is not None:
                self._control(bytes(message["bytes"]))
        return None

    def _control(self, frame: bytes) -> None:
        try:
            data = json.loads(frame)
            rows, columns = int(data["rows"]), int(data["cols"])
        except (ValueError, KeyError, TypeError):
            return  # not a control frame this server knows: ignored
        if data.get("type") == "resize" and rows > 0 and columns > 0:
            self._size = (rows, columns)
            for callback in self._resized:
                callback(rows, columns)

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self._resized.append(callback)
        if self._size is not None:
            callback(*self._size)

    async def write(self, data: bytes) -> None:
        await self._send(self._decoder.decode(data))

    async def flush(self) -> None:
        await self._send(self._decoder.decode(b"", final=True))

    async def _send(self, text: str) -> None:
        if not text or self.gone:
            return
        try:
            await self._socket.send_text(text)
        except TRANSPORT_ERRORS:
            self._lost()

    def _lost(self) -> None:
        self.gone = True
        self._cancel.cancel()


def own_origins(websocket: WebSocket) -> set[str]:
    """This server's origins: the one the handshake was addressed to, and `CODELOFT_PUBLIC_URL`'s."""
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    origins = {origin_of(f"{scheme}://{websocket.headers.get('host', '')}")}
    public_url = services().settings.public_url
    if public_url:
        origins.add(origin_of(public_url))
    return {origin for origin in origins if origin}


def start_of(text: str) -> StartIn:
    try:
        return StartIn.model_validate_json(text)
    except ValidationError as error:
        parts = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            parts.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
        message = "The first frame must be JSON {path?, limits?, csrf_token}: " + "; ".join(parts) + "."
        raise InvalidInput(message) from error


async def _first_frame(websocket: WebSocket) -> str:
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=START_SECONDS)
    except TimeoutError:
        raise InvalidInput(f"No first frame within {START_SECONDS} s: send what to run.") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(int(message.get("code", CLOSE_NORMAL)))
    if message.get("text") is None:
        raise InvalidInput("The first frame must be a text frame of JSON {path?, limits?, csrf_token}.")
    return str(message["text"])


async def _refuse(websocket: WebSocket, error: CodeloftError) -> None:
    answer = translate(error)
    with contextlib.suppress(*TRANSPORT_ERRORS):
        await websocket.send_text(json.dumps({"type": "error", "detail": answer.message, "error": answer.kind}))
        await websocket.close(code=4000 + answer.status, reason=answer.kind)


@router.websocket("/api/v1/workspaces/{workspace_id}/runs/interactive")
async def interactive_run(websocket: WebSocket, workspace_id: str) -> None:
    """Compile and run a workspace's file on a terminal the client types into (see the module's notes)."""
    await websocket.accept()
    svc = services()
    cancel = Cancellation()
    terminal = SocketTerminal(websocket, cancel)
    try:
        origin = websocket.headers.get("origin")
        if origin is not None and origin.lower() not in own_origins(websocket):
            raise PermissionDenied("This WebSocket was opened from another site's page.")
        session = await svc.auth.authenticate(websocket.cookies.get(SESSION_COOKIE))
        start = start_of(await _first_frame(websocket))
        if not csrf_valid(svc.csrf_key, session.id, start.csrf_token):
            raise PermissionDenied("Missing or wrong csrf_token in the first frame: read it from GET /api/v1/session.")
        try:
            workspace = UUID(workspace_id)
        except ValueError:
            raise NotFound("There is no such workspace.") from None
        limits = start.limits.model_dump(exclude_none=True) if start.limits else None
        run = await svc.runs.run_interactive(
            Actor(user_id=session.user_id), workspace, path=start.path, terminal=terminal, limits=limits, cancel=cancel
        )
    except CodeloftError as error:
        await _refuse(websocket, error)
        return
    except WebSocketDisconnect:
        return  # gone before anything ran
    await terminal.flush()
    if terminal.gone or websocket.application_state is WebSocketState.DISCONNECTED:
        return
    result: dict[str, Any] = {"type": "result", "run": run_out(run).model_dump(mode="json")}
    with contextlib.suppress(*TRANSPORT_ERRORS):
        await websocket.send_text(json.dumps(result))
        await websocket.close(code=CLOSE_NORMAL)
