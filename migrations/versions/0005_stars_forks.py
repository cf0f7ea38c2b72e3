"""Stars and forks: workspace_stars (who starred which workspace, once each) and workspaces.forked_from
(the workspace a fork was copied from; NULL again when that one is deleted).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.types import UTCDateTime, utc_now

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_stars",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_workspace_stars_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_stars_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "workspace_id", name=op.f("pk_workspace_stars")),
    )
    op.create_index("idx_workspace_stars_workspace", "workspace_stars", ["workspace_id"], unique=False)
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("forked_from", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_workspaces_forked_from_workspaces"), "workspaces", ["forked_from"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_constraint(op.f("fk_workspaces_forked_from_workspaces"), type_="foreignkey")
        batch.drop_column("forked_from")
    op.drop_index("idx_workspace_stars_workspace", table_name="workspace_stars")
    op.drop_table("workspace_stars")
