"""How errors look: the API's one JSON shape, ``{"error": code, "message": ..., "fields": {...}}``, and the site's
error pages (the site's layout, the user's language); the outside services being down is a 503, never a 500; input
the database refuses is a 422 naming the field, never a 500.

API messages follow the caller's ``Accept-Language`` (Vietnamese by default); pages follow the user's language. A
program (no session cookie) gets the API's shape on the pages' URLs too when it names a bearer token, asks for JSON or
polls a job's progress (:func:`_is_api`): never the sign-in form's redirect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import kombu.exceptions
import limits.errors
import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from disburse.formatting import file_size

log = logging.getLogger(__name__)

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
    413: ("too_large", "Yêu cầu quá lớn.", "The request is too large."),
    422: ("invalid", "Dữ liệu chưa đúng; xem từng trường.", "Some fields are not valid; see each field."),
    429: ("rate_limited", "Quá nhiều yêu cầu; vui lòng thử lại sau.", "Too many requests; please try again later."),
    500: ("server_error", "Lỗi hệ thống; vui lòng thử lại sau.", "Something went wrong on our side; try again later."),
    503: (
        "unavailable",
        "Hệ thống đang tạm thời gián đoạn; vui lòng thử lại sau ít phút.",
        "The service is briefly unavailable; please try again in a few minutes.",
    ),
}

#: A service we depend on did not answer (Redis: the rate limiter's counters and the task queue; PostgreSQL): the
#: request cannot be served safely now, and will be later. Never answer a 500 for it, and never go on without it
#: (sign-in without its rate limits would let password guessing run unchecked).
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.RedisError,
    limits.errors.StorageError,
    kombu.exceptions.OperationalError,
    sqlalchemy.exc.OperationalError,
)
#: Seconds a client is asked to wait after a 503.
RETRY_AFTER_S = 30

#: Path and query-string values longer than this are refused: no identifier or code of ours comes near it.
MAX_PARAMETER_LENGTH = 200


def wants_english() -> bool:
    return request.accept_languages.best_match(["vi", "en"]) == "en"


def message(vi: str, en: str) -> str:
    return en if wants_english() else vi


def api_error(status: int, code: str, text: str, fields: dict[str, Any] | None = None) -> ResponseReturnValue:
    return jsonify({"error": code, "message": text, "fields": fields or {}}), status


def invalid(fields: dict[str, str]) -> ResponseReturnValue:
    """422 ``invalid`` with a message per field."""
    return api_error(422, "invalid", message(*_HTTP_MESSAGES[422][1:]), fields)


#: The pages' endpoints that answer JSON: the job's progress, which ``POST /api/v1/notices/batches`` names in its
#: Location for an API client to poll (and the job's page polls). Their errors are the API's JSON to any request but a
#: browser's (:func:`_from_a_browser`), signed in or not.
JSON_RESOURCES = frozenset({"jobs.status"})


def _from_a_browser() -> bool:
    """Whether the request carries the site's session cookie, which only a browser holds (signed in or not)."""
    return current_app.session_interface.get_cookie_name(current_app) in request.cookies


def _is_api() -> bool:
    """Whether an error is answered in the API's JSON shape rather than as a page or the sign-in page: under /api/
    always; elsewhere, to a program (a request without the session cookie a browser holds) that names a bearer token,
    asks for JSON rather than HTML (``Accept``), or calls a JSON resource (:data:`JSON_RESOURCES`). A program is never
    sent to the sign-in form, nor given an HTML page for a 404; a browser keeps the pages' answers."""
    if request.path.startswith("/api/"):
        return True
    if _from_a_browser():
        return False
    from disburse.auth.loaders import bearer_token

    return (
        request.endpoint in JSON_RESOURCES
        or bearer_token(request) is not None
        or request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    )


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code, vi, en = _HTTP_MESSAGES.get(status, ("error", exc.name, exc.name))
    if status == 413 and request.max_content_length:  # the limit named, as the pages name it
        size = request.max_content_length
        vi, en = f"{vi[:-1]} (tối đa {file_size(size, 'vi')}).", f"{en[:-1]} (at most {file_size(size, 'en')})."
    response = make_response(api_error(status, code, message(vi, en)))
    # What the exception says in its own headers (a 405's Allow, a 429's Retry-After) is kept.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# ------------------------------------------------------------------------------------------------------ pages


