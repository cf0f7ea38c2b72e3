"""The SQLAlchemy unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.errors import Conflict
from persistence.ai_keys import SqlAIKeyRepository
from persistence.conversations import SqlAIUsageRepository, SqlChatMessageRepository, SqlConversationRepository
from persistence.database import CONNECTION_ERRORS, unavailable
from persistence.extension_bundles import SqlBundleRepository
from persistence.extensions import SqlExtensionRepository
from persistence.identities import SqlIdentityRepository
from persistence.jobs import SqlJobRepository
from persistence.repositories import (
    SqlFileRepository,
    SqlSessionRepository,
    SqlShareRepository,
    SqlSignInTokenRepository,
    SqlUserRepository,
    SqlWorkspaceRepository,
)
from persistence.stars import SqlStarRepository


class SqlUnitOfWork:
    users: SqlUserRepository
    sign_in_tokens: SqlSignInTokenRepository
    sessions: SqlSessionRepository
    identities: SqlIdentityRepository
    workspaces: SqlWorkspaceRepository
    shares: SqlShareRepository
    stars: SqlStarRepository
    files: SqlFileRepository
    jobs: SqlJobRepository
    ai_keys: SqlAIKeyRepository
    conversations: SqlConversationRepository
    chat_messages: SqlChatMessageRepository
    ai_usage: SqlAIUsageRepository
    extensions: SqlExtensionRepository
    bundles: SqlBundleRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._each_statement = False

    async def __aenter__(self) -> Self:
        session = self._session = self._session_factory()
        self._each_statement = False
        self.users = SqlUserRepository(session)
        self.sign_in_tokens = SqlSignInTokenRepository(session)
        self.sessions = SqlSessionRepository(session)
        self.identities = SqlIdentityRepository(session)
        self.workspaces = SqlWorkspaceRepository(session)
        self.shares = SqlShareRepository(session)
        self.stars = SqlStarRepository(session)
        self.files = SqlFileRepository(session)
        self.jobs = SqlJobRepository(session)
        self.ai_keys = SqlAIKeyRepository(session)
        self.conversations = SqlConversationRepository(session)
        self.chat_messages = SqlChatMessageRepository(session)
        self.ai_usage = SqlAIUsageRepository(session)
        self.extensions = SqlExtensionRepository(session)
        self.bundles = SqlBundleRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self._session.close()  # rolls back whatever was not committed
        finally:
            self._session = None
        if isinstance(exc, IntegrityError):
            raise Conflict("That change clashes with something stored already.") from exc
        if isinstance(exc, CONNECTION_ERRORS):
            bind = self._session_factory.kw.get("bind")
            if bind is not None:
                raise unavailable(bind.url, exc) from exc

    async def commit(self) -> None:
        assert self._session is not None, "commit() outside `async with`"
        session = self._session
        if not self._each_statement:
            await session.commit()
        elif session.new or session.dirty or session.deleted:
            await session.flush()  # each statement commits itself: only what the ORM holds back is left

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()

    async def commit_each_statement(self) -> None:
        """On PostgreSQL, AUTOCOMMIT on this unit of work's connection (SQLAlchemy sets the connection back
        when it returns to the pool): no BEGIN and COMMIT round trips around a save's two statements. On
        SQLite one transaction costs nothing more (its statements run on the event loop) and stays."""
        assert self._session is not None, "commit_each_statement() outside `async with`"
        bind = self._session_factory.kw.get("bind")
        if bind is not None and bind.dialect.name == "postgresql":
            await self._session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            self._each_statement = True


class SqlUnitOfWorkFactory:
    """Makes a fresh unit of work per use case; holds the engine's session factory."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)
