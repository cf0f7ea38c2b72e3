"""The preview's reverse proxy: `/preview/<viewer token>/<path>` to the web server in the sandbox, and
`/w/<id>/preview/<path>`, the workspace's own preview address, which leads there after the read check.

The address carries a per-viewer token instead of the session cookie, and every answer is served as
a sandboxed document (an opaque origin), so a previewed page can neither read Codeloft's cookies nor
act on Codeloft as its viewer. The host connects to the sandbox's socket only through a file
descriptor checked to be a socket: a symbolic link planted in its place is never followed."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import posixpath
import stat
from collections.abc import AsyncIterator
from urllib.parse import quote, unquote, urljoin, urlsplit
from uuid import UUID

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from domain.errors import NotFound, Unauthenticated
from domain.previews import Preview
from ui.api.deps import CallerDep, authenticated
from ui.api.routing import api_router, links
from ui.context import services

router = api_router()

SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"
DROP_REQUEST = {
    "host", "cookie", "authorization", "connection", "content-length", "x-csrf-token", "transfer-encoding", "te",
    "upgrade", "keep-alive", "proxy-authorization", "proxy-connection",
}  # fmt: skip
# Only these headers of the previewed server's answers reach the viewer: what a page needs to be shown
# and cached. Everything else stays behind, above all what could act on Codeloft's origin or its
# cookies (Set-Cookie, Clear-Site-Data, Refresh, Link, Access-Control-*, Strict-Transport-Security,
# WWW-Authenticate, Service-Worker-Allowed, Report-To, the page's own Content-Security-Policy).
# Location goes through `preview_location`.
FORWARD_RESPONSE = {
    "content-type", "cache-control", "etag", "last-modified", "expires", "vary", "content-language",
    "content-disposition", "content-encoding",
}  # fmt: skip
MAX_BODY = 10 * 1024 * 1024  # a request to the preview
MAX_ANSWER = 100 * 1024 * 1024  # an answer of the preview
STARTUP_POLLS = 50


class PreviewOut(BaseModel):
    path: str = Field(description="The file serving the preview")
    address: str = Field(description="Where the preview answers; the address itself grants access to it")


STARTED = {
    "description": "Started",
    "links": links("start_preview", "stop_preview", workspace_id="$request.path.workspace_id"),
}


@router.post("/api/v1/workspaces/{workspace_id:uuid}/preview", status_code=201, tags=["runs"], responses={201: STARTED})
async def start_preview(workspace_id: UUID, caller: CallerDep) -> PreviewOut:
    """Start (or restart) the workspace's web server in the sandbox; `PORT` is a Unix socket path."""
    previews = services().previews
    preview = await previews.start(caller.actor, workspace_id)
    token = await previews.view(caller.actor, workspace_id)
    return PreviewOut(path=preview.path, address=f"/preview/{token}/")


@router.delete("/api/v1/workspaces/{workspace_id:uuid}/preview", status_code=204, tags=["runs"])
async def stop_preview(workspace_id: UUID, caller: CallerDep) -> Response:
    await services().previews.stop(caller.actor, workspace_id)
    return Response(status_code=204)


def too_large() -> HTMLResponse:
    """The answer to a request body over MAX_BODY; the connection closes rather than read the rest."""
    refusal = page(413, "That request is too large for the preview.")
    refusal.headers["Connection"] = "close"
    return refusal


def page(status: int, message: str, output: str = "") -> HTMLResponse:
    """A plain page in place of the preview; `output` (the server's own last words) shown as written."""
    body = f"<p style='font-family:sans-serif'>{html.escape(message)}</p>"
    if output:
        body += "<p style='font-family:sans-serif'>Its last output:</p>"
        body += f"<pre style='white-space:pre-wrap'>{html.escape(output)}</pre>"
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8>{body}",
        status_code=status,
        headers={"Content-Security-Policy": SANDBOX_POLICY, "Cache-Control": "no-store"},
    )


def ended_page(preview: Preview) -> HTMLResponse:
    """Why a preview whose server died does not answer."""
    return page(502, preview.why_ended(), preview.last_output())


