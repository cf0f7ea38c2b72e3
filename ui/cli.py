"""The `codeloft` command. Domain errors become one `error:` line and exit status 2."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from domain.errors import CodeloftError
from domain.values import Tier
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

T = TypeVar("T")


def _settings() -> Settings:
    return load_settings()


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

    _run(lambda: serve_app(_settings()))


@cli.command()
def migrate() -> None:
    """Apply every pending migration to CODELOFT_DATABASE_URL (or the embedded SQLite file)."""
    from ui.app import database_url, prepare

    def action() -> None:
        settings = _settings()
        prepare(settings)
        typer.echo(f"Migrations applied: {database_url(settings).render_as_string(hide_password=True)}")

    _run(action)


@users.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The new user's e-mail address.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    tier: Annotated[Tier, typer.Option("--tier", help="Subscription tier.")] = Tier.FREE,
) -> None:
    """Create a local account and print a one-time sign-in link for it."""
    from ui.app import build_services, prepare, sign_in_url

    async def create(settings: Settings) -> str:
        services = await build_services(settings)
        try:
            user = await services.accounts.add_local_user(email, name=name, tier=tier)
            return sign_in_url(settings, await services.auth.issue_sign_in_link(user.id))
        finally:
            await services.close()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        typer.echo(f"Created {email}. One-time sign-in link (valid 24 hours):\n    {asyncio.run(create(settings))}")

    _run(action)


@users.command("link")
def user_link(email: Annotated[str, typer.Argument(help="The account's e-mail address.")]) -> None:
    """Print a new one-time sign-in link for an existing account."""
    from ui.app import build_services, prepare, sign_in_url

    async def issue(settings: Settings) -> str:
        services = await build_services(settings)
        try:
            user = await services.accounts.find_by_email(email)
            return sign_in_url(settings, await services.auth.issue_sign_in_link(user.id))
        finally:
            await services.close()

    def action() -> None:
        settings = _settings()
        prepare(settings)
        typer.echo(f"One-time sign-in link for {email} (valid 24 hours):\n    {asyncio.run(issue(settings))}")

    _run(action)


def main() -> None:
    cli(prog_name="codeloft")


if __name__ == "__main__":
    main()
