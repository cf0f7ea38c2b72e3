"""Ports: what the domain needs from the outside world. Adapters implement these Protocols."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self
from uuid import UUID

from domain.cache_keys import CacheKey
from domain.chat import ChatEnd, ChatMessage, ChatRequest, Conversation, UsageRecord
from domain.entities import (
    AIKey,
    CompilationJob,
    ExploreEntry,
    FileInfo,
    Identity,
    PublicShare,
    RunResult,
    SaveTarget,
    SharedWorkspace,
    ShareMember,
    SignInToken,
    User,
    UserSession,
    Workspace,
    WorkspaceFile,
    WorkspaceShare,
)
from domain.extension_entities import Extension, ExtensionStatus, ExtensionVersion, Installation, Review
from domain.templates import Template
from domain.values import PermissionLevel, Tier

if TYPE_CHECKING:  # domain.extension_bundles imports this module
    from domain.extension_bundles import Bundle

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware, in UTC."""


class Cache(Protocol):
    """A key-value cache with per-key TTLs. Values are JSON-ready (dicts, lists, str, numbers)."""

    async def get(self, key: CacheKey) -> Any | None: ...

    async def set(self, key: CacheKey, value: Any, *, fenced: bool = False) -> None:
        """Keep `value` for the key's TTL; if `fenced`, only while the key's fence is down (`fence`)."""
        ...

    async def delete(self, *keys: CacheKey) -> None: ...

    async def fence(self, *keys: CacheKey) -> None:
        """Delete `keys` and put up each one's fence (`cache_keys.fence_of`) for its TTL, in one step: while
        it stands, a `set(key, ..., fenced=True)` is skipped."""
        ...

    async def ping(self) -> None:
        """Raise `Unavailable` if the cache cannot be reached."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None: ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def get_by_oauth(self, provider: str, oauth_id: str) -> User | None: ...

    async def count(self) -> int: ...

    async def take_ai_request(self, user_id: UUID, *, today: date, limit: int) -> int | None:
        """Atomically count one AI request of the day against `limit` (starting the count afresh when
        `ai_quota_reset_date` is before `today`): the day's count with it, or None, changing nothing,
        when none is left."""
        ...

    async def set_tier(self, user_id: UUID, tier: Tier, *, at: datetime) -> None: ...


class SignInTokenRepository(Protocol):
    async def add(self, token: SignInToken) -> None: ...

    async def get_by_hash(self, token_hash: str) -> SignInToken | None: ...

    async def mark_used(self, token_id: UUID, *, at: datetime) -> bool:
        """Atomically mark an unused token used; False if it was used already."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: UserSession) -> None: ...

    async def get(self, session_id: UUID) -> UserSession | None: ...

    async def get_by_hash(self, token_hash: str) -> UserSession | None: ...

    async def get_by_previous_hash(self, token_hash: str) -> UserSession | None: ...

    async def list_for_user(self, user_id: UUID) -> list[UserSession]: ...

    async def touch(self, session_id: UUID, *, at: datetime) -> None: ...

    async def rotate(
        self,
        session_id: UUID,
        *,
        from_hash: str,
        to_hash: str,
        previous_valid_until: datetime,
        at: datetime,
        user_agent: str | None,
        address: str | None,
    ) -> UserSession | None:
        """Replace the session's token `from_hash` by `to_hash`, keeping `from_hash` as the previous one until
        `previous_valid_until` (`at`: when); None if its token is no longer `from_hash` (replaced meanwhile)."""
        ...

    async def delete(self, session_id: UUID) -> None: ...

    async def delete_for_user(self, user_id: UUID, *, keep: UUID) -> int:
        """Delete every session of the user but `keep`; how many."""
        ...


class IdentityRepository(Protocol):
    """Ways into accounts (`user_identities`), unique per (provider, provider_id)."""

    async def add(self, identity: Identity) -> None: ...

    async def get(self, provider: str, provider_id: str) -> Identity | None: ...

    async def for_user(self, user_id: UUID) -> Sequence[Identity]: ...

    async def delete(self, identity_id: UUID) -> None: ...

    async def set_primary(self, user_id: UUID, provider: str, provider_id: str, *, at: datetime) -> None:
        """Record (provider, provider_id) as the account's own first way in (the `users` columns)."""
        ...


