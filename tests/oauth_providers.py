"""Small local stand-ins for GitHub (OAuth 2: authorize, token, `/user`, `/user/emails`) and Google
(OpenID Connect: discovery, JWKS, authorize, token with an ID token signed by a test RSA key), served from
one thread, with knobs for every refusal Codeloft must make. The integration and browser tests start
`codeloft serve` with `FakeProviders.env()` pointing at them."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

GITHUB_CLIENT_ID = "codeloft-github-test"
GITHUB_CLIENT_SECRET = "github-test-secret"
GOOGLE_CLIENT_ID = "codeloft-google-test.apps.example"
GOOGLE_CLIENT_SECRET = "google-test-secret"
KEY_ID = "test-key-1"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


@dataclass
class Knobs:
    """What the providers do; `FakeProviders.reset()` restores these defaults between tests."""

    consent_page: bool = False
    """Show a page with an Authorize link (as a person sees it) instead of approving at once."""
    deny: bool = False
    """The person refuses consent: the callback gets `error=access_denied`."""
    github_user: dict[str, Any] = field(
        default_factory=lambda: {"id": 4242, "login": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}
    )
    github_emails: list[dict[str, Any]] = field(
        default_factory=lambda: [{"email": "ada@example.com", "primary": True, "verified": True}]
    )
    google_claims: dict[str, Any] = field(
        default_factory=lambda: {"sub": "g-1001", "email": "grace@example.com", "email_verified": True, "name": "Grace"}
    )
    id_token: dict[str, Any] = field(default_factory=dict)
    """Claims of Google's ID token to replace (a value None leaves the claim out): aud, azp, iss, nonce…"""
    expires_in: int = 3600
    """Seconds from now to the ID token's `exp` (negative: expired)."""
    bad_signature: bool = False
    """Sign the ID token with another key under the published key id."""


@dataclass
class Grant:
    provider: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    nonce: str | None


