"""Configuration classes, chosen by ``DISBURSE_ENV`` (development, test, production).

Code reads ``current_app.config`` only; this module is the one place that reads the environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration: why, in Vietnamese (``vi``) and English (``en``, also
    the exception's text, for logs). A command says both (disburse.cli); "Cấu hình không dùng được" was followed by
    the English words."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


#: The shortest SECRET_KEY production takes: a session cookie is as safe as its key (docs/security.md).
SECRET_KEY_MIN_LENGTH = 32
#: How to make a good one, said when it is missing or too short.
SECRET_KEY_HOW = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105 - a command, not a secret


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


#: The URLs a server's variable takes, by scheme, and how the refusal shows one. A URL of another kind (``mysql://``,
#: ``localhost:6379``, ``http://`` for Redis) stopped every command with a traceback from deep in SQLAlchemy or the
#: rate limiter, naming no variable.
DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
DATABASE_EXAMPLE = "postgresql://người_dùng@máy:5432/tên", "postgresql://user@host:5432/name"
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_EXAMPLE = "redis://máy:6379/0 hoặc unix:///đường/dẫn.sock?db=0", "redis://host:6379/0 or unix:///path.sock?db=0"
HTTP_SCHEMES = ("http", "https")
HTTP_EXAMPLE = "http://máy:cổng", "http://host:port"


def _url_env(name: str, default: str | None, schemes: tuple[str, ...], example: tuple[str, str]) -> str | None:
    """A server's URL of one of ``schemes``, naming a host when it is a web address (a database's or Redis's may leave
    it to the client: ``postgresql:///disburse?host=/run/pg`` is a socket's, as the embedded server's URL is);
    anything else is a ConfigError naming the variable and the form it takes (a password in it is never repeated)."""
    raw = _env(name, default)
    if raw is None:
        return None
    from urllib.parse import urlsplit

    try:
        url = urlsplit(raw)
        url.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        url = None
    usable = url is not None and url.scheme.lower() in schemes and bool(url.hostname or schemes != HTTP_SCHEMES)
    if not usable:
        shown = f"…{raw.rsplit('@', 1)[-1]!r}" if "@" in raw else repr(raw)
        raise ConfigError(
            f"{name} phải có dạng {example[0]} (đang là {shown})",
            f"{name} must look like {example[1]} (got {shown})",
        )
    return raw


def _day_env(name: str, default: str | None) -> str | None:
    """An ISO date (``2021-10-20``), kept as written; anything else is a ConfigError naming the variable, at start
    (it was said only when a command first read the programme clock, as an English traceback)."""
    raw = _env(name, default)
    if raw is None:
        return None
    from datetime import date

    try:
        date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(
            f"{name} phải là một ngày dạng YYYY-MM-DD, ví dụ 2021-10-20 (đang là {raw!r})",
            f"{name} must be a date written YYYY-MM-DD, e.g. 2021-10-20 (got {raw!r})",
        ) from None
    return raw


class Config:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    #: None means "start the embedded PostgreSQL / Redis" (see disburse.runtime).
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    #: A read replica of DATABASE_URL (streaming replication) for the read-only pages marked ``@reads_replica``
    #: (disburse.replica); None: they read the primary. An unreachable replica falls back to the primary.
    DATABASE_REPLICA_URL: str | None = None
    #: Redis behind Sentinel: the sentinels ("host:port,host:port") and the name of the master they watch. Celery,
    #: the rate limiter and the app's own Redis clients then ask the sentinels where the master is; REDIS_URL still
    #: gives the database number and password (its host is not used).
    REDIS_SENTINELS: tuple[tuple[str, int], ...] = ()
    REDIS_SENTINEL_MASTER = "mymaster"
    #: The programme clock's "today" (ISO date); None means the real date.
    DISBURSE_TODAY: str | None = None
    #: The program pages, the API and `lists build` use when none is named.
    DISBURSE_PROGRAM = "NQ116"
    DISBURSE_PAYMENT_PROVIDER = "sandbox"
    DISBURSE_SANDBOX_FAILURE_RATE = 0.05
    DISBURSE_SANDBOX_DELAY_S = 2.0
    #: The bankfile provider: the outbox folder for pain.001 files (None: ``bankfiles/`` in the instance folder) and
    #: the fund's account that pays (Production has no defaults for the account and bank; see Production).
    DISBURSE_BANKFILE_DIR: str | None = None
    #: Files jobs write for people to download (exports, an import's refused rows), and files admins upload for
    #: import (None: ``exports/`` and ``uploads/`` in the instance folder). Every web node and worker must see the
    #: same folders (a shared volume past one machine).
    DISBURSE_EXPORT_DIR: str | None = None
    DISBURSE_UPLOAD_DIR: str | None = None
    #: Days an uploaded or exported file is kept (people's names, IDs and accounts: no longer than the work needs);
    #: beat's ``sweepers.files`` deletes older ones, except those a queued or running job still uses.
    DISBURSE_FILE_RETENTION_DAYS = 30
    #: The largest registry file an admin may upload in the browser (the other pages keep MAX_CONTENT_LENGTH).
    DISBURSE_UPLOAD_MAX_BYTES = 512 * 1024 * 1024
    #: The most rows a dashboard table may have to be downloaded at once (a larger one is written by a background job).
    DISBURSE_EXPORT_DIRECT_ROWS = 5_000
    #: The largest Form 02 file read while the employer waits; a larger one (a unit of tens of thousands of people) is
    #: read by a background job whose page shows its progress (an XLSX takes ~0.25 ms a row to read).
    DISBURSE_FORM_02_INLINE_BYTES = 1_000_000
    #: How long (seconds) the dashboard's figures and table for an area, as rendered once, are shown to every viewer
    #: of that area before they are read from the rollups again (0: every page view reads them). The page says
    #: when its figures were read.
    DISBURSE_DASHBOARD_CACHE_S = 5
    #: Seconds between beat's ``sweepers.backlog`` runs, which count the dashboards' backlog figures (open cases by
    #: age, SLA breaches, review queue) for every area; the backlog pages show figures at most this old (and say
    #: when they were counted). ``up --demo`` uses 60.
    DISBURSE_BACKLOG_EVERY_S = 300.0
    DISBURSE_BANKFILE_DEBTOR_NAME = "Bảo hiểm xã hội Việt Nam - Quỹ BHTN"
    DISBURSE_BANKFILE_DEBTOR_ACCOUNT: str | None = None
    DISBURSE_BANKFILE_DEBTOR_BANK: str | None = None
    #: Share of settled sandbox transfers that the payee's bank sends back later.
    DISBURSE_SANDBOX_RETURN_RATE = 0.01
    #: The sandbox settles, returns and builds callbacks set-based (thousands of transfers a pass): rehearsals at scale.
    DISBURSE_SANDBOX_BULK = False
    #: Where the sandbox bank listens (`disburse up` starts it on this port), and where it calls us back.
    DISBURSE_SANDBOX_URL = "http://127.0.0.1:5001"
    DISBURSE_SANDBOX_CALLBACK_URL = "http://127.0.0.1:5000/api/v1/providers/sandbox/events"
    #: Our bearer token at the sandbox, and the ``whsec_…`` secret(s) its callbacks are signed with (several,
    #: separated by spaces, while rotating: the sandbox signs with each, we accept any). Only Development and Test
    #: have defaults.
    DISBURSE_SANDBOX_TOKEN: str | None = None
    DISBURSE_SANDBOX_WEBHOOK_SECRET: str | None = None
    #: Production refuses the sandbox provider unless this is set (a rehearsal on production hardware).
    DISBURSE_SANDBOX_IN_PRODUCTION = False
    #: How long we wait for the sandbox bank to answer one request (seconds; connecting gives up after 2 s, or this
    #: if shorter). A bank slower than this is a retryable error: the batch may have arrived, so it is asked first.
    DISBURSE_SANDBOX_TIMEOUT_S = 10.0
    #: Payments per batch (one provider message, one pain.001 file).
    DISBURSE_PAYMENT_BATCH_SIZE = 10_000
    #: Seconds between beat's ``payments.batch`` runs (approved claims into batches); ``up --demo`` uses 15.
    DISBURSE_PAYMENT_BATCH_EVERY_S = 60.0
    #: A payment sent and not settled after this many seconds is asked about (and sent again, under the same
    #: reference, if the provider has never seen it).
    DISBURSE_PAYMENT_STATUS_AFTER_S = 600
    #: A batch its provider has not acknowledged (a bank file that could not be written, a worker that died after the
    #: batch was marked sent, a send task lost) is handed over again by the payments sweeper this many seconds after
    #: the last try; longer than the send task's longest backoff (600 s), so a send still retrying is left to it.
    DISBURSE_PAYMENT_HANDOVER_AFTER_S = 900
    #: After a payment failed on the bank's side (a timeout, the fund's account short of money, a cut-off), the claim
    #: is paid again no sooner than this many seconds later, doubled at each further bank-side failure of the claim,
    #: up to the cap (so a bank outage or an empty fund account is not hammered every batching run).
    DISBURSE_PAYMENT_RETRY_BASE_S = 300
    DISBURSE_PAYMENT_RETRY_CAP_S = 6 * 3600
    #: From this many bank-side failures of one claim on, every further one is logged at ERROR and the case page
    #: warns the caseworker; the claim is still paid again at the capped wait (it is not the person's details).
    DISBURSE_PAYMENT_BANK_FAILURES_ALERT = 5
    #: Days a refused provider callback (bad, stale or missing signature) is kept for audit; the payments sweeper
    #: deletes it after that.
    DISBURSE_REFUSED_CALLBACK_DAYS = 30

    #: E-mail notifications to units (disburse.notifications; docs/operations.md, "Notifications"). The SMTP server,
    #: ``smtp://user:password@host:587`` (STARTTLS when the server offers it, required on 587) or ``smtps://…:465``
    #: (TLS from the start); None: Development and Test write each message as an .eml file under DISBURSE_MAIL_DIR,
    #: and Production sends nothing and queues nothing (notifications are off).
    DISBURSE_SMTP_URL: str | None = None
    #: The From address of every message; Production needs it with DISBURSE_SMTP_URL.
    DISBURSE_MAIL_FROM = "BHXH Viet Nam <no-reply@disburse.invalid>"
    #: Where the file transport writes (None: ``mail/`` in the instance folder).
    DISBURSE_MAIL_DIR: str | None = None
    #: How the links in messages begin (scheme, host, any path prefix); Production needs it with DISBURSE_SMTP_URL.
    DISBURSE_BASE_URL = "http://127.0.0.1:5000"
    #: Seconds an SMTP conversation may wait for the server before the attempt is a temporary failure.
    DISBURSE_SMTP_TIMEOUT_S = 30.0
    #: A temporary failure (4xx, no connection, a timeout) is tried again after this many seconds, doubled at each
    #: further failure up to the cap; after DISBURSE_MAIL_MAX_ATTEMPTS attempts the message is ``failed``.
    DISBURSE_MAIL_RETRY_BASE_S = 60
    DISBURSE_MAIL_RETRY_CAP_S = 3600
    DISBURSE_MAIL_MAX_ATTEMPTS = 8
    #: Messages one sender takes at a time (each batch is committed message by message).
    DISBURSE_MAIL_BATCH = 100
    #: The Form 02 reminder goes this many working days before the unit's Form 02 deadline (0: on the day).
    DISBURSE_REMINDER_WORKING_DAYS = 2

    #: Seconds gunicorn lets a request run before it kills the web worker (``disburse web`` and ``up``): a request's
    #: Idempotency-Key still "in progress" after this long belongs to a worker that was killed (its transaction rolled
    #: back), and a retry with the key may run (disburse.api.idempotency).
    DISBURSE_WEB_TIMEOUT_S = 60
    #: Days an API token works after it is created (``disburse tokens create``); revoke sooner with ``tokens revoke``.
    DISBURSE_TOKEN_DAYS = 90
    #: How many reverse proxies (load balancer, ingress) stand in front of the web server and set
    #: X-Forwarded-For / -Proto / -Host. 0: none, trust no such header (a client could forge its address).
    DISBURSE_PROXY_HOPS = 0
    #: Strict-Transport-Security max-age in seconds; 0 sends no HSTS header (development and tests run on http).
    HSTS_SECONDS = 0

    #: A database that does not answer the connection fails the request after this many seconds instead of hanging;
    #: statements are never prepared on the server (why: ``disburse.runtime.connect_args``, which the other engines
    #: use).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 3, "prepare_threshold": None},
    }
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_SUPPORTED_LOCALES = ("vi", "en")
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    #: Every Redis call of the web process (rate limiter, health check, Celery broker) gives up after this many
    #: seconds: a Redis that is down or hangs costs a request about this much, never a hung web worker.
    REDIS_TIMEOUT_S = 1.0
    #: The rate limiter always counts in Redis (REDIS_URL; see create_app), shared by every web process and node.
    #: Its Redis keys start with this prefix; clearing the counters (the tests do) clears only these keys.
    LIMIT_STORAGE_PREFIX = "disburse"
    RATELIMIT_HEADERS_ENABLED = True
    #: Rate limits ("N per minute; M per hour", the ``limits`` library's notation). Sign-in: every attempt counts
    #: per client address; failed attempts also count per account, so that guessing one person's password from
    #: many addresses is slowed down too. API: per client address and per caller (token, else signed-in user).
    LIMIT_SIGN_IN_PER_ADDRESS = "10 per minute; 100 per hour"
    LIMIT_SIGN_IN_PER_ACCOUNT = "5 per minute; 20 per hour"
    #: The public page where a person sends new bank details (identity facts guessed there would be slowed down).
    LIMIT_PERSON_DETAILS_PER_ADDRESS = "5 per minute; 30 per hour"
    #: The public page where a person looks up their own status: every look-up per address; look-ups that found
    #: nobody also per SI code typed, from any address (a known person's date of birth guessed from many addresses).
    LIMIT_PERSON_STATUS_PER_ADDRESS = "10 per minute; 60 per hour"
    LIMIT_PERSON_STATUS_PER_PERSON = "5 per hour; 10 per day"
    LIMIT_API_PER_ADDRESS = "600 per minute"
    LIMIT_API_PER_CALLER = "300 per minute"
    #: Refused provider callbacks, per client address and all together (signed ones are never counted): past
    #: either, 429 and nothing kept. The overall daily figure times DISBURSE_REFUSED_CALLBACK_DAYS bounds what is kept.
    LIMIT_CALLBACK_REFUSALS_PER_ADDRESS = "30 per minute; 300 per hour"
    LIMIT_CALLBACK_REFUSALS = "100 per minute; 2000 per day"
    #: Celery: results are ignored unless a task asks; a visibility timeout above any countdown we use.
    CELERY_VISIBILITY_TIMEOUT_S = 2 * 60 * 60
    #: Celery: how a send (and the result store's reconnect) retries when Redis fails: twice, 0.2 s apart.
    CELERY_SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
    #: The largest request body accepted (413 beyond it): a Form 02 of 50,000 rows is about 5 MB of JSON.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    TESTING = False
    DEBUG = False

    def __init__(self) -> None:
        self.SECRET_KEY = _env("SECRET_KEY", self.SECRET_KEY)
        self.DATABASE_URL = _url_env("DATABASE_URL", self.DATABASE_URL, DATABASE_SCHEMES, DATABASE_EXAMPLE)
        self.REDIS_SENTINELS = _sentinels_env("REDIS_SENTINELS") or self.REDIS_SENTINELS
        self.REDIS_SENTINEL_MASTER = _env("REDIS_SENTINEL_MASTER", self.REDIS_SENTINEL_MASTER) or "mymaster"
        # With sentinels, REDIS_URL only names the database (and password): default to database 0 of the master.
        self.REDIS_URL = _url_env("REDIS_URL", self.REDIS_URL, REDIS_SCHEMES, REDIS_EXAMPLE) or (
            f"redis://{self.REDIS_SENTINEL_MASTER}/0" if self.REDIS_SENTINELS else None
        )
        self.DATABASE_REPLICA_URL = _url_env(
            "DATABASE_REPLICA_URL", self.DATABASE_REPLICA_URL, DATABASE_SCHEMES, DATABASE_EXAMPLE
        )
        self.DISBURSE_TODAY = _day_env("DISBURSE_TODAY", self.DISBURSE_TODAY)
        self.DISBURSE_PROGRAM = _env("DISBURSE_PROGRAM", self.DISBURSE_PROGRAM) or "NQ116"
        self.DISBURSE_PAYMENT_PROVIDER = _env("DISBURSE_PAYMENT_PROVIDER", self.DISBURSE_PAYMENT_PROVIDER) or "sandbox"
        if self.DISBURSE_PAYMENT_PROVIDER not in {"sandbox", "bankfile", "cash"}:
            raise ConfigError(
                f"DISBURSE_PAYMENT_PROVIDER phải là sandbox, bankfile hoặc cash (đang là "
                f"{self.DISBURSE_PAYMENT_PROVIDER!r})",
                f"DISBURSE_PAYMENT_PROVIDER must be sandbox, bankfile or cash (got {self.DISBURSE_PAYMENT_PROVIDER!r})",
            )
        self.DISBURSE_SANDBOX_FAILURE_RATE = _float_env(
            "DISBURSE_SANDBOX_FAILURE_RATE", self.DISBURSE_SANDBOX_FAILURE_RATE, 0.0, 1.0
        )
        self.DISBURSE_SANDBOX_DELAY_S = _float_env(
            "DISBURSE_SANDBOX_DELAY_S", self.DISBURSE_SANDBOX_DELAY_S, 0.0, 3600.0
        )
        instance = Path(_env("DISBURSE_INSTANCE") or Path(__file__).resolve().parent / "instance")
        self.DISBURSE_BANKFILE_DIR = _env("DISBURSE_BANKFILE_DIR", self.DISBURSE_BANKFILE_DIR) or str(
            instance / "bankfiles"
        )
        self.DISBURSE_EXPORT_DIR = _env("DISBURSE_EXPORT_DIR", self.DISBURSE_EXPORT_DIR) or str(instance / "exports")
        self.DISBURSE_UPLOAD_DIR = _env("DISBURSE_UPLOAD_DIR", self.DISBURSE_UPLOAD_DIR) or str(instance / "uploads")
        self.DISBURSE_FILE_RETENTION_DAYS = _int_env(
            "DISBURSE_FILE_RETENTION_DAYS", self.DISBURSE_FILE_RETENTION_DAYS, 1, 3650
        )
        self.DISBURSE_UPLOAD_MAX_BYTES = _int_env(
            "DISBURSE_UPLOAD_MAX_BYTES", self.DISBURSE_UPLOAD_MAX_BYTES, 1024, 8 * 1024 * 1024 * 1024
        )
        self.DISBURSE_EXPORT_DIRECT_ROWS = _int_env(
            "DISBURSE_EXPORT_DIRECT_ROWS", self.DISBURSE_EXPORT_DIRECT_ROWS, 0, 1_000_000
        )
        self.DISBURSE_FORM_02_INLINE_BYTES = _int_env(
            "DISBURSE_FORM_02_INLINE_BYTES", self.DISBURSE_FORM_02_INLINE_BYTES, 0, 8 * 1024 * 1024 * 1024
        )
        self.DISBURSE_DASHBOARD_CACHE_S = _int_env(
            "DISBURSE_DASHBOARD_CACHE_S", self.DISBURSE_DASHBOARD_CACHE_S, 0, 3600
        )
        self.DISBURSE_BACKLOG_EVERY_S = _float_env(
            "DISBURSE_BACKLOG_EVERY_S", self.DISBURSE_BACKLOG_EVERY_S, 10.0, 86_400.0
        )
        self.DISBURSE_BANKFILE_DEBTOR_NAME = (
            _env("DISBURSE_BANKFILE_DEBTOR_NAME", self.DISBURSE_BANKFILE_DEBTOR_NAME)
            or self.DISBURSE_BANKFILE_DEBTOR_NAME
        )
        self.DISBURSE_BANKFILE_DEBTOR_ACCOUNT = _env(
            "DISBURSE_BANKFILE_DEBTOR_ACCOUNT", self.DISBURSE_BANKFILE_DEBTOR_ACCOUNT
        )
        self.DISBURSE_BANKFILE_DEBTOR_BANK = _env("DISBURSE_BANKFILE_DEBTOR_BANK", self.DISBURSE_BANKFILE_DEBTOR_BANK)
        self.DISBURSE_SANDBOX_RETURN_RATE = _float_env(
            "DISBURSE_SANDBOX_RETURN_RATE", self.DISBURSE_SANDBOX_RETURN_RATE, 0.0, 1.0
        )
        self.DISBURSE_SANDBOX_URL = (
            _url_env("DISBURSE_SANDBOX_URL", self.DISBURSE_SANDBOX_URL, HTTP_SCHEMES, HTTP_EXAMPLE)
            or self.DISBURSE_SANDBOX_URL
        )
        self.DISBURSE_SANDBOX_CALLBACK_URL = (
            _url_env("DISBURSE_SANDBOX_CALLBACK_URL", self.DISBURSE_SANDBOX_CALLBACK_URL, HTTP_SCHEMES, HTTP_EXAMPLE)
            or self.DISBURSE_SANDBOX_CALLBACK_URL
        )
        self.DISBURSE_SANDBOX_TOKEN = _env("DISBURSE_SANDBOX_TOKEN", self.DISBURSE_SANDBOX_TOKEN)
        self.DISBURSE_SANDBOX_WEBHOOK_SECRET = _env(
            "DISBURSE_SANDBOX_WEBHOOK_SECRET", self.DISBURSE_SANDBOX_WEBHOOK_SECRET
        )
        self.DISBURSE_SANDBOX_IN_PRODUCTION = _env("DISBURSE_SANDBOX_IN_PRODUCTION", "0") in {"1", "true", "yes"}
        self.DISBURSE_SANDBOX_TIMEOUT_S = _float_env(
            "DISBURSE_SANDBOX_TIMEOUT_S", self.DISBURSE_SANDBOX_TIMEOUT_S, 0.1, 300.0
        )
        self.DISBURSE_SANDBOX_BULK = _env("DISBURSE_SANDBOX_BULK", "0") in {"1", "true", "yes"}
        self.DISBURSE_WEB_TIMEOUT_S = _int_env("DISBURSE_WEB_TIMEOUT_S", self.DISBURSE_WEB_TIMEOUT_S, 5, 3600)
        self.DISBURSE_TOKEN_DAYS = _int_env("DISBURSE_TOKEN_DAYS", self.DISBURSE_TOKEN_DAYS, 1, 3650)
        self.DISBURSE_PROXY_HOPS = _int_env("DISBURSE_PROXY_HOPS", self.DISBURSE_PROXY_HOPS, 0, 5)
        self.DISBURSE_PAYMENT_BATCH_SIZE = _int_env(
            "DISBURSE_PAYMENT_BATCH_SIZE", self.DISBURSE_PAYMENT_BATCH_SIZE, 1, 100_000
        )
        self.DISBURSE_PAYMENT_BATCH_EVERY_S = _float_env(
            "DISBURSE_PAYMENT_BATCH_EVERY_S", self.DISBURSE_PAYMENT_BATCH_EVERY_S, 1.0, 3600.0
        )
        self.DISBURSE_PAYMENT_STATUS_AFTER_S = _int_env(
            "DISBURSE_PAYMENT_STATUS_AFTER_S", self.DISBURSE_PAYMENT_STATUS_AFTER_S, 1, 7 * 86_400
        )
        self.DISBURSE_PAYMENT_HANDOVER_AFTER_S = _int_env(
            "DISBURSE_PAYMENT_HANDOVER_AFTER_S", self.DISBURSE_PAYMENT_HANDOVER_AFTER_S, 1, 7 * 86_400
        )
        self.DISBURSE_PAYMENT_RETRY_BASE_S, self.DISBURSE_PAYMENT_RETRY_CAP_S = _retry_env(
            "DISBURSE_PAYMENT_RETRY", self.DISBURSE_PAYMENT_RETRY_BASE_S, self.DISBURSE_PAYMENT_RETRY_CAP_S
        )
        self.DISBURSE_PAYMENT_BANK_FAILURES_ALERT = _int_env(
            "DISBURSE_PAYMENT_BANK_FAILURES_ALERT", self.DISBURSE_PAYMENT_BANK_FAILURES_ALERT, 1, 1000
        )
        self.DISBURSE_REFUSED_CALLBACK_DAYS = _int_env(
            "DISBURSE_REFUSED_CALLBACK_DAYS", self.DISBURSE_REFUSED_CALLBACK_DAYS, 1, 3650
        )
        self.DISBURSE_SMTP_URL = _smtp_url_env("DISBURSE_SMTP_URL", self.DISBURSE_SMTP_URL)
        self.DISBURSE_MAIL_FROM = _env("DISBURSE_MAIL_FROM", self.DISBURSE_MAIL_FROM) or self.DISBURSE_MAIL_FROM
        if "@" not in self.DISBURSE_MAIL_FROM:
            raise ConfigError(
                f"DISBURSE_MAIL_FROM phải là một địa chỉ e-mail (đang là {self.DISBURSE_MAIL_FROM!r})",
                f"DISBURSE_MAIL_FROM must be an e-mail address (got {self.DISBURSE_MAIL_FROM!r})",
            )
        self.DISBURSE_MAIL_DIR = _env("DISBURSE_MAIL_DIR", self.DISBURSE_MAIL_DIR) or str(instance / "mail")
        base_url = (_env("DISBURSE_BASE_URL", self.DISBURSE_BASE_URL) or self.DISBURSE_BASE_URL).rstrip("/")
        if not base_url.startswith(("http://", "https://")) or base_url[-3:] == "://":
            raise ConfigError(
                f"DISBURSE_BASE_URL phải bắt đầu bằng http:// hoặc https:// và có tên máy (đang là {base_url!r})",
                f"DISBURSE_BASE_URL must start with http:// or https:// and name a host (got {base_url!r})",
            )
        self.DISBURSE_BASE_URL = base_url
        self.DISBURSE_SMTP_TIMEOUT_S = _float_env("DISBURSE_SMTP_TIMEOUT_S", self.DISBURSE_SMTP_TIMEOUT_S, 1.0, 600.0)
        self.DISBURSE_MAIL_RETRY_BASE_S, self.DISBURSE_MAIL_RETRY_CAP_S = _retry_env(
            "DISBURSE_MAIL_RETRY", self.DISBURSE_MAIL_RETRY_BASE_S, self.DISBURSE_MAIL_RETRY_CAP_S
        )
        self.DISBURSE_MAIL_MAX_ATTEMPTS = _int_env(
            "DISBURSE_MAIL_MAX_ATTEMPTS", self.DISBURSE_MAIL_MAX_ATTEMPTS, 1, 100
        )
        self.DISBURSE_MAIL_BATCH = _int_env("DISBURSE_MAIL_BATCH", self.DISBURSE_MAIL_BATCH, 1, 10_000)
        self.DISBURSE_REMINDER_WORKING_DAYS = _int_env(
            "DISBURSE_REMINDER_WORKING_DAYS", self.DISBURSE_REMINDER_WORKING_DAYS, 0, 20
        )

    @property
    def DISBURSE_MAIL_TRANSPORT(self) -> str:
        """``smtp`` with DISBURSE_SMTP_URL; else ``file`` in Development and Test, ``off`` in Production."""
        if self.DISBURSE_SMTP_URL:
            return "smtp"
        return "off" if self.ENV_NAME == "production" else "file"


def _float_env(name: str, default: float, low: float, high: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name} phải là một số từ {low} đến {high} (đang là {raw!r})",
            f"{name} must be a number between {low} and {high} (got {raw!r})",
        ) from None
    if not low <= value <= high:
        raise ConfigError(
            f"{name} phải nằm trong khoảng từ {low} đến {high} (đang là {value})",
            f"{name} must be between {low} and {high} (got {value})",
        )
    return value


def _sentinels_env(name: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` → ((host, port), …); anything else is a ConfigError naming the variable."""
    raw = _env(name)
    if raw is None:
        return ()
    found = []
    for item in raw.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ConfigError(
                f"{name} phải là các cặp host:port, cách nhau bằng dấu phẩy (đang là {raw!r})",
                f"{name} must be host:port pairs separated by commas (got {raw!r})",
            )
        found.append((host.strip("[]"), int(port)))
    return tuple(found)