class WorkspaceRepository(Protocol):
    async def add(self, workspace: Workspace) -> None: ...

    async def get(self, workspace_id: UUID) -> Workspace | None: ...

    async def list_accessible(self, user_id: UUID, *, now: datetime) -> Sequence[Workspace]:
        """The user's own workspaces and those shared with them (unexpired), most recently opened first."""
        ...

    async def search_accessible(self, user_id: UUID, query: str, *, now: datetime) -> Sequence[Workspace]:
        """`list_accessible`, keeping the workspaces whose name or description matches `query`
        (full-text on PostgreSQL, plus a substring match everywhere)."""
        ...

    async def update(self, workspace_id: UUID, changes: dict[str, Any], *, at: datetime) -> None: ...

    async def touch_accessed(self, workspace_id: UUID, *, at: datetime) -> None: ...

    async def touch_updated(self, workspace_id: UUID, *, at: datetime) -> None: ...

    async def delete(self, workspace_id: UUID) -> None: ...

    async def count_owned(self, owner_id: UUID) -> int: ...

    async def set_owner(self, workspace_id: UUID, owner_id: UUID, *, at: datetime) -> None: ...

    async def search_public(
        self,
        query: str,
        *,
        sort: str,
        offset: int,
        limit: int,
        templates_only: bool = False,
        language: str | None = None,
    ) -> tuple[Sequence[ExploreEntry], int]:
        """Public workspaces and published templates (only templates with `templates_only`, only of
        `language` if given) whose name or description matches `query` (all when it is empty; full-text
        on PostgreSQL plus a substring match everywhere), ordered by `sort` ("stars", "forks", "recent"):
        the page from `offset`, at most `limit`, and how many match in all."""
        ...

    async def add_to_count(self, workspace_id: UUID, counter: str, delta: int) -> None:
        """Atomically add `delta` to `star_count` or `fork_count` (one UPDATE ... SET x = x + delta)."""
        ...


class StarRepository(Protocol):
    """Who starred what (`workspace_stars`), one row per (user, workspace)."""

    async def add(self, user_id: UUID, workspace_id: UUID, *, at: datetime) -> bool:
        """Insert the star unless it is there already; whether a row was inserted."""
        ...

    async def remove(self, user_id: UUID, workspace_id: UUID) -> bool:
        """Delete the star if it is there; whether a row was deleted."""
        ...

    async def among(self, user_id: UUID, workspace_ids: Collection[UUID]) -> set[UUID]:
        """Which of `workspace_ids` the user has starred."""
        ...


class ShareRepository(Protocol):
    async def add(self, share: WorkspaceShare) -> None: ...

    async def for_user(self, workspace_id: UUID, user_id: UUID) -> Sequence[WorkspaceShare]: ...

    async def get(self, workspace_id: UUID, share_id: UUID) -> WorkspaceShare | None:
        """One share of the workspace (None: it has no such share)."""
        ...

    async def members(self, workspace_id: UUID) -> Sequence[ShareMember]:
        """The people the workspace is shared with (expired shares too), in the order they were invited."""
        ...

    async def change(
        self, share_id: UUID, *, permission_level: PermissionLevel, expires_at: datetime | None
    ) -> None: ...

    async def delete(self, workspace_id: UUID, share_id: UUID) -> bool:
        """Remove one share of the workspace; False if it has no such share."""
        ...

    async def delete_for_user(self, workspace_id: UUID, user_id: UUID) -> None: ...

    async def shared_with(self, user_id: UUID, *, now: datetime) -> Sequence[SharedWorkspace]:
        """The workspaces shared with the user by live shares, most recently opened first."""
        ...

    async def add_public(self, share: PublicShare) -> None: ...

    async def get_public(self, share_token: str) -> PublicShare | None: ...

    async def list_public(self, workspace_id: UUID) -> Sequence[PublicShare]:
        """The workspace's public links, newest first."""
        ...

    async def delete_public(self, workspace_id: UUID, link_id: UUID) -> bool:
        """Remove one link of the workspace; False if it has no such link."""
        ...

    async def count_public_view(self, link_id: UUID) -> int | None:
        """Add one to the link's view count in one atomic UPDATE; the new count (None: no such link)."""
        ...


