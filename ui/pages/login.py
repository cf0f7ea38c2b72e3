"""The sign-in page: how to get a sign-in link, and why the last one did not work."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.identities import provider_name
from ui.components.accessible import page_style
from ui.context import services
from ui.oauth import safe_next
from ui.viewer import viewer

REASONS = {
    "used": "This sign-in link has already been used: each link works only once.",
    "expired": "This sign-in link has expired: links are valid for 24 hours.",
    "unknown": "This sign-in link is not valid.",
    "signed_out": "You are signed out.",
    "session_ended": "Your session was ended (signed out from another browser, or timed out): sign in again.",
    "session_reused": "Your session was ended because an old copy of its sign-in was used again (it may have "
    "been copied): sign in again.",
}
# Why a GitHub or Google sign-in (or connection) was refused; `{provider}` is the provider's name.
PROVIDER_REASONS = {
    "state": "The {provider} sign-in could not be matched to a sign-in started in this browser (its state was "
    "missing, expired or did not match), so nobody was signed in. Start again with the button below.",
    "denied": "You did not allow Codeloft to use your {provider} account, so nobody was signed in.",
    "provider_error": "{provider} did not complete the sign-in, so nobody was signed in. Try again.",
    "bad_token": "{provider}'s answer could not be verified (its ID token was not valid for Codeloft), "
    "so nobody was signed in.",
    "unavailable": "{provider} could not be reached, so nobody was signed in. Try again later.",
    "not_configured": "Sign-in with {provider} is not set up on this Codeloft.",
    "no_verified_email": "Your {provider} account has no verified e-mail address, so nobody was signed in: "
    "verify one at {provider}, then sign in again.",
    "email_taken": "The e-mail address of your {provider} account belongs to a Codeloft account that does not "
    "sign in with {provider} yet, so nobody was signed in. Sign in the way you usually do, then connect "
    "{provider} under Account → Sign-in methods.",
    "connected_elsewhere": "This {provider} account already signs in to another Codeloft account, "
    "so it was not connected.",
    "provider_taken": "Your account already has a {provider} account connected: disconnect it first "
    "to connect another.",
}

UNKNOWN_PROVIDER = "The sign-in did not complete, so nobody was signed in."


def message_for(reason: str | None, provider: str | None) -> str | None:
    """What the sign-in page says about `reason`; the provider's name only from the known ones."""
    if reason in PROVIDER_REASONS:
        if provider not in ("github", "google"):
            return UNKNOWN_PROVIDER
        return PROVIDER_REASONS[reason].format(provider=provider_name(provider))
    return REASONS.get(reason or "")


@ui.page("/login", title="Sign in · Codeloft")
async def login_page(
    request: Request, reason: str | None = None, provider: str | None = None, next: str | None = None
) -> RedirectResponse | None:
    if reason is None and await viewer(request) is not None:
        return RedirectResponse("/", status_code=303)
    page_style()
    with ui.column().classes("w-full items-center mt-16"), ui.card().classes("w-[32rem] p-6 gap-3"):
        ui.label("Sign in to Codeloft").classes("text-2xl font-bold")
        message = message_for(reason, provider)
        if message:
            kind = "text-green-700" if reason == "signed_out" else "text-red-700"
            ui.label(message).classes(f"{kind} font-medium").props('data-testid="sign-in-message"')
        providers = services().settings.sign_in_providers
        target = safe_next(next)
        for name in providers:
            query = f"?{urlencode({'next': target})}" if target else ""
            ui.link(f"Sign in with {provider_name(name)}", f"/auth/{name}{query}").props(
                f'data-testid="sign-in-{name}"'
            ).classes(
                "w-full text-center font-semibold text-white bg-blue-700 hover:bg-blue-800 "
                "rounded px-4 py-2 no-underline"
            )
        if providers:
            ui.label(
                "The owner of this Codeloft can also sign in with the one-time link that codeloft serve prints."
            ).classes("text-sm text-gray-600")
            return None
        ui.markdown(
            "Codeloft signs you in with a **one-time link**, like Jupyter's token URL.\n\n"
            "- On the machine that runs Codeloft, `codeloft serve` prints a fresh link each time it starts.\n"
            "- `codeloft user add EMAIL` creates an account and prints a link for it; "
            "`codeloft user link EMAIL` prints a new link for an existing account.\n\n"
            "Each link works once and expires after 24 hours."
        )
    return None
