"""The `codeloft` command. Domain errors become one `error:` line and exit status 2."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from domain.entities import User
from domain.errors import CodeloftError
from domain.runs import Outcome
from domain.values import Tier
from ui.context import Services
from ui.settings import SETTINGS_HELP, Settings, load_settings

SETTINGS_EPILOG = "Settings (environment variables):\n\n" + "\n\n".join(
    f"{name}: {text}" for name, text in SETTINGS_HELP.items()
)

cli = typer.Typer(
    name="codeloft",
    help="Codeloft: a browser IDE with sandboxed runs, sharing and an AI assistant.",
    epilog=SETTINGS_EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
users = typer.Typer(help="Manage local accounts.", no_args_is_help=True)
cli.add_typer(users, name="user")
secrets = typer.Typer(help="Manage the secrets Codeloft stores encrypted.", no_args_is_help=True)
cli.add_typer(secrets, name="secrets")
extensions = typer.Typer(help="Publish extensions to the marketplace.", no_args_is_help=True)
cli.add_typer(extensions, name="ext")

T = TypeVar("T")


def _settings() -> Settings:
    return load_settings()


def _private() -> None:
    """Files this command creates (the database, its journals, the secret key) are its user's only."""
    os.umask(0o077)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except CodeloftError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@cli.command()
def serve() -> None:
    """Start the IDE: create DATA_DIR and the database if needed, apply migrations, create the local
    owner account, print a one-time sign-in link and serve until interrupted."""
    from ui.app import serve as serve_app

    _private()
    _run(lambda: serve_app(_settings()))


@cli.command()
def migrate() -> None:
    """Apply every pending migration to CODELOFT_DATABASE_URL (or the embedded SQLite file)."""
    from ui.app import database_url, prepare

    _private()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        typer.echo(f"Migrations applied: {database_url(settings).render_as_string(hide_password=True)}")

    _run(action)


async def _sign_in_link(settings: Settings, find_user: Callable[[Services], Awaitable[User]]) -> str:
    from ui.app import build_services, sign_in_url

    services = await build_services(settings)
    try:
        user = await find_user(services)
        return sign_in_url(settings, await services.auth.issue_sign_in_link(user.id))
    finally:
        await services.close()


def _print_link(intro: str, find_user: Callable[[Services], Awaitable[User]]) -> None:
    from ui.app import prepare

    _private()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        link = asyncio.run(_sign_in_link(settings, find_user))
        typer.echo(f"{intro} One-time sign-in link (valid 24 hours):\n    {link}")

    _run(action)


@users.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The new user's e-mail address.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    tier: Annotated[Tier, typer.Option("--tier", help="Subscription tier.")] = Tier.FREE,
) -> None:
    """Create a local account and print a one-time sign-in link for it."""
    _print_link(f"Created {email}.", lambda s: s.accounts.add_local_user(email, name=name, tier=tier))


@users.command("link")
def user_link(email: Annotated[str, typer.Argument(help="The account's e-mail address.")]) -> None:
    """Print a new one-time sign-in link for an existing account."""
    _print_link(f"Account {email}.", lambda s: s.accounts.find_by_email(email))


@users.command("set-tier")
def user_set_tier(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    tier: Annotated[Tier, typer.Argument(help="The plan: free, premium or enterprise.", case_sensitive=False)],
) -> None:
    """Put an account on a plan; its limits apply from the next request."""
    from ui.app import build_services, prepare

    _private()

    async def change(settings: Settings) -> User:
        services = await build_services(settings)
        try:
            return await services.quotas.set_tier(email, tier)
        finally:
            await services.close()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        user = asyncio.run(change(settings))
        typer.echo(f"{user.email} is on the {tier.value} plan now.")

    _run(action)


