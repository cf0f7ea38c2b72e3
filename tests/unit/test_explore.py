"""Explore, stars and forks on fakes: search, sort and paging; stars counted once; forks copy everything
within the forker's plan; who may do what."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from domain import cache_keys
from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded, Unauthenticated
from domain.explore import PAGE_SIZE, ExploreService
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import PLANS
from domain.values import PermissionLevel, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit import builders
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store


@pytest.fixture
def explore(store: Store, clock: FrozenClock, gate: WorkspaceGate) -> ExploreService:
    return ExploreService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate)


@pytest.fixture
async def people(accounts: AccountService) -> tuple[Actor, Actor]:
    ann = await accounts.add_local_user("ann@example.com", name="Ann")
    bob = await accounts.add_local_user("bob@example.com", name="Bob")
    return Actor(ann.id), Actor(bob.id)


async def public(workspaces: WorkspaceService, owner: Actor, name: str, **changes: object) -> UUID:
    workspace = await workspaces.create(owner, name=name, language="python", description=f"about {name}")
    await workspaces.update(owner, workspace.id, is_public=True, **changes)  # type: ignore[arg-type]
    return workspace.id


async def test_explore_lists_public_workspaces_and_templates_only_to_anyone(
    explore: ExploreService, workspaces: WorkspaceService, people: tuple[Actor, Actor]
) -> None:
    ann, _ = people
    await public(workspaces, ann, "Shown")
    template = await workspaces.create(ann, name="Starter", language="python")
    await workspaces.update(ann, template.id, is_template=True)
    await workspaces.create(ann, name="Private", language="python")
    page = await explore.search(ANONYMOUS)
    assert sorted(e.workspace.name for e in page.entries) == ["Shown", "Starter"]
    assert {e.owner_name for e in page.entries} == {"Ann"}  # a name, never the e-mail address
    assert page.starred == frozenset()


async def test_search_matches_name_or_description_and_sorts_by_stars_forks_or_recency(
    explore: ExploreService, workspaces: WorkspaceService, people: tuple[Actor, Actor], clock: FrozenClock
) -> None:
    ann, bob = people
    old = await public(workspaces, ann, "Old sorter")
    clock.advance(seconds=60)
    new = await public(workspaces, ann, "New parser")
    await explore.star(bob, old)
    await explore.fork(bob, new)
    await explore.fork(ann, new)
    assert [e.workspace.id for e in (await explore.search(ANONYMOUS, sort="stars")).entries] == [old, new]
    assert [e.workspace.id for e in (await explore.search(ANONYMOUS, sort="forks")).entries] == [new, old]
    assert [e.workspace.id for e in (await explore.search(ANONYMOUS, sort="recent")).entries] == [new, old]
    assert [e.workspace.id for e in (await explore.search(ANONYMOUS, query="SORTER")).entries] == [old]
    assert [e.workspace.id for e in (await explore.search(ANONYMOUS, query="about new")).entries] == [new]
    assert (await explore.search(ANONYMOUS, query="nothing like it")).entries == []
    with pytest.raises(InvalidInput, match="Unknown sort 'best': choose one of stars, forks, recent"):
        await explore.search(ANONYMOUS, sort="best")


async def test_pages_hold_page_size_entries(
    explore: ExploreService, workspaces: WorkspaceService, people: tuple[Actor, Actor]
) -> None:
    ann, _ = people
    for number in range(PAGE_SIZE + 3):
        await public(workspaces, ann, f"w{number}")
    first, second = await explore.search(ANONYMOUS, page=1), await explore.search(ANONYMOUS, page=2)
    assert (len(first.entries), len(second.entries), first.pages, first.total) == (PAGE_SIZE, 3, 2, PAGE_SIZE + 3)
    assert not {e.workspace.id for e in first.entries} & {e.workspace.id for e in second.entries}
    assert (await explore.search(ANONYMOUS, page=0)).page == 1


async def test_starring_twice_counts_once_and_unstarring_takes_it_back(
    explore: ExploreService, workspaces: WorkspaceService, people: tuple[Actor, Actor], cache: FakeCache
) -> None:
    ann, bob = people
    workspace_id = await public(workspaces, ann, "Starry")
    await workspaces.get(bob, workspace_id)  # puts it in the cache
    assert (await explore.star(bob, workspace_id)).star_count == 1
    assert cache_keys.workspace(workspace_id).name not in cache.entries  # the cached count is dropped
    assert (await explore.star(bob, workspace_id)).star_count == 1
    assert (await explore.star(ann, workspace_id)).star_count == 2
    assert (await explore.search(bob)).starred == {workspace_id}
    assert await explore.is_starred(bob, workspace_id)
    assert (await explore.unstar(bob, workspace_id)).star_count == 1
    assert (await explore.unstar(bob, workspace_id)).star_count == 1
    assert (await workspaces.get(ann, workspace_id)).star_count == 1


async def test_fork_copies_every_file_and_folder_and_counts(
    explore: ExploreService,
    workspaces: WorkspaceService,
    files: FileService,
    people: tuple[Actor, Actor],
    store: Store,
) -> None:
    ann, bob = people
    workspace_id = await public(workspaces, ann, "Original")
    await files.write(ann, workspace_id, "main.py", b"print('hi')\n")
    await workspaces.update(ann, workspace_id, entry="main.py")
    await files.write(ann, workspace_id, "lib/util.py", b"X = 1\n")
    await files.write(ann, workspace_id, "data.bin", bytes(range(256)))
    await files.create_folder(ann, workspace_id, "empty")
    fork = await explore.fork(bob, workspace_id)
    assert (fork.owner_id, fork.name, fork.forked_from) == (bob.user_id, "Original (fork)", workspace_id)
    assert (fork.language, fork.template, fork.settings) == (
        (await workspaces.get(ann, workspace_id)).language,
        "blank",
        {"run": {"entry": "main.py"}},
    )
    original = {
        f.path: (f.content, f.content_hash, f.is_binary) for f in store.files.values() if f.workspace_id == workspace_id
    }
    copied = {
        f.path: (f.content, f.content_hash, f.is_binary) for f in store.files.values() if f.workspace_id == fork.id
    }
    assert copied == original and {"lib/util.py", "data.bin", "empty", "main.py"} <= set(copied)
    assert (await workspaces.get(ann, workspace_id)).fork_count == 1
    assert (await files.read(bob, fork.id, "lib/util.py"))[1] == b"X = 1\n"
    renamed = await explore.fork(bob, workspace_id, name="Mine")
    assert renamed.name == "Mine" and store.workspaces[workspace_id].fork_count == 2


async def test_a_fork_past_the_forkers_plan_is_refused_and_nothing_is_stored(
    explore: ExploreService,
    workspaces: WorkspaceService,
    files: FileService,
    people: tuple[Actor, Actor],
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ann, bob = people
    workspace_id = await public(workspaces, ann, "Big")
    for number in range(3):
        await files.write(ann, workspace_id, f"f{number}.py", b"pass\n")
    before = (dict(store.workspaces), dict(store.files), store.workspaces[workspace_id].fork_count)
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_files=2))
    with pytest.raises(QuotaExceeded, match=r"holds 3 files and folders; a workspace of yours may hold at most 2"):
        await explore.fork(bob, workspace_id)
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_files=1000, max_bytes=10))
    with pytest.raises(QuotaExceeded, match=r"a workspace of yours may hold at most 10 bytes"):
        await explore.fork(bob, workspace_id)
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_bytes=1000, max_workspaces=0))
    with pytest.raises(QuotaExceeded, match=r"You own 0 workspaces, the most your plan"):
        await explore.fork(bob, workspace_id)
    assert (dict(store.workspaces), dict(store.files), store.workspaces[workspace_id].fork_count) == before


async def test_who_may_star_fork_and_publish(
    explore: ExploreService,
    workspaces: WorkspaceService,
    accounts: AccountService,
    people: tuple[Actor, Actor],
    store: Store,
) -> None:
    ann, bob = people
    private = await workspaces.create(ann, name="Private", language="python")
    with pytest.raises(NotFound, match="No such workspace"):
        await explore.star(bob, private.id)
    with pytest.raises(NotFound, match="No such workspace"):
        await explore.fork(bob, private.id)
    with pytest.raises(Unauthenticated, match="Sign in first"):
        await explore.star(ANONYMOUS, private.id)
    with pytest.raises(Unauthenticated, match="Sign in first"):
        await explore.fork(ANONYMOUS, private.id)
    # the owner may star and fork their own; one it is shared with (read) may too
    await explore.star(ann, private.id)
    carol = Actor((await accounts.add_local_user("carol@example.com")).id)
    builders.share(store, private.id, ann, carol, PermissionLevel.READ)
    await explore.fork(carol, private.id)
    # only the owner publishes: an admin may manage but not publish, a stranger cannot even see it
    builders.share(store, private.id, ann, bob, PermissionLevel.ADMIN)
    with pytest.raises(PermissionDenied, match="does not allow you to publish it"):
        await workspaces.update(bob, private.id, is_public=True)
    with pytest.raises(PermissionDenied, match="does not allow you to publish it"):
        await workspaces.update(bob, private.id, is_template=True)
    assert not store.workspaces[private.id].is_public and not store.workspaces[private.id].is_template
    published = await workspaces.update(ann, private.id, is_template=True)
    assert published.is_template
    dave = Actor((await accounts.add_local_user("dave@example.com")).id)
    assert (await workspaces.get(dave, private.id)).name == "Private"  # a template is readable by everyone
    assert [e.workspace.id for e in await explore.templates("python")] == [private.id]
    assert await explore.templates("cpp") == []