class FakeProviders:
    def __init__(self) -> None:
        self.knobs = Knobs()
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        self.stranger = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        self.grants: dict[str, Grant] = {}
        self.tickets: dict[str, str] = {}  # consent page ticket -> where approving leads
        self.tokens: dict[str, str] = {}  # access token -> provider
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, parameters) as received
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- set-up ---------------------------------------------------------------------------------

    def start(self) -> FakeProviders:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.knobs = Knobs()
            self.requests.clear()

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/google"

    def env(self, *, github: bool = True, google: bool = True) -> dict[str, str]:
        """The `CODELOFT_*` settings that point Codeloft at these providers."""
        env: dict[str, str] = {}
        if github:
            env.update(
                CODELOFT_GITHUB_CLIENT_ID=GITHUB_CLIENT_ID,
                CODELOFT_GITHUB_CLIENT_SECRET=GITHUB_CLIENT_SECRET,
                CODELOFT_GITHUB_BASE_URL=f"{self.base_url}/github",
                CODELOFT_GITHUB_API_URL=f"{self.base_url}/github-api",
            )
        if google:
            env.update(
                CODELOFT_GOOGLE_CLIENT_ID=GOOGLE_CLIENT_ID,
                CODELOFT_GOOGLE_CLIENT_SECRET=GOOGLE_CLIENT_SECRET,
                CODELOFT_GOOGLE_DISCOVERY_URL=f"{self.issuer}/.well-known/openid-configuration",
            )
        return env

    def received(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [params for seen, params in self.requests if seen == path]

    def grant_code(self, provider: str, redirect_uri: str, *, verifier: str, nonce: str | None = None) -> str:
        """An authorization code as the provider would issue it to a flow with `verifier` (e.g. someone
        else's sign-in, for a code-injection test)."""
        code = secrets.token_urlsafe(16)
        client_id = GITHUB_CLIENT_ID if provider == "github" else GOOGLE_CLIENT_ID
        with self.lock:
            self.grants[code] = Grant(provider, client_id, redirect_uri, s256(verifier), "S256", nonce)
        return code

    # --- the protocols ----------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, provider: str, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        expected = GITHUB_CLIENT_ID if provider == "github" else GOOGLE_CLIENT_ID
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != expected or not redirect_uri:
            return 400, {}, "unknown client or no redirect_uri"
        state = params.get("state")
        if self.knobs.deny:
            answer = {"error": "access_denied", "error_description": "The user denied the request."}
        else:
            code = secrets.token_urlsafe(16)
            with self.lock:
                self.grants[code] = Grant(
                    provider,
                    expected,
                    redirect_uri,
                    params.get("code_challenge"),
                    params.get("code_challenge_method"),
                    params.get("nonce"),
                )
            answer = {"code": code}
        if state is not None:
            answer["state"] = state
        target = f"{redirect_uri}?{urlencode(answer)}"
        if self.knobs.consent_page and not self.knobs.deny:
            ticket = secrets.token_urlsafe(8)
            with self.lock:
                self.tickets[ticket] = target
            name = "GitHub" if provider == "github" else "Google"
            page = (
                f"<!doctype html><html lang='en'><head><title>Authorize Codeloft · {name}</title></head><body>"
                f"<h1>{name}: authorize Codeloft?</h1>"
                f"<a href='/{provider}/approve?{urlencode({'ticket': ticket})}'>Authorize Codeloft</a>"
                f"</body></html>"
            )
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page
        return 302, {"Location": target}, ""

    def approve(self, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        with self.lock:
            target = self.tickets.pop(params.get("ticket", ""), None)
        if target is None:
            return 400, {}, "unknown ticket"
        return 302, {"Location": target}, ""

    def token(self, provider: str, params: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        secret = GITHUB_CLIENT_SECRET if provider == "github" else GOOGLE_CLIENT_SECRET
        with self.lock:
            grant = self.grants.pop(params.get("code", ""), None)
        if grant is None or grant.provider != provider or client_secret != secret or client_id != grant.client_id:
            return 400, {"error": "invalid_grant", "error_description": "Bad code or client."}
        if params.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "The redirect_uri does not match."}
        verifier = params.get("code_verifier")
        if grant.method != "S256" or not verifier or s256(verifier) != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed."}
        access_token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[access_token] = provider
        answer: dict[str, Any] = {"access_token": access_token, "token_type": "bearer", "scope": "read:user,user:email"}
        if provider == "google":
            answer.update(scope="openid email profile", expires_in=3599, id_token=self.id_token(grant))
        return 200, answer

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": GOOGLE_CLIENT_ID,
            "azp": GOOGLE_CLIENT_ID,
            "iat": now,
            "exp": now + self.knobs.expires_in,
            "nonce": grant.nonce,
            **copy.deepcopy(self.knobs.google_claims),
        }
        for name, value in self.knobs.id_token.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.stranger if self.knobs.bad_signature else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)

    def api(self, path: str, authorization: str | None) -> tuple[int, Any]:
        token = (authorization or "").partition(" ")[2]
        with self.lock:
            provider = self.tokens.get(token)
        if provider != "github":
            return 401, {"message": "Bad credentials"}
        if path == "/github-api/user":
            return 200, self.knobs.github_user
        if path == "/github-api/user/emails":
            return 200, self.knobs.github_emails
        return 404, {"message": "Not Found"}

    # --- HTTP -------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        providers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                headers = dict(headers or {})
                if isinstance(body, str):
                    data = body.encode()
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                else:
                    data = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, path: str, params: dict[str, str]) -> None:
                with providers.lock:
                    providers.requests.append((path, params))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                path = parts.path
                self._record(path, params)
                authorization = self.headers.get("Authorization")
                if path == "/github/login/oauth/authorize":
                    status, headers, body = providers.authorize("github", params)
                    self._send(status, body, headers)
                elif path == "/google/authorize":
                    status, headers, body = providers.authorize("google", params)
                    self._send(status, body, headers)
                elif path in ("/github/approve", "/google/approve"):
                    status, headers, body = providers.approve(params)
                    self._send(status, body, headers)
                elif path == "/google/.well-known/openid-configuration":
                    self._send(200, providers.discovery())
                elif path == "/google/jwks":
                    self._send(200, KeySet([providers.key]).as_dict(private=False))
                elif path.startswith("/github-api/"):
                    status, answer = providers.api(path, authorization)
                    self._send(status, answer)
                else:
                    self._send(404, html.escape(path))

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                params = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                self._record(parts.path, params)
                authorization = self.headers.get("Authorization")
                if parts.path == "/github/login/oauth/access_token":
                    status, answer = providers.token("github", params, authorization)
                    self._send(200 if "error" in answer else status, answer)  # GitHub answers errors with 200
                elif parts.path == "/google/token":
                    status, answer = providers.token("google", params, authorization)
                    self._send(status, answer)
                else:
                    self._send(404, html.escape(parts.path))

        return Handler


@contextmanager
def running_providers() -> Iterator[FakeProviders]:
    providers = FakeProviders().start()
    try:
        yield providers
    finally:
        providers.stop()
