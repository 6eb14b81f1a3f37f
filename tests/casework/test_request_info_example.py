"""The request for information's due date hint gives an example the field takes: "Ví dụ 20/11/2021" was a day it
refused (before today). The example is a week from the programme's today, the programme's last payable day when
that comes sooner, and none once no day can be taken."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from disburse.casework.forms import example_due_day
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from tests.casework.test_pages import DONG_ANH, _text
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")


@pytest.mark.parametrize(("locale", "words"), [("vi", "Ví dụ {day}"), ("en", "For example {day}")])
def test_the_due_date_s_example_is_a_day_the_form_takes(client, db_session, locale, words):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD), locale)
    claim = create_claim("needs_review")
    page = f"/caseworker/claims/{claim.id}/request-info"
    example = (programme_today() + timedelta(days=7)).strftime("%d/%m/%Y")
    shown = client.get(page).get_data(as_text=True)
    assert re.search(rf'<p class="hint" id="due_on-hint">{words.format(day=example)}</p>', shown)
    assert 'aria-describedby="due_on-hint"' in shown
    assert "20/11/2021" not in _text(client.get(page))

    sent = client.post(page, data={"addressee": "employer", "note": "Gửi hợp đồng.", "due_on": example})
    assert sent.status_code == 302  # taken, as the hint said


def test_the_example_stays_within_the_programme(db_session):
    last = db_session.get(Program, create_claim("needs_review").program_id).last_payable_day
    assert example_due_day(last - timedelta(days=30), last) == last - timedelta(days=23)
    assert example_due_day(last - timedelta(days=3), last) == last  # the last payable day comes sooner
    assert example_due_day(last, last) == last
    assert example_due_day(last + timedelta(days=1), last) is None  # no day left: no example
    assert example_due_day(date(2021, 11, 20), None) == date(2021, 11, 27)
