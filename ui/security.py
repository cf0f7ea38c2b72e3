"""Session cookies, CSRF tokens for cookie-authenticated requests, and the security headers of every answer."""

from __future__ import annotations

import hashlib
import hmac
import re
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Request
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.auth import SESSION_LIFETIME, Resumed
from domain.sessions import ClientInfo

SESSION_COOKIE = "codeloft_session"
CSRF_HEADER = "X-CSRF-Token"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure, path="/")


def client_info(request: Request) -> ClientInfo:
    """What the browser of `request` is: its user agent and address (as the server saw it)."""
    return ClientInfo(
        user_agent=request.headers.get("user-agent"), address=request.client.host if request.client else None
    )


# --- the renewed session token goes out with the answer -----------------------------------------

RENEWED = "codeloft_renewed_session_token"
"""Key in the request's state: the session's new token, which the answer sets as the cookie."""


def note_renewal(request: Request, resumed: Resumed) -> None:
    """After `AuthService.resume`: a replaced token goes out as the cookie of this request's answer."""
    if resumed.new_token is not None:
        setattr(request.state, RENEWED, resumed.new_token)


class SessionRenewal:
    """ASGI middleware: an HTTP answer whose request renewed its session's token (`note_renewal`) sets the
    new token as the session cookie, unless the route set or cleared that cookie itself (sign-in, sign-out).
    WebSocket messages cannot set cookies, so tokens are only renewed on HTTP requests."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            token = state.get(RENEWED)
            if message["type"] == "http.response.start" and token:
                headers = list(message.get("headers", []))
                prefix = SESSION_COOKIE.encode("latin-1") + b"="
                if not any(name.lower() == b"set-cookie" and value.startswith(prefix) for name, value in headers):
                    carrier = Response()
                    set_session_cookie(carrier, token, secure=self.secure)
                    headers += [(name, value) for name, value in carrier.raw_headers if name == b"set-cookie"]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose only (HKDF-SHA256 with `codeloft <purpose>` as its info), so what one
    purpose reveals about its key says nothing about the configured secret or another purpose's key."""
    info = f"codeloft {purpose}".encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def csrf_token(key: bytes, session_id: UUID) -> str:
    """Bound to one session: a new sign-in gives a new token, sign-out voids it."""
    return hmac.new(key, b"csrf:" + session_id.bytes, hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, session_id: UUID, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(key, session_id), presented or "")


# --- headers every answer carries ----------------------------------------------------------------

_PREVIEW = re.compile(r"^/(preview/|w/[^/]+/preview(/|$))")


def is_preview(path: str) -> bool:
    """Whether `path` is a previewed web server's answer (proxied as it is written, framed by the IDE)."""
    return _PREVIEW.match(path) is not None


class GzipExceptPreviews:
    """NiceGUI's gzip for everything but previews: gzip holds small streamed pieces back until its buffer
    fills, and a preview passes on the server's own bytes (and Content-Encoding) as they come."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_preview(scope["path"]):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


def frame_ancestors(path: str) -> str:
    """Who may frame the answer at `path`: nobody, but previews are framed by the IDE itself."""
    return "'self'" if is_preview(path) else "'none'"


def with_frame_ancestors(policy: str | None, ancestors: str) -> str:
    """A route's own Content-Security-Policy (a served file's `sandbox`) with `frame-ancestors` added."""
    if not policy or not policy.strip():
        return f"frame-ancestors {ancestors}"
    if "frame-ancestors" in policy:
        return policy  # the route said who may frame it
    return f"{policy.rstrip().rstrip(';')}; frame-ancestors {ancestors}"


PUBLIC_LINK_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def public_link_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Any answer under /s/ (a public link's token is in its URL), even one no /s/ route made (an error):
    no script may run and no `Referer` may carry the URL away."""
    names = {name.lower() for name, _ in headers}
    added = [] if b"content-security-policy" in names else [(b"content-security-policy", PUBLIC_LINK_POLICY.encode())]
    kept = [(name, value) for name, value in headers if name.lower() != b"referrer-policy"]
    return [*kept, *added, (b"referrer-policy", b"no-referrer")]


def security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` of an answer with framing, sniffing and referrer rules set, the route's CSP kept (and its
    `Referrer-Policy` when it sets a stricter one: a sign-in link's page sends none)."""
    if path.startswith("/s/"):
        headers = public_link_headers(headers)
    ancestors = frame_ancestors(path)
    own_referrer = [value for name, value in headers if name.lower() == b"referrer-policy"]
    referrer = b"no-referrer" if own_referrer == [b"no-referrer"] else b"same-origin"
    replaced = {b"content-security-policy", b"x-frame-options", b"x-content-type-options", b"referrer-policy"}
    policies = [value.decode("latin-1") for name, value in headers if name.lower() == b"content-security-policy"]
    kept = [(name, value) for name, value in headers if name.lower() not in replaced]
    merged = [with_frame_ancestors(policy, ancestors) for policy in policies] or [f"frame-ancestors {ancestors}"]
    return [
        *kept,
        *((b"content-security-policy", policy.encode("latin-1")) for policy in merged),
        (b"x-frame-options", b"DENY" if ancestors == "'none'" else b"SAMEORIGIN"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", referrer),
    ]


class SecurityHeaders:
    """ASGI middleware: every HTTP answer (pages, API, files, errors) gets `security_headers`. Pure ASGI,
    so streamed answers stay streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": security_headers(path, list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_with_headers)
