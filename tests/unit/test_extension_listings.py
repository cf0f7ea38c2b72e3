"""What the marketplace's pages read besides search and detail: the shown version's README, an author's own
extensions, the moderators' queue, and whether someone moderates."""

from __future__ import annotations

import json

import pytest

from domain.access import ANONYMOUS, Actor
from domain.errors import NotFound, PermissionDenied
from domain.extension_entities import ExtensionStatus
from domain.extensions import ExtensionService
from tests.api_client import make_zip
from tests.unit.test_extension_manifest import night_owl
from tests.unit.test_extensions import admin, approved, author, package, person, service

__all__ = ["admin", "approved", "author", "person", "service"]  # fixtures


async def test_the_readme_is_the_shown_versions_main_file(
    service: ExtensionService, approved: None, author: Actor, person: Actor
) -> None:
    assert await service.readme(person, "night-owl") == "# Night Owl\n"
    assert await service.readme(ANONYMOUS, "night-owl") == "# Night Owl\n"
    newer = {**night_owl(), "version": "1.3.0", "main": "docs/INTRO.md"}
    await service.publish(author, make_zip([("manifest.json", json.dumps(newer).encode()), ("docs/INTRO.md", b"new")]))
    assert await service.readme(person, "night-owl") == "# Night Owl\n"  # the approved one is still shown


async def test_a_pending_extensions_readme_is_for_insiders_only(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor
) -> None:
    await service.publish(author, package())
    assert await service.readme(author, "night-owl") == "# Night Owl\n"
    assert await service.readme(admin, "night-owl") == "# Night Owl\n"
    with pytest.raises(NotFound):
        await service.readme(person, "night-owl")


async def test_an_author_sees_their_extensions_with_rejection_reasons(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor
) -> None:
    await service.publish(author, package())
    await service.publish(author, package(name="day-lark"))
    await service.reject(admin, "day-lark", "The colours are unreadable.")
    mine = await service.authored(author)
    assert [(d.extension.name, d.extension.status) for d in mine] == [
        ("day-lark", ExtensionStatus.REJECTED),
        ("night-owl", ExtensionStatus.PENDING),
    ]
    assert mine[0].versions[0].rejection_reason == "The colours are unreadable."
    assert await service.authored(person) == []


async def test_the_waiting_queue_is_for_moderators(
    service: ExtensionService, author: Actor, admin: Actor, person: Actor
) -> None:
    await service.publish(author, package())
    await service.publish(author, package(name="day-lark"))
    await service.approve(admin, "day-lark")
    assert [d.extension.name for d in await service.waiting(admin)] == ["night-owl"]
    await service.publish(author, package(name="day-lark", version="2.0.0"))
    assert [d.extension.name for d in await service.waiting(admin)] == ["day-lark", "night-owl"]
    with pytest.raises(PermissionDenied):
        await service.waiting(person)
    assert await service.moderates(admin) and not await service.moderates(person)
    assert not await service.moderates(ANONYMOUS)
