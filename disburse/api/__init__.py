"""The JSON API under /api/v1: its error shape (errors.py), the health check (health.py), and the registry of the
features' API blueprints, each mounted here so that every feature owns its own routes (``<feature>/api.py``)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from disburse.api import health  # noqa: E402,F401  (registers /health on bp)
from disburse.claims.api import bp as claims_api  # noqa: E402
from disburse.claims.forms_api import bp as forms_api  # noqa: E402
from disburse.payments.api import bp as providers_api  # noqa: E402
from disburse.reports.api import bp as reports_api  # noqa: E402
from disburse.verification.api import bp as review_api  # noqa: E402

#: Every feature's API blueprint; their endpoints are named ``api.<feature>.<view>``.
FEATURE_APIS = [claims_api, forms_api, review_api, providers_api, reports_api]

for feature_api in FEATURE_APIS:
    bp.register_blueprint(feature_api)

from disburse.api.idempotency import register_idempotency  # noqa: E402

register_idempotency(bp)  # Idempotency-Key on every POST of every feature's API

from disburse.api import openapi  # noqa: E402,F401  (registers /openapi.json on bp, built from every route)
