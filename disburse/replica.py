"""Reading the read-only pages from a PostgreSQL read replica (``DATABASE_REPLICA_URL``), falling back to the
primary.

Mark a read-only view with ``@reads_replica`` (under its role decorator, so that the signed-in user is loaded as
usual), or wrap read-only work in ``with reading_replica():``. While it runs, every statement of ``db.session``
goes to the replica's engine (:class:`disburse.extensions.RoutingSession`); a flush still goes to the primary, but a
marked page should not write at all (a real replica refuses writes). Without ``DATABASE_REPLICA_URL`` both do
nothing.

Before each use the replica is asked for a connection (from its pool: usually no round trip beyond the pool's
pre-ping). If it cannot be reached within ``REPLICA_CONNECT_TIMEOUT_S``, the page reads the primary, a warning is
logged, and the primary is used for the next ``REPLICA_RETRY_AFTER_S`` seconds without asking again, so that a
replica that is down costs one request a connect timeout, not every request. A replica's data lags the primary by
its replication delay (usually well under a second): only pages for which that is fine should read it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine

from disburse.extensions import replica_engine
from disburse.runtime import connect_args, sqlalchemy_url

log = logging.getLogger(__name__)

#: libpq's smallest connect timeout (a smaller one counts as 2 s).
REPLICA_CONNECT_TIMEOUT_S = 2
#: After a failed connection, read the primary for this long before trying the replica again.
REPLICA_RETRY_AFTER_S = 30.0

F = TypeVar("F", bound=Callable[..., Any])


class _Replica:
    """The replica's engine of one app, and until when it is considered down (per process)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(
            sqlalchemy_url(url),
            pool_pre_ping=True,
            connect_args=connect_args(REPLICA_CONNECT_TIMEOUT_S),
        )
        self.down_until = 0.0
        self.lock = threading.Lock()

    def usable(self) -> bool:
        if time.monotonic() < self.down_until:
            return False
        try:
            with self.engine.connect():
                pass
        except Exception as exc:  # unreachable, refused, wrong password: the primary answers instead
            with self.lock:
                self.down_until = time.monotonic() + REPLICA_RETRY_AFTER_S
            log.warning(
                "read replica unreachable (%s); reading the primary for %.0f s",
                type(exc).__name__,
                REPLICA_RETRY_AFTER_S,
                extra={"replica_error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__},
            )
            return False
        return True


def init_app(app: Flask) -> None:
    """Make the replica's engine when ``DATABASE_REPLICA_URL`` is set (no connection is made here)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if url:
        app.extensions["disburse_replica"] = _Replica(url)


def dispose(app: Flask) -> None:
    found: _Replica | None = app.extensions.get("disburse_replica")
    if found is not None:
        found.engine.dispose()


@contextmanager
def reading_replica() -> Iterator[bool]:
    """Send ``db.session``'s statements to the replica while the block runs; yields whether the replica is used
    (False: no replica configured, or it is unreachable and the primary answers)."""
    found: _Replica | None = current_app.extensions.get("disburse_replica")
    if found is None or not found.usable():
        yield False
        return
    token = replica_engine.set(found.engine)
    try:
        yield True
    finally:
        replica_engine.reset(token)


def reads_replica(view: F) -> F:
    """A read-only view reads the replica (see the module's docstring); put it under the role decorator."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading_replica():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
