"""Build ui/static/tailwind.css: the Tailwind CSS of every class Codeloft's pages can use, made ahead of
time by the very Tailwind that NiceGUI ships (its browser build, in headless Chromium), so that pages
load a small stylesheet instead of running Tailwind in every browser at every page load.

    .venv/bin/python scripts/tailwind_css.py          # write ui/static/tailwind.css
    .venv/bin/python scripts/tailwind_css.py --check  # exit 1 if it is not what the sources need

The candidates are every token of ui/'s Python and JavaScript sources (as Tailwind's own scanner takes
every token of its sources): Tailwind makes CSS for those that are classes and ignores the rest. The
configuration is NiceGUI's (its dark variant), so the CSS is the one NiceGUI's runtime would make.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import nicegui

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "ui"
OUTPUT = ROOT / "ui" / "static" / "tailwind.css"
RUNTIME = Path(nicegui.__file__).parent / "static" / "tailwindcss.min.js"
CHROMIUM = "/usr/bin/chromium"
TOKEN = re.compile(r"[^\s\"'`<>{};\\]+")
MAX_TOKEN = 80

# NiceGUI's index.html: Tailwind's configuration on its pages.
CONFIG = "@custom-variant dark (&:where(body.body--dark, body.body--dark *));"

PAGE = """<!doctype html>
<html><head><style type="text/tailwindcss">%(config)s</style></head>
<body><div id="candidates" class="%(classes)s"></div><script src="%(runtime)s"></script></body></html>
"""

# The runtime puts what it made into a <style> of its own; wait until it holds every candidate's rules.
MADE = """() => {
  const style = [...document.querySelectorAll("style")].find((s) => s.textContent.includes("tailwindcss v"));
  return style ? style.textContent : null;
}"""


def candidates() -> list[str]:
    """Every token of ui/'s sources that could be a class, sorted (so the CSS does not depend on order)."""
    found: set[str] = set()
    for path in sorted([*SOURCES.rglob("*.py"), *SOURCES.rglob("*.js")]):
        if "static" in path.relative_to(SOURCES).parts:
            continue
        for token in TOKEN.findall(path.read_text(encoding="utf-8")):
            if len(token) <= MAX_TOKEN and re.search(r"[a-z]", token):
                found.add(token)
    return sorted(found)


def build() -> str:
    """The CSS Tailwind makes for the candidates."""
    from playwright.sync_api import sync_playwright

    classes = " ".join(candidates()).replace("&", "&amp;")
    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(folder) / "tailwind.html"
        page_file.write_text(PAGE % {"config": CONFIG, "classes": classes, "runtime": RUNTIME.as_uri()})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.goto(page_file.as_uri())
                handle = page.wait_for_function(MADE, timeout=30_000)
                page.wait_for_timeout(500)  # the runtime batches its work: let it finish
                css = str(page.evaluate(MADE) or handle.json_value())
            finally:
                browser.close()
    return css.strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with ui/static/tailwind.css, write nothing")
    args = parser.parse_args()
    css = build()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != css:
            sys.exit(f"{OUTPUT.relative_to(ROOT)} is not what ui/'s sources need: run scripts/tailwind_css.py")
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(css, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(css):,} characters")


if __name__ == "__main__":
    main()
