"""Issue 13's role matrix through the domain services on fakes: every role against every action, each cell
with the answer the service gives. A refusal changes nothing in the store (nor starts a sandbox); a
refusal to someone who may not see the workspace is the very `NotFound` a workspace that does not exist
gets.

The actions: view = read a file (a link's visitor reads it through the link: `public_links.read`), edit =
write a file, run = `runs.run`, preview = `previews.start`, fork = `explore.fork` (a link's visitor forks
through the link: `via_link`), share = `sharing.invite`, make a link = `public_links.create`, change
settings = `workspaces.update` (the name), delete = `workspaces.delete`, transfer = `sharing.transfer`.

A link is presented only where a service takes one (reading and forking): for every other action its
visitor is who they are without it, anonymous or a signed-in person the workspace is not shared with. The
gate answers a caller who may not view with `NotFound` before anything else; services that need a
signed-in person (run, preview, fork, invite, transfer) ask an anonymous caller to sign in first."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.entities import PublicShare
from domain.errors import CodeloftError, NotFound, PermissionDenied, Unauthenticated
from domain.explore import ExploreService
from domain.files import FileService, file_bytes
from domain.gate import WorkspaceGate
from domain.previews import PreviewService
from domain.public_links import PublicLinkService
from domain.runs import RunService
from domain.sharing import SharingService
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeRunner, FakeUnitOfWork, ServingRunner, Store

ANSWERS: dict[str, Any] = {
    "ok": None,  # allowed: the service does it
    "denied": PermissionDenied,  # may view, not do this
    "missing": NotFound,  # the very answer a workspace that does not exist gets
    "sign-in": Unauthenticated,
}
MATRIX = """
                        | view     edit     run      preview  fork     share    link     settings delete   transfer
