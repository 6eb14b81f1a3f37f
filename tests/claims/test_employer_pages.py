"""The employer's pages: the unit's payout status (search, completion, deadlines), Form 01 download and Form 02
returned as a spreadsheet (per-row errors on the page and as a file), in both languages, within the user's scope."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import openpyxl
import pytest
from sqlalchemy import select

from disburse.claims import employer_views
from disburse.claims import unit as unit_forms
from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.programs.calendar import VIETNAM_TZ
from disburse.registry.models import Employee
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

TODAY = "2021-10-25"  # a Monday, inside the employers' review window


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_employer(name="Công ty TNHH May Thử")


def _person(unit, name: str, state: str = "listed", **claim: object) -> Claim:
    return create_claim(state, employee=create_employee(employer_id=unit.id, full_name=name), **claim)


def _signed_in(client, user, locale: str = "vi"):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    user.locale = locale
    db.session.commit()  # kept (in the test's transaction) when a view rolls its own work back
    return client


def _employer(client, unit, locale: str = "vi"):
    return _signed_in(client, create_user("employer", employer_unit=unit.unit_code), locale)


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# ------------------------------------------------------------------------------------------------ status page


@pytest.fixture
def workforce(unit):
    paid = [_person(unit, name, "paid") for name in ("Trần Thị Ánh", "Lê Văn Bình", "Đỗ Minh Đức")]
    failed = _person(unit, "Nguyễn Thị Yến", "awaiting_payment_details")
    create_payment(failed, "failed")  # the provider says AC04
    listed = _person(unit, "Phạm Văn An", "listed", review_due_on=date(2021, 10, 28))
    declined = _person(unit, "Hoàng Thị Hà", "declined")
    return {"paid": paid, "failed": failed, "listed": listed, "declined": declined}


def test_the_status_page_in_vietnamese(client, unit, workforce):
    response = _employer(client, unit).get(f"/employers/{unit.unit_code}")
    page = _text(response)
    assert response.status_code == 200
    assert "<title>Tình trạng chi trả · Công ty TNHH May Thử" in page
    assert "3 / 5</strong> đã chi trả, 60,0%" in page  # declined is outside the eligible group
    assert "6.300.000 ₫" in page  # 3 × 2.100.000 paid
    assert "Hạn gửi Mẫu số 02: 28/10/2021, còn 3 ngày làm việc." in page
    assert "1 người đang chờ đơn vị xác nhận." in page
    assert "Chờ bổ sung thông tin tài khoản" in page
    assert "Tài khoản đã đóng. Hãy gửi Mẫu số 03" in page  # why the payment is stuck
    assert "2.100.000 ₫" in page
    # The Vietnamese order: by given name (An, Ánh, Bình, Đức, Hà, Yến).
    names = ["Phạm Văn An", "Trần Thị Ánh", "Lê Văn Bình", "Đỗ Minh Đức", "Hoàng Thị Hà", "Nguyễn Thị Yến"]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)


def test_the_status_page_in_english(client, unit, workforce):
    page = _text(_employer(client, unit, "en").get(f"/employers/{unit.unit_code}"))
    assert "<title>Payout status · Công ty TNHH May Thử" in page
    assert "3 / 5</strong> paid, 60.0%" in page
    assert "VND 6,300,000" in page
    assert "Form 02 due on 28/10/2021, 3 working days left." in page
    assert "Awaiting payment details" in page
    assert "Closed account. Send Form 03" in page


@pytest.mark.parametrize(
    ("locale", "words", "taken"),
    [
        (
            "vi",
            [
                "Đã quá hạn gửi Mẫu số 02 (20/10/2021); Mẫu số 02 gửi muộn vẫn được tiếp nhận.",
                "2 người đang chờ đơn vị xác nhận.",
            ],
            "Đã ghi nhận Mẫu số 02 cho 2 người.",
        ),
        (
            "en",
            [
                "Form 02 was due on 20/10/2021; a late Form 02 is still taken.",
                "2 people are waiting for the unit to confirm them.",
            ],
            "Form 02 recorded for 2 people.",
        ),
    ],
)
def test_an_overdue_unit_may_still_send_form_02_for_the_people_the_office_has_not_decided(
    client, unit, locale, words, taken
):
    """Its people went on without its Form 02 (overdue, then verified into review for that alone). The office still
    takes a late Form 02 for them: every page of the unit says so and offers it, the Form 02 page lists them, and the
    unit's own Form 01 file sent back confirms them (marked late), to be verified again."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.verification import service as verification

    late = [
        _person(unit, name, "listed", review_due_on=date(2021, 10, 20), bank_code=None, bank_account=None)
        for name in ("Phạm Văn An", "Lê Văn Bình")
    ]
    claims.transition_many(ClaimAction.MARK_OVERDUE, ids=[c.id for c in late])
    verification.verify(ids=[c.id for c in late], today=date(2021, 10, 25))
    assert {db.session.get(Claim, c.id).state for c in late} == {"needs_review"}
    employer = _employer(client, unit, locale)
    for path in ("", "/form-02", "/form-03"):
        page = _text(employer.get(f"/employers/{unit.unit_code}{path}"))
        for word in words:
            assert word in page, (path, word)
        assert f'href="/employers/{unit.unit_code}/form-02"' in page
    assert words[0] in _text(employer.get("/"))
    form_02 = _text(employer.get(f"/employers/{unit.unit_code}/form-02"))
    assert "<legend>Phạm Văn An · " in form_02 and "<legend>Lê Văn Bình · " in form_02

    own_file = employer.get(f"/employers/{unit.unit_code}/form-01?format=csv")
    response = employer.post(
        f"/employers/{unit.unit_code}/form-02/upload",
        data={"file": (io.BytesIO(own_file.data), "mau-01.csv")},
        content_type="multipart/form-data",
    )
    page = _text(response)
    assert response.status_code == 200 and taken in page
    assert {db.session.get(Claim, c.id).state for c in late} == {"employer_confirmed"}
    assert {(e.action, e.data["late"]) for c in late for e in claims.claim_events(c.id)[-1:]} == {
        ("confirm_late", True)
    }