def preview_location(location: str, prefix: str, path: str) -> str | None:
    """A redirect of the previewed server, as an address under the preview's `prefix` (`/preview/<token>/`),
    or None when it leads anywhere else. The server sees the preview's root as `/`, so `/x` is
    `prefix + x`; a relative `x` stays relative to the page at `path`, as long as it stays below `prefix`."""
    if not location or any(c == "\\" or ord(c) <= 0x20 or ord(c) == 0x7F for c in location):
        return None  # browsers read a backslash as a slash, so two of them lead to another host
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or location.startswith("//"):
        return None
    target = prefix + location.lstrip("/") if location.startswith("/") else location
    where = unquote(urlsplit(urljoin(prefix + quote(path), target)).path)  # browsers read `%2e%2e` as `..`
    kept = posixpath.normpath(where) + ("/" if where.endswith("/") else "")
    return target if kept.startswith(prefix) else None


def open_socket(path: str) -> int | None:
    """A descriptor of the socket at `path`, or None: never a link, never anything but a socket."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    except OSError:
        return None
    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


@router.get("/w/{workspace_id}/preview/{path:path}", include_in_schema=False)
async def open_preview(workspace_id: UUID, path: str, request: Request) -> Response:
    """The preview at the workspace's own address, for whoever may read the workspace: a redirect to
    the address of this person's viewer token (signed-out visitors go to the sign-in page)."""
    try:
        caller = await authenticated(request)
        token = await services().previews.open_tab(caller.actor, workspace_id)
    except Unauthenticated:
        return RedirectResponse("/login", status_code=303)
    except NotFound as error:
        return page(404, error.message)
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/preview/{token}/{quote(path)}{query}", status_code=307)


@router.api_route(
    "/preview/{token}/{path:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
async def proxy(token: str, path: str, request: Request) -> Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return too_large()  # refused before a byte of it is read
    try:
        preview = await services().previews.admit(token)
    except NotFound as error:
        return page(404, error.message)
    if not preview.running:
        return ended_page(preview)
    fd = open_socket(preview.socket)
    for _ in range(STARTUP_POLLS):  # a server that has just been started needs a moment to listen
        if fd is not None or not preview.running:
            break
        await asyncio.sleep(0.1)
        fd = open_socket(preview.socket)
    if fd is None:
        if not preview.running and not preview.stopped:
            return ended_page(preview)
        return page(
            502,
            "The preview's server is not listening yet: reload in a moment, or check its output in the run panel.",
            preview.last_output(),
        )
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROP_REQUEST}
    headers.setdefault("accept-encoding", "identity")  # not httpx's own: its answer goes on as it comes
    if declared is not None:
        headers["content-length"] = declared
    has_body = declared is not None or "transfer-encoding" in request.headers
    client = httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=f"/proc/self/fd/{fd}"), base_url="http://preview", timeout=30
    )
    try:
        outgoing = client.build_request(
            request.method, "/" + path, params=request.query_params, headers=headers,
            content=capped(request) if has_body else None,
        )  # fmt: skip
        upstream = await client.send(outgoing, stream=True)
    except TooLarge:
        await client.aclose()
        return too_large()
    except httpx.HTTPError as error:
        await client.aclose()
        return page(502, f"The preview's server did not answer ({type(error).__name__}).")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # the connection is made: the descriptor has done its work
    length = upstream.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > MAX_ANSWER):
        await upstream.aclose()
        await client.aclose()
        return page(502, f"The preview's answer is too large (over {MAX_ANSWER // 1024 // 1024} MB).")
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARD_RESPONSE}
    location = preview_location(upstream.headers.get("location", ""), f"/preview/{token}/", path)
    if location is not None:
        kept["Location"] = location
    if length:
        kept["Content-Length"] = length
    kept["Content-Security-Policy"] = SANDBOX_POLICY
    return StreamingResponse(relay(upstream, client), status_code=upstream.status_code, headers=kept)


class TooLarge(Exception):
    """A request body passed the preview's cap."""


async def capped(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it comes, until it passes MAX_BODY: the rest is never read."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge
        yield chunk


async def relay(upstream: httpx.Response, client: httpx.AsyncClient) -> AsyncIterator[bytes]:
    """The answer's bytes as they come, as they were sent (still compressed if they were: the viewer's
    browser decodes them, so no bomb goes off here), up to MAX_ANSWER: there the answer stops and the
    server's connection closes. (Raising would not show the viewer a broken answer either: NiceGUI's
    BaseHTTPMiddleware ends the body as if complete all the same.)"""
    size = 0
    try:
        async for chunk in upstream.aiter_raw():
            room = MAX_ANSWER - size
            if len(chunk) > room:
                yield chunk[:room]
                return
            size += len(chunk)
            yield chunk
    finally:
        await upstream.aclose()
        await client.aclose()
