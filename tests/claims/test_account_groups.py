"""An account number copied in groups from a card or a banking app ("1903 5566 7788 99", "0011-0044-55667") is the
same number wherever it comes in: Form 02 and Form 03 (files, the browser and the API go through the same service),
Form 04, the person's own page, the caseworker's correction. Anything else in it is still refused."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disburse.casework import service as casework
from disburse.casework.forms import PaymentDetailsForm
from disburse.claims import applications
from disburse.claims import employer_forms as forms
from disburse.claims.models import Claim
from disburse.claims.outcomes import account_digits, is_bank_account
from disburse.claims.person_details import offer_payment_details
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_user, nq116

TODAY = date(2021, 10, 25)
TYPED = ["1903 5566 7788 99", "1903-5566-7788-99", " 19035566778899 ", "1903\u00a05566 - 7788 99"]
DIGITS = "19035566778899"


@given(
    st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=5), st.sampled_from([" ", "-", "  "])
)
def test_groups_are_the_digits_and_nothing_else_is_dropped(groups, mark):
    assert account_digits(mark.join(groups)) == "".join(groups)
    for bad in ("1234.5678", "12a4 5678", "1234_5678", "-12345678", "123456 78-"):
        assert not is_bank_account(account_digits(bad))


@pytest.mark.parametrize("typed", TYPED)
def test_form_02_and_form_03_store_the_digits(db_session, typed):
    employer = create_employer()
    listed = create_claim("listed", employee=create_employee(employer_id=employer.id))
    failed = create_claim("awaiting_payment_details", employee=create_employee(employer_id=employer.id))
    si = {c.id: db.session.get(Employee, c.employee_id).si_code for c in (listed, failed)}
    row = {"si_code": si[listed.id], "bank_code": "VCB", "bank_account": typed, "decline": False}
    assert [r.outcome for r in forms.confirm(nq116(), employer.unit_code, [row], today=TODAY).rows] == ["confirmed"]
    row = {"si_code": si[failed.id], "action": "correct", "bank_code": "VCB", "bank_account": typed}
    assert [r.outcome for r in forms.adjust(nq116(), employer.unit_code, [row], today=TODAY).rows] == ["corrected"]
    for claim in (listed, failed):
        db_session.refresh(claim)
        assert claim.bank_account == DIGITS


@pytest.mark.usefixtures("paying_clock")
@pytest.mark.parametrize("typed", TYPED)
def test_form_04_the_persons_page_and_the_caseworker_take_the_digits(app, db_session, typed):
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 6, 30), district_code="017")
    body = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "1988-02-03",
        "phone": "0912345678",
        "address": "Thôn Đoài, Đông Anh",
        "status": "stopped",
        "unit_code": "TA0000001",
        "unused_months": 40,
        "payout": "bank",
        "bank_code": "VCB",
        "bank_account": typed,
    }
    assert applications.validate(body, TODAY).bank_account == DIGITS

    waiting = create_claim("awaiting_payment_details", district_code="017")
    owner = db.session.get(Employee, waiting.employee_id)
    offer = offer_payment_details(
        nq116(),
        si_code=owner.si_code,
        national_id=owner.national_id,
        date_of_birth=owner.date_of_birth,
        bank_code="VCB",
        bank_account=typed,
    )
    assert offer.errors == {} and offer.event.data["bank_account"] == DIGITS

    caseworker = create_user("caseworker", district="017")
    assert not casework.correct_payment_details(waiting.id, caseworker, "BIDV", typed).errors
    assert db.session.get(Claim, waiting.id).bank_account == DIGITS
    with app.test_request_context(method="POST", data={"bank_code": "VCB", "bank_account": typed}):
        form = PaymentDetailsForm(meta={"csrf": False})
        form.bank_code.choices = [("VCB", "VCB")]
        assert form.validate(), form.errors
