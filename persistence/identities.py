"""The identities repository (`user_identities`): SQL in, domain identities out; it never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.entities import Identity
from persistence.models import UserIdentityRow, UserRow


def _identity(row: UserIdentityRow) -> Identity:
    assert row.created_at
    return Identity(
        id=row.id,
        user_id=row.user_id,
        provider=row.provider,
        provider_id=row.provider_id,
        email=row.email,
        created_at=row.created_at,
    )


class SqlIdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, identity: Identity) -> None:
        self._session.add(
            UserIdentityRow(
                id=identity.id,
                user_id=identity.user_id,
                provider=identity.provider,
                provider_id=identity.provider_id,
                email=identity.email,
                created_at=identity.created_at,
            )
        )
        await self._session.flush()

    async def get(self, provider: str, provider_id: str) -> Identity | None:
        row = await self._session.scalar(
            select(UserIdentityRow).where(
                UserIdentityRow.provider == provider, UserIdentityRow.provider_id == provider_id
            )
        )
        return _identity(row) if row else None

    async def for_user(self, user_id: UUID) -> Sequence[Identity]:
        rows = await self._session.scalars(
            select(UserIdentityRow).where(UserIdentityRow.user_id == user_id).order_by(UserIdentityRow.created_at)
        )
        return [_identity(row) for row in rows]

    async def delete(self, identity_id: UUID) -> None:
        await self._session.execute(delete(UserIdentityRow).where(UserIdentityRow.id == identity_id))

    async def set_primary(self, user_id: UUID, provider: str, provider_id: str, *, at: datetime) -> None:
        await self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(oauth_provider=provider, oauth_id=provider_id, updated_at=at)
            .execution_options(synchronize_session=False)
        )
