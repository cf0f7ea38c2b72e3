"""How long until the IDE shows a 5,000-file and a 50,000-file workspace: Codeloft's page against
JupyterLab 4 opening a folder of the same files, measured in the same run.

    .venv/bin/python bench/tree_open.py [--runs 5] [--files 5000|50000 (default: both, in turn)]

Generates the small files once per size: `main.py` (the first file, whose first line holds a marker
string) and 200 folders `pkg_NNN/` of modules `mod_MM.py` (5,000 files: 25 each; 50,000 files: 250
each, `mod_MMM.py`; the last folder has one module fewer, so the total is exact; 201 entries at the
top level either way). They go into a temporary folder and, as a ZIP, in memory (with folder entries
for 5,000 files; without for 50,000, whose folders are implied: the owner's plan allows 50,000
entries).

Codeloft: starts the real `codeloft serve` (embedded default: SQLite in a temporary data directory),
signs in with the printed link, imports the ZIP as a new workspace (`POST /api/v1/workspaces/import`),
signs a browser context in with a fresh link for the same account, then loads `/w/<id>`.
JupyterLab: a separate virtual environment, /tmp/codeloft-bench-jupyter (created with
`pip install 'jupyterlab>=4,<5'` on first use, never a dependency of Codeloft), serves the folder with
no token, HOME in a temporary directory; the browser loads `/lab/tree/main.py?reset` (`?reset`
discards the layout JupyterLab saved on the previous load, so each load starts from the default one).

One headless Debian Chromium (the flags of the browser tests), viewport 1280x900, one browser context
per product kept for all its loads (so the cookie and the HTTP cache are warm, as for someone who
reopens the IDE), a new page for each load. The first load of each product is not counted (a colder
HTTP cache, though Codeloft's context has loaded the dashboard while signing in; it is printed).
Then `--runs` loads each, alternating between the products. A load is timed from `page.goto` until
both: 201 top-level entries are visible in the file tree (Codeloft: the top-level `treeitem`s of
`data-testid=file-tree`; JupyterLab: the file browser's `.jp-DirListing-item`s), and an editor
(`.cm-content`) shows main.py's marker. The in-page times (from navigation start: first byte of the
page, DOMContentLoaded, the data's arrival, tree shown, editor shown) show where the time goes. Exit
status 1 if anything failed, including a JupyterLab that could not be installed
(the Codeloft figures are printed all the same)."""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.jupyter_peer import START_TIMEOUT, Jupyter, ensure_jupyter, start_jupyter
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, open_sign_in_link
from tests.serving import Server, link_in, sign_in, start_server

FOLDERS = 200
SIZES = (5_000, 50_000)  # main.py and the modules: the last folder has one module fewer
TOP_LEVEL = FOLDERS + 1  # the folders and main.py
MARKER = "TREE_OPEN_MARKER_7f3a9c"
OWNER_EMAIL = "owner@localhost"
SESSION_COOKIE = "codeloft_session"
CSRF_HEADER = "X-CSRF-Token"
LOAD_TIMEOUT_MS = 60_000  # for one page load to show the tree and the editor
VIEWPORT = {"width": 1280, "height": 900}
BIG_MESSAGE = 100_000  # characters: a websocket message this long carries the file tree

# Run in every page of both products before their own scripts: keep every resource timing entry, and
# note when (ms from navigation start) the page opens its first websocket and when the page's code
# receives the first big websocket message.
# A listener added in the constructor runs before the `onmessage` handler that the page sets later.
INIT_SCRIPT = """
performance.setResourceTimingBufferSize(5000);
(() => {
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      window.__treeOpenSocket ??= performance.now();
      this.addEventListener("message", (event) => {
        const size = typeof event.data === "string" ? event.data.length : event.data.size || 0;
        if (size >= BIG_MESSAGE && !window.__treeOpenMessage) window.__treeOpenMessage = {at: performance.now(), size};
      });
    }
  };
})();
""".replace("BIG_MESSAGE", str(BIG_MESSAGE))

