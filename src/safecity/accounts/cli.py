"""`safecity users ...`: manage accounts from the command line (the first admin is created here;
there is no default user or password)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from safecity.cli_settings import ConfigOpt, settings_from_option
from safecity.config import Settings

users_app = typer.Typer(
    help="User accounts (there is no default user: create the first admin here).", no_args_is_help=True
)

RoleOpt = Annotated[
    list[str],
    typer.Option(
        "--role",
        "-r",
        help="viewer, operator, supervisor, investigator, auditor, admin, field-unit (repeat for several)",
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin")
]


@contextlib.contextmanager
def _db(settings: Settings) -> Iterator[Session]:
    import getpass

    from safecity.governance.audit_changes import install_change_audit, set_actor
    from safecity.governance.audit_witness import install
    from safecity.store import make_engine, open_store
    from safecity.store.private_files import make_private

    url = settings.storage.resolved_database_url
    make_private(settings.storage.data_dir, url)  # `users create` often makes the database: 0600
    open_store(url).close()  # migrates the database to head
    sealer = install(url, settings.audit, settings.storage.data_dir, follow=False)
    install_change_audit()  # user changes made here are audited as the app audits them
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            set_actor(db, f"cli:{getpass.getuser()}")
            yield db
            db.commit()
    finally:
        engine.dispose()
        sealer.close()


def _read_password(stdin: bool) -> str:
    from safecity.accounts.passwords import MIN_PASSWORD_LENGTH

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True, confirmation_prompt=True
        )
    return str(password)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name (case-insensitive)")],
    role: RoleOpt,
    display_name: Annotated[str, typer.Option(help="Shown to other users")] = "",
    cameras: Annotated[
        str | None, typer.Option(help="Comma-separated camera ids this user may see (default: all)")
    ] = None,
    password_stdin: PasswordStdin = False,
    config: ConfigOpt = None,
) -> None:
    """Create a user; the password is asked twice (or read from stdin)."""
    from safecity.accounts.passwords import PasswordPolicyError, check_password_policy
    from safecity.accounts.users import UserExistsError, create_user

    password = _read_password(password_stdin)
    try:
        check_password_policy(password, username)
        with _db(settings_from_option(config)) as db:
            cams = None if cameras is None else [c for c in cameras.split(",") if c.strip()]
            user = create_user(db, username, password, role, display_name=display_name, cameras=cams)
            typer.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(user.roles)}")
    except (UserExistsError, PasswordPolicyError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@users_app.command("list")
def list_(config: ConfigOpt = None) -> None:
    """List users: id, name, roles, camera access, state."""
    from safecity.accounts.users import list_users

    with _db(settings_from_option(config)) as db:
        for u in list_users(db):
            cams = "all cameras" if u.cameras is None else ",".join(u.cameras) or "no cameras"
            state = "disabled" if u.disabled else "active"
            typer.echo(
                f"{u.id:>4} {u.username:<20} {','.join(u.roles):<28} {cams:<24} {state:<8} {u.display_name}"
            )


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
    config: ConfigOpt = None,
) -> None:
    """Set a user's password (ends their login sessions)."""
    from safecity.accounts.passwords import PasswordPolicyError
    from safecity.accounts.users import get_user_by_name
    from safecity.accounts.users import set_password as set_pw

    password = _read_password(password_stdin)
    with _db(settings_from_option(config)) as db:
        user = get_user_by_name(db, username)
        if user is None:
            raise _fail(f"no user {username!r}")
        try:
            set_pw(db, user, password)
        except PasswordPolicyError as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"password of {username} changed; their sessions ended")


def _set_disabled(config: Path | None, username: str, disabled: bool) -> None:
    from safecity.accounts.users import get_user_by_name, set_disabled

    with _db(settings_from_option(config)) as db:
        user = get_user_by_name(db, username)
        if user is None:
            raise _fail(f"no user {username!r}")
        set_disabled(db, user, disabled)
    typer.echo(f"{username} {'disabled (sessions ended, tokens refused)' if disabled else 'enabled'}")


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument()], config: ConfigOpt = None) -> None:
    """Disable a user: their sessions end and their API tokens stop working."""
    _set_disabled(config, username, True)


@users_app.command("enable")
def enable(username: Annotated[str, typer.Argument()], config: ConfigOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(config, username, False)
