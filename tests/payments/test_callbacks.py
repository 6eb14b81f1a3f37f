"""POST /api/v1/providers/<name>/events: Standard Webhooks signatures checked, every callback kept, a signed one
applied once (by apply_stored, the provider-events queue's work), a bad or stale one refused with 401 and kept for
audit. The callbacks are signed with the standardwebhooks package as the sandbox bank signs them."""

from __future__ import annotations

import io
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from disburse.payments import events
from disburse.payments.adapters import provider_for
from disburse.payments.models import Payment, ProviderEvent
from disburse.payments.providers import ProviderError, StatusUpdate
from disburse.payments.states import PaymentState
from tests.factories import create_payment
from tests.sandbox_bank import OLD_SECRET, SECRET

URL = "/api/v1/providers/sandbox/events"


def _body(items: list[dict]) -> str:
    return json.dumps(
        {
            "signature": None,
            "header": {"version": "1.0.0", "message_id": "m", "action": "on-disburse", "status": "succ"},
            "message": {"transaction_id": "T-1", "correlation_id": "c", "disbursements_status": items},
        }
    )


def _item(payment: Payment, status: str, code: str | None = None) -> dict:
    item = {"reference_id": payment.provider_reference, "status": status, "amount": str(payment.amount_vnd)}
    if code:
        item["reason_code"] = code
    return item


def _signed(body: str, *, secret: str = SECRET, event_id: str | None = None, at: datetime | None = None) -> dict:
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    moment = at or datetime.now(UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, moment, body),
        "content-type": "application/json",
    }


def _post(client, body: str, headers: dict):
    return client.post(URL, data=body, headers=headers)


def _state(db_session, payment: Payment) -> str:
    db_session.expire_all()
    return db_session.get(Payment, payment.id).state


def test_a_signed_callback_is_kept_answered_at_once_and_applied_by_the_queue(client, db_session):
    payment = create_payment(state=PaymentState.SENT)
    body = _body([_item(payment, "succ")])

    response = _post(client, body, _signed(body))

    assert response.status_code == 200 and response.get_json() == {"status": "received"}
    assert _state(db_session, payment) == "sent"  # applied by the queue, not in the request
    stored = db_session.scalars(select(ProviderEvent).where(ProviderEvent.provider == "sandbox")).one()
    assert stored.signature_ok and stored.body == body and stored.processed_at is None
    processed = events.apply_stored()
    assert processed.events == 1 and processed.applied is not None and processed.applied.settled == 1
    assert _state(db_session, payment) == "paid"


def test_the_same_callback_a_thousand_times_is_kept_once_and_applied_once(client, db_session):
    payment = create_payment(state=PaymentState.SENT)
    body = _body([_item(payment, "succ")])
    headers = _signed(body)

    answers = {_post(client, body, headers).get_json()["status"] for _ in range(1000)}

    assert answers == {"received", "duplicate"}
    assert db_session.scalar(select(func.count()).select_from(ProviderEvent)) == 1
    events.apply_stored()
    assert events.apply_stored().events == 0
    assert _state(db_session, payment) == "paid"


def test_shuffled_callbacks_end_where_the_bank_is(client, db_session):
    """Per payment the bank said rcvd, pdng, succ, and for some a return after: delivered in random order, each
    applied as it arrives, every payment ends as the bank's last word."""
    rng = random.Random(116)
    payments = [create_payment(state=PaymentState.SENT) for _ in range(12)]
    returned = set(rng.sample([p.id for p in payments], 4))
    deliveries = []
    for payment in payments:
        words = [("rcvd", None), ("pdng", None), ("succ", None)]
        if payment.id in returned:
            words.append(("rjct", "rjct.returned"))
        deliveries += [_body([_item(payment, status, code)]) for status, code in words]
    rng.shuffle(deliveries)

    for body in deliveries:
        assert _post(client, body, _signed(body)).status_code == 200
        events.apply_stored()

    for payment in payments:
        assert _state(db_session, payment) == ("returned" if payment.id in returned else "paid")


