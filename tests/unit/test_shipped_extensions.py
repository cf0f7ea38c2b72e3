"""The three extensions shipped in `extensions/`: valid packages, readable themes, a Shell language whose
snippets are valid bash, a JSON formatter that does what its README says (run for real over real files), and
their seeding as official extensions at every start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Conflict
from domain.extension_bundles import BundleService, seed_marketplace
from domain.extension_contributions import EnabledExtension, contributions_of
from domain.extension_entities import ExtensionStatus
from domain.extension_manifest import THEME_COLORS, THEME_TOKENS
from domain.extension_package import ExtensionPackage, read_package
from domain.extensions import ExtensionService
from persistence.shipped_extensions import SHIPPED_ROOT, package_folder, shipped_packages
from tests.api_client import make_zip
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store

NAMES = ["format-json", "shell-language", "theme-pack"]


def shipped(name: str) -> ExtensionPackage:
    return read_package(package_folder(SHIPPED_ROOT / name))


def manifest(name: str) -> dict[str, object]:
    document = shipped(name).manifest.document
    assert isinstance(document, dict)
    return document


def test_every_shipped_folder_is_a_valid_package_with_its_readme() -> None:
    packages = [read_package(data) for data in shipped_packages()]
    assert [p.manifest.name for p in packages] == NAMES
    for package in packages:
        assert package.manifest.main == "README.md"
        assert package.files["README.md"].decode().startswith("# ")
    assert shipped_packages() == shipped_packages()  # the same bytes at every start


def test_no_folder_no_packages(tmp_path: Path) -> None:
    assert shipped_packages(tmp_path / "absent") == []


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_theme_pack_sets_every_key_of_two_themes_at_wcag_aa_contrast() -> None:
    themes = contributions_of([EnabledExtension(name="theme-pack", manifest=manifest("theme-pack"))]).themes
    assert [(t.label, t.kind) for t in themes] == [("Midnight", "dark"), ("Paper", "light")]
    for theme in themes:
        colors, tokens = theme.colors, theme.tokens
        assert set(colors) == set(THEME_COLORS) and set(tokens) == set(THEME_TOKENS)
        for surface in ("background", "surface", "line_highlight", "selection"):
            assert contrast(colors["foreground"], colors[surface]) >= 4.5, (theme.label, surface)
        assert contrast(colors["gutter_foreground"], colors["gutter_background"]) >= 4.5, theme.label
        assert contrast(colors["accent"], colors["background"]) >= 4.5, theme.label
        for token, colour in tokens.items():
            for surface in ("background", "line_highlight"):
                assert contrast(colour, colors[surface]) >= 4.5, (theme.label, token, surface)
    dark, light = themes
    assert _luminance(dark.colors["background"]) < 0.05 < 0.8 < _luminance(light.colors["background"])


def test_the_shell_language_takes_sh_files_runs_them_with_bash_and_offers_snippets() -> None:
    found = contributions_of([EnabledExtension(name="shell-language", manifest=manifest("shell-language"))])
    shell = found.language_of("scripts/build.sh")
    assert shell is not None and found.language_of("deploy.bash") == shell
    assert (shell.label, shell.mode, shell.line_comment, shell.run) == ("Shell", "Shell", "#", ("bash", "{file}"))
    assert found.language_of("notes.txt") is None
    assert {"for", "if", "shebang"} <= {s.prefix for s in found.snippets}
    assert {s.language for s in found.snippets} == {"Shell"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_every_shell_snippet_is_valid_bash() -> None:
    for snippet in manifest("shell-language")["contributes"]["snippets"]:  # type: ignore[index]
        checked = subprocess.run(["bash", "-n"], input=snippet["body"], capture_output=True, text=True)
        assert checked.returncode == 0, (snippet["prefix"], checked.stderr)


def format_command() -> list[str]:
    commands = manifest("format-json")["contributes"]["commands"]  # type: ignore[index]
    (command,) = commands
    assert (command["title"], command["permission"]) == ("Format JSON files", "workspace:write")
    return list(command["run"])


def test_the_format_command_needs_and_asks_for_workspace_write() -> None:
    package = shipped("format-json")
    assert package.manifest.permissions == {"workspace:write"} and package.manifest.category == "tool"
    program, *arguments = format_command()
    assert program == "python3" and arguments[0] == "-c" and all(len(a) <= 500 for a in arguments)


def test_the_format_command_rewrites_the_workspace_json_files(tmp_path: Path) -> None:
    files = {
        "data.json": '{"b": 1, "a": {"d": [1, 2], "c": "é"}}',
        "nested/deeper/config.json": '{"z":true,"y":null}',
        "tidy.json": '{\n  "a": 1\n}\n',
        "broken.json": '{"a": 1,,}',
        "latin1.json": b'{"a": "\xe9"}',
        ".build/out.json": '{"b": 1, "a": 2}',
        "notes.txt": '{"b": 1, "a": 2}',
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in ("tidy.json",)}

    program, *arguments = format_command()
    python = shutil.which(program) or sys.executable
    result = subprocess.run([python, *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data.json").read_text() == (
        '{\n  "a": {\n    "c": "é",\n    "d": [\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n'
    )
    assert (tmp_path / "nested/deeper/config.json").read_text() == '{\n  "y": null,\n  "z": true\n}\n'
    assert (tmp_path / "tidy.json").stat().st_mtime_ns == before["tidy.json"]  # formatted already: untouched
    assert (tmp_path / "broken.json").read_text() == files["broken.json"]
    assert (tmp_path / "latin1.json").read_bytes() == files["latin1.json"]
    assert (tmp_path / ".build/out.json").read_text() == files[".build/out.json"]
    assert (tmp_path / "notes.txt").read_text() == files["notes.txt"]
    lines = result.stdout.splitlines()
    assert sorted(line for line in lines if line.endswith(": formatted")) == [
        "data.json: formatted",
        "nested/deeper/config.json: formatted",
    ]
    assert "broken.json: not valid JSON, left as it is" in lines
    assert "latin1.json: not valid JSON, left as it is" in lines
    assert not any("tidy.json" in line or ".build" in line for line in lines)
    assert lines[-1] == "2 file(s) formatted."

    again = subprocess.run([python, *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "0 file(s) formatted."


# --- Seeding ---------------------------------------------------------------------------------------


@pytest.fixture
def market(store: Store, cache: FakeCache, clock: FrozenClock) -> ExtensionService:
    return ExtensionService(uow=lambda: FakeUnitOfWork(store), clock=clock, cache=cache)


@pytest.fixture
def bundles(store: Store, market: ExtensionService) -> BundleService:
    return BundleService(uow=lambda: FakeUnitOfWork(store), extensions=market)


def newer(name: str, version: str) -> bytes:
    document = {**manifest(name), "version": version}
    return make_zip([("manifest.json", json.dumps(document).encode()), ("README.md", b"# Newer\n")])


async def test_the_shipped_extensions_are_seeded_official_approved_and_verified_once(
    store: Store, market: ExtensionService, bundles: BundleService
) -> None:
    assert await seed_marketplace(market, bundles, shipped_packages()) == []
    found = await market.search("")
    assert sorted(e.name for e in found) == NAMES
    assert all(e.author_id is None and e.is_verified and e.status == ExtensionStatus.APPROVED for e in found)
    assert all(e.published_at is not None for e in found)
    detail = await market.detail(Actor(None), "theme-pack")
    assert [(v.version, v.status) for v in detail.versions] == [("1.0.0", "approved")]
    commits = store.commits

    assert await seed_marketplace(market, bundles, shipped_packages()) == []  # the next start
    assert store.commits == commits
    assert len(store.extension_versions) == 3 and len(store.bundles) == 3


async def test_a_newer_shipped_version_is_installable_at_once_an_older_or_equal_one_changes_nothing(
    store: Store, market: ExtensionService
) -> None:
    await market.publish_official(package_folder(SHIPPED_ROOT / "theme-pack"))
    updated = await market.publish_official(newer("theme-pack", "1.1.0"))
    assert (updated.version, updated.status, updated.is_verified) == ("1.1.0", "approved", True)
    commits = store.commits
    for version in ("1.1.0", "1.0.0"):
        assert (await market.publish_official(newer("theme-pack", version))).version == "1.1.0"
    assert store.commits == commits
    versions = (await market.detail(Actor(None), "theme-pack")).versions
    assert [(v.version, v.status) for v in versions] == [("1.1.0", "approved"), ("1.0.0", "approved")]


async def test_an_official_name_is_nobody_elses_and_nobody_elses_name_becomes_official(
    store: Store, accounts: AccountService, market: ExtensionService, bundles: BundleService
) -> None:
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    await market.publish_official(package_folder(SHIPPED_ROOT / "theme-pack"))
    with pytest.raises(Conflict, match="taken by another author"):
        await market.publish(ann, newer("theme-pack", "2.0.0"))

    await market.publish(ann, package_folder(SHIPPED_ROOT / "format-json"))  # took the name first
    problems = await seed_marketplace(market, bundles, shipped_packages())
    assert problems == ["The name 'format-json' is taken by another author: the shipped extension was not published."]
    extension = (await market.detail(ann, "format-json")).extension
    assert (extension.author_id, extension.status) == (ann.user_id, "pending")
    web = next(b for b in await bundles.bundles() if b.category == "web-dev")
    assert [e.name for e in web.extensions] == ["theme-pack"]
    assert extension.id not in {e for _, e in store.bundle_extensions}  # not even while pending
