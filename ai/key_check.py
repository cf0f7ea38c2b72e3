"""Checking a person's key with its provider before it is stored, through the providers' own client
libraries: OpenAI lists the models (`GET /models`, the key as a bearer token), Gemini too
(google-genai 3.x: `GET /v1/models`, the key in `x-goog-api-key`). A refusal becomes `InvalidInput`,
a provider that cannot be reached `Unavailable`; the key is never part of either message."""

from __future__ import annotations

import httpx
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from domain.ai_keys import PROVIDER_TITLES, Provider
from domain.errors import InvalidInput, Unavailable

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
CHECK_TIMEOUT_SECONDS = 15.0
REFUSING_STATUSES = (400, 401, 403)
"""What a provider answers a key it does not take: Gemini 400 API_KEY_INVALID, OpenAI 401, either 403."""


def refused(provider: Provider, status: int, reason: str) -> InvalidInput:
    why = f"{status} {reason}".strip()
    return InvalidInput(
        f"{PROVIDER_TITLES[provider]} refused this key ({why}): check that you copied the whole key and that "
        "it is still valid. Nothing was stored."
    )


def unreachable(provider: Provider, reason: str) -> Unavailable:
    return Unavailable(
        f"{PROVIDER_TITLES[provider]} could not be asked whether it takes this key ({reason}). "
        "Nothing was stored: try again later."
    )


class ProviderKeyChecker:
    """`AIKeyChecker` over the real providers (or whatever answers at the configured base URLs)."""

    def __init__(
        self,
        *,
        openai_base_url: str = DEFAULT_OPENAI_BASE_URL,
        gemini_base_url: str = DEFAULT_GEMINI_BASE_URL,
        timeout: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self.openai_base_url = openai_base_url
        self.gemini_base_url = gemini_base_url
        self.timeout = timeout

    async def check(self, provider: str, key: str) -> None:
        chosen = Provider(provider)
        if chosen is Provider.OPENAI:
            await self._check_openai(key)
        else:
            await self._check_gemini(key)

    async def _check_openai(self, key: str) -> None:
        client = openai.AsyncOpenAI(
            api_key=key,
            base_url=self.openai_base_url,
            organization=None,
            project=None,
            max_retries=0,
            timeout=self.timeout,
        )
        try:
            async with client:
                await client.models.list()
        except openai.APIStatusError as error:
            code = error.code if isinstance(error.code, str) else ""
            if error.status_code in REFUSING_STATUSES:
                raise refused(Provider.OPENAI, error.status_code, code) from None
            raise unreachable(Provider.OPENAI, f"it answered {error.status_code}") from None
        except openai.APIConnectionError as error:
            reason = "no answer in time" if isinstance(error, openai.APITimeoutError) else "no connection"
            raise unreachable(Provider.OPENAI, reason) from None

    async def _check_gemini(self, key: str) -> None:
        options = genai_types.HttpOptions(
            base_url=self.gemini_base_url,
            timeout=int(self.timeout * 1000),  # milliseconds
            retry_options=genai_types.HttpRetryOptions(attempts=1),  # no silent retry of a refused key
        )
        try:
            # Our own httpx client: google-genai would otherwise pick aiohttp when it is installed, whose
            # connection errors are other classes.
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                options.httpx_async_client = http
                client = genai.Client(api_key=key, vertexai=False, http_options=options)
                await client.aio.models.list(config={"page_size": 1})
        except genai_errors.APIError as error:
            if error.code in REFUSING_STATUSES:
                raise refused(Provider.GEMINI, error.code, _gemini_reason(error)) from None
            raise unreachable(Provider.GEMINI, f"it answered {error.code}") from None
        except httpx.TimeoutException:
            raise unreachable(Provider.GEMINI, "no answer in time") from None
        except httpx.TransportError:
            raise unreachable(Provider.GEMINI, "no connection") from None


def _gemini_reason(error: genai_errors.APIError) -> str:
    """Gemini's reason for a refusal (`API_KEY_INVALID`), else its status (`PERMISSION_DENIED`)."""
    details = error.details.get("error", {}).get("details", []) if isinstance(error.details, dict) else []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return error.status or ""
