"""The day a claim was received, wherever it is counted (the review queue's filter, the backlog's age buckets, the
case page), is Vietnam's day, whatever time zone the database session runs in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.reports.backlog import RECEIVED_ON
from disburse.verification.review import received_on
from tests.factories import create_claim


@pytest.mark.parametrize("session_zone", ["UTC", "America/New_York", "Asia/Ho_Chi_Minh"])
def test_a_claim_listed_at_dawn_in_hanoi_is_received_that_day_in_every_count(db_session, session_zone):
    # 20:30 UTC on the 4th is 03:30 on the 5th in Hà Nội: the office received it on the 5th.
    claim = create_claim("listed", created_at=datetime(2026, 12, 4, 20, 30, tzinfo=UTC))
    db.session.execute(text(f"SET LOCAL TimeZone = '{session_zone}'"))
    queue = db.session.scalar(select(received_on()).where(Claim.id == claim.id))
    backlog = db.session.scalar(text(f"SELECT {RECEIVED_ON} FROM claims c WHERE c.id = :id"), {"id": claim.id})
    assert queue == backlog == date(2026, 12, 5)
