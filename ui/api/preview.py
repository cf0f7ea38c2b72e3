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
from urllib.parse import quote, unquote, urljoin, urlsplit
from uuid import UUID

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from domain.errors import NotFound, Unauthenticated
from domain.previews import Preview
from ui.api.deps import CallerDep, authenticated
from ui.context import services

router = APIRouter()

SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"
DROP_REQUEST = {"host", "cookie", "authorization", "connection", "content-length", "x-csrf-token"}
# Only these headers of the previewed server's answers reach the viewer: what a page needs to be shown
# and cached. Everything else stays behind, above all what could act on Codeloft's origin or its
# cookies (Set-Cookie, Clear-Site-Data, Refresh, Link, Access-Control-*, Strict-Transport-Security,
# WWW-Authenticate, Service-Worker-Allowed, Report-To, the page's own Content-Security-Policy).
# Location goes through `preview_location`.
FORWARD_RESPONSE = {
    "content-type", "cache-control", "etag", "last-modified", "expires", "vary", "content-language",
    "content-disposition",
}  # fmt: skip
MAX_BODY = 10 * 1024 * 1024
STARTUP_POLLS = 50


class PreviewOut(BaseModel):
    path: str = Field(description="The file serving the preview")
    address: str = Field(description="Where the preview answers; the address itself grants access to it")


@router.post("/api/v1/workspaces/{workspace_id}/preview", status_code=201, tags=["runs"])
async def start_preview(workspace_id: UUID, caller: CallerDep) -> PreviewOut:
    """Start (or restart) the workspace's web server in the sandbox; `PORT` is a Unix socket path."""
    previews = services().previews
    preview = await previews.start(caller.actor, workspace_id)
    token = await previews.view(caller.actor, workspace_id)
    return PreviewOut(path=preview.path, address=f"/preview/{token}/")


@router.delete("/api/v1/workspaces/{workspace_id}/preview", status_code=204, tags=["runs"])
async def stop_preview(workspace_id: UUID, caller: CallerDep) -> Response:
    await services().previews.stop(caller.actor, workspace_id)
    return Response(status_code=204)


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
    try:
        preview = services().previews.resolve(token)
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
    body = await request.body()
    if len(body) > MAX_BODY:
        os.close(fd)
        return page(413, "That request is too large for the preview.")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROP_REQUEST}
    try:
        transport = httpx.AsyncHTTPTransport(uds=f"/proc/self/fd/{fd}")
        async with httpx.AsyncClient(transport=transport, base_url="http://preview", timeout=30) as client:
            upstream = await client.request(
                request.method, "/" + path, params=request.query_params, headers=headers, content=body
            )
    except httpx.HTTPError as error:
        return page(502, f"The preview's server did not answer ({type(error).__name__}).")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARD_RESPONSE}
    location = preview_location(upstream.headers.get("location", ""), f"/preview/{token}/", path)
    if location is not None:
        kept["Location"] = location
    kept["Content-Security-Policy"] = SANDBOX_POLICY
    return Response(content=upstream.content, status_code=upstream.status_code, headers=kept)
