"""The outbox table's rules, held by the database itself (migration 0045)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.factories import create_employer, nq116

_INSERT = text(
    """INSERT INTO notifications (key, kind, program_id, employer_id, recipient, params)
       VALUES (:key, 'form_01_ready', :program_id, :employer_id, :recipient, '{}')
       ON CONFLICT (key, lower(recipient)) DO NOTHING"""
)


def _queue(db_session, recipient: str = "ketoan@congty.example.vn", key: str = "form_01_ready/NQ116/X/2021-10-20"):
    unit = create_employer()
    values = {"key": key, "program_id": nq116().id, "employer_id": unit.id, "recipient": recipient}
    return db_session.execute(_INSERT, values).rowcount


def test_a_key_reaches_an_address_once_whatever_its_case(db_session):
    assert _queue(db_session) == 1
    assert _queue(db_session, "KeToan@CongTy.example.vn") == 0
    assert _queue(db_session, "giamdoc@congty.example.vn") == 1
    assert _queue(db_session, key="form_01_ready/NQ116/X/2021-10-21") == 1
    row = db_session.execute(text("SELECT state, attempts, subject FROM notifications ORDER BY id LIMIT 1")).one()
    assert tuple(row) == ("queued", 0, None)


@pytest.mark.parametrize(
    "change",
    [
        "state = 'lost'",
        "attempts = -1",
        "state = 'sent', attempts = 1",  # without sent_at, subject and body
        "state = 'sent', attempts = 1, sent_at = now()",  # without the text sent
        "state = 'failed', attempts = 1",  # without a reason
        "state = 'failed', last_error = 'x'",  # never tried
        "sent_at = now()",  # a sent time on a queued row
        "recipient = 'not an address'",
        "kind = 'sms'",
        "locale = 'fr'",
        "key = ''",
    ],
)
def test_the_database_refuses_a_row_that_breaks_a_rule(db_session, change):
    _queue(db_session)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text(f"UPDATE notifications SET {change}"))
