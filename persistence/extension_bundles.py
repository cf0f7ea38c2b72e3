"""Bundles of extensions: extension_bundles and bundle_extensions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.extension_bundles import Bundle
from domain.extension_entities import Extension
from persistence.extensions import _extension as extension_of  # the one row-to-Extension mapping
from persistence.models import BundleExtensionRow, ExtensionBundleRow, ExtensionRow


class SqlBundleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> Sequence[Bundle]:
        bundles = (await self._session.scalars(select(ExtensionBundleRow).order_by(ExtensionBundleRow.name))).all()
        members = await self._session.execute(
            select(BundleExtensionRow.bundle_id, ExtensionRow)
            .join(ExtensionRow, ExtensionRow.id == BundleExtensionRow.extension_id)
            .order_by(ExtensionRow.name)
        )
        extensions: dict[UUID, list[Extension]] = {}
        for bundle_id, row in members.all():
            extensions.setdefault(bundle_id, []).append(extension_of(row))
        return [
            Bundle(
                id=row.id,
                name=row.name,
                description=row.description or "",
                category=row.category or "",
                is_official=bool(row.is_official),
                extensions=tuple(extensions.get(row.id, ())),
            )
            for row in bundles
        ]

    async def add(self, bundle: Bundle) -> None:
        self._session.add(
            ExtensionBundleRow(
                id=bundle.id,
                name=bundle.name,
                description=bundle.description,
                category=bundle.category,
                is_official=bundle.is_official,
            )
        )
        await self._session.flush()
        await self.add_extensions(bundle.id, [e.id for e in bundle.extensions])

    async def add_extensions(self, bundle_id: UUID, extension_ids: Collection[UUID]) -> None:
        present = set(
            (
                await self._session.scalars(
                    select(BundleExtensionRow.extension_id).where(BundleExtensionRow.bundle_id == bundle_id)
                )
            ).all()
        )
        for extension_id in dict.fromkeys(extension_ids):
            if extension_id not in present:
                self._session.add(BundleExtensionRow(bundle_id=bundle_id, extension_id=extension_id))
        await self._session.flush()
