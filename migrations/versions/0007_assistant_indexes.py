"""Indexes for the assistant: a person's conversations about a workspace, and a conversation's messages in
order.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "idx_ai_conversations_user_workspace", "ai_conversations", ["user_id", "workspace_id"], unique=False
    )
    op.create_index("idx_ai_messages_conversation", "ai_messages", ["conversation_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("idx_ai_messages_conversation", table_name="ai_messages")
    op.drop_index("idx_ai_conversations_user_workspace", table_name="ai_conversations")
