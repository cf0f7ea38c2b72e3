"""The exception hierarchy. Services raise these; each edge (CLI, API, pages) translates them once."""

from __future__ import annotations

from datetime import datetime


class CodeloftError(Exception):
    """Base of every error a user may see. `message` is written for that user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CodeloftError):
    """The thing does not exist, or the caller may not know that it does."""


class PermissionDenied(CodeloftError):
    """The caller may see the thing but not do this to it."""


class Unauthenticated(PermissionDenied):
    """No valid sign-in: the session is missing, expired or revoked."""


class Conflict(CodeloftError):
    """The change clashes with the current state (a duplicate, a stale version)."""


class InvalidInput(CodeloftError):
    """The input breaks a rule; the message names the rule."""


class QuotaExceeded(CodeloftError):
    """A per-user or per-tier allowance is used up. `resets_at` is when it comes back (None: it does not
    by itself, e.g. workspaces owned); `retry_after` the whole seconds until then, for the API's
    `Retry-After` header."""

    def __init__(self, message: str, *, resets_at: datetime | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at
        self.retry_after = retry_after


class LimitExceeded(CodeloftError):
    """A single request is larger than allowed (a file size, a run's output)."""


class Unavailable(CodeloftError):
    """A service Codeloft depends on cannot be reached right now."""
