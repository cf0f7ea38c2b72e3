"""The one authorization check. Every service that touches a workspace, file, share, token, job or
extension calls `require` first; the role matrix lives here and nowhere else."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.entities import PublicShare, WorkspaceShare
from domain.errors import NotFound, PermissionDenied, Unauthenticated
from domain.values import PermissionLevel


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    WRITE = "write"
    READ = "read"
    PUBLIC_LINK = "public link"
    ANONYMOUS = "anonymous"


class Action(StrEnum):
    VIEW = "view"  # open the workspace, read its files and past runs
    EDIT = "edit"  # create, change, move and delete files
    RUN = "run"  # compile and run code
    ASK = "ask"  # ask the assistant about it (signed in; the conversations are private to the asker)
    MANAGE = "manage"  # rename, describe, change settings
    SHARE = "share"  # invite people, create or revoke public links
    DELETE = "delete"  # delete the workspace itself
    STAR = "star"  # star or unstar it (signed in)
    FORK = "fork"  # copy it into a workspace of one's own (signed in)
    PUBLISH = "publish"  # make it public, or publish it as a template
    TRANSFER = "transfer"  # give the workspace to another person, who becomes its owner


_ALL = frozenset(Action)
ROLE_MATRIX: dict[Role, frozenset[Action]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL - {Action.DELETE, Action.PUBLISH, Action.TRANSFER},
    Role.WRITE: frozenset({Action.VIEW, Action.EDIT, Action.RUN, Action.ASK, Action.STAR, Action.FORK}),
    Role.READ: frozenset({Action.VIEW, Action.RUN, Action.ASK, Action.STAR, Action.FORK}),
    Role.PUBLIC_LINK: frozenset({Action.VIEW, Action.ASK, Action.STAR, Action.FORK}),
    Role.ANONYMOUS: frozenset(),
}

_SHARE_ROLE = {
    PermissionLevel.ADMIN: Role.ADMIN,
    PermissionLevel.WRITE: Role.WRITE,
    PermissionLevel.READ: Role.READ,
}
_RANK = [Role.OWNER, Role.ADMIN, Role.WRITE, Role.READ, Role.PUBLIC_LINK, Role.ANONYMOUS]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: a signed-in user, or nobody (`user_id` None)."""

    user_id: UUID | None

    def require_user(self) -> UUID:
        if self.user_id is None:
            raise Unauthenticated("Sign in first.")
        return self.user_id


ANONYMOUS = Actor(user_id=None)


@dataclass(frozen=True, slots=True)
class WorkspaceResource:
    """What the check needs to know about one workspace, as seen by one actor.

    `shares` are the workspace's shares with this actor; `public_link` is the link the actor came
    through, if any (already matched to this workspace by the caller)."""

    workspace_id: UUID
    owner_id: UUID
    is_public: bool = False
    shares: tuple[WorkspaceShare, ...] = ()
    public_link: PublicShare | None = None


def _live(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or expires_at > now


def role_of(actor: Actor, resource: WorkspaceResource, *, now: datetime) -> Role:
    """The strongest role the actor holds on the workspace right now."""
    candidates = [Role.ANONYMOUS]
    if actor.user_id is not None:
        if actor.user_id == resource.owner_id:
            return Role.OWNER
        candidates += [
            _SHARE_ROLE[share.permission_level]
            for share in resource.shares
            if share.shared_with_user_id == actor.user_id
            and share.workspace_id == resource.workspace_id
            and _live(share.expires_at, now)
        ]
    link = resource.public_link
    if link is not None and link.workspace_id == resource.workspace_id and _live(link.expires_at, now):
        candidates.append(Role.PUBLIC_LINK)
    if resource.is_public:
        candidates.append(Role.PUBLIC_LINK)
    return min(candidates, key=_RANK.index)


def allowed(role: Role, action: Action) -> bool:
    return action in ROLE_MATRIX[role]


def require(actor: Actor, action: Action, resource: WorkspaceResource, *, now: datetime) -> Role:
    """Return the actor's role if it permits `action`, else raise.

    A caller who may not even view the resource gets `NotFound`, exactly as if it did not exist, so
    that ids cannot be probed; one who may view but not act gets `PermissionDenied`."""
    role = role_of(actor, resource, now=now)
    if not allowed(role, Action.VIEW):
        raise NotFound("No such workspace, or you have no access to it.")
    if not allowed(role, action):
        raise PermissionDenied(f"Your access to this workspace is '{role}', which does not allow you to {action} it.")
    return role


def require_own(actor: Actor, owner_id: UUID | None, *, what: str) -> UUID:
    """A person's own things (their AI keys): only they may see, change or delete them. To anybody else
    such a thing does not exist (`NotFound`, as for a workspace they may not view); nobody signed in is
    asked to sign in. Returns the person's id."""
    user_id = actor.require_user()
    if owner_id is None or owner_id != user_id:
        raise NotFound(f"No such {what}, or it is not yours.")
    return user_id


def is_moderator(email: str | None, moderators: Collection[str]) -> bool:
    return email is not None and email.strip().lower() in {address.strip().lower() for address in moderators}


def require_moderator(actor: Actor, email: str | None, moderators: Collection[str]) -> UUID:
    """The marketplace's moderation (approve, reject, verify, feature extensions) is for the server's
    administrators, the accounts whose e-mail is in `moderators` (`CODELOFT_ADMIN_EMAILS`). Anyone else who
    is signed in gets `PermissionDenied`; nobody signed in is asked to sign in. `email` is the actor's
    account's address. Returns the moderator's id."""
    user_id = actor.require_user()
    if not is_moderator(email, moderators):
        raise PermissionDenied("Only Codeloft's administrators moderate extensions.")
    return user_id
