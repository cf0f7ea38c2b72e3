"""An extension's manifest.json: its JSON Schema (the format's one definition, documented in its descriptions)
and its validation, each refusal naming the field (a JSON path) and the rule it breaks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from domain.errors import InvalidInput

PERMISSIONS = ("workspace:read", "workspace:write")
"""What an extension may ask for. `workspace:read`: its commands see the workspace's files (in the sandbox);
`workspace:write`: the files its commands changed are written back."""

CATEGORIES = ("theme", "language", "tool", "ai")

THEME_COLORS = (
    "background", "foreground", "accent", "surface", "border", "selection", "cursor", "line_highlight",
    "gutter_background", "gutter_foreground",
)  # fmt: skip
"""The page's and the editor's colours a theme may set (each becomes a CSS custom property)."""

THEME_TOKENS = (
    "keyword", "string", "comment", "number", "function", "variable", "type", "class", "operator",
    "constant", "property", "tag", "attribute", "punctuation", "regexp", "invalid",
)  # fmt: skip
"""The editor's highlight classes a theme may colour."""

EDITOR_MODES = (
    "Angular Template", "APL", "ASN.1", "Asterisk", "Brainfuck", "C", "C#", "C++", "Clojure", "ClojureScript",
    "Closure Stylesheets (GSS)", "CMake", "Cobol", "CoffeeScript", "Common Lisp", "CQL", "Crystal", "CSS",
    "Cypher", "Cython", "D", "Dart", "diff", "Dockerfile", "DTD", "Dylan", "EBNF", "ECL", "edn", "Eiffel", "Elm",
    "Erlang", "Esper", "F#", "Factor", "FCL", "Forth", "Fortran", "Gas", "Gherkin", "Go", "Groovy", "Haskell",
    "Haxe", "HTML", "HTTP", "HXML", "IDL", "Java", "JavaScript", "Jinja2", "JSON", "JSON-LD", "JSX", "Julia",
    "Kotlin", "LaTeX", "LESS", "Liquid", "LiveScript", "Lua", "MariaDB SQL", "Markdown", "Mathematica", "Mbox",
    "mIRC", "Modelica", "MS SQL", "MscGen", "MsGenny", "MUMPS", "MySQL", "Nginx", "NSIS", "NTriples",
    "Objective-C", "Objective-C++", "OCaml", "Octave", "Oz", "Pascal", "Perl", "PGP", "PHP", "Pig", "PLSQL",
    "PostgreSQL", "PowerShell", "Properties files", "ProtoBuf", "Pug", "Puppet", "Python", "Q", "R",
    "RPM Changes", "RPM Spec", "Ruby", "Rust", "SAS", "Sass", "Scala", "Scheme", "SCSS", "Shell", "Sieve",
    "Smalltalk", "SML", "Solr", "SPARQL", "Spreadsheet", "SQL", "SQLite", "Squirrel", "sTeX", "Stylus", "Swift",
    "SystemVerilog", "Tcl", "Textile", "TiddlyWiki", "Tiki wiki", "TOML", "Troff", "TSX", "TTCN", "TTCN_CFG",
    "Turtle", "TypeScript", "VB.NET", "VBScript", "Velocity", "Verilog", "VHDL", "Vue", "Web IDL", "WebAssembly",
    "XML", "XQuery", "Xù", "Yacas", "YAML", "Z80",
)  # fmt: skip
"""The highlighting modes the editor ships (the CodeMirror languages of NiceGUI's editor; a unit test keeps
the two lists equal)."""

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
_NUMBER = r"\s*\d{1,3}(\.\d+)?%?\s*"
COLOUR = (
    r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}"
    rf"|rgba?\({_NUMBER},{_NUMBER},{_NUMBER}(,\s*(0|1|0?\.\d+)\s*)?\)"
    rf"|hsla?\(\s*\d{{1,3}}(deg)?\s*,{_NUMBER},{_NUMBER}(,\s*(0|1|0?\.\d+)\s*)?\))$"
)
FILE_EXTENSION = r"^\.[A-Za-z0-9_+-]{1,16}$"
PROGRAM = r"^[A-Za-z0-9_.+-]+$"

