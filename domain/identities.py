"""Ways in: the identities (GitHub, Google, a local account's printed link) an account signs in with.

An account is found by the provider's own id for the person (`provider`, `provider_id`), never by the
e-mail address: an address only decides that a first sign-in may not take over an existing account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain import cache_keys
from domain.accounts import LOCAL_PROVIDER
from domain.auth import AuthService, SignedIn
from domain.entities import Identity, User
from domain.errors import Conflict, NotFound, PermissionDenied
from domain.ports import Cache, Clock, UnitOfWorkFactory
from domain.sessions import ClientInfo
from domain.values import Email, Tier

PROVIDER_NAMES = {"github": "GitHub", "google": "Google", LOCAL_PROVIDER: "Printed sign-in link"}


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What a provider vouched for after a completed sign-in. `email` is a verified address or None."""

    provider: str
    provider_id: str
    email: str | None
    display_name: str | None = None
    avatar_url: str | None = None


class SignInRefused(PermissionDenied):
    """A provider sign-in (or connection) that Codeloft refuses; `reason` names the case for the sign-in page."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _verified_email(profile: ProviderProfile) -> str:
    if not profile.email:
        raise SignInRefused(
            "no_verified_email",
            f"Your {provider_name(profile.provider)} account has no verified e-mail address: verify one there, "
            "then sign in again.",
        )
    return Email(profile.email).value


class IdentityService:
    """Sign in with a provider, create the account on a first sign-in, connect and disconnect providers."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, auth: AuthService, cache: Cache) -> None:
        self._uow = uow
        self._clock = clock
        self._auth = auth
        self._cache = cache

    async def sign_in(
        self, profile: ProviderProfile, *, replacing: str | None = None, client: ClientInfo | None = None
    ) -> SignedIn:
        """The account of this provider identity (created on its first sign-in) with a new session."""
        email = _verified_email(profile)
        now = self._clock()
        async with self._uow() as uow:
            identity = await uow.identities.get(profile.provider, profile.provider_id)
            user = await uow.users.get(identity.user_id) if identity is not None else None
            if user is None:
                if await uow.users.get_by_email(email) is not None:
                    name = provider_name(profile.provider)
                    raise SignInRefused(
                        "email_taken",
                        f"The e-mail address {email} belongs to a Codeloft account that does not sign in with "
                        f"{name} yet. Sign in the way you usually do, then connect {name} under "
                        "Account → Sign-in methods.",
                    )
                user = User(
                    email=email,
                    display_name=(profile.display_name or "").strip()[:100] or None,
                    avatar_url=profile.avatar_url,
                    oauth_provider=profile.provider,
                    oauth_id=profile.provider_id,
                    subscription_tier=Tier.FREE,
                    ai_quota_reset_date=now.date(),
                    created_at=now,
                    updated_at=now,
                )
                await uow.users.add(user)
                await uow.identities.add(
                    Identity(
                        user_id=user.id,
                        provider=profile.provider,
                        provider_id=profile.provider_id,
                        email=email,
                        created_at=now,
                    )
                )
            signed_in = await self._auth.open_session(uow, user, replacing=replacing, client=client)
            await uow.commit()
        return signed_in

    async def connect(self, user_id: UUID, profile: ProviderProfile) -> Identity:
        """Add a provider as a further way into the signed-in person's account."""
        email = _verified_email(profile)
        name = provider_name(profile.provider)
        async with self._uow() as uow:
            existing = await uow.identities.get(profile.provider, profile.provider_id)
            if existing is not None:
                if existing.user_id == user_id:
                    return existing
                raise SignInRefused(
                    "connected_elsewhere",
                    f"This {name} account already signs in to another Codeloft account, so it was not connected.",
                )
            if any(i.provider == profile.provider for i in await uow.identities.for_user(user_id)):
                raise SignInRefused(
                    "provider_taken",
                    f"Your account already has a {name} account connected: disconnect it first to connect another.",
                )
            identity = Identity(
                user_id=user_id,
                provider=profile.provider,
                provider_id=profile.provider_id,
                email=email,
                created_at=self._clock(),
            )
            await uow.identities.add(identity)
            await uow.commit()
        return identity

    async def methods(self, user_id: UUID) -> Sequence[Identity]:
        """The person's ways in, oldest first."""
        async with self._uow() as uow:
            return sorted(await uow.identities.for_user(user_id), key=lambda i: i.created_at)

    async def disconnect(self, user_id: UUID, provider: str) -> None:
        """Remove a provider from the person's ways in; never the last one, never the printed link."""
        name = provider_name(provider)
        if provider == LOCAL_PROVIDER:
            raise Conflict("The printed sign-in link of a local account cannot be disconnected.")
        async with self._uow() as uow:
            identities = sorted(await uow.identities.for_user(user_id), key=lambda i: i.created_at)
            removed = next((i for i in identities if i.provider == provider), None)
            if removed is None:
                raise NotFound(f"{name} is not connected to your account.")
            rest = [i for i in identities if i.id != removed.id]
            if not rest:
                raise Conflict(f"{name} is your only way to sign in, so it cannot be disconnected.")
            await uow.identities.delete(removed.id)
            user = await uow.users.get(user_id)
            if user is not None and (user.oauth_provider, user.oauth_id) == (removed.provider, removed.provider_id):
                # The account's own columns name its first way in: now the oldest one left.
                await uow.identities.set_primary(user_id, rest[0].provider, rest[0].provider_id, at=self._clock())
            await uow.commit()
        await self._cache.delete(cache_keys.user_profile(user_id))