class FileRepository(Protocol):
    async def add(self, file: WorkspaceFile) -> None: ...

    async def list(self, workspace_id: UUID) -> Sequence[WorkspaceFile]:
        """Every entry with its content, sorted by path."""
        ...

    async def list_info(self, workspace_id: UUID) -> Sequence[FileInfo]:
        """Every entry's metadata (no content), sorted by path."""
        ...

    async def get(self, workspace_id: UUID, path: str) -> WorkspaceFile | None: ...

    async def get_many(self, workspace_id: UUID, paths: Sequence[str]) -> Sequence[WorkspaceFile]: ...

    async def under(self, workspace_id: UUID, folder: str) -> Sequence[WorkspaceFile]:
        """The entries inside `folder` (at any depth), without their content."""
        ...

    async def direct(self, workspace_id: UUID, folder: str) -> Sequence[FileInfo]:
        """The entries (files and explicit folders) directly inside `folder` ("" for the root), without
        those deeper down; in any order."""
        ...

    async def subfolders(self, workspace_id: UUID, folder: str) -> Sequence[str]:
        """The paths of the folders directly inside `folder` ("" for the root) that hold something,
        whether or not they have a row of their own; in any order."""
        ...

    async def file_paths(
        self, workspace_id: UUID, *, among: Collection[str] | None = None, limit: int | None = None
    ) -> Sequence[str]:
        """Every file's path (no folders), sorted; only those `among` the given paths; at most `limit`."""
        ...

    async def usage(self, workspace_id: UUID) -> tuple[int, int]:
        """How many entries the workspace holds and their total size in bytes."""
        ...

    async def save_target(self, workspace_id: UUID, path: str) -> SaveTarget | None:
        """The workspace, the entry at `path` (without content), the workspace's `usage` and the plan tier
        of its owner, in one query: what a save checks. None: there is no such workspace."""
        ...

    async def replace_content(
        self,
        workspace_id: UUID,
        path: str,
        *,
        expected_hash: str,
        content: str,
        content_hash: str,
        size_bytes: int,
        mime_type: str,
        is_binary: bool,
        updated_at: datetime,
    ) -> bool:
        """Atomically replace the content if the stored hash is still `expected_hash`."""
        ...

    async def add_many(self, files: Sequence[WorkspaceFile]) -> None:
        """Insert many entries in bulk (one statement per batch, not one round trip each)."""
        ...

    async def rename(self, file_id: UUID, path: str, *, at: datetime) -> None: ...

    async def delete_tree(self, workspace_id: UUID, path: str) -> int:
        """Delete the entry at `path` and everything inside it; returns how many went."""
        ...


class JobRepository(Protocol):
    async def add_compilation(self, job: CompilationJob) -> None: ...

    async def add_run(self, run: RunResult) -> None: ...

    async def update_run(self, run: RunResult) -> None: ...

    async def recent_runs(self, workspace_id: UUID, *, limit: int) -> Sequence[RunResult]: ...

    async def runs_since(self, user_id: UUID, since: datetime) -> tuple[int, datetime | None]:
        """How many runs the person started after `since`, and when the earliest of them started."""
        ...


class AIKeyRepository(Protocol):
    """People's own AI keys (`user_ai_tokens`), unique per (user_id, provider, token_name)."""

    async def add(self, key: AIKey) -> None: ...

    async def get(self, key_id: UUID) -> AIKey | None: ...

    async def for_user(self, user_id: UUID) -> Sequence[AIKey]:
        """The person's keys, oldest first."""
        ...

    async def named(self, user_id: UUID, provider: str, token_name: str) -> AIKey | None: ...

    async def update(self, key_id: UUID, changes: dict[str, Any], *, at: datetime) -> None: ...

    async def delete(self, key_id: UUID) -> None: ...

    async def all(self) -> Sequence[AIKey]:
        """Every stored key of everybody (for re-encrypting them all)."""
        ...

    async def set_encrypted(self, key_id: UUID, encrypted_token: str) -> None: ...


class SecretBox(Protocol):
    """Encryption at rest: the first configured key encrypts, every configured key decrypts."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str:
        """Raise `InvalidInput` when no configured key decrypts it."""
        ...

    def rotate(self, ciphertext: str) -> str:
        """The same secret encrypted under the first key; `InvalidInput` when no configured key decrypts it."""
        ...


class AIKeyChecker(Protocol):
    """Asks an AI provider whether it takes a key."""

    async def check(self, provider: str, key: str) -> None:
        """Return if the provider takes the key; raise `InvalidInput` (saying why) when it refuses it,
        `Unavailable` when it cannot be asked."""
        ...


class ConversationRepository(Protocol):
    """The assistant's conversations (`ai_conversations`)."""

    async def add(self, conversation: Conversation) -> None: ...

    async def get(self, conversation_id: UUID) -> Conversation | None: ...

    async def of(self, user_id: UUID, workspace_id: UUID) -> Sequence[Conversation]:
        """The person's conversations about the workspace, most recently active first."""
        ...

    async def update(self, conversation_id: UUID, *, title: str | None = None, at: datetime) -> None:
        """Set `updated_at` to `at` and, if given, the title."""
        ...

    async def delete(self, conversation_id: UUID) -> None:
        """Delete the conversation and its messages."""
        ...


class ChatMessageRepository(Protocol):
    """Questions and answers (`ai_messages`)."""

    async def add(self, message: ChatMessage) -> None: ...

    async def of(self, conversation_id: UUID) -> Sequence[ChatMessage]:
        """The conversation's messages, oldest first."""
        ...


class AIUsageRepository(Protocol):
    """One row per request to an AI provider (`ai_usage_logs`)."""

    async def add(self, record: UsageRecord) -> None: ...

    async def of(self, user_id: UUID) -> Sequence[UsageRecord]:
        """The person's requests, oldest first."""
        ...


