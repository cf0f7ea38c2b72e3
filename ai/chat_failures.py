"""What a chat provider's refusals and failures become: one `ProviderError` whose message says, for the
person, what happened and what to do, with the provider's own words when it gave some, and never a key."""

from __future__ import annotations

from domain.chat import ProviderError

MAX_REASON_LENGTH = 300
REFUSING_STATUSES = (401, 403)


def reason_in(body: object) -> str:
    """The provider's own words in an error body (`{"error": {"message": ...}}` or `{"message": ...}`)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            text = " ".join(str(inner["message"]).split())
            return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"
    return ""


def scrub(text: str, *keys: str | None) -> str:
    for key in keys:
        if key:
            text = text.replace(key, "…")
    return text


def status_failure(title: str, status: int, reason: str, *, own_key: bool) -> ProviderError:
    """A provider's answer with an error status (before or during the stream)."""
    said = f": {reason}" if reason else ""
    if status in REFUSING_STATUSES or (status == 400 and "API key" in reason):
        whose = (
            "check your key under Account, AI keys"
            if own_key
            else "the server's key is not accepted: tell the operator"
        )
        return ProviderError(f"{title} refused the key ({status}{said}): {whose}.")
    if status == 429:
        return ProviderError(f"{title} is receiving too many requests (429{said}): wait a moment and retry.")
    if status >= 500:
        return ProviderError(f"{title} failed ({status}{said}): retry in a moment.")
    return ProviderError(f"{title} refused the request ({status}{said}).")


def timed_out(title: str) -> ProviderError:
    return ProviderError(f"{title} did not answer in time: retry in a moment.")


def broken(title: str, *, started: bool) -> ProviderError:
    if started:
        return ProviderError(f"{title} broke off in the middle of the answer: what arrived is kept: retry.")
    return ProviderError(f"{title} could not be reached: retry in a moment.")
