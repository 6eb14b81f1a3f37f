"""The outreach list: group B people of the district without a claim and the district's claims awaiting payment
details, with the contact log; in both languages; filtered; exported as CSV and XLSX; scoped."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest

from disburse.casework.models import PersonContact
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_payment, create_person, create_user

DONG_ANH, QUAN_1 = "017", "760"


def _stopped(**overrides):
    values = {"ui_status": "stopped", "ui_stopped_on": date(2021, 5, 1), "employer_id": None, "district_code": DONG_ANH}
    return create_person(**{**values, **overrides})


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


@pytest.fixture
def people(db_session):
    return {
        "waiting": _stopped(phone="0912000111"),
        "no_phone": _stopped(phone=None),
        "outside_window": _stopped(ui_stopped_on=date(2019, 5, 1)),
        "pension": _stopped(pension_decision=True),
        "applied": _stopped(),
        "far": _stopped(district_code=QUAN_1),
    }


@pytest.mark.parametrize(("locale", "title"), [("vi", "Danh sách liên hệ"), ("en", "Outreach list")])
def test_group_b_people_without_an_application(client, caseworker, people, locale, title):
    create_claim("applied", employee=people["applied"])
    sign_in(client, caseworker, locale)

    response = client.get("/caseworker/outreach")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<h1 id="outreach-title">{title}</h1>' in html
    shown = {key for key, person in people.items() if person.si_code in html}
    assert shown == {"waiting", "no_phone"}
    response = client.get("/caseworker/outreach?kind=no_application&with_phone=y")
    html = response.get_data(as_text=True)
    assert {key for key, person in people.items() if person.si_code in html} == {"waiting"}


def test_claims_awaiting_details_with_their_contact_log(client, caseworker):
    claim = create_claim("awaiting_payment_details")
    create_claim("awaiting_payment_details", employee=create_employee(district_code=QUAN_1))
    review.log_contact(claim.id, caseworker, "phone", "no_answer")
    review.log_contact(claim.id, caseworker, "phone", "reached")
    sign_in(client, caseworker, "en")

    response = client.get("/caseworker/outreach?kind=awaiting_details")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/caseworker/claims/{claim.id}"' in html and html.count('href="/caseworker/claims/') == 2
    assert "Reached" in html and f"/caseworker/claims/{claim.id}/contact" in html


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", ("1 lần: Tài khoản người nhận đã đóng", "Đề nghị nhận tiền mặt tại cơ quan BHXH")),
        ("en", ("1 time: The payee&#39;s account is closed", "Offer cash at the social security office")),
    ],
)
def test_the_awaiting_details_list_says_why_the_money_did_not_arrive_and_when_to_offer_cash(
    client, caseworker, locale, words
):
    """What a caller needs before ringing: how many payments failed, why the last did, and whether cash is due."""
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    once = create_payment(state="sent")
    closed = StatusUpdate(once.provider_reference, ProviderStatus.REJECTED, reason_code="rjct.payee_fa.closed")
    apply_updates("sandbox", [closed], source="poll")
    many = create_claim("awaiting_payment_details", payment_failures=3)
    sign_in(client, caseworker, locale)

    html = client.get("/caseworker/outreach?kind=awaiting_details").get_data(as_text=True)
    rows = {int(i): row for i, row in re.findall(r'href="/caseworker/claims/(\d+)"(.*?)</tr>', html, re.S)}
    assert words[0] in rows[once.claim_id] and words[1] not in rows[once.claim_id]
    assert words[1] in rows[many.id]

    export = client.get("/caseworker/outreach/export?kind=awaiting_details&format=csv")
    lines = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert lines[0][5:8] == [
        "Số hồ sơ / Claim",
        "Chi trả không thành công / Failed payments",
        "Lý do lần gần nhất / Latest failure",
    ]
    [line] = [line for line in lines[1:] if line[5] == str(once.claim_id)]
    assert line[6:8] == ["1", "Tài khoản người nhận đã đóng / The payee's account is closed"]


def test_export_csv_and_xlsx(client, caseworker, people):
    create_claim("applied", employee=people["applied"])
    sign_in(client, caseworker)
    response = client.get("/caseworker/outreach/export?kind=no_application&format=csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã số BHXH / SI code", "Họ và tên / Full name"]
    assert {row[0] for row in rows[1:]} == {people["waiting"].si_code, people["no_phone"].si_code}
    assert [row[3] for row in rows[1:] if row[0] == people["waiting"].si_code] == ["0912000111"]

    response = client.get("/caseworker/outreach/export?kind=no_application&format=xlsx&with_phone=y")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in values[1:]] == [people["waiting"].si_code]


@pytest.mark.parametrize(
    ("locale", "query", "message"),
    [
        ("vi", "kind=everyone", "Hãy chọn một trong các lựa chọn có trên trang."),
        ("en", "kind=everyone", "Choose one of the options on the page."),
        ("en", "format=pdf&kind=no_application", "Choose one of the options on the page."),
    ],
)
def test_bad_filters(client, caseworker, locale, query, message):
    sign_in(client, caseworker, locale)
    response = client.get(f"/caseworker/outreach?{query}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_scope(client, people):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    sign_in(client, supervisor)
    assert client.get("/caseworker/outreach").status_code == 200  # asks for a district first
    assert people["waiting"].si_code in client.get("/caseworker/outreach?district=017").get_data(as_text=True)
    assert client.get(f"/caseworker/outreach?district={QUAN_1}").status_code == 404
    assert client.get(f"/caseworker/outreach/export?district={QUAN_1}").status_code == 404
    assert client.get("/caseworker/outreach?district=999").status_code == 404
    client.post("/logout")
    sign_in(client, create_user("employer", password=PASSWORD))
    assert client.get("/caseworker/outreach").status_code == 403


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_group_b_persons_contact_attempts_are_logged_and_listed(client, caseworker, people, locale):
    """People with no claim have their own contact log: the list counts it, shows the last outcome, and the export
    carries it; the person's page lists every attempt."""
    en = locale == "en"
    sign_in(client, caseworker, locale)
    person = people["waiting"]
    url = f"/caseworker/people/{person.id}/contact"
    page = client.get("/caseworker/outreach").get_data(as_text=True)
    assert f'href="{url}"' in page

    refused = client.post(url, data={"channel": "phone"})
    assert refused.status_code == 422
    assert ("Choose the outcome" if en else "Hãy chọn kết quả liên hệ.") in refused.get_data(as_text=True)
    assert client.post(url, data={"channel": "phone", "outcome": "no_answer"}).status_code == 302
    answer = client.post(url, data={"channel": "home_visit", "outcome": "reached", "note": "Hẹn nộp Mẫu 04 thứ Hai"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/caseworker/outreach?kind=no_application")

    page = client.get("/caseworker/outreach").get_data(as_text=True)
    row = page[page.index(person.si_code) :].split("</tr>")[0]
    assert re.search(r"\s2 · \d\d/\d\d/20\d\d: " + ("Reached" if en else "Đã liên hệ được"), row), row
    details = client.get(url).get_data(as_text=True)
    assert details.count("<tr><td>") == 2 and "Hẹn nộp Mẫu 04 thứ Hai" in details
    assert ("Home visit" if en else "Đến tận nhà") in details

    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/caseworker/outreach/export?kind=no_application&format=csv").get_data().decode("utf-8-sig")
            )
        )
    )
    mine = next(r for r in rows if r[0] == person.si_code)
    assert mine[8] == "2" and mine[10] == "Đã liên hệ được / Reached"


