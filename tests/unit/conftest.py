from __future__ import annotations

import pytest

from domain.accounts import AccountService
from domain.auth import AuthService
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def auth(store: Store, clock: FrozenClock) -> AuthService:
    return AuthService(uow=lambda: FakeUnitOfWork(store), clock=clock)


@pytest.fixture
def accounts(store: Store, cache: FakeCache, clock: FrozenClock) -> AccountService:
    return AccountService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock)


@pytest.fixture
def workspaces(store: Store, cache: FakeCache, clock: FrozenClock) -> WorkspaceService:
    return WorkspaceService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock)
