"""Rate limits: who is counted, and how much they may do.

The limiter (disburse.extensions.limiter) counts in Redis, shared by every web process and node. The numbers are
in the config (``LIMIT_*`` in config.py), read at each request so that they can differ per deployment.

- Sign-in: every attempt per client address; failed attempts also per account (the e-mail typed), so that
  guessing one person's password from many addresses is slowed down as well.
- API: per client address, and per caller (the bearer token, else the signed-in user), over all API routes
  together. ``GET /api/v1/health`` is never limited: a load balancer's check must answer even when Redis, where the
  counters live, does not.

Keys never hold a token or an e-mail address, only a digest of it: Redis is not the place for either.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request, session
from flask_limiter.util import get_remote_address

from disburse.extensions import limiter

#: Endpoints no limit applies to (see the module docstring).
#: Provider callbacks are signed, not per caller: a bank's bursts are not throttled (they are answered fast and
#: refused ones are kept capped).
UNLIMITED_ENDPOINTS = frozenset({"api.health", "api.providers.provider_event"})


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def sign_in_account_key() -> str:
    """The account a sign-in attempt is for: the e-mail as typed, trimmed and lower-cased (as the look-up does)."""
    return "account:" + _digest((request.form.get("email") or "").strip().lower())


def api_caller_key() -> str:
    """The API caller: the bearer token, else the signed-in user, else the client address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + _digest(token.strip())
    session_user = str(session.get("_user_id") or "").partition(":")[0]
    if session_user:
        return "user:" + session_user
    return "address:" + get_remote_address()


def _failed_sign_in(response: Response) -> bool:
    # A successful sign-in redirects; everything else (the form again, with an error) is a failed attempt.
    return response.status_code != 302


def _unlimited() -> bool:
    return request.endpoint in UNLIMITED_ENDPOINTS


def _config(name: str) -> str:
    return str(current_app.config[name])


sign_in_per_address = limiter.limit(
    lambda: _config("LIMIT_SIGN_IN_PER_ADDRESS"), key_func=get_remote_address, methods=["POST"]
)
sign_in_per_account = limiter.limit(
    lambda: _config("LIMIT_SIGN_IN_PER_ACCOUNT"),
    key_func=sign_in_account_key,
    methods=["POST"],
    deduct_when=_failed_sign_in,
)


def signed_in_user_key() -> str:
    """The signed-in user (the session's user id), for limits on what a signed-in user tries."""
    return "user:" + (str(session.get("_user_id") or "").partition(":")[0] or get_remote_address())


#: The account page checks the current password before changing it: failed checks are counted per user as failed
#: sign-ins are per account, so that a session left open does not become a way to guess the password.
password_change_per_user = limiter.limit(
    lambda: _config("LIMIT_SIGN_IN_PER_ACCOUNT"),
    key_func=signed_in_user_key,
    methods=["POST"],
    deduct_when=_failed_sign_in,
)

_limited_blueprints: set[str] = set()


def limit_api(blueprint: Blueprint) -> None:
    """Put the API's limits on ``blueprint`` and every blueprint nested in it (once per process: the limiter is one
    object however many apps the process builds)."""
    if blueprint.name in _limited_blueprints:
        return
    _limited_blueprints.add(blueprint.name)
    limiter.shared_limit(
        lambda: _config("LIMIT_API_PER_ADDRESS"),
        scope="api-address",
        key_func=get_remote_address,
        exempt_when=_unlimited,
    )(blueprint)
    limiter.shared_limit(
        lambda: _config("LIMIT_API_PER_CALLER"), scope="api-caller", key_func=api_caller_key, exempt_when=_unlimited
    )(blueprint)
