"""Verification is asked for after the commit, in chunks, on the verification queue (real Redis, real Celery
messages; no worker takes them: the messages go to a Redis database no worker reads, the ``broker`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import text

from disburse.background import QueueNames
from disburse.verification import service as verification
from disburse.verification import sweepers
from tests.apps import waiting
from tests.factories import create_claim, create_program
from workers import sweepers as tasks


def _waiting(client: redis.Redis) -> list[tuple[str, dict]]:
    return [(name, kwargs) for name, _args, kwargs in waiting(client, QueueNames.VERIFICATION)]


def test_request_verification_sends_chunks_after_the_commit(db_session, broker):
    assert verification.request_verification([5, 3, 1, 3, 4], batch=2) == 2
    assert broker.llen(QueueNames.VERIFICATION) == 0
    db_session.commit()
    assert _waiting(broker) == [
        ("verification.verify", {"claim_ids": [1, 3]}),
        ("verification.verify", {"claim_ids": [4, 5]}),
    ]


def test_nothing_is_sent_when_the_transaction_rolls_back(db_session, broker):
    verification.request_verification([1, 2])
    db_session.rollback()
    assert broker.llen(QueueNames.VERIFICATION) == 0


def test_the_waiting_sweep_sends_ranges_and_while_the_queue_holds_work_only_the_long_lost(db_session, broker):
    """A peak of Forms 02 keeps the queue from being empty at the sweep's turn: claims whose message was lost are
    still sent again once they have waited longer than the busy grace."""
    program = create_program()
    waiting = sorted(create_claim("employer_confirmed", program=program).id for _ in range(3))
    db_session.execute(
        text("UPDATE claims SET updated_at = now() - interval '1 hour' WHERE program_id = :p"), {"p": program.id}
    )
    assert sweepers.queued_verifications() == 0
    assert tasks.verification.run() >= 3
    assert ("verification.verify", {"id_range": [waiting[0], waiting[-1]]}) in _waiting(broker)
    queued = broker.llen(QueueNames.VERIFICATION)
    assert sweepers.queued_verifications() == queued > 0
    assert tasks.verification.run() == 0, "the queue still holds work: it gets there first"
    assert broker.llen(QueueNames.VERIFICATION) == queued
    db_session.execute(
        text("UPDATE claims SET updated_at = now() - interval '61 minutes' WHERE program_id = :p"), {"p": program.id}
    )
    assert tasks.verification.run() >= 3, "waiting longer than the busy grace: their message was lost"
    assert broker.llen(QueueNames.VERIFICATION) > queued
    assert sweepers.sweep_waiting(grace=timedelta(hours=2)) == 0
