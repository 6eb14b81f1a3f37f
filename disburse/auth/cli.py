"""``disburse users create`` and ``disburse tokens create``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from disburse.auth import service
from disburse.auth.models import ROLES
from disburse.extensions import db

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", "full_name", default="", help="Full name shown in the UI.")
@click.option("--district", help="3-digit GSO district code (caseworkers).")
@click.option("--employer", "employer_unit", help="Unit code (employer users).")
@click.option("--province", help="2-digit GSO province code (supervisors; none = national).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(
    email: str,
    role: str,
    full_name: str,
    district: str | None,
    employer_unit: str | None,
    province: str | None,
    password_stdin: bool,
) -> None:
    """Create a user with a role and the scope it needs."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user = service.create_user(
            email,
            role,
            password=password,
            full_name=full_name,
            district=district,
            province=province,
            employer_unit=employer_unit,
        )
    except service.UserError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="", help="A label to tell tokens apart.")
def create_token(email: str, name: str) -> None:
    """Create an API token and print it (it is shown only this once)."""
    user = service.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    token = service.create_token(user, name)
    db.session.commit()
    click.echo(token)
