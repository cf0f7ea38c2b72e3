"""The marketplace pages' reads on the real SQL adapters (SQLite and PostgreSQL): the stored package's README,
an author's extensions, the moderators' queue."""

from __future__ import annotations

from domain.extension_entities import ExtensionStatus
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock
from tests.integration.test_extensions_on_databases import ADMIN, World
from tests.unit.test_extensions import package


async def test_readme_authored_and_waiting(wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
    world = World(wide_uow, clock)
    ann, admin, bob = [await world.person(email) for email in ("ann@example.com", ADMIN, "bob@example.com")]
    market = world.extensions
    await market.publish(ann, package(name="night-owl"))
    await market.approve(admin, "night-owl")
    await market.publish(ann, package(name="day-lark"))
    await market.publish(ann, package(name="night-owl", version="1.3.0"))
    await market.publish(bob, package(name="bobs-theme"))
    await market.reject(admin, "bobs-theme", "Unreadable")

    assert await market.readme(bob, "night-owl") == "# Night Owl\n"
    assert [(d.extension.name, d.extension.status) for d in await market.authored(ann)] == [
        ("day-lark", ExtensionStatus.PENDING),
        ("night-owl", ExtensionStatus.APPROVED),
    ]
    [rejected] = await market.authored(bob)
    assert rejected.versions[0].rejection_reason == "Unreadable"
    assert [d.extension.name for d in await market.waiting(admin)] == ["day-lark", "night-owl"]
