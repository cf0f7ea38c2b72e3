"""The tables of `shared/spec/data-model.md`, as typed SQLAlchemy 2 models.

Every column, default, unique constraint, check, foreign key (with its ON DELETE rule) and index of
the spec is here; `sign_in_tokens` is Codeloft's own addition for one-time sign-in links. The
full-text GIN indexes exist on PostgreSQL only."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from persistence.types import JSONDocument, TextArray, UTCDateTime, current_date, gen_random_uuid, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid(), primary_key=True, default=uuid.uuid4, server_default=gen_random_uuid())


def _timestamp(*, nullable: bool = True) -> Mapped[Any]:
    return mapped_column(UTCDateTime(), nullable=nullable, server_default=utc_now())


def _fk(target: str, ondelete: str, *, nullable: bool = True) -> Mapped[Any]:
    return mapped_column(Uuid(), ForeignKey(target, ondelete=ondelete), nullable=nullable)


FALSE = text("false")
TRUE = text("true")


# --- Users & authentication -------------------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("oauth_provider", "oauth_id"),
        Index("idx_users_oauth", "oauth_provider", "oauth_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    email: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(Text)
    oauth_provider: Mapped[str] = mapped_column(String(50))
    oauth_id: Mapped[str] = mapped_column(String(255))
    subscription_tier: Mapped[str | None] = mapped_column(String(20), server_default=text("'free'"))
    ai_quota_used: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    ai_quota_reset_date: Mapped[date | None] = mapped_column(Date, server_default=current_date())
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class UserAITokenRow(Base):
    __tablename__ = "user_ai_tokens"
    __table_args__ = (UniqueConstraint("user_id", "provider", "token_name"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    provider: Mapped[str] = mapped_column(String(50))
    encrypted_token: Mapped[str] = mapped_column(Text)
    token_name: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default=TRUE)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class UserSessionRow(Base):
    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    refresh_token_hash: Mapped[str] = mapped_column(String(255), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = _timestamp()
    last_used_at: Mapped[datetime | None] = _timestamp()
    # Codeloft's additions (migration 0004): the browser, and the token rotation's previous token and grace.
    user_agent: Mapped[str | None] = mapped_column(String(512))
    address: Mapped[str | None] = mapped_column(String(64))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_token_hash: Mapped[str | None] = mapped_column(String(255), index=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInTokenRow(Base):
    __tablename__ = "sign_in_tokens"

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = _fk("users.id", "CASCADE", nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = _timestamp()


class UserIdentityRow(Base):
    """Codeloft's own addition: every way into an account (GitHub, Google, a local account's printed
    link); the `users` row's (oauth_provider, oauth_id) records the first."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("provider", "provider_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = _fk("users.id", "CASCADE", nullable=False)
    provider: Mapped[str] = mapped_column(String(50))
    provider_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = _timestamp()


# --- Workspaces & projects --------------------------------------------------------------------


