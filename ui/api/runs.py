"""Runs over REST: compile and run a workspace's file in the sandbox; the run history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.entities import RunResult
from ui.api.contract import WHOLE, WorkspacePathText
from ui.api.deps import CallerDep
from ui.api.routing import api_router
from ui.context import services

router = api_router(prefix="/api/v1/workspaces/{workspace_id:uuid}/runs", tags=["runs"])


class LimitsIn(BaseModel):
    """Limits for this run, each at most what the workspace owner's plan allows (above it: 403)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    cpu_seconds: float | None = Field(default=None, gt=0)
    wall_seconds: float | None = Field(default=None, gt=0)
    memory_mb: Annotated[int, Field(gt=0), WHOLE] | None = None
    processes: Annotated[int, Field(gt=0), WHOLE] | None = None
    output_bytes: Annotated[int, Field(gt=0), WHOLE] | None = None
    file_size_mb: Annotated[int, Field(gt=0), WHOLE] | None = None


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: WorkspacePathText | None = Field(
        default=None,
        description="The file to run; default: the workspace's entry point (settings.run.entry), "
        "else its main file by name (main.py, app.py, index.js, server.js, main.cpp, Main.java)",
    )
    stdin: str = ""
    limits: LimitsIn | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    path: str
    language: str
    status: str = Field(description="success, error, timeout or stopped (Stop pressed in the IDE)")
    reason: str | None = Field(
        description="ok, compile_error, runtime_error, signal, time_limit, wall_time_limit, memory_limit (these three "
        "also when the compile hit the plan's limit), "
        "output_limit (the output was cut at the run's output_bytes limit), stopped or internal_error"
    )
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    compile_output: str
    compiled: bool
    compile_cached: bool
    truncated: bool
    time_ms: int | None = Field(description="CPU time")
    wall_ms: int | None
    memory_kb: int | None = Field(description="peak memory")
    stdin: str
    created_at: datetime
    completed_at: datetime | None


def run_out(run: RunResult) -> RunOut:
    return RunOut.model_validate(run)


@router.post("", status_code=201)
async def start_run(workspace_id: UUID, body: RunIn, caller: CallerDep) -> RunOut:
    """Compile (unless an identical build is cached) and run, and answer when the run ended."""
    limits = body.limits.model_dump(exclude_none=True) if body.limits else None
    run = await services().runs.run(caller.actor, workspace_id, path=body.path, stdin=body.stdin, limits=limits)
    return run_out(run)


@router.get("")
async def list_runs(workspace_id: UUID, caller: CallerDep) -> list[RunOut]:
    """The workspace's last 20 runs, newest first."""
    return [run_out(run) for run in await services().runs.history(caller.actor, workspace_id)]
