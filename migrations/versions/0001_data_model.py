"""The whole data model of shared/spec/data-model.md, plus sign_in_tokens.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.types import JSONDocument, TextArray, UTCDateTime, current_date, gen_random_uuid, utc_now

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FALSE = sa.text("false")
TRUE = sa.text("true")

FULL_TEXT_INDEXES = {
    "idx_workspaces_search": "workspaces USING gin (to_tsvector('english', name || ' ' || coalesce(description, '')))",
    "idx_extensions_search": (
        "extensions USING gin (to_tsvector('english', display_name || ' ' || coalesce(description, '')))"
    ),
}


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("oauth_provider", sa.String(length=50), nullable=False),
        sa.Column("oauth_id", sa.String(length=255), nullable=False),
        sa.Column("subscription_tier", sa.String(length=20), server_default=sa.text("'free'"), nullable=True),
        sa.Column("ai_quota_used", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("ai_quota_reset_date", sa.Date(), server_default=current_date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("oauth_provider", "oauth_id", name=op.f("uq_users_oauth_provider_oauth_id")),
    )
    op.create_index("idx_users_oauth", "users", ["oauth_provider", "oauth_id"], unique=False)

    op.create_table(
        "extension_bundles",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("is_official", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_extension_bundles_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_bundles")),
    )
    op.create_table(
        "extensions",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("manifest", JSONDocument, nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("download_url", sa.Text(), nullable=True),
        sa.Column("icon_url", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("tags", TextArray, nullable=True),
        sa.Column("download_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("rating_average", sa.Numeric(precision=3, scale=2), server_default=sa.text("0.0"), nullable=True),
        sa.Column("rating_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("is_verified", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("is_featured", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_extensions_author_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extensions")),
        sa.UniqueConstraint("name", name=op.f("uq_extensions_name")),
    )
    op.create_index(
        "idx_extensions_category_featured",
        "extensions",
        ["category", "is_featured", sa.text("published_at DESC")],
        unique=False,
    )

    op.create_table(
        "sign_in_tokens",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_tokens_token_hash")),
    )
    op.create_table(
        "user_ai_tokens",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("encrypted_token", sa.Text(), nullable=False),
        sa.Column("token_name", sa.String(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=TRUE, nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_ai_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_ai_tokens")),
        sa.UniqueConstraint(
            "user_id", "provider", "token_name", name=op.f("uq_user_ai_tokens_user_id_provider_token_name")
        ),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("refresh_token_hash", sa.String(length=255), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_refresh_token_hash", "user_sessions", ["refresh_token_hash"], unique=False)

    op.create_table(
        "workspaces",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=50), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("settings", JSONDocument, server_default=sa.text("'{}'"), nullable=True),
        sa.Column("is_public", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("is_template", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("fork_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("star_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_accessed_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_workspaces_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_index(
        "idx_workspaces_user_accessed", "workspaces", ["user_id", sa.text("last_accessed_at DESC")], unique=False
    )

    op.create_table(
        "ai_conversations",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ai_conversations_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ai_conversations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_conversations")),
    )
    op.create_table(
        "ai_usage_logs",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("request_type", sa.String(length=50), nullable=False),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        sa.Column("response_time_ms", sa.Integer(), nullable=True),
        sa.Column("success", sa.Boolean(), server_default=TRUE, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ai_usage_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ai_usage_logs_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_usage_logs")),
    )
    op.create_index("idx_ai_usage_user_date", "ai_usage_logs", ["user_id", sa.text("created_at DESC")], unique=False)

    op.create_table(
        "bundle_extensions",
        sa.Column("bundle_id", sa.Uuid(), nullable=False),
        sa.Column("extension_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["extension_bundles.id"],
            name=op.f("fk_bundle_extensions_bundle_id_extension_bundles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["extension_id"],
            ["extensions.id"],
            name=op.f("fk_bundle_extensions_extension_id_extensions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bundle_id", "extension_id", name=op.f("pk_bundle_extensions")),
    )
    op.create_table(
        "compilation_jobs",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(length=50), nullable=False),
        sa.Column("source_files", JSONDocument, nullable=False),
        sa.Column("compiler_options", JSONDocument, server_default=sa.text("'{}'"), nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=True),
        sa.Column("stderr", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("execution_time_ms", sa.Integer(), nullable=True),
        sa.Column("memory_used_kb", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_compilation_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_compilation_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compilation_jobs")),
    )
    op.create_table(
        "extension_reviews",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("extension_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("review_text", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name=op.f("ck_extension_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["extension_id"],
            ["extensions.id"],
            name=op.f("fk_extension_reviews_extension_id_extensions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_extension_reviews_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_reviews")),
        sa.UniqueConstraint("extension_id", "user_id", name=op.f("uq_extension_reviews_extension_id_user_id")),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("mime_type", sa.String(length=100), nullable=True),
        sa.Column("is_binary", sa.Boolean(), server_default=FALSE, nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_files_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("workspace_id", "path", name=op.f("uq_files_workspace_id_path")),
    )
    op.create_index("idx_files_workspace_path", "files", ["workspace_id", "path"], unique=False)

    op.create_table(
        "public_shares",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("share_token", sa.String(length=255), nullable=False),
        sa.Column("permission_level", sa.String(length=20), server_default=sa.text("'read'"), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_public_shares_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_shares")),
        sa.UniqueConstraint("share_token", name=op.f("uq_public_shares_share_token")),
    )
    op.create_table(
        "user_extensions",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("extension_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=TRUE, nullable=True),
        sa.Column("settings", JSONDocument, server_default=sa.text("'{}'"), nullable=True),
        sa.Column("installed_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["extension_id"],
            ["extensions.id"],
            name=op.f("fk_user_extensions_extension_id_extensions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_extensions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_extensions")),
        sa.UniqueConstraint("user_id", "extension_id", name=op.f("uq_user_extensions_user_id_extension_id")),
    )
    op.create_table(
        "workspace_shares",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("shared_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("shared_with_user_id", sa.Uuid(), nullable=True),
        sa.Column("permission_level", sa.String(length=20), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shared_by_user_id"],
            ["users.id"],
            name=op.f("fk_workspace_shares_shared_by_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shared_with_user_id"],
            ["users.id"],
            name=op.f("fk_workspace_shares_shared_with_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_shares_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_shares")),
    )
    op.create_table(
        "ai_messages",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", JSONDocument, server_default=sa.text("'{}'"), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["ai_conversations.id"],
            name=op.f("fk_ai_messages_conversation_id_ai_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_messages")),
    )
    op.create_table(
        "execution_jobs",
        sa.Column("id", sa.Uuid(), server_default=gen_random_uuid(), nullable=False),
        sa.Column("compilation_job_id", sa.Uuid(), nullable=True),
        sa.Column("stdin", sa.Text(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=True),
        sa.Column("stderr", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("execution_time_ms", sa.Integer(), nullable=True),
        sa.Column("memory_used_kb", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["compilation_job_id"],
            ["compilation_jobs.id"],
            name=op.f("fk_execution_jobs_compilation_job_id_compilation_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_jobs")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, target in FULL_TEXT_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in FULL_TEXT_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_table("execution_jobs")
    op.drop_table("ai_messages")
    op.drop_table("workspace_shares")
    op.drop_table("user_extensions")
    op.drop_table("public_shares")
    op.drop_index("idx_files_workspace_path", table_name="files")

    op.drop_table("files")
    op.drop_table("extension_reviews")
    op.drop_table("compilation_jobs")
    op.drop_table("bundle_extensions")
    op.drop_index("idx_ai_usage_user_date", table_name="ai_usage_logs")

    op.drop_table("ai_usage_logs")
    op.drop_table("ai_conversations")
    op.drop_index("idx_workspaces_user_accessed", table_name="workspaces")

    op.drop_table("workspaces")
    op.drop_index("ix_user_sessions_refresh_token_hash", table_name="user_sessions")

    op.drop_table("user_sessions")
    op.drop_table("user_ai_tokens")
    op.drop_table("sign_in_tokens")
    op.drop_index("idx_extensions_category_featured", table_name="extensions")

    op.drop_table("extensions")
    op.drop_table("extension_bundles")
    op.drop_index("idx_users_oauth", table_name="users")

    op.drop_table("users")
