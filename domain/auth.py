"""Sign-in links and sessions. Secrets are random and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from domain import cache_keys
from domain.access import Actor, require_own
from domain.codec import from_json, to_json
from domain.entities import SignInToken, User, UserSession
from domain.errors import InvalidInput, NotFound, Unauthenticated
from domain.ports import Cache, Clock, UnitOfWork, UnitOfWorkFactory
from domain.sessions import ClientInfo, SessionPolicy, SessionView, ended, session_view

SIGN_IN_LINK_LIFETIME = timedelta(hours=24)
SESSION_LIFETIME = SessionPolicy().lifetime
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
SESSION_ENDED = "Your session has ended: sign in again."
REUSED = (
    "This session was ended because an old copy of its sign-in was used again (it may have been copied): sign in again."
)
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


class SessionReused(Unauthenticated):
    """A replaced session token came back after its grace: the whole session was ended."""


@dataclass(frozen=True, slots=True)
class Resumed:
    """A request's live session; `new_token` is set when its token was just replaced (the answer sets it)."""

    session: UserSession
    new_token: str | None = None


class AuthService:
    """Sign-in links and sessions. A session is resumed on every API call and page load: a live one is
    read from the cache (`cache_keys.session`) until it is due for the database again (renewal of its
    token, the `last_used_at` touch, its end); every change to a session deletes its entry."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, cache: Cache, policy: SessionPolicy | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self.policy = policy or SessionPolicy()

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

    async def redeem_sign_in_link(
        self, secret: str, *, replacing: str | None = None, client: ClientInfo | None = None
    ) -> SignedIn:
        """Use a sign-in link once and open a new session; `replacing` is a session it supersedes."""
        now = self._clock()
        async with self._uow() as uow:
            token = await self._usable_token(uow, secret)
            if not await uow.sign_in_tokens.mark_used(token.id, at=now):
                raise InvalidSignInLink("used", USED)
            user = await uow.users.get(token.user_id)
            if user is None:
                raise InvalidSignInLink("unknown", "This sign-in link is not valid.")
            signed_in = await self.open_session(uow, user, replacing=replacing, client=client)
            await uow.commit()
        return signed_in

    async def open_session(
        self, uow: UnitOfWork, user: User, *, replacing: str | None = None, client: ClientInfo | None = None
    ) -> SignedIn:
        """Open a new session for `user` in the caller's unit of work (the caller commits): a fresh session
        token every time; `replacing`, a session it supersedes, is deleted; `client` is the browser it is
        for. Every way of signing in ends here."""
        now = self._clock()
        client = client or ClientInfo()
        if replacing:
            old = await self._by_token(uow, replacing)
            if old is not None:
                await uow.sessions.delete(old.id)
                await self._forget(old)  # before the caller's commit too: no request re-reads it meanwhile
        session_token = new_secret()
        session = UserSession(
            user_id=user.id,
            refresh_token_hash=hash_secret(session_token),
            expires_at=now + self.policy.lifetime,
            created_at=now,
            last_used_at=now,
            user_agent=client.user_agent,
            address=client.address,
            rotated_at=now,
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
        """The live session behind a session cookie, or `Unauthenticated`. The token may be the session's
        current one or, within its grace, the one it replaced; a replaced one after the grace ends the
        whole session (`SessionReused`). An ended session's row is deleted."""
        return (await self._resume(session_token, rotate=False)).session

    async def resume(self, session_token: str | None, *, client: ClientInfo | None = None) -> Resumed:
        """`authenticate` for a request whose answer can set the cookie (a page load, an API call): a
        current token older than the policy's `rotate_every` is replaced by a new one (returned); the old
        one stays accepted for the grace. `client` is recorded with the new token."""
        return await self._resume(session_token, rotate=True, client=client)

    async def _resume(self, session_token: str | None, *, rotate: bool, client: ClientInfo | None = None) -> Resumed:
        if not session_token:
            raise Unauthenticated("Sign in first.")
        now = self._clock()
        token_hash = hash_secret(session_token)
        key = cache_keys.session(token_hash)
        cached = await self._cache.get(key)
        if cached is not None and not self._due(live := from_json(UserSession, cached), now, rotate=rotate):
            return Resumed(session=live)
        async with self._uow() as uow:
            session = await uow.sessions.get_by_hash(token_hash)
            current = session is not None
            if session is None:
                session = await uow.sessions.get_by_previous_hash(token_hash)
                if session is None:
                    await self._cache.delete(key)
                    raise Unauthenticated(SESSION_ENDED)
                if session.previous_valid_until is None or session.previous_valid_until < now:
                    await uow.sessions.delete(session.id)
                    await uow.commit()
                    await self._forget(session)
                    raise SessionReused(REUSED)
            if ended(session, self.policy, now):
                await uow.sessions.delete(session.id)
                await uow.commit()
                await self._forget(session)
                raise Unauthenticated(SESSION_ENDED)
            if rotate and current and self._rotation_due(session, now):
                new_token = new_secret()
                client = client or ClientInfo()
                rotated = await uow.sessions.rotate(
                    session.id,
                    from_hash=token_hash,
                    to_hash=hash_secret(new_token),
                    previous_valid_until=now + self.policy.grace,
                    at=now,
                    user_agent=client.user_agent or session.user_agent,
                    address=client.address or session.address,
                )
                await uow.commit()
                await self._cache.delete(key)  # the old token is now the previous one: the database decides
                if rotated is not None:  # else a request beside this one replaced it first
                    return Resumed(session=rotated, new_token=new_token)
                return Resumed(session=session)
            if self._touch_due(session, now):
                await uow.sessions.touch(session.id, at=now)
                await uow.commit()
                session = replace(session, last_used_at=now)
        if current:
            await self._cache.set(key, to_json(session))
        return Resumed(session=session)

    def _rotation_due(self, session: UserSession, now: datetime) -> bool:
        return now - (session.rotated_at or session.created_at) >= self.policy.rotate_every

    def _touch_due(self, session: UserSession, now: datetime) -> bool:
        return now - session.last_used_at >= min(SESSION_TOUCH_INTERVAL, self.policy.rotate_every)

    def _due(self, session: UserSession, now: datetime, *, rotate: bool) -> bool:
        """Whether a cached session must be resumed from the database: it may have ended, its token is due
        for renewal, or its `last_used_at` for a touch."""
        return (
            ended(session, self.policy, now)
            or (rotate and self._rotation_due(session, now))
            or self._touch_due(session, now)
        )

    async def _forget(self, *sessions: UserSession) -> None:
        """Drop the cached entries of sessions that end or change: under their current and previous tokens."""
        hashes = {h for session in sessions for h in (session.refresh_token_hash, session.previous_token_hash) if h}
        if hashes:
            await self._cache.delete(*(cache_keys.session(h) for h in hashes))

    async def check(self, session_id: UUID) -> UserSession:
        """Whether the session an open page was loaded with is still live (it may have been signed out
        elsewhere, or timed out): the session, or `Unauthenticated`. Token rotation never ends it."""
        now = self._clock()
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
        if session is None or ended(session, self.policy, now):
            raise Unauthenticated("Your session was ended: sign in again.")
        return session

    async def sessions(self, actor: Actor, *, current_id: UUID | None = None) -> list[SessionView]:
        """The person's live sessions, most recently used first; `current_id` is marked as this one."""
        user_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            sessions = await uow.sessions.list_for_user(user_id)
        live = [session for session in sessions if not ended(session, self.policy, now)]
        live.sort(key=lambda session: (session.id != current_id, -session.last_used_at.timestamp()))
        return [session_view(session, current_id=current_id) for session in live]

    async def end_session(self, actor: Actor, session_id: UUID) -> None:
        """Sign one of the person's own sessions out, at once (another person's is `NotFound`)."""
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            require_own(actor, session.user_id if session else None, what="session")
            assert session is not None
            await uow.sessions.delete(session.id)
            await uow.commit()
        await self._forget(session)

    async def end_other_sessions(self, actor: Actor, *, keep: UUID) -> int:
        """Sign out everywhere but `keep` (the person's own current session); how many ended."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            session = await uow.sessions.get(keep)
            require_own(actor, session.user_id if session else None, what="session")
            others = [other for other in await uow.sessions.list_for_user(user_id) if other.id != keep]
            count = await uow.sessions.delete_for_user(user_id, keep=keep)
            await uow.commit()
        await self._forget(*others)
        return count

    async def sign_out(self, session_token: str | None) -> None:
        """Revoke the session server-side: the cookie stops working everywhere at once."""
        if not session_token:
            return
        async with self._uow() as uow:
            session = await self._by_token(uow, session_token)
            if session is not None:
                await uow.sessions.delete(session.id)
                await uow.commit()
                await self._forget(session)

    async def sign_out_session(self, session_id: UUID) -> None:
        """Revoke the session an open page was loaded with (whatever its token is by now)."""
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            await uow.sessions.delete(session_id)
            await uow.commit()
        if session is not None:
            await self._forget(session)

    @staticmethod
    async def _by_token(uow: UnitOfWork, session_token: str) -> UserSession | None:
        """The session a token is the current or the replaced token of."""
        token_hash = hash_secret(session_token)
        return await uow.sessions.get_by_hash(token_hash) or await uow.sessions.get_by_previous_hash(token_hash)
