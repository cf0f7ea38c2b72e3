"""The marketplace on the real SQL adapters (SQLite and PostgreSQL): search over name, description and tags
with the category and sorts, versions and rejection reasons kept, installations and their grants, reviews
recounted exactly when 20 people review at once."""

from __future__ import annotations

import asyncio

from domain.access import Actor
from domain.accounts import AccountService
from domain.extensions import ExtensionService
from persistence.cache import MemoryCache
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock
from tests.unit.test_extensions import package

ADMIN = "admin@example.com"


class World:
    def __init__(self, uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
        cache = MemoryCache()
        self.accounts = AccountService(uow=uow, cache=cache, clock=clock)
        self.extensions = ExtensionService(uow=uow, clock=clock, cache=cache, moderators=[ADMIN])

    async def person(self, email: str) -> Actor:
        return Actor((await self.accounts.add_local_user(email)).id)


async def test_search_versions_and_installations(wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
    world = World(wide_uow, clock)
    ann, admin, bob = [await world.person(email) for email in ("ann@example.com", ADMIN, "bob@example.com")]
    market = world.extensions
    await market.publish(ann, package(name="night-owl", tags=["midnight"]))
    await market.approve(admin, "night-owl")
    clock.advance(minutes=1)
    await market.publish(ann, package(name="day-lark", description="A light theme", category="tool"))
    await market.approve(admin, "day-lark")
    await market.publish(ann, package(name="pending-one"))

    assert [e.name for e in await market.search("midnight")] == ["night-owl"]
    assert [e.name for e in await market.search("LIGHT")] == ["day-lark"]
    assert [e.name for e in await market.search("", sort="newest")] == ["day-lark", "night-owl"]
    assert [e.name for e in await market.search("", category="tool")] == ["day-lark"]
    assert [e.tags for e in await market.search("midnight")] == [("midnight",)]

    await market.publish(ann, package("1.3.0", name="night-owl", permissions=["workspace:write"]))
    await market.reject(admin, "night-owl", "Say why it writes.")
    versions = (await market.detail(ann, "night-owl")).versions
    assert [(v.version, v.status, v.rejection_reason) for v in versions] == [
        ("1.3.0", "rejected", "Say why it writes."),
        ("1.2.0", "approved", None),
    ]
    installed = await market.install(bob, "night-owl", grant=["workspace:read"])
    assert installed.installation.granted_permissions == () and installed.extension.download_count == 1
    changed = await market.configure(bob, "night-owl", enabled=False, settings={"size": 14})
    assert (changed.installation.is_enabled, changed.installation.settings) == (False, {"size": 14})
    assert [i.extension.name for i in await market.installed(bob)] == ["night-owl"]
    await market.uninstall(bob, "night-owl")
    assert await market.installed(bob) == []


async def test_twenty_reviews_and_installs_at_once(wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
    world = World(wide_uow, clock)
    ann, admin = await world.person("ann@example.com"), await world.person(ADMIN)
    await world.extensions.publish(ann, package())
    await world.extensions.approve(admin, "night-owl")
    people = [await world.person(f"p{n}@example.com") for n in range(20)]
    ratings = [n % 5 + 1 for n in range(20)]
    await asyncio.gather(*(world.extensions.install(p, "night-owl", grant=[]) for p in people))
    await asyncio.gather(
        *(world.extensions.review(p, "night-owl", rating=r) for p, r in zip(people, ratings, strict=True))
    )
    extension = (await world.extensions.detail(ann, "night-owl")).extension
    assert extension.download_count == 20
    assert (extension.rating_count, extension.rating_average) == (20, round(sum(ratings) / 20, 2))
