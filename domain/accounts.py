"""Accounts: local users (created from the CLI) and the cached user profile."""

from __future__ import annotations

from uuid import UUID

from domain import cache_keys
from domain.codec import from_json, to_json
from domain.entities import Identity, User
from domain.errors import Conflict, NotFound
from domain.ports import Cache, Clock, UnitOfWorkFactory
from domain.values import Email, Tier, require_text

LOCAL_PROVIDER = "local"
OWNER_EMAIL = "owner@localhost"


def identity_of(user: User) -> Identity:
    """The account's first way in (its own `oauth_provider`, `oauth_id`) as an identity."""
    return Identity(
        user_id=user.id,
        provider=user.oauth_provider,
        provider_id=user.oauth_id,
        email=user.email,
        created_at=user.created_at,
    )


class AccountService:
    def __init__(self, *, uow: UnitOfWorkFactory, cache: Cache, clock: Clock) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock

    async def add_local_user(self, email: str, *, name: str | None = None, tier: Tier = Tier.FREE) -> User:
        address = Email(email)
        display_name = require_text(name, what="display name", max_length=100) if name else None
        now = self._clock()
        user = User(
            email=address.value,
            display_name=display_name,
            oauth_provider=LOCAL_PROVIDER,
            oauth_id=address.value,
            subscription_tier=tier,
            ai_quota_reset_date=now.date(),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if await uow.users.get_by_email(address.value) is not None:
                raise Conflict(f"A user with the e-mail address {address.value} exists already.")
            await uow.users.add(user)
            await uow.identities.add(identity_of(user))
            await uow.commit()
        return user

    async def ensure_local_owner(self) -> User:
        """The account `codeloft serve` signs in on a single-user install; created on first start."""
        async with self._uow() as uow:
            existing = await uow.users.get_by_oauth(LOCAL_PROVIDER, OWNER_EMAIL)
        if existing is not None:
            return existing
        return await self.add_local_user(OWNER_EMAIL, name="Owner", tier=Tier.ENTERPRISE)

    async def find_by_email(self, email: str) -> User:
        address = Email(email)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address.value)
        if user is None:
            raise NotFound(f"No user has the e-mail address {address.value}.")
        return user

    async def count(self) -> int:
        async with self._uow() as uow:
            return await uow.users.count()

    async def profile(self, user_id: UUID) -> User:
        """The user's profile, read through the `user:<id>:profile` cache entry."""
        key = cache_keys.user_profile(user_id)
        cached = await self._cache.get(key)
        if cached is not None:
            return from_json(User, cached)
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("No such user.")
        await self._cache.set(key, to_json(user))
        return user
