"""Repositories: SQL in, domain entities out. They never commit; the unit of work does."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from domain.entities import (
    FOLDER_MIME,
    ExploreEntry,
    FileInfo,
    PublicShare,
    SaveTarget,
    SharedWorkspace,
    ShareMember,
    SignInToken,
    User,
    UserSession,
    Workspace,
    WorkspaceFile,
    WorkspaceShare,
)
from domain.values import Language, PermissionLevel, Tier
from persistence.driver_statements import DriverStatement
from persistence.models import (
    FileRow,
    PublicShareRow,
    SignInTokenRow,
    UserRow,
    UserSessionRow,
    WorkspaceRow,
    WorkspaceShareRow,
)


def _user(row: UserRow) -> User:
    assert row.created_at and row.updated_at and row.ai_quota_reset_date
    return User(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        avatar_url=row.avatar_url,
        oauth_provider=row.oauth_provider,
        oauth_id=row.oauth_id,
        subscription_tier=Tier(row.subscription_tier or Tier.FREE),
        ai_quota_used=row.ai_quota_used or 0,
        ai_quota_reset_date=row.ai_quota_reset_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> None:
        self._session.add(
            UserRow(
                id=user.id,
                email=user.email,
                display_name=user.display_name,
                avatar_url=user.avatar_url,
                oauth_provider=user.oauth_provider,
                oauth_id=user.oauth_id,
                subscription_tier=user.subscription_tier.value,
                ai_quota_used=user.ai_quota_used,
                ai_quota_reset_date=user.ai_quota_reset_date,
                created_at=user.created_at,
                updated_at=user.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, user_id: UUID) -> User | None:
        row = await self._session.get(UserRow, user_id)
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._session.scalar(select(UserRow).where(UserRow.email == email))
        return _user(row) if row else None

    async def get_by_oauth(self, provider: str, oauth_id: str) -> User | None:
        row = await self._session.scalar(
            select(UserRow).where(UserRow.oauth_provider == provider, UserRow.oauth_id == oauth_id)
        )
        return _user(row) if row else None

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(UserRow)) or 0)

    async def take_ai_request(self, user_id: UUID, *, today: date, limit: int) -> int | None:
        """One UPDATE that takes a unit only while one is left (or the day has turned, restarting the
        count at 1): concurrent takes queue on the row lock and each sees the others' counts, so no two
        take the last unit."""
        if limit <= 0:
            return None
        stale = or_(UserRow.ai_quota_reset_date.is_(None), UserRow.ai_quota_reset_date < today)
        used = func.coalesce(UserRow.ai_quota_used, 0)
        result = await self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id, or_(stale, used < limit))
            .values(
                ai_quota_used=case((stale, 1), else_=used + 1),
                ai_quota_reset_date=case((stale, today), else_=UserRow.ai_quota_reset_date),
            )
            .returning(UserRow.ai_quota_used)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()

    async def set_tier(self, user_id: UUID, tier: Tier, *, at: datetime) -> None:
        await self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(subscription_tier=tier.value, updated_at=at)
            .execution_options(synchronize_session=False)
        )


def _sign_in_token(row: SignInTokenRow) -> SignInToken:
    assert row.created_at
    return SignInToken(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        expires_at=row.expires_at,
        used_at=row.used_at,
        created_at=row.created_at,
    )


class SqlSignInTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: SignInToken) -> None:
        self._session.add(
            SignInTokenRow(
                id=token.id,
                user_id=token.user_id,
                token_hash=token.token_hash,
                expires_at=token.expires_at,
                used_at=token.used_at,
                created_at=token.created_at,
            )
        )
        await self._session.flush()

    async def get_by_hash(self, token_hash: str) -> SignInToken | None:
        row = await self._session.scalar(select(SignInTokenRow).where(SignInTokenRow.token_hash == token_hash))
        return _sign_in_token(row) if row else None

    async def mark_used(self, token_id: UUID, *, at: datetime) -> bool:
        result = await self._session.execute(
            update(SignInTokenRow)
            .where(SignInTokenRow.id == token_id, SignInTokenRow.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


# The statements every request or save runs, built once (each run then skips building the statement and its
# cache key), on the tables rather than the mapped classes (no ORM bookkeeping for rows nobody keeps).
_SESSIONS = cast(Table, UserSessionRow.__table__)
_WORKSPACES = cast(Table, WorkspaceRow.__table__)
_SESSION_BY_TOKEN = select(_SESSIONS).where(_SESSIONS.c.refresh_token_hash == bindparam("token_hash"))
_WORKSPACE_BY_ID = select(_WORKSPACES).where(_WORKSPACES.c.id == bindparam("workspace_id"))
_TOUCH_UPDATED = (
    update(_WORKSPACES)
    .where(_WORKSPACES.c.id == bindparam("workspace_id"))
    .values(updated_at=bindparam("new_updated_at"))
)


def _session_entity(row: UserSessionRow | Row[Any]) -> UserSession:
    assert row.user_id and row.created_at and row.last_used_at
    return UserSession(
        id=row.id,
        user_id=row.user_id,
        refresh_token_hash=row.refresh_token_hash,
        expires_at=row.expires_at,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        user_agent=row.user_agent,
        address=row.address,
        rotated_at=row.rotated_at,
        previous_token_hash=row.previous_token_hash,
        previous_valid_until=row.previous_valid_until,
    )


class SqlSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: UserSession) -> None:
        self._session.add(
            UserSessionRow(
                id=session.id,
                user_id=session.user_id,
                refresh_token_hash=session.refresh_token_hash,
                expires_at=session.expires_at,
                created_at=session.created_at,
                last_used_at=session.last_used_at,
                user_agent=session.user_agent,
                address=session.address,
                rotated_at=session.rotated_at,
                previous_token_hash=session.previous_token_hash,
                previous_valid_until=session.previous_valid_until,
            )
        )
        await self._session.flush()

    async def get(self, session_id: UUID) -> UserSession | None:
        row = await self._session.scalar(select(UserSessionRow).where(UserSessionRow.id == session_id))
        return _session_entity(row) if row else None

    async def get_by_hash(self, token_hash: str) -> UserSession | None:
        row = (await self._session.execute(_SESSION_BY_TOKEN, {"token_hash": token_hash})).first()
        return _session_entity(row) if row else None

    async def get_by_previous_hash(self, token_hash: str) -> UserSession | None:
        row = await self._session.scalar(select(UserSessionRow).where(UserSessionRow.previous_token_hash == token_hash))
        return _session_entity(row) if row else None

    async def list_for_user(self, user_id: UUID) -> list[UserSession]:
        rows = await self._session.scalars(select(UserSessionRow).where(UserSessionRow.user_id == user_id))
        return [_session_entity(row) for row in rows]

    async def rotate(
        self,
        session_id: UUID,
        *,
        from_hash: str,
        to_hash: str,
        previous_valid_until: datetime,
        at: datetime,
        user_agent: str | None,
        address: str | None,
    ) -> UserSession | None:
        # Conditional on the token still being `from_hash`: of two requests renewing at once, one wins.
        result = await self._session.execute(
            update(UserSessionRow)
            .where(UserSessionRow.id == session_id, UserSessionRow.refresh_token_hash == from_hash)
            .values(
                refresh_token_hash=to_hash,
                previous_token_hash=from_hash,
                previous_valid_until=previous_valid_until,
                rotated_at=at,
                last_used_at=at,
                user_agent=user_agent,
                address=address,
            )
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return await self.get_by_hash(to_hash)

    async def touch(self, session_id: UUID, *, at: datetime) -> None:
        await self._session.execute(
            update(UserSessionRow).where(UserSessionRow.id == session_id).values(last_used_at=at)
        )

    async def delete(self, session_id: UUID) -> None:
        await self._session.execute(delete(UserSessionRow).where(UserSessionRow.id == session_id))

    async def delete_for_user(self, user_id: UUID, *, keep: UUID) -> int:
        result = await self._session.execute(
            delete(UserSessionRow)
            .where(UserSessionRow.user_id == user_id, UserSessionRow.id != keep)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _workspace(row: WorkspaceRow | Row[Any]) -> Workspace:
    assert row.user_id and row.last_accessed_at and row.created_at and row.updated_at
    return Workspace(
        id=row.id,
        owner_id=row.user_id,
        name=row.name,
        description=row.description,
        language=Language(row.language),
        template=row.template or "blank",
        settings=dict(row.settings or {}),
        is_public=bool(row.is_public),
        is_template=bool(row.is_template),
        fork_count=row.fork_count or 0,
        star_count=row.star_count or 0,
        forked_from=row.forked_from,
        last_accessed_at=row.last_accessed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlWorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, workspace: Workspace) -> None:
        self._session.add(
            WorkspaceRow(
                id=workspace.id,
                user_id=workspace.owner_id,
                name=workspace.name,
                description=workspace.description,
                language=workspace.language.value,
                template=workspace.template,
                settings=workspace.settings,
                is_public=workspace.is_public,
                is_template=workspace.is_template,
                fork_count=workspace.fork_count,
                star_count=workspace.star_count,
                forked_from=workspace.forked_from,
                last_accessed_at=workspace.last_accessed_at,
                created_at=workspace.created_at,
                updated_at=workspace.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, workspace_id: UUID) -> Workspace | None:
        row = (await self._session.execute(_WORKSPACE_BY_ID, {"workspace_id": workspace_id})).first()
        return _workspace(row) if row else None

    def _accessible(self, user_id: UUID, now: datetime) -> Select[WorkspaceRow]:
        shared = select(WorkspaceShareRow.workspace_id).where(
            WorkspaceShareRow.shared_with_user_id == user_id,
            or_(WorkspaceShareRow.expires_at.is_(None), WorkspaceShareRow.expires_at > now),
        )
        return (
            select(WorkspaceRow)
            .where(or_(WorkspaceRow.user_id == user_id, WorkspaceRow.id.in_(shared)))
            .order_by(WorkspaceRow.last_accessed_at.desc(), WorkspaceRow.name)
        )

    async def list_accessible(self, user_id: UUID, *, now: datetime) -> Sequence[Workspace]:
        return [_workspace(row) for row in await self._session.scalars(self._accessible(user_id, now))]

    def _matching(self, query: str) -> ColumnElement[bool]:
        """Name or description matches `query`: full-text (the GIN index) on PostgreSQL, plus a substring."""
        substring = or_(
            func.lower(WorkspaceRow.name).contains(query.lower(), autoescape=True),
            func.lower(func.coalesce(WorkspaceRow.description, "")).contains(query.lower(), autoescape=True),
        )
        if self._session.get_bind().dialect.name != "postgresql":
            return substring
        document = func.to_tsvector(
            text("'english'::regconfig"),
            WorkspaceRow.name + " " + func.coalesce(WorkspaceRow.description, ""),
        )
        return or_(substring, document.op("@@")(func.plainto_tsquery(text("'english'::regconfig"), query)))

    async def search_accessible(self, user_id: UUID, query: str, *, now: datetime) -> Sequence[Workspace]:
        rows = await self._session.scalars(self._accessible(user_id, now).where(self._matching(query)))
        return [_workspace(row) for row in rows]

    async def search_public(
        self,
        query: str,
        *,
        sort: str,
        offset: int,
        limit: int,
        templates_only: bool = False,
        language: str | None = None,
    ) -> tuple[Sequence[ExploreEntry], int]:
        conditions: list[ColumnElement[bool]] = [
            WorkspaceRow.is_template.is_(True)
            if templates_only
            else or_(WorkspaceRow.is_public.is_(True), WorkspaceRow.is_template.is_(True))
        ]
        if query:
            conditions.append(self._matching(query))
        if language is not None:
            conditions.append(WorkspaceRow.language == language)
        first: Any = {
            "stars": WorkspaceRow.star_count.desc(),
            "forks": WorkspaceRow.fork_count.desc(),
            "recent": WorkspaceRow.updated_at.desc(),
        }[sort]
        total = await self._session.scalar(select(func.count()).select_from(WorkspaceRow).where(*conditions))
        rows = await self._session.execute(
            select(WorkspaceRow, UserRow.display_name)
            .join(UserRow, UserRow.id == WorkspaceRow.user_id)
            .where(*conditions)
            .order_by(first, WorkspaceRow.updated_at.desc(), WorkspaceRow.id)
            .offset(offset)
            .limit(limit)
        )
        entries = [ExploreEntry(workspace=_workspace(row), owner_name=name or "someone") for row, name in rows]
        return entries, int(total or 0)

    async def add_to_count(self, workspace_id: UUID, counter: str, delta: int) -> None:
        column = {"star_count": WorkspaceRow.star_count, "fork_count": WorkspaceRow.fork_count}[counter]
        await self._session.execute(
            update(WorkspaceRow)
            .where(WorkspaceRow.id == workspace_id)
            .values({column: func.coalesce(column, 0) + delta})
            .execution_options(synchronize_session=False)
        )

    async def update(self, workspace_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        await self._session.execute(
            update(WorkspaceRow).where(WorkspaceRow.id == workspace_id).values(**changes, updated_at=at)
        )

    async def touch_accessed(self, workspace_id: UUID, *, at: datetime) -> None:
        await self._session.execute(
            update(WorkspaceRow).where(WorkspaceRow.id == workspace_id).values(last_accessed_at=at)
        )

    async def touch_updated(self, workspace_id: UUID, *, at: datetime) -> None:
        await self._session.execute(_TOUCH_UPDATED, {"workspace_id": workspace_id, "new_updated_at": at})

    async def delete(self, workspace_id: UUID) -> None:
        await self._session.execute(delete(WorkspaceRow).where(WorkspaceRow.id == workspace_id))

    async def count_owned(self, owner_id: UUID) -> int:
        query = select(func.count()).select_from(WorkspaceRow).where(WorkspaceRow.user_id == owner_id)
        return int(await self._session.scalar(query) or 0)

    async def set_owner(self, workspace_id: UUID, owner_id: UUID, *, at: datetime) -> None:
        await self._session.execute(
            update(WorkspaceRow).where(WorkspaceRow.id == workspace_id).values(user_id=owner_id, updated_at=at)
        )


def _share(row: WorkspaceShareRow) -> WorkspaceShare:
    assert row.workspace_id and row.shared_with_user_id and row.created_at
    return WorkspaceShare(
        id=row.id,
        workspace_id=row.workspace_id,
        shared_by_user_id=row.shared_by_user_id,
        shared_with_user_id=row.shared_with_user_id,
        permission_level=PermissionLevel(row.permission_level),
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def _public_share(row: PublicShareRow) -> PublicShare:
    assert row.workspace_id and row.created_at
    return PublicShare(
        id=row.id,
        workspace_id=row.workspace_id,
        share_token=row.share_token,
        permission_level=PermissionLevel(row.permission_level or PermissionLevel.READ),
        expires_at=row.expires_at,
        view_count=row.view_count or 0,
        created_at=row.created_at,
    )


class SqlShareRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, share: WorkspaceShare) -> None:
        self._session.add(
            WorkspaceShareRow(
                id=share.id,
                workspace_id=share.workspace_id,
                shared_by_user_id=share.shared_by_user_id,
                shared_with_user_id=share.shared_with_user_id,
                permission_level=share.permission_level.value,
                expires_at=share.expires_at,
                created_at=share.created_at,
            )
        )
        await self._session.flush()

    async def for_user(self, workspace_id: UUID, user_id: UUID) -> Sequence[WorkspaceShare]:
        rows = await self._session.scalars(
            select(WorkspaceShareRow).where(
                WorkspaceShareRow.workspace_id == workspace_id,
                WorkspaceShareRow.shared_with_user_id == user_id,
            )
        )
        return [_share(row) for row in rows]

    async def get(self, workspace_id: UUID, share_id: UUID) -> WorkspaceShare | None:
        row = await self._session.get(WorkspaceShareRow, share_id)
        return _share(row) if row is not None and row.workspace_id == workspace_id else None

    async def members(self, workspace_id: UUID) -> Sequence[ShareMember]:
        rows = await self._session.execute(
            select(WorkspaceShareRow, UserRow.email, UserRow.display_name)
            .join(UserRow, UserRow.id == WorkspaceShareRow.shared_with_user_id)
            .where(WorkspaceShareRow.workspace_id == workspace_id)
            .order_by(WorkspaceShareRow.created_at, WorkspaceShareRow.id)
        )
        return [ShareMember(share=_share(row), email=email, display_name=name) for row, email, name in rows]

    async def change(self, share_id: UUID, *, permission_level: PermissionLevel, expires_at: datetime | None) -> None:
        await self._session.execute(
            update(WorkspaceShareRow)
            .where(WorkspaceShareRow.id == share_id)
            .values(permission_level=permission_level.value, expires_at=expires_at)
        )

    async def delete(self, workspace_id: UUID, share_id: UUID) -> bool:
        result = await self._session.execute(
            delete(WorkspaceShareRow).where(
                WorkspaceShareRow.workspace_id == workspace_id, WorkspaceShareRow.id == share_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete_for_user(self, workspace_id: UUID, user_id: UUID) -> None:
        await self._session.execute(
            delete(WorkspaceShareRow).where(
                WorkspaceShareRow.workspace_id == workspace_id, WorkspaceShareRow.shared_with_user_id == user_id
            )
        )

    async def shared_with(self, user_id: UUID, *, now: datetime) -> Sequence[SharedWorkspace]:
        rows = await self._session.execute(
            select(WorkspaceShareRow, WorkspaceRow, UserRow.display_name, UserRow.email)
            .join(WorkspaceRow, WorkspaceRow.id == WorkspaceShareRow.workspace_id)
            .join(UserRow, UserRow.id == WorkspaceRow.user_id)
            .where(
                WorkspaceShareRow.shared_with_user_id == user_id,
                WorkspaceRow.user_id != user_id,
                or_(WorkspaceShareRow.expires_at.is_(None), WorkspaceShareRow.expires_at > now),
            )
            .order_by(WorkspaceRow.last_accessed_at.desc(), WorkspaceRow.name)
        )
        return [
            SharedWorkspace(workspace=_workspace(workspace), owner_name=name or email, share=_share(share))
            for share, workspace, name, email in rows
        ]

    async def add_public(self, share: PublicShare) -> None:
        self._session.add(
            PublicShareRow(
                id=share.id,
                workspace_id=share.workspace_id,
                share_token=share.share_token,
                permission_level=share.permission_level.value,
                expires_at=share.expires_at,
                view_count=share.view_count,
                created_at=share.created_at,
            )
        )
        await self._session.flush()

    async def get_public(self, share_token: str) -> PublicShare | None:
        row = await self._session.scalar(select(PublicShareRow).where(PublicShareRow.share_token == share_token))
        return _public_share(row) if row else None

    async def list_public(self, workspace_id: UUID) -> Sequence[PublicShare]:
        rows = await self._session.scalars(
            select(PublicShareRow)
            .where(PublicShareRow.workspace_id == workspace_id)
            .order_by(PublicShareRow.created_at.desc(), PublicShareRow.id)
        )
        return [_public_share(row) for row in rows]

    async def delete_public(self, workspace_id: UUID, link_id: UUID) -> bool:
        result = await self._session.execute(
            delete(PublicShareRow).where(PublicShareRow.workspace_id == workspace_id, PublicShareRow.id == link_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_public_view(self, link_id: UUID) -> int | None:
        count = await self._session.scalar(
            update(PublicShareRow)
            .where(PublicShareRow.id == link_id)
            .values(view_count=func.coalesce(PublicShareRow.view_count, 0) + 1)
            .returning(PublicShareRow.view_count)
        )
        return None if count is None else int(count)


def _file(row: FileRow, *, with_content: bool = True) -> WorkspaceFile:
    assert row.workspace_id and row.created_at and row.updated_at
    return WorkspaceFile(
        id=row.id,
        workspace_id=row.workspace_id,
        path=row.path,
        content=row.content if with_content else None,
        content_hash=row.content_hash or "",
        size_bytes=row.size_bytes or 0,
        mime_type=row.mime_type,
        is_binary=bool(row.is_binary),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _inside(folder: str) -> ColumnElement[bool]:
    """Paths inside `folder`, compared exactly (LIKE would ignore case on SQLite)."""
    prefix = folder + "/"
    return func.substr(FileRow.path, 1, len(prefix)) == prefix


def _starts_with(folder: str, *, postgresql: bool) -> ColumnElement[bool]:
    """Paths inside `folder` ("" for the root: all), as a range of the binary order of paths, which
    an index on (workspace_id, path) answers: `a/` <= path < `a0` (the character after "/" is "0").
    No LIKE, so "_" and "%" in a name are plain characters; the comparison is exact (LIKE ignores case
    on SQLite). PostgreSQL compares in the "C" collation: the database's may order "/" elsewhere."""
    if not folder:
        return FileRow.workspace_id.is_not(None)
    path = FileRow.path.collate("C") if postgresql else FileRow.path
    return (path >= folder + "/") & (path < folder + "0")