def _page_texts(status: int) -> tuple[str, str]:
    """The page's heading and explanation, in the user's language (Vietnamese first, through Flask-Babel)."""
    texts = {
        400: (_("Yêu cầu không hợp lệ"), _("Trang không đọc được yêu cầu này. Hãy quay lại và thử lại.")),
        403: (_("Không có quyền truy cập"), _("Tài khoản của bạn không được dùng trang này.")),
        404: (_("Không tìm thấy trang"), _("Hãy kiểm tra lại địa chỉ, hoặc về trang chủ.")),
        405: (_("Yêu cầu không hợp lệ"), _("Trang này không nhận yêu cầu theo cách đó.")),
        413: (_("Yêu cầu quá lớn"), _("Dữ liệu gửi lên lớn hơn mức trang này nhận.")),
        429: (_("Quá nhiều lần thử"), _("Bạn đã thử quá nhiều lần trong thời gian ngắn. Hãy đợi một lát rồi thử lại.")),
        500: (_("Lỗi hệ thống"), _("Đã có lỗi ở phía chúng tôi. Hãy thử lại sau.")),
        503: (
            _("Dịch vụ tạm thời gián đoạn"),
            _(
                "Hệ thống tạm thời không thực hiện được việc này; những gì vừa gửi chưa được xử lý. "
                "Hãy thử lại sau ít phút."
            ),
        ),
    }
    return texts.get(status, (_("Lỗi"), _("Đã có lỗi. Hãy thử lại sau.")))


#: When even the layout cannot be drawn (it reads the signed-in user, so the database being down is enough): a page
#: in both languages that needs nothing but this string.
_BARE_PAGE = (
    '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{status} · disburse</title></head><body>'
    '<main><h1>{status}</h1><p lang="vi">Hệ thống tạm thời gặp sự cố. Hãy thử lại sau ít phút.</p>'
    '<p lang="en">Something went wrong. Please try again in a few minutes.</p></main></body></html>'
)


def error_page(status: int, detail: str | None = None) -> Response:
    """The error page for ``status`` in the site's layout and the user's language."""
    title, text = _page_texts(status)
    try:
        body = render_template("errors/error.html", status=status, title=title, text=detail or text)
    except Exception:  # the layout itself failed (database down, …): still answer, never a second error
        log.exception("could not render the %s page", status)
        body = _BARE_PAGE.format(status=escape(status))
    return Response(body, status=status, mimetype="text/html")


def _page_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code == 401:  # a page that needs a signed-in user: sign in, then come back (to a page a GET answers)
        from disburse.auth.views import page_to_return_to

        back = page_to_return_to()
        return redirect(url_for("auth.login", next=back) if back else url_for("auth.login"))
    if isinstance(exc, CSRFError):
        from disburse.forms import form_again_after_expiry

        again = form_again_after_expiry()  # a public or sign-in form: the same page, what was typed kept
        if again is not None:
            return again
        return error_page(400, _("Biểu mẫu đã hết hạn. Hãy tải lại trang rồi gửi lại."))
    detail = None
    if exc.code == 429:
        from disburse.forms import form_again_after_limit, limit_resets_in, too_many_tries_message

        again = form_again_after_limit()  # a form behind a rate limit: the same page, what was typed kept
        if again is not None:
            return again
        detail = too_many_tries_message(limit_resets_in())  # elsewhere the error page, saying how long to wait
    elif exc.code == 413 and request.max_content_length:
        detail = _(
            "Dữ liệu gửi lên lớn hơn mức trang này nhận (tối đa %(size)s).", size=file_size(request.max_content_length)
        )
    response = error_page(exc.code or 500, detail)
    # Keep what the exception carries for the client (Allow on a 405, Retry-After on a 429 or 503).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    if not _is_api():
        return _page_error(exc)
    if exc.code == 404:
        # Nothing was found for a value that can never be valid (a newline, NUL, a path's percent-encoding that is
        # not UTF-8, over the length): that value is the client's mistake to fix, not a record that is missing.
        problems = unreadable_inputs()
        if problems:
            return invalid({name: message(vi, en) for name, (vi, en) in problems.items()})
    return _http_error(exc)