RULES = {
    SLUG: "a lowercase slug (letters a-z, digits and single hyphens, e.g. night-owl)",
    SEMVER: "a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)",
    COLOUR: "a CSS colour (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl() or hsla())",
    FILE_EXTENSION: "a file extension with its dot (e.g. .sh)",
    PROGRAM: "a program's name without a path (e.g. bash)",
}
"""What each pattern means, said in a refusal instead of the regular expression."""


def _string(description: str, *, max_length: int = 200, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}
    if pattern is not None:
        schema["pattern"] = pattern
    return schema


def _colours(keys: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {key: {"type": "string", "pattern": COLOUR} for key in keys},
        "additionalProperties": False,
    }


def _command_line(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "minItems": 1,
        "maxItems": 32,
        "prefixItems": [_string("The program, found on the sandbox's PATH.", max_length=64, pattern=PROGRAM)],
        "items": _string("An argument.", max_length=500),
    }


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Codeloft extension manifest (manifest.json at the root of the extension's ZIP)",
    "type": "object",
    "required": ["name", "display_name", "version", "description", "main", "category", "permissions", "contributes"],
    "additionalProperties": False,
    "properties": {
        "name": _string("The extension's unique name in the marketplace and its URLs.", max_length=64, pattern=SLUG),
        "display_name": _string("The name people see.", max_length=100),
        "version": _string("The version, semantic (MAJOR.MINOR.PATCH).", max_length=50, pattern=SEMVER),
        "description": _string("One or two sentences for the marketplace's list.", max_length=1000),
        "main": _string("The package's file shown on the detail page (Markdown, e.g. README.md).", max_length=255),
        "category": {"enum": list(CATEGORIES), "description": "The marketplace's category."},
        "tags": {
            "type": "array",
            "description": "Search words.",
            "maxItems": 10,
            "uniqueItems": True,
            "items": _string("A tag.", max_length=30, pattern=SLUG),
        },
        "permissions": {
            "type": "array",
            "description": "What the extension asks for, shown before install and granted at install.",
            "uniqueItems": True,
            "items": {"enum": list(PERMISSIONS)},
        },
        "contributes": {
            "type": "object",
            "description": "What the extension adds to the IDE, all declarative.",
            "additionalProperties": False,
            "properties": {
                "themes": {
                    "type": "array",
                    "description": "Colour sets offered by the settings' theme picker.",
                    "maxItems": 20,
                    "items": {
                        "type": "object",
                        "required": ["id", "label", "kind", "colors"],
                        "additionalProperties": False,
                        "properties": {
                            "id": _string("The theme's id, unique in the extension.", max_length=64, pattern=SLUG),
                            "label": _string("The name in the theme picker.", max_length=100),
                            "kind": {"enum": ["light", "dark"], "description": "The base it is drawn over."},
                            "colors": _colours(THEME_COLORS, "The page's and the editor's colours, by key."),
                            "tokens": _colours(THEME_TOKENS, "The editor's highlight classes' colours."),
                        },
                    },
                },
                "languages": {
                    "type": "array",
                    "description": "File kinds the editor highlights (and may run).",
                    "maxItems": 20,
                    "items": {
                        "type": "object",
                        "required": ["id", "label", "extensions", "mode"],
                        "additionalProperties": False,
                        "properties": {
                            "id": _string("The language's id.", max_length=64, pattern=SLUG),
                            "label": _string("Its name.", max_length=100),
                            "extensions": {
                                "type": "array",
                                "description": "The file extensions it takes, with their dot.",
                                "minItems": 1,
                                "maxItems": 20,
                                "uniqueItems": True,
                                "items": {"type": "string", "pattern": FILE_EXTENSION},
                            },
                            "mode": {"enum": list(EDITOR_MODES), "description": "The editor's highlighting mode."},
                            "comments": {
                                "type": "object",
                                "description": "Comment syntax, for toggling comments.",
                                "additionalProperties": False,
                                "properties": {
                                    "line": _string("A line comment's start, e.g. #.", max_length=10),
                                    "block": {
                                        "type": "array",
                                        "description": "A block comment's start and end, e.g. ['/*', '*/'].",
                                        "minItems": 2,
                                        "maxItems": 2,
                                        "items": _string("A delimiter.", max_length=10),
                                    },
                                },
                            },
                            "run": _command_line(
                                "How Run runs such a file in the sandbox, e.g. ['bash', '{file}'] ({file}: its path)."
                            ),
                        },
                    },
                },
                "snippets": {
                    "type": "array",
                    "description": "Bodies the editor's completion offers when the prefix is typed.",
                    "maxItems": 500,
                    "items": {
                        "type": "object",
                        "required": ["language", "prefix", "body"],
                        "additionalProperties": False,
                        "properties": {
                            "language": {"enum": list(EDITOR_MODES), "description": "The mode it is offered in."},
                            "prefix": _string("What is typed.", max_length=50),
                            "body": _string("What goes in.", max_length=10_000),
                            "description": _string("Shown beside it in the completion list.", max_length=200),
                        },
                    },
                },
                "commands": {
                    "type": "array",
                    "description": "Palette entries (Ctrl+Shift+P) running a command line in the sandbox over the "
                    "workspace's files.",
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "required": ["id", "title", "run", "permission"],
                        "additionalProperties": False,
                        "properties": {
                            "id": _string("The command's id.", max_length=64, pattern=SLUG),
                            "title": _string("Its palette entry.", max_length=100),
                            "run": _command_line("The command line, run in the workspace's folder in the sandbox."),
                            "permission": {
                                "enum": list(PERMISSIONS),
                                "description": "What it needs (listed in the manifest's permissions): with "
                                "workspace:write the files it changed are written back, with workspace:read "
                                "nothing is.",
                            },
                        },
                    },
                },
            },
        },
    },
}

