"""The configured providers, by name: what the workers, the callbacks endpoint and the commands use.

``sandbox`` and ``bankfile`` are built from the app's configuration; ``cash`` is paid at the office. Only providers
that call us back take callbacks (:data:`CALLBACK_PROVIDERS`), and only those that can be asked for a status are
polled by the status sweeper (:data:`POLLED_PROVIDERS`): a bank file says nothing until the bank's next file comes.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import text

from disburse.extensions import db
from disburse.payments.providers import Provider

CALLBACK_PROVIDERS = frozenset({"sandbox"})
POLLED_PROVIDERS = frozenset({"sandbox"})


class UnknownProvider(LookupError):
    pass


def _build(name: str, config: Any) -> Provider:
    if name == "sandbox":
        from disburse.payments.sandbox_client import SandboxProvider

        return SandboxProvider.from_config(config)
    if name == "bankfile":
        from disburse.payments.bankfile import BankFileProvider, BankFileSettings

        return BankFileProvider(BankFileSettings.from_config(config))
    if name == "cash":
        from disburse.payments.cash import CashProvider

        return CashProvider()
    raise UnknownProvider(f"no payment provider named {name!r}")


def provider_for(name: str) -> Provider:
    """The provider ``name``, built once per app (a sandbox client keeps its HTTP connections)."""
    cache: dict[str, Provider] = current_app.extensions.setdefault("payment_providers", {})
    if name not in cache:
        cache[name] = _build(name, current_app.config)
    return cache[name]


_STILL_SENT = text("SELECT EXISTS (SELECT 1 FROM payments WHERE state = 'sent' AND provider = :provider)")


def still_waiting_on(name: str) -> bool:
    """Whether payments sent through ``name`` still wait for its news: a provider the programme no longer pays
    through (``DISBURSE_PAYMENT_PROVIDER`` changed) is still chased and heard until they settle."""
    return bool(db.session.scalar(_STILL_SENT, {"provider": name}))


# The index on (provider, settled_at) answers the second half at once.
_HAS_NEWS_TO_COME = text(
    "SELECT EXISTS (SELECT 1 FROM payments WHERE state = 'sent' AND provider = :provider)"
    " OR EXISTS (SELECT 1 FROM payments WHERE provider = :provider AND settled_at IS NOT NULL)"
)


def may_still_call_back(name: str) -> bool:
    """Whether ``name`` may still have news for us although the programme no longer pays through it: payments sent
    through it wait for their result, or payments it settled may yet come back (a return, weeks later, must not be
    turned away: the claim would show paid while the money is back at the fund)."""
    return bool(db.session.scalar(_HAS_NEWS_TO_COME, {"provider": name}))


def providers_heard() -> set[str]:
    """The providers whose news we take: the one that pays bank accounts now, and any other with payments sent."""
    current = bank_provider_name()
    return {name for name in CALLBACK_PROVIDERS | POLLED_PROVIDERS if name == current or still_waiting_on(name)}


def bank_provider_name() -> str | None:
    """The provider that pays bank accounts: ``DISBURSE_PAYMENT_PROVIDER`` (sandbox or bankfile); None when the
    programme pays only in cash (bank claims then wait)."""
    name = str(current_app.config["DISBURSE_PAYMENT_PROVIDER"])
    return None if name == "cash" else name
