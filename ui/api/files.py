"""Files over REST: list, raw read and write (with ETag / If-Match), delete, move, folders, ZIP archives."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote_to_bytes
from uuid import UUID

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.entities import FileInfo
from domain.files import FileService
from domain.values import decode_path
from ui.api.bodies import read_body
from ui.api.contract import PATH_RULES, PATH_SCHEMA, RAW_BODY, ZIP_BODY, WorkspacePathText
from ui.api.deps import CallerDep
from ui.api.errors_doc import errors
from ui.api.routing import api_router, links
from ui.context import services
from ui.errors import MalformedHeader

router = api_router(prefix="/api/v1/workspaces/{workspace_id:uuid}", tags=["files"])

# Served bytes never run as a page of Codeloft's origin: a sandboxed, unsniffable response.
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-icon")


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    path: str
    size_bytes: int
    content_hash: str
    mime_type: str | None
    is_binary: bool
    is_folder: bool
    updated_at: datetime


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    source: WorkspacePathText = Field(alias="from")
    destination: WorkspacePathText = Field(alias="to")


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: WorkspacePathText


async def file_path(
    path: Annotated[str, PathParam(description=PATH_RULES, json_schema_extra=PATH_SCHEMA)], request: Request
) -> str:
    """The `{path}` of the URL, decoded from the bytes the client sent: the server's own decoding puts
    U+FFFD in place of bytes that are not UTF-8 (`%ff`, `%c0%ae`), so distinct names would collide.
    (`async`, though it awaits nothing: FastAPI runs a plain function's dependency in a worker thread.)"""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return path
    _, found, escaped = raw.partition(b"/files/")
    return decode_path(unquote_to_bytes(escaped)) if found else path


FilePath = Annotated[str, Depends(file_path)]


def etag(content_hash: str) -> str:
    return f'"{content_hash}"'


ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]+)"')
"""One ETag as the API gives them: a quoted content hash, weak (`W/`) or not."""


def if_match_hash(header: str | None) -> str | None:
    """The content hash `If-Match` asks for: None when absent or `*`; 400 when it is not one ETag."""
    if header is None or header.strip() == "*":
        return None
    tag = ENTITY_TAG.fullmatch(header.strip())
    if tag is None:
        raise MalformedHeader('If-Match must be * or one quoted ETag as GET gives it, like "<content hash>".')
    return tag.group(2)


def wants_new_file(header: str | None) -> bool:
    """`If-None-Match: *` (create only); anything else the API does not define is refused (400)."""
    if header is None:
        return False
    if header.strip() != "*":
        raise MalformedHeader("If-None-Match must be * (create the file only if it does not exist).")
    return True


WRITE_REQUEST: dict[str, Any] = {
    **RAW_BODY,
    # Read from the request itself (not FastAPI's Header): an empty header must be told from none.
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "description": 'Save only over this version: the ETag GET gave (`"<content hash>"`), or * for any',
            "schema": {"type": "string", "pattern": f"^(?:\\*|{ENTITY_TAG.pattern})$"},
        },
        {
            "name": "If-None-Match",
            "in": "header",
            "description": "* creates the file only if it does not exist",
            "schema": {"type": "string", "enum": ["*"]},
        },
    ],
}
FILE_LINKS = links(
    "write_file", "read_file", "delete_file", workspace_id="$request.path.workspace_id", path="$request.path.path"
)
WRITE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": FileOut, "description": "Replaced", "links": FILE_LINKS},
    201: {"model": FileOut, "description": "Created", "links": FILE_LINKS},
    **errors(400, 412),
}


def files() -> FileService:
    return services().files


def served_type(info: FileInfo) -> str:
    if info.mime_type in INLINE_TYPES:
        return info.mime_type
    return "application/octet-stream" if info.is_binary else "text/plain; charset=utf-8"


@router.get("/files")
async def list_files(workspace_id: UUID, caller: CallerDep) -> list[FileOut]:
    return [FileOut.model_validate(entry) for entry in await files().tree(caller.actor, workspace_id)]


@router.get("/files/{path:path}", response_class=Response, responses={200: {"content": {"*/*": {}}}})
async def read_file(workspace_id: UUID, path: FilePath, caller: CallerDep, download: bool = False) -> Response:
    """The file's bytes; `ETag` is its content hash. `?download=1` asks the browser to save it."""
    info, data = await files().read(caller.actor, workspace_id, path)
    headers = {"ETag": etag(info.content_hash), "Cache-Control": "private, no-cache", **SAFE_HEADERS}
    if download:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(info.path.rsplit('/', 1)[-1])}"
    return Response(content=data, media_type=served_type(info), headers=headers)


@router.put("/files/{path:path}", status_code=200, responses=WRITE_ANSWERS, openapi_extra=WRITE_REQUEST)
async def write_file(
    workspace_id: UUID,
    path: FilePath,
    request: Request,
    caller: CallerDep,
) -> Response:
    """Create or replace a file with the raw request body. `If-Match: "<hash>"` refuses (412) a save
    whose file changed meanwhile, unless it holds the body already (a retried save: 200, nothing written);
    `If-None-Match: *` only creates."""
    headers = request.headers
    expected_hash, create_only = if_match_hash(headers.get("if-match")), wants_new_file(headers.get("if-none-match"))
    service = files()
    data = await read_body(request, max(service.limits.max_text_bytes, service.limits.max_binary_bytes))
    saved = await service.write(
        caller.actor,
        workspace_id,
        path,
        data,
        if_match=expected_hash,
        if_none_match=create_only,
    )
    body = FileOut.model_validate(saved.info).model_dump_json()
    return Response(
        content=body,
        status_code=201 if saved.created else 200,
        media_type="application/json",
        headers={"ETag": etag(saved.info.content_hash)},
    )


@router.delete("/files/{path:path}", status_code=204)
async def delete_file(workspace_id: UUID, path: FilePath, caller: CallerDep) -> Response:
    await files().delete(caller.actor, workspace_id, path)
    return Response(status_code=204)


@router.post("/folders", status_code=201)
async def create_folder(workspace_id: UUID, body: FolderIn, caller: CallerDep) -> FileOut:
    return FileOut.model_validate(await files().create_folder(caller.actor, workspace_id, body.path))


@router.post("/move", status_code=204)
async def move(workspace_id: UUID, body: MoveIn, caller: CallerDep) -> Response:
    await files().move(caller.actor, workspace_id, body.source, body.destination)
    return Response(status_code=204)


@router.get("/archive", response_class=Response, responses={200: {"content": {"application/zip": {}}}})
async def download_archive(workspace_id: UUID, caller: CallerDep) -> Response:
    workspace, archive = await files().export_zip(caller.actor, workspace_id)
    filename = _quote(f"{workspace.name}.zip")
    return Response(
        content=archive,
        media_type="application/zip",
        # A ZIP is compressed already: "identity" keeps the server's gzip from spending seconds of CPU on it.
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}", "Content-Encoding": "identity"},
    )


class ImportOut(BaseModel):
    imported: int


@router.post("/archive", openapi_extra=ZIP_BODY)
async def import_archive(workspace_id: UUID, request: Request, caller: CallerDep) -> ImportOut:
    """Unpack the ZIP archive sent as the body into the workspace: all of it or nothing."""
    service = files()
    archive = await read_body(request, service.limits.max_binary_bytes * 4)
    return ImportOut(imported=await service.import_zip(caller.actor, workspace_id, archive))


def _quote(name: str) -> str:
    return quote(name, safe="")
