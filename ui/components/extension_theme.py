"""An extension's theme as CSS: its colours as custom properties on the page (`--cl-background`, ...), the
page's and the editor's rules that use them, and its token colours on the editor's highlight classes
(`cl-tok-keyword`, ... as code_editor.js tags the syntax). Pure: a theme in, CSS text out.

The manifest's schema let only colours through, but nothing reaches the CSS unless it is a colour by the
same rule again (`COLOUR`, matched whole): a value that is not is left out, never escaped into the text."""

from __future__ import annotations

import colorsys
import re
from collections.abc import Mapping

from domain.extension_contributions import Contributions, ThemeContribution
from domain.extension_manifest import COLOUR, THEME_COLORS, THEME_TOKENS

_COLOUR = re.compile(COLOUR)
_NUMBERS = re.compile(r"[\d.]+%?")

HIGHLIGHT_CLASS = "cl-tok-"
"""The editor's classes for highlighted syntax: cl-tok-keyword, cl-tok-string, ... (code_editor.js)."""
EDITOR = "html body .cm-editor"
"""Above the editor theme's own rules (a generated class on the same element), with !important over theirs."""


def colour(value: object) -> str | None:
    """`value` if it is a CSS colour by the manifest's rule, else None."""
    return value if isinstance(value, str) and _COLOUR.fullmatch(value) else None


def property_name(key: str) -> str:
    """The custom property of a theme colour: `line_highlight` -> `--cl-line-highlight`."""
    return f"--cl-{key.replace('_', '-')}"


def rgb(value: str) -> tuple[float, float, float] | None:
    """A valid colour's red, green and blue (0 to 1; alpha ignored), or None."""
    if colour(value) is None:
        return None
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits[:3])
        return (int(digits[0:2], 16) / 255, int(digits[2:4], 16) / 255, int(digits[4:6], 16) / 255)
    numbers = _NUMBERS.findall(value.split("(", 1)[1])
    if value.startswith("rgb"):
        channels = [float(n[:-1]) / 100 if n.endswith("%") else float(n) / 255 for n in numbers[:3]]
        return (min(channels[0], 1.0), min(channels[1], 1.0), min(channels[2], 1.0))
    hue, saturation, lightness = (float(n.rstrip("%")) for n in numbers[:3])
    red, green, blue = colorsys.hls_to_rgb((hue % 360) / 360, min(lightness, 100) / 100, min(saturation, 100) / 100)
    return (red, green, blue)


def luminance(value: str) -> float:
    """WCAG's relative luminance of a valid colour (0 black, 1 white)."""
    channels = rgb(value) or (0.0, 0.0, 0.0)
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two valid colours (1 to 21)."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable_on(background: str, preferred: str | None = None) -> str:
    """`preferred` if it reads on `background` (4.5:1), else black or white, whichever reads better."""
    if preferred is not None and contrast(preferred, background) >= 4.5:
        return preferred
    return "#000000" if contrast("#000000", background) >= contrast("#ffffff", background) else "#ffffff"


def colours_of(theme: ThemeContribution) -> dict[str, str]:
    """The theme's valid colours by key, with the editor's gutter on the editor's background unless it
    says otherwise."""
    valid = {key: value for key in THEME_COLORS if (value := colour(theme.colors.get(key))) is not None}
    if "gutter_background" not in valid and "background" in valid:
        valid["gutter_background"] = valid["background"]
    return valid


def tokens_of(theme: ThemeContribution) -> dict[str, str]:
    return {key: value for key in THEME_TOKENS if (value := colour(theme.tokens.get(key))) is not None}


def _rule(selectors: str, declarations: Mapping[str, str], *, important: bool = True) -> str:
    suffix = " !important" if important else ""
    body = " ".join(f"{name}: {value}{suffix};" for name, value in declarations.items())
    return f"{selectors} {{ {body} }}"


