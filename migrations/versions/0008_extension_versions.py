"""Extension versions: every published package of an extension with its review status (a new version of an
approved extension waits for approval while the approved one stays installable), and the permissions a
person granted when installing (user_extensions.granted_permissions).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.types import JSONDocument, TextArray, UTCDateTime, gen_random_uuid, utc_now

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extension_versions",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("extension_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("manifest", JSONDocument, nullable=False),
        sa.Column("package", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["extension_id"],
            ["extensions.id"],
            name=op.f("fk_extension_versions_extension_id_extensions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_versions")),
        sa.UniqueConstraint("extension_id", "version", name=op.f("uq_extension_versions_extension_id_version")),
    )
    with op.batch_alter_table("user_extensions") as batch:
        batch.add_column(sa.Column("granted_permissions", TextArray, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_extensions") as batch:
        batch.drop_column("granted_permissions")
    op.drop_table("extension_versions")