def _smtp_url_env(name: str, default: str | None) -> str | None:
    """``smtp://[user:password@]host[:port]`` or ``smtps://…``; anything else is a ConfigError naming the variable
    (the password is never repeated in the message)."""
    raw = _env(name, default)
    if raw is None:
        return None
    from urllib.parse import urlsplit

    try:
        url = urlsplit(raw)
        port = url.port
    except ValueError:
        url, port = None, None
    if url is None or url.scheme not in {"smtp", "smtps"} or not url.hostname or (port is not None and port < 1):
        shown = raw.split("@")[-1]
        raise ConfigError(
            f"{name} phải có dạng smtp://người_dùng:mật_khẩu@máy:587 hoặc smtps://…:465 (đang là …{shown!r})",
            f"{name} must look like smtp://user:password@host:587 or smtps://…:465 (got …{shown!r})",
        )
    return raw


def _retry_env(prefix: str, base: int, cap: int) -> tuple[int, int]:
    """A growing wait's ``<prefix>_BASE_S`` (1 s to a day) and ``<prefix>_CAP_S`` (1 s to a week), the cap never below
    the base."""
    base = _int_env(f"{prefix}_BASE_S", base, 1, 86_400)
    cap = _int_env(f"{prefix}_CAP_S", cap, 1, 7 * 86_400)
    if cap < base:
        values = f"({cap} < {base})"
        raise ConfigError(
            f"{prefix}_CAP_S không được nhỏ hơn {prefix}_BASE_S {values}",
            f"{prefix}_CAP_S must not be below {prefix}_BASE_S {values}",
        )
    return base, cap


