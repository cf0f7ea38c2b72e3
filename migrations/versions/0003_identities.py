"""user_identities: every way into an account (GitHub, Google, a local account's printed link); each
existing account gets its own (oauth_provider, oauth_id) as its first identity.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.types import UTCDateTime, gen_random_uuid, utc_now

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_identities",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("provider", "provider_id", name=op.f("uq_user_identities_provider_provider_id")),
    )
    op.execute(
        "INSERT INTO user_identities (user_id, provider, provider_id, email, created_at) "
        "SELECT id, oauth_provider, oauth_id, email, created_at FROM users"
    )


def downgrade() -> None:
    op.drop_table("user_identities")
