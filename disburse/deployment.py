"""What the production commands (``disburse web``, ``disburse worker``, ``disburse beat``) check before they start,
and beat's lock.

They never start embedded servers: the configuration must name PostgreSQL and Redis, both must answer and the
database's schema must be the code's (every migration applied, none from a newer release), or the command stops with
exit code 2 and a message in Vietnamese and English (:class:`Refused`). ``worker --queues``
takes only the app's queue names. Beat holds a Redis lock that expires (:data:`BEAT_LOCK_TTL_S`) for as long as it
runs, so that a second beat on the same Redis refuses to start; the beat process renews it
(``workers.beat.LockedScheduler``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.lock import Lock
from redis.retry import Retry

from config import Config, ConfigError, load_config
from disburse.background import TASK_QUEUES, QueueNames
from disburse.extensions import redis_client
from disburse.runtime import libpq_url

#: How long the preflight waits for PostgreSQL and for Redis to answer.
CONNECT_TIMEOUT_S = 3
#: Beat's lock in Redis: its key, and how long it outlives a beat that died without releasing it.
BEAT_LOCK_KEY = "disburse:beat:lock"
BEAT_LOCK_TTL_S = 60
#: The token of the lock ``disburse beat`` took, handed to the beat process it becomes.
BEAT_TOKEN_ENV = "DISBURSE_BEAT_LOCK_TOKEN"  # noqa: S105 - the variable's name, not a secret


@dataclass
class Refused(Exception):
    """The command cannot start: a message in both languages; exit code 2."""

    vi: str
    en: str

    def __str__(self) -> str:
        return f"{self.vi}\n{self.en}"


def queue_names() -> list[str]:
    """The queues a worker may consume: the app's named queues and any other queue a task is routed to."""
    named = QueueNames.all()
    return named + sorted(set(TASK_QUEUES.values()) - set(named))


def parse_queues(given: str | None) -> list[str]:
    """``"payments, provider-events"`` → the names, checked; None or empty: every queue."""
    known = queue_names()
    if not given or not given.strip():
        return known
    names = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        shown = ", ".join(unknown) or repr(given)
        raise Refused(
            f"Không có hàng đợi: {shown}. Các hàng đợi: {', '.join(known)}.",
            f"No such queue: {shown}. The queues are: {', '.join(known)}.",
        )
    return list(dict.fromkeys(names))


def configuration() -> Config:
    """The configuration, which must name both servers (no embedded ones in production commands)."""
    try:
        config = load_config()
    except ConfigError as exc:
        raise Refused(f"Cấu hình không dùng được: {exc.vi}", f"Unusable configuration: {exc.en}") from None
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not getattr(config, name)]
    if missing:
        names = ", ".join(missing)
        raise Refused(
            f"Chưa đặt {names}: lệnh này không tự chạy PostgreSQL/Redis (dùng `disburse up` khi phát triển).",
            f"{names} not set: this command starts no PostgreSQL/Redis of its own (`disburse up` does, "
            "for development).",
        )
    return config


