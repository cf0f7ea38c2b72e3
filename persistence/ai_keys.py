"""People's own AI keys (`user_ai_tokens`): rows hold the key only as its ciphertext."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.entities import AIKey
from persistence.models import UserAITokenRow


def _key(row: UserAITokenRow) -> AIKey:
    assert row.user_id and row.created_at and row.updated_at
    return AIKey(
        id=row.id,
        user_id=row.user_id,
        provider=row.provider,
        encrypted_token=row.encrypted_token,
        token_name=row.token_name or "",
        is_active=row.is_active is not False,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlAIKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: AIKey) -> None:
        self._session.add(
            UserAITokenRow(
                id=key.id,
                user_id=key.user_id,
                provider=key.provider,
                encrypted_token=key.encrypted_token,
                token_name=key.token_name,
                is_active=key.is_active,
                expires_at=key.expires_at,
                created_at=key.created_at,
                updated_at=key.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, key_id: UUID) -> AIKey | None:
        row = await self._session.get(UserAITokenRow, key_id)
        return _key(row) if row else None

    async def for_user(self, user_id: UUID) -> Sequence[AIKey]:
        rows = await self._session.scalars(
            select(UserAITokenRow)
            .where(UserAITokenRow.user_id == user_id)
            .order_by(UserAITokenRow.created_at, UserAITokenRow.id)
        )
        return [_key(row) for row in rows]

    async def named(self, user_id: UUID, provider: str, token_name: str) -> AIKey | None:
        row = await self._session.scalar(
            select(UserAITokenRow).where(
                UserAITokenRow.user_id == user_id,
                UserAITokenRow.provider == provider,
                UserAITokenRow.token_name == token_name,
            )
        )
        return _key(row) if row else None

    async def update(self, key_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        await self._session.execute(
            update(UserAITokenRow).where(UserAITokenRow.id == key_id).values(**changes, updated_at=at)
        )

    async def delete(self, key_id: UUID) -> None:
        await self._session.execute(delete(UserAITokenRow).where(UserAITokenRow.id == key_id))

    async def all(self) -> Sequence[AIKey]:
        rows = await self._session.scalars(select(UserAITokenRow).order_by(UserAITokenRow.id))
        return [_key(row) for row in rows]

    async def set_encrypted(self, key_id: UUID, encrypted_token: str) -> None:
        await self._session.execute(
            update(UserAITokenRow).where(UserAITokenRow.id == key_id).values(encrypted_token=encrypted_token)
        )
