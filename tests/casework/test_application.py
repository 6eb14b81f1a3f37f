"""Form 04 at the desk: the registry searched first and the form prefilled from it; every bad field named at once in
both languages; the application recorded under the caseworker's name; a person who already has a claim refused."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_employee, create_employer, create_user

TODAY = "2021-12-01"


@pytest.fixture
def desk(client, app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    user = create_user("caseworker", district="017", password=PASSWORD)
    sign_in(client, user)
    return user


def _person(**overrides):
    values = {
        "ui_status": "stopped",
        "ui_stopped_on": date(2021, 6, 30),
        "unused_months": 30,
        "district_code": "017",
        "address": "Số 5 ngõ 12, Đông Anh",
        "bank_code": "VCB",
        "bank_account": "0011004455667",
    }
    return create_employee(**{**values, **overrides})


def _form(person, **overrides):
    data = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "01/01/1990",
        "phone": "0912345678",
        "address": "Số 5 ngõ 12, Đông Anh, Hà Nội",
        "status": "stopped",
        "unit_code": "TA0000001",
        "unused_months": "30",
        "payout": "bank",
        "bank_code": "VCB",
        "bank_account": "0011004455667",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("locale", "title"), [("vi", "Nhận Mẫu số 04 tại cơ quan BHXH"), ("en", "Take Form 04 at the desk")]
)
def test_search_then_the_form_is_prefilled(client, desk, locale, title):
    person = _person()
    desk.locale = locale
    db.session.flush()
    response = client.get(f"/caseworker/applications/new?si_code={person.si_code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"<h1>{title}</h1>" in html
    assert f'value="{person.national_id}"' in html and 'value="01/01/1990"' in html
    assert 'value="0011004455667"' in html and "Số 5 ngõ 12, Đông Anh" in html
    assert ("2.100.000 ₫" if locale == "vi" else "VND 2,100,000") in html


def test_a_person_outside_the_scope_is_not_shown(client, desk):
    person = _person(district_code="760")
    response = client.get(f"/caseworker/applications/new?si_code={person.si_code}")
    assert response.status_code == 200
    assert person.national_id not in response.get_data(as_text=True)
    assert "Mã số BHXH này có trong dữ liệu của cơ quan BHXH nhưng người này không thuộc phạm vi của bạn" in (
        response.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("locale", "query", "message"),
    [("vi", "si_code=123", "Mã số BHXH gồm 10 chữ số (đang có 3 ký tự)."), ("en", "si_code=", "Give the SI code.")],
)
def test_a_bad_search(client, desk, locale, query, message):
    desk.locale = locale
    db.session.flush()
    response = client.get(f"/caseworker/applications/new?{query}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_take_the_application(client, desk):
    person = _person()
    response = client.post("/caseworker/applications/new", data=_form(person))
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim is not None and (claim.state, claim.track, claim.applied_on) == ("applied", "B", date(2021, 12, 1))
    assert response.headers["Location"] == f"/caseworker/claims/{claim.id}"
    event = db.session.scalar(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id))
    assert event is not None and event.actor_id == desk.id

    # The same form sent again (a double click): recorded already, and back to the claim, not "already has a claim".
    again = client.post("/caseworker/applications/new", data=_form(person))
    assert again.status_code == 302 and again.headers["Location"] == f"/caseworker/claims/{claim.id}"
    assert f"Mẫu số 04 này đã được ghi nhận: hồ sơ số {claim.id}." in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    assert db.session.scalars(select(Claim).where(Claim.employee_id == person.id)).all() == [claim]
    # Another caseworker, or the same one another day, is told the person has a claim.
    other = create_user("caseworker", district=desk.district_code, password=PASSWORD)
    client.post("/logout")
    sign_in(client, other)
    refused = client.post("/caseworker/applications/new", data=_form(person))
    assert refused.status_code == 409
    assert f"Người này đã có hồ sơ hỗ trợ số {claim.id}" in refused.get_data(as_text=True)
    # The look-up says so too, and the claim it names is a link to it (it was text: the caseworker searched again).
    found = client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True)
    assert f'<a href="/caseworker/claims/{claim.id}">Hồ sơ số {claim.id}</a>' in found


@pytest.mark.parametrize(
    ("locale", "overrides", "messages"),
    [
        (
            "vi",
            {"date_of_birth": "1990/01/01", "national_id": "12", "full_name": ""},
            [
                "Ngày ghi theo dạng dd/mm/yyyy, ví dụ 20/11/1985.",  # a date of birth's example
                "Số CMND/CCCD gồm 9 hoặc 12 chữ số.",
                "Cần ghi họ và tên.",
            ],
        ),
        (
            "en",
            {"unused_months": "many", "payout": "bank", "bank_code": "", "bank_account": ""},
            ["Give a number of months from 0 to 600.", "A bank transfer needs the bank and the account number."],
        ),
        ("en", {"date_of_birth": "01/01/2030"}, ["Write the date of birth as dd/mm/yyyy, not after 01/12/2021."]),
        # Left blank: missing, not the placeholder day it went as (recorded as 01/01/1990).
        ("vi", {"date_of_birth": ""}, ["Hãy ghi ngày sinh, dạng dd/mm/yyyy."]),
        ("en", {"date_of_birth": "   ", "unused_months": ""}, ["Give the date of birth, as dd/mm/yyyy."]),
        ("vi", {"national_id": "001099999999"}, ["Số CMND/CCCD không khớp với dữ liệu của cơ quan BHXH"]),
        (  # nothing chosen: the page says what to choose, in words (the codes are an API client's)
            "vi",
            {"status": "", "payout": "", "si_code": ""},
            [
                "Hãy chọn tình trạng tham gia bảo hiểm thất nghiệp.",
                "Hãy chọn hình thức nhận tiền.",
                "Hãy ghi mã số BHXH.",
            ],
        ),
        (
            "en",
            {"status": "", "payout": ""},
            ["Choose the unemployment-insurance status.", "Choose how the money is received."],
        ),
    ],
)
def test_every_bad_field_at_once(client, desk, locale, overrides, messages):
    person = _person()
    desk.locale = locale
    db.session.flush()
    response = client.post("/caseworker/applications/new", data=_form(person, **overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for message in messages:
        assert message in html, message
    assert "'stopped'" not in html and "'cash'" not in html and "0 characters" not in html
    assert db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is None


def test_a_claim_in_another_office_sends_back_to_the_form(client, desk, app):
    person = _person(district_code="760")
    asked = client.post("/caseworker/applications/new", data=_form(person))
    assert asked.status_code == 200 and db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is None
    response = client.post("/caseworker/applications/new", data={**_form(person), "office": "760"})  # confirmed
    assert response.status_code == 302 and response.headers["Location"] == "/caseworker/applications/new"
    assert db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is not None


# ------------------------------------------------------------------------------------------- the unit on the form

UNIT_HINTS = {
    "vi": "Mã cơ quan BHXH cấp cho đơn vị nơi người lao động đã chấm dứt hợp đồng hoặc đang tham gia BHTN",
    "en": "The code the social security office gave the unit where the person's contract ended",
}


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_unit_field_says_what_to_enter_and_is_prefilled_from_the_last_unit(client, desk, locale):
    last = create_employer(unit_code="DN01000042")
    person = _person(employer_id=last.id)
    desk.locale = locale
    db.session.flush()
    html = client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True)
    assert UNIT_HINTS[locale] in html
    assert 'aria-describedby="unit_code-hint"' in html and 'name="unit_code" type="text" value="DN01000042"' in html


def test_a_group_b_person_without_a_unit_on_file_keeps_the_unit_entered(client, desk):
    """The reviewer's case: the registry has no unit for the person, the caseworker enters one; the claim is that
    unit's, and its page names it."""
    unit = create_employer(unit_code="DN01000137", name="Công ty TNHH May Đông Anh")
    person = _person(employer_id=None, bank_code=None, bank_account=None)
    page = client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True)
    assert 'name="unit_code" type="text" value=""' in page
    response = client.post(
        "/caseworker/applications/new",
        data=_form(person, unit_code="DN01000137", payout="cash", bank_code="", bank_account=""),
    )
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim is not None and claim.employer_id == unit.id
    case = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Công ty TNHH May Đông Anh" in case and "DN01000137" in case


