"""GitHub (OAuth 2) and Google (OpenID Connect) sign-in through Authlib's Starlette client.

`GET /auth/<provider>` starts a flow (`?next=` a path of this site, `?connect=1` to add the provider to
the signed-in account instead); `GET /auth/<provider>/callback` finishes it. Both flows use `state` and
PKCE (S256); Google's also a `nonce` and a full ID-token check, the audience demanded explicitly. The
flow's state lives in a signed cookie of its own (`codeloft_oauth`, path `/auth`, ten minutes), never in
NiceGUI's storage. What the provider vouched for goes to `IdentityService`, which decides; every refusal
lands on `/login` with a reason, and nobody is signed in."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import httpx
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from authlib.integrations.starlette_client.apps import StarletteOAuth2App
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import Unauthenticated
from domain.identities import ProviderProfile, SignInRefused
from ui.context import services
from ui.security import client_info, session_token, set_session_cookie
from ui.settings import Settings

OAUTH_COOKIE = "codeloft_oauth"
FLOW_LIFETIME_SECONDS = 600
FLOW = "codeloft_flow"
NO_STORE = {"Cache-Control": "no-store"}
PROVIDERS = ("github", "google")
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f]")

router = APIRouter(include_in_schema=False)
_oauth: OAuth | None = None


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path of this site (`/…`), else None: never `//host`, a scheme, a backslash
    (browsers read `/\\host` as `//host`) or a control character, not even percent-encoded."""
    for form in (value, unquote(value or "")):  # an encoded `/%5C` or `/%2F` is refused as well
        if not form or not form.startswith("/") or form.startswith("//") or _UNSAFE.search(form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return value


class OAuthSessions:
    """Starlette's SessionMiddleware for `/auth/` only, with its own cookie: what Authlib keeps between
    the start of a flow and its callback (state, PKCE verifier, nonce). Another class than
    SessionMiddleware, so NiceGUI does not take it for its own storage's."""

    def __init__(self, app: ASGIApp, *, secret_key: str, https_only: bool) -> None:
        self.app = app
        self.sessions = SessionMiddleware(
            app,
            secret_key=secret_key,
            session_cookie=OAUTH_COOKIE,
            max_age=FLOW_LIFETIME_SECONDS,
            path="/auth",
            same_site="lax",
            https_only=https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/auth/"):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def build_oauth(settings: Settings) -> OAuth:
    """Authlib's registry with each configured provider (client id and secret both set)."""
    oauth = OAuth()
    enabled = settings.sign_in_providers
    if "github" in enabled:
        oauth.register(
            "github",
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret,
            authorize_url=f"{settings.github_base_url}/login/oauth/authorize",
            access_token_url=f"{settings.github_base_url}/login/oauth/access_token",
            api_base_url=f"{settings.github_api_url}/",
            client_kwargs={
                "scope": "read:user user:email",
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_post",
                "timeout": 15,
            },
        )
    if "google" in enabled:
        oauth.register(
            "google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            server_metadata_url=settings.google_discovery_url,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 15},
        )
    return oauth


def install(app: FastAPI, settings: Settings, *, key: bytes) -> None:
    """Register the routes and the flow cookie's middleware (`key`: derived for this purpose only)."""
    global _oauth
    _oauth = build_oauth(settings)
    app.add_middleware(OAuthSessions, secret_key=key.hex(), https_only=settings.secure_cookies)
    app.include_router(router)


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refused(reason: str, provider: str) -> Response:
    """The sign-in page, saying what went wrong; nothing else changes."""
    query = urlencode({"reason": reason, "provider": provider})
    return RedirectResponse(f"/login?{query}", status_code=303, headers=NO_STORE)


def _client(provider: str) -> StarletteOAuth2App | None:
    if _oauth is None or provider not in PROVIDERS:
        return None
    client: StarletteOAuth2App | None = _oauth.create_client(provider)
    return client


def _forget_flows(request: Request) -> None:
    """Only the newest flow counts: older states (and their verifiers and nonces) are dropped."""
    for key in [key for key in request.session if key.startswith("_state_") or key == FLOW]:
        del request.session[key]


@router.get("/auth/{provider}")
async def start(request: Request, provider: str, next: str | None = None, connect: str | None = None) -> Response:
    client = _client(provider)
    if client is None:
        return refused("not_configured", provider)
    flow: dict[str, str] = {"provider": provider, "next": safe_next(next) or "/"}
    if connect:
        try:
            session = await services().auth.authenticate(session_token(request))
        except Unauthenticated:
            return RedirectResponse("/login", status_code=303, headers=NO_STORE)
        flow.update(connect=str(session.user_id), next="/account")
    _forget_flows(request)
    request.session[FLOW] = flow
    redirect_uri = f"{services().settings.base_url}/auth/{provider}/callback"
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except httpx.HTTPError:
        _forget_flows(request)
        return refused("unavailable", provider)
    response.headers.update(NO_STORE)
    return response


@router.get("/auth/{provider}/callback")
async def finish(request: Request, provider: str) -> Response:
    client = _client(provider)
    if client is None:
        return refused("not_configured", provider)
    flow = request.session.get(FLOW)
    try:
        if not isinstance(flow, dict) or flow.get("provider") != provider:
            raise Refused("state")
        profile = await (github_profile if provider == "github" else google_profile)(client, request)
    except Refused as refusal:
        return refused(refusal.reason, provider)
    finally:
        _forget_flows(request)
    svc = services()
    current = session_token(request)
    try:
        if flow.get("connect"):
            try:
                session = await svc.auth.authenticate(current)
            except Unauthenticated:
                return refused("state", provider)
            if str(session.user_id) != flow["connect"]:
                return refused("state", provider)
            await svc.identities.connect(session.user_id, profile)
            return RedirectResponse(f"/account?connected={provider}", status_code=303, headers=NO_STORE)
        signed_in = await svc.identities.sign_in(profile, replacing=current, client=client_info(request))
    except SignInRefused as refusal:
        return refused(refusal.reason, provider)
    response = RedirectResponse(safe_next(flow.get("next")) or "/", status_code=303, headers=NO_STORE)
    set_session_cookie(response, signed_in.session_token, secure=svc.settings.secure_cookies)
    return response


async def _token(client: StarletteOAuth2App, request: Request, **options: Any) -> dict[str, Any]:
    """The provider's token answer for this callback, or why not (as a `Refused` reason)."""
    try:
        token: dict[str, Any] = await client.authorize_access_token(request, **options)
    except MismatchingStateError:
        raise Refused("state") from None
    except OAuthError as error:
        raise Refused("denied" if error.error == "access_denied" else "provider_error") from None
    except JoseError:
        raise Refused("bad_token") from None
    except httpx.HTTPError:
        raise Refused("unavailable") from None
    return token


async def github_profile(client: StarletteOAuth2App, request: Request) -> ProviderProfile:
    """GitHub's user: its id, and the profile's e-mail, else the primary verified one of `/user/emails`."""
    token = await _token(client, request)
    try:
        answer = await client.get("user", token=token)
        answer.raise_for_status()
        user = answer.json()
        email = user.get("email") or None
        if not email:
            listed = await client.get("user/emails", token=token)
            listed.raise_for_status()
            email = next(
                (
                    entry.get("email")
                    for entry in listed.json()
                    if isinstance(entry, dict) and entry.get("primary") is True and entry.get("verified") is True
                ),
                None,
            )
    except (httpx.HTTPError, ValueError, AttributeError):
        raise Refused("provider_error") from None
    if not isinstance(user, dict) or user.get("id") in (None, ""):
        raise Refused("provider_error")
    return ProviderProfile(
        provider="github",
        provider_id=str(user["id"]),
        email=email if isinstance(email, str) else None,
        display_name=str(user.get("name") or user.get("login") or "") or None,
        avatar_url=user.get("avatar_url") if isinstance(user.get("avatar_url"), str) else None,
    )


async def google_profile(client: StarletteOAuth2App, request: Request) -> ProviderProfile:
    """Google's ID token, checked in full: signature (JWKS), issuer, audience = our client id (Authlib
    alone accepts a foreign `aud` when `azp` is ours), expiry, nonce; `email_verified` must be true."""
    try:
        metadata = await client.load_server_metadata()
    except (httpx.HTTPError, ValueError):
        raise Refused("unavailable") from None
    claims_options = {
        "iss": {"essential": True, "values": [metadata.get("issuer")]},
        "aud": {"essential": True, "values": [client.client_id]},
        "exp": {"essential": True},
        "sub": {"essential": True},
        "nonce": {"essential": True},
    }
    token = await _token(client, request, claims_options=claims_options, leeway=60)
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):  # no ID token, or one that was never checked against a nonce
        raise Refused("bad_token")
    verified = claims.get("email_verified") is True
    return ProviderProfile(
        provider="google",
        provider_id=str(claims["sub"]),
        email=claims.get("email") if verified and isinstance(claims.get("email"), str) else None,
        display_name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        avatar_url=claims.get("picture") if isinstance(claims.get("picture"), str) else None,
    )