_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True, slots=True)
class ExtensionManifest:
    """A valid manifest: the fields the marketplace keeps in columns, and the whole document."""

    name: str
    display_name: str
    version: str
    description: str
    main: str
    category: str
    tags: tuple[str, ...]
    permissions: frozenset[str]
    document: dict[str, Any]


def parse_manifest(data: bytes) -> ExtensionManifest:
    """The manifest in `data` (manifest.json's bytes), or InvalidInput naming every broken field and rule."""
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("manifest.json is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"manifest.json is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    return validate_manifest(document)


def validate_manifest(document: object) -> ExtensionManifest:
    problems = [_explain(error) for error in sorted(_VALIDATOR.iter_errors(document), key=_position)]
    if not problems and isinstance(document, dict):
        problems = _unlisted_permissions(document)
    if problems:
        raise InvalidInput("manifest.json is not valid: " + "; ".join(problems) + ".")
    assert isinstance(document, dict)
    return ExtensionManifest(
        name=document["name"],
        display_name=document["display_name"],
        version=document["version"],
        description=document["description"],
        main=document["main"],
        category=document["category"],
        tags=tuple(document.get("tags", ())),
        permissions=frozenset(document["permissions"]),
        document=document,
    )


def _position(error: ValidationError) -> str:
    return str(error.json_path)


def _field(error: ValidationError) -> str:
    path = error.json_path.removeprefix("$").removeprefix(".")
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        return f"{path}.{missing}" if path else missing
    return path or "(the whole document)"


def _explain(error: ValidationError) -> str:
    """One line: the field and the rule it breaks."""
    value = error.instance
    rule: str
    match error.validator:
        case "required":
            rule = "is required"
        case "pattern":
            rule = f"{_shown(value)} is not {RULES[error.validator_value]}"
        case "enum" if len(error.validator_value) > 10:
            rule = f"{_shown(value)} is not one of the {len(error.validator_value)} allowed values (see the schema)"
        case "enum":
            rule = f"{_shown(value)} is not one of " + ", ".join(map(repr, error.validator_value))
        case "additionalProperties":
            allowed = ", ".join(error.schema.get("properties", {}))
            unexpected = ", ".join(repr(key) for key in value if key not in error.schema.get("properties", {}))
            rule = f"{unexpected} not allowed (allowed: {allowed})"
        case "type":
            rule = f"must be of type {error.validator_value}"
        case _:
            rule = error.message
    return f"{_field(error)}: {rule}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unlisted_permissions(document: dict[str, Any]) -> list[str]:
    granted = set(document["permissions"])
    return [
        f"contributes.commands[{index}].permission: {command['permission']!r} is not among the manifest's permissions"
        for index, command in enumerate(document["contributes"].get("commands", ()))
        if command["permission"] not in granted
    ]
