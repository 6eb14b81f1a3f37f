"""`disburse up --demo`: a province-sized demo. The seeding itself arrives with the registry issue."""

from __future__ import annotations


def ensure_demo() -> list[str]:
    """Seed the demo when the database is empty; return the lines to print (URL notes, demo log-ins)."""
    return ["Demo data: not available yet (arrives with the registry import issue)."]
