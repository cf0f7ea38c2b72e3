"""Public read-only links on fakes: only the owner (or an admin) makes, lists and revokes them; a link's
token is long and random; a visitor resolves a live link only (unknown, expired and revoked are the same
NotFound); each page view adds one; the rendered file is cached by its content hash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import cache_keys
from domain.access import ANONYMOUS, Action, Actor
from domain.accounts import AccountService
from domain.entities import Workspace
from domain.errors import InvalidInput, NotFound, PermissionDenied
from domain.explore import ExploreService
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.public_links import NO_SUCH_LINK, PublicLinkService
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store


@pytest.fixture
def links(store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate) -> PublicLinkService:
    return PublicLinkService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, gate=gate)


@pytest.fixture
async def ada(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("ada@example.com")).id)


@pytest.fixture
async def bob(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("bob@example.com")).id)


@pytest.fixture
async def project(workspaces: WorkspaceService, files: FileService, ada: Actor) -> Workspace:
    workspace = await workspaces.create(ada, name="Demo", language="python")
    await files.write(ada, workspace.id, "main.py", b"print('hi')\n")
    return workspace


async def test_the_owner_makes_lists_and_revokes_links(
    links: PublicLinkService, project: Workspace, ada: Actor, store: Store
) -> None:
    first = await links.create(ada, project.id)
    assert len(first.share_token) >= 43 and all(c.isalnum() or c in "-_" for c in first.share_token)
    second = await links.create(ada, project.id, expires_at=links._clock() + timedelta(days=1))
    assert first.share_token != second.share_token
    assert {link.id for link in await links.links(ada, project.id)} == {first.id, second.id}

    await links.revoke(ada, project.id, first.id)

    assert [link.id for link in await links.links(ada, project.id)] == [second.id]
    with pytest.raises(NotFound, match=NO_SUCH_LINK):
        await links.resolve(first.share_token)
    with pytest.raises(NotFound, match="no such link"):
        await links.revoke(ada, project.id, first.id)


async def test_only_those_who_may_share_touch_links(
    links: PublicLinkService, project: Workspace, ada: Actor, bob: Actor, store: Store
) -> None:
    link = await links.create(ada, project.id)
    commits = store.commits
    with pytest.raises(NotFound):
        await links.create(bob, project.id)
    with pytest.raises(NotFound):
        await links.links(ANONYMOUS, project.id)
    share(store, project.id, ada, bob, PermissionLevel.WRITE)
    with pytest.raises(PermissionDenied, match="does not allow you to share"):
        await links.create(bob, project.id)
    with pytest.raises(PermissionDenied):
        await links.revoke(bob, project.id, link.id)
    assert store.commits == commits and list(store.public_shares) == [link.id]

    share(store, project.id, ada, bob, PermissionLevel.ADMIN)
    made = await links.create(bob, project.id)
    assert {x.id for x in await links.links(bob, project.id)} == {link.id, made.id}


async def test_an_expiry_out_of_range_is_refused_one_without_a_zone_is_utc_and_a_past_one_has_expired(
    links: PublicLinkService, project: Workspace, ada: Actor, store: Store, clock: FrozenClock
) -> None:
    with pytest.raises(InvalidInput, match="years 2000 to 2999"):
        await links.create(ada, project.id, expires_at=clock().replace(year=3100))
    assert store.public_shares == {}
    naive = await links.create(ada, project.id, expires_at=(clock() + timedelta(days=1)).replace(tzinfo=None))
    assert naive.expires_at == clock() + timedelta(days=1)
    past = await links.create(ada, project.id, expires_at=clock() - timedelta(seconds=1))
    with pytest.raises(NotFound, match=NO_SUCH_LINK):
        await links.resolve(past.share_token)


async def test_unknown_expired_and_revoked_links_are_the_same_not_found(
    links: PublicLinkService, project: Workspace, ada: Actor, clock: FrozenClock
) -> None:
    expiring = await links.create(ada, project.id, expires_at=clock() + timedelta(hours=1))
    assert (await links.resolve(expiring.share_token)).workspace.id == project.id
    clock.advance(hours=1)
    messages = []
    for token in (expiring.share_token, "x" * 43, "not a token!", ""):
        with pytest.raises(NotFound) as refused:
            await links.resolve(token)
        messages.append(str(refused.value))
    assert set(messages) == {NO_SUCH_LINK}


async def test_each_page_view_counts_once_and_other_reads_do_not(
    links: PublicLinkService, project: Workspace, ada: Actor, store: Store
) -> None:
    link = await links.create(ada, project.id)
    for _ in range(3):
        await links.resolve(link.share_token, count_view=True)
    await links.read(link.share_token, "main.py")
    await links.archive(link.share_token)

    assert store.public_shares[link.id].view_count == 3
    assert (await links.links(ada, project.id))[0].view_count == 3


async def test_a_visitor_reads_files_and_the_archive_but_nothing_else(
    links: PublicLinkService, project: Workspace, ada: Actor
) -> None:
    link = await links.create(ada, project.id)
    info, data = await links.read(link.share_token, "main.py")
    assert data == b"print('hi')\n" and info.path == "main.py"
    workspace, archive = await links.archive(link.share_token)
    assert workspace.id == project.id and archive[:2] == b"PK"
    with pytest.raises(NotFound, match="There is no file"):
        await links.read(link.share_token, "missing.py")
    view = await links.resolve(link.share_token)
    assert not await links.visitor_may(ANONYMOUS, view, Action.VIEW)
    assert await links.visitor_may(ada, view, Action.EDIT)


async def test_the_rendered_file_is_cached_by_its_content_hash(
    links: PublicLinkService, files: FileService, project: Workspace, ada: Actor, cache: FakeCache
) -> None:
    link = await links.create(ada, project.id)
    calls: list[str] = []

    def render(path: str, data: bytes) -> str:
        calls.append(path)
        return f"<pre>{data.decode()}</pre>"

    view = await links.resolve(link.share_token)
    info, data = await links.read_in(view, "main.py")
    assert await links.rendered(view, info, data, render) == "<pre>print('hi')\n</pre>"
    assert await links.rendered(view, info, data, render) == "<pre>print('hi')\n</pre>"
    assert calls == ["main.py"]
    assert await cache.get(cache_keys.public_page(project.id, "main.py", info.content_hash)) is not None

    await files.write(ada, project.id, "main.py", b"print('changed')\n")
    info, data = await links.read_in(view, "main.py")
    assert await links.rendered(view, info, data, render) == "<pre>print('changed')\n</pre>"
    assert calls == ["main.py", "main.py"]


async def test_a_signed_in_visitor_forks_through_a_live_link_only(
    links: PublicLinkService,
    project: Workspace,
    ada: Actor,
    bob: Actor,
    store: Store,
    clock: FrozenClock,
    gate: WorkspaceGate,
) -> None:
    explore = ExploreService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate)
    link = await links.create(ada, project.id, expires_at=clock() + timedelta(hours=1))
    with pytest.raises(NotFound):
        await explore.fork(bob, project.id)
    view = await links.resolve(link.share_token)

    copy = await explore.fork(bob, project.id, via_link=view.link)

    assert copy.owner_id == bob.user_id and copy.forked_from == project.id
    clock.advance(hours=1)
    with pytest.raises(NotFound):
        await explore.fork(bob, project.id, via_link=view.link)