def test_bad_and_stale_signatures_are_refused_kept_for_audit_and_never_applied(client, db_session):
    payment = create_payment(state=PaymentState.SENT)
    body = _body([_item(payment, "succ")])
    forged = _signed(body, secret="whsec_" + "Zm9yZ2VkLXNlY3JldC1mb3JnZWQtc2VjcmV0")
    stale = _signed(body, at=datetime.now(UTC) - timedelta(minutes=6))
    tampered = _signed(body)
    unsigned = {"content-type": "application/json"}

    for headers, sent in ((forged, body), (stale, body), (tampered, body.replace("succ", "rjct")), (unsigned, body)):
        response = _post(client, sent, headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_signature"
        assert response.headers["WWW-Authenticate"] == 'webhook-signature realm="sandbox"'

    kept = db_session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)).all()
    assert [k.signature_ok for k in kept] == [False] * 4 and all(k.error for k in kept)
    assert events.apply_stored().events == 0
    assert _state(db_session, payment) == "sent"
    # A forged event cannot take the real one's id: the real one with the same webhook-id still gets in.
    real = _signed(body, event_id=forged["webhook-id"])
    assert _post(client, body, real).get_json() == {"status": "received"}


def test_a_callback_signed_with_the_old_secret_during_rotation_is_taken(client, app, db_session, monkeypatch):
    from tests.payments.conftest import _forget_providers

    monkeypatch.setitem(app.config, "DISBURSE_SANDBOX_WEBHOOK_SECRET", f"{SECRET} {OLD_SECRET}")
    _forget_providers(app)
    payment = create_payment(state=PaymentState.SENT)
    body = _body([_item(payment, "succ")])
    try:
        assert _post(client, body, _signed(body, secret=OLD_SECRET)).status_code == 200
    finally:
        _forget_providers(app)


def test_unknown_providers_and_oversized_bodies_are_refused(client, db_session):
    assert client.post("/api/v1/providers/bankfile/events", data="{}").status_code == 404
    assert client.post("/api/v1/providers/nobody/events", data="{}").status_code == 404
    huge = "x" * (5 * 1024 * 1024 + 1)
    assert _post(client, huge, _signed(huge)).status_code == 413
    assert db_session.scalar(select(func.count()).select_from(ProviderEvent)) == 0


def test_a_signed_body_that_is_not_json_is_a_400_not_a_wrong_secret(client, db_session):
    """The secret is right (the signature matched), so a 401 would send the operators after the wrong fault."""
    for body in ("this is not json", "{'single': 'quotes'}"):
        answer = _post(client, body, _signed(body))
        assert answer.status_code == 400 and answer.get_json()["error"] == "unreadable_body"
    kept = db_session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)).all()
    assert [(e.signature_ok, e.error.startswith("signed, but the body is not JSON")) for e in kept] == [
        (False, True)
    ] * 2
    assert events.apply_stored().events == 0
    wrong = _post(client, "not json either", _signed("not json either", secret="whsec_" + "A" * 32))
    assert wrong.status_code == 401  # a wrong secret is still a 401, whatever the body


def test_a_webhook_id_over_100_characters_is_refused_never_cut(client, db_session):
    """Two callbacks whose ids share their first 100 characters are two callbacks: cut to 100, the second was
    answered "duplicate" and never applied. A longer id is refused (400, kept for audit); 100 is taken."""
    payments = [create_payment(state=PaymentState.SENT) for _ in range(2)]
    shared = "msg_" + "0" * 96
    for payment, tail in zip(payments, ("-settled", "-other"), strict=True):
        body = _body([_item(payment, "succ")])
        answer = _post(client, body, _signed(body, event_id=shared + tail))
        assert answer.status_code == 400, answer.get_json()
        assert answer.get_json()["error"] == "webhook_id_too_long"
        assert "100" in answer.get_json()["message"] and "webhook-id" in answer.get_json()["fields"]
    kept = db_session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)).all()
    assert [(e.signature_ok, e.error) for e in kept] == [(False, "webhook-id longer than 100 characters")] * 2
    assert kept[0].headers["webhook-id"] == shared + "-settled"  # what came, for audit
    assert events.apply_stored().events == 0
    assert [_state(db_session, p) for p in payments] == ["sent", "sent"]

    body = _body([_item(payments[0], "succ")])
    assert len(shared) == events.MAX_EVENT_ID
    assert _post(client, body, _signed(body, event_id=shared)).get_json() == {"status": "received"}
    events.apply_stored()
    assert _state(db_session, payments[0]) == "paid"


