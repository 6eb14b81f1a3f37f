"""disburse: Resolution 116-style unemployment-insurance cash support and contribution reductions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import Config, load_config
from disburse import replica, runtime
from disburse.extensions import babel, csrf, db, limiter, login, migrate, redis_client_options

log = logging.getLogger(__name__)

#: migrations/ sits beside the package.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


#: The pages that take a registry file, larger than any other request.
UPLOAD_ENDPOINTS = frozenset({"admin.imports"})


def _upload_size() -> None:
    if request.method == "POST" and request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config["DISBURSE_UPLOAD_MAX_BYTES"]


def _select_locale() -> str:
    """The user's saved choice, then the session's, then the browser's; Vietnamese by default. A program (a request
    with an API token) is answered in its ``Accept-Language``, as the API's messages are: a job's progress
    (``/jobs/<id>.json``, where the API sends it) came back in the token user's page language."""
    from disburse.auth.loaders import bearer_token

    if bearer_token(request) is not None:
        return request.accept_languages.best_match(["vi", "en"]) or "vi"
    if getattr(current_user, "is_authenticated", False) and getattr(current_user, "locale", None):
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in ("vi", "en"):
        return str(chosen)
    return request.accept_languages.best_match(["vi", "en"]) or "vi"


def role_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "caseworker": _("Cán bộ nghiệp vụ"),
        "employer": _("Đơn vị sử dụng lao động"),
        "supervisor": _("Lãnh đạo, giám sát"),
        "admin": _("Quản trị hệ thống"),
    }


class RecordNumber(IntegerConverter):
    """``<int:…>`` in every route: a record's number as we write it, ``[1-9][0-9]*`` up to a bigint's largest
    (``max`` lower for a narrower column: ``<int(max=2147483647):…>``). Werkzeug's own takes any Unicode digit ("٣"
    opened record 3, "01" record 1) and any size, which PostgreSQL then refused: a 500 instead of a 404."""

    regex = r"[1-9][0-9]{0,18}"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the Flask app. With no DATABASE_URL / REDIS_URL, embedded servers are started (see runtime)."""
    config = config or load_config()
    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    # A path with "//" in it is simply not found: no redirect to a "cleaned" URL (an API answers JSON, never HTML).
    app.url_map.merge_slashes = False
    # A record's number in a path: ASCII digits, no leading zero, at most a bigint (RecordNumber).
    app.url_map.converters["int"] = RecordNumber
    app.config.from_object(config)
    app.config.update(overrides)

    if not app.config.get("DATABASE_URL") or not app.config.get("REDIS_URL"):
        services = runtime.ensure_services(runtime.default_instance_path())
        services.export()
        app.extensions["disburse_services"] = services
        app.config["DATABASE_URL"] = app.config.get("DATABASE_URL") or services.database_url
        app.config["REDIS_URL"] = app.config.get("REDIS_URL") or services.redis_url
    app.config["SQLALCHEMY_DATABASE_URI"] = runtime.sqlalchemy_url(app.config["DATABASE_URL"])
    # The rate limiter counts in Redis in every environment: one count for every web process and node (a count in
    # each process's memory would multiply every limit by the number of processes).
    storage_uri, storage_options = runtime.limiter_storage(app.config)
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        **redis_client_options(app.config),
        **storage_options,
        "key_prefix": app.config["LIMIT_STORAGE_PREFIX"],
    }
    if app.config["DISBURSE_PROXY_HOPS"]:
        # Behind N proxies, the client's address, scheme and host are what the Nth proxy from us says they are.
        hops = app.config["DISBURSE_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    replica.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    login.init_app(app)
    # Before CSRFProtect, which reads the form (and so the whole body) under MAX_CONTENT_LENGTH: the registry upload
    # page takes files up to DISBURSE_UPLOAD_MAX_BYTES.
    app.before_request(_upload_size)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    from disburse.auth.limits import rate_limit_headers

    app.after_request(rate_limit_headers)  # before the limiter's own: runs after it
    limiter.init_app(app)

    from disburse import models  # noqa: F401  (registers every table on the metadata)
    from disburse.admin.views import bp as admin_bp
    from disburse.api import FEATURE_APIS
    from disburse.api import bp as api_bp
    from disburse.api.errors import register_error_handlers
    from disburse.auth import loaders  # noqa: F401  (registers the Flask-Login user loaders)
    from disburse.auth.csrf import register_api_csrf
    from disburse.auth.headers import register_security_headers
    from disburse.auth.limits import limit_api
    from disburse.auth.views import bp as auth_bp
    from disburse.background import init_celery
    from disburse.casework.views import bp as casework_bp
    from disburse.claims.employer_views import bp as employers_bp
    from disburse.claims.person_views import bp as people_bp
    from disburse.cli import register_commands
    from disburse.dashboard.views import bp as dashboard_bp
    from disburse.formatting import register_filters
    from disburse.home.views import bp as home_bp
    from disburse.jobs.views import bp as jobs_bp
    from disburse.layout import register_layout
    from disburse.reductions.views import bp as reductions_bp

    for blueprint in (
        home_bp,
        auth_bp,
        employers_bp,
        people_bp,
        reductions_bp,
        api_bp,
        casework_bp,
        jobs_bp,
        admin_bp,
        dashboard_bp,
    ):
        app.register_blueprint(blueprint)
    for api in (api_bp, *FEATURE_APIS):  # the API authenticates by token or session cookie, never by form
        csrf.exempt(api)
    limit_api(api_bp)  # per address and per caller, over every feature's API (nested in api_bp)
    register_filters(app)
    register_layout(app)
    app.context_processor(lambda: {"current_locale": _select_locale(), "role_labels": role_labels()})
    register_error_handlers(app)
    register_security_headers(app)
    register_api_csrf(app)
    init_celery(app)
    register_commands(app)
    return app
