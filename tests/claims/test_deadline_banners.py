"""The unit's deadline banners say "today" on the deadline's own day only: a deadline on a day off (a Saturday) has no
working day left from the Friday before, which is not its last day; and Form 03, taken until its deadline inclusive,
is offered on every day it is taken, its last day included."""

from __future__ import annotations

import re
from datetime import date

import pytest

from disburse.extensions import db
from tests.factories import create_claim, create_employee, create_employer, create_user, nq116

SATURDAY = date(2021, 11, 13)


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def employer(app, client, db_session):
    unit = create_employer(name="Công ty TNHH Thứ Bảy")
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    db.session.commit()
    return unit


def _on(app, monkeypatch, day: str) -> None:
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", day)


def test_a_form_03_deadline_on_a_saturday_is_not_today_on_the_friday_and_form_03_is_offered_to_its_end(
    app, client, employer, monkeypatch
):
    nq116().adjustment_deadline = SATURDAY
    db.session.commit()
    link = f'href="/employers/{employer.unit_code}/form-03"'
    for day in ("2021-11-12", "2021-11-13"):  # the Friday before, the Saturday itself
        _on(app, monkeypatch, day)
        for path in ("/", f"/employers/{employer.unit_code}"):
            response = client.get(path)
            page, raw = _text(response), response.get_data(as_text=True)
            assert link in raw, (day, path)
            if day == "2021-11-12":
                assert "Hôm nay" not in page, path
                assert "Hạn gửi Mẫu số 03 (điều chỉnh): 13/11/2021 (không phải ngày làm việc)." in page, path
            else:
                assert "Hôm nay (13/11/2021) là hạn cuối gửi Mẫu số 03 (điều chỉnh)." in page, path


def test_a_form_02_due_on_a_saturday_is_not_today_before_it_nor_after_it(app, client, employer, monkeypatch):
    _on(app, monkeypatch, "2021-11-01")
    create_claim("listed", employee=create_employee(employer_id=employer.id), review_due_on=SATURDAY)
    said = {
        "2021-11-12": "Hạn gửi Mẫu số 02: 13/11/2021 (không phải ngày làm việc).",
        "2021-11-13": "Hôm nay (13/11/2021) là hạn cuối gửi Mẫu số 02.",
        "2021-11-14": "Đã quá hạn gửi Mẫu số 02 (13/11/2021)",
    }
    for day, words in said.items():
        _on(app, monkeypatch, day)
        page = _text(client.get(f"/employers/{employer.unit_code}"))
        assert words in page, day
        assert ("Hôm nay" in page) == (day == "2021-11-13"), day


def test_the_english_banner_of_a_deadline_on_a_day_off(app, client, employer, monkeypatch):
    nq116().adjustment_deadline = SATURDAY
    user = create_user("employer", employer_unit=employer.unit_code)
    user.locale = "en"
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    db.session.commit()
    _on(app, monkeypatch, "2021-11-12")
    assert "Form 03 (adjustments) due on 13/11/2021 (not a working day)." in _text(client.get("/"))