def test_the_size_cap_holds_for_a_body_sent_in_chunks(client, db_session):
    """No Content-Length (as gunicorn passes a chunked body on: ``wsgi.input_terminated``): read up to the cap."""
    huge = b"x" * (5 * 1024 * 1024 + 1)
    answer = client.post(
        URL,
        input_stream=io.BytesIO(huge),
        headers={**_signed(huge.decode()), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(ProviderEvent)) == 0


def test_a_signed_callback_we_cannot_read_is_set_aside_with_its_error(client, db_session):
    body = json.dumps({"message": {"nothing": "here"}})
    assert _post(client, body, _signed(body)).status_code == 200
    processed = events.apply_stored()
    assert processed.unreadable == 1
    kept = db_session.scalars(select(ProviderEvent)).one()
    assert kept.processed_at is not None and "not an on-disburse message" in kept.error


def test_a_signed_callback_with_one_malformed_status_is_set_aside_and_the_next_ones_still_applied(client, db_session):
    """The class: whatever a signed callback holds, reading it either gives updates or sets it aside with its error;
    it never stops the applier (and the payments sweep, which applies stored callbacks first) for the ones after."""
    later = create_payment(state=PaymentState.SENT)
    for bad in (["oops"], [_item(later, "succ"), 5], [{"reference_id": 7, "status": "succ"}], [None]):
        body = json.dumps({"message": {"disbursements_status": bad}})
        assert _post(client, body, _signed(body)).status_code == 200
    good = _body([_item(later, "succ")])
    assert _post(client, good, _signed(good)).status_code == 200

    processed = events.apply_stored()

    assert (processed.unreadable, processed.applied.settled) == (4, 1)
    assert _state(db_session, later) == PaymentState.PAID
    kept = db_session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)).all()
    assert all(e.processed_at is not None for e in kept)
    assert [bool(e.error) for e in kept] == [True, True, True, True, False]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=5),
        max_leaves=20,
    ),
    item=st.dictionaries(
        st.sampled_from(["reference_id", "status", "amount", "timestamp", "reason_code", "status_reason_code"]),
        st.none() | st.integers() | st.text(max_size=60) | st.sampled_from(["succ", "rjct", "pdng", "rcvd"]),
    ),
)
def test_reading_any_signed_payload_gives_updates_or_a_provider_error_never_a_crash(db_session, payload, item):
    provider = cast(Any, provider_for("sandbox"))
    for candidate in (
        payload,
        {"message": {"disbursements_status": [item]}},
        {"message": {"disbursements_status": [payload]}},
    ):
        try:
            updates = provider.read_event(candidate, "msg_1")
        except ProviderError:
            continue
        assert all(isinstance(u, StatusUpdate) for u in updates)


