"""The unit's status file names the office a person paid in cash goes to, in the page's words: the social security
office of the claim's district (a Form 04 claim's may not be the unit's), not "Cash at the office"."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from disburse.claims import unit as unit_forms
from disburse.extensions import db
from disburse.reference.models import District
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_user

TODAY = "2021-10-25"
BA_DINH = "001"


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_employer(name="Công ty TNHH May Thử")  # in Đông Anh


def _employer(client, unit, locale: str):
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    user.locale = locale
    db.session.commit()
    return client


def _rows(client, unit, fmt: str) -> dict[str, list[object]]:
    """The downloaded file's rows by SI code."""
    response = client.get(f"/employers/{unit.unit_code}/status-file?format={fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        header, *rows = csv.reader(io.StringIO(response.data.decode("utf-8-sig")))
    else:
        header, *rows = openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
    assert list(header) == unit_forms.STATUS_HEADER
    return {str(row[0]): list(row) for row in rows}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize(
    ("locale", "at_dong_anh", "at_office_of"),
    [
        ("vi", "Tiền mặt tại cơ quan BHXH huyện Đông Anh", "Tiền mặt tại cơ quan BHXH {}"),
        ("en", "Cash at the social security office of Huyện Đông Anh", "Cash at the social security office of {}"),
    ],
)
def test_the_status_file_names_the_office_a_cash_payment_is_collected_at(
    client, unit, fmt, locale, at_dong_anh, at_office_of
):
    waiting = create_claim(
        "payment_pending",
        employee=create_employee(employer_id=unit.id, full_name="Đinh Văn Tiền"),
        payout="cash",
        bank_code=None,
        bank_account=None,
    )
    paid = create_claim(
        "paid",
        employee=create_employee(employer_id=unit.id, full_name="Đinh Thị Mặt"),
        payout="cash",
        bank_code=None,
        bank_account=None,
    )
    # Someone of the unit living in Ba Đình whose claim (Form 04) is that district's: paid at its office.
    elsewhere = create_claim(
        "payment_pending",
        employee=create_employee(employer_id=unit.id, full_name="Đinh Văn Xa", district_code=BA_DINH),
        payout="cash",
        bank_code=None,
        bank_account=None,
        district_code=BA_DINH,
    )
    bank = create_claim("payment_pending", employee=create_employee(employer_id=unit.id, full_name="Đinh Văn Khoản"))
    si = {claim: db.session.get(Employee, claim.employee_id).si_code for claim in (waiting, paid, elsewhere, bank)}
    ba_dinh = db.session.get(District, BA_DINH).name
    assert ba_dinh and unit.district_code != BA_DINH

    rows = _rows(_employer(client, unit, locale), unit, fmt)
    paid_by = unit_forms.STATUS_HEADER.index("Hình thức nhận / Paid by")
    assert rows[si[waiting]][paid_by] == at_dong_anh
    assert rows[si[paid]][paid_by] == at_dong_anh
    assert rows[si[elsewhere]][paid_by] == at_office_of.format(area_in_sentence(ba_dinh)[locale == "en"])
    assert rows[si[bank]][paid_by] == ("Bank transfer" if locale == "en" else "Chuyển khoản")
    # The reason column names the same office, as the page does.
    named = area_in_sentence(ba_dinh)[locale == "en"]
    assert named in rows[si[elsewhere]][-1] and "Đông Anh" not in rows[si[elsewhere]][-1]
