"""Where a person is signed in: each browser's session, its timeouts and token rotation policy, and the
short description of a browser that the account page and the API show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.entities import UserSession

MAX_USER_AGENT = 512
MAX_ADDRESS = 64


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions live and how often their token changes (the server's settings)."""

    idle: timedelta = timedelta(days=7)
    """A session unused this long has ended."""
    lifetime: timedelta = timedelta(days=30)
    """A session ends this long after sign-in, used or not."""
    rotate_every: timedelta = timedelta(minutes=5)
    """A token older than this is replaced at the next page load or API call."""
    grace: timedelta = timedelta(seconds=30)
    """How long a replaced token is still accepted (requests already in flight); after that, presenting it
    ends the whole session (someone else may hold a copy)."""


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What a browser says it is, as the request shows it."""

    user_agent: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        agent = (self.user_agent or "").strip()[:MAX_USER_AGENT] or None
        address = (self.address or "").strip()[:MAX_ADDRESS] or None
        object.__setattr__(self, "user_agent", agent)
        object.__setattr__(self, "address", address)


def ended(session: UserSession, policy: SessionPolicy, now: datetime) -> bool:
    """Whether `session` has run out: past its absolute expiry or unused for the idle timeout."""
    return session.expires_at <= now or now - session.last_used_at >= policy.idle


_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/|\bOpera\b")),
    ("Firefox", re.compile(r"\bFirefox/|\bFxiOS/")),
    ("Chromium", re.compile(r"\bChromium/")),
    ("Headless Chrome", re.compile(r"HeadlessChrome/")),
    ("Chrome", re.compile(r"\bChrome/|\bCriOS/")),
    ("Safari", re.compile(r"\bSafari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"^python-|^Python/|\bhttpx\b|\baiohttp\b", re.IGNORECASE)),
)
_SYSTEMS = (
    ("Android", re.compile(r"\bAndroid\b")),
    ("iOS", re.compile(r"\biPhone\b|\biPad\b|\biPod\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)


def browser_name(user_agent: str | None) -> str:
    """A short name for a browser ("Chromium on Linux", "Safari on iOS") from its user agent."""
    if not user_agent:
        return "Unknown browser"
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "Unknown browser")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    return f"{browser} on {system}" if system else browser


@dataclass(frozen=True, slots=True)
class SessionView:
    """One of a person's sessions as they see it (never its token or hashes)."""

    id: UUID
    browser: str
    user_agent: str | None
    address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool
    """Whether it is the session the person is looking from."""


def session_view(session: UserSession, *, current_id: UUID | None) -> SessionView:
    return SessionView(
        id=session.id,
        browser=browser_name(session.user_agent),
        user_agent=session.user_agent,
        address=session.address,
        created_at=session.created_at,
        last_used_at=session.last_used_at,
        expires_at=session.expires_at,
        current=session.id == current_id,
    )
