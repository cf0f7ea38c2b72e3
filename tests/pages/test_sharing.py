"""Sharing with people under NiceGUI's user simulation, over the real services: the Share dialog of a
dashboard card (invite, an unknown e-mail, change a role, remove, transfer; what an admin sees; its public
links) and the dashboard's "Shared with me" (owner, role, expiry; search; leave)."""

from __future__ import annotations

from datetime import timedelta

from nicegui import ui
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction

from domain.entities import Workspace
from tests.pages.simulated import Person, find_testid, sign_in, with_testid
from ui import context


async def add_named(email: str, name: str) -> Person:
    services = context.services()
    return Person(account=await services.accounts.add_local_user(email, name=name), services=services)


def pick(user: User, testid: str, option: str) -> None:
    """Open the select with `testid` and choose the option labelled `option`, as a person does."""
    find_testid(user, testid).click()
    UserInteraction(user, set(with_testid(user, testid)), option).click()


def text_in(user: User, element: ui.element, testid: str) -> str:
    """The text of the one element with `testid` inside `element`."""
    with user:
        (found,) = [e for e in element.descendants() if e.props.get("data-testid") == testid]
        return str(getattr(found, "text", ""))


async def open_share_dialog(user: User, name: str = "Engine") -> None:
    await user.open("/")
    find_testid(user, "workspace-menu").click()
    find_testid(user, "workspace-share").click()
    await user.should_see(f"Share {name}")


async def own_workspace(user: User, name: str = "Engine") -> tuple[Person, Workspace]:
    ada = await sign_in(user)
    return ada, await ada.services.workspaces.create(ada.actor, name=name, language="python")


async def test_the_owner_invites_a_person_by_e_mail_who_is_then_listed(user: User) -> None:
    ada, workspace = await own_workspace(user)
    await add_named("bob@example.com", "Bob Builder")
    await open_share_dialog(user)

    await user.should_see("Can edit: Also edits, uploads and deletes files.")  # the role chosen, in a line
    pick(user, "share-role", "Can view")
    await user.should_see("Can view: Opens its files, runs and forks it; changes nothing.")
    pick(user, "share-expiry", "Expires in a week")
    find_testid(user, "share-email").type("Bob@Example.com")
    find_testid(user, "share-email").trigger("keydown.enter")  # Enter invites, as the button does

    await user.should_see("Shared with Bob Builder: Can view.")
    (row,) = with_testid(user, "share-row")
    assert text_in(user, row, "share-row-name") == "Bob Builder"
    assert text_in(user, row, "share-row-details").startswith("bob@example.com · expires ")
    assert find_testid(user, "share-row-role").elements.pop().value == "read"  # type: ignore[attr-defined]
    assert find_testid(user, "share-email").elements.pop().value == ""  # type: ignore[attr-defined]
    (member,) = await ada.services.sharing.members(ada.actor, workspace.id)
    assert (member.email, member.share.permission_level.value) == ("bob@example.com", "read")
    assert member.share.expires_at is not None
    assert member.share.expires_at - ada.services.clock() > timedelta(days=6, hours=23)


async def test_an_unknown_e_mail_is_explained_and_adds_nobody(user: User) -> None:
    ada, workspace = await own_workspace(user)
    await open_share_dialog(user)

    find_testid(user, "share-email").type("nobody@example.com")
    find_testid(user, "share-invite").click()
    await user.should_see("No Codeloft account has the e-mail address nobody@example.com")
    find_testid(user, "share-email").clear()
    find_testid(user, "share-email").type(ada.account.email)
    find_testid(user, "share-invite").click()
    await user.should_see("You own this workspace.")

    find_testid(user, "share-none")
    assert not with_testid(user, "share-row")
    assert await ada.services.sharing.members(ada.actor, workspace.id) == []


async def test_the_owner_changes_a_role_at_once_and_removes_a_person(user: User) -> None:
    ada, workspace = await own_workspace(user)
    bob = await add_named("bob@example.com", "Bob Builder")
    await ada.services.sharing.invite(ada.actor, workspace.id, email="bob@example.com", permission="read")
    await open_share_dialog(user)
    await user.should_see("Bob Builder")

    pick(user, "share-row-role", "Admin")
    await user.should_see("Bob Builder is now an admin of it.")
    (member,) = await ada.services.sharing.members(ada.actor, workspace.id)
    assert member.share.permission_level.value == "admin"

    find_testid(user, "share-remove").click()
    await user.should_see("Remove Bob Builder?")
    find_testid(user, "confirm-ok").click()
    await user.should_see("Bob Builder is removed.")
    await user.should_see("Not shared with anyone yet.")
    assert await ada.services.sharing.members(ada.actor, workspace.id) == []
    assert await bob.services.sharing.shared_with_me(bob.actor) == []