@pytest.mark.parametrize(
    ("locale", "closed", "offers"),
    [
        (
            "vi",
            "Đã hết hạn điều chỉnh danh sách (Mẫu số 03) ngày 10/11/2021; để bổ sung hoặc sửa thông tin của người lao "
            "động, hãy liên hệ cơ quan BHXH quận, huyện.",
            ["hãy gửi Mẫu số 03", "Gửi Mẫu số 03", "Hãy gửi Mẫu số 03", "bằng Mẫu số 03"],
        ),
        (
            "en",
            "The deadline for adjustments (Form 03) was 10/11/2021; to add a person or correct their details, contact "
            "the district social security office.",
            ["send Form 03", "Send Form 03", "on Form 03"],
        ),
    ],
)
def test_after_the_adjustment_deadline_no_page_offers_form_03(client, unit, app, monkeypatch, locale, closed, offers):
    """Form 03 is taken until the programme's adjustment deadline (10/11/2021). After it, the banner, the Form 02
    refusal and a stuck payment's reason say that adjustments have closed and whom to contact, the unit's pages no
    longer link to Form 03, and its page shows no form to fill in only to be refused."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.verification import service as verification

    late = [_person(unit, name, "listed", review_due_on=date(2021, 10, 20)) for name in ("Phạm Văn An", "Lê Văn Bình")]
    claims.transition_many(ClaimAction.MARK_OVERDUE, ids=[c.id for c in late])
    verification.verify(ids=[c.id for c in late], today=date(2021, 10, 25))
    closed_account = _person(unit, "Nguyễn Thị Yến", "awaiting_payment_details")
    create_payment(closed_account, "failed")  # the provider says AC04
    employer = _employer(client, unit, locale)
    form_03_link = f'href="/employers/{unit.unit_code}/form-03"'
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-10")  # its last day: still offered
    assert form_03_link in _text(employer.get(f"/employers/{unit.unit_code}"))
    assert 'name="action"' in _text(employer.get(f"/employers/{unit.unit_code}/form-03"))

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-11")
    pages = {path: employer.get(f"/employers/{unit.unit_code}{path}") for path in ("", "/form-02", "/form-03")}
    for path, response in pages.items():
        page = _text(response)
        assert response.status_code == 200, path
        assert closed in page, path
        assert form_03_link not in page, path
        assert not [words for words in offers if words in page], path
    status = _text(pages[""])
    assert "Tài khoản đã đóng." in status or "Closed account." in status  # why the payment is stuck, then whom to ask
    assert 'name="action"' not in _text(pages["/form-03"]) and 'name="si_code"' not in _text(pages["/form-03"])
    home = _text(employer.get("/"))
    assert closed in home and form_03_link not in home

    # A late Form 02 for someone the office is checking: refused, saying whom to contact, not to send Form 03.
    response = employer.post(
        f"/employers/{unit.unit_code}/form-02/rows",
        data={"rows-0-si_code": _si(late[0]), "rows-0-choice": "bank", "rows-0-bank_code": "VCB"}
        | {"rows-0-bank_account": "0011001234567"},
    )
    page = _text(response)
    assert response.status_code == 200
    assert ("liên hệ cơ quan BHXH quận, huyện" if locale == "vi" else "contact the district social security") in page
    assert not [words for words in offers if words in page]
    assert db.session.get(Claim, late[0].id).state == "needs_review"


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", ["Cơ quan BHXH đề nghị đơn vị bổ sung thông tin", "Quá hạn bổ sung", "Đang chờ đơn vị bổ sung"]),
        ("en", ["The social security office asks your unit for information", "Overdue", "Waiting for your unit"]),
    ],
)
def test_the_unit_sees_the_offices_requests_for_information_addressed_to_it(
    client, unit, app, monkeypatch, locale, words
):
    """A caseworker's "request information" addressed to the employer shows on the unit's home and status pages:
    who, what is asked and by when (dd/mm/yyyy), overdue or answered (a Form 03 row for the person since); never a
    request addressed to the person, nor the caseworker's other notes."""
    from disburse.claims import employer_forms
    from disburse.verification import review

    caseworker = create_user("caseworker", district=unit.district_code, password=PASSWORD)
    an = _person(unit, "Phạm Văn An", "needs_review")
    binh = _person(unit, "Lê Văn Bình", "needs_review")
    chi = _person(unit, "Trần Thị Chi", "needs_review")
    review.request_info(an.id, caseworker, "employer", "Bản sao hợp đồng lao động còn hiệu lực", date(2021, 10, 26))
    review.request_info(binh.id, caseworker, "employer", "Xác nhận số tài khoản của người lao động", date(2021, 11, 5))
    review.request_info(chi.id, caseworker, "employer", "Quyết định nghỉ việc", date(2021, 11, 5))
    review.request_info(binh.id, caseworker, "person", "Ảnh CCCD hai mặt")  # to the person, not the unit
    review.log_contact(binh.id, caseworker, "phone", "reached", "Ghi chú nội bộ: nghi khai sai")
    employer_forms.adjust(
        employer_views.current_program(),
        unit.unit_code,
        [{"si_code": _si(chi), "action": "correct", "phone": "0987654321"}],
        today=date(2021, 10, 25),
    )
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-28")
    employer = _employer(client, unit, locale)
    for path in ("/", f"/employers/{unit.unit_code}"):
        page = _text(employer.get(path))
        for word in words:
            assert word in page, (path, word)
        assert "Bản sao hợp đồng lao động còn hiệu lực" in page and "26/10/2021" in page and _si(an) in page
        assert "Xác nhận số tài khoản của người lao động" in page and "05/11/2021" in page
        assert (
            "Đơn vị đã gửi Mẫu số 03 ngày 25/10/2021" if locale == "vi" else "The unit sent Form 03 on 25/10/2021"
        ) in page
        assert "Ảnh CCCD hai mặt" not in page and "nghi khai sai" not in page
        row = re.search(r"<tr>(?:(?!</tr>).)*Phạm Văn An(?:(?!</tr>).)*</tr>", page, re.S)
        assert row is not None and words[1] in row.group(0)  # due 26/10, nothing sent since: overdue

    # The caseworker's queue says what came: a form row, not an answer (it said "answered" for any form row).
    employer.post("/logout")
    sign_in(employer, caseworker, locale)
    queue = _text(employer.get("/caseworker/queue", query_string={"state": "needs_review"}))
    sent = "Đơn vị đã gửi Mẫu số 03 ngày 25/10/2021, sau yêu cầu" if locale == "vi" else "The unit sent Form 03 on"
    assert sent in queue and ("Đơn vị đã trả lời yêu cầu" if locale == "vi" else "answered the request") not in queue
    employer.post("/logout")
    employer = _employer(client, unit, locale)
    # Chi's phone corrected on Form 03 is not what was asked: the unit may still answer in words, and that answer
    # is then the request's (the form row closed the request, and the answer form with it).
    chi_request = db.session.scalar(
        select(ClaimEvent.id).where(ClaimEvent.claim_id == chi.id, ClaimEvent.action == "request_info")
    )
    link = f"/employers/{unit.unit_code}/requests/{chi_request}"
    assert f'href="{link}"' in _text(employer.get(f"/employers/{unit.unit_code}"))
    assert 'name="answer"' in _text(employer.get(link))
    assert employer.post(link, data={"answer": "Đã gửi quyết định nghỉ việc qua bưu điện."}).status_code == 302
    page = _text(employer.get(link))
    assert "Đã gửi quyết định nghỉ việc qua bưu điện." in page and 'name="answer"' not in page


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_unit_answers_a_request_in_words_and_the_caseworker_reads_it(client, app, unit, monkeypatch, locale):
    """A request for what no form carries (a contract, a decision to leave) could only be answered with a Form 02
    or 03 row: the unit now answers it in words on its pages; the claim's history shows the answer to the office;
    the same answer sent again is one answer, another refused, another unit's request unknown."""
    from disburse.verification import review

    caseworker = create_user("caseworker", district=unit.district_code, password=PASSWORD)
    an = _person(unit, "Phạm Văn An", "needs_review")
    review.request_info(an.id, caseworker, "employer", "Bản sao quyết định nghỉ việc", date(2021, 10, 29))
    request_id = db.session.scalar(
        select(ClaimEvent.id).where(ClaimEvent.claim_id == an.id, ClaimEvent.action == "request_info")
    )
    employer = _employer(client, unit, locale)
    page = employer.get(f"/employers/{unit.unit_code}").get_data(as_text=True)
    link = f"/employers/{unit.unit_code}/requests/{request_id}"
    assert f'href="{link}"' in page  # "Trả lời" on the request's row
    form = employer.get(link)
    assert form.status_code == 200 and "Bản sao quyết định nghỉ việc" in _text(form) and "29/10/2021" in _text(form)
    assert employer.post(link, data={"answer": "  "}).status_code == 422
    answer = "Đơn vị đã gửi bản sao quyết định qua bưu điện ngày 27/10/2021."
    sent = employer.post(link, data={"answer": answer})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/employers/{unit.unit_code}")
    assert employer.post(link, data={"answer": answer}).status_code == 302  # sent twice: one answer
    assert employer.post(link, data={"answer": "Một câu trả lời khác"}).status_code == 409
    answers = select(ClaimEvent).where(ClaimEvent.claim_id == an.id, ClaimEvent.action == "answer_info")
    assert [(e.data["request_id"], e.data["note"]) for e in db.session.scalars(answers)] == [(request_id, answer)]
    status = _text(employer.get(f"/employers/{unit.unit_code}"))
    assert ("Đơn vị đã trả lời ngày" if locale == "vi" else "The unit answered on") in status  # words for staff too

    other_unit = create_employer()
    other = _person(other_unit, "Người Đơn Vị Khác", "needs_review")
    review.request_info(other.id, caseworker, "employer", "Hợp đồng")
    theirs = db.session.scalar(
        select(ClaimEvent.id).where(ClaimEvent.claim_id == other.id, ClaimEvent.action == "request_info")
    )
    assert employer.get(f"/employers/{unit.unit_code}/requests/{theirs}").status_code == 404
    assert employer.post(f"/employers/{unit.unit_code}/requests/{theirs}", data={"answer": "x"}).status_code == 404

    client.post("/logout")
    sign_in(client, caseworker, locale)
    case = _text(client.get(f"/caseworker/claims/{an.id}"))
    label = "Đơn vị trả lời yêu cầu bổ sung thông tin" if locale == "vi" else "The unit answered the request for"
    assert label in case and answer in case
    # The queue tells the caseworker there is an answer to read; the request's page is no "answer" page for them.
    queue = _text(client.get("/caseworker/queue", query_string={"state": "needs_review"}))
    today = datetime.now(VIETNAM_TZ).strftime("%d/%m/%Y")  # the day the answer came, as its event says
    flag = "Đơn vị đã trả lời yêu cầu ngày" if locale == "vi" else "The unit answered the request on"
    assert f"{flag} {today}" in queue and queue.count(flag) == 1  # the other unit's request is not answered
    seen = _text(client.get(link))
    heading = "Yêu cầu bổ sung thông tin gửi đơn vị" if locale == "vi" else "Request for information sent to the unit"
    heading = f"<h1>{heading}:"
    assert heading in seen and answer in seen and "<form" not in seen.split("</h1>", 1)[1]


def test_the_employers_home_page_links_to_its_contribution_reduction(client, unit):
    page = _text(_employer(client, unit).get("/"))
    assert f'<a href="/employers/{unit.unit_code}/reductions">Giảm mức đóng</a>' in page


