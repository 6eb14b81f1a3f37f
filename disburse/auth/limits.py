"""Rate limits: who is counted, and how much they may do.

The limiter (disburse.extensions.limiter) counts in Redis, shared by every web process and node. The numbers are
in the config (``LIMIT_*`` in config.py), read at each request so that they can differ per deployment.

- Sign-in: every attempt per client address; failed attempts also per account (the e-mail typed), so that
  guessing one person's password from many addresses is slowed down as well.
- The person's status page: every look-up per client address; those that found nobody also per SI code typed.
- API: per client address, and per caller (the bearer token, else the signed-in user), over all API routes
  together. ``GET /api/v1/health`` is never limited: a load balancer's check must answer even when Redis, where the
  counters live, does not.
- Provider callbacks (``POST /api/v1/providers/<name>/events``): a callback signed by the provider is never counted
  nor slowed (a bank's bulk run sends thousands). Only the refused ones count (:func:`refused_callback_allowed`,
  after the signature was checked): per client address, and all addresses together, so that forged posts cannot
  fill the table refused callbacks are kept in for audit.

Keys never hold a token or an e-mail address, only a digest of it: Redis is not the place for either.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Blueprint, Response, current_app, request, session
from flask_limiter.util import get_remote_address
from limits import parse_many

from disburse.auth.text import email_key
from disburse.extensions import limiter

#: Endpoints no limit applies to (see the module docstring).
#: Provider callbacks are signed, not per caller: a bank's bursts are not throttled (they are answered fast); the
#: refused ones are counted by :func:`refused_callback_allowed`.
UNLIMITED_ENDPOINTS = frozenset({"api.health", "api.providers.provider_event"})


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def sign_in_account_key() -> str:
    """The account a sign-in attempt is for: the e-mail as the look-up reads it (:func:`disburse.auth.text.email_key`:
    compatibility-composed, trimmed, lower-cased), so that the same address typed full-width or decomposed counts
    against the same account rather than starting a count of its own."""
    return "account:" + _digest(email_key(request.form.get("email") or ""))


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


def person_key() -> str:
    """The person a public look-up is about: the SI code typed, cleaned as the look-up cleans it (the page takes form
    bodies only, so ``request.form`` is what its form reads)."""
    from disburse.claims.person_details import clean_identity

    return "person:" + _digest(clean_identity(request.form.get("si_code") or "", "")[0])


def _nobody_found(response: Response) -> bool:
    return response.status_code == 404


#: The person's status page answers differently when nobody matches (it must: the person is told): look-ups that
#: found nobody are counted per SI code typed, from any address, so that guessing a known person's date of birth or
#: ID number from many addresses is slowed down as well. Found ones are not: a person may look as often as they like.
person_status_per_person = limiter.limit(
    lambda: _config("LIMIT_PERSON_STATUS_PER_PERSON"),
    key_func=person_key,
    methods=["POST"],
    deduct_when=_nobody_found,
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


def rate_limit_headers(response: Response) -> Response:
    """The ``X-RateLimit-*`` headers of the limit nearest to refusing the caller, and ``Retry-After`` only on an
    answer that asks to wait (429, 503). The limiter names the first of two limits with the same window (the API's
    per-address one, while the per-caller one runs out) and puts ``Retry-After`` on every answer. Registered before
    the limiter, so that it runs after the limiter's own (Flask runs them last registered first)."""
    limits = limiter.current_limits if limiter.enabled and "X-RateLimit-Limit" in response.headers else []
    if limits:
        nearest = min(limits, key=lambda limit: limit.remaining)
        response.headers["X-RateLimit-Limit"] = str(nearest.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(nearest.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(nearest.reset_at))
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


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


#: Refused provider callbacks (bad, stale or missing signature), per client address and all addresses together,
#: unless the config says otherwise: past either, a refused callback is answered 429 and not kept. The overall one
#: bounds the refused rows kept (its daily figure times DISBURSE_REFUSED_CALLBACK_DAYS, their retention).
DEFAULT_CALLBACK_REFUSALS_PER_ADDRESS = "30 per minute; 300 per hour"
DEFAULT_CALLBACK_REFUSALS = "100 per minute; 2000 per day"


def refused_callback_allowed() -> tuple[bool, int]:
    """Count one refused provider callback; (whether it may still be kept, seconds until it may again). Called only
    after the signature was found wrong: a signed callback is never counted. Raises the limiter's storage error when
    Redis does not answer (the request is then a 503, and nothing is kept)."""
    if not limiter.enabled:
        return True, 0
    config = current_app.config
    counted = (
        (
            config.get("LIMIT_CALLBACK_REFUSALS_PER_ADDRESS", DEFAULT_CALLBACK_REFUSALS_PER_ADDRESS),
            get_remote_address(),
        ),
        (config.get("LIMIT_CALLBACK_REFUSALS", DEFAULT_CALLBACK_REFUSALS), "all"),
    )
    for limit_string, who in counted:
        for item in parse_many(str(limit_string)):
            if not limiter.limiter.hit(item, "callback-refused", who):
                reset = limiter.limiter.get_window_stats(item, "callback-refused", who).reset_time
                return False, max(1, math.ceil(reset - time.time()))
    return True, 0