async def test_the_owner_transfers_the_workspace_and_keeps_it_as_an_admin(user: User) -> None:
    _, workspace = await own_workspace(user, "Handed over")
    bob = await add_named("bob@example.com", "Bob Builder")
    await open_share_dialog(user, "Handed over")

    find_testid(user, "share-transfer").click()
    await user.should_see("E-mail address of the new owner")
    find_testid(user, "dialog-input").type("bob@example.com")
    find_testid(user, "dialog-ok").click()
    await user.should_see("Transfer Handed over to bob@example.com?")
    await user.should_see("You become an admin of it, and cannot take it back yourself.")
    find_testid(user, "confirm-ok").click()

    await user.should_see("Handed over now belongs to bob@example.com; you are an admin of it.")
    assert (await bob.services.workspaces.get(bob.actor, workspace.id)).owner_id == bob.account.id
    await user.should_see("No workspaces yet: create one to start coding.")  # no longer among ada's own
    (card,) = with_testid(user, "shared-card")
    assert (text_in(user, card, "shared-owner"), text_in(user, card, "shared-role")) == ("by Bob Builder", "Admin")


async def test_an_admin_shares_but_sees_no_transfer_and_cannot_change_themselves(user: User) -> None:
    ada = await sign_in(user)
    bob = await add_named("bob@example.com", "Bob Builder")
    await add_named("cy@example.com", "Cy")
    workspace = await bob.services.workspaces.create(bob.actor, name="Bob's", language="python")
    await bob.services.sharing.invite(bob.actor, workspace.id, email=ada.account.email, permission="admin")

    await user.open("/")
    find_testid(user, "shared-share").click()
    await user.should_see("Share Bob's")
    await user.should_see("ada@example.com (you)")
    assert not with_testid(user, "share-transfer")
    assert not with_testid(user, "share-row-role") and not with_testid(user, "share-remove")  # only ada's row
    find_testid(user, "share-email").type("cy@example.com")
    find_testid(user, "share-invite").click()
    await user.should_see("Shared with Cy: Can edit.")
    assert len(with_testid(user, "share-row")) == 2


async def test_the_share_dialog_makes_and_revokes_public_links(user: User) -> None:
    ada, workspace = await own_workspace(user)
    await open_share_dialog(user)

    find_testid(user, "share-tab-links").click()
    await user.should_see("No links yet.")
    find_testid(user, "link-create").click()
    await user.should_see("Link made and copied.")
    await user.should_see("0 views · never expires")
    find_testid(user, "link-revoke").click()
    await user.should_see("Revoke this link?")
    find_testid(user, "confirm-ok").click()
    await user.should_see("Link revoked.")
    assert await ada.services.public_links.links(ada.actor, workspace.id) == []


async def test_shared_with_me_shows_owner_role_and_expiry_filters_and_leaves(user: User) -> None:
    ada = await sign_in(user)
    bob = await add_named("bob@example.com", "Bob Builder")
    await ada.services.workspaces.create(ada.actor, name="My own", language="python")
    theirs = await bob.services.workspaces.create(bob.actor, name="Bob's engine", language="python")
    until = bob.services.clock() + timedelta(days=7)
    await bob.services.sharing.invite(
        bob.actor, theirs.id, email=ada.account.email, permission="write", expires_at=until
    )
    await bob.services.workspaces.create(bob.actor, name="Bob's secret", language="python")

    await user.open("/")
    await user.should_see("Shared with me")
    await user.should_not_see("Bob's secret")
    (card,) = with_testid(user, "shared-card")
    assert [text_in(user, card, testid) for testid in ("shared-owner", "shared-role", "shared-until")] == [
        "by Bob Builder",
        "Can edit",
        f"until {until:%Y-%m-%d %H:%M} UTC",
    ]
    assert len(with_testid(user, "workspace-card")) == 1  # ada's own only

    find_testid(user, "workspace-search").type("engine")  # one search for both sections
    await user.should_see("No workspace matches your search.")
    assert len(with_testid(user, "shared-card")) == 1
    find_testid(user, "workspace-search").clear()
    find_testid(user, "workspace-search").type("own")
    await user.should_see("No shared workspace matches your search.")
    assert len(with_testid(user, "workspace-card")) == 1
    find_testid(user, "workspace-search").clear()
    await user.should_not_see("No shared workspace matches your search.")

    find_testid(user, "shared-leave").click()
    await user.should_see("Leave Bob's engine?")
    find_testid(user, "confirm-ok").click()
    await user.should_see("You left Bob's engine")
    await user.should_see("Nobody has shared a workspace with you yet.")
    assert await ada.services.sharing.shared_with_me(ada.actor) == []
