"""The JSON API under /api/v1: its error shape (errors.py), the health check (health.py), and the registry of the
features' API blueprints, each mounted here so that every feature owns its own routes (``<feature>/api.py``)."""

from flask import Blueprint, Response, request

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_request
def _options(response: Response) -> Response:
    """``OPTIONS`` on an API route: ``204 No Content`` with the route's methods in ``Allow`` (Flask's own answer is a
    200 with an empty body typed text/html, which no API client can read as the API's JSON)."""
    if request.method != "OPTIONS" or response.status_code != 200 or response.get_data():
        return response
    answer = Response(status=204)
    answer.headers.remove("Content-Type")
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            answer.headers.add(name, value)
    return answer


from disburse.api import health  # noqa: E402,F401  (registers /health on bp)
from disburse.casework.api import bp as casework_api  # noqa: E402
from disburse.claims.api import bp as claims_api  # noqa: E402
from disburse.claims.forms_api import bp as forms_api  # noqa: E402
from disburse.payments.api import bp as providers_api  # noqa: E402
from disburse.reports.api import bp as reports_api  # noqa: E402
from disburse.verification.api import bp as review_api  # noqa: E402

#: Every feature's API blueprint; their endpoints are named ``api.<feature>.<view>``.
FEATURE_APIS = [claims_api, forms_api, review_api, casework_api, providers_api, reports_api]

for feature_api in FEATURE_APIS:
    bp.register_blueprint(feature_api)

from disburse.api.idempotency import register_idempotency  # noqa: E402

register_idempotency(bp)  # Idempotency-Key on every POST of every feature's API

from disburse.api import openapi  # noqa: E402,F401  (registers /openapi.json on bp, built from every route)