def _handle_unavailable(exc: Exception) -> ResponseReturnValue:
    from disburse.extensions import db, limiter

    log.error("service unavailable for %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        db.session.rollback()
    # Nothing of this request is to be counted any more: Flask-Limiter would otherwise try again after the
    # response (a failed sign-in's deduction, the rate-limit headers) and raise the same storage error there.
    limiter.context.reset()
    if not _is_api() and not isinstance(exc, sqlalchemy.exc.OperationalError):
        from disburse.forms import form_again_after_outage

        try:  # a form page: given back with what was typed (Redis alone is down: the page draws without it)
            again = form_again_after_outage(RETRY_AFTER_S)
        except Exception:  # the page could not be drawn either: the error page says it all
            log.exception("the form page could not be shown again during the outage")
            db.session.rollback()
            again = None
        if again is not None:
            return again
    return _handle_http(ServiceUnavailable(retry_after=RETRY_AFTER_S))


# ------------------------------------------------------------------------------------------------------ input


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a decoded JSON body, with where it sits (``rows.0.si_code``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def _parameter_problem(value: str) -> tuple[str, str] | None:
    """Why a path or query-string value can never be valid: control characters (NUL among them, which
    PostgreSQL refuses in text), U+FFFD (what a percent-encoding in the path that is not UTF-8 decodes to; in the
    query string Werkzeug keeps such a sequence as the literal text "%FF"), or its length."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\ufffd" for c in value):
        return ("Giá trị chứa ký tự không hợp lệ.", "The value contains characters that are not allowed.")
    if len(value) > MAX_PARAMETER_LENGTH:
        return (
            f"Giá trị dài quá {MAX_PARAMETER_LENGTH} ký tự.",
            f"The value is longer than {MAX_PARAMETER_LENGTH} characters.",
        )
    return None


def unreadable_parameters() -> dict[str, tuple[str, str]]:
    """The path and query-string values of this request that no route could accept (see _parameter_problem), with
    their (Vietnamese, English) reasons. Reads no body: a route that verifies its raw body still can."""
    problems: dict[str, tuple[str, str]] = {}
    for name, value in [*(request.view_args or {}).items(), *request.args.items(multi=True)]:
        problem = _parameter_problem(str(value))
        if problem:
            problems.setdefault(name, problem)
    return problems


def request_json() -> Any:
    """The request's JSON body, or None when it has none that can be read: not JSON, or nested deeper than Python
    parses (``get_json(silent=True)`` lets RecursionError through: a 500 for a body of 100,000 ``[``)."""
    try:
        return request.get_json(silent=True, cache=True)
    except RecursionError:
        return None


def unreadable_inputs() -> dict[str, tuple[str, str]]:
    """Every input of this request that no route could accept, with its (Vietnamese, English) reason: path and
    query-string values (see _parameter_problem), and form fields and JSON strings holding NUL."""
    problems = unreadable_parameters()
    nul = ("Giá trị chứa ký tự NUL.", "The value contains a NUL character.")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if "\x00" in value:
                problems.setdefault(name, nul)
    elif request.is_json:
        for name, value in _strings(request_json(), ""):
            if "\x00" in value:
                problems.setdefault(name or "body", nul)
    return problems


def _handle_data_error(exc: sqlalchemy.exc.DataError) -> ResponseReturnValue:
    """The database refused a value (NUL in text, a string too long for its column, a number out of range).

    Every view checks its input first and names every bad field at once; this is the net under a check that was
    missed: when the request carries input that can never be valid, the answer is the 422 (or, for a page, the 400)
    naming it, not a 500. Otherwise the value was ours, a bug: re-raised, it is the 500 it is.
    """
    from disburse.extensions import db

    db.session.rollback()
    problems = unreadable_inputs()
    if not problems:
        raise exc
    log.warning("the database refused input of %s %s: %s", request.method, request.path, ", ".join(problems))
    if _is_api():
        return invalid({name: message(vi, en) for name, (vi, en) in problems.items()})
    return error_page(400)


def register_error_handlers(app: Flask) -> None:
    """JSON errors for every /api/ URL (also unknown ones); pages send signed-out users to the sign-in page and
    otherwise show the error page; a service that does not answer is a 503; input the database refuses is a 422."""
    app.register_error_handler(HTTPException, _handle_http)
    for exc in UNAVAILABLE:
        app.register_error_handler(exc, _handle_unavailable)
    app.register_error_handler(sqlalchemy.exc.DataError, _handle_data_error)