# Polled on every animation frame by `page.wait_for_function`: records (once) when the tree first
# shows `minimum` visible entries and when an editor first shows the marker, in ms from navigation
# start, and returns them with the navigation timing once both happened.
PROBE = """
([treeSelector, minimum, marker]) => {
  const seen = window.__treeOpen || (window.__treeOpen = {});
  const now = performance.now();
  const visible = (el) => (el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0);
  if (seen.tree === undefined) {
    let count = 0;
    for (const el of document.querySelectorAll(treeSelector)) {
      if (visible(el) && ++count >= minimum) break;
    }
    if (count >= minimum) seen.tree = now;
  }
  if (seen.editor === undefined) {
    for (const el of document.querySelectorAll(".cm-content")) {
      if (el.textContent.includes(marker) && visible(el)) { seen.editor = now; break; }
    }
  }
  if (seen.tree === undefined || seen.editor === undefined) return null;
  const nav = performance.getEntriesByType("navigation")[0];
  const all = document.querySelectorAll(treeSelector);
  const arrivals = {};  // ms from navigation start
  if (window.__treeOpenSocket !== undefined) arrivals["websocket opened"] = window.__treeOpenSocket;
  const big = window.__treeOpenMessage;
  if (big) arrivals["first big websocket message received"] = big.at;
  for (const entry of performance.getEntriesByType("resource")) {
    const url = new URL(entry.name);
    if (!url.search.includes("content=1")) continue;
    const what = { "/api/contents": "root listing", "/api/contents/main.py": "main.py" }[url.pathname];
    if (what) arrivals[`${what} received`] ??= entry.responseEnd;
  }
  return {
    tree: seen.tree, editor: seen.editor, arrivals,
    ttfb: nav.responseStart, response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd,
    html_bytes: nav.decodedBodySize, big_message_bytes: big ? big.size : 0, tree_entries_in_dom: all.length,
    dom_elements: document.getElementsByTagName("*").length,
  };
}
"""

# What the page shows when a load timed out.
STATE = """
([treeSelector, marker]) => {
  const all = [...document.querySelectorAll(treeSelector)];
  const editors = [...document.querySelectorAll(".cm-content")];
  return {
    url: location.href, ready: document.readyState, title: document.title,
    tree_entries_in_dom: all.length, tree_entries_visible: all.filter((el) => el.getClientRects().length > 0).length,
    editors: editors.length, marker_shown: editors.some((el) => el.textContent.includes(marker)),
    editor_text: editors.map((el) => el.textContent.slice(0, 120)),
  };
}
"""


# --- the files -----------------------------------------------------------------------------------


def module_source(folder: int, module: int) -> str:
    """A few hundred bytes of Python, different in every file."""
    return (
        f'"""pkg_{folder:03d}/mod_{module:02d}.py: one small module of the tree-open benchmark."""\n'
        "\n"
        f"VALUE = {folder * 100 + module}\n"
        "\n"
        "\n"
        "def compute(x: int) -> int:\n"
        '    """x scaled by this module\'s value, plus its number."""\n'
        f"    return x * VALUE + {module}\n"
        "\n"
        "\n"
        f"class Thing{module:02d}:\n"
        "    def __init__(self, name: str) -> None:\n"
        "        self.name = name\n"
        "\n"
        "    def __repr__(self) -> str:\n"
        f'        return f"Thing{module:02d}({{self.name!r}})"\n'
    )


MAIN_SOURCE = (
    f'"""{MARKER}: the entry point of a 5,000-file workspace."""\n'
    "\n"
    "from pkg_000.mod_00 import compute\n"
    "\n"
    'if __name__ == "__main__":\n'
    "    print(compute(2))\n"
)


