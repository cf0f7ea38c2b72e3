"""Sharing a workspace with people: invite an account by e-mail as read, write or admin (optionally until a
time), list, change and revoke those shares, leave a workspace shared with you, and give a workspace to
someone else. What each role may do is `domain/access.py`'s matrix; this module only keeps the shares.

Only those allowed to `share` a workspace (its owner and admins) see and touch its shares; a person may
always remove their own share (leave). Only the owner transfers. A share takes effect, changes and ends
at once: every check reads the shares afresh (`WorkspaceGate.check`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.access import Action, Actor
from domain.ai_keys import expiry
from domain.entities import SharedWorkspace, ShareMember, User, Workspace, WorkspaceShare
from domain.errors import Conflict, InvalidInput, NotFound
from domain.gate import WorkspaceGate
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.quotas import check_fits, check_workspaces
from domain.values import Email, PermissionLevel

NO_SUCH_SHARE = "This workspace is not shared with that person (any more)."


def permission_of(value: str | PermissionLevel) -> PermissionLevel:
    try:
        return PermissionLevel(value)
    except ValueError:
        raise InvalidInput("A share's permission is one of read, write or admin.") from None


async def _account(uow: UnitOfWork, email: str, *, then: str) -> User:
    """The account of `email`. An address no account has is `NotFound` (a well-formed request refused for
    what is stored, as the API's 404; only those who may share or transfer the workspace get this far)."""
    address = Email(email)
    user = await uow.users.get_by_email(address.value)
    if user is None:
        raise NotFound(
            f"No Codeloft account has the e-mail address {address.value}: ask them to sign in once, then {then}."
        )
    return user


class SharingService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, gate: WorkspaceGate) -> None:
        self._uow = uow
        self._clock = clock
        self._gate = gate

    async def invite(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        email: str,
        permission: str | PermissionLevel,
        expires_at: datetime | None = None,
    ) -> ShareMember:
        """Share the workspace with the account of `email`; inviting someone it is shared with already
        changes their share to this permission and expiry (one share a person)."""
        level = permission_of(permission)
        until = expiry(expires_at)
        user_id = actor.require_user()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            invitee = await _account(uow, email, then="invite them")
            if invitee.id == workspace.owner_id:
                mine = invitee.id == user_id
                raise Conflict("You own this workspace." if mine else f"{invitee.email} owns this workspace.")
            existing = next(iter(await uow.shares.for_user(workspace_id, invitee.id)), None)
            if existing is None:
                share = WorkspaceShare(
                    workspace_id=workspace_id,
                    shared_by_user_id=user_id,
                    shared_with_user_id=invitee.id,
                    permission_level=level,
                    expires_at=until,
                    created_at=self._clock(),
                )
                await uow.shares.add(share)
            else:
                await uow.shares.change(existing.id, permission_level=level, expires_at=until)
                share = WorkspaceShare(
                    id=existing.id,
                    workspace_id=workspace_id,
                    shared_by_user_id=existing.shared_by_user_id,
                    shared_with_user_id=invitee.id,
                    permission_level=level,
                    expires_at=until,
                    created_at=existing.created_at,
                )
            await uow.commit()
        return ShareMember(share=share, email=invitee.email, display_name=invitee.display_name)

    async def members(self, actor: Actor, workspace_id: UUID) -> list[ShareMember]:
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            return list(await uow.shares.members(workspace_id))

    async def change(
        self,
        actor: Actor,
        workspace_id: UUID,
        share_id: UUID,
        *,
        permission: str | PermissionLevel | None = None,
        expires_at: datetime | None = None,
        keep_expiry: bool = True,
    ) -> ShareMember:
        """Change a share's permission and/or expiry (`keep_expiry=False` with `expires_at=None`: never)."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            member = await self._member(uow, workspace_id, share_id)
            share = member.share
            level = share.permission_level if permission is None else permission_of(permission)
            until = share.expires_at if keep_expiry and expires_at is None else expiry(expires_at)
            await uow.shares.change(share_id, permission_level=level, expires_at=until)
            await uow.commit()
        changed = WorkspaceShare(
            id=share.id,
            workspace_id=share.workspace_id,
            shared_by_user_id=share.shared_by_user_id,
            shared_with_user_id=share.shared_with_user_id,
            permission_level=level,
            expires_at=until,
            created_at=share.created_at,
        )
        return ShareMember(share=changed, email=member.email, display_name=member.display_name)

    async def revoke(self, actor: Actor, workspace_id: UUID, share_id: UUID) -> None:
        """End a share: by those who may share the workspace, or by the person it is shared with (leave)."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            share = await uow.shares.get(workspace_id, share_id)
            if share is None or share.shared_with_user_id != user_id:
                await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            if not await uow.shares.delete(workspace_id, share_id):
                raise NotFound(NO_SUCH_SHARE)
            await uow.commit()

    async def shared_with_me(self, actor: Actor) -> list[SharedWorkspace]:
        """Workspaces other people shared with the actor, with live shares, most recently opened first."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            return list(await uow.shares.shared_with(user_id, now=self._clock()))

    async def transfer(self, actor: Actor, workspace_id: UUID, *, email: str) -> Workspace:
        """Give the workspace to the account of `email`, within their plan; the previous owner keeps admin
        access through a share (which the new owner may revoke)."""
        owner_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.TRANSFER, workspace_id)
            recipient = await _account(uow, email, then="transfer it")
            if recipient.id == owner_id:
                raise Conflict("You own this workspace already.")
            await check_workspaces(uow, recipient.id, whose=recipient.email)
            await check_fits(uow, recipient, workspace_id, theirs=True)
            await uow.workspaces.set_owner(workspace_id, recipient.id, at=now)
            await uow.shares.delete_for_user(workspace_id, recipient.id)
            await uow.shares.delete_for_user(workspace_id, owner_id)
            await uow.shares.add(
                WorkspaceShare(
                    workspace_id=workspace_id,
                    shared_by_user_id=recipient.id,
                    shared_with_user_id=owner_id,
                    permission_level=PermissionLevel.ADMIN,
                    created_at=now,
                )
            )
            await uow.commit()
        await self._gate.forget_metadata(workspace_id)
        workspace.owner_id = recipient.id
        workspace.updated_at = now
        return workspace

    @staticmethod
    async def _member(uow: UnitOfWork, workspace_id: UUID, share_id: UUID) -> ShareMember:
        member = next((m for m in await uow.shares.members(workspace_id) if m.share.id == share_id), None)
        if member is None:
            raise NotFound(NO_SUCH_SHARE)
        return member
