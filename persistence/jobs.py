"""Compilation and execution jobs: the run history of a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.entities import CompilationJob, RunResult
from domain.values import Language, Reason, RunStatus
from persistence.models import CompilationJobRow, ExecutionJobRow


def _text(value: str | None) -> str | None:
    """PostgreSQL's text cannot hold NUL: a program's output may. Stored as U+FFFD instead."""
    return value.replace("\x00", "\ufffd") if value else value


def run_language(recorded: str) -> str:
    """A recorded run's language: a `Language` for the built-in toolchains, else the string as stored (a
    contributed language's id, "command")."""
    try:
        return Language(recorded)
    except ValueError:
        return recorded


def _sources(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**entry, "content": _text(entry["content"])} if "content" in entry else entry for entry in files]


class SqlJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_compilation(self, job: CompilationJob) -> None:
        self._session.add(
            CompilationJobRow(
                id=job.id,
                user_id=job.user_id,
                workspace_id=job.workspace_id,
                language=str(job.language),
                source_files=_sources(job.source_files),
                compiler_options=job.compiler_options,
                status=job.status.value,
                stdout=_text(job.stdout),
                stderr=_text(job.stderr),
                exit_code=job.exit_code,
                execution_time_ms=job.execution_time_ms,
                memory_used_kb=job.memory_used_kb,
                created_at=job.created_at,
                completed_at=job.completed_at,
            )
        )
        await self._session.flush()

    def _values(self, run: RunResult) -> dict[str, object]:
        return {
            "stdin": _text(run.stdin),
            "stdout": _text(run.stdout),
            "stderr": _text(run.stderr),
            "exit_code": run.exit_code,
            "execution_time_ms": run.time_ms,
            "memory_used_kb": run.memory_kb,
            "status": run.status.value,
            "completed_at": run.completed_at,
            "path": run.path,
            "reason": run.reason.value if run.reason else None,
            "signal": run.signal,
            "wall_time_ms": run.wall_ms,
            "truncated": run.truncated,
        }

    async def add_run(self, run: RunResult) -> None:
        self._session.add(
            ExecutionJobRow(
                id=run.id, compilation_job_id=run.compilation_job_id, created_at=run.created_at, **self._values(run)
            )
        )
        await self._session.flush()

    async def update_run(self, run: RunResult) -> None:
        await self._session.execute(
            update(ExecutionJobRow).where(ExecutionJobRow.id == run.id).values(**self._values(run))
        )

    async def runs_since(self, user_id: UUID, since: datetime) -> tuple[int, datetime | None]:
        count, earliest = (
            await self._session.execute(
                select(func.count(), func.min(ExecutionJobRow.created_at))
                .join(CompilationJobRow, ExecutionJobRow.compilation_job_id == CompilationJobRow.id)
                .where(CompilationJobRow.user_id == user_id, ExecutionJobRow.created_at > since)
            )
        ).one()
        return int(count or 0), earliest

    async def recent_runs(self, workspace_id: UUID, *, limit: int) -> Sequence[RunResult]:
        rows = await self._session.execute(
            select(ExecutionJobRow, CompilationJobRow)
            .join(CompilationJobRow, ExecutionJobRow.compilation_job_id == CompilationJobRow.id)
            .where(CompilationJobRow.workspace_id == workspace_id)
            .order_by(ExecutionJobRow.created_at.desc())
            .limit(limit)
        )
        results = []
        for run, compilation in rows:
            options = compilation.compiler_options or {}
            assert run.created_at and compilation.workspace_id
            results.append(
                RunResult(
                    id=run.id,
                    compilation_job_id=compilation.id,
                    workspace_id=compilation.workspace_id,
                    path=run.path or options.get("path", ""),
                    language=run_language(compilation.language),
                    stdin=run.stdin or "",
                    status=RunStatus(run.status or RunStatus.PENDING),
                    reason=Reason(run.reason) if run.reason else None,
                    exit_code=run.exit_code,
                    signal=run.signal,
                    stdout=run.stdout or "",
                    stderr=run.stderr or "",
                    compile_output=compilation.stderr or "",
                    compiled="argv" in options,
                    compile_cached=bool(options.get("cached")),
                    truncated=bool(run.truncated),
                    time_ms=run.execution_time_ms,
                    wall_ms=run.wall_time_ms,
                    memory_kb=run.memory_used_kb,
                    created_at=run.created_at,
                    completed_at=run.completed_at,
                )
            )
        return results
