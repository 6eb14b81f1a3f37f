"""Flask extensions, created unbound here and initialised in :func:`disburse.create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

import click
import redis
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel
from sqlalchemy import BigInteger, DateTime, Engine, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

#: Constraint names are predictable so that migrations can refer to them (Alembic's recommended convention).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Timestamps are timezone-aware; Python ints are BIGINT (VND amounts and ids outgrow INTEGER).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: DateTime(timezone=True), int: BigInteger},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


#: The engine the current read-only page reads from (set by :func:`disburse.replica.reading_replica`), else None.
replica_engine: ContextVar[Engine | None] = ContextVar("replica_engine", default=None)


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending the statements of a read-only page to the read replica while
    :func:`disburse.replica.reading_replica` is on; a flush (a write) always goes to the primary."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        engine = replica_engine.get()
        if bind is None and engine is not None and not self._flushing:
            return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Storage, timeouts and limits come from the config (see create_app and disburse.auth.limits).
limiter = Limiter(key_func=get_remote_address)


def redis_client_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Options for every redis-py client of the web process: short timeouts and no retries, so that a Redis that is
    down or hangs fails one call in ``REDIS_TIMEOUT_S`` (redis-py would otherwise retry with back-off)."""
    timeout = float(config["REDIS_TIMEOUT_S"])
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}


def redis_client(config: Mapping[str, Any], **options: Any) -> redis.Redis:
    """The app's own Redis client (health check, sweep and beat locks): ``REDIS_URL``'s server, or, with
    ``REDIS_SENTINELS``, the master the sentinels name now (asked again after a failover, on reconnecting), with
    ``REDIS_URL``'s database and password. ``options`` go to the connection (timeouts, retry)."""
    sentinels = config.get("REDIS_SENTINELS") or ()
    if not sentinels:
        return redis.Redis.from_url(config["REDIS_URL"], **options)
    from disburse.runtime import redis_database

    number, password = redis_database(config["REDIS_URL"])
    # The sentinels are asked as the master is: the same timeouts and retries (redis-py's own are 5 s and three).
    timeouts = {k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout", "retry")}
    sentinel = Sentinel(list(sentinels), sentinel_kwargs=timeouts, db=number, password=password, **options)
    return sentinel.master_for(config["REDIS_SENTINEL_MASTER"])


#: A row's id as a command's argument: a bigint, so that a mistyped huge number is a usage error (exit 2) rather
#: than the database's out-of-range error and a traceback.
RECORD_ID = click.IntRange(1, 2**63 - 1)


class _Day(click.ParamType):
    """A day as a command's option: dd/mm/yyyy, or YYYY-MM-DD (:func:`disburse.formatting.parse_day`), of the years
    2000 to 2099. Anything else is a usage error (exit 2) saying why in both languages: not a date, month first, not
    in the calendar (31/02), a two-digit year."""

    name = "dd/mm/yyyy"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from disburse.formatting import BadDay, parse_day

        if isinstance(value, date):
            return value
        try:
            return parse_day(str(value), 2000, 2099)
        except BadDay as bad:
            self.fail(f"{bad.vi} / {bad.en}", param, ctx)


#: A day as a command's option (:class:`_Day`): every command's dates read, and refused, alike.
DAY = _Day()


class _Vnd(click.ParamType):
    """A sum of đồng as a command's option, written as on the pages (:func:`disburse.formatting.parse_vnd`:
    ``2100000``, ``2.100.000``, ``2,100,000``), more than zero. Anything else is a usage error (exit 2) in both
    languages."""

    name = "VND"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from disburse.formatting import parse_vnd

        if isinstance(value, int) and not isinstance(value, bool):
            amount: int | None = value
        else:
            amount = parse_vnd(str(value))
        if amount is None or amount <= 0:
            self.fail(
                f"'{value}' không phải một số tiền đồng lớn hơn 0 (ví dụ 2100000 hoặc 2.100.000) / '{value}' is not "
                "a sum of đồng above zero (e.g. 2100000 or 2,100,000)",
                param,
                ctx,
            )
        return amount


#: A sum of đồng as a command's option (:class:`_Vnd`).
VND = _Vnd()
