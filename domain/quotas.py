"""Quotas: what a person's plan allows over time (AI requests a day, runs an hour, workspaces owned),
how much of it is used, and the refusals that name the limit and when it comes back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from domain import cache_keys
from domain.access import Actor
from domain.entities import User
from domain.errors import NotFound, QuotaExceeded
from domain.limits import human_size
from domain.plans import Plan, plan_for
from domain.ports import Cache, Clock, UnitOfWork, UnitOfWorkFactory
from domain.values import Email, Tier

RUN_WINDOW = timedelta(hours=1)


def next_midnight(now: datetime) -> datetime:
    """When a daily allowance counted on `now`'s UTC day comes back."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), tzinfo=UTC)


def when(moment: datetime) -> str:
    """A reset time for a person: '2026-12-01 00:00 UTC'."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def refusal(message: str, *, resets_at: datetime | None, now: datetime) -> QuotaExceeded:
    """The error for a used-up allowance: the message, and when it comes back (with the whole seconds
    until then, at least one, for `Retry-After`)."""
    if resets_at is None:
        return QuotaExceeded(message)
    seconds = max(1, math.ceil((resets_at - now).total_seconds()))
    return QuotaExceeded(f"{message}; it resets at {when(resets_at)}.", resets_at=resets_at, retry_after=seconds)


@dataclass(frozen=True, slots=True)
class Allowance:
    """One quota as the person sees it."""

    name: str
    used: int
    limit: int
    resets_at: datetime | None

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True, slots=True)
class Usage:
    """A person's plan and each quota's use; the per-workspace limits (files, storage) are the plan's."""

    plan: Plan
    ai_requests: Allowance
    runs: Allowance
    workspaces: Allowance


def ai_requests_used(user: User, *, now: datetime) -> int:
    """The day's count: nothing once `ai_quota_reset_date` is a past day (the next request restarts it)."""
    return user.ai_quota_used if user.ai_quota_reset_date >= now.astimezone(UTC).date() else 0


async def _tier(uow: UnitOfWork, user_id: UUID) -> Tier:
    user = await uow.users.get(user_id)
    return user.subscription_tier if user else Tier.FREE


async def runs_this_hour(uow: UnitOfWork, user_id: UUID, plan: Plan, *, now: datetime) -> Allowance:
    count, earliest = await uow.jobs.runs_since(user_id, now - RUN_WINDOW)
    return Allowance(
        name="Runs this hour",
        used=count,
        limit=plan.runs_per_hour,
        resets_at=(earliest + RUN_WINDOW) if earliest is not None else None,
    )


async def check_runs(uow: UnitOfWork, user_id: UUID, *, now: datetime) -> None:
    """Refuse a run past the person's runs per hour (their own plan, whoever's workspace it is); the
    place comes back when the earliest run of the hour turns an hour old."""
    plan = plan_for(await _tier(uow, user_id))
    runs = await runs_this_hour(uow, user_id, plan, now=now)
    if runs.used >= plan.runs_per_hour:
        raise refusal(
            f"You have started {plural(runs.used, 'run')} in the last hour, the most your plan ({plan.title}) allows",
            resets_at=runs.resets_at or now + RUN_WINDOW,
            now=now,
        )


async def check_workspaces(uow: UnitOfWork, user_id: UUID, *, whose: str | None = None) -> None:
    """Refuse a new workspace past the number the person's plan lets them own (`whose`: their e-mail
    address, when the person is not the one asking)."""
    plan = plan_for(await _tier(uow, user_id))
    owned = await uow.workspaces.count_owned(user_id)
    if owned >= plan.max_workspaces:
        if whose is not None:
            raise QuotaExceeded(
                f"{whose} owns {plural(owned, 'workspace')}, the most their plan ({plan.title}) allows."
            )
        raise QuotaExceeded(
            f"You own {plural(owned, 'workspace')}, the most your plan ({plan.title}) allows: "
            "delete one to make room for another."
        )


async def check_fits(uow: UnitOfWork, user: User, workspace_id: UUID, *, theirs: bool = False) -> None:
    """Refuse to give `user` a copy of the workspace (a fork) or the workspace itself (`theirs`: a transfer)
    if it holds more files or bytes than a workspace of theirs may on their plan."""
    plan = plan_for(user.subscription_tier)
    count, total = await uow.files.usage(workspace_id)
    whom = f"a workspace of {user.email}" if theirs else "a workspace of yours"
    plan_of = "their plan" if theirs else "your plan"
    if count > plan.max_files:
        raise QuotaExceeded(
            f"This workspace holds {count:,} files and folders; {whom} may hold at most "
            f"{plan.max_files:,} on {plan_of} ({plan.title})."
        )
    if total > plan.max_bytes:
        raise QuotaExceeded(
            f"This workspace holds {human_size(total)}; {whom} may hold at most "
            f"{human_size(plan.max_bytes)} on {plan_of} ({plan.title})."
        )


class QuotaService:
    def __init__(self, *, uow: UnitOfWorkFactory, cache: Cache, clock: Clock) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock

    async def take_ai_request(self, user_id: UUID) -> Allowance:
        """Count one AI request on the server's shared key against the person's plan, or refuse it
        (naming the limit and when it resets) without counting. Two requests at once can never both
        take the last one: the count is one conditional UPDATE. Returns the day's allowance after it."""
        now = self._clock()
        today = now.astimezone(UTC).date()
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("No such user.")
            plan = plan_for(user.subscription_tier)
            used = await uow.users.take_ai_request(user_id, today=today, limit=plan.ai_requests_per_day)
            if used is None:
                raise refusal(
                    f"You have used the {plan.ai_requests_per_day} AI requests a day your plan ({plan.title}) "
                    "gives on the server's shared key",
                    resets_at=next_midnight(now),
                    now=now,
                )
            await uow.commit()
        await self._cache.delete(cache_keys.user_profile(user_id))
        return Allowance(
            name="AI requests today", used=used, limit=plan.ai_requests_per_day, resets_at=next_midnight(now)
        )

    async def usage(self, actor: Actor) -> Usage:
        """The signed-in person's plan and how much of each quota is used."""
        user_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("No such user.")
            plan = plan_for(user.subscription_tier)
            runs = await runs_this_hour(uow, user_id, plan, now=now)
            owned = await uow.workspaces.count_owned(user_id)
        return Usage(
            plan=plan,
            ai_requests=Allowance(
                name="AI requests today",
                used=ai_requests_used(user, now=now),
                limit=plan.ai_requests_per_day,
                resets_at=next_midnight(now),
            ),
            runs=runs,
            workspaces=Allowance(name="Workspaces", used=owned, limit=plan.max_workspaces, resets_at=None),
        )

    async def set_tier(self, email: str, tier: Tier) -> User:
        """Put the person with this e-mail address on a plan (`codeloft user set-tier`)."""
        address = Email(email)
        now = self._clock()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address.value)
            if user is None:
                raise NotFound(f"No user has the e-mail address {address.value}.")
            await uow.users.set_tier(user.id, tier, at=now)
            await uow.commit()
        await self._cache.delete(cache_keys.user_profile(user.id))
        user.subscription_tier, user.updated_at = tier, now
        return user
