"""Callbacks are delivered at least once: a failure is retried with a growing wait, then given up on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from disburse.sandbox import bank as bank_module

from .conftest import order


def _outbox(bank):
    return bank.sql("SELECT attempts, next_attempt_at, delivered_at, abandoned_at, last_error FROM sandbox.callbacks")


def test_a_failed_callback_is_retried_with_backoff_until_it_arrives(bank, make_provider, receiver):
    receiver.statuses = [500, 503]
    make_provider(bank).send("B-1", [order("R-1")])
    bank.sandbox.settle_due()
    start = datetime.now(UTC)

    assert bank.sandbox.deliver_due() == 0
    [(attempts, due, delivered, _abandoned, error)] = _outbox(bank)
    assert (attempts, delivered, error) == (1, None, "HTTP 500")
    assert timedelta(seconds=0.5) < due - start < timedelta(seconds=3)
    assert bank.sandbox.deliver_due() == 0  # not due yet: nothing sent
    assert len(receiver.received) == 1

    assert bank.sandbox.deliver_due(now=start + timedelta(seconds=5)) == 0
    [(attempts, due2, delivered, _abandoned, error)] = _outbox(bank)
    assert (attempts, error) == (2, "HTTP 503")
    assert due2 - start > timedelta(seconds=1.5)  # waited longer the second time

    assert bank.sandbox.deliver_due(now=start + timedelta(seconds=60)) == 1
    [(attempts, _due, delivered, _abandoned, error)] = _outbox(bank)
    assert (attempts, error) == (3, None) and delivered is not None
    assert bank.sandbox.deliver_due(now=start + timedelta(hours=1)) == 0  # delivered callbacks stay delivered
    assert len({r.headers["webhook-id"] for r in receiver.wait_for(3)}) == 1


def test_an_unreachable_receiver_is_given_up_on_after_the_last_attempt(make_bank, make_provider, monkeypatch):
    monkeypatch.setattr(bank_module, "MAX_ATTEMPTS", 3)
    bank = make_bank()
    make_provider(bank, callback_url="http://127.0.0.1:9/nobody-listens").send("B-1", [order("R-1")])
    bank.sandbox.settle_due()
    later = datetime.now(UTC)
    for _ in range(4):
        later += timedelta(hours=1)
        bank.sandbox.deliver_due(now=later)
    [(attempts, _due, delivered, abandoned, error)] = _outbox(bank)
    assert attempts == 3 and delivered is None and abandoned is not None
    assert "Connect" in error
