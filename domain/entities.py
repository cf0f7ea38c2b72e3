"""Entities: the things Codeloft stores, as plain dataclasses (repositories map them to tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.values import Language, PermissionLevel, Reason, RunStatus, Tier


@dataclass(kw_only=True, slots=True)
class User:
    id: UUID = field(default_factory=uuid4)
    email: str
    display_name: str | None = None
    avatar_url: str | None = None
    oauth_provider: str
    oauth_id: str
    subscription_tier: Tier = Tier.FREE
    ai_quota_used: int = 0
    ai_quota_reset_date: date
    created_at: datetime
    updated_at: datetime

    @property
    def label(self) -> str:
        return self.display_name or self.email


@dataclass(kw_only=True, slots=True)
class SignInToken:
    """A one-time sign-in link's secret, stored only as a hash."""

    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    token_hash: str
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime


@dataclass(kw_only=True, slots=True)
class Identity:
    """One way into one account: a provider's id for the person (`user_identities`)."""

    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    provider: str
    provider_id: str
    email: str
    created_at: datetime


@dataclass(kw_only=True, slots=True)
class UserSession:
    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    refresh_token_hash: str
    expires_at: datetime
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None = None
    address: str | None = None
    rotated_at: datetime | None = None
    """When the current token was issued (None: at `created_at`)."""
    previous_token_hash: str | None = None
    """The token it replaced, still accepted until `previous_valid_until` (requests already in flight)."""
    previous_valid_until: datetime | None = None


@dataclass(kw_only=True, slots=True)
class Workspace:
    id: UUID = field(default_factory=uuid4)
    owner_id: UUID
    name: str
    description: str | None = None
    language: Language
    template: str = "blank"
    settings: dict[str, Any] = field(default_factory=dict)
    is_public: bool = False
    is_template: bool = False
    fork_count: int = 0
    star_count: int = 0
    forked_from: UUID | None = None
    last_accessed_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, slots=True)
class ExploreEntry:
    """A public workspace or template as Explore lists it: the workspace and its owner's display name
    (never their e-mail address)."""

    workspace: Workspace
    owner_name: str


@dataclass(kw_only=True, slots=True)
class WorkspaceFile:
    id: UUID = field(default_factory=uuid4)
    workspace_id: UUID
    path: str
    content: str | None
    content_hash: str
    size_bytes: int
    mime_type: str | None = None
    is_binary: bool = False
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class SaveTarget:
    """What a save checks before it writes, read together: the workspace (for the access check), the entry
    at the path (None if there is none), the workspace's entry count and total size (as
    `FileRepository.usage` gives them) and its owner's plan tier (None if the owner is gone)."""

    workspace: Workspace
    existing: FileInfo | None
    entries: int
    total_bytes: int
    owner_tier: Tier | None


@dataclass(kw_only=True, slots=True)
class WorkspaceShare:
    id: UUID = field(default_factory=uuid4)
    workspace_id: UUID
    shared_by_user_id: UUID | None
    shared_with_user_id: UUID
    permission_level: PermissionLevel
    expires_at: datetime | None = None
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class ShareMember:
    """A person a workspace is shared with, as its sharers see them: the share, their e-mail and name."""

    share: WorkspaceShare
    email: str
    display_name: str | None

    @property
    def label(self) -> str:
        return self.display_name or self.email


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedWorkspace:
    """A workspace someone else shared with you: the workspace, its owner (name, else e-mail) and your share."""

    workspace: Workspace
    owner_name: str
    share: WorkspaceShare


@dataclass(kw_only=True, slots=True)
class PublicShare:
    id: UUID = field(default_factory=uuid4)
    workspace_id: UUID
    share_token: str
    permission_level: PermissionLevel = PermissionLevel.READ
    expires_at: datetime | None = None
    view_count: int = 0
    created_at: datetime


FOLDER_MIME = "inode/directory"


@dataclass(frozen=True, kw_only=True, slots=True)
class FileInfo:
    """A file's (or an explicitly created folder's) metadata, without its content: one tree node."""

    path: str
    size_bytes: int
    content_hash: str
    mime_type: str | None
    is_binary: bool
    updated_at: datetime

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER_MIME


@dataclass(kw_only=True, slots=True)
class CompilationJob:
    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    workspace_id: UUID
    language: str
    """A `Language`'s value, a contributed language's id ("shell"), or "command" (an extension's command)."""
    source_files: list[dict[str, Any]]
    compiler_options: dict[str, Any]
    status: RunStatus
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    execution_time_ms: int | None = None
    memory_used_kb: int | None = None
    created_at: datetime
    completed_at: datetime | None = None


@dataclass(kw_only=True, slots=True)
class RunResult:
    """One run as the user sees it: the spec's execution_jobs row plus what it ran and why it ended."""

    id: UUID = field(default_factory=uuid4)
    compilation_job_id: UUID
    workspace_id: UUID
    path: str
    language: str
    """A `Language` for the built-in toolchains, else the contributed language's id or "command"."""
    stdin: str = ""
    status: RunStatus = RunStatus.PENDING
    reason: Reason | None = None
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    compile_output: str = ""
    compiled: bool = False
    compile_cached: bool = False
    truncated: bool = False
    time_ms: int | None = None
    wall_ms: int | None = None
    memory_kb: int | None = None
    created_at: datetime
    completed_at: datetime | None = None


@dataclass(kw_only=True, slots=True)
class AIKey:
    """A person's own key for an AI provider (`user_ai_tokens`), stored only encrypted."""

    id: UUID = field(default_factory=uuid4)
    user_id: UUID
    provider: str
    encrypted_token: str
    token_name: str
    is_active: bool = True
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
