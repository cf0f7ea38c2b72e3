"""People's own AI keys: added after the provider took them, stored only encrypted, shown only masked
(`sk-…abcd`), switched off and on, deleted; re-encrypted all at once under the first secret key."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from domain import cache_keys
from domain.access import Actor, require_own
from domain.codec import from_json, to_json
from domain.entities import AIKey
from domain.errors import Conflict, InvalidInput
from domain.ports import AIKeyChecker, Cache, Clock, SecretBox, UnitOfWork, UnitOfWorkFactory
from domain.values import parse_enum, require_text


class Provider(StrEnum):
    OPENAI = "openai"
    GEMINI = "gemini"


PROVIDER_TITLES: Final = {Provider.OPENAI: "OpenAI", Provider.GEMINI: "Gemini"}
KEY_PREFIXES: Final = {
    Provider.OPENAI: ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"),
    Provider.GEMINI: ("AIza",),
}
"""What a provider's keys start with: kept in the masked form, so a person knows a key when they see it."""

MIN_KEY_LENGTH = 20
MAX_KEY_LENGTH = 500
KEY_PATTERN = f"^[!-~]{{{MIN_KEY_LENGTH},{MAX_KEY_LENGTH}}}$"
"""A key as the API takes it: printable ASCII without spaces (the API's document states the same)."""
MAX_NAME_LENGTH = 100
FIRST_EXPIRY_YEAR, LAST_EXPIRY_YEAR = 2000, 2999
EXPIRY_PATTERN = "^2[0-9]{3}-"
"""An expiry is in the years 2000 to 2999 (as written, before turning it into UTC)."""
UNREADABLE = "unreadable"
"""The masked form of a key that none of the configured secret keys decrypts."""