def test_appliers_take_turns(client, db_session):
    """Two appliers at once would move claims and their rollup rows in several statements each, and could
    deadlock: the second waits for the first (here, for a transaction holding the appliers' lock)."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from disburse.extensions import db

    with db.engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(hashtext('disburse.payments.apply_events'))"))
        with pytest.raises(OperationalError, match="lock timeout"), db_session.begin_nested():
            db_session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            events.apply_stored()


# ------------------------------------------------------------------------- which providers are there, and limits


def _count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(ProviderEvent))


@pytest.mark.parametrize(
    ("env", "configured", "in_production", "there"),
    [
        ("test", "sandbox", False, {"sandbox"}),
        ("test", "bankfile", False, set()),
        ("test", "cash", False, set()),
        ("production", "bankfile", False, set()),
        ("production", "sandbox", False, set()),  # the sandbox is refused in production
        ("production", "sandbox", True, {"sandbox"}),  # ... unless for a rehearsal
    ],
)
def test_only_the_provider_the_programme_pays_through_takes_callbacks(
    app, client, db_session, monkeypatch, env, configured, in_production, there
):
    """Any other name, known or not, is a 404 like the API's others, and nothing is kept: never a 500 because the
    provider cannot be built here."""
    from tests.payments.conftest import _forget_providers

    monkeypatch.setitem(app.config, "ENV_NAME", env)
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", configured)
    monkeypatch.setitem(app.config, "DISBURSE_SANDBOX_IN_PRODUCTION", in_production)
    _forget_providers(app)
    try:
        for name in ("sandbox", "bankfile", "cash", "nobody"):
            response = client.post(
                f"/api/v1/providers/{name}/events", data="{}", headers={"webhook-id": "x", "accept-language": "en"}
            )
            if name in there:
                assert response.status_code == 401, name  # it is there: an unsigned post is refused
            else:
                assert response.status_code == 404, (name, response.get_data(as_text=True))
                assert response.get_json()["error"] == "not_found"
                assert "There is no such payment provider." in response.get_json()["message"]
        assert _count(db_session) == len(there)
    finally:
        _forget_providers(app)


@pytest.mark.parametrize("configured", ["bankfile", "cash"])
def test_a_provider_given_up_for_another_is_still_heard_and_chased_while_its_payments_wait(
    app, client, db_session, monkeypatch, configured
):
    """The programme moved from the sandbox to bank files (or cash only) with sandbox payments still sent: their
    news must still be taken and asked for, or those claims would wait for ever."""
    from tests.payments.conftest import _forget_providers
    from workers.payments import _providers

    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", configured)
    _forget_providers(app)
    try:
        assert "sandbox" not in _providers()
        assert client.post(URL, data="{}", headers={"webhook-id": "x"}).status_code == 404
        create_payment(state=PaymentState.SENT, provider="sandbox")
        assert "sandbox" in _providers()
        assert client.post(URL, data="{}", headers={"webhook-id": "x"}).status_code == 401  # heard: signed only
    finally:
        _forget_providers(app)


def test_a_provider_given_up_for_another_is_still_heard_while_what_it_paid_may_come_back(
    app, client, db_session, monkeypatch
):
    """Every sandbox payment settled before the programme moved to bank files: nothing is left to chase, but a return
    of one of them may still come, weeks later, and must be taken and applied (the claim unpaid again, a recovery)."""
    from tests.payments.conftest import _forget_providers
    from workers.payments import _providers

    payment = create_payment(state=PaymentState.SENT, provider="sandbox")
    body = _body([_item(payment, "succ")])
    assert client.post(URL, data=body, headers=_signed(body)).status_code == 200
    events.apply_stored()
    assert _state(db_session, payment) == "paid"
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", "bankfile")
    _forget_providers(app)
    try:
        assert "sandbox" not in _providers()  # nothing sent there is waiting: nothing to ask for
        returned = _body([_item(payment, "rjct", "rjct.returned")])
        response = client.post(URL, data=returned, headers=_signed(returned))
        assert response.status_code == 200, response.get_data(as_text=True)
        events.apply_stored()
        assert _state(db_session, payment) == "returned"
    finally:
        _forget_providers(app)


def _forged(client, address: str = "198.51.100.7", event_id: str = "forged"):
    body = "x" * 4000
    headers = {"webhook-id": event_id, "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    return client.post(URL, data=body, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_refused_callbacks_are_limited_per_address_and_the_rest_not_kept(client, db_session):
    """The audit's 300 forged posts from one address: the first 30 a minute (the default) are kept for audit and
    answered 401, the rest 429 with Retry-After, not kept. Another address still has its own count."""
    answers = [_forged(client, event_id=f"id{i}") for i in range(300)]

    assert [a.status_code for a in answers] == [401] * 30 + [429] * 270
    assert answers[-1].get_json()["error"] == "rate_limited" and int(answers[-1].headers["Retry-After"]) >= 1
    assert _count(db_session) == 30
    assert _forged(client, address="203.0.113.9").status_code == 401
    assert _count(db_session) == 31


def test_a_signed_callback_is_never_throttled_even_from_an_address_over_its_refusals(
    app, client, db_session, monkeypatch
):
    monkeypatch.setitem(app.config, "LIMIT_CALLBACK_REFUSALS_PER_ADDRESS", "2 per hour")
    monkeypatch.setitem(app.config, "LIMIT_CALLBACK_REFUSALS", "2 per hour")
    address = "198.51.100.7"
    assert [_forged(client, address).status_code for _ in range(3)] == [401, 401, 429]
    payments = [create_payment(state=PaymentState.SENT) for _ in range(3)]
    for _ in range(100):  # a bank's bulk run: many callbacks a minute, all signed
        body = _body([_item(payment, "succ") for payment in payments])
        response = client.post(URL, data=body, headers=_signed(body), environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 200 and response.get_json() == {"status": "received"}
    assert _count(db_session) == 2 + 100
    assert _forged(client, "203.0.113.9").status_code == 429  # the overall limit: two refusals kept an hour


def test_refused_callbacks_are_limited_overall_across_addresses(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_CALLBACK_REFUSALS", "5 per minute")
    answers = [_forged(client, address=f"198.51.100.{n}").status_code for n in range(12)]
    assert answers == [401] * 5 + [429] * 7
    assert _count(db_session) == 5


def test_the_payments_sweep_deletes_refused_callbacks_past_their_retention(app, client, db_session, monkeypatch):
    """Refused callbacks older than DISBURSE_REFUSED_CALLBACK_DAYS go; newer ones, and every signed callback
    however old, stay."""
    from sqlalchemy import update

    from workers.payments import sweep

    monkeypatch.setitem(app.config, "DISBURSE_REFUSED_CALLBACK_DAYS", 7)
    for n in range(4):
        assert _forged(client, address=f"198.51.100.{n}", event_id=f"old{n}").status_code == 401
    assert _forged(client, event_id="recent").status_code == 401
    payment = create_payment(state=PaymentState.SENT)
    body = _body([_item(payment, "succ")])
    assert _post(client, body, _signed(body, event_id="signed-old")).status_code == 200
    old = datetime.now(UTC) - timedelta(days=8)
    db_session.execute(
        update(ProviderEvent)
        .where(ProviderEvent.event_id.in_(["old0", "old1", "old2", "old3", "signed-old"]))
        .values(received_at=old)
    )
    db_session.execute(
        update(ProviderEvent).where(ProviderEvent.event_id == "recent").values(received_at=old + timedelta(days=2))
    )
    db_session.commit()

    result = sweep()

    assert result["refused_events_deleted"] == 4
    kept = dict(db_session.execute(select(ProviderEvent.event_id, ProviderEvent.signature_ok)).all())
    assert kept == {"recent": False, "signed-old": True}
    assert sweep()["refused_events_deleted"] == 0


def test_deleting_refused_callbacks_goes_a_chunk_at_a_time(client, db_session):
    for n in range(5):
        assert _forged(client, address=f"198.51.100.{n}", event_id=f"r{n}").status_code == 401
    assert events.delete_refused(timedelta(0), limit=3) == 3
    assert events.delete_refused(timedelta(0), limit=3) == 2
    assert _count(db_session) == 0
