"""Size limits per file and quotas per workspace, by subscription tier."""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import Tier

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_text_bytes: int = 5 * MB
    max_binary_bytes: int = 25 * MB


@dataclass(frozen=True, slots=True)
class WorkspaceQuota:
    max_files: int
    max_bytes: int


TIER_QUOTAS: dict[Tier, WorkspaceQuota] = {
    Tier.FREE: WorkspaceQuota(max_files=1_000, max_bytes=100 * MB),
    Tier.PREMIUM: WorkspaceQuota(max_files=10_000, max_bytes=1024 * MB),
    Tier.ENTERPRISE: WorkspaceQuota(max_files=50_000, max_bytes=5 * 1024 * MB),
}


def human_size(size: int) -> str:
    """5242880 -> '5 MB'."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.4g} {unit}"
        value /= 1024
    return f"{value:.4g} GB"
