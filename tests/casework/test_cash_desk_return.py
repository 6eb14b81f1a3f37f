"""The cash desk pays one person after another: a receipt opened from the desk goes back to the desk's search once
recorded, saying whom, how much and which receipt; a paid claim's receipt page offers no form; the desk downloads
the office's list to print, the file the ``payments cash-list --out`` command writes."""

from __future__ import annotations

import io
import re
from html import unescape

import openpyxl
import pytest

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.formatting import dmy
from disburse.payments.models import Payment
from disburse.registry.models import Employee
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_cash_payment, create_employee, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH, QUAN_1 = "017", "760"


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


def _text(response) -> str:
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _name(payment: Payment) -> str:
    claim = db.session.get(Claim, payment.claim_id)
    assert claim is not None
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    return person.full_name


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_receipt_opened_from_the_desk_goes_back_to_the_desks_search_naming_the_payment(client, caseworker, locale):
    payment = create_cash_payment(amount_vnd=2_650_000)
    sign_in(client, caseworker, locale)
    desk = client.get("/caseworker/cash-desk").get_data(as_text=True)
    link = f"/caseworker/claims/{payment.claim_id}/cash-receipt?from=desk"
    assert f'href="{link}"' in desk

    page = client.get(link)
    back = "Quay lại bàn chi tiền mặt" if locale == "vi" else "Back to the cash desk"
    assert back in _text(page) and 'href="/caseworker/cash-desk#q"' in page.get_data(as_text=True)
    paid = client.post(link, data={"receipt_number": "bl 0042", "confirmed": "1"})
    assert paid.status_code == 302 and paid.headers["Location"] == "/caseworker/cash-desk#q"

    after = _text(client.get("/caseworker/cash-desk"))
    amount = "2.650.000 ₫" if locale == "vi" else "VND 2,650,000"
    said = (
        f"Đã ghi nhận chi trả tiền mặt: {amount} cho {_name(payment)} (hồ sơ số {payment.claim_id}), "
        "biên lai số BL 0042."
        if locale == "vi"
        else f"Cash payment recorded: {amount} to {_name(payment)} (claim {payment.claim_id}), receipt number BL 0042."
    )
    assert said in after
    assert db.session.get(Payment, payment.id).state == "paid"


def test_from_the_case_page_the_receipt_still_goes_back_to_the_case(client, caseworker):
    payment = create_cash_payment()
    sign_in(client, caseworker)
    url = f"/caseworker/claims/{payment.claim_id}/cash-receipt"
    assert f"Quay lại hồ sơ số {payment.claim_id}" in _text(client.get(url))
    paid = client.post(url, data={"receipt_number": "BL 0043", "confirmed": "1"})
    assert paid.headers["Location"] == f"/caseworker/claims/{payment.claim_id}"


def test_the_desks_office_and_day_come_back_and_nothing_else_is_followed(client, db_session):
    admin = create_user("admin", password=PASSWORD)
    payment = create_cash_payment()
    sign_in(client, admin)
    desk = client.get(f"/caseworker/cash-desk?district={DONG_ANH}").get_data(as_text=True)
    link = f"/caseworker/claims/{payment.claim_id}/cash-receipt?from=desk&amp;district={DONG_ANH}"
    assert f'href="{link}"' in desk
    # A URL in the query is never followed: only the desk, with its checked filters (a bad one dropped).
    evil = f"/caseworker/claims/{payment.claim_id}/cash-receipt?from=desk&district=//evil.example&next=//evil.example"
    page = client.get(evil).get_data(as_text=True)
    assert "evil" not in page.split('class="back"', 1)[1].split("</p>", 1)[0]
    paid = client.post(evil, data={"receipt_number": "BL 0044", "confirmed": "1"})
    assert paid.status_code == 302 and paid.headers["Location"] == "/caseworker/cash-desk#q"


def test_a_paid_claims_receipt_page_offers_no_form_and_says_what_was_paid(client, caseworker):
    payment = create_cash_payment(amount_vnd=3_710_000)
    sign_in(client, caseworker)
    url = f"/caseworker/claims/{payment.claim_id}/cash-receipt?from=desk"
    client.post(url, data={"receipt_number": "BL 0045", "confirmed": "1"})
    # Sent again with another receipt (back and resubmit): refused, and the page offers no form to record one.
    again = client.post(url, data={"receipt_number": "BL 0046", "confirmed": "1"})
    html = again.get_data(as_text=True)
    assert again.status_code >= 400
    assert 'name="receipt_number"' not in html and "Ghi nhận đã chi</button>" not in html
    paid = db.session.get(Payment, payment.id)
    assert paid.receipt_number == "BL 0045"
    # The day in Vietnam, as the page says it (after 17:00 UTC it is already the next day there).
    assert f"Đã chi 3.710.000 ₫ ngày {dmy(paid.settled_at)}" in _text(again)
    assert "biên lai số BL 0045" in _text(again)
    # Opened afresh from the desk's list: back to the desk, saying nothing is waiting.
    opened = client.get(url)
    assert opened.status_code == 302 and opened.headers["Location"] == "/caseworker/cash-desk#q"


def test_the_desk_downloads_the_offices_cash_list_to_print(client, caseworker, app):
    waiting = [create_cash_payment() for _ in range(2)]
    far = create_cash_payment(employee=create_employee(district_code=QUAN_1))
    sign_in(client, caseworker)
    desk = client.get("/caseworker/cash-desk?q=zzzz-nobody").get_data(as_text=True)
    assert "/caseworker/cash-desk/list.xlsx" not in desk  # nothing found: nothing listed to print either
    desk = client.get("/caseworker/cash-desk").get_data(as_text=True)
    assert 'href="/caseworker/cash-desk/list.xlsx"' in desk

    response = client.get("/caseworker/cash-desk/list.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=chi-tien-mat-017-")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    flat = [str(cell) for row in cells for cell in row if cell is not None]
    assert any(text.startswith("Danh sách chi tiền mặt tại cơ quan BHXH") for text in flat)
    assert "Số biên lai / Receipt number" in flat and "Chữ ký / Signature" in flat
    for payment in waiting:
        assert payment.provider_reference in flat
    assert far.provider_reference not in flat
    assert "Thủ quỹ / Cashier" in flat

    # Another office's list is not this caseworker's; a bad day is said on its field.
    assert client.get(f"/caseworker/cash-desk/list.xlsx?district={QUAN_1}").status_code == 404
    assert client.get("/caseworker/cash-desk/list.xlsx?day=31/02/2022").status_code == 422
