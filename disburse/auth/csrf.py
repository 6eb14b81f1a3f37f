"""Cross-site request forgery: another site making a signed-in browser send a request to us.

- Pages: Flask-WTF's CSRFProtect. Every form that changes something (sign-in, sign-out, …) carries a token tied to
  the session; a POST without it is refused (400).
- The API is exempt from those tokens (programs call it with bearer tokens, which a browser never adds on its own),
  but it accepts the session cookie too. Two layers protect that: the cookie is ``SameSite=Lax`` (browsers do not
  send it with another site's POST), and a request that changes something and is authenticated by the cookie alone
  must be JSON: an HTML form on another site cannot send ``application/json``, and a script there cannot without a
  CORS preflight, which we never answer.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask.typing import ResponseReturnValue

from disburse.api.errors import api_error, message

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _has_bearer_token() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def refuse_cookie_writes_without_json() -> ResponseReturnValue | None:
    if not request.path.startswith("/api/") or request.method not in UNSAFE_METHODS:
        return None
    if _has_bearer_token() or not session.get("_user_id") or request.mimetype == "application/json":
        return None
    return api_error(
        400,
        "bad_request",
        message(
            "Khi dùng phiên đăng nhập, hãy gửi nội dung JSON (Content-Type: application/json).",
            "When signed in with a session, send a JSON body (Content-Type: application/json).",
        ),
    )


def register_api_csrf(app: Flask) -> None:
    app.before_request(refuse_cookie_writes_without_json)
