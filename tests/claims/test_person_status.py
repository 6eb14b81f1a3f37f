"""The person's own status page: found by the three facts together, told in their words what the claim's state means
and what to do, the account's end only, every state worded, nobody found said plainly (404), input errors at once,
and guesses slowed per address and per SI code."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from disburse.claims.models import Claim
from disburse.claims.person_status import NOTHING_OWED
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee
from disburse.verification.review import refusal_reasons
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_employee,
    create_payment,
    create_person,
    nq116,
)

pytestmark = pytest.mark.usefixtures("paying_clock")

BORN = date(1988, 4, 9)
NOT_FOUND = "Không tìm thấy người nào có cả ba thông tin này."


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _person(**overrides) -> Employee:
    return create_employee(date_of_birth=BORN, district_code="017", phone="0987111222", **overrides)


def _facts(person: Employee, **overrides: str) -> dict[str, str]:
    return {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "date_of_birth": BORN.strftime("%d/%m/%Y"),
        **overrides,
    }


def _look_up(client: FlaskClient, claim: Claim, **overrides: str):
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    return client.post("/people/status", data=_facts(person, **overrides))


def test_a_person_waiting_for_bank_details_is_told_why_and_what_to_do_and_sees_only_the_accounts_end(
    client, db_session
):
    claim = create_claim(ClaimState.AWAITING_PAYMENT_DETAILS, employee=_person(), bank_account="0011004455667")
    create_payment(claim, "failed", failure_code="AC04")  # the provider's: a closed account

    assert "/people/status" in client.get("/").get_data(as_text=True)
    assert 'href="/people/status"' in client.get("/people/payment-details").get_data(as_text=True)
    response = _look_up(client, claim)
    page = _text(response)
    assert response.status_code == 200
    assert "Nguyễn Văn Thử" in page and "Đông Anh" in page
    assert payment_reasons.label("AC04")[0] in page  # why the money did not arrive, in plain words
    assert "Cần tài khoản ngân hàng đúng, đứng tên bạn." in page
    assert 'action="/people/payment-details"' in response.get_data(as_text=True)
    assert "Tài khoản chuyển không thành công: " in page and "kết thúc bằng 5667" in page
    # The unit's words are for the unit; the person's page holds no full account, no phone, no ID number.
    assert "0011004455667" not in page and "0987111222" not in page
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None and person.national_id not in page


def test_a_paid_person_sees_the_amount_and_the_day(client, db_session):
    claim = create_claim(ClaimState.PAID, employee=_person())
    assert claim.paid_at is not None
    client.post("/language/en", data={"next": "/"})
    page = _text(_look_up(client, claim))
    assert "Paid" in page
    assert f"{claim.amount_vnd:,}".replace(",", ".") in page or f"{claim.amount_vnd:,}" in page
    assert re.search(r"Paid on \d\d/\d\d/\d{4}", page)
    assert "account ending in" in page


def test_cash_waiting_at_the_office_names_the_office(client, db_session):
    payment = create_cash_payment(employee=_person())
    claim = db.session.get(Claim, payment.claim_id)
    assert claim is not None
    page = _text(_look_up(client, claim))
    assert "Tiền mặt đang chờ bạn tại cơ quan BHXH huyện Đông Anh: hãy đến nhận đến hết ngày" in page
    assert "CMND/CCCD" in page


def test_a_refused_person_reads_the_reasons_of_the_notice(client, db_session):
    code = "pension_decision"
    claim = create_claim(ClaimState.REJECTED, employee=_person(), reasons=[code])
    response = _look_up(client, claim)
    page = _text(response)
    assert refusal_reasons()[code][0] in page
    assert "Không được hỗ trợ" in page and "liên hệ cơ quan BHXH huyện Đông Anh" in page
    assert 'id="amount"' not in response.get_data(as_text=True)  # nothing is owed


def test_a_refusal_for_another_reason_points_the_person_to_their_notice_in_their_own_words(client, db_session):
    """Words "another reason, stated in full in the notice to the person" are the notice's and the unit's. The person
    reads that the reason is in the written notice sent to them (the caseworker's text is never quoted here)."""
    claim = create_claim(ClaimState.REJECTED, employee=_person(), reasons=["other"])
    page = _text(_look_up(client, claim))
    assert "Lý do khác, được nêu cụ thể trong thông báo bằng văn bản gửi bạn." in page
    assert "gửi người lao động" not in page


def test_the_offices_request_to_the_person_is_said_never_quoted_and_goes_with_the_next_decision(
    app, client, db_session, monkeypatch
):
    """A caseworker's request is written for the case and may name other people: the page says the office needs
    something from the person, by when, never what the caseworker wrote; a decision since leaves it behind."""
    from disburse.verification import review
    from tests.factories import create_user

    claim = create_claim(ClaimState.NEEDS_REVIEW, employee=_person(), district_code="017")
    caseworker = create_user("caseworker", district="017")
    review.request_info(claim.id, caseworker, "employer", "Gửi hợp đồng lao động của người này.")
    page = _text(_look_up(client, claim))
    assert "cần bạn bổ sung thông tin" not in page  # the unit's, not the person's
    written = "Nghi trùng với anh trai, CCCD 001078725041; mang sổ BHXH bản gốc."
    review.request_info(claim.id, caseworker, "person", written, date(2021, 11, 30))
    page = _text(_look_up(client, claim))
    assert "Cơ quan BHXH huyện Đông Anh cần bạn bổ sung thông tin, hạn đến ngày 30/11/2021." in page
    assert "001078725041" not in page and "anh trai" not in page and "hợp đồng lao động" not in page
    # Its day passed and nothing moved: said so, and to get in touch at once.
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-02")
    page = _text(_look_up(client, claim))
    assert "cần bạn bổ sung thông tin; hạn ngày 30/11/2021 đã qua. Hãy gọi hoặc đến ngay" in page
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-15")
    review.approve(claim.id, caseworker)
    page = _text(_look_up(client, claim))
    assert "Đã duyệt, chờ chi trả" in page and "cần bạn bổ sung thông tin" not in page


def test_details_the_person_sent_are_acknowledged_until_the_office_deals_with_them(client, db_session):
    from tests.factories import create_offer

    claim = create_claim(ClaimState.AWAITING_PAYMENT_DETAILS, employee=_person())
    create_offer(claim)
    response = _look_up(client, claim)
    page = _text(response)
    assert "đã nhận tài khoản bạn gửi ngày" in page and "sẽ gọi số điện thoại đã đăng ký" in page
    assert 'action="/people/payment-details"' not in response.get_data(as_text=True)  # not asked to send it again


def test_a_claim_in_review_for_its_bank_details_asks_for_them_and_one_in_review_for_anything_else_does_not(
    client, db_session
):
    missing = create_claim(ClaimState.NEEDS_REVIEW, employee=_person(), reasons=["bank_details_missing"])
    response = _look_up(client, missing)
    assert "Tài khoản ngân hàng của bạn đang thiếu hoặc không đúng" in _text(response)
    assert 'action="/people/payment-details"' in response.get_data(as_text=True)
    other = create_claim(ClaimState.NEEDS_REVIEW, employee=_person(), reasons=["possible_duplicate"])
    response = _look_up(client, other)
    assert "Tài khoản ngân hàng của bạn" not in _text(response)
    assert 'action="/people/payment-details"' not in response.get_data(as_text=True)


def test_before_approval_the_amount_is_the_one_expected_and_no_months_are_said_when_there_are_none(client, db_session):
    claim = create_claim(ClaimState.NEEDS_REVIEW, employee=_person(), unused_months=0, reasons=["zero_months"])
    page = _text(_look_up(client, claim))
    assert "Mức hỗ trợ dự kiến" in page and "0 tháng" not in page
    approved = create_claim(ClaimState.APPROVED, employee=_person(), payment_due_on=date(2021, 11, 26))
    page = _text(_look_up(client, approved))
    assert "Mức hỗ trợ dự kiến" not in page and "Dự kiến chi trả chậm nhất ngày 26/11/2021." in page


def test_a_person_in_the_registry_without_a_claim_is_told_what_the_rules_say_of_their_record(client, db_session):
    """Someone the rules do not support is told why (and not invited to apply, to be refused seconds later); someone
    who stopped within the window is invited to apply on Form 04; anyone else asks their unit or the office."""
    working = _person()
    response = client.post("/people/status", data=_facts(working))
    assert response.status_code == 200
    assert "Bạn không có trong danh sách hỗ trợ của chương trình này" in _text(response)

    program = nq116()
    before = program.stop_window_start - timedelta(days=1)
    outside = _person(ui_status="stopped", ui_stopped_on=before, employer_id=None)
    page = _text(client.post("/people/status", data=_facts(outside)))
    assert "bạn không thuộc đối tượng được hỗ trợ của chương trình này" in page
    assert refusal_reasons()["stopped_outside_window"][0] in page and "Mẫu số 04" not in page

    inside = _person(ui_status="stopped", ui_stopped_on=program.stop_window_start, employer_id=None)
    page = _text(client.post("/people/status", data=_facts(inside)))
    assert "hãy tự đề nghị (Mẫu số 04)" in page
    assert program.application_deadline.strftime("%d/%m/%Y") in page


@pytest.mark.parametrize("state", list(ClaimState))
def test_every_state_is_told_in_the_persons_words(client, db_session, state):
    claim = create_claim(state, employee=create_person(district_code="017"))
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None and person.date_of_birth is not None
    for locale in ("vi", "en"):
        client.post(f"/language/{locale}", data={"next": "/"})
        response = client.post(
            "/people/status",
            data={**_facts(person), "date_of_birth": person.date_of_birth.strftime("%d/%m/%Y")},
        )
        assert response.status_code == 200
        section = _text(response).split(person.full_name, 1)[1]
        assert "{" not in section  # every placeholder filled
        assert ('id="amount"' in response.get_data(as_text=True)) is (state not in NOTHING_OWED)


@pytest.mark.parametrize(
    "wrong", [{"si_code": "9999999999"}, {"national_id": "001099999999"}, {"date_of_birth": "10/04/1988"}]
)
def test_nobody_is_found_unless_all_three_match_and_the_page_says_so_the_same_way(client, db_session, wrong):
    claim = create_claim(ClaimState.APPROVED, employee=_person())
    response = _look_up(client, claim, **wrong)
    page = _text(response)
    assert response.status_code == 404 and NOT_FOUND in page
    assert "Nguyễn Văn Thử" not in page and "Đã duyệt" not in page


def test_every_input_error_comes_back_at_once(client, db_session):
    response = client.post(
        "/people/status", data={"si_code": "12345", "national_id": "12", "date_of_birth": "31/02/1988"}
    )
    page = _text(response)
    assert response.status_code == 422
    assert "Mã số BHXH gồm 10 chữ số (đang có 5 ký tự)." in page and "Số CMND/CCCD gồm 9 hoặc 12 chữ số." in page
    assert "Lỗi: " in page  # the title says the form has errors
    # A date of birth with dashes, dots, commas or spaces is the same day (the field opens a phone's number keypad,
    # which has a "." or a "," and no "/"); a wrong one shows a birth date as its example.
    field = re.search(r'<input[^>]*id="date_of_birth"[^>]*>', client.get("/people/status").get_data(as_text=True))
    assert field and 'inputmode="decimal"' in field[0]
    person = _person()
    for written in ("09-04-1988", "09.04.1988", "09,04,1988", "09 04 1988", "9/4/1988"):
        assert client.post("/people/status", data={**_facts(person), "date_of_birth": written}).status_code == 200
    wrong = _text(client.post("/people/status", data={**_facts(person), "date_of_birth": "09 04 88"}))
    assert "Ngày ghi theo dạng ngày/tháng/năm, ví dụ 20/11/1985." in wrong
    # Groups of digits as copied from the book are the same number.
    person = _person()
    spaced = {**_facts(person), "si_code": f"{person.si_code[:4]} {person.si_code[4:7]} {person.si_code[7:]}"}
    assert client.post("/people/status", data=spaced).status_code == 200


def test_guesses_at_one_persons_facts_are_limited_from_any_address_and_finding_them_is_not(app, client, db_session):
    claim = create_claim(ClaimState.APPROVED, employee=_person())
    allowed = int(app.config["LIMIT_PERSON_STATUS_PER_PERSON"].split()[0])
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    # The person themselves, many times: found, never counted against them.
    for _n in range(allowed + 2):
        assert client.post("/people/status", data=_facts(person)).status_code == 200
    # Someone guessing the date of birth, each try from another address.
    statuses = [
        client.post(
            "/people/status",
            data=_facts(person, date_of_birth=f"{day:02d}/01/1988"),
            environ_base={"REMOTE_ADDR": f"10.0.0.{day}"},
        ).status_code
        for day in range(1, allowed + 3)
    ]
    assert statuses[:allowed] == [404] * allowed and statuses[allowed:] == [429, 429]
    # The right facts now wait too (the SI code is the key): the guesser learns nothing from a 200 either. The
    # person reading it may not be the guesser: told why, and where else to go, not that they sent too often.
    limited = client.post("/people/status", data=_facts(person), environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert limited.status_code == 429
    assert person.si_code in limited.get_data(as_text=True)  # the form again, as typed
    assert "quá nhiều lần tra cứu không đúng với mã số BHXH này" in _text(limited)
    assert "Bạn đã gửi quá nhiều lần" not in _text(limited)


def test_every_look_up_counts_per_address(app, client, db_session):
    allowed = int(app.config["LIMIT_PERSON_STATUS_PER_ADDRESS"].split()[0])
    statuses = [client.post("/people/status", data=_facts(_person())).status_code for _n in range(allowed + 1)]
    assert statuses[:allowed] == [200] * allowed and statuses[-1] == 429


@pytest.mark.parametrize("body", ["json", "file"])
def test_only_what_the_form_sends_is_taken(client, db_session, body):
    """A JSON body (read into the form by Flask-WTF, but not by the per-SI-code limit's key) or a file in a field
    (not text: it crashed) is refused, 415, nothing looked up."""
    claim = create_claim(ClaimState.APPROVED, employee=_person())
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    for url in ("/people/status", "/people/payment-details"):
        if body == "json":
            response = client.post(url, json={**_facts(person), "si_code": int(person.si_code)})
        else:
            data = {**_facts(person), "si_code": (io.BytesIO(person.si_code.encode()), "si.txt")}
            response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 415, url
        assert person.full_name not in response.get_data(as_text=True)


def test_a_removed_person_is_not_invited_to_apply_where_form_04_would_refuse_them(client, db_session):
    claim = create_claim(ClaimState.REMOVED, employee=_person())
    page = _text(_look_up(client, claim))
    assert "Mẫu số 04" not in page and "liên hệ cơ quan BHXH huyện Đông Anh để được xem xét lại" in page


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Huyện Đông Anh", "huyện Đông Anh"),
        ("Thành Phố Bắc Kạn", "thành phố Bắc Kạn"),
        ("Thị xã Sơn Tây", "thị xã Sơn Tây"),
        ("Quận 1", "quận 1"),
        ("Đông Anh", "Đông Anh"),
    ],
)
def test_an_areas_kind_is_written_in_lower_case_in_a_sentence_and_its_name_as_it_is(name, said):
    assert area_in_sentence(name) == (said, name)


