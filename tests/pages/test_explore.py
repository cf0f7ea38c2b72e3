"""Explore under NiceGUI's user simulation: anyone sees what is public (names as text), a signed-in person
stars and forks from it; a published template is offered in the New workspace dialog."""

from __future__ import annotations

from nicegui.testing.user import User

from tests.pages.simulated import add_person, find_testid, sign_in, until, with_testid

XSS = "<img src=x onerror=alert(1)>"


async def test_a_visitor_sees_public_workspaces_only_and_no_star_or_fork(user: User) -> None:
    await user.open("/")  # starts the services
    ann = await add_person("ann@example.com")
    shown = await ann.services.workspaces.create(ann.actor, name=XSS, language="python", description="Hi")
    await ann.services.workspaces.update(ann.actor, shown.id, is_public=True)
    await ann.services.workspaces.create(ann.actor, name="Hidden one", language="python")

    await user.open("/explore")

    await user.should_see(XSS)  # the name as text
    await user.should_not_see("Hidden one")
    assert not with_testid(user, "explore-star") and not with_testid(user, "explore-fork")
    find_testid(user, "explore-sign-in")


async def test_starring_and_forking_from_explore(user: User) -> None:
    ada = await sign_in(user)
    ann = await add_person("ann@example.com")
    original = await ann.services.workspaces.create(ann.actor, name="Sorting", language="python")
    await ann.services.workspaces.update(ann.actor, original.id, is_public=True)
    await ann.services.workspaces.create(ann.actor, name="Other", language="python")

    await user.open("/explore")
    find_testid(user, "explore-search").type("sort")
    await user.should_see("Sorting")
    find_testid(user, "explore-star").click()
    await user.should_see("★ 1")
    find_testid(user, "explore-star").click()  # now "Unstar"
    await user.should_see("★ 0")
    find_testid(user, "explore-fork").click()

    await user.should_see("Forked into Sorting (fork)")
    [fork] = [w for w in await ada.services.workspaces.list_accessible(ada.actor)]
    assert (fork.name, fork.forked_from) == ("Sorting (fork)", original.id)
    await until(lambda: user.back_history[-1:] == [f"/w/{fork.id}"], "navigation to the fork")


async def test_a_published_template_is_offered_in_the_new_workspace_dialog(user: User) -> None:
    ada = await sign_in(user)
    ann = await add_person("ann@example.com")
    template = await ann.services.workspaces.create(ann.actor, name="Flask starter", language="python")
    await ann.services.files.write(ann.actor, template.id, "app.py", b"print('flask')\n")
    await ann.services.workspaces.update(ann.actor, template.id, is_template=True)

    await user.open("/")
    find_testid(user, "new-workspace").click()
    find_testid(user, "new-name").type("My site")
    find_testid(user, "new-template").click()
    user.find("Flask starter (by someone)").click()
    find_testid(user, "new-create").click()

    await user.should_see("Created My site")
    [mine] = [w for w in await ada.services.workspaces.list_accessible(ada.actor)]
    assert (mine.name, mine.forked_from) == ("My site", template.id)
    assert (await ada.services.files.read(ada.actor, mine.id, "app.py"))[1] == b"print('flask')\n"


async def test_the_owner_makes_a_workspace_public_from_the_dashboard(user: User) -> None:
    ada = await sign_in(user)
    workspace = await ada.services.workspaces.create(ada.actor, name="Mine", language="python")

    await user.open("/")
    find_testid(user, "workspace-menu").click()
    find_testid(user, "workspace-public").click()

    await user.should_see("Mine is public: listed on Explore")
    assert (await ada.services.workspaces.get(ada.actor, workspace.id)).is_public
    find_testid(user, "explore-link").click()
    await user.should_see("Explore public workspaces and templates")