@extensions.command("publish")
def ext_publish(
    package: Annotated[Path, typer.Argument(help="The extension's ZIP (manifest.json at its root).", exists=True)],
    author: Annotated[
        str | None, typer.Option("--as", help="The author's e-mail address (default: the local owner).")
    ] = None,
) -> None:
    """Publish an extension (or a newer version of one of yours); it waits for an administrator's approval."""
    from domain.access import Actor
    from ui.app import build_services, prepare

    _private()

    async def publish(settings: Settings) -> str:
        services = await build_services(settings)
        try:
            accounts = services.accounts
            user = await (accounts.find_by_email(author) if author else accounts.ensure_local_owner())
            detail = await services.extensions.publish(Actor(user.id), package.read_bytes())
            return f"Published {detail.extension.name} {detail.versions[0].version} as {user.email}: pending approval."
        finally:
            await services.close()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        typer.echo(asyncio.run(publish(settings)))

    _run(action)


@secrets.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret (people's AI keys) under the first key of CODELOFT_SECRET_KEYS, all
    or none. To change keys: put the new key first and keep the old ones after it, run this, then drop
    the old ones. Prints how many secrets it re-encrypted."""
    from ui.app import rotate_secrets

    _private()

    def action() -> None:
        count = rotate_secrets(_settings())
        typer.echo(f"Re-encrypted {count} stored {'secret' if count == 1 else 'secrets'} under the first secret key "
                   "(CODELOFT_SECRET_KEYS); the keys after it can be dropped now.")  # fmt: skip

    _run(action)


@cli.command()
def worker(
    jobs: Annotated[int | None, typer.Option("--jobs", help="Runs at once (default: the CPU count).")] = None,
) -> None:
    """Take runs from the Redis queue (CODELOFT_REDIS_URL) and execute them in this machine's sandbox.
    Start as many workers, on as many machines, as you like; the web app then runs no code itself."""
    from ui.app import run_worker

    _private()
    _run(lambda: run_worker(_settings(), jobs=jobs))


@cli.command("run")
def run_files(
    files: Annotated[list[Path], typer.Argument(help="The files; the first one is run.", exists=True, dir_okay=False)],
    language: Annotated[str | None, typer.Option("--language", help="python, javascript, cpp or java.")] = None,
    stdin_file: Annotated[Path | None, typer.Option("--stdin-file", exists=True, dir_okay=False)] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="CPU seconds.")] = None,
    memory_limit: Annotated[int | None, typer.Option("--memory-limit", help="Megabytes.")] = None,
    runner: Annotated[str | None, typer.Option("--runner", help="bubblewrap, docker or local.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the result.")] = False,
) -> None:
    """Compile and run files in the configured sandbox, without the web app. Exit status 0 when the
    program succeeded, 1 when it did not (see the reason), 2 when the command itself could not run.
    Limits not given come from CODELOFT_RUN_LIMITS (default 5 s CPU, 256 MB)."""
    from ui.app import standalone_executor

    def action() -> None:
        settings = _settings()
        if runner is not None:
            settings = settings.model_copy(update={"runner": runner})
        limits = settings.run_defaults
        if time_limit is not None:
            limits = limits.with_changes(cpu_seconds=time_limit, wall_seconds=max(limits.wall_seconds, time_limit * 2))
        if memory_limit is not None:
            limits = limits.with_changes(memory_mb=memory_limit)
        contents = {path.name: path.read_bytes() for path in files}
        stdin = stdin_file.read_text() if stdin_file else ""

        async def go() -> Outcome:
            async def echo(stream: str, text: str) -> None:
                (sys.stdout if stream == "stdout" else sys.stderr).write(text)

            return await standalone_executor(settings).run_files(
                contents, files[0].name, limits=limits, stdin=stdin, language=language,
                on_output=None if as_json else echo,
            )  # fmt: skip

        outcome = asyncio.run(go())
        if as_json:
            typer.echo(json.dumps(dataclasses.asdict(outcome)))
        else:
            typer.echo(
                f"[{outcome.status.value}: {outcome.reason.value}, exit {outcome.exit_code}, "
                f"{outcome.time_ms} ms CPU, {outcome.wall_ms} ms wall, {outcome.memory_kb} KB]",
                err=True,
            )
        if outcome.status.value != "success":
            raise typer.Exit(1)

    _run(action)


def main() -> None:
    cli(prog_name="codeloft")


if __name__ == "__main__":
    main()
