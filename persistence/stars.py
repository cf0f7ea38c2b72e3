"""Stars: who starred which workspace (`workspace_stars`), at most once each."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import WorkspaceStarRow


class SqlStarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user_id: UUID, workspace_id: UUID, *, at: datetime) -> bool:
        postgresql = self._session.get_bind().dialect.name == "postgresql"
        statement = (postgresql_insert if postgresql else sqlite_insert)(WorkspaceStarRow).values(
            user_id=user_id, workspace_id=workspace_id, created_at=at
        )
        result = await self._session.execute(statement.on_conflict_do_nothing())
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, user_id: UUID, workspace_id: UUID) -> bool:
        result = await self._session.execute(
            delete(WorkspaceStarRow).where(
                WorkspaceStarRow.user_id == user_id, WorkspaceStarRow.workspace_id == workspace_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def among(self, user_id: UUID, workspace_ids: Collection[UUID]) -> set[UUID]:
        if not workspace_ids:
            return set()
        rows = await self._session.scalars(
            select(WorkspaceStarRow.workspace_id).where(
                WorkspaceStarRow.user_id == user_id, WorkspaceStarRow.workspace_id.in_(list(workspace_ids))
            )
        )
        return set(rows)
