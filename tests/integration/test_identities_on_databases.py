"""Identities on the real SQL adapters (SQLite and PostgreSQL), and the migration that adds them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from domain.accounts import AccountService
from domain.auth import AuthService
from domain.errors import Conflict
from domain.identities import IdentityService, ProviderProfile, SignInRefused
from persistence.cache import MemoryCache
from persistence.database import create_engine
from persistence.migrate import downgrade, upgrade
from persistence.models import UserIdentityRow, UserRow, UserSessionRow
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock
from tests.integration.test_services_on_databases import count

GITHUB = ProviderProfile(provider="github", provider_id="101", email="ada@example.com", display_name="Ada")


@pytest.fixture
def identities(uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock) -> IdentityService:
    cache = MemoryCache()
    auth = AuthService(uow=uow_factory, clock=clock, cache=cache)
    return IdentityService(uow=uow_factory, clock=clock, auth=auth, cache=cache)


async def test_sign_in_connect_and_disconnect_on_the_database(
    uow_factory: SqlUnitOfWorkFactory, identities: IdentityService, clock: FrozenClock
) -> None:
    accounts = AccountService(uow=uow_factory, cache=MemoryCache(), clock=clock)
    local = await accounts.add_local_user("bob@example.com")
    created = (await identities.sign_in(GITHUB)).user
    clock.advance(minutes=1)
    await identities.connect(local.id, ProviderProfile(provider="google", provider_id="g1", email="b@x.example"))

    with pytest.raises(SignInRefused):
        await identities.connect(local.id, GITHUB)
    with pytest.raises(Conflict):
        await identities.disconnect(created.id, "github")

    assert [i.provider for i in await identities.methods(local.id)] == ["local", "google"]
    assert (await identities.sign_in(GITHUB)).user.id == created.id
    await identities.disconnect(local.id, "google")
    assert [i.provider for i in await identities.methods(local.id)] == ["local"]
    assert await count(uow_factory, UserRow) == 2 and await count(uow_factory, UserIdentityRow) == 2
    assert await count(uow_factory, UserSessionRow) == 2


async def test_a_refused_sign_in_stores_nothing(
    uow_factory: SqlUnitOfWorkFactory, identities: IdentityService, clock: FrozenClock
) -> None:
    await AccountService(uow=uow_factory, cache=MemoryCache(), clock=clock).add_local_user("ada@example.com")

    with pytest.raises(SignInRefused, match="does not sign in with GitHub yet"):
        await identities.sign_in(GITHUB)

    assert await count(uow_factory, UserRow) == 1 and await count(uow_factory, UserSessionRow) == 0
    assert await count(uow_factory, UserIdentityRow) == 1


async def test_the_migration_gives_every_existing_account_its_first_way_in(migrated_database: URL) -> None:
    await asyncio.to_thread(downgrade, migrated_database, "0002")

    def insert(connection: Connection) -> None:
        connection.execute(text("INSERT INTO users (email, oauth_provider, oauth_id) VALUES ('a@b.c', 'github', '42')"))
        connection.commit()

    def identities_of(connection: Connection) -> list[tuple[str, str, str]]:
        rows = connection.execute(
            text("SELECT i.provider, i.provider_id, i.email FROM user_identities i JOIN users u ON u.id = i.user_id")
        )
        return [tuple(row) for row in rows]

    engine = create_engine(migrated_database)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(insert)
        await engine.dispose()
        await asyncio.to_thread(upgrade, migrated_database)
        async with engine.connect() as connection:
            assert await connection.run_sync(identities_of) == [("github", "42", "a@b.c")]
    finally:
        await engine.dispose()
