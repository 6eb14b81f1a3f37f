"""The API's one error shape: ``{"error": code, "message": ..., "fields": {...}}``.

Messages follow the caller's language (``Accept-Language``; Vietnamese by default).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

#: HTTP status → (code, Vietnamese, English)
_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Yêu cầu không hợp lệ.", "The request is not valid."),
    401: (
        "unauthorized",
        "Cần đăng nhập hoặc gửi mã truy cập (Authorization: Bearer …).",
        "Sign in or send an API token (Authorization: Bearer …).",
    ),
    403: ("forbidden", "Bạn không có quyền xem hoặc sửa mục này.", "You are not allowed to see or change this."),
    404: ("not_found", "Không tìm thấy.", "Not found."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ.", "This method is not allowed here."),
    409: ("conflict", "Dữ liệu đã tồn tại.", "This already exists."),
    422: ("invalid", "Dữ liệu chưa đúng; xem từng trường.", "Some fields are not valid; see each field."),
    429: ("rate_limited", "Quá nhiều yêu cầu; vui lòng thử lại sau.", "Too many requests; please try again later."),
    500: ("server_error", "Lỗi hệ thống; vui lòng thử lại sau.", "Something went wrong on our side; try again later."),
}


def wants_english() -> bool:
    return request.accept_languages.best_match(["vi", "en"]) == "en"


def message(vi: str, en: str) -> str:
    return en if wants_english() else vi


def api_error(status: int, code: str, text: str, fields: dict[str, Any] | None = None) -> ResponseReturnValue:
    return jsonify({"error": code, "message": text, "fields": fields or {}}), status


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code, vi, en = _HTTP_MESSAGES.get(status, ("error", exc.name, exc.name))
    return api_error(status, code, message(vi, en))


def register_error_handlers(app: Flask) -> None:
    """JSON errors for every /api/ URL (also unknown ones); pages send signed-out users to the sign-in page and
    otherwise keep Flask's error pages."""

    def handle(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return _http_error(exc)
        if exc.code == 401:  # a page that needs a signed-in user: sign in, then come back
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return exc

    app.register_error_handler(HTTPException, handle)
