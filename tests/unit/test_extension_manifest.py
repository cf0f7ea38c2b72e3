"""The extension manifest's schema and the package's checks: what is accepted, and each refusal's message."""

from __future__ import annotations

import copy
import json
import random
import typing
from typing import Any

import pytest
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

from domain.errors import InvalidInput, LimitExceeded, QuotaExceeded
from domain.extension_manifest import EDITOR_MODES, parse_manifest, validate_manifest
from domain.extension_package import read_package
from tests.api_client import make_zip

NIGHT_OWL = (
    '{"name": "night-owl", "display_name": "Night Owl", "version": "1.2.0", "description": "A dark theme", '
    '"main": "README.md", "category": "theme", "tags": ["dark", "theme"], "permissions": [], '
    '"contributes": {"themes": [{"id": "night-owl", "label": "Night Owl", "kind": "dark", '
    '"colors": {"background": "#011627", "foreground": "#d6deeb", "accent": "#7fdbca"}, '
    '"tokens": {"keyword": "#c792ea", "string": "#ecc48d", "comment": "#637777"}}]}}'
)

SHELL_AND_FORMATTER: dict[str, Any] = {
    "name": "tools",
    "display_name": "Tools",
    "version": "0.1.0-beta.1",
    "description": "Shell and a JSON formatter",
    "main": "README.md",
    "category": "tool",
    "permissions": ["workspace:read", "workspace:write"],
    "contributes": {
        "languages": [
            {
                "id": "shell",
                "label": "Shell",
                "extensions": [".sh", ".bash"],
                "mode": "Shell",
                "comments": {"line": "#"},
                "run": ["bash", "{file}"],
            }
        ],
        "snippets": [{"language": "Shell", "prefix": "shebang", "body": "#!/usr/bin/env bash\n"}],
        "commands": [
            {
                "id": "format-json",
                "title": "Format JSON files",
                "run": ["python3", "format_json.py"],
                "permission": "workspace:write",
            }
        ],
    },
}


def night_owl() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(NIGHT_OWL)
    return document