def _rest(folder: str) -> ColumnElement[str]:
    """A path without `folder` and its "/" (the whole path for the root)."""
    return func.substr(FileRow.path, len(folder) + 2 if folder else 1)


def _first_segment(rest: ColumnElement[str], *, postgresql: bool) -> ColumnElement[str]:
    """The part of `rest` before its first "/" (`rest` holds one)."""
    if postgresql:
        return func.split_part(rest, "/", 1)
    return func.substr(rest, 1, func.instr(rest, "/") - 1)


_INFO_COLUMNS = (
    FileRow.path,
    FileRow.size_bytes,
    FileRow.content_hash,
    FileRow.mime_type,
    FileRow.is_binary,
    FileRow.updated_at,
)


def _info(row: Any, *, prefix: str = "") -> FileInfo:
    """An entry's `_INFO_COLUMNS`, each named `prefix` + its column's name."""
    values = row._mapping
    return FileInfo(
        path=values[f"{prefix}path"],
        size_bytes=values[f"{prefix}size_bytes"] or 0,
        content_hash=values[f"{prefix}content_hash"] or "",
        mime_type=values[f"{prefix}mime_type"],
        is_binary=bool(values[f"{prefix}is_binary"]),
        updated_at=values[f"{prefix}updated_at"],
    )


