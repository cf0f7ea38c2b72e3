"""Request bodies read with a size cap, so an oversized upload is refused before it fills memory."""

from __future__ import annotations

from fastapi import Request

from domain.errors import LimitExceeded
from domain.limits import human_size


async def read_body(request: Request, limit: int) -> bytes:
    too_big = LimitExceeded(f"The upload is larger than {human_size(limit)}.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
