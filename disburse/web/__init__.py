"""Server-rendered pages (Vietnamese first, English too)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from disburse.web import views  # noqa: E402,F401  (registers routes on bp)