def changed(document: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy with the dotted `path` set to `value` (or removed, for ...)."""
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target: Any = document
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return document


def package(*extra: tuple[str, bytes], manifest: bytes = NIGHT_OWL.encode()) -> bytes:
    return make_zip([("manifest.json", manifest), ("README.md", b"# Night Owl\n"), *extra])


def test_the_night_owl_manifest_is_accepted_as_given() -> None:
    manifest = parse_manifest(NIGHT_OWL.encode())
    assert (manifest.name, manifest.display_name, manifest.version) == ("night-owl", "Night Owl", "1.2.0")
    assert manifest.category == "theme" and manifest.tags == ("dark", "theme") and manifest.permissions == frozenset()
    assert manifest.document == json.loads(NIGHT_OWL)


def test_languages_snippets_and_commands_are_accepted() -> None:
    manifest = validate_manifest(SHELL_AND_FORMATTER)
    assert manifest.permissions == {"workspace:read", "workspace:write"}


@pytest.mark.parametrize(
    "colour", ["#fff", "#ffffff", "#ffffff80", "rgb(1, 2, 3)", "rgba(1,2,3,0.5)", "hsl(120, 50%, 50%)"]
)
def test_css_colours_are_accepted(colour: str) -> None:
    validate_manifest(changed(night_owl(), "contributes.themes.0.colors.accent", colour))


def test_the_editor_modes_are_the_editors() -> None:
    assert typing.get_args(SUPPORTED_LANGUAGES) == EDITOR_MODES


REFUSED = [
    (changed(night_owl(), "name", ...), "manifest.json is not valid: name: is required."),
    (
        changed(night_owl(), "version", "1.2"),
        "manifest.json is not valid: version: '1.2' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0).",
    ),
    (
        changed(night_owl(), "contributes.themes.0.colors.background", "#zzz"),
        "manifest.json is not valid: contributes.themes[0].colors.background: '#zzz' is not a CSS colour",
    ),
    (
        changed(night_owl(), "contributes.themes.0.tokens.keyword", "red; background: url(x)"),
        "contributes.themes[0].tokens.keyword: 'red; background: url(x)' is not a CSS colour",
    ),
    (changed(night_owl(), "name", "Night Owl"), "name: 'Night Owl' is not a lowercase slug"),
    (changed(night_owl(), "permissions", ["network"]), "permissions[0]: 'network' is not one of 'workspace:read'"),
    (changed(night_owl(), "contributes.themes.0.kind", "grey"), "contributes.themes[0].kind: 'grey' is not one of"),
    (
        changed(night_owl(), "contributes.themes.0.colors.bg", "#000"),
        "contributes.themes[0].colors: 'bg' not allowed (allowed: background, foreground",
    ),
    (changed(night_owl(), "tags", "dark"), "tags: must be of type array"),
    (
        changed(SHELL_AND_FORMATTER, "contributes.languages.0.mode", "Klingon"),
        "contributes.languages[0].mode: 'Klingon' is not one of the 143 allowed values",
    ),
    (
        changed(SHELL_AND_FORMATTER, "contributes.languages.0.run", ["/bin/bash", "{file}"]),
        "contributes.languages[0].run[0]: '/bin/bash' is not a program's name without a path",
    ),
    (
        changed(SHELL_AND_FORMATTER, "permissions", ["workspace:read"]),
        "contributes.commands[0].permission: 'workspace:write' is not among the manifest's permissions",
    ),
    ([], "(the whole document): must be of type object"),
]


@pytest.mark.parametrize(("document", "message"), REFUSED)
def test_a_broken_manifest_is_refused_naming_the_field_and_the_rule(document: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_manifest(document)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_every_broken_field_is_named_in_one_line() -> None:
    document = changed(changed(night_owl(), "version", "one"), "description", ...)
    with pytest.raises(InvalidInput, match=r"description: is required; version: 'one' is not a semantic version"):
        validate_manifest(document)


def test_malformed_json_is_refused_with_its_place() -> None:
    with pytest.raises(InvalidInput, match=r"manifest.json is not valid JSON: Expecting ',' delimiter at line 1"):
        parse_manifest(b'{"name": "x" "version": "1.0.0"}')


def test_a_package_holds_its_manifest_and_files() -> None:
    unpacked = read_package(package(("themes/extra.css", b"")))
    assert unpacked.manifest.name == "night-owl"
    assert sorted(unpacked.files) == ["README.md", "manifest.json", "themes/extra.css"]


NOISE = random.Random(15).randbytes(2_600_000)
"""Bytes that do not compress, so the ZIP itself is over its cap."""

BAD_PACKAGES = [
    (package(("../evil.sh", b"x")), InvalidInput, r"points outside the extension \('..'\): nothing was published"),
    (package(("/etc/evil", b"x")), InvalidInput, "absolute path: nothing was published"),
    (
        make_zip([("manifest.json", NIGHT_OWL.encode()), ("README.md", b"")], symlink="link"),
        InvalidInput,
        "symbolic link",
    ),
    (make_zip([("README.md", b"")]), InvalidInput, "no manifest.json at its root"),
    (make_zip([("manifest.json", NIGHT_OWL.encode())]), InvalidInput, "main: 'README.md' is not a file of the package"),
    (package(manifest=b"{nope"), InvalidInput, "manifest.json is not valid JSON"),
    (package(*[(f"f{n}", b"") for n in range(100)]), QuotaExceeded, "An extension package may hold at most 100 files"),
    (package(("big.bin", b"0" * (3 * 1024 * 1024))), LimitExceeded, "larger than 2 MB: nothing was published"),
    (
        package(("a.bin", NOISE[:1_300_000]), ("b.bin", NOISE[1_300_000:])),
        LimitExceeded,
        "An extension package may be at most 2 MB",
    ),
    (b"not a zip", InvalidInput, "not a ZIP archive: nothing was published"),
]


@pytest.mark.parametrize(("data", "error", "message"), BAD_PACKAGES)
def test_a_bad_package_is_refused(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        read_package(data)


def test_the_readmes_example_is_accepted_as_it_is() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Extensions") :]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    manifest = parse_manifest(example.group(1).encode())
    assert (manifest.name, manifest.version) == ("night-owl", "1.2.0")
