"""What a person's enabled extensions add to the IDE, read from their manifests: themes, languages,
snippets and commands. Pure data; the pages draw it and the run service runs it.

Keys are the extension's name with the contribution's id, so two extensions never collide: a theme is
chosen as `ext:<extension>/<theme>`, a command run as `<extension>.<command>`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

THEME_PREFIX = "ext:"


@dataclass(frozen=True, slots=True)
class ThemeContribution:
    extension: str
    id: str
    label: str
    kind: str
    """"light" or "dark": the base drawn under the colours it sets."""
    colors: Mapping[str, str]
    tokens: Mapping[str, str]

    @property
    def key(self) -> str:
        """The value stored as the person's theme."""
        return f"{THEME_PREFIX}{self.extension}/{self.id}"


@dataclass(frozen=True, slots=True)
class LanguageContribution:
    extension: str
    id: str
    label: str
    extensions: tuple[str, ...]
    """File extensions with their dot, e.g. (".sh",)."""
    mode: str
    """The editor's highlighting mode (one of extension_manifest.EDITOR_MODES)."""
    line_comment: str | None = None
    block_comment: tuple[str, str] | None = None
    run: tuple[str, ...] | None = None
    """How Run runs such a file in the sandbox; `{file}` is its path."""

    def handles(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1].lower().endswith(tuple(e.lower() for e in self.extensions))


@dataclass(frozen=True, slots=True)
class SnippetContribution:
    extension: str
    language: str
    """The editor mode it is offered in."""
    prefix: str
    body: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CommandContribution:
    extension: str
    id: str
    title: str
    run: tuple[str, ...]
    permission: str
    """What the manifest says it needs: workspace:read or workspace:write."""
    may_write: bool
    """Whether the person granted workspace:write: only then are the files it changed written back."""
    extension_label: str = ""
    """The extension's display name (its name if it has none): the palette shows "<label>: <title>"."""

    @property
    def palette_label(self) -> str:
        return f"{self.extension_label or self.extension}: {self.title}"

    @property
    def key(self) -> str:
        return f"{self.extension}.{self.id}"


@dataclass(frozen=True, slots=True)
class EnabledExtension:
    """An enabled installation as the contributions see it: the installed version's manifest and the
    permissions the person granted."""

    name: str
    manifest: Mapping[str, Any]
    granted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Contributions:
    themes: tuple[ThemeContribution, ...] = ()
    languages: tuple[LanguageContribution, ...] = ()
    snippets: tuple[SnippetContribution, ...] = ()
    commands: tuple[CommandContribution, ...] = ()
    extensions: tuple[str, ...] = field(default=())
    """The enabled extensions' names."""

    def theme(self, key: str | None) -> ThemeContribution | None:
        return next((theme for theme in self.themes if theme.key == key), None)

    def language_of(self, path: str) -> LanguageContribution | None:
        """The contributed language of a file (the last installed wins, by extension name order)."""
        return next((language for language in reversed(self.languages) if language.handles(path)), None)

    def command(self, key: str) -> CommandContribution | None:
        return next((command for command in self.commands if command.key == key), None)


NONE = Contributions()


def contributions_of(enabled: Iterable[EnabledExtension]) -> Contributions:
    """Every contribution of the enabled extensions, in the order given (by extension name)."""
    themes: list[ThemeContribution] = []
    languages: list[LanguageContribution] = []
    snippets: list[SnippetContribution] = []
    commands: list[CommandContribution] = []
    names: list[str] = []
    for extension in enabled:
        names.append(extension.name)
        contributes = extension.manifest.get("contributes", {})
        for theme in contributes.get("themes", ()):
            themes.append(
                ThemeContribution(
                    extension=extension.name,
                    id=theme["id"],
                    label=theme["label"],
                    kind=theme["kind"],
                    colors=dict(theme.get("colors", {})),
                    tokens=dict(theme.get("tokens", {})),
                )
            )
        for language in contributes.get("languages", ()):
            comments = language.get("comments", {})
            block = comments.get("block")
            languages.append(
                LanguageContribution(
                    extension=extension.name,
                    id=language["id"],
                    label=language["label"],
                    extensions=tuple(language["extensions"]),
                    mode=language["mode"],
                    line_comment=comments.get("line"),
                    block_comment=(block[0], block[1]) if block else None,
                    run=tuple(language["run"]) if language.get("run") else None,
                )
            )
        for snippet in contributes.get("snippets", ()):
            snippets.append(
                SnippetContribution(
                    extension=extension.name,
                    language=snippet["language"],
                    prefix=snippet["prefix"],
                    body=snippet["body"],
                    description=snippet.get("description"),
                )
            )
        for command in contributes.get("commands", ()):
            commands.append(
                CommandContribution(
                    extension=extension.name,
                    id=command["id"],
                    title=command["title"],
                    run=tuple(command["run"]),
                    permission=command["permission"],
                    may_write="workspace:write" in extension.granted,
                    extension_label=str(extension.manifest.get("display_name") or extension.name),
                )
            )
    return Contributions(
        themes=tuple(themes),
        languages=tuple(languages),
        snippets=tuple(snippets),
        commands=tuple(commands),
        extensions=tuple(names),
    )
