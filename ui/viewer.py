"""Who is looking at a page: resolved from the session cookie, re-checked on every action."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse

from domain import log_context
from domain.access import Actor
from domain.auth import SessionReused
from domain.entities import User
from domain.errors import Unauthenticated
from domain.extension_contributions import NONE, Contributions
from ui.context import Services, services
from ui.security import client_info, csrf_token, note_renewal, session_token


@dataclass(slots=True)
class Viewer:
    """The signed-in user of one page. The session token stays on the server, in this object; the page
    stays signed in as long as its session (by id) lives, whatever token the browser holds by then."""

    user: User
    token: str
    session_id: UUID
    services: Services
    """What the page's components act through, handed to them with the viewer."""
    contributions: Contributions = NONE
    """What the person's enabled extensions add (themes, languages, snippets, commands), as the page opened."""

    async def actor(self) -> Actor:
        """Re-validate the session (it may have been signed out elsewhere, or timed out) before acting."""
        session = await self.services.auth.check(self.session_id)
        log_context.bind(user_id=session.user_id)  # the page event's log lines name the person
        return Actor(user_id=session.user_id)

    async def signed_in(self) -> bool:
        """Whether the page's session still lives (the page's periodic check)."""
        try:
            await self.services.auth.check(self.session_id)
        except Unauthenticated:
            return False
        return True

    @property
    def csrf_token(self) -> str:
        """For the page's own API calls (file drops); bound to this session."""
        return csrf_token(self.services.csrf_key, self.session_id)


async def viewer(request: Request) -> Viewer | None:
    """The page's viewer, or None when the request is not signed in. Pages start here: the services
    are taken from the composition root once, and handed on with the viewer."""
    svc = services()
    token = session_token(request)
    try:
        resumed = await svc.auth.resume(token, client=client_info(request))
    except SessionReused:
        _why_signed_out.set("session_reused")
        return None
    except Unauthenticated:
        return None
    assert token is not None
    note_renewal(request, resumed)
    session = resumed.session
    log_context.bind(user_id=session.user_id)
    user = await svc.accounts.profile(session.user_id)
    contributions = await svc.extensions.contributions(Actor(user_id=session.user_id))
    return Viewer(
        user=user, token=resumed.new_token or token, session_id=session.id, services=svc, contributions=contributions
    )


_why_signed_out: ContextVar[str | None] = ContextVar("why_signed_out", default=None)
"""Why `viewer` found nobody signed in, when the sign-in page should say it (a session ended for safety)."""


def to_sign_in() -> RedirectResponse:
    reason = _why_signed_out.get()
    return RedirectResponse(f"/login?reason={reason}" if reason else "/login", status_code=303)
