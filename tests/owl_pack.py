"""An extension for the tests of what extensions change in the IDE: two themes (Night Owl, dark, with token
colours; Light Owl), a language (Owl shell: `.sh` and `.owl` in the Shell mode) and snippets."""

from __future__ import annotations

import json
from typing import Any

from tests.api_client import make_zip

MANIFEST: dict[str, Any] = {
    "name": "owl-pack",
    "display_name": "Owl pack",
    "version": "1.0.0",
    "description": "Two owls and a shell",
    "main": "README.md",
    "category": "theme",
    "permissions": [],
    "contributes": {
        "themes": [
            {"id": "night-owl", "label": "Night Owl", "kind": "dark",
             "colors": {"background": "#011627", "foreground": "#d6deeb", "accent": "#7fdbca"},
             "tokens": {"keyword": "#c792ea", "string": "#ecc48d", "comment": "#637777"}},
            {"id": "light-owl", "label": "Light Owl", "kind": "light", "colors": {"background": "#fbfbfb"}},
        ],
        "languages": [{"id": "owl-shell", "label": "Owl shell", "extensions": [".sh", ".owl"], "mode": "Shell"}],
        "snippets": [
            {"language": "Shell", "prefix": "fori", "body": "for ${1:x} in *; do\n  echo $1\ndone",
             "description": "For loop"},
            {"language": "Python", "prefix": "ifmain", "body": "if __name__ == \"__main__\":\n    main()"},
        ],
    },
}  # fmt: skip


def owl_pack() -> bytes:
    """The extension's package."""
    return make_zip([("manifest.json", json.dumps(MANIFEST).encode()), ("README.md", b"# Owls\n")])
