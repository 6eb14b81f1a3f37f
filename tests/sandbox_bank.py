"""The sandbox bank served over real HTTP on a free port (werkzeug in a thread), on the test database's ``sandbox``
schema (emptied before each test), and a tiny HTTP server playing our callback endpoint: the outside world.

Fixtures for every test package (``tests/conftest.py`` imports them): ``make_bank``, ``bank``, ``make_provider``,
``receiver``; and the helpers ``order``, ``TOKEN``, ``SECRET``, ``OLD_SECRET``, ``PAYER``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.serving import BaseWSGIServer, make_server

from disburse.payments.providers import PaymentOrder
from disburse.payments.sandbox_client import SandboxProvider
from disburse.sandbox.app import create_sandbox_app
from disburse.sandbox.bank import Sandbox, Settler
from disburse.sandbox.models import clear

TOKEN = "sandbox-test-token"
SECRET = "whsec_dGVzdC1vbmx5LXNhbmRib3gtd2ViaG9vay1zZWNyZXQ="
OLD_SECRET = "whsec_b2xkLXNhbmRib3gtd2ViaG9vay1zZWNyZXQ="
PAYER = "account:UIFUND@SANDBOX"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Our callback endpoint, played by a tiny HTTP server: it records every request and answers ``statuses`` in
    turn (then 204)."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} callbacks within {timeout} s, wanted {count}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rec = holder["r"]
            with rec.lock:
                rec.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = rec.statuses.pop(0) if rec.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/api/v1/providers/sandbox/events")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()
    server.server_close()


@dataclass
class Bank:
    app: Flask
    url: str
    sandbox: Sandbox

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.sandbox.engine.connect() as conn:
            return list(conn.execute(text(query), params).all())

    def tick(self) -> None:
        """One pass of the bank's clock: settle, return, deliver."""
        self.sandbox.settle_due()
        self.sandbox.return_due()
        self.sandbox.deliver_due()


@pytest.fixture
def make_bank(database_url: str) -> Iterator[Callable[..., Bank]]:
    """Start a sandbox bank over HTTP: ``make_bank(failure_rate=…, seed=…)``. Its schema is emptied first."""
    started: list[tuple[Flask, BaseWSGIServer, threading.Thread]] = []

    def start(**overrides: Any) -> Bank:
        settings: dict[str, Any] = {
            "delay_s": 0.0,
            "failure_rate": 0.0,
            "return_rate": 0.0,
            "webhook_secret": SECRET,
            "seed": 1,
            "token": TOKEN,
        }
        settings.update(overrides)
        settle = settings.pop("start_settler", False)
        interval = settings.pop("settle_interval_s", 0.05)
        app = create_sandbox_app(database_url, **settings)
        if not started:
            clear(app.extensions["sandbox"].engine)
        if settle:  # after the tables are emptied: TRUNCATE and a settle pass would wait for each other
            app.extensions["sandbox_settler"] = Settler(app.extensions["sandbox"], interval).start()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((app, server, thread))
        return Bank(app, f"http://127.0.0.1:{server.server_port}", app.extensions["sandbox"])

    yield start
    for app, server, thread in started:
        settler = app.extensions.get("sandbox_settler")
        if settler is not None:
            settler.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.extensions["sandbox"].engine.dispose()


@pytest.fixture
def bank(make_bank: Callable[..., Bank]) -> Bank:
    return make_bank()


@pytest.fixture
def make_provider(receiver: Receiver) -> Iterator[Callable[..., SandboxProvider]]:
    made: list[SandboxProvider] = []

    def build(bank: Bank | str, **overrides: Any) -> SandboxProvider:
        settings: dict[str, Any] = {"token": TOKEN, "webhook_secret": SECRET, "callback_url": receiver.url}
        settings.update(overrides)
        provider = SandboxProvider(bank.url if isinstance(bank, Bank) else bank, **settings)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


def order(
    reference: str, amount: int = 2_100_000, *, bank_code: str = "VCB", account: str = "0011001234567"
) -> PaymentOrder:
    return PaymentOrder(
        reference=reference,
        amount_vnd=amount,
        bank_code=bank_code,
        bank_account=account,
        payee_name="NGUYEN VAN AN",
        note=f"Ho tro NQ116 - {reference}",
    )
