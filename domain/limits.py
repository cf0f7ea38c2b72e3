"""Size limits per file (the quotas per workspace are the plans', domain/plans.py)."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_text_bytes: int = 5 * MB
    max_binary_bytes: int = 25 * MB


def human_size(size: int) -> str:
    """5242880 -> '5 MB', 5000 -> '4.88 KB': three significant digits at most, never an exponent."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{_short(value)} {unit}"
        value /= 1024
    return f"{_short(value)} GB"


def _short(value: float) -> str:
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