class WorkspaceRow(Base):
    __tablename__ = "workspaces"
    __table_args__ = (
        Index(
            "idx_workspaces_search",
            text("to_tsvector('english'::regconfig, (((name)::text || ' '::text) || COALESCE(description, ''::text)))"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(50))
    template: Mapped[str | None] = mapped_column(String(100))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, server_default=text("'{}'"))
    is_public: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    is_template: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    fork_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    star_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    last_accessed_at: Mapped[datetime | None] = _timestamp()
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()
    # Codeloft's own addition: the workspace this one was forked from
    forked_from: Mapped[uuid.UUID | None] = _fk("workspaces.id", "SET NULL")


class FileRow(Base):
    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("workspace_id", "path"),
        Index("idx_files_workspace_path", "workspace_id", "path"),
        Index("idx_files_workspace_size", "workspace_id", "size_bytes"),  # usage from the index: 0009
    )

    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "CASCADE")
    path: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    is_binary: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class WorkspaceShareRow(Base):
    __tablename__ = "workspace_shares"
    __table_args__ = (
        # one share a person and workspace; "Shared with me" reads by person
        Index("uq_workspace_shares_workspace_person", "workspace_id", "shared_with_user_id", unique=True),
        Index("idx_workspace_shares_person", "shared_with_user_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "CASCADE")
    shared_by_user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    shared_with_user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    permission_level: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = _timestamp()


class PublicShareRow(Base):
    __tablename__ = "public_shares"

    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "CASCADE")
    share_token: Mapped[str] = mapped_column(String(255), unique=True)
    permission_level: Mapped[str | None] = mapped_column(String(20), server_default=text("'read'"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    view_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime | None] = _timestamp()


class WorkspaceStarRow(Base):
    """Codeloft's own addition: who starred which workspace, once each (`workspaces.star_count` counts them)."""

    __tablename__ = "workspace_stars"
    __table_args__ = (Index("idx_workspace_stars_workspace", "workspace_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime | None] = _timestamp()


# --- AI usage & analytics ---------------------------------------------------------------------


class AIUsageLogRow(Base):
    __tablename__ = "ai_usage_logs"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "SET NULL")
    provider: Mapped[str] = mapped_column(String(50))
    request_type: Mapped[str] = mapped_column(String(50))
    tokens_used: Mapped[int | None] = mapped_column(Integer)
    response_time_ms: Mapped[int | None] = mapped_column(Integer)
    success: Mapped[bool | None] = mapped_column(Boolean, server_default=TRUE)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = _timestamp()


class AIConversationRow(Base):
    __tablename__ = "ai_conversations"
    # Codeloft's own addition (migration 0007): the assistant lists a person's conversations per workspace
    __table_args__ = (Index("idx_ai_conversations_user_workspace", "user_id", "workspace_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "CASCADE")
    title: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class AIMessageRow(Base):
    __tablename__ = "ai_messages"
    # Codeloft's own addition (migration 0007): a conversation's messages in order
    __table_args__ = (Index("idx_ai_messages_conversation", "conversation_id", "created_at"),)

    id: Mapped[uuid.UUID] = _id()
    conversation_id: Mapped[uuid.UUID | None] = _fk("ai_conversations.id", "CASCADE")
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONDocument, server_default=text("'{}'"))
    created_at: Mapped[datetime | None] = _timestamp()


# --- Compilation & execution ------------------------------------------------------------------


class CompilationJobRow(Base):
    __tablename__ = "compilation_jobs"

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    workspace_id: Mapped[uuid.UUID | None] = _fk("workspaces.id", "CASCADE")
    language: Mapped[str] = mapped_column(String(50))
    source_files: Mapped[Any] = mapped_column(JSONDocument)
    compiler_options: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, server_default=text("'{}'"))
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'pending'"))
    stdout: Mapped[str | None] = mapped_column(Text)
    stderr: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    execution_time_ms: Mapped[int | None] = mapped_column(Integer)
    memory_used_kb: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = _timestamp()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExecutionJobRow(Base):
    __tablename__ = "execution_jobs"

    id: Mapped[uuid.UUID] = _id()
    compilation_job_id: Mapped[uuid.UUID | None] = _fk("compilation_jobs.id", "CASCADE")
    stdin: Mapped[str | None] = mapped_column(Text)
    stdout: Mapped[str | None] = mapped_column(Text)
    stderr: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    execution_time_ms: Mapped[int | None] = mapped_column(Integer)
    memory_used_kb: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'pending'"))
    created_at: Mapped[datetime | None] = _timestamp()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Codeloft's additions (migration 0002): what ran and precisely why it ended.
    path: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(30))
    signal: Mapped[int | None] = mapped_column(Integer)
    wall_time_ms: Mapped[int | None] = mapped_column(Integer)
    truncated: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)


# --- Extensions & marketplace -----------------------------------------------------------------


class ExtensionRow(Base):
    __tablename__ = "extensions"
    __table_args__ = (
        Index(
            "idx_extensions_search",
            text(
                "to_tsvector('english'::regconfig, "
                "(((display_name)::text || ' '::text) || COALESCE(description, ''::text)))"
            ),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(50))
    author_id: Mapped[uuid.UUID | None] = _fk("users.id", "SET NULL")
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    source_url: Mapped[str | None] = mapped_column(Text)
    download_url: Mapped[str | None] = mapped_column(Text)
    icon_url: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str] | None] = mapped_column(TextArray)
    download_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    rating_average: Mapped[Decimal | None] = mapped_column(Numeric(3, 2), server_default=text("0.0"))
    rating_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    is_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    is_featured: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'pending'"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class UserExtensionRow(Base):
    __tablename__ = "user_extensions"
    __table_args__ = (UniqueConstraint("user_id", "extension_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    extension_id: Mapped[uuid.UUID | None] = _fk("extensions.id", "CASCADE")
    version: Mapped[str] = mapped_column(String(50))
    is_enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=TRUE)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, server_default=text("'{}'"))
    installed_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()
    granted_permissions: Mapped[list[str] | None] = mapped_column(TextArray)  # Codeloft's own (0008)


class ExtensionVersionRow(Base):
    """Codeloft's own table (0008): every published package of an extension, with its review status."""

    __tablename__ = "extension_versions"
    __table_args__ = (UniqueConstraint("extension_id", "version"),)

    id: Mapped[uuid.UUID] = _id()
    extension_id: Mapped[uuid.UUID] = _fk("extensions.id", "CASCADE", nullable=False)
    version: Mapped[str] = mapped_column(String(50))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    package: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = _timestamp()
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExtensionReviewRow(Base):
    __tablename__ = "extension_reviews"
    __table_args__ = (
        UniqueConstraint("extension_id", "user_id"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
    )

    id: Mapped[uuid.UUID] = _id()
    extension_id: Mapped[uuid.UUID | None] = _fk("extensions.id", "CASCADE")
    user_id: Mapped[uuid.UUID | None] = _fk("users.id", "CASCADE")
    rating: Mapped[int | None] = mapped_column(Integer)
    review_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = _timestamp()
    updated_at: Mapped[datetime | None] = _timestamp()


class ExtensionBundleRow(Base):
    __tablename__ = "extension_bundles"

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    is_official: Mapped[bool | None] = mapped_column(Boolean, server_default=FALSE)
    created_by_user_id: Mapped[uuid.UUID | None] = _fk("users.id", "SET NULL")
    created_at: Mapped[datetime | None] = _timestamp()


class BundleExtensionRow(Base):
    __tablename__ = "bundle_extensions"

    bundle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("extension_bundles.id", ondelete="CASCADE"), primary_key=True
    )
    extension_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("extensions.id", ondelete="CASCADE"), primary_key=True
    )


# Indexes with a descending column, declared once the columns exist.
Index("idx_workspaces_user_accessed", WorkspaceRow.user_id, WorkspaceRow.last_accessed_at.desc())
Index("idx_ai_usage_user_date", AIUsageLogRow.user_id, AIUsageLogRow.created_at.desc())
Index(
    "idx_extensions_category_featured",
    ExtensionRow.category,
    ExtensionRow.is_featured,
    ExtensionRow.published_at.desc(),
)
