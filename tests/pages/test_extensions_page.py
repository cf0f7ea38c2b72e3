"""The extension marketplace's pages under NiceGUI's user simulation: browse, search, filter and sort; publish
(a refusal in the service's words, success pending review); moderation for administrators only; install
with the permissions shown, update asking again, disable, enable, settings; reviews updating the average;
a hostile manifest's strings shown as text; a reader never sees what waits for review."""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from domain.errors import NotFound
from domain.extension_bundles import seed_marketplace
from persistence.shipped_extensions import shipped_packages
from tests.api_client import make_zip
from tests.pages.main import MODERATOR
from tests.pages.simulated import Person, add_person, find_testid, open_with_status, sign_in, until, with_testid
from tests.unit.test_extension_manifest import night_owl
from ui import context

XSS = "<img src=x onerror=alert(1)>"


def package(name: str = "night-owl", *, readme: str = "# Night Owl\n", **changes: Any) -> bytes:
    manifest = {**night_owl(), "name": name, **changes}
    return make_zip([("manifest.json", json.dumps(manifest).encode()), ("README.md", readme.encode())])


def formatter(version: str = "1.0.0", permissions: tuple[str, ...] = ("workspace:write",)) -> bytes:
    command = {"id": "format", "title": "Format JSON files", "run": ["python3", "-m", "json.tool"]}
    return package(
        "json-format",
        display_name="Format JSON",
        version=version,
        description="Sorts keys",
        category="tool",
        tags=["json"],
        permissions=list(permissions),
        contributes={"commands": [{**command, "permission": permissions[-1]}]},
    )


async def published(author: Person, data: bytes, *, approve: bool = True) -> str:
    detail = await author.services.extensions.publish(author.actor, data)
    if approve:
        moderator = await moderator_person()
        await author.services.extensions.approve(moderator.actor, detail.extension.name)
    return detail.extension.name


async def moderator_person() -> Person:
    """The administrator (tests.pages.main.MODERATOR), added the first time."""
    services = context.services()
    try:
        return Person(account=await services.accounts.find_by_email(MODERATOR), services=services)
    except NotFound:
        return await add_person(MODERATOR)


def texts(user: User, testid: str) -> list[str]:
    return [element.text for element in with_testid(user, testid)]  # type: ignore[attr-defined]


def words(element: ui.element) -> set[str]:
    """The texts of the element's labels and links."""
    return {text for e in element.descendants() if isinstance(text := getattr(e, "text", None), str)}


async def upload(user: User, data: bytes, name: str = "extension.zip") -> None:
    [element] = with_testid(user, "ext-upload")
    assert isinstance(element, ui.upload)
    with user:
        await element.handle_uploads([SmallFileUpload(name=name, content_type="application/zip", _data=data)])


async def test_anyone_browses_searches_filters_and_sorts(user: User) -> None:
    await user.open("/")  # starts the services
    ann = await add_person("ann@example.com")
    bob = await add_person("bob@example.com")
    await published(ann, package("night-owl", tags=["dark", "theme"]))
    await published(ann, package("day-lark", display_name="Day Lark", description="A light theme", tags=["light"]))
    await published(ann, formatter())
    await published(ann, package("not-yet", display_name="Not yet"), approve=False)
    await bob.services.extensions.install(bob.actor, "day-lark", grant=[])
    moderator = await moderator_person()
    await ann.services.extensions.mark(moderator.actor, "night-owl", verified=True, featured=True)

    await user.open("/extensions")

    await user.should_see("Extensions")
    assert texts(user, "ext-name")[:1] == ["Night Owl"]  # the featured row comes first
    [featured] = with_testid(user, "ext-featured-row")
    assert "ext-verified" in {e.props.get("data-testid") for e in featured.descendants()}
    results = texts(user, "ext-name")[1:]
    assert results == ["Day Lark", "Format JSON", "Night Owl"]  # most installed, then by name
    assert "Not yet" not in texts(user, "ext-name")
    assert "1 install" in texts(user, "ext-downloads")
    find_testid(user, "ext-search").type("dark")
    await until(lambda: texts(user, "ext-name")[1:] == ["Night Owl"], "the search for dark")
    find_testid(user, "ext-search").clear()
    await until(lambda: len(texts(user, "ext-name")) == 4, "every extension again")
    find_testid(user, "ext-category").click()
    user.find("Tools").click()
    await until(lambda: texts(user, "ext-name")[1:] == ["Format JSON"], "the tools only")
    find_testid(user, "ext-category").click()
    user.find("All categories").click()
    find_testid(user, "ext-sort").click()
    user.find("Newest").click()
    await until(lambda: texts(user, "ext-name")[1:] == ["Format JSON", "Day Lark", "Night Owl"], "newest first")
    assert not with_testid(user, "ext-upload") and not with_testid(user, "ext-waiting")


