"""The shipped extensions and the official bundles seeded on the real SQL adapters (SQLite and PostgreSQL):
once however often the servers start, also when two start at the same moment; a bundle installed whole."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Conflict
from domain.extension_bundles import BundleService, seed_marketplace
from domain.extensions import ExtensionService
from persistence.cache import MemoryCache
from persistence.models import BundleExtensionRow, ExtensionBundleRow, ExtensionRow, ExtensionVersionRow
from persistence.shipped_extensions import shipped_packages
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock


def services(uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> tuple[ExtensionService, BundleService]:
    extensions = ExtensionService(uow=uow, clock=clock, cache=MemoryCache())
    return extensions, BundleService(uow=uow, extensions=extensions)


async def counts(uow: SqlUnitOfWorkFactory) -> list[int]:
    tables = (ExtensionRow, ExtensionVersionRow, ExtensionBundleRow, BundleExtensionRow)
    async with uow.engine.connect() as connection:
        return [int(await connection.scalar(select(func.count()).select_from(table)) or 0) for table in tables]


async def test_seeding_twice_and_at_once_seeds_once(wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
    first, second = services(wide_uow, clock), services(wide_uow, clock)  # two servers on one database
    packages = shipped_packages()
    results = await asyncio.gather(seed_marketplace(*first, packages), seed_marketplace(*second, packages))
    assert results == [[], []]
    assert await counts(wide_uow) == [3, 3, 3, 6]
    clock.advance(hours=1)
    assert await seed_marketplace(*first, packages) == []  # the next start
    assert await counts(wide_uow) == [3, 3, 3, 6]

    market, bundles = first
    found = await market.search("")
    assert sorted(e.name for e in found) == ["format-json", "shell-language", "theme-pack"]
    assert all(e.author_id is None and e.is_verified and e.status == "approved" for e in found)
    assert [(b.category, [e.name for e in b.extensions]) for b in await bundles.bundles()] == [
        ("beginner", ["shell-language", "theme-pack"]),
        ("data-science", ["format-json", "shell-language"]),
        ("web-dev", ["format-json", "theme-pack"]),
    ]


async def test_a_bundle_installs_whole_or_not_at_all(wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
    market, bundles = services(wide_uow, clock)
    await seed_marketplace(market, bundles, shipped_packages())
    person = Actor((await AccountService(uow=wide_uow, cache=MemoryCache(), clock=clock).add_local_user("p@x.org")).id)
    with pytest.raises(Conflict, match="asks for workspace:write"):
        await bundles.install_bundle(person, "data-science", grant=[])
    assert await market.installed(person) == []
    installed = await bundles.install_bundle(person, "data-science", grant=["workspace:write"])
    assert [i.extension.name for i in installed] == ["format-json", "shell-language"]
    assert {e.name: e.download_count for e in await market.search("")} == {
        "format-json": 1,
        "shell-language": 1,
        "theme-pack": 0,
    }