def _int_env(name: str, default: int, low: int, high: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigError(
            f"{name} phải là một số nguyên từ {low} đến {high} (đang là {raw!r})",
            f"{name} must be a whole number from {low} to {high} (got {raw!r})",
        )
    return int(raw)


class Development(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - Development only; Production has no default
    DISBURSE_SANDBOX_TOKEN = "sandbox-dev-token"  # noqa: S105 - Development only
    DISBURSE_SANDBOX_WEBHOOK_SECRET = "whsec_ZGV2LW9ubHktc2FuZGJveC13ZWJob29rLXNlY3JldA=="  # noqa: S105
    DEBUG = False
    SESSION_COOKIE_SECURE = False
    #: A made-up account at BIDV, so that bank files can be written on a laptop; never a real one.
    DISBURSE_BANKFILE_DEBTOR_ACCOUNT = "1200000116"
    DISBURSE_BANKFILE_DEBTOR_BANK = "BIDV"


class Test(Config):
    ENV_NAME = "test"
    SECRET_KEY = "test-only-not-secret"  # noqa: S105 - Test only
    DISBURSE_SANDBOX_TOKEN = "sandbox-test-token"  # noqa: S105 - Test only
    DISBURSE_SANDBOX_WEBHOOK_SECRET = "whsec_dGVzdC1vbmx5LXNhbmRib3gtd2ViaG9vay1zZWNyZXQ="  # noqa: S105
    DISBURSE_SANDBOX_RETURN_RATE = 0.0
    TESTING = True
    WTF_CSRF_ENABLED = False
    DISBURSE_SANDBOX_FAILURE_RATE = 0.0
    DISBURSE_SANDBOX_DELAY_S = 0.0
    DISBURSE_BANKFILE_DEBTOR_ACCOUNT = "1200000116"
    DISBURSE_BANKFILE_DEBTOR_BANK = "BIDV"
    #: Tests read the figures they have just moved (tests/dashboard/test_cache.py turns the cache on).
    DISBURSE_DASHBOARD_CACHE_S = 0

    def __init__(self) -> None:
        super().__init__()
        # The limiter counts in Redis in the tests too; one prefix per test run, so that two runs sharing a Redis
        # (two checkouts, CI beside a developer) neither share counters nor clear each other's.
        self.LIMIT_STORAGE_PREFIX = f"disburse-test-{os.getpid()}"


class Production(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for this host only, on path /.
    SESSION_COOKIE_NAME = "__Host-disburse_session"
    HSTS_SECONDS = 365 * 24 * 60 * 60

    def __init__(self) -> None:
        super().__init__()
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not getattr(self, name)]
        if not _env("DISBURSE_PAYMENT_PROVIDER"):
            # Money goes where this says: production never pays through a default.
            missing.append("DISBURSE_PAYMENT_PROVIDER")
        if self.DISBURSE_PAYMENT_PROVIDER == "bankfile":
            # The fund's account that every bank file debits: no default can be right.
            missing += [
                name
                for name in ("DISBURSE_BANKFILE_DEBTOR_ACCOUNT", "DISBURSE_BANKFILE_DEBTOR_BANK")
                if not getattr(self, name)
            ]
        if self.DISBURSE_SMTP_URL:
            # Messages to units: from an address they can trust, with links to this site, never to a default.
            missing += [name for name in ("DISBURSE_MAIL_FROM", "DISBURSE_BASE_URL") if not _env(name)]
        if missing:
            names = ", ".join(missing)
            how_vi = how_en = ""
            if "SECRET_KEY" in missing:
                how_vi = f" (tạo SECRET_KEY bằng: {SECRET_KEY_HOW})"
                how_en = f" (make SECRET_KEY with: {SECRET_KEY_HOW})"
            raise ConfigError(
                f"Môi trường production cần đặt các biến môi trường sau: {names}{how_vi}",
                f"Production needs these environment variables set: {names}{how_en}",
            )
        if len(self.SECRET_KEY or "") < SECRET_KEY_MIN_LENGTH:  # a short key can be guessed, and every session with it
            length = len(self.SECRET_KEY or "")
            raise ConfigError(
                f"SECRET_KEY quá ngắn ({length} ký tự): production cần một khóa ngẫu nhiên dài ít nhất "
                f"{SECRET_KEY_MIN_LENGTH} ký tự. Tạo một khóa bằng: {SECRET_KEY_HOW}",
                f"SECRET_KEY is too short ({length} characters): production needs a random key of at least "
                f"{SECRET_KEY_MIN_LENGTH} characters. Make one with: {SECRET_KEY_HOW}",
            )


CONFIGS: dict[str, type[Config]] = {"development": Development, "test": Test, "production": Production}


def load_config(env_name: str | None = None) -> Config:
    """Build the config object for ``env_name`` (default: ``DISBURSE_ENV``, else development)."""
    name = (env_name or _env("DISBURSE_ENV", "development") or "development").lower()
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"DISBURSE_ENV phải là một trong: {', '.join(CONFIGS)} (đang là {name!r})",
            f"DISBURSE_ENV must be one of {', '.join(CONFIGS)} (got {name!r})",
        ) from None
    return cls()
