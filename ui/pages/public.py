"""Public read-only links, `/s/<token>`: the workspace's tree and one file, rendered on the server (Pygments
for code, markdown-it + nh3 for Markdown) as a plain HTML page that loads no script at all and works with
JavaScript turned off. These are plain FastAPI routes, not NiceGUI pages (those load Vue).

Every answer under /s/ carries a strict CSP without `script-src`, `nosniff` and `no-referrer` (the token is
in the URL: no `Referer` may carry it away). Unknown, expired and revoked links all get the same page."""

from __future__ import annotations

import hashlib
import html
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from domain.access import Action
from domain.entities import FOLDER_MIME, FileInfo
from domain.errors import CodeloftError, InvalidInput, NotFound
from domain.public_links import SharedView
from ui.api.files import INLINE_TYPES, SAFE_HEADERS, served_type
from ui.context import Services, services
from ui.errors import translate
from ui.security import PUBLIC_LINK_POLICY, csrf_valid
from ui.viewer import viewer

router = APIRouter(include_in_schema=False)

POLICY = PUBLIC_LINK_POLICY
"""No `script-src`: with `default-src 'none'` no script of any kind runs, inline or not."""
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
MAX_RENDERED_BYTES = 512 * 1024
"""Larger text files are offered for download instead of highlighted."""
README_NAMES = ("README.md", "readme.md", "README.txt", "README")
CSS_PATH = "/s/-/public.css"

_PAGE_CSS = """
body{margin:0;font-family:system-ui,sans-serif;color:#1f2328;background:#fff}
header{padding:.75rem 1rem;border-bottom:1px solid #d0d7de;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0}
header .actions{margin-left:auto;display:flex;gap:.75rem;align-items:center}
header form{margin:0}
main{display:flex;flex-wrap:wrap}
nav{min-width:14rem;max-width:22rem;padding:.75rem 1rem;border-right:1px solid #d0d7de;font-size:.9rem}
nav ul{list-style:none;padding-left:1rem;margin:0}
nav>ul{padding-left:0}
nav li{margin:.15rem 0;overflow-wrap:anywhere}
nav a[aria-current=page]{font-weight:700}
article{flex:1;min-width:0;padding:.75rem 1rem}
article h2{font-size:1rem;overflow-wrap:anywhere}
.hl{overflow-x:auto;font-size:.85rem}
.hl pre{margin:0;line-height:1.4}
.hltable{border-collapse:collapse}
.hltable td.linenos{color:#6e7781;text-align:right;padding-right:.75rem;user-select:none;vertical-align:top}
.hltable td.linenos a{color:inherit;text-decoration:none}
.markdown{max-width:60rem;line-height:1.5}
.markdown pre{background:#f6f8fa;padding:.5rem;overflow-x:auto}
.shared-image{max-width:100%}
.notice{color:#57606a}
"""


@lru_cache(maxsize=1)
def stylesheet() -> tuple[str, str]:
    """The page's CSS (Pygments' classes under `.hl`, then the layout) and its ETag."""
    css = HtmlFormatter(cssclass="hl").get_style_defs(".hl") + _PAGE_CSS
    return css, '"' + hashlib.sha256(css.encode()).hexdigest()[:20] + '"'


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    """Markdown as sanitised HTML: raw HTML in it is shown as text, and nh3 keeps only harmless tags."""
    import nh3

    return str(nh3.clean(_markdown.render(text), url_schemes={"http", "https", "mailto"}))


