"""Test fixtures on real servers.

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL`` when set, otherwise from the embedded servers
(disburse.runtime). The suite builds its own database, ``<name>_disburse_test_<pid>`` on the same server (the
given database is never touched), by running the migrations; each test runs inside a transaction that is rolled
back at the end (SQLAlchemy's "joining a session into an external transaction" recipe). Redis tests use database
15.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from config import Test
from disburse import create_app, runtime
from disburse.extensions import db
from tests.apps import restore_celery
from tests.real_worker import celery_worker  # noqa: F401 - the one session-wide worker, for every package
from tests.sandbox_bank import bank, make_bank, make_provider, receiver  # noqa: F401 - fixtures for every package

ROOT = Path(__file__).resolve().parent.parent


def _redis_test_url(url: str) -> str:
    """Redis database 15, unless the URL names another one than 0: then that one, so that test runs given their own
    database (two checkouts on one Redis) never take each other's tasks (a worker of one run would otherwise consume
    the other run's messages and find none of its rows)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        named = dict(pair.partition("=")[::2] for pair in parts.query.split("&") if pair).get("db", "0")
        return f"unix://{parts.path}?db={named if named not in ('', '0') else 15}"
    named = parts.path.strip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/{named if named not in ('', '0') else 15}", parts.query, ""))


@pytest.fixture(scope="session")
def services() -> Iterator[runtime.Services]:
    """The servers under test: given by the environment, or embedded under instance/."""
    services = runtime.ensure_services(runtime.default_instance_path(), db_name="postgres")
    yield services
    services.stop_owned_redis()


@pytest.fixture(scope="session")
def database_url(services: runtime.Services) -> Iterator[str]:
    base = runtime.database_name(services.database_url)
    # One database per test run, so that concurrent runs (two checkouts, CI beside a developer) never collide.
    url = runtime.with_database(services.database_url, f"{base}_disburse_test_{os.getpid()}")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    yield url
    runtime.drop_database(url)


@pytest.fixture(scope="session")
def redis_url(services: runtime.Services) -> str:
    return _redis_test_url(services.redis_url)


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str) -> Iterator[Flask]:
    os.environ["DISBURSE_ENV"] = "test"
    config = Test()
    config.DATABASE_URL = database_url
    config.REDIS_URL = redis_url
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even where the code under test commits."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own Session.get_bind() picks the engine and would ignore
        # bind=connection, so commits made by the code under test would escape the rollback.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class FreshRequestClient(FlaskClient):
    """The ``db_session`` fixture keeps one app context open for the whole test, so requests would share ``g``
    (and with it Flask-Login's and Flask-Babel's per-request caches). Real requests never do: start each one with
    an empty ``g``."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            for key in list(vars(g)):
                delattr(g, key)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    app.test_client_class = FreshRequestClient
    return app.test_client()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the session-wide Celery worker is marked ``worker``, so that a fast loop can leave them
    out: ``pytest -m "not worker and not up"``. ``item.fixturenames`` is the test's whole fixture closure, so a test
    that reaches ``celery_worker`` only through another fixture is marked too. A test that starts a worker process of
    its own (a private Redis, a sentinel, beat inside it) carries ``@pytest.mark.worker`` itself."""
    for item in items:
        if "celery_worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.worker)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """The rate limiter counts in Redis, across requests and tests alike: every test that uses the app starts with
    no counts, so that no test inherits another's (the keys are this run's own: see LIMIT_STORAGE_PREFIX)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
        from disburse.extensions import limiter

        limiter.reset()


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL on a port where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/15"


@pytest.fixture
def hanging_redis_url() -> Iterator[str]:
    """A Redis URL whose server accepts every connection and never answers (a hung Redis, a black-holed network):
    the outside world failing, played by a socket in a thread."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:  # the 0.1 s accept timeout: look at stop again
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/15"
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture
def app_on_redis(app: Flask, database_url: str) -> Iterator[Callable[[str], Flask]]:
    """Build another app on the test database and the Redis at a given URL (a dead or hanging one).

    The rate limiter and the default Celery app are one per process, and building an app rebinds them: they are
    bound back to the session's app afterwards."""

    built: list[Flask] = []

    def build(redis_url: str) -> Flask:
        config = Test()
        config.DATABASE_URL = database_url
        config.REDIS_URL = redis_url
        built.append(create_app(config))
        return built[-1]

    yield build
    from disburse.extensions import limiter

    for other in built:
        with other.app_context():
            db.engine.dispose()
    limiter.init_app(app)
    restore_celery(app)
