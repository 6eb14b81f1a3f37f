"""Callbacks are signed per Standard Webhooks; parse_event refuses anything that does not check out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from disburse.payments.providers import InvalidSignature, ProviderStatus

from .conftest import OLD_SECRET, SECRET, order

BODY = json.dumps(
    {
        "header": {"action": "on-disburse", "message_id": "msg_1"},
        "message": {
            "transaction_id": "B-1",
            "disbursements_status": [
                {"reference_id": "R-1", "status": "succ", "timestamp": "2026-12-03T08:00:00Z", "amount": "2100000"}
            ],
        },
    }
)


def _signed(bank, *, moment=None, body=BODY):
    return bank.sandbox.sign("msg_1", body, moment)


def test_a_real_callback_verifies(bank, make_provider):
    [update] = make_provider(bank).parse_event(BODY.encode(), _signed(bank))
    assert (update.reference, update.status, update.amount_vnd, update.event_id) == (
        "R-1",
        ProviderStatus.PAID,
        2_100_000,
        "msg_1",
    )


def test_headers_are_case_insensitive(bank, make_provider):
    headers = {k.title(): v for k, v in _signed(bank).items()}
    assert make_provider(bank).parse_event(BODY.encode(), headers)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"2100000", b"9100000")), id="body changed"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_2"}, b), id="id changed"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="wrong signature"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1"}, b), id="malformed signature"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,***"}, b), id="not base64"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1", "v2")}, b), id="v2"),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), id="no signature"),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-timestamp"}, b), id="no timestamp"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": "yesterday"}, b), id="timestamp not a number"),
        pytest.param(lambda h, b: (h, b"\xff\xfe"), id="body not UTF-8"),
    ],
)
def test_a_bad_signature_is_refused(bank, make_provider, tamper):
    headers, body = tamper(_signed(bank), BODY.encode())
    with pytest.raises(InvalidSignature):
        make_provider(bank).parse_event(body, headers)


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_outside_five_minutes_is_refused_even_when_signed(bank, make_provider, minutes):
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    with pytest.raises(InvalidSignature, match=r"too (old|new)"):
        make_provider(bank).parse_event(BODY.encode(), _signed(bank, moment=moment))


def test_a_timestamp_within_five_minutes_is_accepted(bank, make_provider):
    moment = datetime.now(UTC) - timedelta(minutes=4)
    assert make_provider(bank).parse_event(BODY.encode(), _signed(bank, moment=moment))


def test_key_rotation(make_bank, make_provider, receiver):
    """The bank signs with the new and the old secret while rotating; we accept a callback signed with any secret
    we hold, and refuse one signed only with a secret we do not hold."""
    rotating = make_bank(webhook_secret=[SECRET, OLD_SECRET])
    headers = rotating.sandbox.sign("msg_1", BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert make_provider(rotating, webhook_secret=OLD_SECRET).parse_event(BODY.encode(), headers)
    assert make_provider(rotating, webhook_secret=SECRET).parse_event(BODY.encode(), headers)

    old_only = make_bank(webhook_secret=OLD_SECRET).sandbox.sign("msg_1", BODY)
    assert make_provider(rotating, webhook_secret=f"{SECRET} {OLD_SECRET}").parse_event(BODY.encode(), old_only)
    with pytest.raises(InvalidSignature, match="No matching signature"):
        make_provider(rotating, webhook_secret=SECRET).parse_event(BODY.encode(), old_only)


def test_real_callbacks_are_signed_with_a_fresh_timestamp_on_every_try(bank, make_provider, receiver):
    receiver.statuses = [500]
    provider = make_provider(bank)
    provider.send("B-1", [order("R-1")])
    bank.sandbox.settle_due()
    bank.sandbox.deliver_due()
    bank.sandbox.deliver_due(now=datetime.now(UTC) + timedelta(seconds=5))
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for callback in (first, second):
        assert provider.parse_event(callback.body, callback.headers)[0].status is ProviderStatus.PAID