def modules_per_folder(total: int) -> int:
    return -(-total // FOLDERS)


def generate(root: Path, total: int) -> bytes:
    """Write the files under `root`; return the same tree as a ZIP archive (with folder entries up to
    5,000 files)."""
    files = {"main.py": MAIN_SOURCE}
    per_folder = modules_per_folder(total)
    digits = len(str(per_folder - 1))
    for folder in range(FOLDERS):
        for module in range(per_folder):
            if len(files) < total:
                files[f"pkg_{folder:03d}/mod_{module:0{digits}d}.py"] = module_source(folder, module)
    assert len(files) == total, len(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder in range(FOLDERS):
            (root / f"pkg_{folder:03d}").mkdir(parents=True)
            if total <= 5_000:
                archive.writestr(zipfile.ZipInfo(f"pkg_{folder:03d}/"), b"")
        for path, text in files.items():
            (root / path).write_text(text)
            archive.writestr(path, text)
    return buffer.getvalue()


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    wall: float  # seconds from page.goto until both the tree and the editor were shown
    page: dict[str, Any]  # the probe's result: in-page times in ms from navigation start, and sizes


@dataclass
class Product:
    label: str
    base_url: str
    url: str  # what each load opens
    tree_selector: str
    context: BrowserContext
    first: Sample | None = None  # the unmeasured first load (a colder HTTP cache)
    samples: list[Sample] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # errors and warnings of the browser console
    elsewhere: list[str] = field(default_factory=list)  # requests to any other server
    failure: str | None = None


class LoadFailed(Exception):
    pass


def load(product: Product) -> Sample:
    """One load in a new page of the product's context."""
    page = product.context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
    page.on(
        "request",
        lambda r: None if r.url.startswith((product.base_url, "data:", "blob:")) else product.elsewhere.append(r.url),
    )
    try:
        started = time.perf_counter()
        try:
            page.goto(product.url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            handle = page.wait_for_function(
                PROBE, arg=[product.tree_selector, TOP_LEVEL, MARKER], polling="raf", timeout=LOAD_TIMEOUT_MS
            )
        except PlaywrightError as error:
            raise LoadFailed(f"{str(error).splitlines()[0]}; the page showed {page_state(page, product)}") from None
        wall = time.perf_counter() - started
        return Sample(wall=wall, page=handle.json_value())
    finally:
        product.console.extend(messages)
        page.close()


def page_state(page: Page, product: Product) -> object:
    try:
        return page.evaluate(STATE, [product.tree_selector, MARKER])
    except PlaywrightError as error:
        return f"(unreadable: {str(error).splitlines()[0]})"


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median_of(product: Product, value: Callable[[Sample], float]) -> float:
    return statistics.median(value(s) for s in product.samples)


def summary(product: Product) -> str:
    ordered = sorted(s.wall for s in product.samples)
    median, p95 = statistics.median(ordered), percentile(ordered, 0.95)
    return f"{product.label:<38} median {median * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms"


def breakdown(product: Product) -> list[str]:
    def ms(key: str) -> float:
        return median_of(product, lambda s: s.page[key])

    last = product.samples[-1].page
    lines = [
        f"    in the page, medians from navigation start: first byte {ms('ttfb'):.0f} ms, "
        f"HTML received {ms('response_end'):.0f} ms, DOMContentLoaded {ms('dom_content_loaded'):.0f} ms, "
        f"tree shown {ms('tree'):.0f} ms, editor shown {ms('editor'):.0f} ms",
        f"    page: {last['html_bytes'] / 1024:,.0f} KiB of HTML, {last['dom_elements']:,} DOM elements, "
        f"{last['tree_entries_in_dom']:,} tree entries in the DOM ({TOP_LEVEL} shown at the top level)"
        + (f", first big websocket message {big / 1024:,.0f} KiB" if (big := last["big_message_bytes"]) else ""),
    ]
    seen = [key for key in last["arrivals"] if all(key in s.page["arrivals"] for s in product.samples)]
    if seen:
        arrivals = [f"{key} {median_of(product, lambda s, key=key: s.page['arrivals'][key]):.0f} ms" for key in seen]
        lines.append(f"    data, medians from navigation start: {', '.join(arrivals)}")
    elsewhere = sorted(set(product.elsewhere))
    more = " ..." if len(elsewhere) > 3 else ""
    lines.append(f"    requests to other servers: {', '.join(elsewhere[:3]) + more if elsewhere else 'none'}")
    if product.first is not None:
        lines.append(f"    first load (not counted; fewer files in the HTTP cache): {product.first.wall * 1000:.0f} ms")
    unique = list(dict.fromkeys(product.console))
    if unique:
        count = len(product.console)
        lines.append(f"    browser console: {count} errors/warnings, {len(unique)} distinct; the first ones:")
        lines += [f"      {message[:300]}" for message in unique[:6]]
    return lines


# --- Codeloft -----------------------------------------------------------------------------------


def import_workspace(server: Server, archive: bytes, total: int) -> tuple[str, float]:
    """Sign in with the printed link, import the archive as a new workspace; its id and the seconds
    the import took."""
    with httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(300.0)) as http:
        landing = sign_in(http, server.link)
        if not http.cookies.get(SESSION_COOKIE):
            raise RuntimeError(f"the sign-in link answered {landing.status_code} without a {SESSION_COOKIE} cookie")
        csrf = http.get("/api/v1/session").raise_for_status().json()["csrf_token"]
        started = time.perf_counter()
        created = http.post(
            "/api/v1/workspaces/import",
            params={"name": f"tree-open-{total}", "language": "python"},
            content=archive,
            headers={CSRF_HEADER: csrf, "Content-Type": "application/zip"},
        )
        took = time.perf_counter() - started
        if created.status_code != 201:
            raise RuntimeError(f"POST /api/v1/workspaces/import answered {created.status_code}: {created.text[:500]}")
        workspace_id = created.json()["id"]
        listed = http.get(f"/api/v1/workspaces/{workspace_id}/files").raise_for_status().json()
        files = sum(1 for entry in listed if not entry["is_folder"])
        if files != total:
            raise RuntimeError(f"the imported workspace lists {files} files, not {total}")
        return workspace_id, took


def sign_in_browser(context: BrowserContext, server: Server) -> None:
    result = server.cli("user", "link", OWNER_EMAIL)
    if result.returncode != 0:
        raise RuntimeError(f"codeloft user link {OWNER_EMAIL} failed: {result.stdout}{result.stderr}")
    page = context.new_page()
    try:
        open_sign_in_link(page, link_in(result.stdout))
        page.get_by_test_id("user-label").wait_for(state="visible")
    finally:
        page.close()


def server_errors(server: Server) -> list[str]:
    words = ("Traceback", "Error", "ERROR", "Exception", "WARNING")
    return [line.rstrip() for line in server.output if any(word in line for word in words)]


# --- the run ------------------------------------------------------------------------------------


def measure(products: list[Product], runs: int) -> None:
    """The unmeasured first load of each product, then `runs` loads of each, alternating."""
    for product in products:
        try:
            product.first = load(product)
        except LoadFailed as error:
            product.failure = f"first load: {error}"
    for run in range(runs):
        for product in products:
            if product.failure is None:
                try:
                    product.samples.append(load(product))
                except LoadFailed as error:
                    product.failure = f"load {run + 1}: {error}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured loads of each product")
    parser.add_argument("--files", type=int, choices=SIZES, help="one workspace size (default: each in turn)")
    args = parser.parse_args()
    failed = False
    for total in [args.files] if args.files else SIZES:
        failed |= not bench(total, args.runs)
    if failed:
        sys.exit(1)


def bench(total: int, runs: int) -> bool:
    """One size: the figures printed; False if anything failed."""
    started = time.perf_counter()
    problems: list[str] = []
    servers: list[Server | Jupyter] = []
    with tempfile.TemporaryDirectory(prefix="codeloft-tree-open-") as scratch_name:
        scratch = Path(scratch_name)
        try:
            root = scratch / "files"
            archive = generate(root, total)
            print(
                f"tree_open: {total:,} files (main.py + {FOLDERS} folders of up to {modules_per_folder(total)} "
                f"modules; {TOP_LEVEL} top-level entries), ZIP {len(archive) / 1024:,.0f} KiB; "
                f"measured loads per product: {runs}, after one unmeasured first load"
            )
            version, install_error = ensure_jupyter()
            if install_error:
                print(f"JupyterLab could not be installed; Codeloft only. The error:\n{install_error}")
                problems.append("JupyterLab could not be installed (see above)")

            codeloft = start_server(scratch / "codeloft-data", timeout=START_TIMEOUT)
            servers.append(codeloft)
            workspace_id, took = import_workspace(codeloft, archive, total)
            print(f"Codeloft: imported the ZIP as workspace {workspace_id} in {took * 1000:.0f} ms")
            jupyter = None
            if version:
                jupyter = start_jupyter(root, scratch / "jupyter-home")
                servers.append(jupyter)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    products = []
                    context = browser.new_context(viewport=VIEWPORT)
                    context.add_init_script(INIT_SCRIPT)
                    sign_in_browser(context, codeloft)
                    products.append(
                        Product(
                            label="Codeloft (SQLite, embedded default)",
                            base_url=codeloft.base_url,
                            url=f"{codeloft.base_url}/w/{workspace_id}",
                            tree_selector='[data-testid="file-tree"] [role="treeitem"][aria-level="1"]',
                            context=context,
                        )
                    )
                    if jupyter is not None:
                        jupyter_context = browser.new_context(viewport=VIEWPORT)
                        jupyter_context.add_init_script(INIT_SCRIPT)
                        products.append(
                            Product(
                                label=f"JupyterLab {version}",
                                base_url=jupyter.base_url,
                                url=f"{jupyter.base_url}/lab/tree/main.py?reset",
                                tree_selector=".jp-DirListing-item",
                                context=jupyter_context,
                            )
                        )
                    measure(products, runs)
                finally:
                    browser.close()

            print(
                "Chromium headless, viewport 1280x900, one browser context per product for all its loads "
                "(cookie and HTTP cache kept), a new page per load, products alternating; "
                "JupyterLab loads /lab/tree/main.py?reset (its saved layout discarded every load), "
                "Codeloft /w/<id> (it opens the first file itself)"
            )
            print(
                f"time from page.goto until {TOP_LEVEL} top-level tree entries are visible "
                f"and the editor shows main.py:"
            )
            for product in products:
                if product.samples:
                    print(summary(product))
                    print("\n".join(breakdown(product)))
                if product.failure:
                    print(f"{product.label}: FAILED: {product.failure}")
                    problems.append(f"{product.label} did not show the tree and main.py ({product.failure[:200]})")
            measured = [p for p in products if p.samples and p.failure is None]
            if len(measured) == 2:
                ratio = median_of(measured[0], lambda s: s.wall) / median_of(measured[1], lambda s: s.wall)
                print(f"Codeloft median / JupyterLab median: {ratio:.2f}")
            if jupyter is not None and products[-1].failure:
                print("JupyterLab's last output lines:")
                print("".join(f"    {line}" for line in jupyter.output[-15:]).rstrip())
            errors = server_errors(codeloft)
            if errors:
                print(f"Codeloft server output has {len(errors)} error/warning lines; the first ones:")
                print("\n".join(f"    {line[:300]}" for line in errors[:10]))
        except Exception as error:
            problems.append(f"{type(error).__name__}: {error}")
        finally:
            for server in servers:
                server.stop()
    print(f"total {time.perf_counter() - started:.0f} s")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return not problems


if __name__ == "__main__":
    main()