def test_a_person_owed_nothing_shows_no_amount_and_no_account(client, unit, workforce, db_session):
    """A declined (or removed, or refused) person's row must not read as if a payment were on its way."""
    declined = workforce["declined"]
    declined.bank_code, declined.bank_account = "VCB", "0011001234567"
    db_session.flush()
    page = _text(_employer(client, unit).get(f"/employers/{unit.unit_code}"))
    row = re.search(r"<tr>(?:(?!</tr>).)*Hoàng Thị Hà(?:(?!</tr>).)*</tr>", page, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>\s*(.*?)\s*</td>", row.group(0), re.S)
    assert cells[2:5] == [
        '<span class="state state-declined">Không nhận hỗ trợ</span>',
        "—",
        "—",
    ], cells
    assert "0011001234567" not in row.group(0) and "₫" not in row.group(0)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_refused_person_shows_why_the_office_refused_not_what_review_was_checking(client, unit, db_session, locale):
    """A caseworker's refusal puts its reason on the reject event, while the claim's reasons still say what review
    was checking ("a caseworker must check…"); verification's refusal names refusing and review codes alike. The
    unit reads why each person was refused, the refusal's words only, read for the page's refused claims at once."""
    from sqlalchemy import event

    from disburse.verification import review

    caseworker = create_user("caseworker", district=unit.district_code)
    gone = _person(unit, "Lê Thị Hồng", "needs_review", reasons=["zero_months"])
    review.reject(gone.id, caseworker, "not_employed_on_cutoff", "Đã nghỉ việc từ tháng 8/2021.")
    twice = _person(unit, "Lê Văn Khang", "needs_review", reasons=["possible_duplicate"])
    review.reject(twice.id, caseworker, "duplicate", "Trùng với hồ sơ khác của chính người này.")
    # Refused without a reason code on its event (the factory's refusal): the refusing codes among its reasons.
    _person(unit, "Lê Thị Lan", "rejected", reasons=["excluded_sector", "zero_months"])
    assert db_session.get(Claim, gone.id).reasons == ["zero_months"]

    words = {
        "vi": [
            "Vào ngày xác định đối tượng được hỗ trợ, người lao động không làm việc",
            "Người lao động đã được xem xét hỗ trợ theo một hồ sơ khác của chính người lao động",
            "Đơn vị thuộc khu vực không được hỗ trợ",
        ],
        "en": [
            "the person was not employed, nor insured against unemployment",
            "support is handled on another of their own records",
            "The employer is in a sector the programme excludes",
        ],
    }[locale]
    review_words = {"vi": "cán bộ nghiệp vụ cần xác minh", "en": "a caseworker must check"}[locale]
    client = _employer(client, unit, locale)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = _text(client.get(f"/employers/{unit.unit_code}"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    for name, why in zip(("Lê Thị Hồng", "Lê Văn Khang", "Lê Thị Lan"), words, strict=True):
        row = re.search(rf"<tr>(?:(?!</tr>).)*{name}(?:(?!</tr>).)*</tr>", page, re.S)
        assert row is not None and why in row.group(0), (name, why)
        assert review_words not in row.group(0), name
    refusals = [s for s in statements if "FROM claim_events" in s and "request_info" not in s]
    assert len(refusals) == 1  # one statement for the page's refusals (another reads the requests to the unit)


def test_search_by_name_without_diacritics_or_by_si_code(client, unit, workforce):
    client = _employer(client, unit)
    page = _text(client.get(f"/employers/{unit.unit_code}", query_string={"q": "tran thi anh"}))
    assert "Trần Thị Ánh" in page and "Lê Văn Bình" not in page
    assert "Tìm thấy 1 người cho “tran thi anh”." in page
    page = _text(client.get(f"/employers/{unit.unit_code}", query_string={"q": "đức"}))
    assert "Đỗ Minh Đức" in page and "Trần Thị Ánh" not in page
    si = _si(workforce["failed"])
    page = _text(client.get(f"/employers/{unit.unit_code}", query_string={"q": si}))
    assert "Nguyễn Thị Yến" in page and "Phạm Văn An" not in page
    page = _text(client.get(f"/employers/{unit.unit_code}", query_string={"q": "không ai tên này"}))
    assert "Không có ai khớp với nội dung tìm kiếm." in page


def test_a_search_too_long_is_said_in_both_languages(client, unit, workforce):
    client = _employer(client, unit)
    response = client.get(f"/employers/{unit.unit_code}", query_string={"q": "a" * 101})
    page = _text(response)
    assert response.status_code == 400
    assert "<title>Lỗi: Tình trạng chi trả" in page
    assert 'href="#q">Nội dung tìm kiếm dài quá 100 ký tự.</a>' in page
    for odd in ("\x00", "%", "_", "\\", "' OR 1=1 --", "\ufffd"):  # never a 500, never a wildcard
        response = client.get(f"/employers/{unit.unit_code}", query_string={"q": odd})
        assert response.status_code in (200, 400) and "Lê Văn Bình" not in _text(response), odd
    client.post("/language/en")
    page = _text(client.get(f"/employers/{unit.unit_code}", query_string={"q": "a" * 101}))
    assert 'href="#q">The search is longer than 100 characters.</a>' in page


def test_the_units_deadlines_are_one_landmark(client, unit, workforce):
    """Each deadline banner a region of the same name could not be told apart by a screen reader: one region holds
    them all."""
    page = _employer(client, unit).get(f"/employers/{unit.unit_code}").get_data(as_text=True)
    assert page.count('role="region" aria-label="Thời hạn"') == 1 and page.count('class="banner') >= 2


def test_the_status_page_is_paged(client, unit, monkeypatch):
    from disburse.claims import employer_views

    monkeypatch.setattr(employer_views, "PAGE_SIZE", 2)
    for name in ("Lê An", "Lê Bình", "Lê Chi"):
        _person(unit, name)
    client = _employer(client, unit)
    first = _text(client.get(f"/employers/{unit.unit_code}"))
    assert "Lê An" in first and "Lê Chi" not in first and "Trang 1 / 2" in first
    second = _text(client.get(f"/employers/{unit.unit_code}", query_string={"page": 2}))
    assert "Lê Chi" in second and "Lê An" not in second
    for odd in ("abc", "²", "0", "99999999", "-1"):  # not a page: the first (or the last) page, never an error
        assert client.get(f"/employers/{unit.unit_code}", query_string={"page": odd}).status_code == 200
    for past in ("3", "99999", "9999999", "9" * 30):  # past the last page, however far: the last page
        assert "Lê Chi" in _text(client.get(f"/employers/{unit.unit_code}", query_string={"page": past})), past


def test_a_page_of_the_list_is_that_slice_of_the_whole_list(unit, workforce):
    """workforce_page reads the details of one page only; its rows are exactly that slice of workforce(), in the same
    Vietnamese order (ties by SI code), with the latest payment and why the claim is stuck, for any page, search and
    page size, and the page number kept within 1..the last page."""
    from disburse.claims import unit as units
    from tests.factories import nq116

    program = nq116()
    for name in ("Lê An", "Lê Ân", "Lê Văn Ấn", "Lê An", "Đào An", "Dương An", "Ngô Thị Ánh"):
        _person(unit, name, "needs_review", reasons=["possible_duplicate"])
    for query in ("", "an", "LE AN", "thi", "không ai", _si(workforce["failed"])[:6]):
        whole = units.workforce(program, unit, query)
        for size in (1, 2, 3, 100):
            pages = max(1, -(-len(whole) // size))
            for page in range(1, pages + 1):
                rows, found, shown = units.workforce_page(program, unit, query, page=page, size=size)
                assert (rows, found, shown) == (whole[(page - 1) * size : page * size], len(whole), page)
            assert units.workforce_page(program, unit, query, page=pages + 5, size=size)[2] == pages
            assert units.workforce_page(program, unit, query, page=0, size=size)[2] == 1
    rows, found, _ = units.workforce_page(program, unit, "yen", page=1, size=1)
    assert found == 1 and rows[0].payment_state == "failed" and rows[0].reason is not None
    assert rows[0].reason[1].startswith("Closed account.")  # the latest payment's code, read for the page alone


def test_a_claim_paid_on_its_second_attempt_shows_that_attempt(unit):
    """The page and the whole list read each claim's latest attempt, not its first failure."""
    from disburse.claims import unit as units
    from tests.factories import nq116

    repaid = _person(unit, "Vũ Thị Lan", "paid")
    create_payment(repaid, "failed", attempt=1)
    create_payment(repaid, "paid", attempt=2)
    once = _person(unit, "Vũ Văn Minh", "awaiting_payment_details")
    create_payment(once, "failed", attempt=1)
    program = nq116()
    rows, found, _ = units.workforce_page(program, unit, "vu", page=1, size=10)
    assert found == 2
    assert {row.claim_id: row.payment_state for row in rows} == {repaid.id: "paid", once.id: "failed"}
    assert rows == units.workforce(program, unit, "vu")


def test_scope_other_units_roles_and_signed_out(client, unit, workforce, app):
    other = create_employer(district_code="760")  # Quận 1, Hồ Chí Minh City
    client = _employer(client, unit)
    assert client.get(f"/employers/{other.unit_code}").status_code == 404
    assert client.get("/employers/ZZ9999999").status_code == 404
    assert client.get(f"/employers/{other.unit_code}/form-01").status_code == 404
    # A caseworker of the unit's district reads the page; the forms are the employer's.
    caseworker = _signed_in(app.test_client(), create_user("caseworker", district="017"))
    assert caseworker.get(f"/employers/{unit.unit_code}").status_code == 200
    assert "Gửi Mẫu số 02" not in _text(caseworker.get(f"/employers/{unit.unit_code}"))
    assert caseworker.get(f"/employers/{other.unit_code}").status_code == 404
    assert caseworker.get(f"/employers/{unit.unit_code}/form-02").status_code == 403
    signed_out = app.test_client().get(f"/employers/{unit.unit_code}")
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/login?next=")


def _status_file(
    client, unit, query: str = ""
) -> tuple[list[str], list[list[object]], openpyxl.worksheet.worksheet.Worksheet]:
    response = client.get(f"/employers/{unit.unit_code}/status-file{query}")
    assert response.status_code == 200, response.data[:300]
    assert re.search(
        rf"filename=trang-thai-{unit.unit_code}-\d{{8}}-\d{{4}}\.xlsx", response.headers["Content-Disposition"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, *rows = ([cell.value for cell in row] for row in sheet.iter_rows())
    return header, rows, sheet


def test_the_status_list_downloads_whole_in_the_pages_order_with_the_day_paid(client, unit, workforce, db_session):
    """The page shows 100 people at a time; the unit's HR tells its staff from the whole list, in a spreadsheet."""
    paid = workforce["paid"][0]
    paid.paid_at = datetime(2021, 10, 22, 20, 30, tzinfo=UTC)  # 03:30 on 23/10 in Vietnam
    db_session.flush()
    client = _employer(client, unit)
    page = _text(client.get(f"/employers/{unit.unit_code}"))
    assert f"/employers/{unit.unit_code}/status-file" in html.unescape(page)
    header, rows, sheet = _status_file(client, unit)
    assert header == unit_forms.STATUS_HEADER
    names = [row[1] for row in rows]
    assert names == ["Phạm Văn An", "Trần Thị Ánh", "Lê Văn Bình", "Đỗ Minh Đức", "Hoàng Thị Hà", "Nguyễn Thị Yến"]
    by_name = {row[1]: row for row in rows}
    assert by_name["Trần Thị Ánh"][2:5] == ["Đã chi trả", 2_100_000, "Chuyển khoản"]
    assert by_name["Trần Thị Ánh"][7] == datetime(2021, 10, 23, 0, 0)  # a date cell, Vietnam's day
    assert by_name["Hoàng Thị Hà"][2:8] == ["Không nhận hỗ trợ", None, None, None, None, None]  # nothing owed
    assert by_name["Nguyễn Thị Yến"][8].startswith("Tài khoản đã đóng. Hãy gửi Mẫu số 03")
    assert by_name["Phạm Văn An"][0] == _si(workforce["listed"])  # text: the leading zero kept
    amount, day = sheet.cell(row=3, column=4), sheet.cell(row=3, column=8)
    assert (amount.number_format, day.number_format) == ("#,##0", "dd/mm/yyyy")


def test_the_status_list_keeps_the_pages_filters_and_language(client, unit, workforce):
    client = _employer(client, unit, "en")
    _, rows, _ = _status_file(client, unit, "?state=paid")
    assert [row[2] for row in rows] == ["Paid"] * 3 and {row[4] for row in rows} == {"Bank transfer"}
    _, rows, _ = _status_file(client, unit, "?q=yen")
    assert [row[1] for row in rows] == ["Nguyễn Thị Yến"] and rows[0][8].startswith("Closed account. Send Form 03")
    response = client.get(f"/employers/{unit.unit_code}/status-file?format=csv&state=declined")
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0] == unit_forms.STATUS_HEADER and [line[1] for line in lines[1:]] == ["Hoàng Thị Hà"]
    assert client.get(f"/employers/{unit.unit_code}/status-file?state=nonsense").status_code == 400


# ------------------------------------------------------------------------------------------------ progress API


def test_the_progress_api(client, unit, workforce, app):
    client = _employer(client, unit)
    body = client.get(f"/api/v1/employers/{unit.unit_code}/progress").get_json()
    assert body["unit_code"] == unit.unit_code and body["program"] == "NQ116"
    assert (body["listed"], body["eligible"], body["paid"]) == (6, 5, 3)
    assert body["paid_amount_vnd"] == 6_300_000 and body["percent_paid"] == 60.0
    assert body["by_state"]["paid"] == 3 and body["by_state"]["declined"] == 1 and body["by_state"]["approved"] == 0
    other = create_employer(district_code="760")
    assert client.get(f"/api/v1/employers/{other.unit_code}/progress").status_code == 404
    assert client.get("/api/v1/employers/ZZ9999999/progress").status_code == 404
    unknown = client.get(f"/api/v1/employers/{unit.unit_code}/progress?program=NOPE", headers={"Accept-Language": "en"})
    assert unknown.status_code == 404 and unknown.get_json()["message"] == "There is no program with code 'NOPE'."
    assert app.test_client().get(f"/api/v1/employers/{unit.unit_code}/progress").status_code == 401


# ------------------------------------------------------------------------------------------------ Form 01 / 02


def test_form_01_downloads_as_a_workbook_and_as_csv(client, unit, workforce):
    client = _employer(client, unit)
    response = client.get(f"/employers/{unit.unit_code}/form-01")
    assert response.status_code == 200
    assert f"mau-01-{unit.unit_code}.xlsx" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet.cell(row=1, column=2).value == "Mã số BHXH (si_code)"
    assert sheet.max_row == 7  # header + 6 people
    response = client.get(f"/employers/{unit.unit_code}/form-01?format=csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][-1] == "Không nhận hỗ trợ: ghi x (decline)" and len(rows) == 7


def test_an_errors_file_asked_from_a_page_shown_before_it_named_the_person_keeps_its_columns(client, unit, app):
    """A results page rendered before the errors file gained the row's SI code and name posts lines of six: each value
    stays under its own header, the person's cells blank."""
    client = _employer(client, unit)
    with app.test_request_context():
        old = employer_views.sign_errors(
            unit.unit_code, [(4, "bank_code", "KHONGCO", "bank_unknown", "Không rõ ngân hàng", "Unknown bank")]
        )
    answer = client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": old})
    lines = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert lines[0] == list(unit_forms.ERRORS_HEADER)
    assert lines[1] == ["4", "", "", "bank_code", "KHONGCO", "bank_unknown", "Không rõ ngân hàng", "Unknown bank"]


def _form_02_csv(lines: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"])
    writer.writerows(lines)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def test_form_02_upload_takes_the_good_rows_and_shows_the_others(client, unit):
    listed = [_person(unit, f"Vũ Văn {n}") for n in ("Một", "Hai", "Ba")]
    client = _employer(client, unit)
    upload = _form_02_csv(
        [
            [_si(listed[0]), "VCB", "0071000123456", ""],
            [_si(listed[1]), "", "", "x"],
            [_si(listed[2]), "KHONGCO", "12", ""],
        ]
    )
    response = client.post(
        f"/employers/{unit.unit_code}/form-02/upload",
        data={"file": (upload, "mau02.csv")},
        content_type="multipart/form-data",
    )
    page = _text(response)
    assert response.status_code == 200
    assert "Xác nhận: 1 người" in page and "Không nhận hỗ trợ: 1 người" in page and "Dòng bị từ chối: 1" in page
    assert "Không rõ ngân hàng &#39;KHONGCO&#39;" in page
    # The file has no name column: the person by their SI code alone, and their claim.
    claim = f'<a href="/employers/{unit.unit_code}?q={_si(listed[2])}">Hồ sơ số {listed[2].id}</a>'
    refused = _si(listed[2])
    cells = f'<td class="name">{refused} · {claim}</td><td class="short">Ngân hàng (bank_code)</td>'
    assert f'<td class="num">4</td>{cells}<td class="value">KHONGCO</td>' in page
    assert [db.session.get(Claim, c.id).state for c in listed] == ["employer_confirmed", "declined", "listed"]

    token = re.search(r'name="errors" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    errors = client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": token})
    assert errors.status_code == 200 and "loi.csv" in errors.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(errors.data.decode("utf-8-sig"))))
    assert lines[0] == ["row", "si_code", "full_name", "column", "value", "error_code", "message_vi", "message_en"]
    assert lines[1][:6] == ["4", refused, "", "bank_code", "KHONGCO", "bank_unknown"]
    assert "The bank 'KHONGCO' is not known" in lines[1][7]
    # A forged or another unit's errors file is refused.
    assert client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": token + "x"}).status_code == 400


@pytest.mark.parametrize(
    ("locale", "none", "others"),
    [
        ("vi", "Không dòng nào được ghi nhận.", "các dòng khác đã được ghi nhận"),
        ("en", "No row was recorded.", "the other rows were recorded"),
    ],
)
def test_a_form_02_of_which_no_row_was_taken_never_says_the_others_were_recorded(client, unit, locale, none, others):
    listed = [_person(unit, f"Vũ Văn {n}") for n in ("Một", "Hai")]
    client = _employer(client, unit, locale)

    def sent(rows: list[list[str]]) -> str:
        upload = _form_02_csv(rows)
        url = f"/employers/{unit.unit_code}/form-02/upload"
        return _text(client.post(url, data={"file": (upload, "mau02.csv")}, content_type="multipart/form-data"))

    page = sent([[_si(c), "KHONGCO", "0071000123456", ""] for c in listed])
    assert none in page and others not in page
    # One row taken: the page says so, and that the others were recorded.
    one_taken = [[_si(listed[0]), "VCB", "0071000123456", ""], [_si(listed[1]), "KHONGCO", "1", ""]]
    page = sent(one_taken)
    assert none not in page and others in page
    # The same file again: nothing new (the first row unchanged, the second refused again), and not "the others were
    # recorded" after "nothing new was recorded".
    page = sent(one_taken)
    assert {"vi": "Không có gì mới được ghi nhận.", "en": "Nothing new was recorded."}[locale] in page
    assert others not in page


def test_form_02_in_the_browser_never_counts_people_recorded_before_as_confirmed_now(client, unit):
    from disburse.claims import employer_forms

    ann = _person(unit, "Lê Thị An")
    employer_forms.confirm(
        employer_views.current_program(), unit.unit_code, [{"si_code": _si(ann)}], today=date(2021, 10, 25)
    )
    client = _employer(client, unit)
    data = {"rows-0-si_code": _si(ann), "rows-0-choice": "cash"}
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    page = _text(client.get(response.headers["Location"]))
    assert "Không có gì thay đổi: 1 người đã được ghi nhận từ trước." in page
    assert "xác nhận 1 người" not in page


def test_a_form_02_far_longer_than_the_units_list_is_refused_before_it_is_read_through(client, unit, app, monkeypatch):
    """An upload costs at most the unit's own list: 199,000 made-up rows held a web worker past its timeout. The
    refusal sends missing people to Form 03 only while Form 03 is taken."""
    listed = [_person(unit, name) for name in ("Lê Thị An", "Lê Văn Bình")]
    client = _employer(client, unit, "en")
    extra = unit_forms.FORM_02_EXTRA_ROWS
    made_up = [[f"79{n:08d}", "VCB", "0123456789", ""] for n in range(extra + 1)]
    too_long = _form_02_csv([[_si(c), "VCB", "0123456789", ""] for c in listed] + made_up)

    response = client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (too_long, "f.csv")})
    assert response.status_code == 400
    assert "The file has over 102 rows, more than the unit&#39;s Form 01 list (2 people)." in _text(response)
    assert "People missing from the list are added with Form 03." in _text(response)
    assert [db.session.get(Claim, c.id).state for c in listed] == ["listed", "listed"]

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-11")  # the day after the adjustment deadline
    too_long = _form_02_csv([[_si(c), "VCB", "0123456789", ""] for c in listed] + made_up)
    late = _text(client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (too_long, "f.csv")}))
    assert "The file has over 102 rows" in late and "added with Form 03" not in late
    assert "The deadline for adjustments (Form 03) was 10/11/2021; to add a person or correct" in late
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)

    within = _form_02_csv([[_si(c), "VCB", "0123456789", ""] for c in listed] + made_up[:extra])
    page = _text(client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (within, "f.csv")}))
    assert f"Rows refused: {extra}" in page  # not on the list: each said on its row


