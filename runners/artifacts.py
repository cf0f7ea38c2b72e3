"""Compile outputs kept on disk between runs, named by their compile cache key."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f]{64}$")


class DiskArtifactStore:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("artifact keys are sha256 hex digests")
        return self._folder / f"{key}.tar"

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def put(self, key: str, archive: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), archive)

    def _write(self, path: Path, archive: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(archive)
        os.replace(temporary, path)
