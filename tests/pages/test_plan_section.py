"""The account page's "Plan and usage" section, and a quota's refusal on a page, under NiceGUI's user
simulation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from nicegui.testing.user import User

from domain.plans import PLANS, plan_for
from domain.quotas import next_midnight, when
from domain.values import Tier
from tests.pages.simulated import find_testid, sign_in, with_testid


def text_of(user: User, testid: str) -> str:
    [element] = find_testid(user, testid).elements
    return str(element.props.get("text", getattr(element, "text", "")))


async def test_the_account_page_shows_the_plan_each_quota_used_and_left_and_when_it_resets(user: User) -> None:
    ada = await sign_in(user, "ada@example.com")
    await ada.services.quotas.take_ai_request(ada.account.id)
    await ada.services.quotas.take_ai_request(ada.account.id)
    await ada.services.workspaces.create(ada.actor, name="One", language="python")
    free = plan_for(Tier.FREE)
    before = when(next_midnight(datetime.now(UTC)))

    await user.open("/account")

    await user.should_see("Plan and usage")
    assert text_of(user, "account-plan-name") == "Free"
    assert text_of(user, "quota-ai-requests-today-used") == f"2 of {free.ai_requests_per_day}"
    assert text_of(user, "quota-ai-requests-today-left") == str(free.ai_requests_per_day - 2)
    assert text_of(user, "quota-ai-requests-today-resets") in {
        f"resets at {before}",
        f"resets at {when(next_midnight(datetime.now(UTC)))}",
    }
    assert text_of(user, "quota-runs-this-hour-used") == f"0 of {free.runs_per_hour}"
    assert text_of(user, "quota-workspaces-used") == f"1 of {free.max_workspaces}"
    assert text_of(user, "quota-workspaces-resets") == "does not reset"
    await user.should_see("Each workspace you own may hold 1,000 files and folders and 100 MB in all.")
    await user.should_see("A run may use up to 5 s of CPU, 10 s in all, 256 MB of memory and 1 MB of output.")


async def test_a_premium_persons_account_page_shows_the_premium_plan(user: User) -> None:
    ada = await sign_in(user, "ada@example.com")
    await ada.services.quotas.set_tier("ada@example.com", Tier.PREMIUM)

    await user.open("/account")

    assert text_of(user, "account-plan-name") == "Premium"
    assert text_of(user, "quota-ai-requests-today-used") == f"0 of {plan_for(Tier.PREMIUM).ai_requests_per_day:,}"


async def test_a_workspace_past_the_plans_number_is_refused_on_the_dashboard_naming_the_limit(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_workspaces=1))
    ada = await sign_in(user)
    await ada.services.workspaces.create(ada.actor, name="Only", language="python")
    await user.open("/")

    find_testid(user, "new-workspace").click()
    find_testid(user, "new-name").type("Second")
    find_testid(user, "new-create").click()

    await user.should_see("You own 1 workspace, the most your plan (Free) allows: delete one to make room for another.")
    assert [w.name for w in await ada.services.workspaces.list_accessible(ada.actor)] == ["Only"]
    assert with_testid(user, "new-name")  # the dialog stays open, its input kept
