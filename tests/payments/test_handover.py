"""A batch is handed over until its provider has really taken it, once at a time, never after the programme's last
payable day; the chase gets round to every payment.

- A bank file that could not be written (the outbox unusable: retried; the fund's settings wrong: refused), or a
  worker that died between marking the batch sent and calling the provider, leaves a ``sent`` batch that no provider
  acknowledged: the payments sweeper hands it over again, once the cause is gone, whatever the provider; until then
  the operator reads that it waits to be handed over, and why.
- Two runs of one batch at the same moment (a lost-batch re-enqueue beside the first message) hand each reference to
  the sandbox bank once: the second returns at once.
- After the last payable day nothing is handed to a provider: the batch stays as it is and says why.
- The chase asks the least recently asked first: payments that never settle do not keep the others from being asked.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from disburse.extensions import db
from disburse.payments import sending
from disburse.payments import service as payments
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.providers import RetryableError
from tests.factories import create_program
from tests.payments.conftest import _forget_providers
from tests.payments.helpers import approved_batch
from tests.sandbox_bank import Bank
from tests.workers.conftest import session_worker_paused  # noqa: F401 - the fixture, for this module
from tests.workers.test_payment_worker import PaymentRows
from workers import payments as payment_tasks

# The session worker, when an earlier module started it, would run the payments.send each batch's commit here sends
# (the savepoint commits are real to the broker) and hold the batch's hand-over lock while this module's own send
# asks for it: held still for the module.
pytestmark = pytest.mark.usefixtures("session_worker_paused")

LONG_AGO = timedelta(hours=2)


def _age(batch: PaymentBatch) -> None:
    """Let the hand-over age pass for ``batch`` (made, and last tried, two hours ago)."""
    db.session.execute(
        PaymentBatch.__table__.update()
        .where(PaymentBatch.id == batch.id)
        .values(
            created_at=PaymentBatch.created_at - LONG_AGO,
            handover_tried_at=PaymentBatch.handover_tried_at - LONG_AGO,
        )
    )
    db.session.commit()


def _states(batch: PaymentBatch) -> set[str]:
    return set(db.session.scalars(select(Payment.state).where(Payment.batch_id == batch.id)))


# ------------------------------------------------------------------------------------- a bank file not written


def test_an_outbox_that_cannot_be_written_is_retried_and_the_sweeper_hands_the_batch_over_once_fixed(
    app, db_session, bankfile, monkeypatch
):
    blocked = bankfile.parent / "not-a-folder"
    blocked.write_text("a file where the outbox should be")
    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DIR", str(blocked))
    _forget_providers(app)
    batch = approved_batch(provider="bankfile")

    with pytest.raises(RetryableError):  # the send task retries it, as a bank that cannot be reached
        sending.send_batch(batch.id)

    db_session.refresh(batch)
    assert batch.state == "sent" and batch.acknowledged_at is None and _states(batch) == {"sent"}
    assert batch.last_error is not None
    assert "Lô chờ bàn giao" in batch.last_error and "waiting to be handed over" in batch.last_error
    assert str(blocked) in batch.last_error
    # What an operator sees.
    listed = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False).output
    assert f"#{batch.id} " in listed and "chờ bàn giao / waiting to be handed over" in listed
    assert "cannot be written into the outbox" in listed

    # The send task gave up (its retries spent). The outbox is fixed; the sweeper, past the hand-over age, sends again.
    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DIR", str(bankfile))
    _forget_providers(app)
    assert payment_tasks.sweep()["handed_over_again"] == 0  # tried a moment ago: not yet
    _age(batch)
    assert payment_tasks.sweep()["handed_over_again"] == 1
    assert payment_tasks.sweep()["handed_over_again"] == 0  # asked for once per age, not at every sweep
    sent = sending.send_batch(batch.id)  # the task the sweeper enqueued

    assert sent.accepted and sent.orders == 3
    db_session.refresh(batch)
    assert batch.acknowledged_at is not None and batch.last_error is None
    assert (bankfile / f"{batch.reference}.pain.001.xml").is_file()
    _age(batch)
    assert payment_tasks.sweep()["handed_over_again"] == 0  # taken: never again


def test_wrong_debtor_settings_leave_the_batch_waiting_and_it_goes_out_once_they_are_fixed(
    app, db_session, bankfile, monkeypatch
):
    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DEBTOR_BANK", "NOSUCHBANK")
    _forget_providers(app)
    batch = approved_batch(provider="bankfile")

    sent = sending.send_batch(batch.id)

    assert not sent.accepted and "DISBURSE_BANKFILE_DEBTOR_" in (sent.error or "")
    db_session.refresh(batch)
    assert batch.state == "sent" and batch.acknowledged_at is None
    assert "Lô chờ bàn giao" in (batch.last_error or "") and "DISBURSE_BANKFILE_DEBTOR_" in (batch.last_error or "")
    assert not bankfile.exists() or not any(bankfile.iterdir())

    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DEBTOR_BANK", "BIDV")
    _forget_providers(app)
    _age(batch)
    assert sending.batches_to_hand_over(timedelta(minutes=15)) == [batch.id]
    db_session.commit()
    assert sending.send_batch(batch.id).accepted
    db_session.refresh(batch)
    assert batch.acknowledged_at is not None and batch.last_error is None
    assert (bankfile / f"{batch.reference}.pain.001.xml").is_file() and _states(batch) == {"sent"}


@pytest.mark.parametrize("provider", ["bankfile", "cash", "sandbox"])
def test_a_batch_marked_sent_by_a_worker_that_died_is_handed_over_whatever_the_provider(
    app, db_session, bankfile, bank, use_bank, provider
):
    use_bank(bank)
    batch = approved_batch(provider=provider)
    if provider == "cash":
        db_session.execute(PaymentBatch.__table__.update().where(PaymentBatch.id == batch.id).values(channel="cash"))
    payments.mark_batch_sent(payments.get_batch_for_update(batch.id))  # committed, then the worker was killed
    db_session.commit()
    _age(batch)

    assert payment_tasks.sweep()["handed_over_again"] == 1
    sending.send_batch(batch.id)

    db_session.refresh(batch)
    assert batch.acknowledged_at is not None
    if provider == "bankfile":
        assert (bankfile / f"{batch.reference}.pain.001.xml").is_file()
    if provider == "sandbox":
        assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 3
    _age(batch)
    assert payment_tasks.sweep()["handed_over_again"] == 0


# ------------------------------------------------------------------------------------- two runs of one batch


class SlowDoor:
    """The network in front of the sandbox bank: a payment message (``POST /disburse``) takes ``delay`` seconds to
    reach the bank, status questions none. Counts every order that went through to the bank."""

    def __init__(self, target: str, delay: float) -> None:
        self.delay = delay
        self.orders: Counter[str] = Counter()
        self._client = httpx.Client(base_url=target, timeout=30)
        door = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/") == "/disburse":
                    threading.Event().wait(door.delay)
                    for item in json.loads(body)["message"]["disbursements"]:
                        door.orders[item["reference_id"]] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = door._client.post(self.path, content=body, headers=headers)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._client.close()


@pytest.fixture
def committed(app: Flask) -> Iterator[PaymentRows]:
    with app.app_context():
        rows = PaymentRows()
        try:
            yield rows
        finally:
            rows.clean()
            db.session.remove()


def test_two_concurrent_sends_of_one_batch_hand_each_reference_to_the_bank_once(
    app, committed, bank: Bank, use_bank: Callable[[Any], None]
):
    program = committed.program()
    for _ in range(3):
        committed.claim("approved", program)
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None
    db.session.commit()
    batch_id = batch.id
    door = SlowDoor(bank.url, delay=1.5)
    use_bank(door.url)
    results: list[sending.Sent] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def send() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(sending.send_batch(batch_id))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        door.close()

    assert not errors, errors
    assert len(door.orders) == 3 and set(door.orders.values()) == {1}  # each order reached the bank once
    assert bank.sql("SELECT count(*) FROM sandbox.batches")[0][0] == 1  # in one message
    assert sorted(r.busy for r in results) == [False, True]  # the second returned at once
    db.session.rollback()
    assert db.session.get(PaymentBatch, batch_id).acknowledged_at is not None


# ---------------------------------------------------------------------------------- after the last payable day


def test_nothing_is_handed_over_after_the_last_payable_day(app, db_session, bank, use_bank, monkeypatch):
    use_bank(bank)
    program = create_program(payment_deadline=date(2021, 12, 31), extension_until=None)
    waiting = approved_batch(2, program=program)  # made in time, its send still queued
    lost = approved_batch(2, program=program)  # marked sent, the worker died before the bank was called
    payments.mark_batch_sent(payments.get_batch_for_update(lost.id))
    db_session.commit()
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-01-01")

    sent = sending.send_batch(waiting.id)
    again = sending.send_batch(lost.id)
    chased = sending.chase("sandbox", older_than=timedelta(0))

    assert "stopped paying" in (sent.error or "") and "hết hạn chi trả" in (sent.error or "")
    assert "Nothing of the batch is handed to the provider" in (again.error or "")
    assert chased.resent == 0
    assert bank.sql("SELECT count(*) FROM sandbox.batches")[0][0] == 0  # nothing reached the bank
    db_session.refresh(waiting)
    db_session.refresh(lost)
    assert (waiting.state, _states(waiting)) == ("open", {"queued"})  # as it was
    assert (lost.state, _states(lost), lost.acknowledged_at) == ("sent", {"sent"}, None)
    assert "31/12/2021" in (waiting.last_error or "") and "31/12/2021" in (lost.last_error or "")
    _age(waiting)
    _age(lost)
    assert payment_tasks.sweep()["handed_over_again"] == 0  # not re-enqueued for ever


# ------------------------------------------------------------------------------------------------ the chase


def test_the_chase_asks_the_least_recently_asked_first(db_session, make_bank, use_bank):
    """Eight payments the bank keeps pending for ever come first by id; four the bank settled, their callbacks lost,
    come after. With a budget for one chunk a sweep, the four are asked (and paid) by the second sweep."""
    bank = make_bank()  # it settles only when told (no settle thread): what it is sent now stays pending
    use_bank(bank)
    program = create_program()
    stuck = approved_batch(8, program=program)  # lower payment ids
    payments.mark_batch_sent(payments.get_batch_for_update(stuck.id))  # the bank never saw them
    db_session.commit()
    settled = approved_batch(4, program=program)
    assert sending.send_batch(settled.id).accepted
    bank.sandbox.settle_due()  # paid at the bank; its callbacks never come

    first = sending.chase("sandbox", older_than=timedelta(0), chunk=8, budget_s=0.001)
    second = sending.chase("sandbox", older_than=timedelta(0), chunk=8, budget_s=0.001)

    assert (first.asked, first.resent) == (8, 8)  # the stuck ones, sent again: pending for ever now
    assert second.asked >= 4 and second.applied["settled"] == 4
    db_session.expire_all()
    assert _states(settled) == {"paid"} and _states(stuck) == {"sent"}
    asked = db_session.scalars(select(Payment.last_asked_at).where(Payment.batch_id == settled.id)).all()
    assert all(at is not None and at <= datetime.now(UTC) for at in asked)
