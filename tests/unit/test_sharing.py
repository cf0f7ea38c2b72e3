"""Sharing with people on fakes: invite by e-mail (again: change), list, change, revoke, leave, "Shared with
me", transfer within the recipient's plan; a share's end takes effect on the next check."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.access import Action, Actor
from domain.accounts import AccountService
from domain.entities import Workspace
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import PLANS
from domain.sharing import SharingService
from domain.values import PermissionLevel, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeUnitOfWork, Store


@pytest.fixture
def sharing(store: Store, clock: FrozenClock, gate: WorkspaceGate) -> SharingService:
    return SharingService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate)


@pytest.fixture
async def ada(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("ada@example.com", name="Ada")).id)


@pytest.fixture
async def bob(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("bob@example.com")).id)


@pytest.fixture
async def cy(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("cy@example.com")).id)


@pytest.fixture
async def project(workspaces: WorkspaceService, files: FileService, ada: Actor) -> Workspace:
    workspace = await workspaces.create(ada, name="Demo", language="python")
    await files.write(ada, workspace.id, "main.py", b"print('hi')\n")
    return workspace


async def test_an_invitee_gets_the_role_and_sees_it_shared_with_them(
    sharing: SharingService, files: FileService, project: Workspace, ada: Actor, bob: Actor
) -> None:
    member = await sharing.invite(ada, project.id, email="Bob@Example.com", permission="write")
    assert member.email == "bob@example.com" and member.share.permission_level is PermissionLevel.WRITE

    await files.write(bob, project.id, "main.py", b"print('bob')\n")
    [shared] = await sharing.shared_with_me(bob)
    assert shared.workspace.id == project.id and shared.owner_name == "Ada" and shared.share.id == member.share.id
    assert await sharing.shared_with_me(ada) == []
    assert [m.email for m in await sharing.members(ada, project.id)] == ["bob@example.com"]


async def test_inviting_again_changes_the_one_share(
    sharing: SharingService, project: Workspace, ada: Actor, bob: Actor
) -> None:
    first = await sharing.invite(ada, project.id, email="bob@example.com", permission="admin")
    again = await sharing.invite(ada, project.id, email="bob@example.com", permission="read")
    assert again.share.id == first.share.id
    [member] = await sharing.members(ada, project.id)
    assert member.share.permission_level is PermissionLevel.READ


async def test_unknown_addresses_owners_and_bad_permissions_get_clear_messages(
    sharing: SharingService, project: Workspace, ada: Actor, bob: Actor
) -> None:
    with pytest.raises(NotFound, match=r"No Codeloft account has the e-mail address nobody@example\.com"):
        await sharing.invite(ada, project.id, email="nobody@example.com", permission="read")
    with pytest.raises(Conflict, match="You own this workspace"):
        await sharing.invite(ada, project.id, email="ada@example.com", permission="read")
    with pytest.raises(InvalidInput, match="read, write or admin"):
        await sharing.invite(ada, project.id, email="bob@example.com", permission="owner")
    with pytest.raises(InvalidInput):
        await sharing.invite(ada, project.id, email="not an address", permission="read")
    assert await sharing.members(ada, project.id) == []


async def test_only_those_who_may_share_see_and_change_shares(
    sharing: SharingService, project: Workspace, ada: Actor, bob: Actor, cy: Actor
) -> None:
    with pytest.raises(NotFound):
        await sharing.invite(cy, project.id, email="bob@example.com", permission="admin")
    await sharing.invite(ada, project.id, email="bob@example.com", permission="write")
    with pytest.raises(PermissionDenied):
        await sharing.members(bob, project.id)
    with pytest.raises(PermissionDenied):
        await sharing.invite(bob, project.id, email="cy@example.com", permission="admin")
    await sharing.invite(ada, project.id, email="bob@example.com", permission="admin")
    member = await sharing.invite(bob, project.id, email="cy@example.com", permission="read")
    assert member.share.shared_by_user_id == bob.user_id


async def test_revoking_lowering_and_expiry_take_effect_at_once(
    sharing: SharingService,
    files: FileService,
    project: Workspace,
    ada: Actor,
    bob: Actor,
    clock: FrozenClock,
) -> None:
    member = await sharing.invite(ada, project.id, email="bob@example.com", permission="write")
    await sharing.change(ada, project.id, member.share.id, permission="read")
    with pytest.raises(PermissionDenied):
        await files.write(bob, project.id, "main.py", b"x")
    await sharing.change(ada, project.id, member.share.id, expires_at=clock() + timedelta(hours=1), keep_expiry=False)
    assert (await files.read(bob, project.id, "main.py"))[1] == b"print('hi')\n"
    clock.advance(hours=2)
    with pytest.raises(NotFound):
        await files.read(bob, project.id, "main.py")
    assert await sharing.shared_with_me(bob) == []

    await sharing.revoke(ada, project.id, member.share.id)
    assert await sharing.members(ada, project.id) == []
    with pytest.raises(NotFound):
        await sharing.revoke(ada, project.id, member.share.id)


async def test_a_person_may_leave_a_workspace_shared_with_them(
    sharing: SharingService, project: Workspace, ada: Actor, bob: Actor
) -> None:
    member = await sharing.invite(ada, project.id, email="bob@example.com", permission="read")
    await sharing.revoke(bob, project.id, member.share.id)
    assert await sharing.shared_with_me(bob) == []


async def test_the_owner_transfers_and_keeps_admin_access(
    sharing: SharingService,
    workspaces: WorkspaceService,
    project: Workspace,
    ada: Actor,
    bob: Actor,
    gate: WorkspaceGate,
) -> None:
    await sharing.invite(ada, project.id, email="bob@example.com", permission="write")
    given = await sharing.transfer(ada, project.id, email="bob@example.com")
    assert given.owner_id == bob.user_id
    assert (await workspaces.get(bob, project.id)).owner_id == bob.user_id
    assert Action.DELETE in await workspaces.permissions(bob, given)
    ada_may = await workspaces.permissions(ada, given)
    assert Action.SHARE in ada_may and Action.DELETE not in ada_may and Action.TRANSFER not in ada_may
    assert [m.email for m in await sharing.members(bob, project.id)] == ["ada@example.com"]
    with pytest.raises(PermissionDenied):
        await sharing.transfer(ada, project.id, email="ada@example.com")


async def test_a_transfer_respects_the_recipients_plan(
    sharing: SharingService,
    workspaces: WorkspaceService,
    project: Workspace,
    ada: Actor,
    bob: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], max_workspaces=1))
    await workspaces.create(bob, name="Bob's", language="python")
    with pytest.raises(QuotaExceeded, match=r"bob@example\.com owns 1 workspace"):
        await sharing.transfer(ada, project.id, email="bob@example.com")
    assert (await workspaces.get(ada, project.id)).owner_id == ada.user_id