class ChatProvider(Protocol):
    """One AI provider's chat API (OpenAI, Gemini, an OpenAI-compatible server)."""

    def stream(self, request: ChatRequest) -> AsyncGenerator[str | ChatEnd, None]:
        """The answer: its text in pieces as they arrive, then one `ChatEnd` once the provider says it is
        complete (a stream that stops without it was cut short). A refused key, 429, 5xx, no answer in time or
        a broken connection raise `ProviderError` (a message for the person, without the key). Closing the
        generator early ends the request."""
        ...


class TemplateSource(Protocol):
    def catalog(self) -> Sequence[Template]: ...

    def files(self, template: Template) -> dict[str, bytes]: ...


class ExtensionRepository(Protocol):
    """The marketplace: extensions, their published versions, people's installations and reviews."""

    async def add(self, extension: Extension) -> None: ...

    async def get(self, name: str) -> Extension | None: ...

    async def update(self, extension_id: UUID, changes: dict[str, Any], *, at: datetime) -> None: ...

    async def lock(self, extension_id: UUID) -> None:
        """Hold the extension's row until the transaction ends, so that what follows reads every change
        committed before (reviews of one extension are counted one after the other)."""
        ...

    async def search(
        self, query: str, *, category: str | None, sort: str, featured: bool | None, limit: int
    ) -> Sequence[Extension]:
        """Approved extensions whose name, description or tags match `query` (all when empty), sorted by
        `sort`: downloads, rating or newest."""
        ...

    async def add_version(self, version: ExtensionVersion, package: bytes) -> None: ...

    async def versions(self, extension_id: UUID) -> Sequence[ExtensionVersion]: ...

    async def package(self, version_id: UUID) -> bytes | None:
        """The version's package (the ZIP as published), None when no such version is stored."""
        ...

    async def authored(self, author_id: UUID) -> Sequence[Extension]:
        """The author's extensions, whatever their status, by name."""
        ...

    async def waiting(self) -> Sequence[Extension]:
        """The extensions with a version waiting for review, by name."""
        ...

    async def set_version_status(
        self, version_id: UUID, status: ExtensionStatus, *, reason: str | None, at: datetime
    ) -> None: ...

    async def installation(self, user_id: UUID, extension_id: UUID) -> Installation | None: ...

    async def install(self, installation: Installation) -> bool:
        """Add the person's installation unless they have one (True: added). Atomic: of concurrent
        installs by one person exactly one adds."""
        ...

    async def update_installation(
        self, user_id: UUID, extension_id: UUID, changes: dict[str, Any], *, at: datetime
    ) -> None: ...

    async def uninstall(self, user_id: UUID, extension_id: UUID) -> bool: ...

    async def installations(self, user_id: UUID) -> Sequence[tuple[Installation, Extension]]:
        """The person's installations with their extensions, by extension name."""
        ...

    async def count_download(self, extension_id: UUID) -> None:
        """download_count + 1, in the database (no read-modify-write)."""
        ...

    async def save_review(self, review: Review) -> None:
        """Add the person's review of the extension, or replace their rating and text."""
        ...

    async def refresh_rating(self, extension_id: UUID) -> None:
        """Recount rating_average (rounded to 2 places) and rating_count from the reviews."""
        ...

    async def reviews(self, extension_id: UUID, *, limit: int) -> Sequence[Review]:
        """Newest first."""
        ...


class BundleRepository(Protocol):
    """Bundles of extensions (extension_bundles, bundle_extensions)."""

    async def all(self) -> Sequence[Bundle]:
        """Every bundle with its extensions, whatever their status."""
        ...

    async def add(self, bundle: Bundle) -> None:
        """Store the bundle with its extensions."""
        ...

    async def add_extensions(self, bundle_id: UUID, extension_ids: Collection[UUID]) -> None:
        """Put these extensions in the bundle (those in it already stay, once)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Entering opens it; leaving rolls back unless `commit()` was called."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def sign_in_tokens(self) -> SignInTokenRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def shares(self) -> ShareRepository: ...

    @property
    def stars(self) -> StarRepository: ...

    @property
    def files(self) -> FileRepository: ...

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def ai_keys(self) -> AIKeyRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def chat_messages(self) -> ChatMessageRepository: ...

    @property
    def ai_usage(self) -> AIUsageRepository: ...

    @property
    def extensions(self) -> ExtensionRepository: ...

    @property
    def bundles(self) -> BundleRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def commit_each_statement(self) -> None:
        """Called before the first statement, by a use case whose writes each stand on their own (a
        conditional update that checks the version itself): every statement is committed as it runs, with
        no transaction round it, and `commit()` has nothing left to do. An adapter for which one
        transaction costs nothing more may keep it (what the use case sees is the same)."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
