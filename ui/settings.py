"""Configuration from `CODELOFT_*` environment variables (pydantic-settings)."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import platformdirs
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from domain.errors import InvalidInput
from domain.plans import Plan, parse_plans
from domain.sandbox import RunLimits
from domain.sessions import SessionPolicy
from domain.values import Tier

DEFAULT_AI_MODELS: dict[str, list[str]] = {
    "openai": ["gpt-4o-mini", "gpt-4o"],
    "gemini": ["gemini-2.5-flash", "gemini-2.5-pro"],
    "compatible": [],
}
"""The assistant's models when CODELOFT_AI_MODELS does not name them (a compatible server's must be named)."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("codeloft", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODELOFT_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    runner: Literal["auto", "bubblewrap", "docker", "local"] = "auto"
    docker_url: str | None = None
    docker_images: dict[str, str] = Field(
        default_factory=lambda: dict.fromkeys(("python", "javascript", "cpp", "java"), "codeloft-sandbox:latest")
    )
    secret_keys: str | None = None
    public_url: str | None = None
    run_limits: dict[str, float] = Field(default_factory=dict)
    public_docs: bool = True
    metrics_allow: str = "127.0.0.0/8 ::1/128"
    shutdown_grace: float = Field(default=20.0, ge=0, le=3600)
    metrics_token: str | None = None
    previews_per_person: int = Field(default=2, ge=1)
    previews_per_server: int = Field(default=20, ge=1)
    session_idle_minutes: int = Field(default=7 * 24 * 60, ge=1)
    session_max_days: int = Field(default=30, ge=1, le=3650)
    session_rotate_seconds: int = Field(default=300, ge=1)
    session_grace_seconds: int = Field(default=30, ge=0)
    openai_base_url: str = "https://api.openai.com/v1"
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    openai_api_key: str | None = None
    gemini_api_key: str | None = None
    compatible_base_url: str | None = None
    compatible_api_key: str | None = None
    ai_models: dict[str, list[str]] = Field(default_factory=dict)
    ai_context_tokens: int = Field(default=32_000, ge=4_096)
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_base_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    plans: Path | None = None
    admin_emails: str = ""
    instance_name: str | None = None
    log_format: Literal["text", "json"] = "text"

    @field_validator("openai_base_url", "gemini_base_url", mode="before")
    @classmethod
    def _provider_url(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[str(info.field_name)].default
        if isinstance(value, str) and not re.match(r"^https?://[^\s/]+", value.strip()):
            raise ValueError("give the provider's API address as http(s)://HOST[:PORT][/PATH]")
        return value.strip().rstrip("/") if isinstance(value, str) else value

    @field_validator("compatible_base_url", mode="before")
    @classmethod
    def _compatible_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not re.match(r"^https?://[^\s/]+", value.strip()):
            raise ValueError("give the server's OpenAI-compatible API address as http(s)://HOST[:PORT][/PATH]")
        return value.strip().rstrip("/") if isinstance(value, str) else value

    @field_validator("ai_models", mode="before")
    @classmethod
    def _models(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return {}
        if isinstance(value, dict):
            for provider, models in value.items():
                if provider not in DEFAULT_AI_MODELS:
                    raise ValueError(f"there is no AI provider {provider!r}; known are {', '.join(DEFAULT_AI_MODELS)}")
                if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() for m in models):
                    raise ValueError(f"{provider} must map to a list of model names (the default first)")
        return value

    @field_validator(
        "database_url", "redis_url", "secret_keys", "public_url", "docker_url", "instance_name", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "text"
        return value

    @field_validator(
        "github_client_id",
        "github_client_secret",
        "google_client_id",
        "google_client_secret",
        "openai_api_key",
        "gemini_api_key",
        "compatible_api_key",
        mode="before",
    )
    @classmethod
    def _blank_credential_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("github_base_url", "github_api_url", "google_discovery_url", mode="after")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("it must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def sign_in_providers(self) -> list[str]:
        """The providers people may sign in with: those whose client id and secret are both set."""
        configured = {
            "github": self.github_client_id and self.github_client_secret,
            "google": self.google_client_id and self.google_client_secret,
        }
        return [provider for provider, credentials in configured.items() if credentials]

    @property
    def chat_models(self) -> dict[str, list[str]]:
        """The assistant's providers and their models, the default first: OpenAI and Gemini always (people may
        bring their own keys), the OpenAI-compatible server when its address is set; CODELOFT_AI_MODELS
        replaces a provider's list (an empty one switches it off)."""
        offered = {
            name: [m.strip() for m in self.ai_models.get(name, models)] for name, models in DEFAULT_AI_MODELS.items()
        }
        if not self.compatible_base_url:
            offered.pop("compatible")
        return {name: models for name, models in offered.items() if models}

    @field_validator("plans", mode="before")
    @classmethod
    def _plans_file(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if value is not None:
            try:
                read_plans(Path(str(value)))
            except InvalidInput as error:
                raise ValueError(error.message) from None
        return value

    @field_validator("run_limits", mode="before")
    @classmethod
    def _limits(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return {}
        if isinstance(value, dict):
            try:
                RunLimits.parse(value, where="CODELOFT_RUN_LIMITS")
            except InvalidInput as error:
                raise ValueError(error.message.removeprefix("CODELOFT_RUN_LIMITS: ")) from None
        return value

    @property
    def run_defaults(self) -> RunLimits:
        """The limits of a run that asks for none."""
        return RunLimits.parse(self.run_limits, where="CODELOFT_RUN_LIMITS")

    @property
    def plan_table(self) -> dict[Tier, Plan] | None:
        """The plans with the operator's overrides (CODELOFT_PLANS), or None for the defaults."""
        return read_plans(self.plans) if self.plans else None

    @property
    def database(self) -> str:
        """`CODELOFT_DATABASE_URL`, or the embedded SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'codeloft.db'}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.session_idle_minutes),
            lifetime=timedelta(days=self.session_max_days),
            rotate_every=timedelta(seconds=self.session_rotate_seconds),
            grace=timedelta(seconds=self.session_grace_seconds),
        )

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def moderators(self) -> frozenset[str]:
        """The administrators' e-mail addresses (CODELOFT_ADMIN_EMAILS, comma- or space-separated)."""
        return frozenset(address.lower() for address in self.admin_emails.replace(",", " ").split())

    def key_list(self) -> list[str] | None:
        if not self.secret_keys:
            return None
        return [key.strip() for key in self.secret_keys.split(",") if key.strip()]

    def secret_values(self) -> list[str]:
        """Every secret these settings hold (keys, tokens, client secrets, passwords in URLs): never logged."""
        values = [*(self.key_list() or []), self.metrics_token, self.openai_api_key, self.gemini_api_key,
                  self.compatible_api_key, self.github_client_secret, self.google_client_secret]  # fmt: skip
        for url in (self.database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            values.append(unquote(password) if password else None)
        return [value for value in values if value]


def read_plans(path: Path) -> dict[Tier, Plan]:
    """The plan table with the overrides of a JSON or TOML file (`{"free": {"ai_requests_per_day": 50}}`)."""
    try:
        text = path.read_text(encoding="utf-8")
        overrides = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except OSError as error:
        raise InvalidInput(f"cannot read {path} ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise InvalidInput(f"{path} is not {kind} ({str(error).splitlines()[0]})") from None
    if not isinstance(overrides, dict):
        raise InvalidInput(f"{path} must hold an object of plans")
    return parse_plans(overrides, where=str(path))


def load_settings() -> Settings:
    """Read the environment; a bad value becomes one `InvalidInput` line naming the variable."""
    try:
        return Settings()
    except SettingsError as error:  # a JSON setting that is not JSON
        named = re.search(r'field "(\w+)"', str(error))
        name = f"CODELOFT_{named.group(1).upper()}" if named else "A CODELOFT_ setting"
        raise InvalidInput(f"{name} is not valid: it must be a JSON object.") from None
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]).upper() if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
        raise InvalidInput(f"CODELOFT_{field} is not valid: {message}.") from None


SETTINGS_HELP: dict[str, str] = {
    "CODELOFT_DATA_DIR": "where the SQLite file, secret key and workspace data live (default: the user data directory)",
    "CODELOFT_DATABASE_URL": "postgresql://USER@HOST:PORT/DB or sqlite:///PATH (default: DATA_DIR/codeloft.db)",
    "CODELOFT_REDIS_URL": "redis://HOST:PORT/DB for the shared cache (default: none, an in-process cache)",
    "CODELOFT_HOST": "address to listen on (default: 127.0.0.1)",
    "CODELOFT_PORT": "port to listen on (default: 8080)",
    "CODELOFT_RUNNER": "sandbox for user code: auto, bubblewrap, docker or local (default: auto)",
    "CODELOFT_DOCKER_URL": "Docker Engine API of the docker runner: unix:///PATH or tcp://HOST:PORT (default: none)",
    "CODELOFT_DOCKER_IMAGES": 'JSON language to image for the docker runner, e.g. {"python": "my/python:3"} '
    "(default: codeloft-sandbox:latest for every language)",
    "CODELOFT_SECRET_KEYS": "comma-separated Fernet keys, the first encrypts (default: generated into DATA_DIR)",
    "CODELOFT_RUN_LIMITS": 'JSON default limits of a run, e.g. {"cpu_seconds": 10, "memory_mb": 512}; names: '
    "cpu_seconds, wall_seconds, memory_mb, processes, output_bytes, file_size_mb "
    "(default: 5 s CPU, 10 s wall, 256 MB, 64 processes, 1 MB output, 10 MB files)",
    "CODELOFT_PUBLIC_URL": "the URL people use to reach Codeloft; https makes cookies Secure (default: none)",
    "CODELOFT_PREVIEWS_PER_PERSON": "web previews one person on the free plan may run at once; every plan "
    "allows at least this many (premium 5, enterprise 10) (default: 2)",
    "CODELOFT_PREVIEWS_PER_SERVER": "web previews running at once on this server, everybody's together (default: 20)",
    "CODELOFT_SESSION_IDLE_MINUTES": "a session unused this many minutes has ended (default: 10080, 7 days)",
    "CODELOFT_SESSION_MAX_DAYS": "a session ends this many days after sign-in, used or not (default: 30)",
    "CODELOFT_SESSION_ROTATE_SECONDS": "a session's cookie gets a new token at the first page load or API call "
    "this many seconds after the last one (default: 300)",
    "CODELOFT_SESSION_GRACE_SECONDS": "how long a replaced session token is still accepted; after that, using "
    "it ends the whole session (default: 30)",
    "CODELOFT_PUBLIC_DOCS": "false hides the API documentation at /docs and /openapi.json (default: true)",
    "CODELOFT_METRICS_ALLOW": "addresses or networks that may read /metrics without a token, when no proxy "
    "relayed the request (default: 127.0.0.0/8 ::1/128)",
    "CODELOFT_METRICS_TOKEN": "a bearer token that lets anyone who shows it read /metrics (default: none)",
    "CODELOFT_SHUTDOWN_GRACE": "seconds a stopping server (SIGTERM) or worker lets running programs finish before "
    "ending them as internal_error; meanwhile /readyz answers 503 and new runs are refused (default: 20)",
    "CODELOFT_OPENAI_BASE_URL": "the OpenAI API that people's keys are checked with and the assistant calls "
    "(default: https://api.openai.com/v1)",
    "CODELOFT_GEMINI_BASE_URL": "the Gemini API (google-genai calls /v1/... under it) that people's keys are checked "
    "with and the assistant calls (default: https://generativelanguage.googleapis.com)",
    "CODELOFT_OPENAI_API_KEY": "the server's own OpenAI key for the assistant, counted against each person's "
    "daily AI requests; a person's own key is used first (default: none, only people's own keys)",
    "CODELOFT_GEMINI_API_KEY": "the server's own Gemini key for the assistant, counted like the OpenAI one "
    "(default: none)",
    "CODELOFT_COMPATIBLE_BASE_URL": "an OpenAI-compatible server for the assistant (Ollama http://HOST:11434/v1, "
    "vLLM, llama.cpp, LM Studio); name its models in CODELOFT_AI_MODELS (default: none)",
    "CODELOFT_COMPATIBLE_API_KEY": "the key that server wants, if any (default: none)",
    "CODELOFT_AI_MODELS": 'JSON provider to the assistant\'s model names, the default first, e.g. {"openai": '
    '["gpt-4o-mini"], "compatible": ["llama3.2"]}; an empty list switches a provider off (default: openai '
    "gpt-4o-mini, gpt-4o; gemini gemini-2.5-flash, gemini-2.5-pro)",
    "CODELOFT_AI_CONTEXT_TOKENS": "the models' window in tokens: the open file, selection, run output and earlier "
    "messages are cut to fit it, leaving room for the answer (default: 32000)",
    "CODELOFT_GITHUB_CLIENT_ID": "client id of a GitHub OAuth app; with its secret, GitHub sign-in is on "
    "(callback: PUBLIC_URL/auth/github/callback) (default: none)",
    "CODELOFT_GITHUB_CLIENT_SECRET": "client secret of that GitHub OAuth app (default: none)",
    "CODELOFT_GITHUB_BASE_URL": "GitHub's web address, where authorize and token live; GitHub Enterprise's "
    "for it (default: https://github.com)",
    "CODELOFT_GITHUB_API_URL": "GitHub's API, for /user and /user/emails (default: https://api.github.com)",
    "CODELOFT_GOOGLE_CLIENT_ID": "client id of a Google OAuth client; with its secret, Google sign-in is on "
    "(callback: PUBLIC_URL/auth/google/callback) (default: none)",
    "CODELOFT_GOOGLE_CLIENT_SECRET": "client secret of that Google OAuth client (default: none)",
    "CODELOFT_GOOGLE_DISCOVERY_URL": "Google's OpenID configuration "
    "(default: https://accounts.google.com/.well-known/openid-configuration)",
    "CODELOFT_INSTANCE_NAME": "this instance's name, sent in the X-Codeloft-Instance header of every answer, to "
    "tell instances behind a load balancer apart (default: none, no header)",
    "CODELOFT_LOG_FORMAT": "text (warnings and errors, for a person) or json (one JSON object per line on "
    "standard error: time, level, logger, message, instance, request_id, user_id, workspace_id, run_id, and an "
    "access line per request) (default: text)",
    "CODELOFT_ADMIN_EMAILS": "e-mail addresses of the accounts that moderate the extension marketplace (approve, "
    "reject, verify, feature), comma-separated (default: none, nobody moderates)",
    "CODELOFT_PLANS": 'a JSON or TOML file overriding plan limits, e.g. {"free": {"ai_requests_per_day": 50}} '
    "(default: the built-in plans)",
}
