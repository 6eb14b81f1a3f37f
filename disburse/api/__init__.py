"""The JSON API under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from disburse.api import employees, health  # noqa: E402,F401  (registers routes on bp)
