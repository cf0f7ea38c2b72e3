from __future__ import annotations

import pytest

from domain import cache_keys
from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.editor_settings import EDITOR_LABELS, editor_setting_problem
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from domain.values import Language, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, Store


async def test_local_users_are_unique_by_email(accounts: AccountService, store: Store) -> None:
    user = await accounts.add_local_user("Ann@Example.com", name="Ann", tier=Tier.PREMIUM)
    assert (user.email, user.display_name, user.subscription_tier) == ("ann@example.com", "Ann", Tier.PREMIUM)
    with pytest.raises(Conflict, match="exists already"):
        await accounts.add_local_user("ann@example.com")
    assert len(store.users) == 1


async def test_the_local_owner_is_created_once(accounts: AccountService, store: Store) -> None:
    first = await accounts.ensure_local_owner()
    second = await accounts.ensure_local_owner()
    assert first.id == second.id and len(store.users) == 1


async def test_profile_is_read_through_the_cache(accounts: AccountService, cache: FakeCache, store: Store) -> None:
    user = await accounts.add_local_user("ann@example.com", name="Ann")
    assert (await accounts.profile(user.id)).display_name == "Ann"
    ttl, _ = cache.entries[cache_keys.user_profile(user.id).name]
    assert ttl == 3600
    store.users.clear()  # a cache hit no longer needs the store
    assert (await accounts.profile(user.id)).email == "ann@example.com"


async def test_unknown_email_is_not_found(accounts: AccountService) -> None:
    with pytest.raises(NotFound, match=r"nobody@example\.com"):
        await accounts.find_by_email("nobody@example.com")


async def test_create_workspace_from_a_template(
    workspaces: WorkspaceService, accounts: AccountService, store: Store
) -> None:
    user = await accounts.add_local_user("ann@example.com")
    workspace = await workspaces.create(Actor(user.id), name=" Demo ", language="cpp", template="cpp")
    assert (workspace.name, workspace.language, workspace.template) == ("Demo", Language.CPP, "cpp")
    paths = sorted(f.path for f in store.files.values())
    assert paths == ["greeting.cpp", "greeting.hpp", "main.cpp"]
    assert all(len(f.content_hash) == 64 and f.size_bytes > 0 for f in store.files.values())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "language": "python"}, "name cannot be empty"),
        ({"name": "x", "language": "cobol"}, "Unknown language"),
        ({"name": "x", "language": "python", "template": "react"}, "Unknown template"),
        ({"name": "x" * 256, "language": "python"}, "at most 255"),
    ],
)
async def test_bad_workspace_input_is_refused_and_nothing_stored(
    workspaces: WorkspaceService, accounts: AccountService, store: Store, fields: dict, message: str
) -> None:
    user = await accounts.add_local_user("ann@example.com")
    with pytest.raises(InvalidInput, match=message):
        await workspaces.create(Actor(user.id), **fields)
    assert store.workspaces == {} and store.files == {}


async def test_anonymous_cannot_create(workspaces: WorkspaceService) -> None:
    with pytest.raises(Unauthenticated):
        await workspaces.create(ANONYMOUS, name="x", language="python")


async def test_listing_is_most_recently_opened_first_and_private(
    workspaces: WorkspaceService, accounts: AccountService, clock: FrozenClock
) -> None:
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    bob = Actor((await accounts.add_local_user("bob@example.com")).id)
    await workspaces.create(ann, name="old", language="python")
    clock.advance(minutes=1)
    await workspaces.create(ann, name="new", language="python")
    await workspaces.create(bob, name="bob's", language="java")
    assert [w.name for w in await workspaces.list_accessible(ann)] == ["new", "old"]
    assert [w.name for w in await workspaces.list_accessible(bob)] == ["bob's"]


async def test_another_users_workspace_is_not_found(
    workspaces: WorkspaceService, accounts: AccountService, cache: FakeCache
) -> None:
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    bob = Actor((await accounts.add_local_user("bob@example.com")).id)
    workspace = await workspaces.create(ann, name="secret", language="python")
    assert (await workspaces.get(ann, workspace.id)).name == "secret"
    assert cache_keys.workspace(workspace.id).name in cache.entries
    with pytest.raises(NotFound):
        await workspaces.get(bob, workspace.id)  # even when the workspace is cached


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tab_size": 0}, "Tab size must be between 1 and 8 spaces."),
        ({"tab_size": 99}, "Tab size must be between 1 and 8 spaces."),
        ({"tab_size": 2.5}, "Tab size must be a whole number."),
        ({"font_size": 7}, "Font size must be between 8 and 40 px."),
        ({"autosave_delay_ms": 100}, "Autosave delay must be 0 (off) or between 200 and 60000 ms."),
        ({"theme": "pink"}, "Theme must be light or dark."),
        ({"word_wrap": "yes"}, "Wrap long lines must be on or off (true or false)."),
    ],
)
async def test_a_bad_editor_setting_is_named_as_the_person_sees_it_and_nothing_changes(
    workspaces: WorkspaceService, accounts: AccountService, changes: dict, message: str
) -> None:
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    workspace = await workspaces.create(ann, name="w", language="python")
    with pytest.raises(InvalidInput) as error:
        await workspaces.update(ann, workspace.id, editor={"font_size": 20, **changes})
    assert error.value.message == message
    assert not any(key in error.value.message for key in EDITOR_LABELS)  # never tab_size, font_size, ...
    assert workspaces.editor_settings(await workspaces.get(ann, workspace.id))["font_size"] == 14


def test_one_editor_setting_can_be_checked_alone_for_a_form() -> None:
    assert editor_setting_problem("tab_size", 2) is None
    assert editor_setting_problem("tab_size", None) == "Tab size must be a whole number."
    assert editor_setting_problem("autosave_delay_ms", 0) is None
    assert editor_setting_problem("font_size", 41) == "Font size must be between 8 and 40 px."
