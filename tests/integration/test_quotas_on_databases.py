"""Quotas on the real SQL adapters (SQLite and PostgreSQL): the AI request count is one conditional
UPDATE, so requests at the same instant never take more than is left."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from domain.access import Actor
from domain.accounts import AccountService
from domain.entities import CompilationJob, RunResult
from domain.errors import QuotaExceeded
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import PLANS
from domain.quotas import QuotaService
from domain.values import Language, RunStatus, Tier
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.models import UserRow
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock

LIMIT = PLANS[Tier.FREE].ai_requests_per_day


async def set_used(uow: SqlUnitOfWorkFactory, user_id, used: int, **values) -> None:
    async with uow.engine.begin() as connection:
        await connection.execute(update(UserRow).where(UserRow.id == user_id).values(ai_quota_used=used, **values))


async def test_twenty_requests_at_once_for_the_last_five_units_take_exactly_five(
    wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    cache = MemoryCache()
    accounts = AccountService(uow=wide_uow, cache=cache, clock=clock)
    quotas = QuotaService(uow=wide_uow, cache=cache, clock=clock)
    user = await accounts.add_local_user("race@example.com")
    await set_used(wide_uow, user.id, LIMIT - 5)
    # Open the 20 connections first, so the requests meet at the database rather than at the pool.
    warm = [await wide_uow.engine.connect() for _ in range(20)]
    for connection in warm:
        await connection.close()

    results = await asyncio.gather(*(quotas.take_ai_request(user.id) for _ in range(20)), return_exceptions=True)

    taken = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(taken), len(refused)) == (5, 15), results
    assert sorted(a.used for a in taken) == list(range(LIMIT - 4, LIMIT + 1))
    assert all("it resets at 2026-01-02 00:00 UTC" in e.message for e in refused)
    async with wide_uow() as uow:
        stored = await uow.users.get(user.id)
    assert stored is not None and stored.ai_quota_used == LIMIT


async def test_the_count_restarts_in_the_same_statement_once_its_day_has_passed(
    uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    accounts = AccountService(uow=uow_factory, cache=MemoryCache(), clock=clock)
    quotas = QuotaService(uow=uow_factory, cache=MemoryCache(), clock=clock)
    user = await accounts.add_local_user("day@example.com")
    await set_used(uow_factory, user.id, LIMIT)
    with pytest.raises(QuotaExceeded):
        await quotas.take_ai_request(user.id)

    clock.advance(days=1)
    allowance = await quotas.take_ai_request(user.id)

    assert (allowance.used, allowance.left) == (1, LIMIT - 1)
    async with uow_factory() as uow:
        stored = await uow.users.get(user.id)
    assert stored is not None and (stored.ai_quota_used, stored.ai_quota_reset_date) == (1, clock().date())


async def test_runs_of_the_hour_workspaces_owned_and_set_tier_on_the_database(
    uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    cache = MemoryCache()
    accounts = AccountService(uow=uow_factory, cache=cache, clock=clock)
    quotas = QuotaService(uow=uow_factory, cache=cache, clock=clock)
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=uow_factory, cache=cache, clock=clock, gate=gate)
    workspaces = WorkspaceService(
        uow=uow_factory, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files
    )
    user = await accounts.add_local_user("runs@example.com")
    other = await accounts.add_local_user("other@example.com")
    ws = await workspaces.create(Actor(user.id), name="w", language="python")
    await workspaces.create(Actor(other.id), name="theirs", language="python")
    first = clock()
    for who, minutes in ((user, 0), (user, 20), (other, 25), (user, 70)):
        at = first + timedelta(minutes=minutes)
        job = CompilationJob(
            user_id=who.id,
            workspace_id=ws.id,
            language=Language.PYTHON,
            source_files=[],
            compiler_options={},
            status=RunStatus.SUCCESS,
            created_at=at,
        )
        async with uow_factory() as uow:
            await uow.jobs.add_compilation(job)
            run = RunResult(
                compilation_job_id=job.id, workspace_id=ws.id, path="main.py", language=Language.PYTHON, created_at=at
            )
            await uow.jobs.add_run(run)
            await uow.commit()
    clock.advance(minutes=75)

    usage = await quotas.usage(Actor(user.id))

    assert (usage.runs.used, usage.runs.resets_at) == (2, first + timedelta(minutes=80))  # the 20th and 70th
    assert (usage.workspaces.used, usage.workspaces.limit) == (1, PLANS[Tier.FREE].max_workspaces)
    await accounts.profile(user.id)
    await quotas.set_tier(user.email, Tier.ENTERPRISE)
    assert (await accounts.profile(user.id)).subscription_tier is Tier.ENTERPRISE
    assert (await quotas.usage(Actor(user.id))).plan == PLANS[Tier.ENTERPRISE]


async def test_a_workspace_over_the_plans_number_is_not_stored(
    uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_workspaces=1))
    cache = MemoryCache()
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=uow_factory, cache=cache, clock=clock, gate=gate)
    workspaces = WorkspaceService(
        uow=uow_factory, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files
    )
    actor = Actor((await AccountService(uow=uow_factory, cache=cache, clock=clock).add_local_user("w@x.example")).id)
    await workspaces.create(actor, name="one", language="python")
    with pytest.raises(QuotaExceeded, match="You own 1 workspace, the most your plan"):
        await workspaces.create(actor, name="two", language="python")
    assert [w.name for w in await workspaces.list_accessible(actor)] == ["one"]
