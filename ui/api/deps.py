"""What every API route needs: the signed-in caller (with CSRF checked for writes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from domain import log_context
from domain.access import Actor
from domain.auth import Resumed
from domain.errors import PermissionDenied
from ui.context import services
from ui.security import CSRF_HEADER, client_info, csrf_valid, note_renewal, session_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class Caller:
    actor: Actor
    user_id: UUID
    session_id: UUID


RESUMED = "codeloft_resumed_session"


async def resumed_session(request: Request) -> Resumed:
    """The request's session, resumed once however many layers ask (BodyLimits, before a body is read,
    then the route's `authenticated`). A session token due for renewal is replaced, and the answer sets the
    new one."""
    state = request.scope.setdefault("state", {})  # request.state's dict (its getattr raises when absent)
    resumed: Resumed | None = state.get(RESUMED)
    if resumed is None:
        resumed = state[RESUMED] = await services().auth.resume(session_token(request), client=client_info(request))
        note_renewal(request, resumed)
    return resumed


async def authenticated(request: Request) -> Caller:
    """The signed-in caller; non-GET requests must also carry the session's CSRF token."""
    svc = services()
    session = (await resumed_session(request)).session
    log_context.bind(user_id=session.user_id)
    if request.method not in SAFE_METHODS and not csrf_valid(
        svc.csrf_key, session.id, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDenied(f"Missing or wrong {CSRF_HEADER} header: read it from GET /api/v1/session.")
    return Caller(actor=Actor(user_id=session.user_id), user_id=session.user_id, session_id=session.id)


CallerDep = Annotated[Caller, Depends(authenticated)]