_FILES = cast(Table, FileRow.__table__)
_USERS = cast(Table, UserRow.__table__)


def _save_target() -> Select[Any]:
    """What a save reads, in one query: the workspace, the entry at the path (if any, its columns named
    `file_*`), the workspace's entry count and bytes, and its owner's plan. Built once: a save runs it with
    its own values."""
    workspace_id: BindParameter[UUID] = bindparam("workspace_id")
    in_workspace = _FILES.c.workspace_id == workspace_id
    info = [_FILES.c[column.key] for column in _INFO_COLUMNS]
    entry = select(*info).where(in_workspace, _FILES.c.path == bindparam("path")).subquery()
    return (
        select(
            _WORKSPACES,
            select(func.count()).select_from(_FILES).where(in_workspace).scalar_subquery().label("entries"),
            select(func.coalesce(func.sum(_FILES.c.size_bytes), 0))
            .where(in_workspace)
            .scalar_subquery()
            .label("total_bytes"),
            select(_USERS.c.subscription_tier)
            .where(_USERS.c.id == _WORKSPACES.c.user_id)
            .scalar_subquery()
            .label("tier"),
            *(column.label(f"file_{column.name}") for column in entry.c),
        )
        .select_from(_WORKSPACES.outerjoin(entry, true()))
        .where(_WORKSPACES.c.id == workspace_id)
    )


