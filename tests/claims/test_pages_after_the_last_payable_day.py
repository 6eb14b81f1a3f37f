"""After the programme's last payable day the public pages and the unit's page no longer promise money nobody will
pay (docs/rules.md, section 4): the person's status says the programme stopped paying on that day (no amount
expected, no account to send, no cash to collect), the bank-details page refuses, taking nothing, and the unit's page
says the same of its people still waiting. A bank payment on its way is left to the bank."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_cash_payment, create_claim, create_employee, create_employer, create_user, nq116

BORN = date(1988, 4, 9)
LAST = "2022-09-10"  # NQ116's last payable day (the extension's end)
AFTER = "2022-09-11"
ENDED_VI = "Chương trình đã hết hạn chi trả ngày 10/09/2022"


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _facts(claim: Claim) -> dict[str, str]:
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    return {"si_code": person.si_code, "national_id": person.national_id, "date_of_birth": "09/04/1988"}


def _claim(state: str, **overrides: object) -> Claim:
    person = create_employee(date_of_birth=BORN, district_code="017", **overrides.pop("person", {}))  # type: ignore[arg-type]
    return create_claim(state, employee=person, **overrides)


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(ClaimEvent)) or 0


@pytest.fixture
def clock(app, monkeypatch):
    def set_today(day: str) -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", day)

    return set_today


def test_the_status_says_the_programme_stopped_paying_instead_of_expecting_an_amount(client, db_session, clock):
    clock("2021-11-15")
    review = _claim("needs_review", reasons=["payment_period_ended"])
    waiting = _claim("awaiting_payment_details")
    clock(LAST)  # the last day still pays
    page = _text(client.post("/people/status", data=_facts(review)))
    assert "Đang xác minh" in page and "Mức hỗ trợ dự kiến" in page and ENDED_VI not in page

    clock(AFTER)
    response = client.post("/people/status", data=_facts(review))
    page = _text(response)
    assert response.status_code == 200
    assert ENDED_VI in page and "không còn được chi trả" in page
    assert "Đang xác minh" not in page and "Mức hỗ trợ" not in page and "1.800.000" not in page
    page = _text(client.post("/people/status", data=_facts(waiting)))
    assert ENDED_VI in page and 'id="send-details"' not in page and "Hãy gửi tài khoản" not in page


def test_the_status_of_cash_at_the_office_says_it_is_no_longer_handed_over(client, db_session, clock):
    clock("2021-11-15")
    payment = create_cash_payment(employee=create_employee(date_of_birth=BORN, district_code="017"))
    claim = db.session.get(Claim, payment.claim_id)
    clock(AFTER)
    page = _text(client.post("/people/status", data=_facts(claim)))
    assert ENDED_VI in page and "Tiền mặt đang chờ bạn" not in page


def test_the_status_of_a_paid_or_refused_claim_is_unchanged(client, db_session, clock):
    clock("2021-11-15")
    paid = _claim("paid")
    clock(AFTER)
    page = _text(client.post("/people/status", data=_facts(paid)))
    assert "Đã chi trả" in page and ENDED_VI not in page


def test_the_bank_details_page_refuses_after_the_last_payable_day_and_takes_nothing(client, db_session, clock):
    clock("2021-11-15")
    claim = _claim("awaiting_payment_details")
    clock(AFTER)
    page = client.get("/people/payment-details")
    assert page.status_code == 200 and ENDED_VI in _text(page) and 'name="bank_account"' not in _text(page)
    before = _events()
    sent = client.post(
        "/people/payment-details", data={**_facts(claim), "bank_code": "BIDV", "bank_account": "21510001234567"}
    )
    assert sent.status_code == 409
    assert ENDED_VI in _text(sent) and "trước khi chi trả" not in _text(sent)
    assert _events() == before

    clock(LAST)
    sent = client.post(
        "/people/payment-details", data={**_facts(claim), "bank_code": "BIDV", "bank_account": "21510001234567"}
    )
    assert sent.status_code == 200 and _events() == before + 1


def test_the_units_page_says_the_programme_stopped_paying_for_the_people_still_waiting(client, db_session, clock):
    clock("2021-11-15")
    unit = create_employer(name="Công ty TNHH Hết Hạn")
    cash = create_cash_payment(employee=create_employee(employer_id=unit.id, full_name="Lê Văn Tiền"))
    create_claim("paid", employee=create_employee(employer_id=unit.id, full_name="Trần Thị Xong"))
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    db.session.commit()
    assert "để nhận tiền mặt" in _text(client.get(f"/employers/{unit.unit_code}"))

    clock(AFTER)
    page = _text(client.get(f"/employers/{unit.unit_code}"))
    assert page.count(ENDED_VI) == 1 and "để nhận tiền mặt" not in page
    assert db.session.get(Claim, cash.claim_id).state == "payment_pending"  # the page only says it
    assert nq116().last_payable_day == date(2022, 9, 10)
