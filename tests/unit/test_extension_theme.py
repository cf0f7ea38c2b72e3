"""An extension's theme as the page's CSS: its colours where the page and the editor use them, nothing that is
not a colour, nothing at all for the built-in themes; the person's theme and its fallback."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from domain.extension_contributions import NONE, EnabledExtension, ThemeContribution, contributions_of
from tests.unit.test_extension_manifest import night_owl
from ui.components.extension_theme import contrast, is_dark, readable_on, rgb, theme_css, xterm_colours
from ui.components.languages import language_label, language_of
from ui.preferences import Preferences


def theme(**colors: str) -> ThemeContribution:
    return ThemeContribution(
        extension="night-owl",
        id="night-owl",
        label="Night Owl",
        kind="dark",
        colors=colors or {"background": "#011627", "foreground": "#d6deeb", "accent": "#7fdbca"},
        tokens={"keyword": "#c792ea", "string": "#ecc48d", "comment": "#637777"},
    )


def declarations(css: str, selector: str) -> str:
    """The declarations of the rule whose selector list is exactly `selector`."""
    found = re.search(rf"(?m)^{re.escape(selector)} \{{ (.*) \}}$", css)
    assert found is not None, f"no rule for {selector!r} in\n{css}"
    return found.group(1)


def test_the_built_in_themes_have_no_css() -> None:
    assert theme_css(None) == ""


def test_the_colours_become_custom_properties_and_rules_that_use_them() -> None:
    css = theme_css(theme(**night_owl()["contributes"]["themes"][0]["colors"]))
    variables = declarations(css, "html body")
    assert "--cl-background: #011627;" in variables and "--cl-accent: #7fdbca;" in variables
    assert "--cl-tok-keyword: #c792ea;" in variables and "--cl-tok-comment: #637777;" in variables
    assert "--cl-gutter-background: #011627;" in variables  # the gutter on the editor's background
    assert "background-color: var(--cl-background) !important;" in declarations(css, "html body .cm-editor")
    assert "color: var(--cl-tok-keyword) !important;" in declarations(css, "html body .cm-editor .cl-tok-keyword")
    assert "color: var(--cl-tok-string) !important;" in declarations(css, "html body .cm-editor .cl-tok-string")
    assert "--q-primary: var(--cl-accent) !important;" in css  # Quasar's primary colour is the accent
    assert "--q-dark-page: var(--cl-background) !important;" in css  # a dark theme's page under Quasar's dark mode
    assert "--q-dark: var(--cl-background) !important;" in css  # its cards and menus too, as it sets no surface
    # White on the light accent would not read: the accent's buttons get black text.
    assert "color: #000000 !important;" in declarations(css, "html body .bg-primary")


def test_editor_colours_go_where_codemirror_draws_them() -> None:
    css = theme_css(theme(selection="#1d3b53", cursor="#80a4c2", line_highlight="#0b2942", gutter_foreground="#4b6479"))
    assert "border-left-color: var(--cl-cursor) !important;" in css
    assert "html body .cm-editor .cm-content ::selection" in css and "background: var(--cl-selection)" in css
    assert "background-color: var(--cl-line-highlight) !important;" in declarations(
        css, "html body .cm-editor .cm-activeLine"
    )
    assert "color: var(--cl-gutter-foreground) !important;" in declarations(
        css, "html body .cm-editor .cm-gutters .cm-gutterElement"
    )
    assert "--cl-background" not in css  # what the theme leaves out stays the base's
    light = ThemeContribution(
        extension="owls", id="day", label="Day", kind="light", colors={"background": "#fbfbfb"}, tokens={}
    )
    assert "q-card" not in theme_css(light) and "--q-dark" not in theme_css(light)  # white cards stay white


@pytest.mark.parametrize(
    "hostile",
    ["red; } body { display: none", "#fff\n", "url(https://evil.example/x.png)", "expression(alert(1))", "</style>"],
)
def test_nothing_but_a_colour_reaches_the_css(hostile: str) -> None:
    css = theme_css(theme(background=hostile, foreground="#d6deeb"))
    assert "--cl-background" not in css and "--cl-foreground: #d6deeb;" in css
    assert not any(word in css for word in ("display", "url(", "expression", "</style>", "#fff\n"))


def test_a_header_on_a_light_surface_gets_dark_text() -> None:
    css = theme_css(theme(surface="#f5f5f5", foreground="#fafafa"))  # the foreground would not read on it
    assert "color: #000000 !important;" in declarations(css, "html body .q-header .text-white")
    dark_surface = theme_css(theme(surface="#0b2942", foreground="#d6deeb"))
    assert "color: #d6deeb !important;" in declarations(dark_surface, "html body .q-header .text-white")


def test_colours_are_read_in_every_form_the_manifest_allows() -> None:
    assert rgb("#fff") == (1.0, 1.0, 1.0) and rgb("#00000080") == (0.0, 0.0, 0.0)
    assert rgb("rgb(255, 0, 0)") == (1.0, 0.0, 0.0) and rgb("rgba(0, 0, 255, 0.5)") == (0.0, 0.0, 1.0)
    assert rgb("hsl(120, 100%, 50%)") == pytest.approx((0.0, 1.0, 0.0))
    assert rgb("blue") is None
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert readable_on("#011627") == "#ffffff" and readable_on("#7fdbca") == "#000000"


def test_a_theme_key_is_dark_by_its_kind_and_the_terminal_takes_its_colours() -> None:
    contributions = contributions_of([EnabledExtension(name="night-owl", manifest=night_owl())])
    key = "ext:night-owl/night-owl"
    assert is_dark(key, contributions) and is_dark("dark", contributions) and not is_dark("light", contributions)
    assert not is_dark(key, NONE)  # uninstalled: not a dark theme any more
    colours = xterm_colours(key, contributions)
    assert (colours["background"], colours["foreground"]) == ("#011627", "#d6deeb")
    assert xterm_colours("light", contributions)["background"] == "#ffffff"


def test_a_person_may_keep_an_extension_theme_but_nothing_else() -> None:
    store: dict[str, object] = {}
    preferences, ann = Preferences(store), uuid4()
    preferences.set_theme(ann, "ext:night-owl/night-owl")
    assert preferences.theme(ann) == "ext:night-owl/night-owl"
    for bad in ("ext:Night Owl/x", "ext:night-owl", "ext:a/b;c", "ext:../x"):
        with pytest.raises(ValueError, match="unknown theme"):
            preferences.set_theme(ann, bad)


def test_a_contributed_language_wins_over_the_built_in_map() -> None:
    manifest = {"contributes": {"languages": [{"id": "zsh", "label": "Z shell", "extensions": [".sh", ".zsh"],
                                               "mode": "Shell"}, {"id": "pyx", "label": "Cython",
                                               "extensions": [".py"], "mode": "Cython"}]}}  # fmt: skip
    contributions = contributions_of([EnabledExtension(name="shells", manifest=manifest)])
    assert language_of("run.sh") == "Shell" and language_label("run.sh") == "Shell"
    assert language_of("run.zsh") is None
    assert language_of("tools/run.zsh", contributions) == "Shell"
    assert language_label("tools/run.zsh", contributions) == "Z shell"
    assert language_of("main.py", contributions) == "Cython" and language_label("main.py", contributions) == "Cython"
    assert language_of("Dockerfile", contributions) == "Dockerfile"