def test_a_persons_contact_sent_twice_is_recorded_once_and_a_later_call_again(client, caseworker, people):
    """A double click or the back button sent the form twice: two attempts at the same second, the list's count up
    by two. The same outcome after the page is opened again is another call, and counts."""
    sign_in(client, caseworker)
    url = f"/caseworker/people/{people['waiting'].id}/contact"

    def seen() -> str:
        found = re.search(r'name="seen" type="hidden" value="(\d*)"', client.get(url).get_data(as_text=True))
        assert found is not None
        return found.group(1)

    data = {"channel": "phone", "outcome": "no_answer", "note": "Gọi lúc 9 giờ"}
    shown = seen()
    assert shown == ""  # no attempt yet
    for _ in range(2):
        assert client.post(url, data={**data, "seen": shown}).status_code == 302
    assert client.get(url).get_data(as_text=True).count("<tr><td>") == 1
    assert client.post(url, data={**data, "seen": seen()}).status_code == 302  # called again, the same outcome
    assert client.get(url).get_data(as_text=True).count("<tr><td>") == 2


def test_a_persons_contact_page_is_scoped_and_a_person_with_a_claim_goes_to_the_claim(client, caseworker, people):
    sign_in(client, caseworker)
    assert client.get(f"/caseworker/people/{people['far'].id}/contact").status_code == 404  # another district
    assert (
        client.post(
            f"/caseworker/people/{people['far'].id}/contact", data={"channel": "sms", "outcome": "reached"}
        ).status_code
        == 404
    )
    assert client.get("/caseworker/people/999999999/contact").status_code == 404
    claim = create_claim("applied", employee=people["applied"])
    answer = client.get(f"/caseworker/people/{people['applied'].id}/contact")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/caseworker/claims/{claim.id}/contact")
    assert db.session.query(PersonContact).count() == 0
    client.post("/logout")
    sign_in(client, create_user("employer", password=PASSWORD))
    assert client.get(f"/caseworker/people/{people['waiting'].id}/contact").status_code == 403


def test_the_contact_log_is_append_only(db_session, caseworker, people):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from disburse.casework import outreach
    from tests.factories import nq116

    contact = outreach.log_contact(nq116().id, people["waiting"], caseworker, "phone", "reached", None)
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text("UPDATE person_contacts SET outcome = 'no_answer' WHERE id = :i"), {"i": contact.id})


def test_a_contact_typed_while_the_person_got_a_claim_is_kept_and_goes_on_the_claim(client, caseworker, people):
    """The page was opened when the person had no claim; a Form 04 made one meanwhile. The attempt typed was lost
    without a word (a redirect to the claim's empty form): it is now shown again with what was typed, saying why, on a
    form that records it on the claim."""
    sign_in(client, caseworker)
    person = people["waiting"]
    url = f"/caseworker/people/{person.id}/contact"
    shown = re.search(r'name="seen" type="hidden" value="(\d*)"', client.get(url).get_data(as_text=True))
    claim = create_claim("applied", employee=person)
    typed = {"channel": "phone", "outcome": "reached", "note": "Hẹn nộp giấy tờ thứ Hai", "seen": shown.group(1)}
    kept = client.post(url, data=typed)
    page = kept.get_data(as_text=True)
    assert kept.status_code == 409 and f"Người này vừa có hồ sơ số {claim.id}" in page
    assert "Hẹn nộp giấy tờ thứ Hai" in page and f'action="/caseworker/claims/{claim.id}/contact"' in page
    assert db.session.query(PersonContact).count() == 0
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', page)
    sent = client.post(f"/caseworker/claims/{claim.id}/contact", data={**typed, "seen": seen.group(1)})
    assert sent.status_code == 302
    notes = [e for e in review.timeline(claim.id, caseworker) if e["action"] == "contact"]
    assert [n["data"]["note"] for n in notes] == ["Hẹn nộp giấy tờ thứ Hai"]