def test_the_results_page_lists_the_first_refused_rows_and_the_errors_file_has_them_all(client, unit, monkeypatch):
    monkeypatch.setattr(employer_views, "REFUSED_SHOWN", 2)
    _person(unit, "Lê Thị An")
    client = _employer(client, unit, "en")
    made_up = [[f"79{n:08d}", "VCB", "0123456789", ""] for n in range(5)]
    response = client.post(
        f"/employers/{unit.unit_code}/form-02/upload", data={"file": (_form_02_csv(made_up), "f.csv")}
    )
    page = _text(response)
    assert "Rows refused: 5" in page and page.count("not on unit") == 2
    assert "3 more errors are in the errors file." in page
    token = re.search(r'name="errors" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    errors = client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": token})
    assert len(list(csv.reader(io.StringIO(errors.data.decode("utf-8-sig"))))) == 1 + 5


def test_the_results_page_shows_a_long_bad_cell_cut_short_and_the_errors_file_has_it_whole(client, unit):
    """A pasted paragraph in the account column filled the results page; the page shows its start, the errors file
    the whole value."""
    listed = _person(unit, "Lê Thị An")
    client = _employer(client, unit, "en")
    long_value = "12345 " * 2000
    upload = _form_02_csv([[_si(listed), "VCB", long_value, ""]])
    response = client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "f.csv")})
    page = _text(response)
    assert "Rows refused: 1" in page
    shown = re.search(r'<td class="value">((?:12345 ?)+)(\.\.\.|…)</td>', page)
    assert shown is not None and len(shown.group(1)) <= 80, page[-3000:]
    token = re.search(r'name="errors" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    errors = client.post(f"/employers/{unit.unit_code}/form-02/errors", data={"errors": token})
    lines = list(csv.reader(io.StringIO(errors.data.decode("utf-8-sig"))))
    assert any(long_value.strip() in cell for cell in lines[1])


def test_form_02_columns_headed_by_their_labels_alone_are_read(client, unit):
    """A header retyped with Form 01's labels and without the names in brackets is read as the form: the decline
    column too (a column the reader passed over would have confirmed the person it marks)."""
    stays, goes = _person(unit, "Lê Thị An"), _person(unit, "Lê Văn Bình")
    out = io.StringIO()
    writer = csv.writer(out)
    # Every label of the form, as the download has them: "Mức hỗ trợ (đồng)" was read as a column named "đồng".
    writer.writerow([label for label, _ in unit_forms.FORM_01_COLUMNS])
    rows = [
        {"si_code": _si(stays), "bank_code": "VCB", "bank_account": "0011223344"},
        {"si_code": _si(goes), "decline": "x"},
    ]
    writer.writerows([row.get(name, "") for _, name in unit_forms.FORM_01_COLUMNS] for row in rows)
    upload = io.BytesIO(out.getvalue().encode("utf-8-sig"))
    client = _employer(client, unit)
    response = client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "f.csv")})
    assert response.status_code in (200, 302), _text(response)
    assert [db.session.get(Claim, c.id).state for c in (stays, goes)] == ["employer_confirmed", "declined"]
    assert db.session.get(Claim, stays.id).bank_account == "0011223344"
    # The decline column as the pages name it, "Không nhận hỗ trợ" (without ": ghi x"), refused the whole file.
    later = _person(unit, "Lê Văn Cường")
    out = io.StringIO()
    csv.writer(out).writerows(
        [["Mã số BHXH", "Ngân hàng", "Số tài khoản", "Không nhận hỗ trợ"], [_si(later), "", "", "x"]]
    )
    upload = io.BytesIO(out.getvalue().encode("utf-8-sig"))
    response = client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "f.csv")})
    assert response.status_code in (200, 302), _text(response)
    assert db.session.get(Claim, later.id).state == "declined"


