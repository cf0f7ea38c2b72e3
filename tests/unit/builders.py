"""Rows the unit tests put straight into the fake store, for states no service call builds."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from domain.access import Actor
from domain.entities import WorkspaceShare
from domain.values import PermissionLevel
from tests.unit.fakes import Store


def share(store: Store, workspace_id: UUID, owner: Actor, user: Actor, level: PermissionLevel) -> None:
    entry = WorkspaceShare(
        workspace_id=workspace_id,
        shared_by_user_id=owner.user_id,
        shared_with_user_id=user.user_id,  # type: ignore[arg-type]
        permission_level=level,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    store.shares[entry.id] = entry