def test_a_unit_the_registry_does_not_have_shows_as_declared_on_the_case(client, desk):
    person = _person(employer_id=None)
    response = client.post("/caseworker/applications/new", data=_form(person, unit_code="DN09999999"))
    assert response.status_code == 302
    case = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mã đơn vị ghi trên Mẫu số 04: DN09999999 (không có trong dữ liệu của cơ quan BHXH)." in case


def test_what_form_04_declares_unlike_the_registry_is_shown_beside_it_on_the_case(client, desk):
    """A new phone and address typed from the person's papers, and other months, were kept with the claim and shown
    nowhere: the case page sets each beside the registry's; what agrees (the name, in any case) is not repeated."""
    person = _person(phone="0912345678", date_of_birth=date(1990, 1, 1))
    data = _form(
        person,
        full_name=person.full_name.upper(),
        phone="0987000111",
        address="Thôn Mới, Sóc Sơn, Hà Nội",
        unused_months="41",
    )
    response = client.post("/caseworker/applications/new", data=data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    panel = re.search(r'<div class="panel panel-warning table-scroll" id="khai-khac".*?</div>', page, re.S)
    assert panel is not None
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", panel.group(0), re.S)
    ][1:]
    assert rows == [
        ["Số điện thoại", "0912345678", "0987000111"],
        ["Địa chỉ liên hệ", "Số 5 ngõ 12, Đông Anh", "Thôn Mới, Sóc Sơn, Hà Nội"],
        ["Số tháng đóng BHTN chưa hưởng", "30", "41"],
    ]
    same = client.post("/caseworker/applications/new", data=_form(_person(address="Số 5 ngõ 12, Đông Anh, Hà Nội")))
    assert 'id="khai-khac"' not in client.get(same.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("vi", "Đã hết hạn nhận đề nghị hỗ trợ (Mẫu số 04) ngày 20/12/2021."),
        ("en", "Applications (Form 04) closed on 20/12/2021."),
    ],
)
def test_after_the_deadline_the_look_up_says_form_04_is_closed_and_promises_nothing(
    client, desk, app, monkeypatch, locale, said
):
    """Said at the look-up, as for a person outside the scope, not only when the form is posted: no group, no amount
    and no form prefilled for an application the post would refuse."""
    person = _person()
    desk.locale = locale
    db.session.flush()
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-21")
    response = client.get(f"/caseworker/applications/new?si_code={person.si_code}")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and said in page and person.full_name in page
    assert "2.100.000 ₫" not in page and "VND 2,100,000" not in page
    assert f'value="{person.national_id}"' not in page and 'value="0011004455667"' not in page
    assert f'value="{person.si_code}"' in page  # the code looked up stays in the form

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-20")  # the deadline's own day still takes it
    page = html.unescape(client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True))
    assert said not in page and f'value="{person.national_id}"' in page


def test_an_error_on_the_form_keeps_what_the_look_up_found(client, desk):
    """A bad field wiped the person found above the form (name, group, amount) and the code in the search box: the
    form, posted from the look-up's page, keeps both; a choice left empty stays empty (not the registry's)."""
    person = _person()
    page = client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True)
    action = f'action="/caseworker/applications/new?si_code={person.si_code}"'
    assert action in page
    url = f"/caseworker/applications/new?si_code={person.si_code}"
    response = client.post(url, data=_form(person, payout="", date_of_birth="31/02/1990"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Hãy chọn hình thức nhận tiền." in html
    assert 'id="found-title"' in html and "2.100.000 ₫" in html and action in html
    search_box = html.split('class="search"', 1)[1].split("</form>", 1)[0]
    assert f'value="{person.si_code}"' in search_box
    assert not re.search(r'<input[^>]*name="payout"[^>]*checked', html)
    # Posted for someone else than the code looked up: what was found is not shown beside it.
    other = _form(person, si_code="0199999999", payout="")
    assert 'id="found-title"' not in client.post(url, data=other).get_data(as_text=True)
    assert db.session.scalar(select(Claim).where(Claim.employee_id == person.id)) is None
