"""Flask extensions, created unbound here and initialised in :func:`disburse.create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import BigInteger, DateTime, MetaData, func
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


db = SQLAlchemy(model_class=Base)
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
