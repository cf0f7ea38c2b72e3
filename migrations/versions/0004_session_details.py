"""user_sessions: the browser (user agent, address) and token rotation (when the current token was issued,
the token it replaced and until when that one is still accepted).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("user_agent", "address", "rotated_at", "previous_token_hash", "previous_valid_until")


def upgrade() -> None:
    op.add_column("user_sessions", sa.Column("user_agent", sa.String(length=512), nullable=True))
    op.add_column("user_sessions", sa.Column("address", sa.String(length=64), nullable=True))
    op.add_column("user_sessions", sa.Column("rotated_at", UTCDateTime(), nullable=True))
    op.add_column("user_sessions", sa.Column("previous_token_hash", sa.String(length=255), nullable=True))
    op.add_column("user_sessions", sa.Column("previous_valid_until", UTCDateTime(), nullable=True))
    op.create_index("ix_user_sessions_previous_token_hash", "user_sessions", ["previous_token_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_sessions_previous_token_hash", table_name="user_sessions")
    with op.batch_alter_table("user_sessions") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
