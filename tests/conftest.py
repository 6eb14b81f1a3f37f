"""Test fixtures on real servers.

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL`` when set, otherwise from the embedded servers
(disburse.runtime). The suite builds its own database, ``<name>_disburse_test_<pid>`` on the same server (the
given database is never touched), by running the migrations; each test runs inside a transaction that is rolled
back at the end (SQLAlchemy's "joining a session into an external transaction" recipe).

The README's command runs the suite in two processes (pytest-xdist, one per core). Each process has its own test
database (by pid), its own three Redis databases (``redis_url``: the session worker's broker; ``own_redis_url``: the
broker of the modules that start workers of their own; ``idle_redis_url``: where the tests that run no worker send
their tasks), and, through ``DISBURSE_INSTANCE``, its own instance folder: exports, uploads and bank files, and, with
no ``DATABASE_URL`` / ``REDIS_URL``, its own embedded servers.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from werkzeug.http import parse_options_header

from config import Test
from disburse import create_app, runtime
from disburse.extensions import db
from tests.apps import celery_on, restore_celery
from tests.real_worker import celery_worker  # noqa: F401 - the one session-wide worker, for every package
from tests.sandbox_bank import bank, make_bank, make_provider, receiver  # noqa: F401 - fixtures for every package

ROOT = Path(__file__).resolve().parent.parent

# Property tests check what is true, never how fast: Hypothesis's default 200 ms deadline per example failed a pure
# function's test (parse_day) on a machine busy with two suites at once. Speed is measured in bench/.
settings.register_profile("disburse", deadline=None)
if not os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile("disburse")


#: The pytest-xdist process running this conftest ("gw0", "gw1", ...), or None in a plain single-process run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
#: Redis databases each test process takes: the session worker's broker, the one modules with workers of their own
#: share (one module at a time: each empties it before and after), and the one no worker reads (idle_redis_url).
REDIS_DATABASES_PER_PROCESS = 3

if XDIST_WORKER:
    # Set before any Config is built, so that the app, the worker processes it starts and the embedded servers all
    # use this process's own folder.
    os.environ["DISBURSE_INSTANCE"] = str(runtime.default_instance_path() / f"test-{XDIST_WORKER}")


def _redis_test_url(url: str, slot: int) -> str:
    """This test process's Redis database number ``slot`` (0 to 2), counted down from 15, or from the database the URL
    names if not 0: process k takes 15 - 3k, 14 - 3k and 13 - 3k. Test runs given their own databases (two checkouts
    on one Redis), like the processes of one run, never take each other's tasks (a worker of one would otherwise
    consume the other's messages and find none of its rows)."""
    parts = urlsplit(url)
    query = dict(pair.partition("=")[::2] for pair in parts.query.split("&") if pair)
    named = query.get("db", "0") if parts.scheme == "unix" else parts.path.strip("/")
    base = int(named) if named not in ("", "0") else 15
    number = base - REDIS_DATABASES_PER_PROCESS * int((XDIST_WORKER or "gw0").removeprefix("gw")) - slot
    if number < 1:
        raise pytest.UsageError(
            f"Redis database {base} and those below it are too few for this many test processes: run fewer (-n)"
        )
    if parts.scheme == "unix":
        return f"unix://{parts.path}?db={number}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, ""))


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
    """The session worker's broker (tests/real_worker.py) and the app's."""
    return _redis_test_url(services.redis_url, 0)


@pytest.fixture(scope="session")
def own_redis_url(services: runtime.Services) -> str:
    """The broker of a module that starts workers of its own, so that the session worker never takes their tasks.
    One module uses it at a time; each empties it before and after."""
    return _redis_test_url(services.redis_url, 1)


@pytest.fixture(scope="session")
def idle_redis_url(services: runtime.Services) -> str:
    """Where the tests that run no worker send their tasks (:func:`_tasks_where_no_worker_reads`)."""
    return _redis_test_url(services.redis_url, 2)


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


#: Tables whose rows tests make and must remove (or roll back): a row left behind shows in a later test's page or
#: count, in whichever process runs the tests after it (the audit log of another test's token did).
LEFT_BEHIND_WATCHED = (
    "programs",
    "users",
    "api_tokens",
    "employers",
    "employees",
    "claims",
    "claim_events",
    "payments",
    "payment_batches",
    "provider_events",
    "recoveries",
    "recovery_events",
    "audit_log",
    "jobs",
)


def delete_committed_program(program_id: int, employer_id: int, *, first: Sequence[str] = ()) -> None:
    """Remove what a test committed for real of one programme (to run code on connections of its own, which the
    ``db_session`` rollback cannot reach): ``first``, more tables of the programme's rows (by ``program_id``), then
    its claims (made without events, so that they can be deleted), the rollup counters they fed, the one unit's
    employees, the unit and the programme; in a transaction of its own."""
    with db.engine.begin() as conn:
        for table in (*first, "claims", "claim_counters", "district_counters", "province_counters"):
            conn.execute(text(f"DELETE FROM {table} WHERE program_id = :p"), {"p": program_id})
        conn.execute(text("DELETE FROM employees WHERE employer_id = :e"), {"e": employer_id})
        conn.execute(text("DELETE FROM employers WHERE id = :e"), {"e": employer_id})
        conn.execute(text("DELETE FROM programs WHERE id = :p"), {"p": program_id})


