"""The plans: every limit of each subscription tier, in one table.

The defaults live here; an operator may override any of them at start-up (`CODELOFT_PLANS`, a JSON or
TOML file the settings read and hand to `configure_plans`). Services read the current table through
`plan_for(tier)`, never a number of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from domain.errors import InvalidInput
from domain.limits import MB
from domain.sandbox import RunLimits
from domain.values import Tier


@dataclass(frozen=True, slots=True)
class Plan:
    tier: Tier
    ai_requests_per_day: int
    """AI assistant requests a day on the server's shared key (reset at midnight UTC)."""
    runs_per_hour: int
    """Runs the person may start in any hour (their own runs, whoever's workspace)."""
    run_ceiling: RunLimits
    """The most one run may ask for (the workspace owner's plan)."""
    stdin_bytes: int
    """The most input (stdin) one run takes: it is kept with the run and served back with it."""
    max_workspaces: int
    """Workspaces the person may own."""
    max_files: int
    """Files and folders in one workspace (the owner's plan)."""
    max_bytes: int
    """Bytes of all files in one workspace (the owner's plan)."""
    previews: int
    """Web previews one person may have running at once (CODELOFT_PREVIEWS_PER_PERSON raises the free
    plan's, and every plan allows at least that)."""
    preview_cpu_seconds: float
    """CPU time a preview's server may use over its life (a run's ceiling is for one run)."""

    @property
    def title(self) -> str:
        return self.tier.value.capitalize()


DEFAULT_PLANS: dict[Tier, Plan] = {
    Tier.FREE: Plan(
        tier=Tier.FREE,
        ai_requests_per_day=25,
        runs_per_hour=200,
        run_ceiling=RunLimits(),
        stdin_bytes=1 * MB,
        max_workspaces=50,
        max_files=1_000,
        max_bytes=100 * MB,
        previews=2,
        preview_cpu_seconds=60,
    ),
    Tier.PREMIUM: Plan(
        tier=Tier.PREMIUM,
        ai_requests_per_day=500,
        runs_per_hour=1_000,
        run_ceiling=RunLimits(cpu_seconds=20, wall_seconds=60, memory_mb=1024, processes=128, output_bytes=4 * MB),
        stdin_bytes=4 * MB,
        max_workspaces=500,
        max_files=10_000,
        max_bytes=1024 * MB,
        previews=5,
        preview_cpu_seconds=300,
    ),
    Tier.ENTERPRISE: Plan(
        tier=Tier.ENTERPRISE,
        ai_requests_per_day=2_000,
        runs_per_hour=5_000,
        run_ceiling=RunLimits(
            cpu_seconds=60, wall_seconds=300, memory_mb=2048, processes=256, output_bytes=16 * MB, file_size_mb=64
        ),
        stdin_bytes=8 * MB,
        max_workspaces=5_000,
        max_files=50_000,
        max_bytes=5 * 1024 * MB,
        previews=10,
        preview_cpu_seconds=900,
    ),
}

PLANS: dict[Tier, Plan] = dict(DEFAULT_PLANS)
"""The table in force: the defaults with the operator's overrides (`configure_plans`)."""

COUNTS = ("ai_requests_per_day", "runs_per_hour", "stdin_bytes", "max_workspaces", "max_files", "max_bytes", "previews")
SECONDS = ("preview_cpu_seconds",)
OVERRIDABLE = (*COUNTS, *SECONDS, "run_ceiling")


def plan_for(tier: Tier) -> Plan:
    return PLANS[tier]


def parse_plans(overrides: Mapping[str, Any], *, where: str) -> dict[Tier, Plan]:
    """The default table with `overrides` applied: `{"free": {"ai_requests_per_day": 50, "run_ceiling":
    {"cpu_seconds": 10}}, ...}`. Anything else (an unknown plan or limit, a number that is not a whole
    number at least zero) is refused with one line naming `where` it came from."""
    table = dict(DEFAULT_PLANS)
    for name, changes in overrides.items():
        try:
            tier = Tier(name)
        except ValueError:
            known = ", ".join(t.value for t in Tier)
            raise InvalidInput(f"{where}: there is no plan {name!r}; known are {known}.") from None
        if not isinstance(changes, Mapping):
            raise InvalidInput(f"{where}: the plan {name} must map limit names to values.")
        values: dict[str, Any] = {}
        for limit, value in changes.items():
            if limit == "run_ceiling":
                if not isinstance(value, Mapping):
                    raise InvalidInput(f"{where}: {name}.run_ceiling must map run limit names to numbers.")
                ceiling = table[tier].run_ceiling
                given = RunLimits.parse(value, where=f"{where}: {name}.run_ceiling")
                values[limit] = ceiling.with_changes(**{key: getattr(given, key) for key in value})
            elif limit in COUNTS or limit in SECONDS:
                whole = limit in COUNTS
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or value < 0
                    or (whole and value != int(value))
                ):
                    kind = "a whole number" if whole else "a number"
                    raise InvalidInput(f"{where}: {name}.{limit} must be {kind}, zero or more.")
                values[limit] = int(value) if whole else float(value)
            else:
                raise InvalidInput(f"{where}: there is no plan limit {limit!r}; known are {', '.join(OVERRIDABLE)}.")
        table[tier] = replace(table[tier], **values)
    return table


def configure_plans(table: Mapping[Tier, Plan] | None = None) -> None:
    """Put a table in force (None: the defaults). Called once per start, before any service runs."""
    PLANS.clear()
    PLANS.update(table or DEFAULT_PLANS)