def test_form_02_upload_in_english(client, unit):
    listed = _person(unit, "Vũ Văn Bốn")
    client = _employer(client, unit, "en")
    upload = _form_02_csv([[_si(listed), "VCB", "", ""]])
    page = _text(client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "f.csv")}))
    assert "Rows refused: 1" in page
    assert "Give both the bank and the account number (or leave both blank)." in page


@pytest.mark.parametrize(
    ("data", "vi", "en"),
    [
        ({}, "Hãy chọn tệp Mẫu số 02 đã điền.", "Choose the filled-in Form 02 file."),
        (
            {"file": (io.BytesIO(b"%PDF"), "mau02.pdf")},
            "Tệp phải là bảng tính .xlsx hoặc .csv",
            "The file must be an .xlsx or .csv spreadsheet",
        ),
        (
            {"file": (io.BytesIO(b"ten,tien\nA,1\n"), "mau02.csv")},
            "Thiếu cột Mã số BHXH (si_code)",
            "The SI code column (si_code) is missing",
        ),
        (
            {"file": (io.BytesIO(b"si_code\n"), "mau02.csv")},
            "Tệp không có dòng dữ liệu nào",
            "The file has no data rows",
        ),
        (  # a column the form does not read: what it holds would be passed over (a decline retyped another way)
            {
                "file": (
                    io.BytesIO("si_code,bank_code,bank_account,Từ chối\n0100000001,,,x\n".encode()),
                    "mau02.csv",
                )
            },
            "Tệp có cột không thuộc Mẫu số 01/02: “từ chối”.",
            "The file has columns that are not Form 01/02’s: “từ chối”.",
        ),
        (
            {"file": (io.BytesIO(b"si_code,bank_code,bank_account,si_code\n0100000001,,,0100000002\n"), "mau02.csv")},
            "Tệp có cột lặp lại: si_code.",
            "The file has a column more than once: si_code.",
        ),
        (  # without its bank columns, every person would be taken as paid in cash
            {"file": (io.BytesIO(b"si_code\n0100000001\n"), "mau02.csv")},
            "Thiếu các cột Ngân hàng (bank_code), Số tài khoản (bank_account)",
            "The columns Ngân hàng (bank_code), Số tài khoản (bank_account) are missing",
        ),
        (
            {"file": (io.BytesIO(b"\xff\xfesi_code"), "mau02.csv")},
            "Tệp được mã hoá UTF-16",
            "The file is encoded as UTF-16",
        ),
        (
            {"file": (io.BytesIO(b"si_code,ten\n0100000001,Nguy\xe1n\n"), "mau02.csv")},
            "Tệp không được mã hoá UTF-8",
            "The file is not UTF-8 encoded",
        ),
    ],
)
def test_form_02_upload_bad_files_say_why_in_both_languages(client, unit, data, vi, en):
    for locale, text in (("vi", vi), ("en", en)):
        fresh = {k: (io.BytesIO(v[0].getvalue()), v[1]) for k, v in data.items()}
        client = _employer(client, unit, locale)
        response = client.post(
            f"/employers/{unit.unit_code}/form-02/upload", data=fresh, content_type="multipart/form-data"
        )
        page = _text(response)
        assert response.status_code == 400
        assert 'class="error-summary"' in page and 'href="#file">' + text in page
        prefix = "Lỗi:" if locale == "vi" else "Error:"  # read before the message, not shown
        assert f'id="file-error"><span class="visually-hidden">{prefix}</span> ' + text in page


