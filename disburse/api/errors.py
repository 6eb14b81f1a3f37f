"""The API's one error shape: ``{"error": code, "message": ..., "fields": {...}}``."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue


def api_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> ResponseReturnValue:
    return jsonify({"error": code, "message": message, "fields": fields or {}}), status
