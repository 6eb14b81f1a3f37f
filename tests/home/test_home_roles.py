"""The home page shows each role what needs them today: an employer their unit and its deadlines, a caseworker their
district's review queue, supervisors and admins every programme's completion."""

from __future__ import annotations

import re
from datetime import date

import pytest

from disburse.extensions import db
from tests.factories import create_cash_payment, create_claim, create_employee, create_employer, create_user


@pytest.fixture
def today(app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")  # a Monday


def _as(client, user, locale="vi"):
    user.locale = locale
    db.session.flush()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    return client


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _claim(unit, state, **values):
    employee = create_employee(employer_id=unit.id, district_code=unit.district_code)
    return create_claim(state, employee=employee, **values)


def test_an_employer_sees_their_unit_and_its_deadlines(client, db_session, today):
    unit = create_employer(name="Công ty Cổ phần Dệt Thử")
    for state in ("paid", "paid", "approved"):
        _claim(unit, state)
    _claim(unit, "listed", review_due_on=date(2021, 10, 26))
    _claim(create_employer(), "paid")  # another unit's: not counted
    user = create_user("employer", employer_unit=unit.unit_code)
    page = _page(_as(client, user))
    assert "Công ty Cổ phần Dệt Thử" in page
    assert "2 / 4</strong> đã chi trả, 50,0%" in page
    assert "Hạn gửi Mẫu số 02: 26/10/2021, còn 1 ngày làm việc." in page
    assert "Hạn gửi Mẫu số 03 (điều chỉnh): 10/11/2021, còn 12 ngày làm việc." in page
    assert f'href="/employers/{unit.unit_code}"' in page
    assert "Tiến độ chi trả" not in page  # not the programme's table
    assert "/api/v1/health" not in page and "/admin/health" not in page  # the system's state is the admins'
    page = _page(_as(client, user, "en"))
    assert "2 / 4</strong> paid, 50.0%" in page
    assert "Form 02 due on 26/10/2021, 1 working day left." in page
    assert "VND 4,200,000" in page


def test_a_caseworker_sees_their_districts_queue(app, client, db_session, today):
    near, far = create_employer(district_code="017"), create_employer(district_code="760")
    for unit, state in (
        (near, "needs_review"),
        (near, "needs_review"),
        (far, "needs_review"),
    ):
        _claim(unit, state)
    # Units past their Form 02 deadline: one whose person still waits, one whose person the office checks without
    # it (verification takes an overdue claim on at once, in review only for that: a late Form 02 still confirms
    # the person); another district's is not counted.
    late = {"review_due_on": date(2021, 10, 20), "reasons": ["not_confirmed_by_employer"]}
    _claim(near, "employer_overdue", review_due_on=date(2021, 10, 20))
    _claim(create_employer(district_code="017"), "needs_review", **late)
    _claim(far, "needs_review", **late)
    user = create_user("caseworker", district="017")
    page = _page(_as(client, user))
    assert "Hồ sơ chờ xác minh: Huyện Đông Anh" in page
    in_review = '<dd id="needs-review-count"><a href="/caseworker/queue?state=needs_review">3</a></dd>'
    assert f"<dt>Cần xác minh</dt>{in_review}" in page
    assert (
        '<dt>Đơn vị quá hạn xác nhận</dt><dd id="overdue-units-count">'
        '<a href="/dashboard/backlog#overdue-title">2</a></dd>'
    ) in page
    assert '<a href="/caseworker/queue">Mở danh sách hồ sơ cần xác minh</a>' in page
    # The office's other daily work, from the home page as from the queue's shortcuts: a person at the desk, the cash
    # desk, the people to reach.
    desk = page.split('id="desk-links"', 1)[1].split("</p>", 1)[0]
    assert re.findall(r'href="([^"]+)"', desk) == [
        "/caseworker/applications/new",
        "/caseworker/cash-desk",
        "/caseworker/outreach",
    ]
    page = _page(_as(client, user, "en"))
    assert f"<dt>Needs review</dt>{in_review}" in page


def test_a_caseworker_sees_who_waits_for_bank_details_and_for_cash_at_the_office(app, client, db_session, today):
    """Two piles of work the queue's needs-review count leaves out: people whose payment failed and who must send new
    details, and people on the office's cash list, each linked to where the work is done; another district's not
    counted."""
    near, far = create_employer(district_code="017"), create_employer(district_code="760")
    for unit in (near, near, far):
        _claim(unit, "awaiting_payment_details")
    for unit in (near, far):
        create_cash_payment(employee=create_employee(employer_id=unit.id, district_code=unit.district_code))
    page = _page(_as(client, create_user("caseworker", district="017")))
    assert (
        '<dt>Chờ bổ sung thông tin tài khoản</dt><dd id="awaiting-details-count">'
        '<a href="/caseworker/queue?state=awaiting_payment_details">2</a></dd>'
    ) in page
    assert (
        '<dt>Chờ nhận tiền mặt tại cơ quan BHXH</dt><dd id="cash-waiting-count">'
        '<a href="/caseworker/cash-desk">1</a></dd>'
    ) in page


def test_the_queue_link_appears_once_the_queue_page_exists(app, client, db_session, today, monkeypatch):
    from disburse.home import views

    monkeypatch.setattr(views, "QUEUE_ENDPOINT", "auth.account")  # any page that exists stands in for the queue
    page = _page(_as(client, create_user("caseworker", district="017")))
    assert '<a href="/account">Mở danh sách hồ sơ cần xác minh</a>' in page


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_the_programmes(client, db_session, role):
    page = _page(_as(client, create_user(role)))
    assert "Tiến độ chi trả" in page and "(NQ116)" in page
    assert ('href="/admin/health"' in page) is (role == "admin")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_province_supervisor_reads_their_provinces_progress_and_others_the_countrys_named(client, db_session, locale):
    """A province's supervisor read the country's figures under a bare "Payment progress": their province's now,
    named; a national supervisor's are the country's, named so."""
    hanoi = create_employer(district_code="017")
    saigon = create_employer(district_code="760")
    for unit, state in ((hanoi, "paid"), (hanoi, "approved"), (saigon, "paid"), (saigon, "paid"), (saigon, "paid")):
        _claim(unit, state)
    page = _page(_as(client, create_user("supervisor", province="01"), locale))
    row = re.search(r"<tbody><tr>(.*?)</tr></tbody>", page, re.S)
    assert row is not None
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
    assert cells[1:4] == ["2", "2", "1"], cells  # Hà Nội's listed, eligible, paid: not the country's 5, 5, 4
    named = {"vi": "Tiến độ chi trả: Thành phố Hà Nội", "en": "Payment progress: Thành phố Hà Nội"}[locale]
    assert named in page
    client.post("/logout")
    country = _page(_as(client, create_user("supervisor"), locale))
    assert {"vi": "Tiến độ chi trả: Toàn quốc", "en": "Payment progress: The whole country"}[locale] in country
