"""The API's input rules as the OpenAPI document states them: names, descriptions and paths as JSON
Schema patterns that say exactly what the domain accepts (`domain.values`, `domain.workspaces`), so a
client generated from the document neither sends what the server refuses nor is refused what it allows.

Patterns use only `\\xNN` and `\\uNNNN` escapes and character classes: Python's `re`, Rust's regex
(pydantic) and ECMAScript read them alike."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, WithJsonSchema

from domain.editor_settings import EDITOR_LABELS, NUMBER_RULES, THEMES
from domain.toolchains import TOOLCHAINS
from domain.values import MAX_PATH_BYTES, MAX_SEGMENT_BYTES
from domain.workspaces import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH

CONTROL = "\\x00-\\x1f\\x7f"
SPACE = "\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
"""What Python's `str.strip()` removes besides the control characters."""
NAME_PATTERN = f"^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$"
DESCRIPTION_PATTERN = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$"
"""Any text but control characters; tabs and line breaks are allowed."""

NOT_IN_NAME = f"{CONTROL}\\\\/\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
"""Never in a file or folder name: control and bidirectional control characters, the backslash, and `/`
(which separates them). Unpaired surrogates are not Unicode text, so no pattern names them (Rust's
regex cannot)."""
SEGMENT = (
    f"(?:[^{NOT_IN_NAME}.][^{NOT_IN_NAME}]{{0,{MAX_SEGMENT_BYTES - 1}}}"
    f"|\\.[^{NOT_IN_NAME}.][^{NOT_IN_NAME}]{{0,{MAX_SEGMENT_BYTES - 2}}}"
    f"|\\.\\.[^{NOT_IN_NAME}]{{1,{MAX_SEGMENT_BYTES - 2}}})"
)
"""One file or folder name: not empty, `.` or `..`."""
PATH_PATTERN = f"^{SEGMENT}(?:/{SEGMENT})*$"
PATH_RULES = (
    f"A path relative to the workspace root: names joined by `/`, at most {MAX_PATH_BYTES} bytes of UTF-8 in all "
    f"and {MAX_SEGMENT_BYTES} per name; no empty, `.` or `..` name, no backslash, no control or bidirectional "
    "control characters."
)


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)


RUNNABLE = "|".join(_any_case(ext.removeprefix(".")) for chain in TOOLCHAINS for ext in chain.extensions)
ENTRY_PATTERN = f"^$|^(?:{SEGMENT}/)*[^{NOT_IN_NAME}]{{0,{MAX_SEGMENT_BYTES - 5}}}\\.(?:{RUNNABLE})$"
"""Empty (no entry point) or the path of a file Codeloft can run, by its extension."""


PATH_SCHEMA = {"type": "string", "pattern": PATH_PATTERN, "maxLength": MAX_PATH_BYTES, "description": PATH_RULES}
"""A workspace path in the document; the domain checks it (`WorkspacePath`)."""


def documented(**schema: Any) -> WithJsonSchema:
    """A string's schema in the document, for a rule the domain checks itself (with a message that
    names the field and the rule), so the document states it without pydantic checking it twice."""
    return WithJsonSchema({"type": "string", **schema})


WorkspaceName = Annotated[
    str,
    documented(
        maxLength=MAX_NAME_LENGTH,
        pattern=NAME_PATTERN,
        description="Not blank, no control characters; spaces around it are dropped",
    ),
]
Description = Annotated[
    str,
    documented(
        maxLength=MAX_DESCRIPTION_LENGTH,
        pattern=DESCRIPTION_PATTERN,
        description="No control characters but tabs and line breaks; empty clears it",
    ),
]
WorkspacePathText = Annotated[str, WithJsonSchema(PATH_SCHEMA)]
EntryPath = Annotated[
    str,
    documented(
        maxLength=MAX_PATH_BYTES,
        pattern=ENTRY_PATTERN,
        description="The file a run without a path runs (settings.run.entry), a file Codeloft can run by its "
        "extension; an empty string clears it",
    ),
]


def editor_settings_schema() -> dict[str, Any]:
    """The editor settings a PATCH may change, from the rules the domain checks them by."""
    properties: dict[str, Any] = {
        "theme": {"type": "string", "enum": list(THEMES), "description": EDITOR_LABELS["theme"]},
        "word_wrap": {"type": "boolean", "description": EDITOR_LABELS["word_wrap"]},
    }
    for key, rule in NUMBER_RULES.items():
        bounds = {"type": "integer", "minimum": rule.low, "maximum": rule.high}
        described = {"description": f"{EDITOR_LABELS[key]}, in {rule.unit}" + (" (0: off)" if rule.off else "")}
        properties[key] = (
            {"anyOf": [{"type": "integer", "const": 0}, bounds], **described}
            if rule.off
            else {
                **bounds,
                **described,
            }
        )
    return {
        "type": "object",
        "title": "EditorSettingsIn",
        "properties": properties,
        "additionalProperties": False,
        "description": "Editor settings to change; those left out keep their value",
    }


EditorSettingsChanges = Annotated[dict[str, Any], WithJsonSchema(editor_settings_schema())]
LanguageName = Literal["python", "javascript", "cpp", "java"]


ZIP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "A ZIP archive; the paths inside follow the workspace path rules",
    }
}
"""`openapi_extra` of a route that reads a ZIP archive as its body."""
RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file's bytes, whatever the Content-Type; an empty body makes an empty file",
    }
}
"""`openapi_extra` of a route that reads a file's raw bytes as its body."""


def _integral_floats_as_int(value: Any) -> Any:
    """JSON Schema's integer includes 14.0: take it as 14; 14.5, "14" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WHOLE = BeforeValidator(_integral_floats_as_int)
"""`Annotated[int, Field(<bounds>), WHOLE]`: an integer as JSON Schema means it, in models with
`strict=True` (which refuse strings and booleans). The bounds come first, or the document loses them."""
