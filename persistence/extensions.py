"""The marketplace's tables: extensions, extension_versions, user_extensions and extension_reviews. Counters
change in the database (download_count + 1; the rating recounted from the reviews under the row's lock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, String, cast, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.extension_entities import Extension, ExtensionStatus, ExtensionVersion, Installation, Review
from persistence.models import ExtensionReviewRow, ExtensionRow, ExtensionVersionRow, UserExtensionRow

_ENGLISH = text("'english'::regconfig")


def _at(value: datetime | None) -> datetime:
    """A timestamp the database fills by default, so never NULL once stored."""
    assert value is not None
    return value


def _extension(row: ExtensionRow) -> Extension:
    return Extension(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        description=row.description or "",
        version=row.version,
        author_id=row.author_id,
        manifest=row.manifest,
        category=row.category or "",
        tags=tuple(row.tags or ()),
        download_count=row.download_count or 0,
        rating_average=float(row.rating_average or 0),
        rating_count=row.rating_count or 0,
        is_verified=bool(row.is_verified),
        is_featured=bool(row.is_featured),
        status=ExtensionStatus(row.status or ExtensionStatus.PENDING),
        published_at=row.published_at,
        created_at=_at(row.created_at),
        updated_at=_at(row.updated_at),
    )


def _version(row: ExtensionVersionRow) -> ExtensionVersion:
    return ExtensionVersion(
        id=row.id,
        extension_id=row.extension_id,
        version=row.version,
        manifest=row.manifest,
        status=ExtensionStatus(row.status),
        rejection_reason=row.rejection_reason,
        created_at=_at(row.created_at),
        reviewed_at=row.reviewed_at,
    )


def _installation(row: UserExtensionRow) -> Installation:
    assert row.user_id is not None and row.extension_id is not None
    return Installation(
        user_id=row.user_id,
        extension_id=row.extension_id,
        version=row.version,
        is_enabled=row.is_enabled is not False,
        settings=row.settings or {},
        granted_permissions=tuple(row.granted_permissions or ()),
        installed_at=_at(row.installed_at),
        updated_at=_at(row.updated_at),
    )


def _review(row: ExtensionReviewRow) -> Review:
    assert row.extension_id is not None and row.user_id is not None and row.rating is not None
    return Review(
        extension_id=row.extension_id,
        user_id=row.user_id,
        rating=row.rating,
        text=row.review_text,
        created_at=_at(row.created_at),
        updated_at=_at(row.updated_at),
    )


def _stored(changes: dict[str, Any]) -> dict[str, Any]:
    """Tuples as lists (the array and JSON columns)."""
    return {column: list(value) if isinstance(value, tuple) else value for column, value in changes.items()}


class SqlExtensionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgresql(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    async def add(self, extension: Extension) -> None:
        self._session.add(
            ExtensionRow(
                id=extension.id,
                name=extension.name,
                display_name=extension.display_name,
                description=extension.description,
                version=extension.version,
                author_id=extension.author_id,
                manifest=extension.manifest,
                category=extension.category,
                tags=list(extension.tags),
                download_count=extension.download_count,
                rating_average=extension.rating_average,
                rating_count=extension.rating_count,
                is_verified=extension.is_verified,
                is_featured=extension.is_featured,
                status=extension.status.value,
                published_at=extension.published_at,
                created_at=extension.created_at,
                updated_at=extension.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, name: str) -> Extension | None:
        row = await self._session.scalar(select(ExtensionRow).where(ExtensionRow.name == name))
        return None if row is None else _extension(row)

    async def update(self, extension_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        await self._session.execute(
            update(ExtensionRow)
            .where(ExtensionRow.id == extension_id)
            .values(**_stored(changes), updated_at=at)
            .execution_options(synchronize_session=False)
        )

    async def lock(self, extension_id: UUID) -> None:
        # PostgreSQL holds the row; SQLite has one writer at a time anyway (FOR UPDATE is left out there).
        await self._session.execute(select(ExtensionRow.id).where(ExtensionRow.id == extension_id).with_for_update())

    def _matching(self, query: str) -> ColumnElement[bool]:
        """Name, display name, description or a tag holds `query`; on PostgreSQL also full-text."""
        tags = func.array_to_string(ExtensionRow.tags, " ") if self._postgresql else cast(ExtensionRow.tags, String)
        words = func.lower(
            ExtensionRow.name
            + " "
            + ExtensionRow.display_name
            + " "
            + func.coalesce(ExtensionRow.description, "")
            + " "
            + func.coalesce(tags, "")
        )
        substring = words.contains(query.lower(), autoescape=True)
        if not self._postgresql:
            return substring
        document = func.to_tsvector(_ENGLISH, words)
        return or_(substring, document.op("@@")(func.plainto_tsquery(_ENGLISH, query)))

    async def search(
        self, query: str, *, category: str | None, sort: str, featured: bool | None, limit: int
    ) -> Sequence[Extension]:
        conditions: list[ColumnElement[bool]] = [ExtensionRow.status == ExtensionStatus.APPROVED.value]
        if query:
            conditions.append(self._matching(query))
        if category is not None:
            conditions.append(ExtensionRow.category == category)
        if featured is not None:
            conditions.append(ExtensionRow.is_featured.is_(featured))
        first: Any = {
            "downloads": ExtensionRow.download_count.desc(),
            "rating": ExtensionRow.rating_average.desc(),
            "newest": ExtensionRow.published_at.desc(),
        }[sort]
        rows = await self._session.scalars(
            select(ExtensionRow).where(*conditions).order_by(first, ExtensionRow.name).limit(limit)
        )
        return [_extension(row) for row in rows]

    async def add_version(self, version: ExtensionVersion, package: bytes) -> None:
        self._session.add(
            ExtensionVersionRow(
                id=version.id,
                extension_id=version.extension_id,
                version=version.version,
                manifest=version.manifest,
                package=package,
                status=version.status.value,
                rejection_reason=version.rejection_reason,
                created_at=version.created_at,
                reviewed_at=version.reviewed_at,
            )
        )
        await self._session.flush()

    async def versions(self, extension_id: UUID) -> Sequence[ExtensionVersion]:
        rows = await self._session.execute(
            select(ExtensionVersionRow).where(ExtensionVersionRow.extension_id == extension_id)
        )
        return [_version(row) for row in rows.scalars()]

    async def package(self, version_id: UUID) -> bytes | None:
        data = await self._session.scalar(
            select(ExtensionVersionRow.package).where(ExtensionVersionRow.id == version_id)
        )
        return None if data is None else bytes(data)

    async def authored(self, author_id: UUID) -> Sequence[Extension]:
        rows = await self._session.scalars(
            select(ExtensionRow).where(ExtensionRow.author_id == author_id).order_by(ExtensionRow.name)
        )
        return [_extension(row) for row in rows]

    async def waiting(self) -> Sequence[Extension]:
        pending = select(ExtensionVersionRow.id).where(
            ExtensionVersionRow.extension_id == ExtensionRow.id,
            ExtensionVersionRow.status == ExtensionStatus.PENDING.value,
        )
        rows = await self._session.scalars(select(ExtensionRow).where(pending.exists()).order_by(ExtensionRow.name))
        return [_extension(row) for row in rows]

    async def set_version_status(
        self, version_id: UUID, status: ExtensionStatus, *, reason: str | None, at: datetime
    ) -> None:
        await self._session.execute(
            update(ExtensionVersionRow)
            .where(ExtensionVersionRow.id == version_id)
            .values(status=status.value, rejection_reason=reason, reviewed_at=at)
            .execution_options(synchronize_session=False)
        )

    async def installation(self, user_id: UUID, extension_id: UUID) -> Installation | None:
        row = await self._session.scalar(
            select(UserExtensionRow).where(
                UserExtensionRow.user_id == user_id, UserExtensionRow.extension_id == extension_id
            )
        )
        return None if row is None else _installation(row)

    async def install(self, installation: Installation) -> bool:
        statement = (postgresql_insert if self._postgresql else sqlite_insert)(UserExtensionRow).values(
            user_id=installation.user_id,
            extension_id=installation.extension_id,
            version=installation.version,
            is_enabled=installation.is_enabled,
            settings=installation.settings,
            granted_permissions=list(installation.granted_permissions),
            installed_at=installation.installed_at,
            updated_at=installation.updated_at,
        )
        result = await self._session.execute(statement.on_conflict_do_nothing())
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def update_installation(
        self, user_id: UUID, extension_id: UUID, changes: dict[str, Any], *, at: datetime
    ) -> None:
        await self._session.execute(
            update(UserExtensionRow)
            .where(UserExtensionRow.user_id == user_id, UserExtensionRow.extension_id == extension_id)
            .values(**_stored(changes), updated_at=at)
            .execution_options(synchronize_session=False)
        )

    async def uninstall(self, user_id: UUID, extension_id: UUID) -> bool:
        result = await self._session.execute(
            delete(UserExtensionRow).where(
                UserExtensionRow.user_id == user_id, UserExtensionRow.extension_id == extension_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def installations(self, user_id: UUID) -> Sequence[tuple[Installation, Extension]]:
        rows = await self._session.execute(
            select(UserExtensionRow, ExtensionRow)
            .join(ExtensionRow, ExtensionRow.id == UserExtensionRow.extension_id)
            .where(UserExtensionRow.user_id == user_id)
            .order_by(ExtensionRow.name)
        )
        return [(_installation(mine), _extension(extension)) for mine, extension in rows.all()]

    async def count_download(self, extension_id: UUID) -> None:
        await self._session.execute(
            update(ExtensionRow)
            .where(ExtensionRow.id == extension_id)
            .values(download_count=func.coalesce(ExtensionRow.download_count, 0) + 1)
            .execution_options(synchronize_session=False)
        )

    async def save_review(self, review: Review) -> None:
        statement = (postgresql_insert if self._postgresql else sqlite_insert)(ExtensionReviewRow).values(
            extension_id=review.extension_id,
            user_id=review.user_id,
            rating=review.rating,
            review_text=review.text,
            created_at=review.created_at,
            updated_at=review.updated_at,
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[ExtensionReviewRow.extension_id, ExtensionReviewRow.user_id],
                set_={
                    "rating": statement.excluded.rating,
                    "review_text": statement.excluded.review_text,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    async def refresh_rating(self, extension_id: UUID) -> None:
        of_extension = ExtensionReviewRow.extension_id == extension_id
        average = select(func.coalesce(func.round(func.avg(ExtensionReviewRow.rating), 2), 0)).where(of_extension)
        count = select(func.count()).select_from(ExtensionReviewRow).where(of_extension)
        await self._session.execute(
            update(ExtensionRow)
            .where(ExtensionRow.id == extension_id)
            .values(rating_average=average.scalar_subquery(), rating_count=count.scalar_subquery())
            .execution_options(synchronize_session=False)
        )

    async def reviews(self, extension_id: UUID, *, limit: int) -> Sequence[Review]:
        rows = await self._session.scalars(
            select(ExtensionReviewRow)
            .where(ExtensionReviewRow.extension_id == extension_id)
            .order_by(ExtensionReviewRow.updated_at.desc())
            .limit(limit)
        )
        return [_review(row) for row in rows]