def test_form_02_page_in_both_languages(client, unit, workforce):
    page = _text(_employer(client, unit).get(f"/employers/{unit.unit_code}/form-02"))
    assert "Tối đa 16 MB. Nên gửi tệp .xlsx" in page  # the upload's limit, said before it is hit
    assert "<title>Mẫu số 01 và 02 · Công ty TNHH May Thử · disburse</title>" in page
    assert "<h1>Mẫu số 01 và 02: Công ty TNHH May Thử</h1>" in page
    assert 'enctype="multipart/form-data"' in page and '<label for="file">' in page
    page = _text(_employer(client, unit, "en").get(f"/employers/{unit.unit_code}/form-02"))
    assert "<h1>Forms 01 and 02: Công ty TNHH May Thử</h1>" in page
    assert "2. Send the filled-in Form 02" in page


# ------------------------------------------------------------------------------------------------ Form 02 rows


def test_form_02_in_the_browser_row_by_row(client, unit):
    ann, binh, chi, dung = (_person(unit, name) for name in ("Lê Thị An", "Lê Văn Bình", "Lê Thị Chi", "Lê Văn Dũng"))
    client = _employer(client, unit)
    page = _text(client.get(f"/employers/{unit.unit_code}/form-02"))
    assert "<legend>Lê Thị An · Mã số BHXH " + _si(ann) in page
    assert 'id="rows-0-choice-0"' in page and '<label for="rows-0-bank_code">Ngân hàng</label>' in page
    data = {
        "rows-0-si_code": _si(ann),
        "rows-0-choice": "bank",
        "rows-0-bank_code": "BIDV",
        "rows-0-bank_account": "12345678901",
        "rows-1-si_code": _si(binh),
        "rows-1-choice": "cash",
        "rows-2-si_code": _si(chi),
        "rows-2-choice": "decline",
        "rows-3-si_code": _si(dung),
        "rows-3-choice": "",  # not yet
    }
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "Đã ghi nhận Mẫu số 02: xác nhận 2 người, không nhận hỗ trợ 1 người." in page
    states = [db.session.get(Claim, c.id) for c in (ann, binh, chi, dung)]
    assert [c.state for c in states] == ["employer_confirmed", "employer_confirmed", "declined", "listed"]
    assert (states[0].bank_code, states[0].payout, states[1].payout) == ("BIDV", "bank", "cash")
    assert "<legend>Lê Văn Dũng" in page and "<legend>Lê Thị An" not in page  # only those still waiting


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_form_02_rows_refused_say_why_on_the_row(client, unit, locale):
    ann, binh = _person(unit, "Lê Thị An"), _person(unit, "Lê Văn Bình")
    client = _employer(client, unit, locale)
    data = {
        "rows-0-si_code": _si(ann),
        "rows-0-choice": "bank",
        "rows-0-bank_code": "",
        "rows-0-bank_account": "12345678901",
        "rows-1-si_code": _si(binh),
        "rows-1-choice": "cash",
    }
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    page = _text(response)
    assert response.status_code == 200  # the good row is taken, the other comes back
    assert ("<title>Lỗi: Mẫu số 01 và 02" if locale == "vi" else "<title>Error: Forms 01 and 02") in page
    message = {
        "vi": "Đã chọn chuyển khoản: cần ghi cả ngân hàng và số tài khoản. Nếu người lao động nhận tiền mặt, hãy "
        "chọn “Nhận tiền mặt tại cơ quan BHXH”.",
        "en": "A bank transfer was chosen: give both the bank and the account number. If the person takes cash, "
        "choose “Cash at the office”.",
    }[locale]
    assert f'<a href="#rows-0-bank_code">Lê Thị An ({_si(ann)}): {message}</a>' in page  # whose row it is
    prefix = "Lỗi:" if locale == "vi" else "Error:"
    assert f'id="rows-0-bank_code-error"><span class="visually-hidden">{prefix}</span> {message}</p>' in page
    assert ("Đã ghi nhận." if locale == "vi" else "Recorded.") in page
    assert [db.session.get(Claim, c.id).state for c in (ann, binh)] == ["listed", "employer_confirmed"]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_form_02_rows_a_bank_transfer_without_details_is_not_recorded_as_cash(client, unit, locale):
    """A bank transfer ("Chuyển khoản") chosen with the bank and the account left blank: the row comes back with its
    error, nothing is recorded for it (not cash at the office), and the account sent next is taken."""
    ann, binh = _person(unit, "Lê Thị An"), _person(unit, "Lê Văn Bình")
    client = _employer(client, unit, locale)
    data = {
        "rows-0-si_code": _si(ann),
        "rows-0-choice": "bank",
        "rows-0-bank_code": "",
        "rows-0-bank_account": "",
        "rows-1-si_code": _si(binh),
        "rows-1-choice": "decline",
    }
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    page = _text(response)
    assert response.status_code == 200
    message = {
        "vi": "Đã chọn chuyển khoản: cần ghi cả ngân hàng và số tài khoản.",
        "en": "A bank transfer was chosen: give both the bank and the account number.",
    }[locale]
    assert f'<a href="#rows-0-bank_code">Lê Thị An ({_si(ann)}): {message}' in page  # whose row it is
    assert 'id="rows-0-bank_code-error"><span class="visually-hidden">' in page and message in page
    assert "(hoặc để trống cả hai)" not in page and "(or leave both blank)" not in page
    assert ("Dòng bị từ chối: 1" if locale == "vi" else "Rows refused: 1") in page
    claim = db.session.get(Claim, ann.id)
    assert (claim.state, claim.confirmed_on) == ("listed", None)
    assert db.session.get(Claim, binh.id).state == "declined"

    data = {"rows-0-si_code": _si(ann), "rows-0-choice": "bank", "rows-0-bank_code": "BIDV"}
    data["rows-0-bank_account"] = "12345678901"
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    assert response.status_code == 302
    claim = db.session.get(Claim, ann.id)
    assert (claim.state, claim.payout, claim.bank_code, claim.bank_account) == (
        "employer_confirmed",
        "bank",
        "BIDV",
        "12345678901",
    )


def test_an_error_on_a_row_s_answer_links_to_the_answer_chosen(client, unit):
    """A radio group's error links to its checked choice (the one Tab lands on in the group), not to the first: the
    link to "Chưa xác nhận" put the keyboard one arrow away from changing the answer."""
    ann = _person(unit, "Lê Thị An")
    stranger = create_claim("listed")  # another unit's person: refused on the SI code, said on the row's answer
    client = _employer(client, unit)
    data = {
        "rows-0-si_code": _si(stranger),
        "rows-0-choice": "decline",
        "rows-1-si_code": _si(ann),
        "rows-1-choice": "cash",
    }
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert 'href="#rows-0-choice-3"' in summary and "-choice-0" not in summary  # "Không nhận hỗ trợ", checked
    chosen = re.search(r'<input[^>]*id="rows-0-choice-3"[^>]*>', page).group(0)
    assert " checked " in chosen and 'aria-describedby="rows-0-choice-error"' in chosen
    assert db.session.get(Claim, ann.id).state == "employer_confirmed"


def test_form_02_rows_with_nobody_chosen(client, unit):
    ann = _person(unit, "Lê Thị An")
    for locale, text in (
        ("vi", "Hãy chọn câu trả lời cho ít nhất một người."),
        ("en", "Choose an answer for at least one person."),
    ):
        client = _employer(client, unit, locale)
        response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data={"rows-0-si_code": _si(ann)})
        assert response.status_code == 400
        assert f'<a href="#rows">{text}</a>' in _text(response)


# ------------------------------------------------------------------------------------------------ Form 03


def _confirmed(client, url: str, data: dict[str, str]):
    """Form 03's two steps: the form, read back with nothing recorded (checked by the caller), then "Xác nhận"."""
    checked = client.post(url, data=data)
    assert checked.status_code == 200 and 'id="kiem-tra-lai"' in _text(checked)
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', _text(checked))
    assert seen, "the check step carries what it read back"
    return client.post(url, data={**data, "confirmed": "1", "seen": seen[1]})


