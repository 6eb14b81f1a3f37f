"""Orders the sandbox bank refuses for a reason of ours (an amount above the fund's limit per transfer: the message is
refused naming the item's amount, nobody's details) are held back: they stay sent and fail nobody, and they wait
before they are handed over again, as a claim failed on the bank's side waits before it is paid again
(``DISBURSE_PAYMENT_RETRY_BASE_S`` doubled each time, up to ``DISBURSE_PAYMENT_RETRY_CAP_S``). Not the chase, not
the sweeper's hand-over, not a send by hand hands one over before its wait; after it, one run at a time does, under
the same reference; from ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times on the operators see it. A message the bank
refuses whole, naming no order (a NACK: here our callback URL, which the bank cannot call), holds back every order of
it the same way. Real PostgreSQL, the sandbox bank over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from disburse.claims.models import Claim
from disburse.claims.states import ClaimState
from disburse.payments import sending
from disburse.payments.models import Payment, PaymentBatch
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_program, create_user
from tests.payments.helpers import bank_batch, bank_moves, deliver_callbacks
from tests.sandbox_bank import Bank

pytestmark = pytest.mark.usefixtures("db_session")

#: The fund's limit per transfer at the bank in these tests, an amount under it and one over it.
LIMIT = 3_000_000
SMALL = 2_100_000
BIG = 3_300_000
NOW = timedelta(0)


def _batch(*amounts: int) -> tuple[PaymentBatch, list[Claim]]:
    program = create_program()
    claims = [create_claim(ClaimState.APPROVED, program=program, amount_vnd=amount) for amount in amounts]
    batch = bank_batch(program)
    assert batch.item_count == len(amounts)
    return batch, claims


def _payment(db_session, claim: Claim) -> Payment:
    db_session.expire_all()
    return db_session.scalars(select(Payment).where(Payment.claim_id == claim.id)).one()


def _attempts(db_session, batch: PaymentBatch) -> int:
    """How many times the batch (or part of it) was handed to the bank: every call, refused or taken."""
    db_session.expire_all()
    return db_session.get(PaymentBatch, batch.id).send_attempts


def _wait_over(db_session, claim: Claim) -> None:
    """The order's wait over: the test's transaction keeps one now(), so the time moves, not the clock."""
    db_session.execute(
        text("UPDATE payments SET withheld_until = now() - interval '1 second' WHERE claim_id = :id"), {"id": claim.id}
    )


def _waits_about(payment: Payment, before: datetime, after: datetime, seconds: int) -> bool:
    assert payment.withheld_until is not None
    return before + timedelta(seconds=seconds) <= payment.withheld_until <= after + timedelta(seconds=seconds)


def test_an_order_held_back_is_not_handed_over_before_its_wait_and_is_paid_once_after_it(
    client, db_session, make_bank: Callable[..., Bank], receiver, use_bank
):
    bank = make_bank(max_amount_vnd=LIMIT)
    use_bank(bank)
    batch, (good, other, big) = _batch(SMALL, SMALL, BIG)

    before = datetime.now(UTC)
    sent = sending.send_batch(batch.id)
    after = datetime.now(UTC)

    assert sent.accepted and len(sent.withheld) == 1 and "held back" in (sent.error or "")
    held = _payment(db_session, big)
    assert (held.state, held.withheld_count) == ("sent", 1)
    assert _waits_about(held, before, after, 300)  # DISBURSE_PAYMENT_RETRY_BASE_S
    assert "above the payer's limit" in (held.withheld_reason or "")
    assert db_session.get(Claim, big.id).payment_failures == 0  # nobody's failure
    assert _attempts(db_session, batch) == 2  # the message refused, then the two others taken
    deliver_callbacks(client, receiver, bank)
    assert {_payment(db_session, c).state for c in (good, other)} == {"paid"}

    # Before its wait: nothing hands it over, even once the bank would take it (the fund had its limit raised).
    bank.sandbox.max_amount_vnd = None
    chased = sending.chase("sandbox", older_than=NOW)
    assert (chased.asked, chased.resent) == (0, 0)
    again = sending.send_batch(batch.id)  # the send task delivered again, or `disburse payments send`
    assert (again.orders, again.waiting) == (0, 1)
    assert sending.batches_to_hand_over(NOW) == []  # the bank took the batch: the sweeper leaves it
    assert _attempts(db_session, batch) == 2
    assert held.provider_reference not in {r for (r,) in bank.sql("SELECT reference_id FROM sandbox.transfers")}

    # After it: handed over again, under the same reference, and taken.
    _wait_over(db_session, big)
    chased = sending.chase("sandbox", older_than=NOW)
    assert (chased.asked, chased.resent, chased.withheld) == (1, 1, 0)
    taken = _payment(db_session, big)
    assert (taken.state, taken.withheld_count, taken.withheld_until) == ("sent", 1, None)
    assert _attempts(db_session, batch) == 3
    deliver_callbacks(client, receiver, bank)
    assert _payment(db_session, big).state == "paid" and db_session.get(Claim, big.id).state == "paid"
    references = {_payment(db_session, c).provider_reference for c in (good, other, big)}
    assert bank_moves(bank) == dict.fromkeys(references, 1)  # nobody paid twice
    assert sending.chase("sandbox", older_than=NOW).asked == 0


def test_the_wait_doubles_each_time_the_order_is_held_back_again_and_is_capped(
    app, db_session, make_bank: Callable[..., Bank], use_bank, monkeypatch
):
    """A batch of nothing but an order the bank keeps refusing: it stays waiting to be handed over (the sweeper asks
    for it), and each time its wait is over the chase hands it over again, once, and it waits longer: 300, 600,
    1,200 seconds, then the cap of 1,200, never more; and never for ever."""
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_BASE_S", 300)
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_CAP_S", 1200)
    use_bank(make_bank(max_amount_vnd=LIMIT))
    batch, (big,) = _batch(BIG)

    for times, wait in enumerate([300, 600, 1200, 1200, 1200], start=1):
        before = datetime.now(UTC)
        if times == 1:
            sent = sending.send_batch(batch.id)
            assert (sent.accepted, sent.withheld != []) == (False, True)
        else:
            _wait_over(db_session, big)
            chased = sending.chase("sandbox", older_than=NOW)
            assert (chased.asked, chased.resent, chased.withheld) == (1, 1, 1)
        after = datetime.now(UTC)
        held = _payment(db_session, big)
        assert (held.state, held.withheld_count) == ("sent", times)
        assert _waits_about(held, before, after, wait), (times, held.withheld_until - before)
        assert _attempts(db_session, batch) == times

        # Until then nothing hands it over: not the chase, not the sweeper's hand-over, not a send by hand.
        assert sending.chase("sandbox", older_than=NOW).resent == 0
        assert sending.batches_to_hand_over(NOW) == [batch.id]  # nobody took it: it stays in the operators' sight
        again = sending.send_batch(batch.id)
        assert (again.orders, again.waiting) == (0, 1)
        assert _attempts(db_session, batch) == times

    db_session.expire_all()
    stuck = db_session.get(PaymentBatch, batch.id)
    assert stuck.acknowledged_at is None
    assert stuck.last_error.startswith(sending.WAITING[0]) and "held back" in stuck.last_error
    assert "time 5, sent again after" in stuck.last_error
    claim = db_session.get(Claim, big.id)
    assert (claim.state, claim.payment_failures, claim.bank_failures) == ("payment_pending", 0, 0)


def test_an_order_held_back_past_the_alert_threshold_is_logged_and_shown_to_the_operators(
    app, client, db_session, make_bank: Callable[..., Bank], receiver, use_bank, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 3)
    bank = make_bank(max_amount_vnd=LIMIT)
    use_bank(bank)
    batch, (good, big) = _batch(SMALL, BIG)
    reference = _payment(db_session, big).provider_reference
    admin = create_user("admin", password=PASSWORD)

    def alerts() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "held back (batch" in r.msg]

    caplog.set_level(logging.ERROR, logger="disburse.payments.sending")
    assert sending.send_batch(batch.id).alerts == []
    _wait_over(db_session, big)
    assert sending.chase("sandbox", older_than=NOW).withheld_alerts == 0
    assert alerts() == []
    shown = sending.orders_held_back()
    assert (shown.count, shown.alerts, [(h.reference, h.times, h.alert) for h in shown.shown]) == (
        1,
        0,
        [(reference, 2, False)],
    )

    _wait_over(db_session, big)
    chased = sending.chase("sandbox", older_than=NOW)

    assert (chased.withheld, chased.withheld_alerts) == (1, 1)
    assert len(alerts()) == 1 and reference in alerts()[0] and "3 times" in alerts()[0]
    shown = sending.orders_held_back()
    assert (shown.count, shown.alerts, shown.shown[0].alert, shown.shown[0].times) == (1, 1, True, 3)

    # The admins' health page, where the other waits show.
    sign_in(client, admin)
    html = client.get("/admin/health").get_data(as_text=True)
    section = html.split('id="held-back"')[1].split("Cơ sở dữ liệu")[0]
    assert "1 lệnh chi bị bên chi trả từ chối vì dữ liệu của quỹ" in section
    assert "1 lệnh đã bị giữ lại từ 3 lần trở lên" in section
    row = section.split(f'id="held-{reference}"')[1].split("</tr>")[0]
    assert ">3 <strong" in row and "cảnh báo" in row and "above the payer&#39;s limit" in row
    assert f'/admin/batches/{batch.id}">#{batch.id}</a> ' in row
    admin.locale = "en"
    db_session.commit()
    english = client.get("/admin/health").get_data(as_text=True)
    assert "Orders held back by the provider" in english and "1 order has been held back 3 times or more" in english

    # `disburse payments batches`, under the batch.
    listed = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False).output
    line = next(line for line in listed.splitlines() if f" {reference}: " in line)
    assert line.strip().startswith(f"!! {reference}: giữ lại 3 lần / held back 3 times") and "ALERT" in line
    assert "above the payer's limit" in line
    assert "1 order held back by the provider 3 times or more" in listed

    # The cause fixed: after its wait it is taken, paid once, and no longer shown.
    bank.sandbox.max_amount_vnd = None
    _wait_over(db_session, big)
    assert sending.chase("sandbox", older_than=NOW).resent == 1
    deliver_callbacks(client, receiver, bank)
    assert {_payment(db_session, c).state for c in (good, big)} == {"paid"}
    assert bank_moves(bank) == {_payment(db_session, c).provider_reference: 1 for c in (good, big)}
    assert sending.orders_held_back().count == 0
    assert 'id="held-back"' not in client.get("/admin/health").get_data(as_text=True)
    assert _payment(db_session, big).withheld_count == 3  # what it went through stays on record


def test_an_order_due_again_is_handed_over_by_one_run_at_a_time(db_session, make_bank: Callable[..., Bank], use_bank):
    bank = make_bank(max_amount_vnd=LIMIT)
    use_bank(bank)
    batch, (big,) = _batch(BIG)
    sending.send_batch(batch.id)
    bank.sandbox.max_amount_vnd = None
    _wait_over(db_session, big)

    with sending.handover_lock(batch.id) as held:  # another run is handing the batch over
        assert held
        chased = sending.chase("sandbox", older_than=NOW)
        assert (chased.busy, chased.resent) == (1, 0)
        assert sending.send_batch(batch.id).busy
    assert _attempts(db_session, batch) == 1

    chased = sending.chase("sandbox", older_than=NOW)

    assert (chased.busy, chased.resent) == (0, 1)
    assert _attempts(db_session, batch) == 2
    assert [r for (r,) in bank.sql("SELECT reference_id FROM sandbox.transfers")] == [
        _payment(db_session, big).provider_reference
    ]
    db_session.expire_all()
    assert db_session.get(PaymentBatch, batch.id).acknowledged_at is not None


def test_an_operator_who_fixed_the_cause_sends_the_held_back_orders_at_once(
    app, client, db_session, make_bank: Callable[..., Bank], receiver, use_bank
):
    """``disburse payments send BATCH --held-now``: the wait cut short, the order handed over in the same run, under
    its reference, paid once; without the flag the same command leaves it waiting."""
    bank = make_bank(max_amount_vnd=LIMIT)
    use_bank(bank)
    batch, (good, big) = _batch(SMALL, BIG)
    assert len(sending.send_batch(batch.id).withheld) == 1
    reference = _payment(db_session, big).provider_reference
    bank.sandbox.max_amount_vnd = None  # the fund had its limit raised

    runner = app.test_cli_runner()
    plain = runner.invoke(args=["payments", "send", str(batch.id)], catch_exceptions=False).output
    assert "1 order held back by the provider is still waiting: not sent again." in plain
    assert reference not in {r for (r,) in bank.sql("SELECT reference_id FROM sandbox.transfers")}

    now = runner.invoke(args=["payments", "send", str(batch.id), "--held-now"], catch_exceptions=False).output
    assert f"Batch {batch.id}: 1 held-back order handed over again now." in now
    assert f"Batch {batch.id}: 1 order handed over." in now
    deliver_callbacks(client, receiver, bank)
    assert {_payment(db_session, c).state for c in (good, big)} == {"paid"}
    assert bank_moves(bank) == {_payment(db_session, c).provider_reference: 1 for c in (good, big)}
    assert _payment(db_session, big).withheld_count == 1  # what it went through stays on record

    again = runner.invoke(args=["payments", "send", str(batch.id), "--held-now"], catch_exceptions=False).output
    assert "nothing to send, its 2 orders are all already settled (paid 2)." in again  # nothing handed over again
    assert bank_moves(bank) == {_payment(db_session, c).provider_reference: 1 for c in (good, big)}


# ------------------------------------------------------------------------------------------ refused whole (NACK)

#: A callback URL the bank cannot call back: our misconfiguration, and the bank refuses every message whole (NACK,
#: naming ``header.sender_uri``, no order).
NOWHERE = "ftp://nowhere"
#: What the sandbox says of such a message.
NACKED = "NACK: the message is not valid; see errors; header.sender_uri: the http(s) URL to call back"


def _batch_waits_over(db_session, batch: PaymentBatch) -> None:
    """Every held-back order of the batch at the end of its wait (see :func:`_wait_over`)."""
    db_session.execute(
        text(
            "UPDATE payments SET withheld_until = now() - interval '1 second'"
            " WHERE batch_id = :id AND withheld_until IS NOT NULL"
        ),
        {"id": batch.id},
    )


def _transfers(bank: Bank) -> list[str]:
    return [r for (r,) in bank.sql("SELECT reference_id FROM sandbox.transfers ORDER BY id")]


def test_a_batch_refused_whole_waits_as_orders_held_back_do_and_is_paid_once_after_its_wait(
    client, db_session, make_bank: Callable[..., Bank], receiver, use_bank
):
    bank = make_bank()
    use_bank(bank, callback_url=NOWHERE)
    batch, claims = _batch(SMALL, SMALL, SMALL)

    before = datetime.now(UTC)
    sent = sending.send_batch(batch.id)
    after = datetime.now(UTC)

    assert (sent.accepted, sent.error, len(sent.withheld)) == (False, NACKED, 3)
    for claim in claims:
        held = _payment(db_session, claim)
        assert (held.state, held.withheld_count, held.withheld_reason) == ("sent", 1, NACKED)
        assert _waits_about(held, before, after, 300)  # DISBURSE_PAYMENT_RETRY_BASE_S
        assert db_session.get(Claim, claim.id).payment_failures == 0  # nobody's failure
    refused = db_session.get(PaymentBatch, batch.id)
    assert refused.last_error.startswith(sending.WAITING[0])
    assert "all 3 orders of the refused message held back, time 1, sent again after" in refused.last_error
    assert refused.last_error.endswith(NACKED)  # what the bank said
    assert _attempts(db_session, batch) == 1

    # Fixed (the callback URL is ours again), but before the wait nothing hands the batch over: not the chase, not
    # the sweeper's hand-over, not a send by hand.
    use_bank(bank)
    assert (sending.chase("sandbox", older_than=NOW).asked, sending.chase("sandbox", older_than=NOW).resent) == (0, 0)
    assert sending.batches_to_hand_over(NOW) == [batch.id]  # nobody took it: still in the operators' sight
    again = sending.send_batch(batch.id)
    assert (again.orders, again.waiting, again.error) == (0, 3, None)
    assert _attempts(db_session, batch) == 1 and _transfers(bank) == []

    # After it: handed over again under the same references, taken, paid once.
    _batch_waits_over(db_session, batch)
    chased = sending.chase("sandbox", older_than=NOW)
    assert (chased.asked, chased.resent, chased.withheld) == (3, 3, 0)
    assert _attempts(db_session, batch) == 2
    references = [_payment(db_session, c).provider_reference for c in claims]
    assert _transfers(bank) == references
    for claim in claims:
        taken = _payment(db_session, claim)
        assert (taken.withheld_count, taken.withheld_until) == (1, None)
    taken_batch = db_session.get(PaymentBatch, batch.id)
    assert taken_batch.acknowledged_at is not None and taken_batch.last_error is None
    deliver_callbacks(client, receiver, bank)
    assert {db_session.get(Claim, c.id).state for c in claims} == {"paid"}
    assert bank_moves(bank) == dict.fromkeys(references, 1)
    assert sending.chase("sandbox", older_than=NOW).asked == 0
    assert sending.send_batch(batch.id).orders == 0
    assert bank_moves(bank) == dict.fromkeys(references, 1)


def test_the_wait_of_a_batch_refused_whole_doubles_at_each_refusal_and_is_capped(
    app, client, db_session, make_bank: Callable[..., Bank], receiver, use_bank, monkeypatch
):
    """The cause not fixed: each time the wait is over the batch goes once (the chase, or the sweeper's hand-over),
    is refused whole again, and waits longer: 300, 600, 1,200, then the cap of 1,200 seconds."""
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_BASE_S", 300)
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_CAP_S", 1200)
    bank = make_bank()
    use_bank(bank, callback_url=NOWHERE)
    batch, claims = _batch(SMALL, SMALL)

    for times, wait in enumerate([300, 600, 1200, 1200], start=1):
        before = datetime.now(UTC)
        if times == 1:
            assert len(sending.send_batch(batch.id).withheld) == 2
        elif times % 2:  # the chase
            _batch_waits_over(db_session, batch)
            chased = sending.chase("sandbox", older_than=NOW)
            assert (chased.asked, chased.resent, chased.withheld) == (2, 2, 2)
        else:  # the sweeper's hand-over (the send task again)
            _batch_waits_over(db_session, batch)
            assert sending.batches_to_hand_over(NOW) == [batch.id]
            again = sending.send_batch(batch.id)
            assert (again.orders, again.waiting, len(again.withheld)) == (2, 0, 2)
        after = datetime.now(UTC)
        for claim in claims:
            held = _payment(db_session, claim)
            assert (held.state, held.withheld_count) == ("sent", times)
            assert _waits_about(held, before, after, wait), (times, held.withheld_until - before)
        assert _attempts(db_session, batch) == times
        assert f"time {times}, sent again after" in db_session.get(PaymentBatch, batch.id).last_error

        # Until then nothing hands it over.
        assert sending.chase("sandbox", older_than=NOW).resent == 0
        assert sending.send_batch(batch.id).waiting == 2
        assert _attempts(db_session, batch) == times

    assert {(c.state, c.payment_failures, c.bank_failures) for c in (db_session.get(Claim, c.id) for c in claims)} == {
        ("payment_pending", 0, 0)
    }
    assert _transfers(bank) == []

    use_bank(bank)  # fixed
    _batch_waits_over(db_session, batch)
    assert sending.chase("sandbox", older_than=NOW).resent == 2
    deliver_callbacks(client, receiver, bank)
    assert bank_moves(bank) == {_payment(db_session, c).provider_reference: 1 for c in claims}


def test_a_batch_refused_whole_again_and_again_is_shown_to_the_operators(
    app, client, db_session, make_bank: Callable[..., Bank], use_bank, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 2)
    use_bank(make_bank(), callback_url=NOWHERE)
    batch, claims = _batch(SMALL, SMALL)
    references = [_payment(db_session, c).provider_reference for c in claims]
    admin = create_user("admin", password=PASSWORD)
    caplog.set_level(logging.ERROR, logger="disburse.payments.sending")

    assert sending.send_batch(batch.id).alerts == []
    shown = sending.orders_held_back()
    assert (shown.count, shown.alerts) == (2, 0)
    assert [(h.reference, h.times, h.reason) for h in shown.shown] == [(r, 1, NACKED) for r in references]
    assert any("refused it whole (2 order(s) held back, 1 times" in r.getMessage() for r in caplog.records)

    _batch_waits_over(db_session, batch)
    chased = sending.chase("sandbox", older_than=NOW)

    assert (chased.withheld, chased.withheld_alerts) == (2, 2)
    alerts = [r.getMessage() for r in caplog.records if "held back (batch" in r.msg]
    assert len(alerts) == 1 and "refused 2 order(s) for a reason of ours 2 times or more" in alerts[0]
    assert NACKED in alerts[0]
    shown = sending.orders_held_back()
    assert (shown.count, shown.alerts, {h.alert for h in shown.shown}) == (2, 2, {True})

    # The admins' health page: the orders held back, why; the batch among those waiting to be handed over.
    sign_in(client, admin)
    html = client.get("/admin/health").get_data(as_text=True)
    section = html.split('id="held-back"')[1].split("Cơ sở dữ liệu")[0]
    assert "2 lệnh chi bị bên chi trả từ chối vì dữ liệu của quỹ" in section
    assert "2 lệnh đã bị giữ lại từ 2 lần trở lên" in section
    for reference in references:
        row = section.split(f'id="held-{reference}"')[1].split("</tr>")[0]
        assert ">2 <strong" in row and "cảnh báo" in row and "header.sender_uri" in row
    waiting = html.split('id="handover"')[1].split('id="held-back"')[0]
    assert (
        f'/admin/batches/{batch.id}">#{batch.id}</a> ' in waiting
        and "time 2, sent again after" in waiting
        and "NACK" in waiting
    )

    # `disburse payments batches`: the batch's error says what the bank said; each order flagged under it.
    listed = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False).output
    line = next(line for line in listed.splitlines() if line.startswith(f"#{batch.id} "))
    assert "chờ bàn giao / waiting to be handed over" in line and NACKED in line
    for reference in references:
        order = next(line for line in listed.splitlines() if f" {reference}: " in line)
        assert order.strip().startswith(f"!! {reference}: giữ lại 2 lần / held back 2 times") and "ALERT" in order
    assert "2 orders held back by the provider 2 times or more" in listed


def test_an_operator_who_fixed_the_cause_sends_a_batch_refused_whole_at_once(
    app, client, db_session, make_bank: Callable[..., Bank], receiver, use_bank
):
    bank = make_bank()
    use_bank(bank, callback_url=NOWHERE)
    batch, claims = _batch(SMALL, SMALL)
    assert len(sending.send_batch(batch.id).withheld) == 2
    use_bank(bank)  # fixed: the callback URL is ours again

    runner = app.test_cli_runner()
    # Sent again before the cause is fixed: refused whole again, and the command says so and fails (it said the
    # refusal, then "2 orders handed over", and exited 0).
    use_bank(bank, callback_url=NOWHERE)
    refused = runner.invoke(args=["payments", "send", str(batch.id), "--held-now"], catch_exceptions=False)
    assert refused.exit_code == 2, refused.output
    assert f"The provider refused batch {batch.id}" in refused.output and "No order was handed over" in refused.output
    assert "orders handed over." not in refused.output
    use_bank(bank)
    plain = runner.invoke(args=["payments", "send", str(batch.id)], catch_exceptions=False).output
    assert "2 orders held back by the provider are still waiting: not sent again." in plain
    assert _transfers(bank) == []

    now = runner.invoke(args=["payments", "send", str(batch.id), "--held-now"], catch_exceptions=False).output
    assert f"Batch {batch.id}: 2 held-back orders handed over again now." in now
    assert f"Batch {batch.id}: 2 orders handed over." in now and "refused" not in now
    references = [_payment(db_session, c).provider_reference for c in claims]
    assert _transfers(bank) == references
    deliver_callbacks(client, receiver, bank)
    assert {db_session.get(Claim, c.id).state for c in claims} == {"paid"}
    assert {_payment(db_session, c).withheld_count for c in claims} == {2}  # what they went through stays (twice)

    again = runner.invoke(args=["payments", "send", str(batch.id), "--held-now"], catch_exceptions=False).output
    assert "nothing to send, its 2 orders are all already settled (paid 2)." in again  # nothing handed over again
    assert sending.chase("sandbox", older_than=NOW).resent == 0
    assert bank_moves(bank) == dict.fromkeys(references, 1)


def test_the_list_of_batches_shows_a_few_orders_of_a_batch_refused_whole_and_how_many_more(
    app, db_session, make_bank: Callable[..., Bank], use_bank
):
    """A batch refused whole holds back every one of its orders (thousands, nationally): ``disburse payments
    batches`` lists the first 20 under it and says how many more; the health page counts them all."""
    use_bank(make_bank(), callback_url=NOWHERE)
    batch, claims = _batch(*[SMALL] * 23)
    assert len(sending.send_batch(batch.id).withheld) == 23

    listed = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False).output

    under = listed.split(f"#{batch.id} ")[1].splitlines()[1:]
    orders = [line for line in under if "giữ lại 1 lần / held back 1 time," in line]
    assert orders == under[:20]
    assert under[20].strip() == "… và 3 lệnh khác bị giữ lại / and 3 more held back"
    first = [_payment(db_session, c).provider_reference for c in claims[:20]]
    assert [line.split()[1].rstrip(":") for line in orders] == first
    assert sending.orders_held_back().count == 23