async def test_publish_shows_a_refusal_verbatim_and_success_pending(user: User) -> None:
    ada = await sign_in(user)
    await user.open("/extensions")

    await upload(user, package(version="1.2"))
    await user.should_see("manifest.json is not valid: version: '1.2' is not a semantic version")
    await upload(user, make_zip([("README.md", b"hi")]))
    await user.should_see("The package has no manifest.json at its root: nothing was published.")
    await upload(user, package())
    await user.should_see("Night Owl 1.2.0 is published: pending review.")
    [card] = with_testid(user, "ext-authored-card")
    assert "pending" in {getattr(e, "text", None) for e in card.descendants()}

    moderator = await moderator_person()
    await ada.services.extensions.reject(moderator.actor, "night-owl", "The contrast is too low.")
    await user.open("/extensions")
    await user.should_see("Rejected: The contrast is too low.")
    assert not with_testid(user, "ext-waiting")  # an author is no moderator


async def test_an_administrator_approves_verifies_and_features(user: User) -> None:
    await sign_in(user, MODERATOR)
    ann = await add_person("ann@example.com")
    await published(ann, package(), approve=False)

    await user.open("/extensions")
    await user.should_see("Waiting for review")
    assert texts(user, "ext-name") == []  # nothing approved yet
    find_testid(user, "ext-approve").click()
    await user.should_see("Approved Night Owl 1.2.0")
    await until(lambda: texts(user, "ext-name") == ["Night Owl"], "the approved extension in the results")
    await user.should_see("Nothing is waiting for review.")

    await user.open("/extensions/night-owl")
    find_testid(user, "ext-verify").click()
    await until(lambda: bool(with_testid(user, "ext-verified")), "the verified mark")
    find_testid(user, "ext-feature").click()
    await until(lambda: bool(with_testid(user, "ext-featured")), "the featured mark")
    detail = await ann.services.extensions.detail(ann.actor, "night-owl")
    assert detail.extension.is_verified and detail.extension.is_featured


async def test_a_rejection_needs_a_reason(user: User) -> None:
    await sign_in(user, MODERATOR)
    ann = await add_person("ann@example.com")
    await published(ann, package(), approve=False)
    await user.open("/extensions")
    find_testid(user, "ext-reject").click()
    await until(lambda: bool(with_testid(user, "dialog-ok")), "the reason dialog")
    find_testid(user, "dialog-ok").click()
    await user.should_see("A rejection needs a reason for the author")
    find_testid(user, "ext-reject").click()
    await until(lambda: bool(with_testid(user, "dialog-input")), "the reason dialog")
    find_testid(user, "dialog-input").type("Too dark to read.")
    find_testid(user, "dialog-ok").click()
    await user.should_see("Rejected Night Owl")
    [version] = (await ann.services.extensions.detail(ann.actor, "night-owl")).versions
    assert version.rejection_reason == "Too dark to read."


async def test_a_person_who_is_not_an_administrator_sees_no_moderation(user: User) -> None:
    await sign_in(user)
    ann = await add_person("ann@example.com")
    await published(ann, package("waiting-one"), approve=False)
    await published(ann, package())
    await user.open("/extensions")
    await user.should_see("Night Owl")
    await user.should_not_see("Waiting for review")
    assert not with_testid(user, "ext-approve") and not with_testid(user, "ext-waiting")
    await user.open("/extensions/night-owl")
    await user.should_see("Night Owl")
    assert not with_testid(user, "ext-moderation")


