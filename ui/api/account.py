"""The signed-in person's plan and what is used of each quota."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.quotas import Allowance
from domain.values import Tier
from ui.api.deps import CallerDep
from ui.api.routing import api_router
from ui.context import services

router = api_router()


class AllowanceOut(BaseModel):
    used: int
    limit: int
    left: int
    resets_at: datetime | None
    """When the allowance comes back (null: it does not by itself, e.g. workspaces owned)."""

    @classmethod
    def of(cls, allowance: Allowance) -> AllowanceOut:
        return cls(used=allowance.used, limit=allowance.limit, left=allowance.left, resets_at=allowance.resets_at)


class WorkspaceLimitsOut(BaseModel):
    """Each workspace's limits on its owner's plan."""

    max_files: int
    max_bytes: int


class RunCeilingOut(BaseModel):
    """The most one run may ask for in a workspace of yours."""

    cpu_seconds: float
    wall_seconds: float
    memory_mb: int
    processes: int
    output_bytes: int
    file_size_mb: int


class UsageOut(BaseModel):
    plan: Tier
    ai_requests_today: AllowanceOut
    """AI assistant requests on the server's shared key, counted per UTC day."""
    runs_this_hour: AllowanceOut
    workspaces: AllowanceOut
    per_workspace: WorkspaceLimitsOut
    run_ceiling: RunCeilingOut


@router.get("/api/v1/account/usage", tags=["account"])
async def get_usage(caller: CallerDep) -> UsageOut:
    """Your plan, each quota's use, what is left and when it resets."""
    usage = await services().quotas.usage(caller.actor)
    ceiling = services().runs.ceiling(usage.plan.tier)
    return UsageOut(
        plan=usage.plan.tier,
        ai_requests_today=AllowanceOut.of(usage.ai_requests),
        runs_this_hour=AllowanceOut.of(usage.runs),
        workspaces=AllowanceOut.of(usage.workspaces),
        per_workspace=WorkspaceLimitsOut(max_files=usage.plan.max_files, max_bytes=usage.plan.max_bytes),
        run_ceiling=RunCeilingOut(**{name: getattr(ceiling, name) for name in RunCeilingOut.model_fields}),
    )
