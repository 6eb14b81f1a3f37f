"""``disburse payments …``: batches, sending and status, bank files, cash at the office, reconciliation.

Each command is a thin shell over a service; the commands of each part live beside it and are added here."""

from __future__ import annotations

import click


@click.group("payments")
def payments_cli() -> None:
    """Payments: batches, providers, status files, cash lists and reconciliation."""
