"""Plans and quotas on fakes: the plan table and its overrides, and each quota refusing with a message
that names the limit and when it resets, storing nothing."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from domain import cache_keys
from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import InvalidInput, NotFound, QuotaExceeded
from domain.files import FileService
from domain.limits import MB, human_size
from domain.plans import DEFAULT_PLANS, OVERRIDABLE, PLANS, Plan, configure_plans, parse_plans, plan_for
from domain.quotas import QuotaService, next_midnight
from domain.runs import RunService
from domain.sandbox import RunLimits
from domain.values import Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeRunner, FakeUnitOfWork, Store
from ui.errors import api_error_handler


@pytest.fixture
def quotas(store: Store, cache: FakeCache, clock: FrozenClock) -> QuotaService:
    return QuotaService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock)


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """A free plan with small numbers, so a test reaches each limit in a few steps."""
    small = replace(PLANS[Tier.FREE], ai_requests_per_day=3, runs_per_hour=2, max_workspaces=2)
    monkeypatch.setitem(PLANS, Tier.FREE, small)


# --- the table --------------------------------------------------------------------------------


def test_every_plan_has_every_limit_and_higher_plans_allow_more() -> None:
    assert {f.name for f in fields(Plan)} == {"tier", *OVERRIDABLE}
    free, premium, enterprise = (DEFAULT_PLANS[t] for t in (Tier.FREE, Tier.PREMIUM, Tier.ENTERPRISE))
    for name in OVERRIDABLE:
        if name == "run_ceiling":
            continue
        assert getattr(free, name) < getattr(premium, name) < getattr(enterprise, name), name
    assert free.run_ceiling == RunLimits()
    # The per-workspace limits that lived in domain/limits.py, unchanged.
    assert (free.max_files, free.max_bytes) == (1_000, 100 * 1024 * 1024)
    assert (enterprise.max_files, enterprise.max_bytes) == (50_000, 5 * 1024**3)


def test_overrides_change_only_what_they_name() -> None:
    table = parse_plans(
        {"free": {"ai_requests_per_day": 50, "run_ceiling": {"cpu_seconds": 8}}, "premium": {"max_workspaces": 0}},
        where="plans.json",
    )
    assert table[Tier.FREE].ai_requests_per_day == 50
    assert table[Tier.FREE].run_ceiling == RunLimits(cpu_seconds=8)
    assert table[Tier.FREE].runs_per_hour == DEFAULT_PLANS[Tier.FREE].runs_per_hour
    assert table[Tier.PREMIUM].max_workspaces == 0
    assert table[Tier.ENTERPRISE] == DEFAULT_PLANS[Tier.ENTERPRISE]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gold": {}}, "plans.json: there is no plan 'gold'; known are free, premium, enterprise."),
        ({"free": 5}, "plans.json: the plan free must map limit names to values."),
        ({"free": {"ai_per_day": 5}}, "plans.json: there is no plan limit 'ai_per_day'"),
        ({"free": {"max_files": -1}}, "plans.json: free.max_files must be a whole number, zero or more."),
        ({"free": {"max_files": 1.5}}, "plans.json: free.max_files must be a whole number, zero or more."),
        ({"free": {"runs_per_hour": True}}, "plans.json: free.runs_per_hour must be a whole number"),
        ({"free": {"runs_per_hour": "9"}}, "plans.json: free.runs_per_hour must be a whole number"),
        ({"free": {"run_ceiling": 5}}, "plans.json: free.run_ceiling must map run limit names to numbers."),
        ({"free": {"run_ceiling": {"cpu": 5}}}, "plans.json: free.run_ceiling: there is no run limit 'cpu'"),
    ],
)
def test_a_bad_override_is_refused_naming_it(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_plans(overrides, where="plans.json")
    assert refused.value.message.startswith(message)


def test_configuring_puts_a_table_in_force_and_none_restores_the_defaults() -> None:
    try:
        configure_plans(parse_plans({"free": {"ai_requests_per_day": 7}}, where="x"))
        assert plan_for(Tier.FREE).ai_requests_per_day == 7
    finally:
        configure_plans(None)
    assert PLANS == DEFAULT_PLANS


# --- AI requests a day ------------------------------------------------------------------------


async def test_ai_requests_are_counted_up_to_the_plan_and_the_next_is_refused_naming_the_reset(
    quotas: QuotaService, accounts: AccountService, store: Store, cache: FakeCache, clock: FrozenClock, tight: None
) -> None:
    user = await accounts.add_local_user("ai@example.com")
    await accounts.profile(user.id)  # cached
    lefts = [(await quotas.take_ai_request(user.id)).left for _ in range(3)]
    assert lefts == [2, 1, 0]
    assert cache_keys.user_profile(user.id).name not in cache.entries  # the row changed: the entry went
    commits = store.commits

    with pytest.raises(QuotaExceeded) as refused:
        await quotas.take_ai_request(user.id)

    assert refused.value.message == (
        "You have used the 3 AI requests a day your plan (Free) gives on the server's shared key; "
        "it resets at 2026-01-02 00:00 UTC."
    )
    assert refused.value.resets_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert refused.value.retry_after == 12 * 3600  # the clock says noon
    assert store.users[user.id].ai_quota_used == 3 and store.commits == commits


async def test_the_ai_count_starts_again_once_its_day_has_passed(
    quotas: QuotaService, accounts: AccountService, store: Store, clock: FrozenClock, tight: None
) -> None:
    user = await accounts.add_local_user("day@example.com")
    for _ in range(3):
        await quotas.take_ai_request(user.id)
    clock.advance(hours=12)  # midnight: a new day

    allowance = await quotas.take_ai_request(user.id)

    assert (allowance.used, allowance.left) == (1, 2)
    assert store.users[user.id].ai_quota_reset_date == date(2026, 1, 2)
    assert allowance.resets_at == datetime(2026, 1, 3, tzinfo=UTC)


async def test_a_plan_with_no_ai_requests_refuses_the_first(
    quotas: QuotaService, accounts: AccountService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], ai_requests_per_day=0))
    user = await accounts.add_local_user("none@example.com")
    with pytest.raises(QuotaExceeded, match="the 0 AI requests a day"):
        await quotas.take_ai_request(user.id)
    assert store.users[user.id].ai_quota_used == 0


async def test_taking_for_nobody_is_not_found(quotas: QuotaService) -> None:
    with pytest.raises(NotFound):
        await quotas.take_ai_request(UUID(int=7))


# --- runs per hour ----------------------------------------------------------------------------


async def python_workspace(workspaces: WorkspaceService, files: FileService, actor: Actor, name: str = "py") -> UUID:
    ws = (await workspaces.create(actor, name=name, language="python")).id
    await files.write(actor, ws, "main.py", b"print(1)\n")
    return ws


async def test_runs_past_the_hourly_limit_are_refused_until_the_first_is_an_hour_old(
    runs: RunService,
    runner: FakeRunner,
    workspaces: WorkspaceService,
    files: FileService,
    owner: Actor,
    store: Store,
    clock: FrozenClock,
    tight: None,
) -> None:
    ws = await python_workspace(workspaces, files, owner)
    await runs.run(owner, ws)
    clock.advance(minutes=10)
    await runs.run(owner, ws)
    recorded, asked = dict(store.runs), len(runner.requests)

    with pytest.raises(QuotaExceeded) as refused:
        await runs.run(owner, ws)

    assert refused.value.message == (
        "You have started 2 runs in the last hour, the most your plan (Free) allows; it resets at 2026-01-01 13:00 UTC."
    )
    assert refused.value.retry_after == 50 * 60
    assert store.runs == recorded and len(runner.requests) == asked  # nothing recorded, nothing ran
    clock.advance(minutes=50)
    assert (await runs.run(owner, ws)).status.value == "success"


async def test_the_hourly_limit_is_the_runners_own_whoever_owns_the_workspace(
    runs: RunService,
    accounts: AccountService,
    workspaces: WorkspaceService,
    files: FileService,
    store: Store,
    tight: None,
) -> None:
    """An enterprise person's runs in their own workspace do not count against a free person's hour."""
    boss = Actor((await accounts.add_local_user("boss@example.com", tier=Tier.ENTERPRISE)).id)
    ws = await python_workspace(workspaces, files, boss)
    for _ in range(3):
        await runs.run(boss, ws)
    free = Actor((await accounts.add_local_user("free@example.com")).id)
    mine = await python_workspace(workspaces, files, free, "mine")
    await runs.run(free, mine)
    await runs.run(free, mine)
    with pytest.raises(QuotaExceeded, match="2 runs in the last hour"):
        await runs.run(free, mine)


# --- workspaces -------------------------------------------------------------------------------


async def test_a_workspace_past_the_plans_number_is_refused_and_not_stored(
    workspaces: WorkspaceService, owner: Actor, store: Store, tight: None
) -> None:
    await workspaces.create(owner, name="one", language="python")
    await workspaces.create(owner, name="two", language="python")
    stored = dict(store.workspaces)

    for archive in (None, b"PK\x05\x06" + b"\0" * 18):  # from a template, and from a (empty) ZIP
        with pytest.raises(QuotaExceeded) as refused:
            await workspaces.create(owner, name="three", language="python", archive=archive)
        assert refused.value.message == (
            "You own 2 workspaces, the most your plan (Free) allows: delete one to make room for another."
        )
        assert refused.value.retry_after is None

    assert store.workspaces == stored
    await workspaces.delete(owner, next(iter(stored)))
    await workspaces.create(owner, name="three", language="python")


# --- usage and plans --------------------------------------------------------------------------


async def test_usage_shows_each_quota_used_left_and_when_it_resets(
    quotas: QuotaService,
    runs: RunService,
    workspaces: WorkspaceService,
    files: FileService,
    owner: Actor,
    clock: FrozenClock,
    tight: None,
) -> None:
    empty = await quotas.usage(owner)
    assert (empty.ai_requests.used, empty.runs.used, empty.runs.resets_at) == (0, 0, None)
    ws = await python_workspace(workspaces, files, owner)
    await runs.run(owner, ws)
    assert owner.user_id is not None
    await quotas.take_ai_request(owner.user_id)
    clock.advance(minutes=5)

    usage = await quotas.usage(owner)

    assert usage.plan.tier is Tier.FREE
    assert (usage.ai_requests.used, usage.ai_requests.left, usage.ai_requests.resets_at) == (
        1,
        2,
        next_midnight(clock()),
    )
    assert (usage.runs.used, usage.runs.left) == (1, 1)
    assert usage.runs.resets_at == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert (usage.workspaces.used, usage.workspaces.left, usage.workspaces.resets_at) == (1, 1, None)
    clock.advance(days=1)
    later = await quotas.usage(owner)
    assert (later.ai_requests.used, later.runs.used) == (0, 0)  # a past day's count is not today's


async def test_set_tier_changes_the_plan_and_drops_the_cached_profile(
    quotas: QuotaService, accounts: AccountService, store: Store, cache: FakeCache, clock: FrozenClock
) -> None:
    user = await accounts.add_local_user("up@example.com")
    await accounts.profile(user.id)
    clock.advance(minutes=1)

    changed = await quotas.set_tier("UP@example.com", Tier.PREMIUM)

    assert changed.subscription_tier is Tier.PREMIUM
    assert store.users[user.id].subscription_tier is Tier.PREMIUM
    assert store.users[user.id].updated_at == clock() and clock() - user.created_at == timedelta(minutes=1)
    assert (await accounts.profile(user.id)).subscription_tier is Tier.PREMIUM
    assert (await quotas.usage(Actor(user.id))).plan.ai_requests_per_day == plan_for(Tier.PREMIUM).ai_requests_per_day


async def test_set_tier_of_nobody_is_refused_and_changes_nothing(quotas: QuotaService, store: Store) -> None:
    commits = store.commits
    with pytest.raises(NotFound, match=r"No user has the e-mail address ghost@example\.com"):
        await quotas.set_tier("ghost@example.com", Tier.ENTERPRISE)
    assert store.commits == commits


# --- the API's answer -------------------------------------------------------------------------


async def test_the_api_answers_a_used_up_allowance_with_429_and_retry_after_only_when_it_comes_back() -> None:
    timed = await api_error_handler(None, QuotaExceeded("Used up; it resets at …", retry_after=90))  # type: ignore[arg-type]
    lasting = await api_error_handler(None, QuotaExceeded("You own 2 workspaces"))  # type: ignore[arg-type]

    assert (timed.status_code, timed.headers["retry-after"]) == (429, "90")
    assert timed.body == b'{"detail":"Used up; it resets at \xe2\x80\xa6","error":"QuotaExceeded"}'
    assert lasting.status_code == 429 and "retry-after" not in lasting.headers


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (5000, "4.88 KB"),
        (1000 * 1024, "1000 KB"),
        (1_234_567, "1.18 MB"),
        (5 * MB, "5 MB"),
        (25 * MB, "25 MB"),
        (5 * 1024 * MB, "5 GB"),
    ],
)
def test_sizes_are_said_with_three_digits_at_most_and_limits_exactly(size: int, said: str) -> None:
    assert human_size(size) == said
