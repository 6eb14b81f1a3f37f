"""Provider callbacks (mounted under /api/v1 by :mod:`disburse.api`).

POST /providers/<name>/events    a provider's signed callback (Standard Webhooks), e.g. the sandbox bank's
                                 G2P Connect ``on-disburse``

Open to the network (no session, no token): the provider proves itself by the ``webhook-signature`` over the body,
checked against each of our secrets, within five minutes of ``webhook-timestamp``. The answer comes at once: a
signed callback is stored (a second delivery of the same ``webhook-id`` changes nothing) and applied by the
``provider-events`` queue; a callback that does not check out is refused with 401 and kept for audit, never applied.

Only a provider the programme pays through (``DISBURSE_PAYMENT_PROVIDER``) that calls back is there, and one it paid
through before, while its payments may still have news (sent, or settled and so returnable); any other name,
and a provider this deployment cannot use (the sandbox in production), is a 404 and nothing is kept. A signed
callback is never rate-limited; refused ones are counted per address and overall
(:func:`disburse.auth.limits.refused_callback_allowed`): past the limit they are answered 429 and not kept, and the
payments sweeper deletes the kept ones after ``DISBURSE_REFUSED_CALLBACK_DAYS``.
"""

from __future__ import annotations

import logging
from typing import Literal, cast

from flask import Blueprint, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from pydantic import Field

from config import ConfigError
from disburse.api.errors import api_error, message
from disburse.api.schemas import ResponseModel, endpoint
from disburse.auth.limits import refused_callback_allowed
from disburse.auth.permissions import public
from disburse.background import enqueue_after_commit
from disburse.extensions import db
from disburse.payments import events
from disburse.payments.adapters import CALLBACK_PROVIDERS, bank_provider_name, may_still_call_back, provider_for
from disburse.payments.providers import CallbackProvider, InvalidSignature, UnreadableCallback

log = logging.getLogger(__name__)

bp = Blueprint("providers", __name__)

#: A callback is a few thousand statuses at most; more is not a callback.
MAX_CALLBACK_BYTES = 5 * 1024 * 1024


class EventReceived(ResponseModel):
    status: Literal["received", "duplicate"] = Field(
        description="received: checked and stored, applied within seconds; duplicate: this webhook-id came before."
    )


@bp.post("/providers/<name>/events")
@public  # authenticated by the provider's signature, checked below
@endpoint(
    tag="Providers",
    summary="A payment provider's signed callback (Standard Webhooks)",
    description="No session and no token: the provider proves itself by its signature over the body.",
    response=EventReceived,
    headers={
        "webhook-id": "The message's id (the same on every retry).",
        "webhook-timestamp": "Unix seconds, within 5 minutes of our clock.",
        "webhook-signature": 'v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">, space-separated while rotating.',
    },
    raw_body="The provider's own message (the sandbox: a G2P Connect on-disburse), at most 5 MB, signed as sent.",
    errors={
        400: "unreadable_body: the signature is right but the body is not JSON; webhook_id_too_long: a webhook-id over "
        "100 characters (both kept for audit, never applied).",
        401: "invalid_signature: no signature, a wrong one, or a timestamp more than 5 minutes away.",
        404: "Not a provider this programme pays through, or one without callbacks.",
        413: "A body over 5 MB, with or without a Content-Length.",
        429: "rate_limited: too many refused callbacks from this address (or from all); a signed one never is.",
    },
)
def provider_event(name: str) -> ResponseReturnValue:
    provider = _callback_provider(name)
    if provider is None:
        return api_error(
            404,
            "not_found",
            message("Không có nhà cung cấp thanh toán này.", "There is no such payment provider."),
        )
    # The cap holds for a body sent in chunks too (no Content-Length): read one byte past it, at most.
    too_large = api_error(413, "too_large", message("Nội dung quá lớn.", "The body is too large."))
    if (request.content_length or 0) > MAX_CALLBACK_BYTES:
        return too_large
    body = request.stream.read(MAX_CALLBACK_BYTES + 1)
    if len(body) > MAX_CALLBACK_BYTES:
        return too_large
    headers = dict(request.headers.items())
    try:
        payload = provider.verify(body, headers)
    except UnreadableCallback as exc:
        events.store_refused(name, body, headers, str(exc))
        db.session.commit()
        log.warning("a signed %s callback that is not JSON: %s", name, exc, extra={"provider": name})
        return api_error(
            400,
            "unreadable_body",
            message(
                "Chữ ký hợp lệ nhưng nội dung không phải JSON.", "The signature is valid but the body is not JSON."
            ),
        )
    except InvalidSignature as exc:
        allowed, retry_after = refused_callback_allowed()
        if not allowed:
            log.warning("refused a %s callback, not kept: too many refused", name, extra={"provider": name})
            response = make_response(
                api_error(
                    429,
                    "rate_limited",
                    message("Quá nhiều yêu cầu; vui lòng thử lại sau.", "Too many requests; please try again later."),
                )
            )
            response.headers["Retry-After"] = str(retry_after)
            return response
        events.store_refused(name, body, headers, f"invalid signature: {exc}")
        db.session.commit()
        log.warning("refused a %s callback: %s", name, exc, extra={"provider": name})
        response = make_response(
            api_error(
                401,
                "invalid_signature",
                message("Chữ ký không hợp lệ hoặc đã quá hạn.", "The signature is invalid or too old."),
            )
        )
        # Not a bearer token: the Standard Webhooks headers, signed with the provider's secret.
        response.headers["WWW-Authenticate"] = f'webhook-signature realm="{name}"'
        return response
    if events.event_id_too_long(headers):
        events.store_refused(name, body, headers, f"webhook-id longer than {events.MAX_EVENT_ID} characters")
        db.session.commit()
        log.warning("a signed %s callback whose webhook-id is too long", name, extra={"provider": name})
        return api_error(
            400,
            "webhook_id_too_long",
            message(
                f"webhook-id dài quá {events.MAX_EVENT_ID} ký tự.",
                f"The webhook-id is longer than {events.MAX_EVENT_ID} characters.",
            ),
            {
                "webhook-id": message(
                    f"Tối đa {events.MAX_EVENT_ID} ký tự.", f"At most {events.MAX_EVENT_ID} characters."
                )
            },
        )
    event_id = events.store_event(name, payload, body, headers)
    if event_id is not None:
        enqueue_after_commit("payments.apply_events", best_effort=True)
    db.session.commit()
    return jsonify({"status": "received" if event_id is not None else "duplicate"}), 200


def _callback_provider(name: str) -> CallbackProvider | None:
    """The provider ``name`` if it calls back and the programme pays through it here, or paid through it before (the
    configured provider changed since) and may still have news: payments still sent, or settled ones that may come
    back; else None (a 404)."""
    if name not in CALLBACK_PROVIDERS or (name != bank_provider_name() and not may_still_call_back(name)):
        return None
    try:
        return cast(CallbackProvider, provider_for(name))
    except ConfigError as exc:  # configured, but not usable in this deployment (the sandbox in production)
        log.warning("a %s callback for a provider that cannot be used here: %s", name, exc, extra={"provider": name})
        return None