async def test_install_shows_the_permissions_then_update_asks_again_disable_enable_settings(user: User) -> None:
    ada = await sign_in(user)
    ann = await add_person("ann@example.com")
    await published(ann, formatter(permissions=("workspace:read",)))

    await user.open("/extensions/json-format")
    await user.should_see("Format JSON files (runs python3 in the sandbox; workspace:read)")
    find_testid(user, "ext-install").click()
    await user.should_see("Install Format JSON 1.0.0?")
    await user.should_see("Its commands see your workspace's files (in the sandbox, never on the server).")
    find_testid(user, "install-ok").click()
    await user.should_see("Installed Format JSON 1.0.0")
    await until(lambda: bool(with_testid(user, "ext-installed")), "the installed mark")
    assert texts(user, "ext-downloads") == ["1 install"]
    [mine] = await ada.services.extensions.installed(ada.actor)
    assert mine.installation.granted_permissions == ("workspace:read",)

    find_testid(user, "ext-enabled").click()
    await user.should_see("Format JSON is disabled")
    assert not (await ada.services.extensions.installed(ada.actor))[0].installation.is_enabled
    find_testid(user, "ext-enabled").click()
    await user.should_see("Format JSON is enabled")
    assert (await ada.services.extensions.installed(ada.actor))[0].installation.is_enabled

    find_testid(user, "ext-settings-text").clear().type('{"indent": 2')
    find_testid(user, "ext-settings-save").click()
    await user.should_see("The settings are not valid JSON: Expecting ',' delimiter at line 1, column 13.")
    find_testid(user, "ext-settings-text").clear().type("[1]")
    find_testid(user, "ext-settings-save").click()
    await user.should_see("The settings must be a JSON object ({...}).")
    find_testid(user, "ext-settings-text").clear().type('{"indent": 4}')
    find_testid(user, "ext-settings-save").click()
    await user.should_see("Settings saved")
    assert (await ada.services.extensions.installed(ada.actor))[0].installation.settings == {"indent": 4}

    await published(ann, formatter("1.1.0", permissions=("workspace:read", "workspace:write")))
    await user.open("/extensions/json-format")
    find_testid(user, "ext-update").click()
    await user.should_see("This version asks for more than you granted:")
    await user.should_see("The files its commands change in the sandbox are written back to your workspace.")
    find_testid(user, "install-ok").click()
    await user.should_see("Installed Format JSON 1.1.0")
    [mine] = await ada.services.extensions.installed(ada.actor)
    assert mine.installation.granted_permissions == ("workspace:read", "workspace:write")

    find_testid(user, "ext-uninstall").click()
    await user.should_see("Uninstalled Format JSON")
    assert await ada.services.extensions.installed(ada.actor) == []


async def test_an_extension_without_permissions_says_so(user: User) -> None:
    await sign_in(user)
    ann = await add_person("ann@example.com")
    await published(ann, package())
    await user.open("/extensions/night-owl")
    await user.should_see("Night Owl (dark)")  # its theme
    find_testid(user, "ext-install").click()
    await until(lambda: bool(with_testid(user, "install-permission-none")), "the install dialog")
    find_testid(user, "install-cancel").click()
    await user.should_not_see("Installed Night Owl")


async def test_a_review_updates_the_average_and_stays_editable(user: User) -> None:
    await sign_in(user)
    ann = await add_person("ann@example.com")
    bob = await add_person("bob@example.com")
    await published(ann, package())
    await bob.services.extensions.review(bob.actor, "night-owl", rating=5, text="Lovely")

    await user.open("/extensions/night-owl")
    assert texts(user, "ext-rating") == ["★ 5.0 (1)"]
    UserInteraction(user, set(with_testid(user, "ext-review-rating")), "3 stars").click()
    find_testid(user, "ext-review-text").type("Too blue")
    find_testid(user, "ext-review-save").click()
    await user.should_see("Review saved")
    await until(lambda: texts(user, "ext-rating") == ["★ 4.0 (2)"], "the new average")
    await user.should_see("Edit your review")
    UserInteraction(user, set(with_testid(user, "ext-review-rating")), "1 star").click()
    find_testid(user, "ext-review-save").click()
    await until(lambda: texts(user, "ext-rating") == ["★ 3.0 (2)"], "the edited average")
    detail = await ann.services.extensions.detail(ann.actor, "night-owl")
    assert (detail.extension.rating_average, detail.extension.rating_count) == (3.0, 2)
    assert sorted(texts(user, "ext-review-text-shown")) == ["Lovely", "Too blue"]


