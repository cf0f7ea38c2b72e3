"""The marketplace's records: an extension, its published versions, a person's installation and review."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(kw_only=True, slots=True)
class Extension:
    """The marketplace's entry. Its version, manifest and columns are the approved version's (the first
    version's while none is approved); `status` is approved once any version was."""

    id: UUID = field(default_factory=uuid4)
    name: str
    display_name: str
    description: str
    version: str
    author_id: UUID | None
    manifest: dict[str, Any]
    category: str
    tags: tuple[str, ...] = ()
    download_count: int = 0
    rating_average: float = 0.0
    rating_count: int = 0
    is_verified: bool = False
    is_featured: bool = False
    status: ExtensionStatus = ExtensionStatus.PENDING
    published_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, slots=True)
class ExtensionVersion:
    """One published package (its bytes are stored beside it): pending until an administrator approves or
    rejects it (with a reason for the author)."""

    id: UUID = field(default_factory=uuid4)
    extension_id: UUID
    version: str
    manifest: dict[str, Any]
    status: ExtensionStatus = ExtensionStatus.PENDING
    rejection_reason: str | None = None
    created_at: datetime
    reviewed_at: datetime | None = None


@dataclass(kw_only=True, slots=True)
class Installation:
    """A person's copy of an extension: the version installed and the permissions they granted for it."""

    user_id: UUID
    extension_id: UUID
    version: str
    is_enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    granted_permissions: tuple[str, ...] = ()
    installed_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, slots=True)
class Review:
    extension_id: UUID
    user_id: UUID
    rating: int
    text: str | None
    created_at: datetime
    updated_at: datetime
