"""The pages' logic under NiceGUI's user simulation: what a signed-in person sees and can do, and what
nobody else sees. The browser's side (scripts, layout, keyboard) is the end-to-end tests' job."""

from __future__ import annotations

from uuid import uuid4

import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.pages.simulated import add_person, find_testid, open_with_status, sign_in, with_testid


async def test_the_dashboard_lists_the_persons_workspaces_and_not_another_persons(user: User) -> None:
    ada = await sign_in(user, "ada@example.com")
    bob = await add_person("bob@example.com")
    await ada.services.workspaces.create(ada.actor, name="Analytical engine", language="python")
    await bob.services.workspaces.create(bob.actor, name="Bob's secret", language="python")

    await user.open("/")

    await user.should_see("Your workspaces")
    await user.should_see("Analytical engine")
    await user.should_not_see("Bob's secret")
    assert len(with_testid(user, "workspace-card")) == 1


async def test_a_person_without_workspaces_is_told_how_to_start(user: User) -> None:
    await sign_in(user)

    await user.open("/")

    await user.should_see("No workspaces yet: create one to start coding.")


async def test_creating_a_workspace_from_the_new_workspace_dialog_opens_it(user: User) -> None:
    ada = await sign_in(user)
    await user.open("/")

    assert not with_testid(user, "new-name")  # the dialog is closed
    find_testid(user, "new-workspace").click()
    find_testid(user, "new-name").type("Web shop")
    find_testid(user, "new-language").click()  # opens its options
    user.find("JavaScript (Node.js)").click()
    find_testid(user, "new-template").click()
    user.find("Web server (Node.js, listens on PORT)").click()
    find_testid(user, "new-create").click()

    await user.should_see("Created Web shop")
    assert not with_testid(user, "new-name")  # the dialog closed
    [workspace] = await ada.services.workspaces.list_accessible(ada.actor)
    assert (workspace.name, workspace.language.value, workspace.template) == ("Web shop", "javascript", "express")
    await user.should_see("server.js")  # the IDE, its tree filled from the template (the navigation follows the notice)
    assert user.back_history[-1] == f"/w/{workspace.id}"


async def test_a_reader_of_a_workspace_gets_no_save_and_no_edit_tools(user: User) -> None:
    ada = await add_person("ada@example.com")
    await sign_in(user, "bob@example.com")
    workspace = await ada.services.workspaces.create(ada.actor, name="Shared to read", language="python")
    await ada.services.sharing.invite(ada.actor, workspace.id, email="bob@example.com", permission="read")

    await user.open(f"/w/{workspace.id}")

    await user.should_see("Shared to read")
    await user.should_see("read only")
    assert not with_testid(user, "save") and not with_testid(user, "tree-new-file")
    find_testid(user, "tree-download-zip")  # but may download it


async def test_the_ide_page_gives_the_owner_save_and_the_files_and_search_panes(user: User) -> None:
    ada = await sign_in(user)
    workspace = await ada.services.workspaces.create(ada.actor, name="Difference engine", language="python")

    await user.open(f"/w/{workspace.id}")

    await user.should_see("Difference engine")
    find_testid(user, "save")
    await user.should_see("Save (Ctrl+S)")  # its tooltip, also its accessible name
    await user.should_not_see("read only")
    files = find_testid(user, "activity-files")
    search = find_testid(user, "activity-search")
    assert [element.props["aria-label"] for element in (*files.elements, *search.elements)] == [
        "Files",
        "Search (Ctrl+Shift+F)",
    ]


async def test_an_unknown_workspace_shows_the_not_found_page(user: User) -> None:
    await sign_in(user)

    await open_with_status(user, f"/w/{uuid4()}", 404)

    await user.should_see("No such workspace, or you have no access to it.")
    await user.should_see("Back to your workspaces")


async def test_another_persons_workspace_shows_the_same_not_found_page(user: User) -> None:
    await sign_in(user, "ada@example.com")
    bob = await add_person("bob@example.com")
    workspace = await bob.services.workspaces.create(bob.actor, name="Bob's secret", language="python")

    await open_with_status(user, f"/w/{workspace.id}", 404)

    await user.should_see("No such workspace, or you have no access to it.")
    await user.should_not_see("Bob's secret")


@pytest.mark.parametrize("path", ["/", f"/w/{uuid4()}"])
async def test_a_person_who_is_not_signed_in_is_sent_to_sign_in(user: User, path: str) -> None:
    answer = await user.http_client.get(path)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")

    await user.open(path)

    assert user.client is not None and user.client.page.path == "/login"
    await user.should_see("Sign in to Codeloft")
    assert user.find(kind=ui.markdown).elements  # how to get a sign-in link
