"""One share per person and workspace (inviting someone again changes their share), and an index for the
dashboard's "Shared with me" (shares by person).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing made duplicates before this revision, but a hand-made row may have: keep the strongest share.
    op.execute(
        """
        DELETE FROM workspace_shares WHERE id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (
                    PARTITION BY workspace_id, shared_with_user_id
                    ORDER BY CASE permission_level WHEN 'admin' THEN 0 WHEN 'write' THEN 1 ELSE 2 END, created_at DESC
                ) AS n FROM workspace_shares
            ) AS ranked WHERE n > 1
        )
        """
    )
    op.create_index(
        "uq_workspace_shares_workspace_person",
        "workspace_shares",
        ["workspace_id", "shared_with_user_id"],
        unique=True,
    )
    op.create_index("idx_workspace_shares_person", "workspace_shares", ["shared_with_user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("idx_workspace_shares_person", table_name="workspace_shares")
    op.drop_index("uq_workspace_shares_workspace_person", table_name="workspace_shares")