def render_code(path: str, text: str) -> str:
    """Highlighted code with line numbers, each number a link to its line's anchor (`#L12`)."""
    try:
        lexer = get_lexer_for_filename(path.rsplit("/", 1)[-1], stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    formatter = HtmlFormatter(cssclass="hl", linenos="table", anchorlinenos=True, lineanchors="L")
    rendered = str(highlight(text, lexer, formatter))
    # Pygments names the anchors "L-12"; links to a line read "#L12".
    return rendered.replace('id="L-', 'id="L').replace('name="L-', 'name="L').replace('href="#L-', 'href="#L')


def is_markdown(path: str) -> bool:
    return path.lower().endswith((".md", ".markdown"))


def render_text(path: str, data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return f'<div class="markdown">{render_markdown(text)}</div>' if is_markdown(path) else render_code(path, text)


def link_to(token: str, path: str = "", *, kind: str = "") -> str:
    parts = [f"/s/{token}"]
    if kind:
        parts.append(kind)
    if path:
        parts.append(quote(path, safe="/"))
    return "/".join(parts)


def tree_html(token: str, entries: list[FileInfo], current: str | None) -> str:
    """The tree as nested lists of links; folders (explicit or implied by paths) as plain names."""
    files = sorted((e for e in entries if not e.is_folder and e.mime_type != FOLDER_MIME), key=lambda e: e.path)
    root: dict[str, Any] = {}
    for entry in files:
        node = root
        parts = entry.path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = {}

    def walk(node: dict[str, Any], prefix: str) -> str:
        folders = sorted((k for k in node if k.endswith("/")), key=str.lower)
        names = sorted((k for k in node if not k.endswith("/")), key=str.lower)
        items = []
        for folder in folders:
            items.append(f"<li>{html.escape(folder)}{walk(node[folder], prefix + folder)}</li>")
        for name in names:
            path = prefix + name
            here = ' aria-current="page"' if path == current else ""
            items.append(f'<li><a href="{html.escape(link_to(token, path))}"{here}>{html.escape(name)}</a></li>')
        return "<ul>" + "".join(items) + "</ul>"

    return walk(root, "") if files else '<p class="notice">This workspace has no files.</p>'


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    document = (
        '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title>'
        f'<link rel="stylesheet" href="{CSS_PATH}"></head><body>{body}</body></html>'
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)


NOT_FOUND_BODY = (
    "<header><h1>Link not found</h1></header><article><p>This link does not exist, has expired or was revoked."
    "</p><p>Ask whoever shared it for a new one.</p></article>"
)


def not_found() -> HTMLResponse:
    """The one answer for an unknown, expired or revoked link (and for anything else missing under /s/)."""
    return page("Link not found · Codeloft", NOT_FOUND_BODY, status=404)


async def file_body(svc: Services, view: SharedView, token: str, info: FileInfo, data: bytes) -> str:
    """The file's part of the page, its text part read through the cache by (workspace, path, content hash)."""
    raw = link_to(token, info.path, kind="raw")
    if info.mime_type in INLINE_TYPES:
        return f'<img class="shared-image" src="{html.escape(raw)}" alt="{html.escape(info.path)}">'
    if info.is_binary or info.size_bytes > MAX_RENDERED_BYTES:
        why = "a binary file" if info.is_binary else "too large to show here"
        return (
            f'<p class="notice">{html.escape(info.path)} is {why} ({info.size_bytes} bytes).</p>'
            f'<p><a href="{html.escape(raw)}?download=1">Download it</a></p>'
        )
    return await svc.public_links.rendered(view, info, data, render_text)


async def choose(svc: Services, view: SharedView, entries: list[FileInfo]) -> str | None:
    paths = {e.path for e in entries if not e.is_folder}
    for candidate in [*svc.workspaces.entry_candidates(view.workspace), *README_NAMES]:
        if candidate in paths:
            return candidate
    return min(paths) if paths else None


async def render(request: Request, token: str, path: str | None) -> Response:
    svc = services()
    links = svc.public_links
    try:
        view = await links.resolve(token, count_view=True)
        entries = await links.tree(view)
        chosen = path if path else await choose(svc, view, entries)
        if chosen is None:
            content = '<p class="notice">This workspace has no files yet.</p>'
            heading = ""
        else:
            info, data = await links.read_in(view, chosen)
            chosen = info.path
            content = await file_body(svc, view, token, info, data)
            raw = html.escape(link_to(token, info.path, kind="raw"))
            heading = f'<h2>{html.escape(info.path)} <small><a href="{raw}">raw</a></small></h2>'
    except (NotFound, InvalidInput):
        return not_found()
    actions = [f'<a href="{html.escape(link_to(token, kind="archive"))}">Download ZIP</a>']
    current = await viewer(request)
    if current is not None:
        actor = await current.actor()
        if await links.visitor_may(actor, view, Action.VIEW):
            actions.append(f'<a href="/w/{view.workspace.id}">Open in the IDE</a>')
        actions.append(
            f'<form method="post" action="{html.escape(link_to(token, kind="fork"))}">'
            f'<input type="hidden" name="csrf" value="{html.escape(current.csrf_token)}">'
            '<button type="submit">Fork</button></form>'
        )
    name = html.escape(view.workspace.name)
    body = (
        f'<header><h1>{name}</h1><span class="notice">Read-only · shared publicly</span>'
        f'<span class="actions">{"".join(actions)}</span></header>'
        f'<main><nav aria-label="Files">{tree_html(token, entries, chosen)}</nav>'
        f"<article>{heading}{content}</article></main>"
    )
    return page(f"{view.workspace.name} · Codeloft", body)


@router.get(CSS_PATH)
async def public_css(request: Request) -> Response:
    css, tag = stylesheet()
    headers = {**HEADERS, "ETag": tag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(css, media_type="text/css; charset=utf-8", headers=headers)


@router.get("/s/{token}")
async def shared_workspace(request: Request, token: str) -> Response:
    return await render(request, token, None)


@router.get("/s/{token}/archive")
async def shared_archive(token: str) -> Response:
    try:
        workspace, archive = await services().public_links.archive(token)
    except NotFound:
        return not_found()
    filename = quote(f"{workspace.name}.zip", safe="")
    return Response(
        content=archive,
        media_type="application/zip",
        headers={
            **HEADERS,
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
            "Content-Encoding": "identity",
        },
    )


@router.post("/s/{token}/fork")
async def shared_fork(request: Request, token: str) -> Response:
    """A signed-in visitor's copy of the workspace in their own workspaces (a plain form: no script)."""
    svc = services()
    current = await viewer(request)
    if current is None:
        return page(
            "Sign in to fork · Codeloft", message("Sign in first", "Sign in to fork this workspace."), status=401
        )
    form = await request.form()
    presented = form.get("csrf")
    if not isinstance(presented, str) or not csrf_valid(svc.csrf_key, current.session_id, presented):
        return page("Fork refused · Codeloft", message("Fork refused", "Reload the page and try again."), status=403)
    try:
        view = await svc.public_links.resolve(token)
        fork = await svc.explore.fork(await current.actor(), view.workspace.id, via_link=view.link)
    except NotFound:
        return not_found()
    except CodeloftError as error:
        refusal = translate(error)
        return page("Fork refused · Codeloft", message("Fork refused", refusal.message), status=refusal.status)
    return RedirectResponse(f"/w/{fork.id}", status_code=303, headers=HEADERS)


def message(title: str, text: str) -> str:
    return f"<header><h1>{html.escape(title)}</h1></header><article><p>{html.escape(text)}</p></article>"


@router.get("/s/{token}/raw/{path:path}")
async def shared_raw(token: str, path: str, download: bool = False) -> Response:
    try:
        info, data = await services().public_links.read(token, path)
    except (NotFound, InvalidInput):
        return not_found()
    headers = {**HEADERS, **SAFE_HEADERS, "Content-Security-Policy": f"sandbox; {POLICY}"}
    if download:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(info.path.rsplit('/', 1)[-1], safe='')}"
    return Response(content=data, media_type=served_type(info), headers=headers)


@router.get("/s/{token}/{path:path}")
async def shared_file(request: Request, token: str, path: str) -> Response:
    if not path:
        return await render(request, token, None)
    return await render(request, token, path)
