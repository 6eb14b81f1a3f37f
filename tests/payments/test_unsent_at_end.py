"""After the programme's last payable day, a bank batch no provider ever took is closed, and nothing that may have
reached a bank is touched.

- Its payments (marked sent, or still queued) end ``cancelled`` (never sent), its claims go back to ``approved`` and
  on to a caseworker with ``payment_period_ended``, like every claim nobody will pay; the batch is ``closed`` and
  says why. An acknowledged batch stays as it is, for the status sweeper and reconciliation.
- The provider is asked first: what it knows stays (a batch it holds whole is taken as handed over); a provider
  that cannot be asked leaves the batch for the next close-out. A bank file already in the outbox may be at the bank.
- Twice changes nothing more; a batch being handed over (its hand-over lock held) is left for the next close-out.
- The rollups equal a direct count, nothing is counted as paid, the backlog, the health page and ``disburse
  payments batches`` show the result.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.payments import sending
from disburse.payments import service as payments
from disburse.payments.adapters import provider_for
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.programs.models import Program
from disburse.reports import backlog, dashboard
from disburse.reports.service import Area
from disburse.verification import sweepers
from tests.factories import create_claim, create_program, create_user
from tests.payments.helpers import approved_batch
from tests.payments.invariants import failures_equal_a_direct_count, money, rollups_equal_a_direct_count
from tests.sandbox_bank import Bank
from workers import sweepers as sweeper_tasks

LAST = date(2021, 12, 31)
AFTER = LAST + timedelta(days=1)
PASSWORD = "mat-khau-rat-dai"


@pytest.fixture
def program(db_session: Any) -> Program:
    return create_program(payment_deadline=LAST, extension_until=None)


@pytest.fixture
def after(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Move the programme clock past the last payable day (the batches are made on a paying day before it)."""

    def move() -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", AFTER.isoformat())

    return move


def _lost(program: Program, count: int, provider: str = "sandbox") -> PaymentBatch:
    """A batch marked sent and committed, whose worker died before any provider was called."""
    batch = approved_batch(count, program=program, provider=provider)
    payments.mark_batch_sent(payments.get_batch_for_update(batch.id))
    db.session.commit()
    return batch


def _payments(batch: PaymentBatch) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.id)))


def _claims(batch: PaymentBatch) -> list[Claim]:
    return [db.session.get(Claim, payment.claim_id) for payment in _payments(batch)]


def _events() -> tuple[int, int]:
    return (
        int(db.session.scalar(select(func.count()).select_from(ClaimEvent)) or 0),
        int(db.session.scalar(select(func.count()).select_from(PaymentEvent)) or 0),
    )


def _fresh(batch: PaymentBatch) -> PaymentBatch:
    db.session.expire_all()
    found = db.session.get(PaymentBatch, batch.id)
    assert found is not None
    return found


# ------------------------------------------------------------------------------------------ closed, or left