def _where(url: str) -> str:
    """host:port/name of a URL, without its user or password."""
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    return f"{host}:{parts.port}{parts.path}" if parts.port else f"{host}{parts.path if parts.hostname else ''}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_database(url: str) -> None:
    """PostgreSQL answers, and its schema is the code's (:func:`check_schema`)."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S) as connection:
            applied = schema_revisions(connection)
    except Exception as exc:  # refused, unknown host, wrong password, no such database: all mean "cannot start"
        reason = _first_line(exc)
        name = urlsplit(url).path.lstrip("/")
        if name and f'database "{name}" does not exist' in str(exc):  # the server answered: it has no such database
            raise Refused(
                f"Máy chủ PostgreSQL ({_where(url)}, DATABASE_URL) chưa có cơ sở dữ liệu {name}: hãy tạo nó "
                f"(`createdb {name}`), rồi chạy `disburse db upgrade`.",
                f"The PostgreSQL server ({_where(url)}, DATABASE_URL) has no database {name}: create it "
                f"(`createdb {name}`), then run `disburse db upgrade`.",
            ) from None
        raise Refused(
            f"Không kết nối được PostgreSQL ({_where(url)}, DATABASE_URL): {reason}",
            f"Cannot reach PostgreSQL ({_where(url)}, DATABASE_URL): {reason}",
        ) from None
    check_schema(url, applied)


def schema_revisions(connection: Any) -> set[str]:
    """The migrations the database says it has (Alembic's ``alembic_version``); none for a database never upgraded."""
    found = connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return set()
    return {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}


def check_schema(url: str, applied: set[str]) -> None:
    """Refuse to start on a schema that is not the code's: behind it (a migration not applied: pages and tasks would
    fail on a missing column, one request at a time), or ahead of it (a newer release migrated the database)."""
    from alembic.script import ScriptDirectory

    from disburse import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    heads = set(script.get_heads())
    if applied == heads:
        return
    where, have, want = _where(url), ", ".join(sorted(applied)) or "—", ", ".join(sorted(heads))
    known = {revision.revision for revision in script.walk_revisions()}
    if applied - known:
        raise Refused(
            f"Cơ sở dữ liệu ({where}) đã được nâng cấp bởi một phiên bản mới hơn của disburse (lược đồ {have}, "
            f"mã này biết đến {want}): hãy chạy phiên bản mới đó.",
            f"The database ({where}) was upgraded by a newer disburse (schema {have}, this code knows up to {want}): "
            "run that release.",
        )
    if not applied:
        raise Refused(
            f"Cơ sở dữ liệu ({where}) chưa có lược đồ của disburse (mã cần {want}): hãy chạy `disburse db upgrade` "
            "trước.",
            f"The database ({where}) has no disburse schema yet (the code needs {want}): run `disburse db upgrade` "
            "first.",
        )
    raise Refused(
        f"Lược đồ cơ sở dữ liệu ({where}) chưa cập nhật (đang ở {have}, mã cần {want}): "
        "hãy chạy `disburse db upgrade` trước.",
        f"The database's schema ({where}) is behind the code (at {have}, the code needs {want}): "
        "run `disburse db upgrade` first.",
    )


def lock_client(config: Mapping[str, Any]) -> redis.Redis:
    """A Redis client for the preflight and beat's lock: short timeouts, no retries (one failure is an answer)."""
    return redis_client(
        config,
        socket_timeout=CONNECT_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def _redis_where(config: Mapping[str, Any]) -> str:
    sentinels = config.get("REDIS_SENTINELS") or ()
    if sentinels:
        listed = ",".join(f"{host}:{port}" for host, port in sentinels)
        return f"Sentinel {listed}, master {config['REDIS_SENTINEL_MASTER']}, REDIS_SENTINELS"
    return f"{_where(config['REDIS_URL'])}, REDIS_URL"


def check_redis(config: Mapping[str, Any]) -> None:
    client = lock_client(config)
    try:
        client.ping()
    except Exception as exc:  # refused, timed out, no master known to the sentinels, wrong password
        reason = _first_line(exc)
        raise Refused(
            f"Không kết nối được Redis ({_redis_where(config)}): {reason}",
            f"Cannot reach Redis ({_redis_where(config)}): {reason}",
        ) from None
    finally:
        client.close()


def settings(config: Config) -> dict[str, Any]:
    """The Redis settings of ``config`` as a mapping (what :func:`disburse.extensions.redis_client` reads)."""
    return {
        "REDIS_URL": config.REDIS_URL,
        "REDIS_SENTINELS": config.REDIS_SENTINELS,
        "REDIS_SENTINEL_MASTER": config.REDIS_SENTINEL_MASTER,
    }


def preflight() -> Config:
    """The configuration, once PostgreSQL and Redis have both answered."""
    config = configuration()
    check_database(str(config.DATABASE_URL))
    check_redis(settings(config))
    return config


# ------------------------------------------------------------------------------------------------- beat's lock


def beat_lock(client: redis.Redis, token: str | None = None) -> Lock:
    """Beat's lock (not bound to a thread: beat renews it from its own loop)."""
    lock = client.lock(BEAT_LOCK_KEY, timeout=BEAT_LOCK_TTL_S, blocking=False, thread_local=False)
    if token is not None:
        lock.local.token = token.encode()
    return lock


def beat_token() -> str:
    """A token for beat's lock that says whose it is: host and process (:func:`_beat_held` reads them back)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def hold_beat_lock(config: Config, token: str | None = None) -> str:
    """Take beat's lock for a beat still to come (``disburse up`` takes it before it starts anything, so that two
    ``up`` started together cannot both pass, and hands its token to its beat), or, given the ``token`` taken
    earlier, hold it for another :data:`BEAT_LOCK_TTL_S` (taken again if it ran out meanwhile and nobody took it).
    Another beat's: :class:`Refused`, naming it."""
    check_redis(settings(config))  # an unreachable Redis said as the other commands say it
    client = lock_client(settings(config))
    try:
        lock = beat_lock(client, token)
        if token is not None:
            with contextlib.suppress(redis.exceptions.LockNotOwnedError):
                lock.reacquire()
                return token
        token = token or beat_token()
        if lock.acquire(blocking=False, token=token):
            return token
        raise _beat_held(client)
    finally:
        client.close()


def keep_beat_lock(config: Config, token: str, every: float = BEAT_LOCK_TTL_S / 3) -> threading.Event:
    """Hold beat's lock ``token`` took (:func:`hold_beat_lock`) every ``every`` seconds until the returned event is
    set: ``disburse up`` holds it so while it migrates and seeds the demo (minutes, past the lock's life) and until
    its beat holds it itself. A renewal that fails (Redis away, the lock another's) is left to the next one and to
    the hold before the beat starts, which refuses."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Refused, redis.RedisError):
                hold_beat_lock(config, token)

    threading.Thread(target=keep, name="beat-lock-keeper", daemon=True).start()
    return stop


def release_beat_lock(config: Config, token: str) -> None:
    """Let go of beat's lock if ``token`` still holds it (a beat that never started, or died holding it); someone
    else's lock, or none, is left as it is."""
    client = lock_client(settings(config))
    try:
        with contextlib.suppress(redis.exceptions.LockError, redis.RedisError):
            beat_lock(client, token).release()
    finally:
        client.close()


def _beat_held(client: redis.Redis) -> Refused:
    """Who holds beat's lock and for how long yet, as the refusal to start another."""
    holder = client.get(BEAT_LOCK_KEY) or "?"
    left = client.ttl(BEAT_LOCK_KEY)
    host, _, rest = str(holder).partition(":")
    pid = rest.partition(":")[0] or "?"
    return Refused(
        f"Đã có một beat đang chạy (máy {host}, tiến trình {pid}); chỉ được chạy một beat. Nếu beat đó đã dừng, "
        f"khóa {BEAT_LOCK_KEY} hết hạn sau {left} giây.",
        f"Another beat is running (host {host}, process {pid}); there must be exactly one. If that beat has "
        f"stopped, its lock {BEAT_LOCK_KEY} expires in {left} s.",
    )
