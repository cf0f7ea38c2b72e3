"""Who is looking at a page: resolved from the session cookie, re-checked on every action."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse

from domain.access import Actor
from domain.entities import User
from domain.errors import Unauthenticated
from ui.context import Services, services
from ui.security import csrf_token, session_token


@dataclass(slots=True)
class Viewer:
    """The signed-in user of one page. The session token stays on the server, in this object."""

    user: User
    token: str
    session_id: UUID
    services: Services
    """What the page's components act through, handed to them with the viewer."""

    async def actor(self) -> Actor:
        """Re-validate the session (it may have been signed out elsewhere) before acting."""
        session = await self.services.auth.authenticate(self.token)
        return Actor(user_id=session.user_id)

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
        session = await svc.auth.authenticate(token)
    except Unauthenticated:
        return None
    assert token is not None
    user = await svc.accounts.profile(session.user_id)
    return Viewer(user=user, token=token, session_id=session.id, services=svc)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
