"""Sign-in links and sessions. Secrets are random and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from domain.entities import SignInToken, User, UserSession
from domain.errors import InvalidInput, NotFound, Unauthenticated
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

SIGN_IN_LINK_LIFETIME = timedelta(hours=24)
SESSION_LIFETIME = timedelta(days=30)
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
USED = "This sign-in link has already been used: each link works only once."


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class InvalidSignInLink(InvalidInput):
    """A sign-in link that is unknown, used or expired; `reason` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session_id: UUID
    session_token: str


class AuthService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def issue_sign_in_link(self, user_id: UUID) -> str:
        """Create a single-use sign-in secret for the user and return it (only its hash is kept)."""
        secret = new_secret()
        now = self._clock()
        async with self._uow() as uow:
            if await uow.users.get(user_id) is None:
                raise NotFound("No such user.")
            await uow.sign_in_tokens.add(
                SignInToken(
                    user_id=user_id,
                    token_hash=hash_secret(secret),
                    expires_at=now + SIGN_IN_LINK_LIFETIME,
                    created_at=now,
                )
            )
            await uow.commit()
        return secret

    async def peek_sign_in_link(self, secret: str) -> User:
        """The account a usable sign-in link signs in as, without using it or touching any session
        (what a GET of the link shows before the person confirms)."""
        async with self._uow() as uow:
            token = await self._usable_token(uow, secret)
            user = await uow.users.get(token.user_id)
        if user is None:
            raise InvalidSignInLink("unknown", "This sign-in link is not valid.")
        return user

    async def redeem_sign_in_link(self, secret: str, *, replacing: str | None = None) -> SignedIn:
        """Use a sign-in link once and open a new session; `replacing` is a session it supersedes."""
        now = self._clock()
        async with self._uow() as uow:
            token = await self._usable_token(uow, secret)
            if not await uow.sign_in_tokens.mark_used(token.id, at=now):
                raise InvalidSignInLink("used", USED)
            user = await uow.users.get(token.user_id)
            if user is None:
                raise InvalidSignInLink("unknown", "This sign-in link is not valid.")
            signed_in = await self.open_session(uow, user, replacing=replacing)
            await uow.commit()
        return signed_in

    async def open_session(self, uow: UnitOfWork, user: User, *, replacing: str | None = None) -> SignedIn:
        """Open a new session for `user` in the caller's unit of work (the caller commits): a fresh session
        token every time; `replacing`, a session it supersedes, is deleted. Every way of signing in ends here."""
        now = self._clock()
        if replacing:
            old = await uow.sessions.get_by_hash(hash_secret(replacing))
            if old is not None:
                await uow.sessions.delete(old.id)
        session_token = new_secret()
        session = UserSession(
            user_id=user.id,
            refresh_token_hash=hash_secret(session_token),
            expires_at=now + SESSION_LIFETIME,
            created_at=now,
            last_used_at=now,
        )
        await uow.sessions.add(session)
        return SignedIn(user=user, session_id=session.id, session_token=session_token)

    async def _usable_token(self, uow: UnitOfWork, secret: str) -> SignInToken:
        """The stored token of `secret` if it is known, unused and unexpired; else why not."""
        token = await uow.sign_in_tokens.get_by_hash(hash_secret(secret))
        if token is None:
            raise InvalidSignInLink("unknown", "This sign-in link is not valid.")
        if token.used_at is not None:
            raise InvalidSignInLink("used", USED)
        if token.expires_at <= self._clock():
            raise InvalidSignInLink("expired", "This sign-in link has expired: links are valid for 24 hours.")
        return token

    async def authenticate(self, session_token: str | None) -> UserSession:
        """The live session behind a session cookie, or `Unauthenticated`."""
        if not session_token:
            raise Unauthenticated("Sign in first.")
        now = self._clock()
        async with self._uow() as uow:
            session = await uow.sessions.get_by_hash(hash_secret(session_token))
            if session is None or session.expires_at <= now:
                raise Unauthenticated("Your session has ended: sign in again.")
            if now - session.last_used_at >= SESSION_TOUCH_INTERVAL:
                await uow.sessions.touch(session.id, at=now)
                await uow.commit()
        return session

    async def sign_out(self, session_token: str | None) -> None:
        """Revoke the session server-side: the cookie stops working everywhere at once."""
        if not session_token:
            return
        async with self._uow() as uow:
            session = await uow.sessions.get_by_hash(hash_secret(session_token))
            if session is not None:
                await uow.sessions.delete(session.id)
                await uow.commit()
