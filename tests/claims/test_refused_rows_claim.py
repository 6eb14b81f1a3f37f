"""A returned Form 02 or Form 03 row refused for its values (a phone, an account number) names the person's claim on
the unit's list, on the page (a link to the person on the unit's status page) and in the command's output, as the API
names it per row (tests/api/test_form_rows_claim_id.py); a row for someone not on the list names none."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from disburse.claims.forms_cli import forms_cli
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_user

TODAY = "2021-10-25"  # Forms 02 and 03 both taken
STRANGER = "0199999999"


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_employer(name="Công ty TNHH Dòng Lỗi")


def _person(unit, state: str = "listed") -> Claim:
    return create_claim(state, employee=create_employee(employer_id=unit.id))


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _csv(rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


_FORM_02 = ["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"]
_FORM_03 = ["Mã số BHXH (si_code)", "Thao tác (action)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)"]
_FORM_03 += ["Số điện thoại mới (phone)"]


def _rows(form: str, claim: Claim) -> list[list[str]]:
    """A row refused for its value (an account of 3 digits) about ``claim``, and one about no one's claim."""
    if form == "form-02":
        return [_FORM_02, [_si(claim), "VCB", "123", ""], [STRANGER, "VCB", "0071000123456", ""]]
    return [_FORM_03, [_si(claim), "correct", "VCB", "123", ""], [STRANGER, "remove", "", "", ""]]


@pytest.mark.parametrize("form", ["form-02", "form-03"])
def test_the_page_s_refused_rows_name_the_claim(client, unit, form):
    claim = _person(unit, "listed" if form == "form-02" else "awaiting_payment_details")
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user.get_id(), True
    db.session.commit()
    answer = client.post(
        f"/employers/{unit.unit_code}/{form}/upload",
        data={"file": (_csv(_rows(form, claim)), "mau.csv")},
        content_type="multipart/form-data",
    )
    page = html.unescape(re.sub(r"\s+", " ", answer.get_data(as_text=True)))
    assert answer.status_code == 200
    link = f'<a href="/employers/{unit.unit_code}?q={_si(claim)}">Hồ sơ số {claim.id}</a>'
    row = re.search(rf"<tr><td class=\"num\">2</td><td class=\"name\">[^<]*{_si(claim)} · {re.escape(link)}</td>", page)
    assert row, "the refused row names its claim, linked to the person on the status page"
    stranger = re.search(rf'<tr><td class="num">3</td><td class="name">[^<]*{STRANGER}</td>', page)
    assert stranger, "no claim for a person not on the list"
    assert page.count("Hồ sơ số ") == 1
    # The link leads to the person: the status page searched by the SI code finds them.
    assert _si(claim) in html.unescape(client.get(f"/employers/{unit.unit_code}?q={_si(claim)}").get_data(as_text=True))


def test_the_command_s_refused_rows_name_the_claim(app, unit, tmp_path):
    claim = _person(unit)
    path = tmp_path / "mau02.csv"
    path.write_bytes(_csv(_rows("form-02", claim)).getvalue())
    said = app.test_cli_runner().invoke(forms_cli, ["confirm", unit.unit_code, str(path), "--program", "NQ116"])
    assert said.exit_code == 1, said.output
    assert f"dòng/row 2 (hồ sơ/claim {claim.id}, {_si(claim)}): " in said.output
    assert re.search(r"dòng/row 3: ", said.output)  # no one's claim: none named