def test_the_results_language_switch_shows_the_same_result_in_the_other_language(client, db_session):
    """The switch sends the look-up again in the other language: the result in English, not the empty form; the facts
    it sends are those the person typed, cleaned, in hidden fields of a page never stored (no-store)."""
    claim = create_claim(ClaimState.PAID, employee=_person())
    response = _look_up(client, claim, national_id=" " + db.session.get(Employee, claim.employee_id).national_id)
    html = response.get_data(as_text=True)
    assert '<html lang="vi">' in html and "no-store" in response.headers["Cache-Control"]
    switch = re.search(r'<form method="post" action="/people/status" class="inline">(.*?)</form>', html, re.S)
    assert switch is not None, "the result's language switch posts the look-up again"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', switch.group(1)))
    person = db.session.get(Employee, claim.employee_id)
    assert fields == {
        "csrf_token": fields["csrf_token"],
        "si_code": person.si_code,
        "national_id": person.national_id,
        "date_of_birth": "09/04/1988",
        "locale": "en",
    }

    again = client.post("/people/status", data=fields)

    assert again.status_code == 200 and '<html lang="en">' in again.get_data(as_text=True)
    assert "Paid" in _text(again) and "Nguyễn Văn Thử" in _text(again)
    assert '<html lang="en">' in client.get("/people/status").get_data(as_text=True), "the choice is kept"
    # Any other value of the field is ignored: the page answers in the language the browser had.
    ignored = client.post("/people/status", data={**fields, "locale": "fr"})
    assert ignored.status_code == 200 and '<html lang="en">' in ignored.get_data(as_text=True)
