"""Configuration classes, chosen by ``DISBURSE_ENV`` (development, test, production).

Code reads ``current_app.config`` only; this module is the one place that reads the environment.
"""

from __future__ import annotations

import os
from datetime import timedelta


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


class Config:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    #: None means "start the embedded PostgreSQL / Redis" (see disburse.runtime).
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    #: The programme clock's "today" (ISO date); None means the real date.
    DISBURSE_TODAY: str | None = None
    #: The program pages, the API and `lists build` use when none is named.
    DISBURSE_PROGRAM = "NQ116"
    DISBURSE_PAYMENT_PROVIDER = "sandbox"
    DISBURSE_SANDBOX_FAILURE_RATE = 0.05
    DISBURSE_SANDBOX_DELAY_S = 2.0

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_SUPPORTED_LOCALES = ("vi", "en")
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: Celery: results are ignored unless a task asks; a visibility timeout above any countdown we use.
    CELERY_VISIBILITY_TIMEOUT_S = 2 * 60 * 60
    TESTING = False
    DEBUG = False

    def __init__(self) -> None:
        self.SECRET_KEY = _env("SECRET_KEY", self.SECRET_KEY)
        self.DATABASE_URL = _env("DATABASE_URL", self.DATABASE_URL)
        self.REDIS_URL = _env("REDIS_URL", self.REDIS_URL)
        self.DISBURSE_TODAY = _env("DISBURSE_TODAY", self.DISBURSE_TODAY)
        self.DISBURSE_PROGRAM = _env("DISBURSE_PROGRAM", self.DISBURSE_PROGRAM) or "NQ116"
        self.DISBURSE_PAYMENT_PROVIDER = _env("DISBURSE_PAYMENT_PROVIDER", self.DISBURSE_PAYMENT_PROVIDER) or "sandbox"
        if self.DISBURSE_PAYMENT_PROVIDER not in {"sandbox", "bankfile", "cash"}:
            raise ConfigError(
                f"DISBURSE_PAYMENT_PROVIDER must be sandbox, bankfile or cash (got {self.DISBURSE_PAYMENT_PROVIDER!r})"
            )
        self.DISBURSE_SANDBOX_FAILURE_RATE = _float_env(
            "DISBURSE_SANDBOX_FAILURE_RATE", self.DISBURSE_SANDBOX_FAILURE_RATE, 0.0, 1.0
        )
        self.DISBURSE_SANDBOX_DELAY_S = _float_env(
            "DISBURSE_SANDBOX_DELAY_S", self.DISBURSE_SANDBOX_DELAY_S, 0.0, 3600.0
        )


def _float_env(name: str, default: float, low: float, high: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number between {low} and {high} (got {raw!r})") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high} (got {value})")
    return value


class Development(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - Development only; Production has no default
    DEBUG = False
    SESSION_COOKIE_SECURE = False


class Test(Config):
    ENV_NAME = "test"
    SECRET_KEY = "test-only-not-secret"  # noqa: S105 - Test only
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    DISBURSE_SANDBOX_FAILURE_RATE = 0.0
    DISBURSE_SANDBOX_DELAY_S = 0.0


class Production(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    def __init__(self) -> None:
        super().__init__()
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not getattr(self, name)]
        if missing:
            raise ConfigError("Production needs these environment variables set: " + ", ".join(missing))
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"


CONFIGS: dict[str, type[Config]] = {"development": Development, "test": Test, "production": Production}


def load_config(env_name: str | None = None) -> Config:
    """Build the config object for ``env_name`` (default: ``DISBURSE_ENV``, else development)."""
    name = (env_name or _env("DISBURSE_ENV", "development") or "development").lower()
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"DISBURSE_ENV must be one of {', '.join(CONFIGS)} (got {name!r})") from None
    return cls()