def test_form_03_adds_removes_and_corrects(client, unit):
    client = _employer(client, unit)
    page = _text(client.get(f"/employers/{unit.unit_code}/form-03"))
    assert "<h1>Mẫu số 03 (điều chỉnh danh sách): Công ty TNHH May Thử</h1>" in page
    assert "<title>Mẫu số 03 (điều chỉnh danh sách) · Công ty TNHH May Thử" in page
    assert '<label for="action-0">Bổ sung người lao động chưa có trong danh sách</label>' in page
    english = _text(_employer(client, unit, "en").get(f"/employers/{unit.unit_code}/form-03"))
    assert "<h1>Form 03 (list adjustments): Công ty TNHH May Thử</h1>" in english
    client = _employer(client, unit)

    # Adding someone already on the list says so (not "already so; nothing changed"), and keeps the form as typed
    # so that it can be sent again as a correction; someone not on the list is to be added, on this form.
    listed = _person(unit, "Đặng Văn Có")
    response = client.post(f"/employers/{unit.unit_code}/form-03", data={"action": "add", "si_code": _si(listed)})
    page = _text(response)
    assert response.status_code == 400
    assert f"Người có mã số BHXH {_si(listed)} đã có trong danh sách của đơn vị" in page
    assert "chọn “Điều chỉnh tài khoản ngân hàng hoặc số điện thoại”" in page
    assert f'value="{_si(listed)}"' in page and "không có gì thay đổi" not in page
    stranger = {"action": "correct", "si_code": "0199999999", "phone": "0912345678"}
    page = _text(client.post(f"/employers/{unit.unit_code}/form-03", data=stranger))
    assert "để bổ sung người này, chọn “Bổ sung người lao động chưa có trong danh sách”" in page
    assert "dùng Mẫu số 03" not in page

    missing = create_employee(employer_id=unit.id, full_name="Ngô Văn Mới")
    response = _confirmed(
        client,
        f"/employers/{unit.unit_code}/form-03",
        {"action": "add", "si_code": missing.si_code, "bank_code": "VCB", "bank_account": "0071000999999"},
    )
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert f"Đã bổ sung người có mã số BHXH {missing.si_code} vào danh sách" in page

    gone = _person(unit, "Lý Thị Đi")
    response = _confirmed(client, f"/employers/{unit.unit_code}/form-03", {"action": "remove", "si_code": _si(gone)})
    assert response.status_code == 302 and db.session.get(Claim, gone.id).state == "removed"

    wrong = _person(unit, "Mai Văn Sai", "awaiting_payment_details")
    response = _confirmed(
        client,
        f"/employers/{unit.unit_code}/form-03",
        {"action": "correct", "si_code": _si(wrong), "bank_code": "BIDV", "bank_account": "12345678901"},
    )
    assert response.status_code == 302
    claim = db.session.get(Claim, wrong.id)
    assert (claim.state, claim.bank_code, claim.bank_account) == ("approved", "BIDV", "12345678901")


@pytest.mark.parametrize(
    ("data", "field", "vi", "en"),
    [
        ({"si_code": "0100000001"}, "action-0", "Hãy chọn loại điều chỉnh.", "Choose the kind of adjustment."),
        (
            {"action": "remove", "si_code": "123456789"},
            "si_code",
            "Mã số BHXH gồm 10 chữ số (đang có 9 ký tự).",
            "The SI code has 10 digits (this one has 9 characters).",
        ),
        (
            {"action": "remove", "si_code": "0999999999"},
            "si_code",
            "Người này không có trong danh sách Mẫu số 01 của đơn vị",
            "This person is not on unit",
        ),
        (  # on the first field it asks for, not on the action (its link focused "Bổ sung", one arrow from a change)
            {"action": "correct", "si_code": "SELF"},
            "bank_code",
            "Hãy ghi thông tin mới: ngân hàng và số tài khoản, hoặc số điện thoại.",  # the browser's words
            "Give the new details: bank and account number, or phone.",
        ),
    ],
)
def test_form_03_bad_input_says_why_in_both_languages(client, unit, data, field, vi, en):
    listed = _person(unit, "Đinh Văn Có")
    data = {k: (_si(listed) if v == "SELF" else v) for k, v in data.items()}
    for locale, text in (("vi", vi), ("en", en)):
        client = _employer(client, unit, locale)
        response = client.post(f"/employers/{unit.unit_code}/form-03", data=data)
        page = _text(response)
        assert response.status_code == 400
        assert f'<a href="#{field}">{text}' in page
        # The message by the field too (a radio group's by its legend), read with it.
        shown = "action" if field.startswith("action-") else field
        assert re.search(rf'id="{shown}-error">(<span class="visually-hidden">[^<]*</span> )?{re.escape(text)}', page)
        if field == "bank_code":  # inside the bank details' fieldset, not above the action's choices
            assert page.index("<legend>", page.index('name="action"')) < page.index('id="bank_code-error"')
            assert 'id="action-error"' not in page
    assert db.session.get(Claim, listed.id).state == "listed"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (  # the review's case: three wrong values, three errors, not one per submit
            {"action": "correct", "si_code": "99", "bank_code": "VCB", "bank_account": "12ab", "phone": "abc"},
            {
                "si_code": ("Mã số BHXH gồm 10 chữ số (đang có 2 ký tự).", "The SI code has 10 digits"),
                "bank_account": ("Số tài khoản chỉ gồm chữ số", "The account number has digits only"),
                "phone": ("Số điện thoại gồm 10 hoặc 11 chữ số", "The phone number has 10 or 11 digits"),
            },
        ),
        (  # the form's own check (no action chosen) and the values' shape at once
            {"si_code": "12345", "reason": "x"},
            {
                "action-0": ("Hãy chọn loại điều chỉnh.", "Choose the kind of adjustment."),
                "si_code": ("Mã số BHXH gồm 10 chữ số (đang có 5 ký tự).", "The SI code has 10 digits"),
            },
        ),
    ],
)
def test_form_03_says_every_error_of_one_submit_at_once(client, unit, data, errors):
    """Every wrong value of one submit is said at once, each on its field, what was typed kept; a code typed in
    the web form hears what to type, never the spreadsheet's hint about leading zeros."""
    for index, locale in enumerate(("vi", "en")):
        client = _employer(client, unit, locale)
        response = client.post(f"/employers/{unit.unit_code}/form-03", data=data)
        page = _text(response)
        assert response.status_code == 400
        for field, words in errors.items():
            assert f'<a href="#{field}">{html.escape(words[index], quote=False)}' in page, field
        for name, value in data.items():
            if name not in ("action", "bank_code", "reason"):
                assert f'name="{name}"' in page and f'value="{value}"' in page
        assert "Excel" not in page.split('id="many-title"')[0]  # the file section's own hint speaks of Excel
    assert db.session.query(Claim).count() == 0


def test_form_03_after_its_deadline(client, unit, app, monkeypatch):
    listed = _person(unit, "Đinh Văn Muộn")
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-11")
    for locale, text in (
        ("vi", "Đã hết hạn điều chỉnh danh sách (Mẫu số 03) ngày 10/11/2021"),
        ("en", "The deadline for adjustments (Form 03) was 10/11/2021"),
    ):
        client = _employer(client, unit, locale)
        response = client.post(
            f"/employers/{unit.unit_code}/form-03", data={"action": "remove", "si_code": _si(listed)}
        )
        assert response.status_code == 400 and text in _text(response)
    assert db.session.get(Claim, listed.id).state == "listed"


# ------------------------------------------------------------------------------------------------ accessibility


