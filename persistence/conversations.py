"""The assistant's tables: conversations (`ai_conversations`), their messages (`ai_messages`, the metadata as
JSON) and one row per request to a provider (`ai_usage_logs`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.chat import ChatMessage, Conversation, Role, UsageRecord
from persistence.models import AIConversationRow, AIMessageRow, AIUsageLogRow


def _conversation(row: AIConversationRow) -> Conversation:
    assert row.user_id and row.workspace_id and row.created_at and row.updated_at
    return Conversation(
        id=row.id,
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _message(row: AIMessageRow) -> ChatMessage:
    assert row.conversation_id and row.created_at
    return ChatMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        role=Role(row.role),
        content=row.content,
        metadata=dict(row.metadata_ or {}),
        created_at=row.created_at,
    )


def _record(row: AIUsageLogRow) -> UsageRecord:
    assert row.user_id and row.created_at
    return UsageRecord(
        id=row.id,
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        provider=row.provider,
        request_type=row.request_type,
        tokens_used=row.tokens_used,
        response_time_ms=row.response_time_ms or 0,
        success=row.success is not False,
        error_message=row.error_message,
        created_at=row.created_at,
    )


class SqlConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, conversation: Conversation) -> None:
        self._session.add(
            AIConversationRow(
                id=conversation.id,
                user_id=conversation.user_id,
                workspace_id=conversation.workspace_id,
                title=conversation.title,
                created_at=conversation.created_at,
                updated_at=conversation.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, conversation_id: UUID) -> Conversation | None:
        row = await self._session.get(AIConversationRow, conversation_id)
        return _conversation(row) if row else None

    async def of(self, user_id: UUID, workspace_id: UUID) -> Sequence[Conversation]:
        rows = await self._session.scalars(
            select(AIConversationRow)
            .where(AIConversationRow.user_id == user_id, AIConversationRow.workspace_id == workspace_id)
            .order_by(AIConversationRow.updated_at.desc(), AIConversationRow.id)
        )
        return [_conversation(row) for row in rows]

    async def update(self, conversation_id: UUID, *, title: str | None = None, at: datetime) -> None:
        changes: dict[str, Any] = {"updated_at": at}
        if title is not None:
            changes["title"] = title
        await self._session.execute(
            update(AIConversationRow).where(AIConversationRow.id == conversation_id).values(**changes)
        )

    async def delete(self, conversation_id: UUID) -> None:
        # The foreign key cascades on PostgreSQL; SQLite enforces it only when asked to, so say it here too.
        await self._session.execute(delete(AIMessageRow).where(AIMessageRow.conversation_id == conversation_id))
        await self._session.execute(delete(AIConversationRow).where(AIConversationRow.id == conversation_id))


class SqlChatMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: ChatMessage) -> None:
        self._session.add(
            AIMessageRow(
                id=message.id,
                conversation_id=message.conversation_id,
                role=message.role.value,
                content=message.content,
                metadata_=message.metadata,
                created_at=message.created_at,
            )
        )
        await self._session.flush()

    async def of(self, conversation_id: UUID) -> Sequence[ChatMessage]:
        rows = await self._session.scalars(
            select(AIMessageRow)
            .where(AIMessageRow.conversation_id == conversation_id)
            .order_by(AIMessageRow.created_at, AIMessageRow.id)
        )
        return [_message(row) for row in rows]


class SqlAIUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, record: UsageRecord) -> None:
        self._session.add(
            AIUsageLogRow(
                id=record.id,
                user_id=record.user_id,
                workspace_id=record.workspace_id,
                provider=record.provider,
                request_type=record.request_type,
                tokens_used=record.tokens_used,
                response_time_ms=record.response_time_ms,
                success=record.success,
                error_message=record.error_message,
                created_at=record.created_at,
            )
        )
        await self._session.flush()

    async def of(self, user_id: UUID) -> Sequence[UsageRecord]:
        rows = await self._session.scalars(
            select(AIUsageLogRow)
            .where(AIUsageLogRow.user_id == user_id)
            .order_by(AIUsageLogRow.created_at, AIUsageLogRow.id)
        )
        return [_record(row) for row in rows]
