"""The marketplace's rules on fakes: publish and moderate, search, install with permissions, reviews."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.cache_keys import extension as extension_key
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from domain.extension_entities import ExtensionStatus
from domain.extensions import ExtensionService, version_key
from tests.api_client import make_zip
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store
from tests.unit.test_extension_manifest import night_owl


def package(version: str = "1.2.0", **changes: Any) -> bytes:
    manifest = {**night_owl(), "version": version, **changes}
    return make_zip([("manifest.json", json.dumps(manifest).encode()), ("README.md", b"# Night Owl\n")])


@pytest.fixture
def service(store: Store, cache: FakeCache, clock: FrozenClock) -> ExtensionService:
    return ExtensionService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, cache=cache, moderators=["Admin@Example.com"]
    )


@pytest.fixture
async def author(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("author@example.com")).id)


@pytest.fixture
async def admin(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("admin@example.com")).id)


@pytest.fixture
async def person(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("person@example.com")).id)


@pytest.fixture
async def approved(service: ExtensionService, author: Actor, admin: Actor) -> None:
    await service.publish(author, package())
    await service.approve(admin, "night-owl")


async def test_a_published_extension_is_pending_and_hidden_from_others(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor
) -> None:
    detail = await service.publish(author, package())
    assert detail.extension.status == ExtensionStatus.PENDING and detail.extension.author_id == author.user_id
    assert [v.version for v in detail.versions] == ["1.2.0"]
    assert (await service.detail(admin, "night-owl")).extension.status == ExtensionStatus.PENDING
    for stranger in (person, ANONYMOUS):
        with pytest.raises(NotFound, match="No extension is named 'night-owl'"):
            await service.detail(stranger, "night-owl")
    assert await service.search("night") == []


async def test_approved_it_is_found_and_installable(
    service: ExtensionService, approved: None, person: Actor, clock: FrozenClock
) -> None:
    found = await service.search("owl")
    assert [e.name for e in found] == ["night-owl"] and found[0].status == ExtensionStatus.APPROVED
    assert found[0].published_at == clock.now
    assert [e.name for e in await service.search("dark", category="theme")] == ["night-owl"]
    assert await service.search("dark", category="language") == []
    assert await service.search("", featured=True) == []
    installed = await service.install(person, "night-owl", grant=[])
    assert installed.installation.version == "1.2.0" and installed.extension.download_count == 1


async def test_only_moderators_moderate(service: ExtensionService, author: Actor, person: Actor) -> None:
    await service.publish(author, package())
    for who in (author, person):
        with pytest.raises(PermissionDenied, match="Only Codeloft's administrators moderate extensions"):
            await service.approve(who, "night-owl")
        with pytest.raises(PermissionDenied):
            await service.reject(who, "night-owl", "no")
        with pytest.raises(PermissionDenied):
            await service.mark(who, "night-owl", featured=True)
    with pytest.raises(Unauthenticated):
        await service.approve(ANONYMOUS, "night-owl")


async def test_a_rejection_has_a_reason_the_author_sees(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor
) -> None:
    await service.publish(author, package())
    with pytest.raises(InvalidInput, match="needs a reason"):
        await service.reject(admin, "night-owl", "  ")
    await service.reject(admin, "night-owl", "The README is empty.")
    detail = await service.detail(author, "night-owl")
    assert detail.extension.status == ExtensionStatus.REJECTED
    assert detail.versions[0].rejection_reason == "The README is empty."
    with pytest.raises(Conflict, match="no version waiting for review"):
        await service.approve(admin, "night-owl")
    with pytest.raises(NotFound):
        await service.install(person, "night-owl", grant=[])


async def test_a_name_taken_by_another_author_is_refused(
    service: ExtensionService, approved: None, person: Actor
) -> None:
    with pytest.raises(Conflict, match="The name 'night-owl' is taken by another author: choose another name"):
        await service.publish(person, package("2.0.0"))


async def test_a_new_version_waits_while_the_approved_one_stays_installable(
    service: ExtensionService, approved: None, author: Actor, admin: Actor, person: Actor
) -> None:
    with pytest.raises(Conflict, match=r"a new version must be newer than 1\.2\.0"):
        await service.publish(author, package("1.2.0"))
    await service.publish(author, package("1.3.0", permissions=["workspace:read"]))
    public = await service.detail(person, "night-owl")
    assert public.extension.version == "1.2.0" and [v.version for v in public.versions] == ["1.2.0"]
    assert [v.status for v in (await service.detail(author, "night-owl")).versions] == ["pending", "approved"]
    assert (await service.install(person, "night-owl", grant=[])).installation.version == "1.2.0"

    await service.approve(admin, "night-owl")
    mine = (await service.installed(person))[0]
    assert mine.update_available and mine.new_permissions == ("workspace:read",)
    with pytest.raises(Conflict, match=r"Night Owl 1\.3\.0 asks for workspace:read: grant it to install"):
        await service.install(person, "night-owl", grant=[])
    updated = await service.install(person, "night-owl", grant=["workspace:read"])
    assert updated.installation.version == "1.3.0" and updated.installation.granted_permissions == ("workspace:read",)
    assert not updated.update_available and updated.new_permissions == ()
    assert updated.extension.download_count == 1  # one person, counted once


async def test_install_enable_disable_settings_uninstall(
    service: ExtensionService, approved: None, person: Actor
) -> None:
    await service.install(person, "night-owl", grant=[])
    disabled = await service.configure(person, "night-owl", enabled=False, settings={"italic": True})
    assert not disabled.installation.is_enabled and disabled.installation.settings == {"italic": True}
    assert (await service.configure(person, "night-owl", enabled=True)).installation.is_enabled
    await service.uninstall(person, "night-owl")
    assert await service.installed(person) == []
    with pytest.raises(NotFound, match="You have not installed 'night-owl'"):
        await service.uninstall(person, "night-owl")
    with pytest.raises(NotFound, match="You have not installed"):
        await service.configure(person, "night-owl", enabled=True)


async def test_reviews_one_per_person_editable(
    service: ExtensionService, approved: None, author: Actor, person: Actor, accounts: AccountService
) -> None:
    other = Actor((await accounts.add_local_user("other@example.com")).id)
    await service.review(person, "night-owl", rating=5, text="Lovely")
    detail = await service.review(other, "night-owl", rating=2)
    assert (detail.extension.rating_average, detail.extension.rating_count) == (3.5, 2)
    detail = await service.review(person, "night-owl", rating=3, text="Fine")
    assert (detail.extension.rating_average, detail.extension.rating_count) == (2.5, 2)
    assert {(r.rating, r.text) for r in detail.reviews} == {(3, "Fine"), (2, None)}
    for rating in (0, 6):
        with pytest.raises(InvalidInput, match="from 1 to 5"):
            await service.review(person, "night-owl", rating=rating)
    with pytest.raises(PermissionDenied, match="your own extension"):
        await service.review(author, "night-owl", rating=5)


async def test_the_cache_entry_is_dropped_on_change(
    service: ExtensionService, approved: None, author: Actor, person: Actor, cache: FakeCache, store: Store
) -> None:
    key = extension_key(next(iter(store.extensions)))
    await service.detail(person, "night-owl")
    assert cache.entries[key.name][0] == 6 * 3600 and cache.entries[key.name][1]["reviews"] == []
    await service.review(person, "night-owl", rating=4)
    assert [r["rating"] for r in cache.entries[key.name][1]["reviews"]] == [4]
    await service.publish(author, package("1.3.0"))
    assert [v["version"] for v in cache.entries[key.name][1]["versions"]] == ["1.2.0", "1.3.0"]
    assert [v.version for v in (await service.detail(author, "night-owl")).versions] == ["1.3.0", "1.2.0"]


async def test_featured_and_verified(service: ExtensionService, approved: None, admin: Actor, person: Actor) -> None:
    await service.mark(admin, "night-owl", featured=True, verified=True)
    detail = await service.detail(person, "night-owl")
    assert detail.extension.is_featured and detail.extension.is_verified
    assert [e.name for e in await service.search("", featured=True)] == ["night-owl"]
    await service.install(person, "night-owl", grant=[])
    assert (await service.detail(person, "night-owl")).extension.download_count == 1


def test_semantic_versions_are_ordered() -> None:
    ordered = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0", "1.2.0", "1.10.0", "2.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


async def test_contributions_come_from_enabled_installations_at_their_installed_version(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor, approved: None
) -> None:
    assert (await service.contributions(person)).themes == ()
    await service.install(person, "night-owl", grant=[])
    [theme] = (await service.contributions(person)).themes
    assert (theme.key, theme.label, theme.kind, theme.colors["background"]) == (
        "ext:night-owl/night-owl", "Night Owl", "dark", "#011627",
    )  # fmt: skip

    newer = {"themes": [{"id": "night-owl", "label": "Night Owl 2", "kind": "dark", "colors": {}}]}
    await service.publish(author, package("1.3.0", contributes=newer))
    await service.approve(admin, "night-owl")
    [theme] = (await service.contributions(person)).themes
    assert theme.label == "Night Owl"  # the installed 1.2.0 until the person installs 1.3.0

    await service.configure(person, "night-owl", enabled=False)
    assert (await service.contributions(person)).themes == ()
    assert (await service.contributions(ANONYMOUS)).extensions == ()


def test_contributed_languages_commands_and_snippets() -> None:
    from domain.extension_contributions import EnabledExtension, contributions_of

    manifest = {
        "contributes": {
            "languages": [{"id": "shell", "label": "Shell", "extensions": [".sh"], "mode": "Shell",
                           "comments": {"line": "#"}, "run": ["bash", "{file}"]}],
            "snippets": [{"language": "Shell", "prefix": "for", "body": "for x in *; do\n  echo $x\ndone"}],
            "commands": [{"id": "fmt", "title": "Format", "run": ["true"], "permission": "workspace:write"}],
        }
    }  # fmt: skip
    granted = contributions_of([EnabledExtension(name="sh", manifest=manifest, granted=frozenset({"workspace:write"}))])
    language = granted.language_of("scripts/Build.SH")
    assert language is not None and (language.run, language.line_comment) == (("bash", "{file}"), "#")
    assert granted.language_of("main.py") is None
    command = granted.command("sh.fmt")
    assert command is not None and command.may_write and granted.snippets[0].prefix == "for"
    refused = contributions_of([EnabledExtension(name="sh", manifest=manifest)])
    assert refused.command("sh.fmt") is not None and not refused.command("sh.fmt").may_write  # type: ignore[union-attr]
