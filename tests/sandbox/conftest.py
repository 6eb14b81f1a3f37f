"""The sandbox bank's fixtures live in :mod:`tests.sandbox_bank` (the payments tests use them too); its helpers are
re-exported here for this package's tests."""

from tests.sandbox_bank import OLD_SECRET, PAYER, SECRET, TOKEN, Bank, order

__all__ = ["OLD_SECRET", "PAYER", "SECRET", "TOKEN", "Bank", "order"]
