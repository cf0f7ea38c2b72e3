"""Sign-in links (issue 9, point 2: login CSRF). Opening a link (GET) only asks: a plain HTML page, no
JavaScript, with the link's token in a form; only that form's POST, from this origin, signs in. So a
page on another site can neither sign a person out (their session is never replaced by a cross-site
request) nor sign them in as someone else."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.auth import InvalidSignInLink
from ui.context import services
from ui.security import client_info, session_token, set_session_cookie

router = APIRouter()

# The token is in the link's URL: nothing is cached, and the header keeps the URL out of every Referer
# from the first byte. The page's own <meta> then allows `origin` (never a path, so never the token):
# with `no-referrer` browsers send `Origin: null` with the form's POST, which could not be told
# from a sandboxed page's; `origin` lets the POST name where it came from.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# Only this page's inline style, and its form may post only here (frame-ancestors is added by SecurityHeaders).
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"

STYLE = """
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       background: #f5f5f5; color: #1f1f1f; }
main { max-width: 32rem; margin: 4rem auto; padding: 1.5rem; background: #fff; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
h1 { font-size: 1.5rem; margin: 0 0 .75rem; }
p { margin: 0 0 1rem; }
button { font: inherit; font-weight: 600; color: #fff; background: #1d4ed8; border: 0; border-radius: 4px;
         padding: .6rem 1.2rem; cursor: pointer; overflow-wrap: anywhere; }
button:hover { background: #1e40af; }
button:focus-visible, a:focus-visible { outline: 2px solid #2563eb; outline-offset: 2px; }
a { color: #1d4ed8; }
.refused { color: #c62828; font-weight: 600; }
@media (prefers-color-scheme: dark) {
  body { background: #1e1e1e; color: #e0e0e0; }
  main { background: #252526; }
  a { color: #90caf9; }
  .refused { color: #ef9a9a; }
}
"""


def page(title: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="origin">'
        f"<title>{html.escape(title)} · Codeloft</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    headers = {**NO_STORE, "Content-Security-Policy": PAGE_POLICY}
    return HTMLResponse(document, status_code=status_code, headers=headers)


def refused_link(error: InvalidSignInLink) -> Response:
    """A used, expired or forged link: the sign-in page says which."""
    return RedirectResponse(f"/login?reason={error.reason}", status_code=303, headers=NO_STORE)


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: Request) -> set[str]:
    """This server's origins: the one the request was addressed to, and `CODELOFT_PUBLIC_URL`'s."""
    origins = {origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}")}
    public_url = services().settings.public_url
    if public_url:
        origins.add(origin_of(public_url))
    return {origin for origin in origins if origin}


def same_origin(request: Request) -> bool:
    """Whether a POST came from one of this server's own pages: its `Origin` (browsers send it with every
    POST), else its `Referer`; neither, or `null`, is not proof."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        origin = origin_of(referer) if referer else None
    return origin is not None and origin.lower() in own_origins(request)


@router.get("/login/token/{secret}", include_in_schema=False)
async def confirm_sign_in(secret: str) -> Response:
    """Show whom the link signs in as; the link stays unused and no session changes."""
    try:
        user = await services().auth.peek_sign_in_link(secret)
    except InvalidSignInLink as error:
        return refused_link(error)
    email = html.escape(user.email, quote=True)
    return page(
        "Sign in",
        "<h1>Sign in to Codeloft</h1>"
        f"<p>This one-time link signs you in as <strong>{email}</strong>.</p>"
        '<form method="post" action="/login/token">'
        f'<input type="hidden" name="token" value="{html.escape(secret, quote=True)}">'
        f'<button type="submit" autofocus>Sign in as {email}</button>'
        "</form>",
    )


@router.post("/login/token", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    """Use the link and open a session, replacing this browser's own; only from this origin."""
    if not same_origin(request):
        return page(
            "Sign-in refused",
            "<h1>Sign-in refused</h1>"
            '<p class="refused">This sign-in request came from another site, so Codeloft did not act on it.</p>'
            "<p>Nothing changed: if you were signed in, you still are. To sign in, open your sign-in link "
            'yourself and press its button. <a href="/">Go to Codeloft</a></p>',
            status_code=403,
        )
    form = await request.form()
    token = form.get("token")
    svc = services()
    try:
        if not isinstance(token, str) or not token:
            raise InvalidSignInLink("unknown", "This sign-in link is not valid.")
        signed_in = await svc.auth.redeem_sign_in_link(
            token, replacing=session_token(request), client=client_info(request)
        )
    except InvalidSignInLink as error:
        return refused_link(error)
    response = RedirectResponse("/", status_code=303, headers=NO_STORE)
    set_session_cookie(response, signed_in.session_token, secure=svc.settings.secure_cookies)
    return response