def test_a_batch_no_provider_took_is_closed_at_the_end_and_an_acknowledged_one_is_left_to_the_bank(
    program, bank: Bank, use_bank, after
):
    use_bank(bank)  # the bank settles only when told: what it takes stays pending
    lost = _lost(program, 3)
    waiting = approved_batch(2, program=program)  # made in time, its send never ran: still open, its payments queued
    taken = approved_batch(2, program=program)
    assert sending.send_batch(taken.id).accepted
    never_batched = create_claim(ClaimState.APPROVED, program=program)
    amount_lost = sum(p.amount_vnd for p in _payments(lost))

    assert sweepers.close_out(program, LAST) == (0, None)  # the last day still pays: nothing closed
    assert _fresh(lost).state == "sent" and {p.state for p in _payments(lost)} == {"sent"}

    after()
    moved, cursor = sweepers.close_out(program, AFTER)

    assert (moved, cursor) == (3 + 2 + 1, None)
    # The batch no provider took: every payment cancelled (never sent), with its reason on the event.
    closed = _fresh(lost)
    assert (closed.state, closed.acknowledged_at) == ("closed", None)
    assert "Closed at the programme's end" in (closed.last_error or "") and "31/12/2021" in (closed.last_error or "")
    assert "Đã đóng khi hết hạn chi trả" in (closed.last_error or "") and "3 payments" in (closed.last_error or "")
    for payment in _payments(lost):
        assert (payment.state, payment.failure_code, payment.settled_at) == ("cancelled", None, None)
        event = payments.payment_events(payment.id)[-1]
        assert (event.from_state, event.to_state, event.code) == ("sent", "cancelled", payments.NOT_HANDED_OVER)
        assert event.data["batch_id"] == lost.id and event.data["last_payable_day"] == "2021-12-31"
    # Its claims: back from the payment, then to a caseworker like every claim nobody will pay.
    for claim in _claims(lost):
        assert (claim.state, claim.reasons) == ("needs_review", ["payment_period_ended"])
        events = list(
            db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id))
        )
        cancel, flag = events[-2:]
        assert (cancel.action, cancel.from_state, cancel.to_state, cancel.actor_id) == (
            "cancel_payment",
            "payment_pending",
            "approved",
            None,
        )
        assert cancel.data["code"] == payments.NOT_HANDED_OVER and "chưa chuyển cho ngân hàng" in (cancel.reason or "")
        assert (flag.action, flag.to_state, flag.actor_id) == ("flag_for_review", "needs_review", None)
        assert flag.data["reasons"] == ["payment_period_ended"] and flag.data["batch_id"] == lost.id
    # The open batch: its queued payments cancelled the same way.
    assert _fresh(waiting).state == "closed"
    assert {(p.state, payments.payment_events(p.id)[-1].from_state) for p in _payments(waiting)} == {
        ("cancelled", "queued")
    }
    assert {c.state for c in _claims(waiting)} == {"needs_review"}
    assert db.session.get(Claim, never_batched.id).state == "needs_review"
    # The batch the bank took: untouched, its money may still move.
    kept = _fresh(taken)
    assert (kept.state, kept.last_error) == ("sent", None) and kept.acknowledged_at is not None
    assert {p.state for p in _payments(taken)} == {"sent"}
    assert {c.state for c in _claims(taken)} == {"payment_pending"}
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 2  # only the batch it took

    # Run again: nothing more.
    before = _events()
    assert sweepers.close_out(program, AFTER) == (0, None)
    assert _events() == before

    # Money: nothing counted as paid, nothing as failed; the rollups and the dashboards' failures equal a direct count.
    out = money(program.id)
    assert (out.settled, out.recovered, out.bank_net_debit) == (0, 0, 0)
    assert rollups_equal_a_direct_count(program.id) and failures_equal_a_direct_count(program.id)
    assert dashboard.failures_by_reason(program.id, Area()) == []
    paid = db.session.execute(
        text("SELECT coalesce(sum(claims), 0) FROM claim_counters WHERE program_id = :p AND state = 'paid'"),
        {"p": program.id},
    ).scalar()
    assert paid == 0
    assert amount_lost > 0 and closed.total_vnd == amount_lost  # the batch keeps its control totals as made

    # The backlog: the claims nobody will pay are with caseworkers now; only the bank's are still on their way.
    backlog.refresh(program.id, AFTER)
    assert backlog.stored(program.id, Area()).counts == backlog.live(program.id, Area(), AFTER)
    unpaid = dashboard.backlog(program.id, Area())["unpaid_at_end"]
    assert unpaid["by_state"] == {"needs_review": 6, "payment_pending": 2} and unpaid["claims"] == 8

    # The bank's batch is still followed: it settles, and the chase hears it.
    bank.tick()
    assert sending.chase("sandbox", older_than=timedelta(0)).applied["settled"] == 2
    db.session.expire_all()
    assert {p.state for p in _payments(taken)} == {"paid"} and {p.state for p in _payments(lost)} == {"cancelled"}
    assert rollups_equal_a_direct_count(program.id)


