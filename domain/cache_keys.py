"""The cache keys of the data-model spec, with their TTLs. Adapters never invent key names."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

MINUTE = 60
HOUR = 60 * MINUTE


@dataclass(frozen=True, slots=True)
class CacheKey:
    name: str
    ttl_seconds: int


def user_profile(user_id: UUID) -> CacheKey:
    return CacheKey(f"user:{user_id}:profile", 1 * HOUR)


def user_tokens(user_id: UUID) -> CacheKey:
    return CacheKey(f"user:{user_id}:tokens", 30 * MINUTE)


def workspace(workspace_id: UUID) -> CacheKey:
    return CacheKey(f"workspace:{workspace_id}", 1 * HOUR)


def workspace_files(workspace_id: UUID) -> CacheKey:
    return CacheKey(f"workspace:{workspace_id}:files", 30 * MINUTE)


CHANGE_FENCE_SECONDS = 5


def fence_of(key: CacheKey) -> CacheKey:
    """The fence a change of what `key` caches puts up as it drops the entry (`<key>:changing`, not in the
    data-model spec): while it stands, readers read the database and do not cache what they read
    (`Cache.set(..., fenced=True)`), so an entry read before the change committed is never put back after
    it, whichever of the change's commit and its fence came first. A change that takes over half the fence's
    life puts it up again once committed, and a reader that took over half of it from its read to its set
    keeps nothing (`WorkspaceGate.keep`): a reader's stale set always meets a standing fence."""
    return CacheKey(f"{key.name}:changing", CHANGE_FENCE_SECONDS)


def compilation(digest: str) -> CacheKey:
    return CacheKey(f"compilation:{digest}", 24 * HOUR)


def ai_response(digest: str) -> CacheKey:
    return CacheKey(f"ai:response:{digest}", 1 * HOUR)


def extension(extension_id: UUID) -> CacheKey:
    return CacheKey(f"extension:{extension_id}", 6 * HOUR)


def public_page(workspace_id: UUID, path: str, content_hash: str) -> CacheKey:
    """A file's rendered body on a public link's page (not in the data-model spec, which has no share key):
    a new content hash is a new key, so a change shows on the next view; the old entry just runs out."""
    return CacheKey(f"share:{workspace_id}:page:{content_hash}:{path}", 1 * HOUR)


SESSION_PREFIX = "session:"


def session(token_hash: str) -> CacheKey:
    """A live session by its current token's hash (not in the data-model spec): every API call and page load
    resumes one, so the lookup is cached; every change to a session (signed out, ended, renewed) deletes
    the entry, and the short TTL bounds a change the cache missed (a row edited by hand)."""
    return CacheKey(f"{SESSION_PREFIX}{token_hash}", 1 * MINUTE)


READ_ON_EVERY_REQUEST = (SESSION_PREFIX,)
"""Key families read on nearly every request: a cache shared between processes may also keep them in each
process, provided a copy is dropped as soon as its entry changes anywhere."""
