"""Session cookies and CSRF tokens for cookie-authenticated requests."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from fastapi import Request
from starlette.responses import Response

from domain.auth import SESSION_LIFETIME

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


def csrf_token(key: bytes, session_id: UUID) -> str:
    """Bound to one session: a new sign-in gives a new token, sign-out voids it."""
    return hmac.new(key, b"csrf:" + session_id.bytes, hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, session_id: UUID, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(key, session_id), presented or "")
