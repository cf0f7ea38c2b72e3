"""execution_jobs: what ran (path) and why it ended (reason, signal, wall time, truncated output).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("path", "reason", "signal", "wall_time_ms", "truncated")


def upgrade() -> None:
    op.add_column("execution_jobs", sa.Column("path", sa.Text(), nullable=True))
    op.add_column("execution_jobs", sa.Column("reason", sa.String(length=30), nullable=True))
    op.add_column("execution_jobs", sa.Column("signal", sa.Integer(), nullable=True))
    op.add_column("execution_jobs", sa.Column("wall_time_ms", sa.Integer(), nullable=True))
    op.add_column(
        "execution_jobs", sa.Column("truncated", sa.Boolean(), server_default=sa.text("false"), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("execution_jobs") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
