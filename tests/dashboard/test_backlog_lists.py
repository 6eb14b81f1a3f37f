"""The backlog page's lists: reconciliation runs of one day told apart by when they ran, the latest of a day and
provider marked as the one that counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from disburse.payments.models import Reconciliation
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.factories import create_user


def _runs(html: str) -> list[list[str]]:
    table = html.split('id="reconciliations"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_runs_of_the_same_day_show_when_they_ran_and_which_one_counts(client, db_session, locale):
    """Three runs of 07/12/2026 with the sandbox (the second ran last: 09:30 in Vietnam) and one of the day before:
    each with its time, to the minute in Vietnam's time, the latest of each day marked as the one that counts."""
    runs = [
        (date(2026, 12, 7), datetime(2026, 12, 7, 1, 5, tzinfo=UTC), 3),  # 08:05 in Vietnam
        (date(2026, 12, 7), datetime(2026, 12, 7, 2, 30, tzinfo=UTC), 4),  # 09:30
        (date(2026, 12, 7), datetime(2026, 12, 7, 1, 45, tzinfo=UTC), 5),  # 08:45, recorded last
        (date(2026, 12, 6), datetime(2026, 12, 6, 17, 10, tzinfo=UTC), 6),  # 07/12 00:10 in Vietnam
    ]
    for day, ran_at, matched in runs:
        db_session.add(
            Reconciliation(provider="sandbox", day=day, matched=matched, differences=0, details=[], ran_at=ran_at)
        )
    db_session.flush()
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    rows = _runs(client.get("/dashboard/backlog").get_data(as_text=True))
    counts, again = (
        ("lần được tính", "đã có lần chạy sau") if locale == "vi" else ("the one that counts", "run again later")
    )
    assert [row[:2] + row[3:4] for row in rows] == [
        ["07/12/2026", f"07/12/2026 09:30 · {counts}", "4"],
        ["07/12/2026", f"07/12/2026 08:45 · {again}", "5"],
        ["07/12/2026", f"07/12/2026 08:05 · {again}", "3"],
        ["06/12/2026", f"07/12/2026 00:10 · {counts}", "6"],
    ]
