"""Where you are signed in, over REST: your sessions (this one marked) and signing any of them out. No
answer ever holds a session's token or its hash."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from domain.sessions import SessionView
from ui.api.deps import CallerDep
from ui.api.routing import api_router
from ui.context import services
from ui.security import clear_session_cookie

router = api_router(prefix="/api/v1/sessions", tags=["account"])


class SessionInfoOut(BaseModel):
    id: UUID
    browser: str
    """A short name from the user agent ("Chromium on Linux")."""
    user_agent: str | None
    address: str | None
    """The address the browser signed in or last renewed its session from."""
    created_at: datetime
    """When it signed in."""
    last_used_at: datetime
    """When it was last active (to within a few minutes)."""
    expires_at: datetime
    """When it ends at the latest, used or not (it ends sooner when left unused)."""
    current: bool
    """Whether this is the session making the request."""


def session_info_out(view: SessionView) -> SessionInfoOut:
    return SessionInfoOut(
        id=view.id,
        browser=view.browser,
        user_agent=view.user_agent,
        address=view.address,
        created_at=view.created_at,
        last_used_at=view.last_used_at,
        expires_at=view.expires_at,
        current=view.current,
    )


@router.get("")
async def list_sessions(caller: CallerDep) -> list[SessionInfoOut]:
    """Your sessions (one per browser signed in), this one first, then the most recently active."""
    views = await services().auth.sessions(caller.actor, current_id=caller.session_id)
    return [session_info_out(view) for view in views]


@router.delete("/{session_id:uuid}", status_code=204)
async def delete_session_by_id(session_id: UUID, request: Request, caller: CallerDep) -> Response:
    """Sign one of your sessions out at once: that browser's next request or live update is signed out.
    Your own current session too (then this answer also drops its cookie)."""
    svc = services()
    await svc.auth.end_session(caller.actor, session_id)
    response = Response(status_code=204)
    if session_id == caller.session_id:
        clear_session_cookie(response, secure=svc.settings.secure_cookies)
    return response
