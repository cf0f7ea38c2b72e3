"""An installed extension changes the IDE: its themes in the settings' theme picker (chosen at once, kept
across reloads, on every page), its language highlighting a file and naming it in the status bar, its
snippets handed to the editor's completion; disabled, all of it is gone on the next page, without an error."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import ElementFilter, app, ui
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from tests.owl_pack import owl_pack
from tests.pages.simulated import Person, add_person, find_testid, sign_in, until, with_testid
from ui.components.code_editor import CodeEditor
from ui.components.theme_style import ThemeStyle
from ui.workbench.state import WorkbenchState, WorkbenchStates

MODERATOR = "moderator@example.com"
NIGHT_OWL = "ext:owl-pack/night-owl"


@pytest.fixture(autouse=True)
def moderator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_ADMIN_EMAILS", MODERATOR)


async def install_owl_pack(person: Person) -> None:
    """Published by an author, approved by a moderator, installed by `person`."""
    author, moderator = await add_person("author@example.com"), await add_person(MODERATOR)
    market = person.services.extensions
    await market.publish(author.actor, owl_pack())
    await market.approve(moderator.actor, "owl-pack")
    await market.install(person.actor, "owl-pack", grant=[])


def only(user: User, kind: type[ui.element]) -> Any:
    with user:
        [element] = list(ElementFilter(kind=kind, local_scope=False))
    return element


def theme_css(user: User) -> str:
    return str(only(user, ThemeStyle).props["css"])


def dark(user: User) -> bool:
    return bool(only(user, ui.dark_mode).value)


async def open_settings(user: User) -> ui.radio:
    find_testid(user, "open-settings").click()
    await until(lambda: bool(with_testid(user, "settings-theme")), "the settings dialog")
    [picker] = with_testid(user, "settings-theme")
    assert isinstance(picker, ui.radio)
    return picker


async def test_a_contributed_theme_is_picked_applied_at_once_kept_and_gone_when_disabled(user: User) -> None:
    ada = await sign_in(user)
    await install_owl_pack(ada)
    workspace = await ada.services.workspaces.create(ada.actor, name="Owlery", language="python")
    await user.open(f"/w/{workspace.id}")
    assert theme_css(user) == "" and not dark(user)  # light, as before: nothing of the extension's yet

    picker = await open_settings(user)
    assert picker.options == {
        "light": "Light",
        "dark": "Dark",
        NIGHT_OWL: "Night Owl (from owl-pack)",
        "ext:owl-pack/light-owl": "Light Owl (from owl-pack)",
    }
    UserInteraction(user, {picker}, "Night Owl (from owl-pack)").click()
    assert "--cl-background: #011627;" in theme_css(user) and dark(user)  # at once, before Save
    assert "cl-tok-keyword" in theme_css(user)
    assert only(user, CodeEditor).theme == "vscodeDark"  # the editor's base is the theme's kind
    assert find_testid(user, "theme-toggle").elements.pop().props["aria-pressed"] == "true"

    await user.open(f"/w/{workspace.id}")  # a reload: still Night Owl
    assert "--cl-background: #011627;" in theme_css(user) and dark(user)
    picker = await open_settings(user)
    assert picker.value == NIGHT_OWL
    await user.open("/")  # every page
    assert "--cl-tok-keyword: #c792ea;" in theme_css(user) and dark(user)

    find_testid(user, "theme-toggle").click()  # from a dark extension theme to the plain light base
    assert theme_css(user) == "" and not dark(user)
    find_testid(user, "theme-toggle").click()
    assert theme_css(user) == "" and dark(user)  # plain dark

    await user.open(f"/w/{workspace.id}")
    UserInteraction(user, {await open_settings(user)}, "Night Owl (from owl-pack)").click()
    await ada.services.extensions.configure(ada.actor, "owl-pack", enabled=False)
    await user.open(f"/w/{workspace.id}")  # disabled: the default theme, without an error
    assert theme_css(user) == "" and not dark(user)
    assert set((await open_settings(user)).options) == {"light", "dark"}
    await user.open("/account")
    assert theme_css(user) == ""


async def test_a_contributed_language_highlights_its_files_and_its_snippets_reach_the_editor(user: User) -> None:
    ada = await sign_in(user)
    await install_owl_pack(ada)
    workspace = await ada.services.workspaces.create(ada.actor, name="Shells", language="python")
    await ada.services.files.write(ada.actor, workspace.id, "tools/nest.owl", b"echo hoot\n")
    states = WorkbenchStates(app.storage.general)
    states.save(ada.account.id, workspace.id, WorkbenchState(tabs=["tools/nest.owl"], active="tools/nest.owl"))

    await user.open(f"/w/{workspace.id}")
    await until(lambda: only(user, CodeEditor).props.get("language") == "Shell", "the .owl file in the editor")
    assert find_testid(user, "status-language").elements.pop().text == "Owl shell"
    snippets = only(user, CodeEditor).props["snippets"]
    assert snippets["Shell"] == [
        {"prefix": "fori", "body": "for ${1:x} in *; do\n  echo $1\ndone", "detail": "For loop · owl-pack"}
    ]
    assert snippets["Python"][0]["detail"] == "owl-pack"

    await ada.services.extensions.configure(ada.actor, "owl-pack", enabled=False)
    await user.open(f"/w/{workspace.id}")
    await until(lambda: find_testid(user, "status-language").elements.pop().text != "", "the status bar")
    assert find_testid(user, "status-language").elements.pop().text == "Plain text"  # .owl is nothing built in
    assert only(user, CodeEditor).props["snippets"] == {}
