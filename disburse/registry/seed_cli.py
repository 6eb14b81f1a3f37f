"""``disburse seed`` (built in the registry-import work)."""

import click
from flask.cli import with_appcontext


@click.command("seed")
@with_appcontext
def seed_cmd() -> None:
    """Generate realistic synthetic registry data."""
    raise click.ClickException("not built yet")