class _Page(HTMLParser):
    """Every id on a page, every label's target, and every form control that needs a label."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.controls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if tag == "label" and values.get("for"):
            self.labelled.add(str(values["for"]))
        hidden = values.get("type") in ("hidden", "submit")
        if tag in ("input", "select", "textarea") and not hidden and not values.get("aria-label"):
            self.controls.append(str(values.get("id")))
        assert values.get("autocomplete") != "None", values


def test_every_page_has_unique_ids_and_every_control_a_label(client, unit, workforce):
    _person(unit, "Lê Thị Nhãn")
    client = _employer(client, unit)
    for path in ("", "/form-02", "/form-03", "/reductions"):
        page = _Page()
        page.feed(client.get(f"/employers/{unit.unit_code}{path}").get_data(as_text=True))
        assert sorted({i for i in page.ids if page.ids.count(i) > 1}) == [], path
        assert [c for c in page.controls if c not in page.labelled] == [], path


def test_offices_find_a_unit_by_its_code(client, unit, app):
    other = create_employer(district_code="760")
    caseworker = _signed_in(client, create_user("caseworker", district="017"))
    assert 'action="/units#units-found"' in _text(caseworker.get("/"))  # from the home page
    response = caseworker.get("/employers/", query_string={"unit": unit.unit_code})
    assert response.status_code == 302 and response.headers["Location"] == f"/employers/{unit.unit_code}"
    for code, vi, en in (
        (other.unit_code, f"Không tìm thấy đơn vị mã “{other.unit_code}” trong phạm vi của bạn.", "not found in your"),
        ("", "Hãy nhập mã đơn vị.", "Enter a unit code."),
    ):
        for locale, text in (("vi", vi), ("en", en)):
            caseworker = _signed_in(app.test_client(), create_user("caseworker", district="017"), locale)
            response = caseworker.get("/employers/", query_string={"unit": code})
            assert response.status_code == 400 and text in _text(response)


def test_the_status_page_shows_the_people_in_one_state_and_the_home_page_links_there(client, unit, workforce):
    """The people the unit must act on, without paging through everyone: the home page's count of people awaiting
    payment details leads to them."""
    employer = _employer(client, unit)
    home = employer.get("/").get_data(as_text=True)
    link = f"/employers/{unit.unit_code}?state=awaiting_payment_details"
    assert f'href="{link}"' in home
    page = _text(employer.get(link))
    assert "Nguyễn Thị Yến" in page and "Trần Thị Ánh" not in page and "1 người ở trạng thái này." in page
    assert _text(employer.get(f"/employers/{unit.unit_code}?state=paid")).count("Đã chi trả ngày") == 3
    none = _text(employer.get(f"/employers/{unit.unit_code}?state=payment_failed"))  # nobody: no search to retry
    assert "0 người ở trạng thái này." in none and "Hãy thử họ tên không dấu" not in none
    # The filter's states say how many are in each, before one is chosen.
    options = dict(re.findall(r'<option[^>]*value="(\w+)"[^>]*>([^<]+)</option>', none))
    assert options["awaiting_payment_details"].endswith("(1)") and options["paid"].endswith("(3)")
    assert options["payment_failed"].endswith("(0)")
    nonsense = employer.get(f"/employers/{unit.unit_code}?state=nonsense")
    assert nonsense.status_code == 400
    # WTForms' own words come in ours, in the page's language (they came in English on Vietnamese pages).
    assert "Hãy chọn một trong các lựa chọn có trên trang." in _text(nonsense) and "Not a valid" not in _text(nonsense)
    english = _employer(client, unit, "en").get(f"/employers/{unit.unit_code}?state=nonsense")
    assert "Choose one of the options on the page." in _text(english)


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", "Tài khoản nguồn không đủ số dư: lỗi phía ngân hàng, thông tin tài khoản không sai. Sẽ chuyển lại từ"),
        ("en", "Insufficient funds: the bank's side, not the account details. It will be paid again from"),
    ],
)
def test_a_person_paid_again_after_the_banks_failure_shows_when_and_no_form_03(client, unit, db_session, locale, words):
    from disburse.formatting import moment
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    claim = _person(unit, "Trịnh Văn Chờ", "payment_pending")
    payment = create_payment(claim, "sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "AM04")], source="poll")
    db_session.refresh(claim)
    assert claim.state == "approved" and claim.retry_after is not None
    at = moment(claim.retry_after)  # dd/mm/yyyy HH:MM:SS, Vietnam's time
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", at)

    text = html.unescape(_text(_employer(client, unit, locale).get(f"/employers/{unit.unit_code}?q={_si(claim)}")))

    row = re.search(r"<tr>(?:(?!</tr>).)*Trịnh Văn Chờ.*?</tr>", text).group(0)
    assert f"{words} {at}" in row
    assert "Mẫu số 03" not in row and "Form 03" not in row


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_refused_persons_row_links_to_their_notice_which_the_unit_may_print(client, unit, db_session, locale):
    """The unit hands the refusal notice to the person (it is written to them); a link on their row opens it, the
    other rows have none."""
    from disburse.verification import review

    caseworker = create_user("caseworker", district=unit.district_code)
    refused = _person(unit, "Lê Thị Hồng", "needs_review", reasons=["zero_months"])
    review.reject(refused.id, caseworker, "not_employed_on_cutoff", "Đã nghỉ việc từ tháng 8/2021.")
    _person(unit, "Lê Văn Khang", "employer_confirmed")
    client = _employer(client, unit, locale)
    page = _text(client.get(f"/employers/{unit.unit_code}"))
    link = f'href="/api/v1/claims/{refused.id}/notice"'
    assert page.count("/notice") == 1
    row = re.search(r"<tr>(?:(?!</tr>).)*Lê Thị Hồng(?:(?!</tr>).)*</tr>", page, re.S)
    assert row is not None and link in row.group(0)
    words = {"vi": "Thông báo không giải quyết hỗ trợ của Lê Thị Hồng", "en": "Refusal notice for Lê Thị Hồng"}
    assert words[locale] in row.group(0)
    notice = client.get(f"/api/v1/claims/{refused.id}/notice")
    assert notice.status_code == 200 and "Lê Thị Hồng" in notice.get_data(as_text=True)


def test_an_account_number_excel_damaged_is_refused_saying_how(client, unit, tmp_path):
    """Excel's ways of spoiling an account number, each refused on its row with what happened: a 16-digit number cell
    (Excel keeps 15 digits: the last became 0), a number cell that may have lost its leading zeros, and the
    scientific notation it writes into a CSV (3.86679E+12: the digits are gone)."""
    listed = [_person(unit, f"Vũ Văn {n}") for n in ("Một", "Hai", "Ba")]
    client = _employer(client, unit, "en")
    book = openpyxl.Workbook()
    book.active.append(["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)"])
    book.active.append([_si(listed[0]), "VCB", 1234567890123460])
    book.active.append([_si(listed[1]), "VCB", 71000123456])
    book.active.append([_si(listed[2]), "VCB", "3.86679E+12"])
    path = tmp_path / "mau02.xlsx"
    book.save(path)
    response = client.post(
        f"/employers/{unit.unit_code}/form-02/upload",
        data={"file": (path.open("rb"), "mau02.xlsx")},
        content_type="multipart/form-data",
    )
    page = html.unescape(_text(response))
    assert response.status_code == 200
    assert "Excel keeps only 15 digits, so its last digits may have become zeros" in page
    assert "given as a number, so its leading zeros may be lost" in page
    assert "Excel wrote the account number in scientific notation (3.86679E+12), so its digits are lost" in page
    assert "6 to 19 digits" not in page  # not told a format it cannot see the fault in
    assert {db.session.get(Claim, c.id).state for c in listed} == {"listed"}


def test_form_02_in_the_browser_names_whose_row_each_error_is_in_the_summary(client, unit):
    """Three people's rows with the same mistake: the summary at the top said the same sentence three times, naming
    nobody; each entry names the person and their SI code now, after the page's heading."""
    people = [_person(unit, name) for name in ("Lê Khánh Anh", "Trần Văn Bảo", "Ngô Thị Chi")]
    client = _employer(client, unit)
    data = {}
    for n, claim in enumerate(people):
        data |= {f"rows-{n}-si_code": _si(claim), f"rows-{n}-choice": "bank", f"rows-{n}-bank_code": ""}
    response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200  # the page again, with each refused row's error
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    for claim in people:
        name = db.session.get(Employee, claim.employee_id).full_name
        assert re.search(rf'<a href="#rows-\d-bank_code">{name} \({_si(claim)}\): ', summary), summary
    assert page.index("<h1>") < page.index('class="error-summary"')
    assert {db.session.get(Claim, c.id).state for c in people} == {"listed"}


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", "Người lao động đến cơ quan BHXH huyện Đông Anh để nhận tiền mặt"),
        ("en", "The person collects the cash at the social security office of Huyện Đông Anh"),
    ],
)
def test_a_person_paid_in_cash_shows_where_they_collect_it(client, unit, locale, words):
    """The unit tells its people: a cash payment waits at the office (the row said only "Cash at the office")."""
    cash = _person(unit, "Đinh Văn Tiền", "payment_pending", payout="cash", bank_code=None, bank_account=None)
    bank = _person(unit, "Đinh Văn Khoản", "payment_pending")
    page = _text(_employer(client, unit, locale).get(f"/employers/{unit.unit_code}"))
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{_si(cash)}.*?</tr>", page).group(0)
    assert words in row
    # The payment column names the office too, as the status file does.
    cash_at = (
        "Cash at the social security office of Huyện Đông Anh"
        if locale == "en"
        else "Tiền mặt tại cơ quan BHXH huyện Đông Anh"
    )
    assert cash_at in row
    other = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{_si(bank)}.*?</tr>", page).group(0)
    assert words not in other


def test_a_request_whose_claim_was_decided_meanwhile_is_answered_no_more(client, app, unit):
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.verification import review

    caseworker = create_user("caseworker", district=unit.district_code)
    an = _person(unit, "Phạm Văn An", "needs_review")
    review.request_info(an.id, caseworker, "employer", "Bản sao quyết định nghỉ việc")
    request_id = db.session.scalar(
        select(ClaimEvent.id).where(ClaimEvent.claim_id == an.id, ClaimEvent.action == "request_info")
    )
    employer = _employer(client, unit)
    link = f"/employers/{unit.unit_code}/requests/{request_id}"
    assert employer.get(link).status_code == 200
    claims.transition(an.id, ClaimAction.REJECT, caseworker, reason="Không đủ điều kiện")
    db.session.commit()
    sent = employer.post(link, data={"answer": "Đã gửi."}, follow_redirects=True)
    assert sent.status_code == 200 and "không cần bổ sung thông tin nữa" in _text(sent)
    assert not db.session.scalars(select(ClaimEvent).where(ClaimEvent.action == "answer_info")).all()


def test_after_form_03_closed_the_form_02_page_offers_no_file_when_nobody_waits(client, unit, app, monkeypatch):
    """Once the list can no longer change and nobody waits for the unit's confirmation, every row of a Form 02 file
    would be refused or change nothing: the page says so instead of offering the upload. Someone still waiting keeps
    it offered."""
    _person(unit, "Trần Thị Ánh", "employer_confirmed")
    employer = _employer(client, unit)
    upload = f'action="/employers/{unit.unit_code}/form-02/upload"'
    said = "Không còn ai chờ đơn vị xác nhận, và danh sách không còn được điều chỉnh (Mẫu số 03 đã hết hạn ngày "
    said += "10/11/2021)"
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-10")  # Form 03's last day: still offered
    page = _text(employer.get(f"/employers/{unit.unit_code}/form-02"))
    assert upload in page and said not in page

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-11")
    page = _text(employer.get(f"/employers/{unit.unit_code}/form-02"))
    assert upload not in page and said in page

    _person(unit, "Phạm Văn An", "listed", review_due_on=date(2021, 10, 28))  # still waits: a late Form 02 is taken
    page = _text(employer.get(f"/employers/{unit.unit_code}/form-02"))
    assert upload in page and said not in page
