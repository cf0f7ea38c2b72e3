"""Bundles on fakes: the official ones seeded once, only approved extensions shown and installed, and a
bundle installed whole or not at all, with the grant covering every permission its extensions ask."""

from __future__ import annotations

import json

import pytest

from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.errors import Conflict, NotFound, Unauthenticated
from domain.extension_bundles import Bundle, BundleService, official_bundle_id, seed_marketplace
from domain.extensions import ExtensionService
from persistence.shipped_extensions import shipped_packages
from tests.api_client import make_zip
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store
from tests.unit.test_extension_manifest import night_owl

ADMIN = "admin@example.com"


@pytest.fixture
def market(store: Store, cache: FakeCache, clock: FrozenClock) -> ExtensionService:
    return ExtensionService(uow=lambda: FakeUnitOfWork(store), clock=clock, cache=cache, moderators=[ADMIN])


@pytest.fixture
def bundles(store: Store, market: ExtensionService) -> BundleService:
    return BundleService(uow=lambda: FakeUnitOfWork(store), extensions=market)


@pytest.fixture
async def seeded(market: ExtensionService, bundles: BundleService) -> None:
    assert await seed_marketplace(market, bundles, shipped_packages()) == []


@pytest.fixture
async def person(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("person@example.com")).id)


def names(bundle: Bundle) -> list[str]:
    return [e.name for e in bundle.extensions]


async def test_the_three_official_bundles_with_their_extensions(bundles: BundleService, seeded: None) -> None:
    found = await bundles.bundles()
    assert [(b.category, b.is_official, names(b)) for b in found] == [
        ("beginner", True, ["shell-language", "theme-pack"]),
        ("data-science", True, ["format-json", "shell-language"]),
        ("web-dev", True, ["format-json", "theme-pack"]),
    ]
    assert [b.permissions for b in found] == [(), ("workspace:write",), ("workspace:write",)]
    assert all(b.description for b in found)
    assert found[0].id == official_bundle_id("beginner")


async def test_a_bundle_installs_every_extension_it_holds(
    market: ExtensionService, bundles: BundleService, seeded: None, person: Actor
) -> None:
    installed = await bundles.install_bundle(person, "web-dev", grant=["workspace:write"])
    assert [(i.extension.name, i.installation.granted_permissions) for i in installed] == [
        ("format-json", ("workspace:write",)),
        ("theme-pack", ()),
    ]
    assert [i.extension.name for i in await market.installed(person)] == ["format-json", "theme-pack"]
    contributions = await market.contributions(person)
    assert [c.title for c in contributions.commands] == ["Format JSON files"] and contributions.commands[0].may_write
    assert [t.label for t in contributions.themes] == ["Midnight", "Paper"]

    await bundles.install_bundle(person, "beginner", grant=[])  # theme-pack again: counted once
    counts = {e.name: e.download_count for e in await market.search("")}
    assert counts == {"format-json": 1, "shell-language": 1, "theme-pack": 1}


async def test_without_the_permissions_nothing_is_installed(
    market: ExtensionService, bundles: BundleService, seeded: None, person: Actor
) -> None:
    with pytest.raises(Conflict, match=r"Data science bundle asks for workspace:write: grant it"):
        await bundles.install_bundle(person, "data-science", grant=["workspace:read"])
    assert await market.installed(person) == []
    assert all(e.download_count == 0 for e in await market.search(""))


async def test_unknown_bundles_and_anonymous_people_are_refused(
    bundles: BundleService, seeded: None, person: Actor
) -> None:
    with pytest.raises(NotFound, match="No bundle is named 'games'"):
        await bundles.install_bundle(person, "games", grant=[])
    with pytest.raises(Unauthenticated):
        await bundles.install_bundle(ANONYMOUS, "beginner", grant=[])


async def test_only_approved_extensions_are_shown_and_installed(
    store: Store,
    accounts: AccountService,
    market: ExtensionService,
    bundles: BundleService,
    seeded: None,
    person: Actor,
) -> None:
    author = Actor((await accounts.add_local_user("author@example.com")).id)
    document = {**night_owl(), "permissions": ["workspace:write"]}
    await market.publish(author, make_zip([("manifest.json", json.dumps(document).encode()), ("README.md", b"# x")]))
    waiting = (await market.detail(author, "night-owl")).extension
    async with FakeUnitOfWork(store) as uow:
        await uow.bundles.add_extensions(official_bundle_id("beginner"), [waiting.id])
        await uow.commit()

    beginner = await bundles.bundle("beginner")
    assert names(beginner) == ["shell-language", "theme-pack"] and beginner.permissions == ()
    installed = await bundles.install_bundle(person, "beginner", grant=[])
    assert [i.extension.name for i in installed] == ["shell-language", "theme-pack"]

    admin = Actor((await accounts.add_local_user(ADMIN)).id)
    await market.approve(admin, "night-owl")
    beginner = await bundles.bundle("beginner")
    assert names(beginner) == ["night-owl", "shell-language", "theme-pack"]
    assert beginner.permissions == ("workspace:write",)


async def test_bundles_seeded_before_their_extensions_are_completed_at_the_next_start(
    store: Store, market: ExtensionService, bundles: BundleService
) -> None:
    assert await bundles.seed_official() == 3
    assert [names(b) for b in await bundles.bundles()] == [[], [], []]
    assert [await market.publish_official(p) for p in shipped_packages()]
    assert await bundles.seed_official() == 3
    assert [names(b) for b in await bundles.bundles()] == [
        ["shell-language", "theme-pack"],
        ["format-json", "shell-language"],
        ["format-json", "theme-pack"],
    ]
    commits = store.commits
    assert await bundles.seed_official() == 0
    assert store.commits == commits


async def test_an_empty_bundle_cannot_be_installed(bundles: BundleService, person: Actor) -> None:
    await bundles.seed_official()
    with pytest.raises(Conflict, match="has no extension to install yet"):
        await bundles.install_bundle(person, "beginner", grant=[])
