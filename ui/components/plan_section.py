"""The account page's "Plan and usage" section: the person's plan, each quota used and left and when it
resets, and the limits each workspace of theirs has."""

from __future__ import annotations

from nicegui import ui

from domain.limits import human_size
from domain.quotas import Allowance, Usage, when
from ui.viewer import Viewer


def _resets(allowance: Allowance) -> str:
    if allowance.resets_at is None:
        return "does not reset" if allowance.name == "Workspaces" else "nothing used yet"
    return f"resets at {when(allowance.resets_at)}"


def allowance_rows(usage: Usage) -> list[tuple[str, str, str, str]]:
    """(quota, used, left, resets) for each quota, as the section shows them."""
    return [
        (a.name, f"{a.used:,} of {a.limit:,}", f"{a.left:,}", _resets(a))
        for a in (usage.ai_requests, usage.runs, usage.workspaces)
    ]


async def plan_section(current: Viewer) -> None:
    usage = await current.services.quotas.usage(await current.actor())
    plan = usage.plan
    with ui.card().classes("w-full").props('data-testid="account-plan"'):
        ui.label("Plan and usage").classes("text-lg font-bold")
        with ui.row().classes("items-center gap-2"):
            ui.label("Plan").classes("text-gray-500")
            ui.label(plan.title).classes("font-bold").props('data-testid="account-plan-name"')
        with ui.grid(columns="auto auto auto 1fr").classes("gap-x-6 gap-y-1").props('role="table"'):
            for heading in ("Quota", "Used", "Left", "Resets"):
                ui.label(heading).classes("text-gray-500 text-sm")
            for name, used, left, resets in allowance_rows(usage):
                testid = name.lower().replace(" ", "-")
                ui.label(name)
                ui.label(used).props(f'data-testid="quota-{testid}-used"')
                ui.label(left).props(f'data-testid="quota-{testid}-left"')
                ui.label(resets).props(f'data-testid="quota-{testid}-resets"')
        ui.label(
            f"Each workspace you own may hold {plan.max_files:,} files and folders and "
            f"{human_size(plan.max_bytes)} in all."
        ).props('data-testid="account-workspace-limits"')
        ceiling = current.services.runs.ceiling(plan.tier)
        ui.label(
            f"A run may use up to {ceiling.cpu_seconds:g} s of CPU, {ceiling.wall_seconds:g} s in all, "
            f"{ceiling.memory_mb} MB of memory and {human_size(ceiling.output_bytes)} of output."
        ).props('data-testid="account-run-limits"')