def test_what_the_provider_knows_of_an_unacknowledged_batch_stays(program, bank: Bank, use_bank, after):
    use_bank(bank)  # the bank settles only when told: what it takes stays pending
    # The bank took the whole batch, but the worker died before it recorded the acknowledgement.
    whole = approved_batch(2, program=program)
    assert sending.send_batch(whole.id).accepted
    db.session.execute(PaymentBatch.__table__.update().where(PaymentBatch.id == whole.id).values(acknowledged_at=None))
    # The bank has two of three orders of another (a message it took in part, the rest never sent again).
    part = _lost(program, 3)
    orders = payments.batch_orders(part.id)
    assert provider_for("sandbox").send(part.reference, orders[:2]).accepted
    db.session.commit()

    after()
    assert sweepers.close_out(program, AFTER) == (1, None)

    # The whole batch: the bank knows every order, so it took it; its payments are left to the bank.
    found = _fresh(whole)
    assert found.state == "sent" and found.acknowledged_at is not None
    assert "the provider knows every payment of the batch" in (found.last_error or "")
    assert {p.state for p in _payments(whole)} == {"sent"} and {c.state for c in _claims(whole)} == {"payment_pending"}
    # The other: the two the bank has stay, the one it never saw is withdrawn; the bank holds what is left of it.
    found = _fresh(part)
    assert found.state == "sent" and found.acknowledged_at is not None
    assert "1 payment (" in (found.last_error or "") and "2 payments the provider knows" in (found.last_error or "")
    assert [p.state for p in _payments(part)] == ["sent", "sent", "cancelled"]
    assert [c.state for c in _claims(part)] == ["payment_pending", "payment_pending", "needs_review"]
    never = _payments(part)[2].provider_reference
    assert bank.sql("SELECT count(*) FROM sandbox.transfers WHERE reference_id = :r", r=never) == [(0,)]

    # Again: nothing more, and the batches keep their words.
    before, words = _events(), (_fresh(whole).last_error, _fresh(part).last_error)
    assert sweepers.close_out(program, AFTER) == (0, None)
    assert _events() == before and (_fresh(whole).last_error, _fresh(part).last_error) == words

    # The bank pays what it has; the chase hears it. Money out is what the bank paid, nothing for the withdrawn one.
    bank.tick()
    assert sending.chase("sandbox", older_than=timedelta(0)).applied["settled"] == 4
    db.session.expire_all()
    assert [p.state for p in _payments(part)] == ["paid", "paid", "cancelled"]
    assert [c.state for c in _claims(part)] == ["paid", "paid", "needs_review"]
    out = money(program.id)
    assert out.settled == out.bank_net_debit == sum(p.amount_vnd for p in _payments(whole) + _payments(part)[:2])
    assert rollups_equal_a_direct_count(program.id) and failures_equal_a_direct_count(program.id)


def test_a_provider_that_cannot_be_asked_leaves_the_batch_for_the_next_close_out(program, bank: Bank, use_bank, after):
    lost = _lost(program, 2)
    use_bank("http://127.0.0.1:9")  # nothing answers there
    after()

    assert sweepers.close_out(program, AFTER) == (0, None)

    found = _fresh(lost)
    assert (found.state, found.acknowledged_at) == ("sent", None) and {p.state for p in _payments(lost)} == {"sent"}
    assert "could not be asked" in (found.last_error or "") and "chưa hỏi được bên chi trả" in (found.last_error or "")
    assert {c.state for c in _claims(lost)} == {"payment_pending"}

    use_bank(bank)
    assert sweepers.close_out(program, AFTER) == (2, None)
    assert _fresh(lost).state == "closed" and {p.state for p in _payments(lost)} == {"cancelled"}


# ---------------------------------------------------------------------------------------------- bank files


def test_a_bank_file_never_written_is_closed_and_one_in_the_outbox_is_left_to_the_bank(program, bankfile, after):
    never = _lost(program, 2, "bankfile")  # the file was never written
    written = approved_batch(2, program=program, provider="bankfile")
    assert sending.send_batch(written.id).accepted  # the file is in the outbox ...
    db.session.execute(  # ... but the worker died before it recorded that
        PaymentBatch.__table__.update().where(PaymentBatch.id == written.id).values(acknowledged_at=None)
    )
    db.session.commit()
    after()

    assert sweepers.close_out(program, AFTER) == (2, None)

    assert _fresh(never).state == "closed" and {p.state for p in _payments(never)} == {"cancelled"}
    assert not (bankfile / f"{never.reference}.pain.001.xml").exists()
    found = _fresh(written)
    assert found.state == "sent" and found.acknowledged_at is not None
    assert "the batch's file is in the outbox" in (found.last_error or "")
    assert {p.state for p in _payments(written)} == {"sent"} and {c.state for c in _claims(written)} == {
        "payment_pending"
    }


