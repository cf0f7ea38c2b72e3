"""Your own AI keys over REST: list, add (checked with the provider first), rename, switch off and on,
change the expiry, delete. No answer ever holds a key: only its masked form (`sk-…abcd`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.ai_keys import (
    KEEP,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MIN_KEY_LENGTH,
    AIKeyView,
)
from ui.api.contract import NAME_PATTERN, documented
from ui.api.deps import CallerDep
from ui.api.expiry import Expiry
from ui.api.routing import api_router, links
from ui.context import services

router = api_router(prefix="/api/v1/ai-keys", tags=["account"])

ProviderName = Literal["openai", "gemini"]
KeyName = Annotated[
    str,
    documented(
        maxLength=MAX_NAME_LENGTH,
        pattern=NAME_PATTERN,
        description="Your name for the key, unique among your keys of that provider; not blank, no control "
        "characters; spaces around it are dropped",
    ),
]
ApiKeyText = Annotated[
    str,
    documented(
        minLength=MIN_KEY_LENGTH,
        maxLength=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        writeOnly=True,
        description="The key as the provider issued it (printable ASCII, no spaces); checked with the provider "
        "before it is stored, stored encrypted, never shown again",
    ),
]
KEY_ENDS = "When the key stops being used; null: never"


class AIKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    provider: ProviderName
    name: KeyName
    key: ApiKeyText
    expires_at: Expiry | None = Field(default=None, description=KEY_ENDS)


class AIKeyPatch(BaseModel):
    """What to change; what is left out stays. `expires_at: null` makes the key never expire."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: KeyName | None = None
    is_active: bool | None = None
    expires_at: Expiry | None = Field(default=None, description=KEY_ENDS)


class AIKeyOut(BaseModel):
    id: UUID
    provider: ProviderName
    name: str
    masked: str
    """The key's recognisable start and its last four characters (`sk-proj-…abcd`)."""
    is_active: bool
    expires_at: datetime | None
    expired: bool
    created_at: datetime
    updated_at: datetime


def ai_key_out(view: AIKeyView) -> AIKeyOut:
    return AIKeyOut(
        id=view.id,
        provider=view.provider.value,
        name=view.name,
        masked=view.masked,
        is_active=view.is_active,
        expires_at=view.expires_at,
        expired=view.expired,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Stored; the answer shows only the masked key",
        "links": links("create_ai_key", "patch_ai_key", "delete_ai_key", key_id="$response.body#/id"),
    }
}


@router.get("")
async def list_ai_keys(caller: CallerDep) -> list[AIKeyOut]:
    """Your AI keys, oldest first, masked."""
    return [ai_key_out(view) for view in await services().ai_keys.list(caller.actor)]


@router.post("", status_code=201, responses=CREATED)
async def create_ai_key(body: AIKeyIn, caller: CallerDep) -> AIKeyOut:
    """Add a key after asking its provider whether it takes it: a key it refuses answers 422, a provider
    that cannot be asked 503, and neither stores anything."""
    view = await services().ai_keys.add(
        caller.actor, provider=body.provider, name=body.name, key=body.key, expires_at=body.expires_at
    )
    return ai_key_out(view)


@router.patch("/{key_id:uuid}")
async def patch_ai_key(key_id: UUID, body: AIKeyPatch, caller: CallerDep) -> AIKeyOut:
    """Rename a key, switch it off or on, or change its expiry."""
    view = await services().ai_keys.update(
        caller.actor,
        key_id,
        name=body.name,
        is_active=body.is_active,
        expires_at=body.expires_at if "expires_at" in body.model_fields_set else KEEP,
    )
    return ai_key_out(view)


@router.delete("/{key_id:uuid}", status_code=204)
async def delete_ai_key(key_id: UUID, caller: CallerDep) -> Response:
    await services().ai_keys.delete(caller.actor, key_id)
    return Response(status_code=204)