_SAVE_TARGET = DriverStatement(_save_target())
_REPLACE_CONTENT = DriverStatement(
    update(_FILES)
    .where(
        _FILES.c.workspace_id == bindparam("at_workspace_id"),
        _FILES.c.path == bindparam("at_path"),
        _FILES.c.content_hash == bindparam("at_expected_hash"),
    )
    .values(
        content=bindparam("new_content"),
        content_hash=bindparam("new_content_hash"),
        size_bytes=bindparam("new_size_bytes"),
        mime_type=bindparam("new_mime_type"),
        is_binary=bindparam("new_is_binary"),
        updated_at=bindparam("new_updated_at"),
    )
)


class SqlFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, file: WorkspaceFile) -> None:
        self._session.add(
            FileRow(
                id=file.id,
                workspace_id=file.workspace_id,
                path=file.path,
                content=file.content,
                content_hash=file.content_hash,
                size_bytes=file.size_bytes,
                mime_type=file.mime_type,
                is_binary=file.is_binary,
                created_at=file.created_at,
                updated_at=file.updated_at,
            )
        )
        await self._session.flush()

    async def add_many(self, files: Sequence[WorkspaceFile]) -> None:
        rows = [
            {
                "id": f.id,
                "workspace_id": f.workspace_id,
                "path": f.path,
                "content": f.content,
                "content_hash": f.content_hash,
                "size_bytes": f.size_bytes,
                "mime_type": f.mime_type,
                "is_binary": f.is_binary,
                "created_at": f.created_at,
                "updated_at": f.updated_at,
            }
            for f in files
        ]
        for start in range(0, len(rows), 500):
            await self._session.execute(insert(FileRow), rows[start : start + 500])

    async def list(self, workspace_id: UUID) -> Sequence[WorkspaceFile]:
        rows = await self._session.scalars(
            select(FileRow).where(FileRow.workspace_id == workspace_id).order_by(FileRow.path)
        )
        return [_file(row) for row in rows]

    async def list_info(self, workspace_id: UUID) -> Sequence[FileInfo]:
        rows = await self._session.execute(
            select(*_INFO_COLUMNS).where(FileRow.workspace_id == workspace_id).order_by(FileRow.path)
        )
        return [_info(row) for row in rows]

    async def get(self, workspace_id: UUID, path: str) -> WorkspaceFile | None:
        row = await self._session.scalar(
            select(FileRow).where(FileRow.workspace_id == workspace_id, FileRow.path == path)
        )
        return _file(row) if row else None

    async def get_many(self, workspace_id: UUID, paths: Sequence[str]) -> Sequence[WorkspaceFile]:
        if not paths:
            return []
        rows = await self._session.scalars(
            select(FileRow)
            .options(defer(FileRow.content))
            .where(FileRow.workspace_id == workspace_id, FileRow.path.in_(list(paths)))
        )
        return [_file(row, with_content=False) for row in rows]

    async def under(self, workspace_id: UUID, folder: str) -> Sequence[WorkspaceFile]:
        rows = await self._session.scalars(
            select(FileRow)
            .options(defer(FileRow.content))
            .where(FileRow.workspace_id == workspace_id, _inside(folder))
            .order_by(FileRow.path)
        )
        return [_file(row, with_content=False) for row in rows]

    def _postgresql(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    async def direct(self, workspace_id: UUID, folder: str) -> Sequence[FileInfo]:
        postgresql = self._postgresql()
        rest = _rest(folder)
        rows = await self._session.execute(
            select(*_INFO_COLUMNS).where(
                FileRow.workspace_id == workspace_id,
                _starts_with(folder, postgresql=postgresql),
                rest.not_like("%/%"),
            )
        )
        return [_info(row) for row in rows]

    async def subfolders(self, workspace_id: UUID, folder: str) -> Sequence[str]:
        postgresql = self._postgresql()
        rest = _rest(folder)
        names = await self._session.scalars(
            select(_first_segment(rest, postgresql=postgresql))
            .where(
                FileRow.workspace_id == workspace_id,
                _starts_with(folder, postgresql=postgresql),
                rest.like("%/%"),
            )
            .distinct()
        )
        prefix = folder + "/" if folder else ""
        return [prefix + name for name in names]

    async def file_paths(
        self, workspace_id: UUID, *, among: Collection[str] | None = None, limit: int | None = None
    ) -> Sequence[str]:
        query = (
            select(FileRow.path)
            .where(
                FileRow.workspace_id == workspace_id,
                or_(FileRow.mime_type.is_(None), FileRow.mime_type != FOLDER_MIME),
            )
            .order_by(FileRow.path)
        )
        if among is not None:
            query = query.where(FileRow.path.in_(list(among)))
        if limit is not None:
            query = query.limit(limit)
        return list(await self._session.scalars(query))

    async def usage(self, workspace_id: UUID) -> tuple[int, int]:
        row = (
            await self._session.execute(
                select(func.count(), func.coalesce(func.sum(FileRow.size_bytes), 0)).where(
                    FileRow.workspace_id == workspace_id
                )
            )
        ).one()
        return int(row[0]), int(row[1] or 0)

    async def save_target(self, workspace_id: UUID, path: str) -> SaveTarget | None:
        row = await _SAVE_TARGET.first(self._session, {"workspace_id": workspace_id, "path": path})
        if row is None:
            return None
        return SaveTarget(
            workspace=_workspace(row),
            existing=None if row.file_path is None else _info(row, prefix="file_"),
            entries=int(row.entries),
            total_bytes=int(row.total_bytes or 0),
            owner_tier=None if row.tier is None else Tier(row.tier),
        )

    async def replace_content(
        self,
        workspace_id: UUID,
        path: str,
        *,
        expected_hash: str,
        content: str,
        content_hash: str,
        size_bytes: int,
        mime_type: str,
        is_binary: bool,
        updated_at: datetime,
    ) -> bool:
        changed = await _REPLACE_CONTENT.rowcount(
            self._session,
            {
                "at_workspace_id": workspace_id,
                "at_path": path,
                "at_expected_hash": expected_hash,
                "new_content": content,
                "new_content_hash": content_hash,
                "new_size_bytes": size_bytes,
                "new_mime_type": mime_type,
                "new_is_binary": is_binary,
                "new_updated_at": updated_at,
            },
        )
        return changed > 0

    async def rename(self, file_id: UUID, path: str, *, at: datetime) -> None:
        await self._session.execute(
            update(FileRow)
            .where(FileRow.id == file_id)
            .values(path=path, updated_at=at)
            .execution_options(synchronize_session=False)
        )

    async def delete_tree(self, workspace_id: UUID, path: str) -> int:
        result = await self._session.execute(
            delete(FileRow)
            .where(
                FileRow.workspace_id == workspace_id,
                or_(FileRow.path == path, _inside(path)),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