def test_a_bank_file_the_bank_reported_on_is_left_to_the_bank_even_when_gone_from_the_outbox(program, bankfile, after):
    reported = _lost(program, 3, "bankfile")
    first = _payments(reported)[0]
    # The bank's pain.002 rejected one order of it; the file itself is no longer in the outbox.
    update = StatusUpdate(first.provider_reference, ProviderStatus.REJECTED, reason_code="AC04")
    assert apply_updates("bankfile", [update], source="file").failed == 1
    db.session.commit()
    after()

    assert sweepers.close_out(program, AFTER)[0] == 1  # the claim of the rejected order, as any failed one

    found = _fresh(reported)
    assert found.state == "sent" and found.acknowledged_at is not None
    assert "the bank has reported on payments of the batch" in (found.last_error or "")
    assert [p.state for p in _payments(reported)] == ["failed", "sent", "sent"]
    assert [c.state for c in _claims(reported)] == ["needs_review", "payment_pending", "payment_pending"]


# ------------------------------------------------------------------------------------------ a send at once


def test_a_batch_being_handed_over_is_left_and_a_send_after_the_close_hands_nothing_over(
    program, bank: Bank, use_bank, after
):
    use_bank(bank)
    lost = _lost(program, 2)
    after()
    with sending.handover_lock(lost.id) as held:  # a send or the chase has it right now
        assert held
        assert sweepers.close_out(program, AFTER) == (0, None)
        assert _fresh(lost).state == "sent" and {p.state for p in _payments(lost)} == {"sent"}
    with sending.handover_lock(lost.id) as held:  # and while the close-out holds it, a send returns at once
        assert held and sending.send_batch(lost.id).busy

    assert sweepers.close_out(program, AFTER) == (2, None)
    said = _fresh(lost).last_error
    sent = sending.send_batch(lost.id)  # a send that comes after the close (a stale task, a send by hand): a no-op
    assert (sent.orders, sent.accepted, sent.error) == (0, False, None)
    closed = _fresh(lost)
    assert closed.state == "closed" and {p.state for p in _payments(lost)} == {"cancelled"}
    assert closed.last_error == said and closed.acknowledged_at is None  # the close's message stays
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0


def test_beat_closes_the_batches_with_the_claims(program, bank: Bank, use_bank, after):
    use_bank(bank)
    lost = _lost(program, 2)
    after()
    assert sweeper_tasks.close_out.run() >= 2
    assert _fresh(lost).state == "closed" and {c.state for c in _claims(lost)} == {"needs_review"}


# ----------------------------------------------------------------------------------------- what people see


def test_the_batches_command_and_the_health_page_show_the_closed_batch(app, client, program, bank, use_bank, after):
    use_bank(bank)
    lost = _lost(program, 3)
    created = datetime.now(UTC) - timedelta(hours=2)
    db.session.execute(PaymentBatch.__table__.update().where(PaymentBatch.id == lost.id).values(created_at=created))
    admin = create_user("admin", password=PASSWORD)
    db.session.flush()
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
    assert f'/admin/batches/{lost.id}"' in client.get("/admin/health").get_data(
        as_text=True
    )  # waiting to be handed over

    after()
    sweepers.close_out(program, AFTER)

    listed = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False).output
    line = next(row for row in listed.splitlines() if row.startswith(f"#{lost.id} "))
    assert " · Đã đóng / Closed · " in line and "Đã hủy / Cancelled: 3" in line
    assert "waiting to be handed over" not in line
    assert "Closed at the programme's end" in line
    html = client.get("/admin/health").get_data(as_text=True)
    assert f'/admin/batches/{lost.id}"' not in html  # nothing left to hand over


@pytest.mark.parametrize(("locale", "words", "not_words"), [("en", 1, 0), ("vi", 0, 1)])
def test_the_case_page_says_why_the_payment_was_withdrawn_in_the_readers_language(
    client, program, bank, use_bank, after, locale, words, not_words
):
    """The claim's way back from payment (``cancel_payment``) is written by the system in Vietnamese words, with the
    payment's code in its data: the case page reads the code, so an English reader is not shown Vietnamese."""
    from disburse.payments import reasons as payment_reasons
    from tests.conftest import sign_in

    use_bank(bank)
    lost = _lost(program, 1)
    after()
    sweepers.close_out(program, AFTER)
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    html = unescape(client.get(f"/caseworker/claims/{_claims(lost)[0].id}").get_data(as_text=True))
    vi, en = payment_reasons.label(payment_reasons.NOT_HANDED_OVER)
    assert (html.count(en), html.count(vi)) == (words, not_words)
