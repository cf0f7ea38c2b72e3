"""The IDE's "Share" dialog under NiceGUI's user simulation, over the real services: the owner makes a link
(shown with its full address and view count), a view counts, revoking removes it."""

from __future__ import annotations

from nicegui.testing.user import User

from tests.pages.simulated import find_testid, sign_in, with_testid


async def test_the_owner_makes_a_link_sees_its_views_and_revokes_it(user: User) -> None:
    ada = await sign_in(user)
    workspace = await ada.services.workspaces.create(ada.actor, name="Shared engine", language="python")
    await user.open(f"/w/{workspace.id}")

    find_testid(user, "open-share").click()
    await user.should_see("Share Shared engine")
    find_testid(user, "share-tab-links").click()
    await user.should_see("No links yet.")
    find_testid(user, "link-create").click()
    await user.should_see("Link made and copied.")
    (address,) = with_testid(user, "link-url")
    url = address.value  # type: ignore[attr-defined]
    base = ada.services.settings.base_url
    assert url.startswith(f"{base}/s/") and len(url.rsplit("/", 1)[1]) >= 43
    await user.should_see("0 views · never expires")

    await ada.services.public_links.resolve(url.rsplit("/", 1)[1], count_view=True)
    await user.open(f"/w/{workspace.id}")
    find_testid(user, "open-share").click()
    await user.should_see("Share Shared engine")
    find_testid(user, "share-tab-links").click()
    await user.should_see("1 view · never expires")

    find_testid(user, "link-revoke").click()
    await user.should_see("Revoke this link?")
    find_testid(user, "confirm-ok").click()
    await user.should_see("Link revoked.")
    await user.should_see("No links yet.")
    assert await ada.services.public_links.links(ada.actor, workspace.id) == []