async def test_a_hostile_manifest_shows_as_text(user: User) -> None:
    await sign_in(user)
    ann = await add_person("ann@example.com")
    bob = await add_person("bob@example.com")
    theme = {**night_owl()["contributes"]["themes"][0], "label": XSS}
    hostile = package(
        display_name=XSS,
        description=XSS,
        readme=f"# Hi\n\n{XSS}\n\n<script>alert(2)</script>\n",
        contributes={"themes": [theme]},
    )
    await published(ann, hostile)
    await bob.services.extensions.review(bob.actor, "night-owl", rating=4, text=XSS)

    await user.open("/extensions")
    assert XSS in texts(user, "ext-name") and XSS in texts(user, "ext-description")
    await user.open("/extensions/night-owl")
    assert texts(user, "ext-title") == [XSS] and texts(user, "ext-description") == [XSS]
    await user.should_see(f"{XSS} (dark)")  # the theme's label
    assert texts(user, "ext-review-text-shown") == [XSS]
    [readme] = with_testid(user, "ext-readme")
    assert isinstance(readme, ui.html)
    assert "<img" not in readme.content and "<script" not in readme.content
    assert "&lt;img src=x onerror=alert(1)&gt;" in readme.content and "<h1>Hi</h1>" in readme.content


async def test_a_reader_sees_nothing_waiting_for_review(user: User) -> None:
    await sign_in(user)
    ann = await add_person("ann@example.com")
    await published(ann, package("pending-one", display_name="Pending one"), approve=False)
    await published(ann, package())
    await published(ann, package(version="2.0.0", description="The next one"), approve=False)

    await user.open("/extensions")
    assert "Pending one" not in texts(user, "ext-name")
    await user.open("/extensions/night-owl")
    await user.should_see("night-owl · 1.2.0")
    await user.should_not_see("2.0.0")
    await user.should_not_see("The next one")
    await open_with_status(user, "/extensions/pending-one", 404)
    await user.should_see("No such extension, or it is not published yet.")


async def test_the_author_sees_the_pending_version_and_the_visitor_a_sign_in_link(user: User) -> None:
    await user.open("/")
    ann = await add_person("ann@example.com")
    await published(ann, package())
    await user.open("/extensions/night-owl")
    find_testid(user, "ext-sign-in-to-install")
    [readme] = with_testid(user, "ext-readme")
    assert "<h1>Night Owl</h1>" in readme.content  # type: ignore[attr-defined]


async def test_the_header_links_to_the_marketplace(user: User) -> None:
    await sign_in(user)
    await user.open("/")
    find_testid(user, "extensions-link").click()
    await user.should_see("Publish an extension")


async def test_a_bundle_installs_all_its_extensions_after_showing_their_permissions(user: User) -> None:
    ada = await sign_in(user)
    services = context.services()
    assert await seed_marketplace(services.extensions, services.bundles, shipped_packages()) == []

    await user.open("/extensions")
    await user.should_see("Bundles")
    assert texts(user, "bundle-name") == ["Beginner", "Data science", "Web development"]
    [web] = [card for card in with_testid(user, "bundle-card") if "Web development" in words(card)]
    [install] = [e for e in web.descendants() if e.props.get("data-testid") == "bundle-install"]
    UserInteraction(user, {install}, None).click()
    await until(lambda: bool(with_testid(user, "bundle-dialog")), "the bundle's dialog")
    await user.should_see("The files its commands change in the sandbox are written back to your workspace.")
    [dialog] = with_testid(user, "bundle-dialog")
    assert {"workspace:write", "Format JSON 1.0.0", "Theme Pack 1.0.0"} <= words(dialog)  # the union asked
    find_testid(user, "bundle-ok").click()
    await user.should_see("Installed 2 extensions of Web development")
    installed = await ada.services.extensions.installed(ada.actor)
    assert sorted(i.extension.name for i in installed) == ["format-json", "theme-pack"]
    assert all(i.installation.granted_permissions == tuple(i.extension.manifest["permissions"]) for i in installed)
