"""Starter templates kept as folders: `starter_templates/<language>/<name>/` with `_template.json`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from domain.templates import Template
from domain.values import Language

TEMPLATE_ROOT = Path(__file__).parent / "starter_templates"
META = "_template.json"


class FolderTemplateSource:
    def __init__(self, root: Path = TEMPLATE_ROOT) -> None:
        self._root = root

    @cache  # noqa: B019 - one instance per process; the folders never change while it runs
    def catalog(self) -> tuple[Template, ...]:
        templates = []
        for meta in sorted(self._root.glob(f"*/*/{META}")):
            data = json.loads(meta.read_text())
            templates.append(
                Template(
                    language=Language(meta.parent.parent.name),
                    name=meta.parent.name,
                    title=data["title"],
                    entry=data.get("entry"),
                )
            )
        return tuple(templates)

    def files(self, template: Template) -> dict[str, bytes]:
        folder = self._root / template.language.value / template.name
        return {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != META
        }
