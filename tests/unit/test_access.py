"""The role matrix, table-driven: every role against every action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.access import (
    ANONYMOUS,
    Action,
    Actor,
    Role,
    WorkspaceResource,
    is_moderator,
    require,
    require_moderator,
    require_own,
    role_of,
)
from domain.entities import PublicShare, WorkspaceShare
from domain.errors import NotFound, PermissionDenied, Unauthenticated
from domain.values import PermissionLevel

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER, ADMIN, WRITER, READER, STRANGER = (uuid4() for _ in range(5))
WORKSPACE = uuid4()


def share(user, level, expires_at=None):
    return WorkspaceShare(
        workspace_id=WORKSPACE,
        shared_by_user_id=OWNER,
        shared_with_user_id=user,
        permission_level=level,
        expires_at=expires_at,
        created_at=NOW,
    )


SHARES = (
    share(ADMIN, PermissionLevel.ADMIN),
    share(WRITER, PermissionLevel.WRITE),
    share(READER, PermissionLevel.READ),
)
LINK = PublicShare(workspace_id=WORKSPACE, share_token="t", created_at=NOW)


def resource(*, link: PublicShare | None = None, public: bool = False, shares=SHARES) -> WorkspaceResource:
    return WorkspaceResource(workspace_id=WORKSPACE, owner_id=OWNER, is_public=public, shares=shares, public_link=link)


V, E, R, M, S, D = Action.VIEW, Action.EDIT, Action.RUN, Action.MANAGE, Action.SHARE, Action.DELETE
# star and fork also need a signed-in person (the services)
ST, F, P, T = Action.STAR, Action.FORK, Action.PUBLISH, Action.TRANSFER
A = Action.ASK  # the assistant: whoever may view (signed in: the service)
# who, how they come, what they may do ("ok"), may see but not do ("denied"), or not even see ("hidden")
MATRIX = [
    ("owner", Actor(OWNER), None, {V, E, R, A, M, S, D, ST, F, P, T}),
    ("admin", Actor(ADMIN), None, {V, E, R, A, M, S, ST, F}),
    ("write", Actor(WRITER), None, {V, E, R, A, ST, F}),
    ("read", Actor(READER), None, {V, R, A, ST, F}),
    ("public link, anonymous", ANONYMOUS, LINK, {V, A, ST, F}),
    ("public link, stranger", Actor(STRANGER), LINK, {V, A, ST, F}),
    ("stranger", Actor(STRANGER), None, set()),
    ("anonymous", ANONYMOUS, None, set()),
]


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(("who", "actor", "link", "allowed_actions"), MATRIX, ids=[row[0] for row in MATRIX])
def test_role_matrix(who, actor, link, allowed_actions, action) -> None:
    target = resource(link=link)
    if action in allowed_actions:
        require(actor, action, target, now=NOW)
    elif allowed_actions:
        with pytest.raises(PermissionDenied):
            require(actor, action, target, now=NOW)
    else:
        with pytest.raises(NotFound):
            require(actor, action, target, now=NOW)


def test_an_expired_share_grants_nothing() -> None:
    expired = (share(READER, PermissionLevel.WRITE, expires_at=NOW - timedelta(seconds=1)),)
    with pytest.raises(NotFound):
        require(Actor(READER), Action.VIEW, resource(shares=expired), now=NOW)


def test_an_expired_public_link_grants_nothing() -> None:
    link = PublicShare(workspace_id=WORKSPACE, share_token="t", expires_at=NOW, created_at=NOW)
    with pytest.raises(NotFound):
        require(ANONYMOUS, Action.VIEW, resource(link=link), now=NOW)


def test_a_link_to_another_workspace_grants_nothing() -> None:
    link = PublicShare(workspace_id=uuid4(), share_token="t", created_at=NOW)
    assert role_of(ANONYMOUS, resource(link=link), now=NOW) is Role.ANONYMOUS


def test_a_public_workspace_is_readable_by_anyone_but_writable_by_nobody_else() -> None:
    require(ANONYMOUS, Action.VIEW, resource(public=True), now=NOW)
    with pytest.raises(PermissionDenied):
        require(Actor(STRANGER), Action.EDIT, resource(public=True), now=NOW)


def test_the_strongest_of_several_grants_wins() -> None:
    both = (share(READER, PermissionLevel.READ), share(READER, PermissionLevel.ADMIN))
    assert role_of(Actor(READER), resource(shares=both), now=NOW) is Role.ADMIN


def test_denial_names_the_role() -> None:
    with pytest.raises(PermissionDenied, match="'read'"):
        require(Actor(READER), Action.EDIT, resource(), now=NOW)


# A person's own things (their AI keys): who asks, and what they get.
OWN = [
    ("the owner", Actor(OWNER), None),
    ("someone else", Actor(STRANGER), NotFound),
    ("nobody signed in", ANONYMOUS, Unauthenticated),
]


@pytest.mark.parametrize(("who", "actor", "refusal"), OWN, ids=[row[0] for row in OWN])
def test_only_the_owner_has_their_own_things(who, actor, refusal) -> None:
    if refusal is None:
        assert require_own(actor, OWNER, what="AI key") == OWNER
    else:
        with pytest.raises(refusal):
            require_own(actor, OWNER, what="AI key")


def test_a_thing_of_nobody_is_nobodys() -> None:
    with pytest.raises(NotFound):
        require_own(Actor(OWNER), None, what="AI key")


MODERATORS = ["Admin@Example.com", "second@example.com"]
# who (their account's e-mail), and whether they moderate extensions
MODERATION = [
    ("listed", Actor(ADMIN), "admin@example.com", "ok"),
    ("listed, other case and spaces", Actor(ADMIN), " ADMIN@example.COM ", "ok"),
    ("second listed", Actor(ADMIN), "second@example.com", "ok"),
    ("not listed", Actor(STRANGER), "someone@example.com", "denied"),
    ("a workspace's owner", Actor(OWNER), "owner@example.com", "denied"),
    ("account without e-mail", Actor(STRANGER), None, "denied"),
    ("anonymous", ANONYMOUS, None, "sign in"),
]


@pytest.mark.parametrize(("who", "actor", "email", "outcome"), MODERATION, ids=[row[0] for row in MODERATION])
def test_only_listed_administrators_moderate_extensions(who, actor, email, outcome) -> None:
    assert is_moderator(email, MODERATORS) == (outcome == "ok")
    if outcome == "ok":
        assert require_moderator(actor, email, MODERATORS) == actor.user_id
    else:
        with pytest.raises(Unauthenticated if outcome == "sign in" else PermissionDenied) as caught:
            require_moderator(actor, email, MODERATORS)
        assert type(caught.value) is (Unauthenticated if outcome == "sign in" else PermissionDenied)


def test_nobody_moderates_when_no_administrator_is_set() -> None:
    with pytest.raises(PermissionDenied, match="Only Codeloft's administrators moderate extensions"):
        require_moderator(Actor(ADMIN), "admin@example.com", [])
