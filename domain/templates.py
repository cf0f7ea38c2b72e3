"""Starter templates: which exist for which language. Their files are data, read through the
`TemplateSource` port (the adapter keeps them as plain folders)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.values import Language


@dataclass(frozen=True, slots=True)
class Template:
    language: Language
    name: str
    title: str
    entry: str | None = None


def templates_for(catalog: Sequence[Template], language: Language) -> list[Template]:
    """Blank first, then the rest by title."""
    found = [t for t in catalog if t.language is language]
    return sorted(found, key=lambda t: (t.name != "blank", t.title))


def find_template(catalog: Sequence[Template], language: Language, name: str) -> Template:
    for template in templates_for(catalog, language):
        if template.name == name:
            return template
    allowed = ", ".join(t.name for t in templates_for(catalog, language))
    raise InvalidInput(f"Unknown template {name!r} for {language.value}: choose one of {allowed}.")
