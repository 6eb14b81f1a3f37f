"""Test fixtures on real servers.

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL`` when set, otherwise from the embedded servers
(disburse.runtime). The suite builds its own database, ``<name>_disburse_test_<pid>`` on the same server (the
given database is never touched), by running the migrations; each test runs inside a transaction that is rolled
back at the end (SQLAlchemy's "joining a session into an external transaction" recipe). Redis tests use database
15.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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

ROOT = Path(__file__).resolve().parent.parent


def _redis_test_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}?db=15"
    return urlunsplit((parts.scheme, parts.netloc, "/15", parts.query, ""))


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
    """Every test that starts a real Celery worker is marked ``worker``, so that a fast loop can leave them out:
    ``pytest -m "not worker and not up"``."""
    for item in items:
        if "celery_worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.worker)
