"""Problems: places in the workspace's files that a compiler, a traceback or a stack trace points at.

The run panel lists them as links and the editor marks them in its gutter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    path: str  # relative to the workspace, as the tree shows it
    line: int  # 1-based
    column: int | None = None  # 1-based; None when the tool names only the line
    message: str = ""
    severity: str = "error"  # "error" or "warning"