def _row_counts() -> dict[str, int]:
    return {
        table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in LEFT_BEHIND_WATCHED
    }


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every row a test commits is removed by that test or its fixtures (module-wide ones included): checked once,
    when the process has run its tests."""
    if not any("app" in item.fixturenames for item in request.session.items):
        yield
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        before = _row_counts()
        db.session.remove()
    yield
    with app.app_context():
        after = _row_counts()
        db.session.remove()
    left = {table: after[table] - before[table] for table in before if after[table] != before[table]}
    assert not left, f"tests left rows behind (table: rows more than at the start): {left}"


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
def paying_clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The programme clock on a day of NQ116's payment period, for tests that approve or pay: the real clock is years
    past its last payable day, after which nothing is approved and nothing paid (docs/rules.md, section 4). A test
    that needs another day sets DISBURSE_TODAY itself."""
    from tests.factories import PAYING_DAY

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    app.test_client_class = FreshRequestClient
    return app.test_client()


#: The password of the users the tests sign in through the sign-in form (``create_user(..., password=PASSWORD)``).
PASSWORD = "mat-khau-rat-dai"


def sign_in(client: FlaskClient, user: Any, locale: str = "vi") -> None:
    """Sign ``user`` (made with :data:`PASSWORD`) in on ``client`` through the real sign-in form, their pages in
    ``locale``. The locale is committed first: a view that rolls back a refused change must not take it with it."""
    user.locale = locale
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def downloaded_name(response: Any) -> str:
    """The file name a download's ``Content-Disposition`` gives (quoted or not, as HTTP allows)."""
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment", disposition
    return str(options["filename"])


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


#: The app's own Celery, one like it that sends to ``idle_redis_url``, and a client of that database.
IdleCelery = tuple[Celery, Celery, redis.Redis]


@pytest.fixture(scope="session")
def _idle_celery(app: Flask, idle_redis_url: str) -> Iterator[IdleCelery]:
    client = redis.Redis.from_url(idle_redis_url)
    yield app.extensions["celery"], celery_on(app, idle_redis_url, "test-idle-broker"), client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _tasks_where_no_worker_reads(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that runs no worker sends its tasks to a Redis database no worker reads, emptied before it.

    Its commits (savepoints on ``db_session`` too) send the tasks they asked for, as real ones do. On the session
    worker's broker they waited until a later test started that worker, which then ran them against the database
    with another test's rows in it (``payments.apply_events`` applies every stored callback, ``payments.send``
    takes its batch's lock): tests of payments failed at random, in another module than the one that sent them.
    Tests marked ``worker`` (the session worker's, or workers of their own) and ``up`` keep their brokers; so does a
    test whose module already pointed the app's Celery elsewhere. A test that counts what it sent reads
    ``queued_messages`` or this database (``idle_redis_url``)."""
    node = request.node
    if "app" not in request.fixturenames or node.get_closest_marker("worker") or node.get_closest_marker("up"):
        yield
        return
    app: Flask = request.getfixturevalue("app")
    own, idle, client = request.getfixturevalue("_idle_celery")
    if app.extensions["celery"] is not own:
        yield
        return
    client.flushdb()
    app.extensions["celery"] = idle
    try:
        yield
    finally:
        app.extensions["celery"] = own
        restore_celery(app)  # a test that built another app made the idle one current (restore_celery) meanwhile


@pytest.fixture
def broker(
    app: Flask, idle_redis_url: str, _idle_celery: IdleCelery, _tasks_where_no_worker_reads: None
) -> Iterator[redis.Redis]:
    """A client of the Redis database this test's tasks wait in, no worker taking them (:func:`waiting` reads them),
    with the app's ``REDIS_URL`` on it for the test, so that what reads queue lengths (the verification sweep, the
    health page) counts them there."""
    _own, idle, client = _idle_celery
    assert app.extensions["celery"] is idle, "a test that runs a worker has no idle broker"
    original = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = idle_redis_url
    try:
        yield client
    finally:
        app.config["REDIS_URL"] = original


@pytest.fixture(autouse=True)
def _signals_left_unblocked() -> Iterator[None]:
    """A test that leaves signals blocked in this process (code run in-process that holds SIGTERM back, as ``disburse
    beat`` does before it becomes Celery) fails: every process the later tests start would inherit the mask, ignore
    its SIGTERM and wait out its kill timeout."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    yield
    after = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    if after != before:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        names = sorted(signal.Signals(number).name for number in after - before)
        pytest.fail(f"the test left signals blocked in the test process: {', '.join(names)}")


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
