from __future__ import annotations

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.auth import AuthService
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.previews import PreviewService
from domain.runs import Executor, RunService
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import (
    FakeArtifacts,
    FakeCache,
    FakeQueue,
    FakeRunner,
    FakeTemplateSource,
    FakeUnitOfWork,
    ServingRunner,
    Store,
)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def auth(store: Store, cache: FakeCache, clock: FrozenClock) -> AuthService:
    return AuthService(uow=lambda: FakeUnitOfWork(store), clock=clock, cache=cache)


@pytest.fixture
def accounts(store: Store, cache: FakeCache, clock: FrozenClock) -> AccountService:
    return AccountService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock)


@pytest.fixture
def gate(cache: FakeCache, clock: FrozenClock) -> WorkspaceGate:
    return WorkspaceGate(cache=cache, clock=clock)


@pytest.fixture
def files(store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate) -> FileService:
    return FileService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, gate=gate)


@pytest.fixture
def workspaces(store: Store, clock: FrozenClock, gate: WorkspaceGate, files: FileService) -> WorkspaceService:
    return WorkspaceService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, templates=FakeTemplateSource(), files=files
    )


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def artifacts() -> FakeArtifacts:
    return FakeArtifacts()


@pytest.fixture
def job_queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def executor(runner: FakeRunner, cache: FakeCache, artifacts: FakeArtifacts, job_queue: FakeQueue) -> Executor:
    return Executor(runner=runner, cache=cache, artifacts=artifacts, queue=job_queue)


@pytest.fixture
def runs(store: Store, clock: FrozenClock, gate: WorkspaceGate, executor: Executor) -> RunService:
    return RunService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor)


@pytest.fixture
async def owner(accounts: AccountService) -> Actor:
    """A local account that owns the workspaces of a test (modules may define their own)."""
    return Actor((await accounts.add_local_user("owner@example.com")).id)


@pytest.fixture
def serving() -> ServingRunner:
    return ServingRunner()


@pytest.fixture
def previews(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, cache: FakeCache, serving: ServingRunner
) -> PreviewService:
    executor = Executor(runner=serving, cache=cache, artifacts=FakeArtifacts(), queue=FakeQueue())
    return PreviewService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, folder="/p")