class _Keep:
    """The value of an argument not given: leave that field as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


def mask(provider: str, key: str) -> str:
    """The key as a person may see it: a recognisable prefix and the last four characters."""
    known: tuple[str, ...] = KEY_PREFIXES.get(provider, ())  # type: ignore[call-overload]
    prefix = next((start for start in known if key.startswith(start)), "")
    return f"{prefix}…{key[-4:]}"


def api_key_text(key: str) -> str:
    """The key as typed, checked: 20 to 500 printable ASCII characters without spaces."""
    if not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            f"An API key is {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters long; this one has {len(key)}: "
            "paste the whole key."
        )
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidInput("An API key has no spaces, line breaks or characters other than printable ASCII.")
    return key


def key_name(name: str) -> str:
    return require_text(name, what="key name", max_length=MAX_NAME_LENGTH)


def expiry(value: datetime | None) -> datetime | None:
    """An expiry in UTC (a time without a zone is taken as UTC), in the years 2000 to 2999."""
    if value is None:
        return None
    if not FIRST_EXPIRY_YEAR <= value.year <= LAST_EXPIRY_YEAR:
        raise InvalidInput(f"An expiry must be in the years {FIRST_EXPIRY_YEAR} to {LAST_EXPIRY_YEAR}.")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class AIKeyView:
    """A stored key as its person sees it: never the key, only its masked form."""

    id: UUID
    provider: Provider
    name: str
    masked: str
    is_active: bool
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    expired: bool = False
    """Past its expiry now (set when read: the cached view does not know the time)."""

    @property
    def usable(self) -> bool:
        return self.is_active and not self.expired


class AIKeyService:
    def __init__(
        self, *, uow: UnitOfWorkFactory, cache: Cache, clock: Clock, box: SecretBox, checker: AIKeyChecker
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self._box = box
        self._checker = checker

    def _view(self, key: AIKey) -> AIKeyView:
        try:
            masked = mask(key.provider, self._box.decrypt(key.encrypted_token))
        except InvalidInput:
            masked = UNREADABLE
        return AIKeyView(
            id=key.id,
            provider=Provider(key.provider),
            name=key.token_name,
            masked=masked,
            is_active=key.is_active,
            expires_at=key.expires_at,
            created_at=key.created_at,
            updated_at=key.updated_at,
        )

    def _now(self, view: AIKeyView) -> AIKeyView:
        expired = view.expires_at is not None and view.expires_at <= self._clock()
        return dataclasses.replace(view, expired=expired)

    async def list(self, actor: Actor) -> list[AIKeyView]:
        """The person's keys, oldest first, read through the `user:<id>:tokens` cache entry (which holds
        only the masked forms)."""
        user_id = actor.require_user()
        entry = cache_keys.user_tokens(user_id)
        cached = await self._cache.get(entry)
        if cached is not None:
            views = [from_json(AIKeyView, item) for item in cached]
        else:
            async with self._uow() as uow:
                views = [self._view(key) for key in await uow.ai_keys.for_user(user_id)]
            await self._cache.set(entry, [to_json(view) for view in views])
        return [self._now(view) for view in views]

    async def add(
        self, actor: Actor, *, provider: str, name: str, key: str, expires_at: datetime | None = None
    ) -> AIKeyView:
        """Store a key the provider takes. A key it refuses (`InvalidInput`) or cannot be asked about
        (`Unavailable`) is not stored."""
        user_id = actor.require_user()
        chosen = parse_enum(Provider, provider, what="AI provider")
        label = key_name(name)
        secret = api_key_text(key)
        ends = expiry(expires_at)
        async with self._uow() as uow:
            await self._name_free(uow, user_id, chosen, label)
        await self._checker.check(chosen.value, secret)
        now = self._clock()
        stored = AIKey(
            user_id=user_id,
            provider=chosen.value,
            encrypted_token=self._box.encrypt(secret),
            token_name=label,
            expires_at=ends,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await self._name_free(uow, user_id, chosen, label)
            await uow.ai_keys.add(stored)
            await uow.commit()
        await self._cache.delete(cache_keys.user_tokens(user_id))
        return self._now(self._view(stored))

    @staticmethod
    async def _name_free(
        uow: UnitOfWork, user_id: UUID, provider: Provider, name: str, *, but: UUID | None = None
    ) -> None:
        same = await uow.ai_keys.named(user_id, provider.value, name)
        if same is not None and same.id != but:
            raise Conflict(f"You have a {PROVIDER_TITLES[provider]} key named {name!r} already: choose another name.")

    async def _own(self, uow: UnitOfWork, actor: Actor, key_id: UUID) -> AIKey:
        key = await uow.ai_keys.get(key_id)
        require_own(actor, key.user_id if key else None, what="AI key")
        assert key is not None
        return key

    async def update(
        self,
        actor: Actor,
        key_id: UUID,
        *,
        name: str | None = None,
        is_active: bool | None = None,
        expires_at: datetime | _Keep | None = KEEP,
    ) -> AIKeyView:
        """Rename a key, switch it off or on, or change its expiry (None: it never expires). The key itself
        never changes: to use another, add it."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["token_name"] = key_name(name)
        if is_active is not None:
            changes["is_active"] = is_active
        if not isinstance(expires_at, _Keep):
            changes["expires_at"] = expiry(expires_at)
        async with self._uow() as uow:
            key = await self._own(uow, actor, key_id)
            if "token_name" in changes:
                await self._name_free(uow, key.user_id, Provider(key.provider), changes["token_name"], but=key.id)
            if changes:
                now = self._clock()
                await uow.ai_keys.update(key.id, changes, at=now)
                await uow.commit()
                key = dataclasses.replace(key, **changes, updated_at=now)
        if changes:
            await self._cache.delete(cache_keys.user_tokens(key.user_id))
        return self._now(self._view(key))

    async def delete(self, actor: Actor, key_id: UUID) -> None:
        async with self._uow() as uow:
            key = await self._own(uow, actor, key_id)
            await uow.ai_keys.delete(key.id)
            await uow.commit()
        await self._cache.delete(cache_keys.user_tokens(key.user_id))

    async def active_key(self, actor: Actor, provider: str) -> str | None:
        """The person's key for `provider` to call it with: the newest that is switched on and not
        expired (None when there is none). The only way a stored key leaves its encryption."""
        user_id = actor.require_user()
        chosen = parse_enum(Provider, provider, what="AI provider")
        now = self._clock()
        async with self._uow() as uow:
            keys = await uow.ai_keys.for_user(user_id)
        usable = [
            key
            for key in keys
            if key.provider == chosen.value and key.is_active and (key.expires_at is None or key.expires_at > now)
        ]
        if not usable:
            return None
        newest = max(usable, key=lambda key: key.created_at)
        return self._box.decrypt(newest.encrypted_token)

    async def rotate_all(self) -> int:
        """Re-encrypt every stored key under the first secret key (all or none), so that older secret keys
        can be dropped; how many were re-encrypted."""
        async with self._uow() as uow:
            keys = await uow.ai_keys.all()
            unreadable = 0
            for key in keys:
                try:
                    await uow.ai_keys.set_encrypted(key.id, self._box.rotate(key.encrypted_token))
                except InvalidInput:
                    unreadable += 1
            if unreadable:
                raise InvalidInput(
                    f"{unreadable} of {len(keys)} stored secrets cannot be decrypted with CODELOFT_SECRET_KEYS: "
                    "keep the key they were encrypted with in the list (after the new first key) and run this "
                    "again; nothing was re-encrypted."
                )
            await uow.commit()
        owners = {key.user_id for key in keys}
        if owners:
            await self._cache.delete(*(cache_keys.user_tokens(owner) for owner in sorted(owners)))
        return len(keys)