owner                   | ok       ok       ok       ok       ok       ok       ok       ok       ok       ok
admin                   | ok       ok       ok       ok       ok       ok       ok       ok       denied   denied
write                   | ok       ok       ok       ok       ok       denied   denied   denied   denied   denied
read                    | ok       denied   ok       ok       ok       denied   denied   denied   denied   denied
expired share           | missing  missing  missing  missing  missing  missing  missing  missing  missing  missing
link visitor            | ok       missing  sign-in  sign-in  sign-in  sign-in  missing  missing  missing  sign-in
link visitor, signed in | ok       missing  missing  missing  ok       missing  missing  missing  missing  missing
signed-in stranger      | missing  missing  missing  missing  missing  missing  missing  missing  missing  missing
anonymous               | missing  missing  sign-in  sign-in  sign-in  sign-in  missing  missing  missing  sign-in
"""


def cells(matrix: str) -> list[tuple[str, str, str]]:
    """(role, action, answer) for every cell of a matrix written as above."""
    header, *rows = [line.split("|") for line in matrix.strip("\n").splitlines()]
    actions = header[1].split()
    found = []
    for role, answers in rows:
        found += [(role.strip(), action, answer) for action, answer in zip(actions, answers.split(), strict=True)]
    return found


CELLS = cells(MATRIX)
LINK_ROLES = ("link visitor", "link visitor, signed in")
PROGRAM = b"print('matrix')\n"
GUEST = "guest@example.com"
"""Whom a cell invites or transfers the workspace to: an account with no role of its own."""


@dataclass
class World:
    workspace_id: UUID
    actors: dict[str, Actor]
    link: PublicShare


@pytest.fixture
def sharing(store: Store, clock: FrozenClock, gate: WorkspaceGate) -> SharingService:
    return SharingService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate)


@pytest.fixture
def explore(store: Store, clock: FrozenClock, gate: WorkspaceGate) -> ExploreService:
    return ExploreService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate)


@pytest.fixture
def public_links(store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate) -> PublicLinkService:
    return PublicLinkService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, gate=gate)


@pytest.fixture
async def world(
    accounts: AccountService,
    workspaces: WorkspaceService,
    files: FileService,
    sharing: SharingService,
    public_links: PublicLinkService,
    clock: FrozenClock,
) -> World:
    async def account(email: str) -> Actor:
        return Actor((await accounts.add_local_user(email)).id)

    owner = await account("owner@example.com")
    workspace = await workspaces.create(owner, name="Matrix", language="python")
    await files.write(owner, workspace.id, "main.py", PROGRAM)
    actors = {"owner": owner}
    for role, level in (("admin", "admin"), ("write", "write"), ("read", "read"), ("expired share", "write")):
        email = f"{role.split()[0]}@example.com"
        actors[role] = await account(email)
        until = clock() - timedelta(minutes=1) if role == "expired share" else None
        await sharing.invite(owner, workspace.id, email=email, permission=level, expires_at=until)
    stranger = await account("stranger@example.com")
    actors |= {"link visitor": ANONYMOUS, "link visitor, signed in": stranger, "signed-in stranger": stranger}
    actors["anonymous"] = ANONYMOUS
    await account(GUEST)
    link = await public_links.create(owner, workspace.id)
    return World(workspace_id=workspace.id, actors=actors, link=link)


@pytest.fixture
def act(
    world: World,
    files: FileService,
    runs: RunService,
    previews: PreviewService,
    explore: ExploreService,
    sharing: SharingService,
    public_links: PublicLinkService,
    workspaces: WorkspaceService,
) -> Callable[[str, str, UUID], Awaitable[object]]:
    """One cell's call: `action` by `role`'s actor on `workspace_id`."""

    def call(role: str, action: str, workspace_id: UUID) -> Awaitable[object]:
        actor = world.actors[role]
        via_link = world.link if role in LINK_ROLES else None
        match action:
            case "view" if via_link is not None:
                return public_links.read(via_link.share_token, "main.py")
            case "view":
                return files.read(actor, workspace_id, "main.py")
            case "edit":
                return files.write(actor, workspace_id, "main.py", b"print('changed')\n")
            case "run":
                return runs.run(actor, workspace_id, path="main.py")
            case "preview":
                return previews.start(actor, workspace_id)
            case "fork":
                return explore.fork(actor, workspace_id, via_link=via_link)
            case "share":
                return sharing.invite(actor, workspace_id, email=GUEST, permission="read")
            case "link":
                return public_links.create(actor, workspace_id)
            case "settings":
                return workspaces.update(actor, workspace_id, name="Renamed")
            case "delete":
                return workspaces.delete(actor, workspace_id)
            case "transfer":
                return sharing.transfer(actor, workspace_id, email=GUEST)
        raise AssertionError(action)

    return call


def done(action: str, actor: Actor, answer: Any, world: World, store: Store, runner: FakeRunner, previews: Any) -> None:
    """An allowed cell did what it says."""
    ws = world.workspace_id
    content = next((file_bytes(f) for f in store.files.values() if f.workspace_id == ws and f.path == "main.py"), None)
    match action:
        case "view":
            assert answer[1] == PROGRAM
        case "edit":
            assert content == b"print('changed')\n"
        case "run":
            assert answer.status == "success" and len(runner.run_requests) == 1
        case "preview":
            assert previews.current(ws) is not None
        case "fork":
            assert answer.forked_from == ws and store.workspaces[answer.id].owner_id == actor.user_id
            assert any(f.workspace_id == answer.id and file_bytes(f) == PROGRAM for f in store.files.values())
        case "share":
            assert any(store.users[s.shared_with_user_id].email == GUEST for s in store.shares.values())
        case "link":
            assert len([s for s in store.public_shares.values() if s.workspace_id == ws]) == 2
        case "settings":
            assert store.workspaces[ws].name == "Renamed"
        case "delete":
            assert ws not in store.workspaces
        case "transfer":
            assert store.users[store.workspaces[ws].owner_id].email == GUEST


def state(store: Store) -> dict[str, Any]:
    """Everything the store holds, to compare before and after a refusal."""
    return copy.deepcopy(store.__dict__)


@pytest.mark.parametrize(("role", "action", "expected"), CELLS, ids=[f"{r}-{a}" for r, a, _ in CELLS])
async def test_role_against_action(
    role: str,
    action: str,
    expected: str,
    world: World,
    act: Callable[[str, str, UUID], Awaitable[object]],
    store: Store,
    runner: FakeRunner,
    serving: ServingRunner,
    previews: PreviewService,
) -> None:
    before = state(store)
    if expected == "ok":
        answer = await act(role, action, world.workspace_id)
        done(action, world.actors[role], answer, world, store, runner, previews)
        if action == "preview":
            await previews.stop(world.actors[role], world.workspace_id)
        return

    with pytest.raises(CodeloftError) as refused:
        await act(role, action, world.workspace_id)
    assert type(refused.value) is ANSWERS[expected], (role, action, refused.value)
    assert state(store) == before, f"{role} {action}: refused, yet the store changed"
    assert runner.requests == [] and serving.requests == [] and previews.current(world.workspace_id) is None
    if expected == "missing":
        with pytest.raises(NotFound) as missing:
            await act(role, action, uuid4())
        assert refused.value.message == missing.value.message  # nothing tells it from a missing workspace