def theme_css(theme: ThemeContribution | None) -> str:
    """The page's CSS for `theme` (empty for none: the built-in light or dark look stays as it is)."""
    if theme is None:
        return ""
    colours = colours_of(theme)
    dark = theme.kind == "dark"
    variables = {property_name(key): value for key, value in colours.items()}
    variables.update({f"--cl-tok-{key}": value for key, value in tokens_of(theme).items()})
    rules = [_rule("html body", variables, important=False)]
    # Quasar's own variables are set on <body> by the page (ui.colors): only !important wins over them.

    def var(key: str) -> str:
        return f"var({property_name(key)})"

    background, foreground = colours.get("background"), colours.get("foreground")
    surface, accent = colours.get("surface"), colours.get("accent")
    page: dict[str, str] = {}
    if background:
        page["background-color"] = var("background")
        if dark:
            rules.append(_rule("html body", {"--q-dark-page": var("background")}))
    if foreground:
        page["color"] = var("foreground")
    if page:
        rules.append(_rule("html body", page))
    if surface:
        text = readable_on(surface, foreground)
        rules.append(_rule("html body .q-header", {"background-color": var("surface"), "color": text}))
        rules.append(_rule("html body .q-header .text-white", {"color": text}))
        panels = "html body .q-card, html body .q-menu, html body .q-dialog .q-card"
        rules.append(_rule(panels, {"background-color": var("surface"), "color": readable_on(surface, foreground)}))
        if dark:
            rules.append(_rule("html body", {"--q-dark": var("surface")}))
    elif background and dark:  # Quasar's dark cards and menus on the page's own background, not its grey
        rules.append(_rule("html body", {"--q-dark": var("background")}))
    if accent:
        rules.append(_rule("html body", {"--q-primary": var("accent")}))
        rules.append(_rule("html body .bg-primary", {"color": readable_on(accent)}))
        if background is None or contrast(accent, background) >= 3:
            rules.append(_rule("html body .text-primary, html body.body--dark .text-primary", {"color": var("accent")}))
    if "border" in colours:
        edges = ", ".join(f"html body .{edge}" for edge in ("border", "border-b", "border-t", "border-l", "border-r"))
        rules.append(_rule(edges, {"border-color": var("border")}))
        rules.append(_rule("html body .q-separator", {"background-color": var("border")}))
    rules.extend(_editor_rules(colours))
    for key in tokens_of(theme):
        rules.append(_rule(f"{EDITOR} .{HIGHLIGHT_CLASS}{key}", {"color": f"var(--cl-tok-{key})"}))
    # In NiceGUI's first cascade layer, `theme`: between layers the first one's !important wins, so these beat
    # Quasar's (`.text-white`, a later layer) and the editor theme's (in none) whatever their selectors; in the
    # layer, the `html body` in front of each selector beats the page's own dark-theme shades (accessible.py).
    return "@layer theme {\n" + "\n".join(rules) + "\n}\n"


def _editor_rules(colours: Mapping[str, str]) -> list[str]:
    def var(key: str) -> str:
        return f"var({property_name(key)})"

    rules: list[str] = []
    editor: dict[str, str] = {}
    if "background" in colours:
        editor["background-color"] = var("background")
    if "foreground" in colours:
        editor["color"] = var("foreground")
    if editor:
        rules.append(_rule(EDITOR, editor))
    if "foreground" in colours:
        rules.append(_rule(f"{EDITOR} .cm-content", {"color": var("foreground")}))
    if "cursor" in colours:
        rules.append(_rule(f"{EDITOR} .cm-cursor, {EDITOR} .cm-dropCursor", {"border-left-color": var("cursor")}))
        rules.append(_rule(f"{EDITOR} .cm-content", {"caret-color": var("cursor")}))
    if "selection" in colours:
        selected = ", ".join(
            f"{EDITOR}{part}"
            for part in (
                " .cm-selectionBackground",
                ".cm-focused .cm-selectionBackground",
                " .cm-selectionLayer .cm-selectionBackground",
                " .cm-content ::selection",
                " .cm-line::selection",
            )
        )
        rules.append(_rule(selected, {"background": var("selection")}))
    if "line_highlight" in colours:
        rules.append(_rule(f"{EDITOR} .cm-activeLine", {"background-color": var("line_highlight")}))
    gutter: dict[str, str] = {}
    if "gutter_background" in colours:
        gutter["background-color"] = var("gutter_background")
    if "gutter_foreground" in colours:
        gutter["color"] = var("gutter_foreground")
    if "border" in colours:
        gutter["border-right-color"] = var("border")
    if gutter:
        rules.append(_rule(f"{EDITOR} .cm-gutters", gutter))
    if "gutter_foreground" in colours:
        rules.append(_rule(f"{EDITOR} .cm-gutters .cm-gutterElement", {"color": var("gutter_foreground")}))
    if "line_highlight" in colours:
        rules.append(_rule(f"{EDITOR} .cm-activeLineGutter", {"background-color": var("line_highlight")}))
    return rules


def is_dark(theme: str, contributions: Contributions) -> bool:
    """Whether `theme` (a person's theme: light, dark or an extension's key) is drawn on the dark base."""
    contributed = contributions.theme(theme)
    return contributed.kind == "dark" if contributed is not None else theme == "dark"


XTERM_LIGHT = {"background": "#ffffff", "foreground": "#1f2937", "cursor": "#1f2937", "selectionBackground": "#bfdbfe"}
XTERM_DARK = {"background": "#1e1e1e", "foreground": "#d4d4d4", "cursor": "#d4d4d4", "selectionBackground": "#264f78"}


def xterm_colours(theme: str, contributions: Contributions) -> dict[str, str]:
    """A terminal's colours (xterm.js's theme) for the person's theme: the base's, with an extension theme's
    background, foreground, cursor and selection over them."""
    base = dict(XTERM_DARK if is_dark(theme, contributions) else XTERM_LIGHT)
    contributed = contributions.theme(theme)
    if contributed is None:
        return base
    colours = colours_of(contributed)
    for key, name in (
        ("background", "background"),
        ("foreground", "foreground"),
        ("cursor", "cursor"),
        ("selection", "selectionBackground"),
    ):
        if key in colours:
            base[name] = colours[key]
    return base
