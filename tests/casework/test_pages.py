"""The caseworker's pages through the Flask test client on real PostgreSQL: every page's status, title and key content
in Vietnamese and English; every form's bad input with its visible, specific message in both languages; scope
(another district's claim is a 404, an employer a 403, signed out the sign-in page); the queue's filters, counts per
reason, keyset pages and "assign the next 20 to me"."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from wtforms.fields.core import UnboundField

from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import BANK_ACCOUNT_MESSAGE
from disburse.claims.states import ClaimAction
from disburse.claims.support import reason_entries
from disburse.extensions import db
from disburse.payments import service as payments
from disburse.payments.cash import CashProvider
from disburse.payments.models import Payment
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.reference.models import District
from disburse.registry.codes import UNIT_CODE_WORDS
from disburse.registry.models import Employee
from tests.conftest import PASSWORD, sign_in
from tests.factories import (
    PAYING_DAY,
    create_cash_payment,
    create_claim,
    create_duplicate_group,
    create_employee,
    create_employer,
    create_offer,
    create_payment,
    create_user,
)
from tests.test_bank_names_cut_short import SAI_GON_BANKS

#: These tests approve and pay: the programme clock is a day of its payment period (the real one is past it).
pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH, QUAN_1 = "017", "760"


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


@pytest.fixture
def signed_in(client, caseworker):
    sign_in(client, caseworker)
    return client


def _text(response) -> str:
    """The page's text without tags, spaces collapsed (what a person reads)."""
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _title(response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    assert found
    return re.sub(r"\s+", " ", found.group(1)).strip()


def _events(claim_id: int) -> list[ClaimEvent]:
    return list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)))


# --------------------------------------------------------------------------------------------------------- queue


@pytest.mark.parametrize(
    ("locale", "title", "words"),
    [
        ("vi", "Hàng chờ xử lý hồ sơ", ["Số hồ sơ theo lý do", "Nhận 20 hồ sơ tiếp theo", "Cần xác minh"]),
        ("en", "Work queue", ["Claims per reason", "Assign the next 20 to me", "Needs review"]),
    ],
)
def test_the_queue_shows_the_districts_claims_with_counts_per_reason(client, caseworker, locale, title, words):
    mine = create_duplicate_group("needs_review")
    zero = create_claim("needs_review", reasons=["zero_months"])
    far = create_duplicate_group("needs_review", districts=(QUAN_1, QUAN_1))
    sign_in(client, caseworker, locale)

    response = client.get("/caseworker/queue")

    assert response.status_code == 200
    assert _title(response).startswith(title)
    text = _text(response)
    for word in words:
        assert word in text
    assert "Huyện Đông Anh" in text and "017 ·" not in text  # the district by its name
    html = response.get_data(as_text=True)
    for claim in (*mine, zero):
        assert f'href="/caseworker/claims/{claim.id}"' in html
    for claim in far:
        assert f'href="/caseworker/claims/{claim.id}"' not in html
    duplicate = "Cùng số CMND/CCCD" if locale == "vi" else "The same national ID"
    assert re.search(re.escape(duplicate) + r"[^<]*</a>\s*</td>\s*<td class=\"num\">2</td>", html)


def test_the_queue_filters_by_reason_track_employer_assignee_and_age(signed_in, caseworker, monkeypatch, app):
    unit = create_employer(district_code=DONG_ANH)
    at_unit = create_claim("needs_review", employee=create_employee(employer_id=unit.id), reasons=["zero_months"])
    other = create_claim("needs_review", reasons=["bank_details_missing"])
    track_b = create_claim("needs_review", track="B", reasons=["zero_months"])
    ids = {at_unit.id, other.id, track_b.id}

    def shown(query: str) -> set[int]:
        response = signed_in.get(f"/caseworker/queue?{query}")
        assert response.status_code == 200
        found = {int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', response.get_data(as_text=True))}
        return found & ids

    assert shown("") == ids
    assert shown("reason=zero_months") == {at_unit.id, track_b.id}
    assert shown("track=B") == {track_b.id}
    assert shown(f"employer={unit.unit_code}") == {at_unit.id}
    assert shown("assigned=me") == set()
    assert shown("assigned=none") == ids
    # Received today: none is 3 working days old; seen from a week later, all are.
    assert shown("age=3") == set()
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2099-01-15")
    assert shown("age=3") == ids


@pytest.mark.parametrize(
    ("locale", "query", "message"),
    [
        ("vi", "age=abc", "Số ngày làm việc từ 0 đến 999."),
        ("en", "age=abc", "Give a number of working days from 0 to 999."),
        ("vi", "age=5000", "Số ngày làm việc từ 0 đến 999."),
        ("vi", "employer=%3Cscript%3E", UNIT_CODE_WORDS[0]),
        ("en", "employer=%3Cscript%3E", UNIT_CODE_WORDS[1]),
        ("en", "employer=AB%2F12", UNIT_CODE_WORDS[1]),  # no unit page could open it
        ("vi", "reason=nonsense", "Hãy chọn một trong các lựa chọn có trên trang."),
        ("en", "track=C", "Choose one of the options on the page."),
        ("en", "after=-1", "Give a whole number."),
        ("vi", "employer=ZZ99999999", "Không có đơn vị mã ZZ99999999 trong phạm vi của bạn."),
        ("en", "employer=ZZ99999999", "There is no unit with code ZZ99999999 in your scope."),
    ],
)
def test_bad_filters_are_named_above_the_form(client, caseworker, locale, query, message):
    sign_in(client, caseworker, locale)
    response = client.get(f"/caseworker/queue?{query}")
    assert response.status_code == 422
    text = _text(response)
    assert ("Có lỗi cần sửa" if locale == "vi" else "There is a problem") in text
    field = query.split("=")[0]
    if field == "after":  # the keyset is not a field on the page: said above it only
        assert text.count(message) == 1
    else:
        assert text.count(message) == 2  # in the summary (a link to the field) and beside the field
        assert f'href="#{field}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_a_filter_outside_the_scope_is_answered_as_an_unknown_one(client, db_session, role):
    """A unit (or, for a supervisor, a district) outside the user's scope gets the page an unknown one gets, word for
    word: the queue's filters do not tell which codes exist, nor where."""
    user = create_user(
        role, password=PASSWORD, **({"district": DONG_ANH} if role == "caseworker" else {"province": "01"})
    )
    elsewhere = create_employer(district_code=QUAN_1)  # Hồ Chí Minh City
    sign_in(client, user, "en")
    queries = [("employer", elsewhere.unit_code, "ZZ99999999")]
    if role == "supervisor":
        queries.append(("district", QUAN_1, "999"))
    for field, outside, unknown in queries:
        seen = client.get(f"/caseworker/queue?{field}={outside}")
        missing = client.get(f"/caseworker/queue?{field}={unknown}")
        assert seen.status_code == missing.status_code == 422
        said = f"There is no {'unit' if field == 'employer' else 'district'} with code"

        def errors(page: str, code: str) -> list[str]:
            return [e.replace(code, "X") for e in re.findall(r'class="error-message"[^>]*>(.*?)</p>', page, re.S)]

        assert errors(seen.get_data(as_text=True), outside) == errors(missing.get_data(as_text=True), unknown)
        assert said in _text(seen)


def test_the_queue_pages_by_keyset(signed_in, monkeypatch):
    from disburse.casework import views

    monkeypatch.setattr(views, "PAGE", 2)
    claims = [create_claim("needs_review", reasons=["zero_months"]) for _ in range(5)]
    ids = [c.id for c in claims]
    seen: list[int] = []
    url = "/caseworker/queue?reason=zero_months"
    for _ in range(5):
        response = signed_in.get(url)
        html = response.get_data(as_text=True)
        page = [int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', html)]
        assert len(page) <= 2
        seen += page
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        if nxt is None:
            break
        url = nxt.group(1).replace("&amp;", "&")
        assert "reason=zero_months" in url and f"after={page[-1]}" in url  # the filters go on to the next page
    assert seen == sorted(seen) and set(ids) <= set(seen) and len(seen) == len(set(seen))

    # And back, page by page (the queue paged forward only: "first page", "next"), to the first, which has none.
    pages_back: list[list[int]] = []
    for _ in range(5):
        html = signed_in.get(url).get_data(as_text=True)
        pages_back.append([int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', html)])
        previous = re.search(r'href="([^"]+)" rel="prev"', html)
        if previous is None:
            break
        url = previous.group(1).replace("&amp;", "&")
        assert "reason=zero_months" in url and f"before={pages_back[-1][0]}" in url and "after=" not in url
    assert [claim for page in reversed(pages_back) for claim in page] == seen
    assert [len(page) for page in pages_back] == [len(seen) - 4, 2, 2]


def test_every_link_of_the_queue_keeps_the_filters_as_the_page_read_them(signed_in, app, monkeypatch):
    """A filter left empty on purpose means something when its default is not empty: "every state" is not the
    state's default, "needs review". The next page, the first page and the counts per reason keep every filter as
    the page read it (each field, whatever its default), so "every state" is still every state on page 2."""
    from urllib.parse import parse_qsl, urlsplit

    from werkzeug.datastructures import MultiDict

    from disburse.casework import views
    from disburse.casework.forms import QueueFilterForm

    monkeypatch.setattr(views, "PAGE", 2)
    made = [create_claim(state, reasons=["zero_months"]) for state in ["needs_review"] * 3 + ["approved"] * 3]
    names = [name for name in QueueFilterForm.__dict__ if isinstance(getattr(QueueFilterForm, name), UnboundField)]
    names.remove("after")
    assert "state" in names and len(names) >= 7

    def meaning(query: str) -> dict[str, object]:
        with app.test_request_context():
            form = QueueFilterForm(MultiDict(parse_qsl(query, keep_blank_values=True)))
            return {name: form[name].data or None for name in names}

    url = "/caseworker/queue?" + "&".join(f"{name}=" for name in names)  # every filter empty: "every …"
    asked = meaning(urlsplit(url).query)
    assert asked["state"] is None
    seen: list[int] = []
    for n in range(5):
        html = signed_in.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', html)]
        links = {"next": re.search(r'href="([^"]+)" rel="next"', html)}
        links["first page"] = re.search(r'<a href="([^"]+)">Về trang đầu</a>', html)
        links["reason"] = re.search(r'<td><a href="([^"]+)"', html)
        assert links["reason"] and (links["first page"] or n == 0)
        for what, link in links.items():
            if link is not None:
                query = urlsplit(link.group(1).replace("&amp;", "&")).query
                expected = {**asked, "reason": "zero_months"} if what == "reason" else asked
                assert meaning(query) == expected, what
        if links["next"] is None:
            break
        url = links["next"].group(1).replace("&amp;", "&")
    assert seen == sorted(c.id for c in made)  # the approved ones too, on the later pages


def test_assign_the_next_20_to_me(signed_in, caseworker):
    waiting = [create_claim("needs_review", reasons=["zero_months"]) for _ in range(22)]
    far = create_duplicate_group("needs_review", districts=(QUAN_1, QUAN_1))[0]

    taken = signed_in.post("/caseworker/queue/assign-next")
    # Back to the list of the cases taken, the keyboard at the first of them (it was 27 Tabs from the page's top).
    assert taken.headers["Location"] == "/caseworker/queue?assigned=me&state=needs_review#first-case"
    response = signed_in.get(taken.headers["Location"])

    assert response.status_code == 200
    assert "Đã giao cho bạn 20 hồ sơ." in _text(response)
    first = re.search(r'<a href="/caseworker/claims/(\d+)" id="first-case">', response.get_data(as_text=True))
    assert first and int(first.group(1)) in [c.id for c in waiting]
    held = db.session.scalars(select(Claim.id).where(Claim.assigned_to_id == caseworker.id)).all()
    assert sorted(held) == sorted(c.id for c in waiting)[:20]
    assert db.session.get(Claim, far.id).assigned_to_id is None
    html = response.get_data(as_text=True)
    assert len(re.findall(r'href="/caseworker/claims/(\d+)"', html)) == 20  # the page now shows "mine"
    more = signed_in.post("/caseworker/queue/assign-next", data={"held": "20"})
    assert more.headers["Location"].endswith("#first-case")  # the last two taken
    none_left = signed_in.post("/caseworker/queue/assign-next", data={"held": "22"})
    assert "Không còn hồ sơ nào" in _text(signed_in.get(none_left.headers["Location"]))
    assert none_left.headers["Location"].endswith("#rows-title")  # nothing taken: the list, not a case


def test_the_button_pressed_twice_takes_one_batch(signed_in, caseworker):
    """A double click (or the form sent again) took 40 claims: 20 more hidden from colleagues, to be given back one
    by one. The queue's form says how many claims the caseworker held when it was shown; sent again, it takes none."""
    for _ in range(45):
        create_claim("needs_review", reasons=["zero_months"])
    page = signed_in.get("/caseworker/queue").get_data(as_text=True)
    held = re.search(r'name="held" type="hidden" value="(\d+)"', page) or re.search(r'name="held" value="(\d+)"', page)
    assert held and held.group(1) == "0"
    for _ in range(2):
        second = signed_in.post("/caseworker/queue/assign-next", data={"held": held.group(1)}, follow_redirects=True)
    assert "Bạn đã nhận hồ sơ từ trang này; đây là các hồ sơ đang giao cho bạn." in _text(second)
    assert len(db.session.scalars(select(Claim.id).where(Claim.assigned_to_id == caseworker.id)).all()) == 20
    again = re.search(
        r'name="held" type="hidden" value="(\d+)"', signed_in.get("/caseworker/queue").get_data(as_text=True)
    )
    assert again and again.group(1) == "20"  # the page shown again takes the next 20
    signed_in.post("/caseworker/queue/assign-next", data={"held": again.group(1)})
    assert len(db.session.scalars(select(Claim.id).where(Claim.assigned_to_id == caseworker.id)).all()) == 40


# ------------------------------------------------------------------------------------------------------ case page


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            [
                "Những điểm cần xác minh",
                "Cùng số CMND/CCCD với một mã số BHXH khác",
                "Hồ sơ nghi trùng",
                "Diễn biến hồ sơ",
                "Chi trả",
                "Tài khoản đã đóng",
                "cần thông tin tài khoản mới",
                "Gọi điện thoại: Không liên hệ được",
            ],
        ),
        (
            "en",
            [
                "What needs checking",
                "The same national ID is recorded under another SI code",
                "Possible duplicates",
                "Timeline",
                "Payment",
                "Closed account",
                "new payment details needed",
                "Phone call: No answer",
            ],
        ),
    ],
)
def test_the_case_page_shows_person_checks_payments_duplicates_and_timeline(client, caseworker, locale, words):
    from disburse.verification import review

    claim, twin = create_duplicate_group("needs_review")
    failed = create_payment(create_claim("payment_pending"), "failed")  # the provider's code: AC04
    review.log_contact(claim.id, caseworker, "phone", "no_answer", "Gọi hai lần")
    sign_in(client, caseworker, locale)

    response = client.get(f"/caseworker/claims/{claim.id}")
    assert response.status_code == 200
    text = _text(response)
    assert _title(response).startswith(("Hồ sơ số" if locale == "vi" else "Claim") + f" {claim.id}")
    for word in words[:4] + words[7:]:
        assert word in text, word
    assert f'href="/caseworker/claims/{twin.id}"' in response.get_data(as_text=True)  # side by side, linked
    assert ("2.100.000 ₫" if locale == "vi" else "VND 2,100,000") in text

    response = client.get(f"/caseworker/claims/{failed.claim_id}")
    text = _text(response)
    for word in words[4:7]:
        assert word in text, word


@pytest.mark.parametrize(
    ("locale", "waits", "alert"),
    [
        (
            "vi",
            "Lần chi trả trước không thành công do lỗi phía ngân hàng: hồ sơ sẽ được chi trả lại như cũ từ",
            "Đã 5 lần chi trả không thành công do lỗi phía ngân hàng: hãy kiểm tra số dư tài khoản quỹ",
        ),
        (
            "en",
            "The last payment failed on the bank's side: the claim will be paid again as it is from",
            "5 payments failed on the bank's side: check the fund's account balance",
        ),
    ],
)
def test_the_case_page_says_when_the_bank_is_tried_again_and_warns_after_many_tries(
    client, caseworker, db_session, app, locale, waits, alert
):
    from disburse.formatting import moment
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    assert app.config["DISBURSE_PAYMENT_BANK_FAILURES_ALERT"] == 5
    claim = create_claim("payment_pending", bank_failures=3)
    payment = create_payment(claim, "sent")
    news = StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "rjct.bank.timeout")
    apply_updates("sandbox", [news], source="poll")
    db_session.refresh(claim)
    sign_in(client, caseworker, locale)

    response = client.get(f"/caseworker/claims/{claim.id}")
    page, text = response.get_data(as_text=True), html.unescape(_text(response))
    assert f"{waits} {moment(claim.retry_after)}" in text
    assert 'id="bank-failures">4<' in page and alert not in text

    claims.transition(claim, ClaimAction.QUEUE_PAYMENT)
    payment = create_payment(claim, "sent", attempt=2)
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "AM04")], source="poll")
    response = client.get(f"/caseworker/claims/{claim.id}")
    assert 'id="bank-failures">5<' in response.get_data(as_text=True) and alert in html.unescape(_text(response))


@pytest.mark.parametrize(
    ("locale", "words", "foreign"),
    [
        (
            "vi",
            [
                "Không có tháng đóng BHTN chưa hưởng",
                "Tài khoản đã đóng",
                "Số tài khoản: 0011004455667 → 0022004455667",
                "Hình thức nhận tiền: Chuyển khoản → Tiền mặt tại cơ quan BHXH",
            ],
            ["No unused UI contribution months", "Closed account", "bank_account:", "payout:"],
        ),
        (
            "en",
            [
                "No unused UI contribution months",
                "Closed account",
                "Account number: 0011004455667 → 0022004455667",
                "Paid by: Bank transfer → Cash at the office",
            ],
            ["Không có tháng đóng BHTN chưa hưởng", "Tài khoản đã đóng", "bank_account:", "payout:", " / Cash"],
        ),
    ],
)
def test_the_timeline_gives_the_systems_reasons_and_the_changed_fields_in_the_pages_language(
    client, caseworker, locale, words, foreign
):
    """The system writes its reasons in Vietnamese words (the notices print them): the case page reads the codes the
    events keep and names every changed field, in either language."""
    from disburse.claims.employer_forms import correct_payment_details
    from disburse.payments import cash
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates
    from disburse.verification import service as verification

    review_claim = create_claim(
        "employer_confirmed", employee=create_employee(unused_months=0), unused_months=0, amount_vnd=1_800_000
    )
    verification.verify(ids=[review_claim.id])
    failed = create_payment(create_claim("payment_pending"), "sent")
    apply_updates(
        "sandbox",
        [StatusUpdate(failed.provider_reference, ProviderStatus.REJECTED, reason_code="AC04")],
        source="callback",
    )
    assert correct_payment_details(failed.claim_id, "VCB", "0022004455667", actor=caseworker).outcome == "corrected"
    to_cash = create_payment(create_claim("payment_pending"), "sent")
    apply_updates(
        "sandbox",
        [StatusUpdate(to_cash.provider_reference, ProviderStatus.REJECTED, reason_code="AC04")],
        source="callback",
    )
    cash.offer_cash(to_cash.claim_id, caseworker, early=True)
    sign_in(client, caseworker, locale)

    text = " ".join(
        _text(client.get(f"/caseworker/claims/{claim_id}"))
        for claim_id in (review_claim.id, failed.claim_id, to_cash.claim_id)
    )
    for word in words:
        assert word in text, word
    for word in foreign:
        assert word not in text, word


@pytest.mark.parametrize(
    ("path", "locale"),
    [("/reject", "vi"), ("/decline", "en"), ("/contact", "vi"), ("/request-info", "en"), ("/payment-details", "vi")],
)
def test_every_action_page_names_whose_claim_it_is(client, caseworker, path, locale):
    """A refusal or a decline cannot be undone: the page says whose claim it is, not only its number."""
    claim = create_claim("needs_review", employee=create_employee(full_name="Phạm Thị Thu"))
    si = db.session.get(Employee, claim.employee_id).si_code
    sign_in(client, caseworker, locale)
    page = client.get(f"/caseworker/claims/{claim.id}{path}")
    assert page.status_code == 200
    said = {
        "vi": f"Hồ sơ số {claim.id} của Phạm Thị Thu, mã số BHXH {si}, mức hỗ trợ 2.100.000 ₫.",
        "en": f"Claim {claim.id} of Phạm Thị Thu, SI code {si}, support amount VND 2,100,000.",
    }[locale]
    assert said in _text(page)


def test_another_districts_claim_is_not_found_and_employers_are_refused(client, caseworker):
    far = create_duplicate_group("needs_review", districts=(QUAN_1, QUAN_1))[0]
    mine = create_duplicate_group("needs_review")[0]
    assert client.get(f"/caseworker/claims/{mine.id}").status_code == 302  # signed out: to the sign-in page
    assert client.get(f"/caseworker/claims/{mine.id}").headers["Location"].startswith("/login?next=")
    sign_in(client, caseworker)
    for path in ("", "/approve", "/reject", "/contact", "/request-info", "/duplicates", "/payment-details"):
        assert client.get(f"/caseworker/claims/{far.id}{path}").status_code == 404, path
        assert client.post(f"/caseworker/claims/{far.id}{path or '/assign'}", data={}).status_code == 404, path
    assert client.get("/caseworker/claims/99999999999999999999").status_code == 404
    client.post("/logout")
    employer = create_user("employer", password=PASSWORD)
    sign_in(client, employer)
    assert client.get("/caseworker/queue").status_code == 403
    assert client.get(f"/caseworker/claims/{mine.id}").status_code == 403


def test_a_province_supervisor_reads_within_the_province(client):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    mine = create_duplicate_group("needs_review")[0]
    far = create_duplicate_group("needs_review", districts=(QUAN_1, QUAN_1))[0]
    sign_in(client, supervisor)
    assert client.get(f"/caseworker/claims/{mine.id}").status_code == 200
    assert client.get(f"/caseworker/claims/{far.id}").status_code == 404
    html = client.get("/caseworker/queue").get_data(as_text=True)
    assert f'/caseworker/claims/{mine.id}"' in html and f'/caseworker/claims/{far.id}"' not in html


def test_a_unit_elsewhere_or_a_district_that_does_not_exist_is_said_not_shown_as_no_claims(client, caseworker):
    far_unit = create_employer(district_code=QUAN_1)
    sign_in(client, caseworker, "en")
    response = client.get(f"/caseworker/queue?employer={far_unit.unit_code}")
    assert response.status_code == 422
    assert f"There is no unit with code {far_unit.unit_code} in your scope." in _text(response)

    client.post("/logout")
    sign_in(client, create_user("supervisor", password=PASSWORD), "vi")
    assert client.get(f"/caseworker/queue?employer={far_unit.unit_code}").status_code == 200  # a national scope
    response = client.get("/caseworker/queue?district=999")
    assert response.status_code == 422 and "Không có quận/huyện mã 999 trong phạm vi của bạn." in _text(response)


# --------------------------------------------------------------------------------------------------- action forms


def test_approve_from_the_form(signed_in, caseworker):
    # A claim with an undecided possible duplicate is not approved: the page says what to do first.
    twin = create_duplicate_group("needs_review")[0]
    refused_twin = signed_in.post(f"/caseworker/claims/{twin.id}/approve", data={"note": "Đã xác minh."})
    assert refused_twin.status_code == 409
    assert "Hãy xử lý nghi trùng trước khi duyệt" in _text(refused_twin)
    assert db.session.get(Claim, twin.id).state == "needs_review"

    claim = create_claim("needs_review")
    page = signed_in.get(f"/caseworker/claims/{claim.id}/approve")
    assert page.status_code == 200 and _title(page).startswith("Duyệt hồ sơ")
    response = signed_in.post(f"/caseworker/claims/{claim.id}/approve", data={"note": "Đã xác minh."})
    assert response.status_code == 302 and response.headers["Location"] == f"/caseworker/claims/{claim.id}"
    assert db.session.get(Claim, claim.id).state == "approved"
    assert "Hồ sơ đã được duyệt." in _text(signed_in.get(f"/caseworker/claims/{claim.id}"))
    # Approving again changes nothing; a refused claim cannot be approved: the message says why.
    refused = create_claim("rejected")
    response = signed_in.post(f"/caseworker/claims/{refused.id}/approve", data={})
    assert response.status_code == 409
    assert "Không thể duyệt hồ sơ đang ở trạng thái “Từ chối”." in _text(response)


@pytest.mark.parametrize(
    ("locale", "data", "messages"),
    [
        ("vi", {}, ["Hãy chọn lý do từ chối.", "Hãy ghi rõ lý do từ chối; lý do này được in trong thông báo."]),
        ("en", {}, ["Choose the reason for refusal.", "Write the reason for refusal; it is printed in the notice."]),
        ("vi", {"reason_code": "zero_months", "reason_text": "x"}, ["Hãy chọn một trong các lựa chọn có trên trang."]),
        (
            "en",
            {"reason_code": "not_employed_on_cutoff", "reason_text": "x" * 1001},
            ["At most 1,000 characters; the text has 1,001."],
        ),
        (
            "vi",
            {"reason_code": "not_employed_on_cutoff", "reason_text": "a\x00b"},
            ["Có ký tự điều khiển không hợp lệ."],
        ),
    ],
)
def test_reject_bad_input(client, caseworker, locale, data, messages):
    claim = create_duplicate_group("needs_review")[0]
    sign_in(client, caseworker, locale)
    response = client.post(f"/caseworker/claims/{claim.id}/reject", data=data)
    assert response.status_code == 422
    text = _text(response)
    for message in messages:
        assert text.count(message) == 2, message
    assert db.session.get(Claim, claim.id).state == "needs_review"


def test_reject_then_print_the_notice(signed_in):
    """The refusal is read back first (the notice prints its reason), recorded on "confirm", the form kept on
    "change"; then its notice is printed."""
    claim = create_duplicate_group("needs_review")[0]
    reason = "Ông đã nghỉ việc tại đơn vị từ tháng 08/2021."
    url = f"/caseworker/claims/{claim.id}/reject"
    data = {"reason_code": "not_employed_on_cutoff", "reason_text": reason}
    checking = signed_in.post(url, data=data)
    assert checking.status_code == 200 and 'id="kiem-tra-lai"' in checking.get_data(as_text=True)
    said = _text(checking)
    assert f"Từ chối hồ sơ số {claim.id} của " in said and "Hồ sơ sẽ không được chi trả." in said and reason in said
    assert db.session.get(Claim, claim.id).state == "needs_review"  # nothing recorded yet
    changing = signed_in.post(url, data={**data, "confirmed": "1", "edit": "1"})
    assert changing.status_code == 200 and 'id="kiem-tra-lai"' not in changing.get_data(as_text=True)
    assert reason in changing.get_data(as_text=True)  # the form again, as it was filled in
    response = signed_in.post(url, data={**data, "confirmed": "1"})
    assert response.status_code == 302
    page = signed_in.get(f"/caseworker/claims/{claim.id}")
    text = _text(page)
    assert "Hồ sơ đã bị từ chối. Hãy in thông báo gửi người lao động." in text and reason in text
    notice = re.search(r'href="([^"]+/notice)"', page.get_data(as_text=True))
    assert notice is not None
    printed = signed_in.get(notice.group(1))
    assert printed.status_code == 200 and reason in printed.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_office_records_a_persons_decline_from_the_case_page(client, caseworker, locale):
    """A person who tells the office, after their unit's Form 02, that they do not want the support: the case page
    offers it, the form asks how the office learnt it (in the page's language), and the claim is declined."""
    claim = create_claim("approved", district_code=caseworker.district_code)
    sign_in(client, caseworker, locale)
    page = client.get(f"/caseworker/claims/{claim.id}")
    link = "Ghi nhận không nhận hỗ trợ" if locale == "vi" else "Record that the person declines support"
    assert f'href="/caseworker/claims/{claim.id}/decline">{link}</a>' in page.get_data(as_text=True)
    empty = client.post(f"/caseworker/claims/{claim.id}/decline", data={"note": "  "})
    assert empty.status_code == 422 and db.session.get(Claim, claim.id).state == "approved"
    wanted = (
        "Hãy ghi người lao động đã báo không nhận hỗ trợ bằng cách nào, ngày nào."
        if locale == "vi"
        else "Write how, and on which day, the person told the office they decline the support."
    )
    assert _text(empty).count(wanted) == 2  # the summary and the field
    done = client.post(f"/caseworker/claims/{claim.id}/decline", data={"note": "Đơn đề nghị ngày 12/10/2021."})
    assert done.status_code == 302
    assert db.session.get(Claim, claim.id).state == "declined"
    after = client.get(f"/caseworker/claims/{claim.id}")
    said = "Đã ghi nhận người lao động không nhận hỗ trợ." if locale == "vi" else "Recorded: the person declines"
    assert said in _text(after) and "Đơn đề nghị ngày 12/10/2021." in _text(after)
    assert f"/caseworker/claims/{claim.id}/decline" not in after.get_data(as_text=True)  # not offered again


@pytest.mark.parametrize(
    ("locale", "data", "messages"),
    [
        ("vi", {}, ["Hãy chọn cách liên hệ.", "Hãy chọn kết quả liên hệ."]),
        ("en", {"channel": "pigeon", "outcome": "reached"}, ["Choose one of the options on the page."]),
    ],
)
def test_contact_bad_input(client, caseworker, locale, data, messages):
    claim = create_duplicate_group("needs_review")[0]
    sign_in(client, caseworker, locale)
    response = client.post(f"/caseworker/claims/{claim.id}/contact", data=data)
    assert response.status_code == 422
    for message in messages:
        assert message in _text(response)
    assert 'href="#channel-0"' in response.get_data(as_text=True)


def test_log_a_contact_and_request_information(signed_in):
    claim = create_duplicate_group("needs_review")[0]
    assert signed_in.get(f"/caseworker/claims/{claim.id}/contact").status_code == 200
    response = signed_in.post(
        f"/caseworker/claims/{claim.id}/contact", data={"channel": "sms", "outcome": "message_left", "note": "Nhắn tin"}
    )
    assert response.status_code == 302
    due = programme_today() + timedelta(days=10)
    past = signed_in.post(
        f"/caseworker/claims/{claim.id}/request-info",
        data={"addressee": "employer", "note": "Gửi.", "due_on": (due - timedelta(days=20)).strftime("%d/%m/%Y")},
    )
    assert past.status_code == 422 and "Hạn bổ sung không được trước hôm nay" in _text(past)
    response = signed_in.post(
        f"/caseworker/claims/{claim.id}/request-info",
        data={"addressee": "employer", "note": "Gửi bản sao hợp đồng.", "due_on": due.strftime("%d/%m/%Y")},
    )
    assert response.status_code == 302
    notes = [e for e in _events(claim.id) if e.action in ("contact", "request_info")]
    assert [e.action for e in notes] == ["contact", "request_info"]
    assert notes[1].data == {"addressee": "employer", "note": "Gửi bản sao hợp đồng.", "due_on": due.isoformat()}
    text = _text(signed_in.get(f"/caseworker/claims/{claim.id}"))
    assert "Tin nhắn SMS: Đã để lại lời nhắn hoặc giấy báo" in text and f"Hạn bổ sung: {due:%d/%m/%Y}" in text


@pytest.mark.parametrize(
    ("locale", "data", "messages"),
    [
        (
            "vi",
            {"addressee": "person", "note": "x", "due_on": "20/11"},
            ["Ngày ghi theo dạng dd/mm/yyyy, ví dụ 20/11/2021."],
        ),
        (
            "en",
            {"addressee": "person", "note": "x", "due_on": "31/02/2021"},
            ["31/02/2021 is not a date on the calendar."],
        ),
        ("en", {"addressee": "person", "note": "x", "due_on": "01/01/9999"}, ["The year must be from 1900 to 2099."]),
        ("en", {"note": ""}, ["Choose who is asked.", "Write what information is needed."]),
    ],
)
def test_request_information_bad_input(client, caseworker, locale, data, messages):
    claim = create_duplicate_group("needs_review")[0]
    sign_in(client, caseworker, locale)
    response = client.post(f"/caseworker/claims/{claim.id}/request-info", data=data)
    assert response.status_code == 422
    for message in messages:
        assert _text(response).count(message) == 2, message


def test_resolve_a_duplicate_side_by_side(signed_in):
    keep, other = create_duplicate_group("needs_review")
    page = signed_in.get(f"/caseworker/claims/{keep.id}/duplicates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="side-by-side"' in html and f'value="{other.id}"' in html
    # Each side's district by name and its unused months: what makes two amounts differ is there to compare.
    names = [db.session.get(District, claim.district_code).name for claim in (keep, other)]
    districts = re.search(r"Quận/huyện (.*?) Luồng hồ sơ", _text(page))
    assert districts and districts.group(1) == " ".join(names)
    months = re.search(r"Số tháng đóng BHTN chưa hưởng ((?:\d+ ?)+)", _text(page))
    assert months and months.group(1).split() == [str(keep.unused_months), str(other.unused_months)]
    response = signed_in.post(f"/caseworker/claims/{keep.id}/duplicates", data={"keep": str(keep.id)})
    assert response.status_code == 302
    assert db.session.get(Claim, other.id).state == "rejected"
    assert db.session.get(Claim, keep.id).state == "needs_review"
    # Decided, the group is offered to nobody again (both pages offered it, the refused claim among the choices).
    assert "Nhóm nghi trùng này đã được xử lý (xem lịch sử hồ sơ)." in _text(
        signed_in.get(f"/caseworker/claims/{keep.id}")
    )
    for claim in (keep, other):
        assert f'href="/caseworker/claims/{claim.id}/duplicates"' not in signed_in.get(
            f"/caseworker/claims/{claim.id}"
        ).get_data(as_text=True)
        again = _text(signed_in.get(f"/caseworker/claims/{claim.id}/duplicates", follow_redirects=True))
        if claim is keep:
            assert "Nhóm nghi trùng này đã được xử lý (xem lịch sử hồ sơ)." in again
        else:  # refused: nothing left to decide for it, whatever the group's other claims wait for
            assert "Hồ sơ đang ở trạng thái “Từ chối”: không còn gì cần xử lý nghi trùng." in again


@pytest.mark.parametrize(
    ("locale", "left", "approved"),
    [
        ("vi", "Hồ sơ được giữ lại còn nội dung cần kiểm tra trước khi duyệt.", False),
        ("en", "The claim kept still has points to check before it is approved.", False),
        ("en", "still has points to check", True),
    ],
)
def test_an_override_approves_only_a_claim_with_nothing_else_to_check(client, caseworker, locale, left, approved):
    """Both may be paid: the kept claim is approved with the decision when the duplicates were all it needed checked;
    with its months to check too, it stays for the approval, and the page says so."""
    reasons = ["possible_duplicate"] if approved else ["possible_duplicate", "zero_months"]
    keep, _other = create_duplicate_group("needs_review", reasons=reasons)
    sign_in(client, caseworker, locale)
    data = {"keep": str(keep.id), "override": "y", "note": "Hai người khác nhau."}
    response = client.post(f"/caseworker/claims/{keep.id}/duplicates", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert (left in _text(response)) is not approved
    assert db.session.get(Claim, keep.id).state == ("approved" if approved else "needs_review")


def test_the_case_lists_the_duplicates_to_check_until_the_group_is_decided(client, caseworker):
    """While the group is undecided the possible duplicates are to check (and approval waits); decided, only what
    else verification found is left."""
    keep, _other = create_duplicate_group("needs_review", reasons=["possible_duplicate", "zero_months"])
    sign_in(client, caseworker)
    labels = {entry["code"]: entry["label_vi"] for entry in reason_entries(["possible_duplicate", "zero_months"])}

    def to_check() -> list[str]:
        page = client.get(f"/caseworker/claims/{keep.id}").get_data(as_text=True)
        panel = re.search(r'<section aria-labelledby="to-check-title".*?</section>', page, re.S)
        assert panel is not None
        return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", panel.group(0))]

    assert sorted(to_check()) == sorted(labels.values())
    data = {"keep": str(keep.id), "override": "y", "note": "Hai người khác nhau."}
    assert client.post(f"/caseworker/claims/{keep.id}/duplicates", data=data).status_code == 302
    assert to_check() == [labels["zero_months"]]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_same_id_under_another_si_code_without_a_claim_is_checked_at_the_approval(client, caseworker, locale):
    """The registry holds the person's national ID under another SI code that has no claim: there is no group to
    decide, and the reason stays to check (the person's months may be split across the two records): the case and
    approval pages name the other SI code, and the approval asks for the tick."""
    person = create_employee(district_code=DONG_ANH)
    other = create_employee(national_id=person.national_id, district_code=DONG_ANH)
    claim = create_claim("needs_review", employee=person, reasons=["possible_duplicate"])
    sign_in(client, caseworker, locale)
    said = {
        "vi": f"Mã số BHXH khác trong cơ sở dữ liệu: {other.si_code}.",
        "en": f"The other SI code in the registry: {other.si_code}.",
    }[locale]
    assert said in _text(client.get(f"/caseworker/claims/{claim.id}"))
    url = f"/caseworker/claims/{claim.id}/approve"
    assert said in _text(client.get(url))
    assert client.post(url, data={}).status_code == 422  # not ticked
    assert db.session.get(Claim, claim.id).state == "needs_review"
    assert client.post(url, data={"checked": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "approved"


@pytest.mark.parametrize(
    ("locale", "data", "message", "status"),
    [
        ("vi", {}, "Hãy chọn hồ sơ được giữ lại.", 422),
        ("en", {"keep": "999999"}, "Choose one of the options on the page.", 422),
        ("vi", {"keep": "SELF", "override": "y"}, "Cần ghi rõ lý do khi xác nhận các hồ sơ không trùng", 422),
        ("en", {"keep": "SELF", "override": "y"}, "Write the reason why these claims may all be paid.", 422),
    ],
)
def test_resolve_duplicate_bad_input(client, caseworker, locale, data, message, status):
    keep, _ = create_duplicate_group("needs_review")
    sign_in(client, caseworker, locale)
    data = {k: v.replace("SELF", str(keep.id)) for k, v in data.items()}
    response = client.post(f"/caseworker/claims/{keep.id}/duplicates", data=data)
    assert response.status_code == status
    assert message in _text(response)


def test_someone_elses_case_is_refused_with_the_reason(client, caseworker):
    from disburse.verification import review

    claim = create_duplicate_group("needs_review")[0]
    colleague = create_user("caseworker", district=DONG_ANH)
    review.assign(claim.id, colleague)
    sign_in(client, caseworker, "en")
    response = client.post(f"/caseworker/claims/{claim.id}/approve", data={})
    assert response.status_code == 409
    assert "Another caseworker holds this claim" in _text(response)
    assert db.session.get(Claim, claim.id).state == "needs_review"


# ---------------------------------------------------------------------------------------- payment details and cash


def test_fix_payment_details_pays_again_once_the_new_account_is_confirmed(signed_in):
    claim = create_claim("awaiting_payment_details")
    page = signed_in.get(f"/caseworker/claims/{claim.id}")
    assert f"/caseworker/claims/{claim.id}/payment-details" in page.get_data(as_text=True)
    url, details = (
        f"/caseworker/claims/{claim.id}/payment-details",
        {"bank_code": "BIDV", "bank_account": "1234-567 890"},
    )

    # First the page says where the money will go, the account as it will be stored (read back to the person: it
    # was read back as typed); nothing is saved until it is confirmed.
    check = signed_in.post(url, data=details)
    assert check.status_code == 200
    text = _text(check)
    assert "Kiểm tra lại trước khi lưu" in text and "BIDV · " in text
    assert '<dd class="account">1234567890</dd>' in check.get_data(as_text=True)
    assert 'name="confirmed" value="1"' in check.get_data(as_text=True) and "Xác nhận và chi trả lại" in text
    assert db.session.get(Claim, claim.id).state == "awaiting_payment_details"
    # "Change" brings the form back, filled, and a post from it asks again.
    edit = signed_in.post(url, data={**details, "confirmed": "1", "edit": "1"}).get_data(as_text=True)
    assert 'value="1234567890"' in edit and "Kiểm tra lại" not in edit and 'name="confirmed"' not in edit
    assert db.session.get(Claim, claim.id).state == "awaiting_payment_details"

    response = signed_in.post(url, data={**details, "confirmed": "1"})
    assert response.status_code == 302
    claim = db.session.get(Claim, claim.id)
    assert (claim.state, claim.bank_code, claim.bank_account) == ("approved", "BIDV", "1234567890")
    correct = [e for e in _events(claim.id) if e.action == "correct"][-1]
    assert correct.data["changes"]["bank_account"] == ["0011004455667", "1234567890"]


def test_fix_payment_details_in_review_keeps_the_claim_in_review(signed_in):
    claim = create_claim("needs_review", reasons=["bank_details_malformed", "amount_changed"], bank_account="AB12CD34")
    page = signed_in.get(f"/caseworker/claims/{claim.id}")
    assert f"/caseworker/claims/{claim.id}/payment-details" in page.get_data(as_text=True)
    assert "Lưu thông tin tài khoản" in _text(signed_in.get(f"/caseworker/claims/{claim.id}/payment-details"))
    response = signed_in.post(
        f"/caseworker/claims/{claim.id}/payment-details",
        data={"bank_code": "BIDV", "bank_account": "1234567890", "confirmed": "1"},
    )
    assert response.status_code == 302
    assert "hồ sơ vẫn chờ xem xét" in _text(signed_in.get(response.headers["Location"]))
    claim = db.session.get(Claim, claim.id)
    assert (claim.state, claim.bank_code, claim.bank_account) == ("needs_review", "BIDV", "1234567890")
    assert [e.action for e in _events(claim.id)][-1] == "correct"
    # What needs checking no longer says the account is malformed; the other finding stays.
    assert claim.reasons == ["amount_changed"]
    queue = signed_in.get("/caseworker/queue?reason=bank_details_malformed").get_data(as_text=True)
    assert f'/caseworker/claims/{claim.id}"' not in queue


def test_a_failed_payment_goes_through_request_details_too(signed_in):
    claim = create_claim("payment_failed")
    response = signed_in.post(
        f"/caseworker/claims/{claim.id}/payment-details",
        data={"bank_code": "ICB", "bank_account": "99887766", "confirmed": "1"},
    )
    assert response.status_code == 302
    assert [e.action for e in _events(claim.id)][-2:] == ["request_details", "details_received"]


@pytest.mark.parametrize(
    ("locale", "state", "data", "message"),
    [
        ("vi", "awaiting_payment_details", {}, "Hãy ghi ngân hàng."),
        ("en", "awaiting_payment_details", {"bank_code": "BIDV"}, "Give the account number."),
        (
            "vi",
            "awaiting_payment_details",
            {"bank_code": "XXX", "bank_account": "123456"},
            "Không rõ ngân hàng 'XXX': hãy ghi mã ngân hàng",
        ),
        (
            "en",
            "awaiting_payment_details",
            {"bank_code": "BIDV", "bank_account": "12-34"},
            BANK_ACCOUNT_MESSAGE[1],
        ),
        (
            "vi",
            "awaiting_payment_details",
            {"bank_code": "VCB", "bank_account": "0011004455667"},
            "Đây là tài khoản đã chi trả không thành công; hãy ghi tài khoản mới.",
        ),
        (
            "en",
            "approved",
            {"bank_code": "BIDV", "bank_account": "123456"},
            "The account cannot be changed: the claim's state is 'Approved'",
        ),
    ],
)
def test_fix_payment_details_bad_input(client, caseworker, locale, state, data, message):
    claim = create_claim(state)
    sign_in(client, caseworker, locale)
    response = client.post(f"/caseworker/claims/{claim.id}/payment-details", data=data)
    assert response.status_code == 422
    assert message in _text(response)
    assert db.session.get(Claim, claim.id).state == state


def test_a_bank_the_form_refuses_is_shown_as_typed(client, caseworker):
    """A bank name several banks share is refused naming them, and the box holds what was typed (it was refilled with
    the capitals the check read it into, "NGÂN HÀNG SÀI GÒN")."""
    claim = create_claim("awaiting_payment_details")
    sign_in(client, caseworker, "en")
    data = {"bank_code": "Ngân hàng Sài Gòn", "bank_account": "12345678"}
    response = client.post(f"/caseworker/claims/{claim.id}/payment-details", data=data)
    assert response.status_code == 422
    assert f"may be any of several banks: {SAI_GON_BANKS}" in _text(response)
    assert 'value="Ngân hàng Sài Gòn"' in response.get_data(as_text=True)
    assert db.session.get(Claim, claim.id).bank_code == claim.bank_code


def test_offer_cash_and_record_the_receipt(signed_in, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)  # money is handed over inside the payment period
    claim = create_claim("awaiting_payment_details")
    response = signed_in.post(f"/caseworker/claims/{claim.id}/cash", data={})
    assert response.status_code == 409
    # Above the form and on the reason's field.
    assert _text(response).count("hãy ghi lý do chuyển sang nhận tiền mặt sớm") == 2
    assert 'id="reason-error"' in response.get_data(as_text=True)
    response = signed_in.post(f"/caseworker/claims/{claim.id}/cash", data={"reason": "Không có tài khoản."})
    assert response.status_code == 302
    assert (db.session.get(Claim, claim.id).state, db.session.get(Claim, claim.id).payout) == ("approved", "cash")

    payment = create_cash_payment()
    page = signed_in.get(f"/caseworker/claims/{payment.claim_id}/cash-receipt")
    assert page.status_code == 200 and payment.provider_reference in _text(page)
    response = signed_in.post(f"/caseworker/claims/{payment.claim_id}/cash-receipt", data={"receipt_number": ""})
    assert response.status_code == 422 and _text(response).count("Hãy ghi số biên lai.") == 2
    url = f"/caseworker/claims/{payment.claim_id}/cash-receipt"
    # The check step reads back the number as it will be recorded (a full-width space and digits, lower case).
    check = _text(signed_in.post(url, data={"receipt_number": "aa/21e\u3000０００１２３４"}))
    assert "Kiểm tra lại trước khi ghi nhận" in check and "theo biên lai số AA/21E 0001234" in check
    assert db.session.get(Claim, payment.claim_id).state != "paid"  # said, not done
    response = signed_in.post(url, data={"receipt_number": "aa/21e 0001234", "confirmed": "1"})
    assert response.status_code == 302
    assert db.session.get(Payment, payment.id).receipt_number == "AA/21E 0001234"
    assert db.session.get(Claim, payment.claim_id).state == "paid"
    # The same confirmation sent again (a second click, the back button): said to be recorded already, not anew.
    twice = signed_in.post(url, data={"receipt_number": "aa/21e 0001234", "confirmed": "1"}, follow_redirects=True)
    assert "Đã ghi nhận chi trả tiền mặt theo biên lai số AA/21E 0001234 từ trước; không ghi thêm" in _text(twice)

    again = create_cash_payment()
    response = signed_in.post(
        f"/caseworker/claims/{again.claim_id}/cash-receipt", data={"receipt_number": "AA/21E 0001234"}
    )
    assert response.status_code == 409
    assert "Biên lai số AA/21E 0001234 đã dùng cho khoản chi trả" in _text(response)
    # A number that is no receipt number is what was typed, not the state of things: 422, as a blank one.
    malformed = signed_in.post(f"/caseworker/claims/{again.claim_id}/cash-receipt", data={"receipt_number": "ABC"})
    assert malformed.status_code == 422 and 'aria-invalid="true"' in malformed.get_data(as_text=True)


def _payment_events(payment_id: int) -> list[int]:
    from disburse.payments.models import PaymentEvent

    return list(db.session.scalars(select(PaymentEvent.id).where(PaymentEvent.payment_id == payment_id)))


@pytest.mark.parametrize(
    ("locale", "done", "paid"),
    [
        (
            "vi",
            "Đã ghi nhận chi trả tiền mặt theo biên lai số AA/21E 0001234 từ trước",
            "đã được chi, biên lai số AA/21E 0001234",
        ),
        (
            "en",
            "The cash payment is recorded against receipt number AA/21E 0001234 already",
            "already paid, receipt number AA/21E 0001234",
        ),
    ],
)
def test_a_second_click_on_confirm_the_receipt_says_it_is_recorded(
    client, caseworker, app, monkeypatch, locale, done, paid
):
    """ "Confirm" clicked twice: the second post finds the payment paid against this very receipt, and goes back to
    the case saying it is recorded (it said there was no cash payment waiting, 409). Another receipt is refused."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    payment = create_cash_payment()
    sign_in(client, caseworker, locale)
    url, case = f"/caseworker/claims/{payment.claim_id}/cash-receipt", f"/caseworker/claims/{payment.claim_id}"
    assert client.post(url, data={"receipt_number": "AA/21E 0001234", "confirmed": "1"}).status_code == 302
    client.get(case)  # the first answer's page, read
    recorded = _payment_events(payment.id), _events(payment.claim_id)

    for data in ({"confirmed": "1"}, {}):  # the confirmation, or the form's first step, posted again
        response = client.post(url, data={"receipt_number": " aa/21e  0001234", **data})
        assert response.status_code == 302 and response.headers["Location"] == case
        assert done in _text(client.get(case))
        db.session.expire_all()
        assert (_payment_events(payment.id), _events(payment.claim_id)) == recorded

    other = client.post(url, data={"receipt_number": "AA/21E 0009999", "confirmed": "1"})
    assert other.status_code == 409
    assert paid in _text(other)
    assert db.session.get(Payment, payment.id).receipt_number == "AA/21E 0001234"


@pytest.mark.parametrize("state", ["awaiting_payment_details", "needs_review"])
def test_a_second_click_on_confirm_the_new_account_says_it_is_saved(signed_in, state):
    """The correction confirmed twice: the second post asks for the details the first one gave the claim, and goes
    back to the case saying they are saved (it said the account could not be changed in "Approved", or that these
    are the claim's details already)."""
    claim = create_claim(state, reasons=["bank_details_malformed"] if state == "needs_review" else [])
    url, case = f"/caseworker/claims/{claim.id}/payment-details", f"/caseworker/claims/{claim.id}"
    details = {"bank_code": "BIDV", "bank_account": "1234567890", "confirmed": "1"}
    assert signed_in.post(url, data=details).status_code == 302
    signed_in.get(case)
    after = db.session.get(Claim, claim.id).state
    assert after == ("approved" if state == "awaiting_payment_details" else "needs_review")
    recorded = _events(claim.id)

    for data in (details, {**details, "confirmed": ""}):
        response = signed_in.post(url, data=data)
        assert response.status_code == 302 and response.headers["Location"] == case
        assert "Đã sửa thông tin tài khoản" in _text(signed_in.get(case))
        db.session.expire_all()
        assert _events(claim.id) == recorded and db.session.get(Claim, claim.id).state == after


def test_the_account_a_payment_failed_with_is_still_refused_after_it_was_given_by_a_correction(signed_in):
    """Only the same correction again is done already: once a payment has failed with the corrected account, giving
    it again is refused as before (the person must give another one)."""
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    claim = create_claim("awaiting_payment_details")
    url = f"/caseworker/claims/{claim.id}/payment-details"
    details = {"bank_code": "BIDV", "bank_account": "1234567890", "confirmed": "1"}
    assert signed_in.post(url, data=details).status_code == 302
    claims.transition(claim.id, ClaimAction.QUEUE_PAYMENT)
    failed = create_payment(db.session.get(Claim, claim.id), "sent", bank_code="BIDV", bank_account="1234567890")
    update = StatusUpdate(failed.provider_reference, ProviderStatus.REJECTED, reason_code="AC04")
    apply_updates("sandbox", [update], source="callback")
    assert db.session.get(Claim, claim.id).state in ("payment_failed", "awaiting_payment_details")

    response = signed_in.post(url, data=details)
    assert response.status_code == 422
    assert "Đây là tài khoản đã chi trả không thành công; hãy ghi tài khoản mới." in _text(response)


@pytest.mark.parametrize(
    ("locale", "until", "ended"),
    [
        (
            "vi",
            "Ngày cuối cùng chương trình còn chi trả (kể cả gia hạn): 10/09/2022.",
            "Chương trình đã hết hạn chi trả ngày 10/09/2022",
        ),
        (
            "en",
            "The programme's last day of payment (extension included): 10/09/2022.",
            "The programme stopped paying on 10/09/2022",
        ),
    ],
)
def test_the_cash_pages_say_until_when_the_programme_pays_and_that_it_has_stopped(
    client, caseworker, app, monkeypatch, locale, until, ended
):
    payment = create_cash_payment()  # NQ116: the extension to 10/09/2022 is its last payable day
    sign_in(client, caseworker, locale)
    receipt_page, case_page = (
        f"/caseworker/claims/{payment.claim_id}/cash-receipt",
        f"/caseworker/claims/{payment.claim_id}",
    )
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-09-10")
    page = client.get(receipt_page)
    assert until in _text(page) and ended not in _text(page) and 'name="receipt_number"' in page.get_data(as_text=True)
    case = client.get(case_page)
    assert 'href="' + receipt_page + '"' in case.get_data(as_text=True)
    # The claim's own due date is named as the claim's, not as the programme's deadline (one label, two dates).
    due = db.session.get(Claim, payment.claim_id).payment_due_on
    label = "Hạn chi trả của hồ sơ" if locale == "vi" else "Claim's payment due date"
    shown = f"{due:%d/%m/%Y}" if due else "—"
    assert f"{label} {shown}" in _text(case)

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-09-11")
    page = client.get(receipt_page)
    assert ended in _text(page) and 'name="receipt_number"' not in page.get_data(as_text=True)
    assert f"/caseworker/claims/{payment.claim_id}/cash-withdraw" in page.get_data(as_text=True)
    case = client.get(case_page).get_data(as_text=True)
    assert ended in _text(client.get(case_page)) and 'href="' + receipt_page + '"' not in case
    assert f"/caseworker/claims/{payment.claim_id}/cash-withdraw" in case  # the office can still close it
    assert db.session.get(Payment, payment.id).state == "sent"


def test_take_a_cash_payment_off_the_list_and_put_it_back(signed_in):
    payment = create_cash_payment()
    case = _text(signed_in.get(f"/caseworker/claims/{payment.claim_id}"))
    assert "Rút khỏi danh sách chi tiền mặt" in case
    page = signed_in.get(f"/caseworker/claims/{payment.claim_id}/cash-withdraw")
    assert page.status_code == 200 and payment.provider_reference in _text(page)
    response = signed_in.post(f"/caseworker/claims/{payment.claim_id}/cash-withdraw", data={"reason": " "})
    assert response.status_code == 422 and "Hãy ghi lý do rút khỏi danh sách chi tiền mặt." in _text(response)
    assert db.session.get(Payment, payment.id).state == "sent"

    response = signed_in.post(
        f"/caseworker/claims/{payment.claim_id}/cash-withdraw", data={"reason": "Không đến nhận được."}
    )
    assert response.status_code == 302
    assert "Đã rút khỏi danh sách chi tiền mặt" in _text(signed_in.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "failed"
    assert db.session.get(Claim, payment.claim_id).state == "awaiting_payment_details"
    again = signed_in.post(f"/caseworker/claims/{payment.claim_id}/cash-withdraw", data={"reason": "Lần nữa."})
    assert again.status_code == 409 and "không có khoản chi tiền mặt nào" in _text(again)

    case = _text(signed_in.get(f"/caseworker/claims/{payment.claim_id}"))
    assert "Đưa lại vào danh sách chi tiền mặt" in case
    response = signed_in.post(f"/caseworker/claims/{payment.claim_id}/cash", data={})
    assert response.status_code == 302
    claim = db.session.get(Claim, payment.claim_id)
    assert (claim.state, claim.payout) == ("approved", "cash")

    # On the next cash list: a withdrawal posted from a page opened before (it names the first payment) never takes
    # the new one off. The same reason again is the first's withdrawal, done; another reason is refused.
    program = db.session.get(Program, claim.program_id)
    made = payments.create_batch(program, "cash", "cash", today=program.last_payable_day)
    batch = payments.get_batch_for_update(made.id)
    assert payments.mark_batch_sent(batch)
    CashProvider().send(batch.reference or "", payments.batch_orders(batch.id))
    second = payments.live_payment_for_claim(claim.id)
    assert second is not None and second.id != payment.id and second.state == "sent"
    stale = {"payment": str(payment.id)}
    done = signed_in.post(
        f"/caseworker/claims/{claim.id}/cash-withdraw", data={**stale, "reason": "Không đến nhận được."}
    )
    assert done.status_code == 302
    changed = signed_in.post(f"/caseworker/claims/{claim.id}/cash-withdraw", data={**stale, "reason": "Lý do khác."})
    assert changed.status_code == 409 and "đã thay đổi từ khi bạn mở trang này" in _text(changed)
    db.session.expire_all()
    assert db.session.get(Payment, second.id).state == "sent"
    page = signed_in.get(f"/caseworker/claims/{claim.id}/cash-withdraw")
    assert f'name="payment" type="hidden" value="{second.id}"' in page.get_data(as_text=True)


def test_any_caseworker_of_the_office_records_a_receipt_but_only_the_cases_holder_takes_it_off_the_list(
    client, caseworker, app, monkeypatch
):
    """The one at the cash desk pays whoever comes, whoever holds the case: the receipt is theirs to record. Taking a
    payment off the list is a decision on the case, like offering cash: not while another caseworker holds it (an
    admin may, as with every case)."""

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    colleague = create_user("caseworker", district=DONG_ANH)
    held, paid_here = create_cash_payment(), create_cash_payment()
    for payment in (held, paid_here):  # held since its review: a claim on its way to be paid is not taken
        db.session.get(Claim, payment.claim_id).assigned_to_id = colleague.id
    db.session.flush()
    sign_in(client, caseworker, "en")

    withdraw = f"/caseworker/claims/{held.claim_id}/cash-withdraw"
    response = client.post(withdraw, data={"reason": "Xin chuyển khoản."})
    assert response.status_code == 409 and "Another caseworker holds this claim" in _text(response)
    db.session.expire_all()
    assert db.session.get(Payment, held.id).state == "sent"
    assert db.session.get(Claim, held.claim_id).state == "payment_pending"

    receipt = f"/caseworker/claims/{paid_here.claim_id}/cash-receipt"
    assert client.post(receipt, data={"receipt_number": "BL 0042", "confirmed": "1"}).status_code == 302
    assert db.session.get(Claim, paid_here.claim_id).state == "paid"

    client.post("/logout")
    sign_in(client, create_user("admin", password=PASSWORD))
    assert client.post(withdraw, data={"reason": "Xin chuyển khoản."}).status_code == 302
    assert db.session.get(Payment, held.id).state == "failed"
    # The receipt typed at the desk meanwhile: refused, saying what happened and what to do if the money went out.
    late = client.post(
        f"/caseworker/claims/{held.claim_id}/cash-receipt", data={"receipt_number": "BL 0043", "confirmed": "1"}
    )
    assert late.status_code == 409
    assert "đã được rút khỏi danh sách chi tiền mặt (lý do: Xin chuyển khoản.)" in _text(late)
    assert "hãy đưa hồ sơ trở lại danh sách chi tiền mặt" in _text(late)


def _posted_twice(action: str, caseworker) -> tuple[int, dict[str, str], str]:
    """The claim a case page action acts on, the post, and what the case says once it is done."""
    from disburse.verification import review

    if action in ("contact", "request-info"):
        claim_id = create_claim("needs_review").id
        seen = str(review.last_event_id(claim_id))  # as the form carries it
        if action == "contact":
            post = {"channel": "phone", "outcome": "no_answer", "note": "Gọi hai lần.", "seen": seen}
            return claim_id, post, "Đã ghi lần liên hệ."
        post = {"addressee": "employer", "note": "Gửi bản sao hợp đồng lao động.", "seen": seen}
        return claim_id, post, "Đã ghi yêu cầu bổ sung thông tin."
    if action in ("assign", "release", "approve", "reject"):
        claim_id = create_claim("needs_review").id
        if action == "release":
            review.assign(claim_id, caseworker)
        post = {
            "approve": {"note": "Đã xác minh."},
            "reject": {
                "reason_code": "not_employed_on_cutoff",
                "reason_text": "Đã nghỉ việc trước ngày chốt danh sách.",
                "confirmed": "1",  # its second step (the first reads it back)
            },
        }.get(action, {})
        done = {
            "assign": "Bạn đã nhận xử lý hồ sơ này.",
            "release": "Hồ sơ đã được trả lại hàng chờ.",
            "approve": "Hồ sơ đã được duyệt.",
            "reject": "Hồ sơ đã bị từ chối.",
        }[action]
        return claim_id, post, done
    if action == "duplicates":
        claim_id = create_duplicate_group("needs_review")[0].id
        return claim_id, {"keep": str(claim_id)}, "Đã ghi quyết định về hồ sơ nghi trùng."
    if action in ("cash-receipt", "cash-withdraw"):
        claim_id = create_cash_payment().claim_id
        if action == "cash-receipt":
            return claim_id, {"receipt_number": "BL 0001", "confirmed": "1"}, "Đã ghi nhận chi trả tiền mặt"
        return claim_id, {"reason": "Không đến nhận được."}, "Đã rút khỏi danh sách chi tiền mặt"
    claim = create_claim("awaiting_payment_details")
    if action == "payment-details":
        return claim.id, {"bank_code": "BIDV", "bank_account": "1234567890", "confirmed": "1"}, "Đã sửa thông tin"
    if action == "cash":
        return claim.id, {"reason": "Không có tài khoản."}, "Hồ sơ chuyển sang nhận tiền mặt tại cơ quan BHXH"
    assert action == "offer-dismiss"
    offer = create_offer(claim)
    return claim.id, {"offer": str(offer.id), "reason": "Không phải tài khoản của người lao động."}, "Đã bỏ qua đề nghị"


def _written(claim_id: int) -> tuple[list[int], list[int], int]:
    """Everything an action on the claim writes: its events, its payments' events, audit entries."""
    from disburse.auth.models import AuditLog
    from disburse.payments.models import PaymentEvent

    payment_events = select(PaymentEvent.id).join(Payment, Payment.id == PaymentEvent.payment_id)
    return (
        [event.id for event in _events(claim_id)],
        list(db.session.scalars(payment_events.where(Payment.claim_id == claim_id).order_by(PaymentEvent.id))),
        db.session.scalar(select(func.count()).select_from(AuditLog)) or 0,
    )


@pytest.mark.parametrize(
    "action",
    [
        "assign",
        "release",
        "approve",
        "reject",
        "duplicates",
        "payment-details",
        "cash",
        "cash-receipt",
        "cash-withdraw",
        "offer-dismiss",
        "contact",
        "request-info",
    ],
)
def test_every_case_page_action_posted_twice_says_the_second_time_that_it_is_done(
    signed_in, caseworker, app, monkeypatch, action
):
    """A double submit (or the same form posted again after going back) finds what it asks for done: it goes back to
    the case saying so, as the first did, and writes nothing (it was a 409: taking a payment off the cash list found
    no cash payment waiting, offering cash found the claim no longer waiting for details). A contact attempt or an
    information request names the claim's latest event its form showed: the same post again records nothing more
    (a new contact, after, is recorded: its form shows the first; the same request, still open, is not)."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)  # money is handed over inside the payment period
    claim_id, post, done = _posted_twice(action, caseworker)
    url, case = f"/caseworker/claims/{claim_id}/{action}", f"/caseworker/claims/{claim_id}"
    first = signed_in.post(url, data=post)
    assert first.status_code == 302 and first.headers["Location"] == case
    assert done in _text(signed_in.get(case))
    db.session.expire_all()
    state, written = db.session.get(Claim, claim_id).state, _written(claim_id)

    second = signed_in.post(url, data=post)
    assert second.status_code == 302 and second.headers["Location"] == case, _text(second)
    assert done in _text(signed_in.get(case))
    db.session.expire_all()
    assert (db.session.get(Claim, claim_id).state, _written(claim_id)) == (state, written)
    if action in ("contact", "request-info"):
        # The same words again from a form opened after: a contact is new work, recorded; the same request for
        # information, still open, would show the addressee the same request twice (test_request_info_once).
        seen = re.search(r'name="seen" type="hidden" value="(\d+)"', signed_in.get(url).get_data(as_text=True))
        assert seen is not None and signed_in.post(url, data={**post, "seen": seen.group(1)}).status_code == 302
        assert len(_written(claim_id)[0]) == len(written[0]) + (1 if action == "contact" else 0)


def test_supervisors_do_not_handle_cash(client):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    claim = create_claim("awaiting_payment_details")
    sign_in(client, supervisor)
    assert client.get(f"/caseworker/claims/{claim.id}/cash").status_code == 403


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            [
                "Không thể duyệt hồ sơ đang ở trạng thái “Đã chi trả”.",
                "Không thể từ chối hồ sơ đang ở trạng thái “Đã chi trả”.",
                "Không thể sửa thông tin tài khoản của hồ sơ đang ở trạng thái “Đã chi trả”.",
                "Chỉ chuyển sang nhận tiền mặt khi hồ sơ chờ bổ sung thông tin tài khoản",
                "Hồ sơ không có khoản chi tiền mặt nào đang chờ chi tại cơ quan BHXH.",
                "Hồ sơ không có khoản chi tiền mặt nào đang chờ chi tại cơ quan BHXH.",
                "Hồ sơ đã kết thúc (“Đã chi trả”): không cần yêu cầu bổ sung thông tin.",
                "Hồ sơ không có hồ sơ nghi trùng nào cần xử lý.",
            ],
        ),
        (
            "en",
            [
                "A claim that is “Paid” cannot be approved.",
                "A claim that is “Paid” cannot be refused.",
                "The payment details of a claim that is “Paid” cannot be corrected.",
                "Cash at the office is offered only to a claim awaiting payment details",
                "The claim has no cash payment waiting at the office.",
                "The claim has no cash payment waiting at the office.",
                "The claim is closed (“Paid”): no information needs to be requested.",
                "The claim has no possible duplicates to decide.",
            ],
        ),
    ],
)
def test_an_action_form_opened_for_a_claim_it_cannot_act_on_goes_back_to_the_case_saying_why(
    client, caseworker, locale, words
):
    """A link kept from before, or a URL typed: the form is not offered for a claim whose state refuses it (the
    case page offers no such link either); a POST is refused by the service as before."""
    paid = create_payment(create_claim("payment_pending"), "paid")
    claims.transition(paid.claim_id, ClaimAction.PAYMENT_SUCCEEDED)
    sign_in(client, caseworker, locale)
    paths = ("approve", "reject", "payment-details", "cash", "cash-receipt", "cash-withdraw", "request-info")
    for path, message in zip((*paths, "duplicates"), words, strict=True):
        response = client.get(f"/caseworker/claims/{paid.claim_id}/{path}")
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/caseworker/claims/{paid.claim_id}"
        assert message in _text(client.get(response.headers["Location"])), path
    assert client.post(f"/caseworker/claims/{paid.claim_id}/approve", data={}).status_code == 409
    assert db.session.get(Claim, paid.claim_id).state == "paid"


def test_possible_duplicates_outside_the_scope_are_said_and_left_to_a_wider_scope(client, caseworker):
    mine, far = create_duplicate_group("needs_review", districts=(DONG_ANH, QUAN_1))
    sign_in(client, caseworker)
    page = client.get(f"/caseworker/claims/{mine.id}")
    assert "1 hồ sơ nghi trùng nằm ngoài phạm vi của bạn" in _text(page)
    assert f"/caseworker/claims/{mine.id}/duplicates" not in page.get_data(as_text=True)
    assert f"/caseworker/claims/{far.id}" not in page.get_data(as_text=True)
    form = client.get(f"/caseworker/claims/{mine.id}/duplicates")
    assert form.status_code == 302
    assert "1 hồ sơ nghi trùng nằm ngoài phạm vi của bạn" in _text(client.get(form.headers["Location"]))
    # Approval waits for the group's decision: not offered, and the page says why.
    assert f"/caseworker/claims/{mine.id}/approve" not in page.get_data(as_text=True)
    assert "Hãy xử lý nghi trùng trước khi duyệt" in _text(page)
    approve = client.get(f"/caseworker/claims/{mine.id}/approve")
    assert approve.status_code == 302 and "Hãy xử lý nghi trùng trước khi duyệt" in _text(
        client.get(approve.headers["Location"])
    )
    # Whoever the far claim's person is stays unsaid: the refusal counts it, on the page and from the API.
    far_si = db.session.get(Employee, far.employee_id).si_code
    refused = client.post(f"/api/v1/claims/{mine.id}/approve", json={"checked": ["possible_duplicate"]})
    assert refused.status_code == 409 and refused.get_json()["error"] == "duplicates_undecided"
    for said in (_text(page), refused.get_json()["message"]):
        assert far_si not in said and "1 hồ sơ ngoài phạm vi của bạn" in said, said

    admin = create_user("admin", password=PASSWORD)  # the whole country
    client.post("/logout")
    sign_in(client, admin)
    page = client.get(f"/caseworker/claims/{mine.id}")
    assert "ngoài phạm vi" not in _text(page) and f"/caseworker/claims/{mine.id}/duplicates" in page.get_data(
        as_text=True
    )
    assert client.get(f"/caseworker/claims/{mine.id}/duplicates").status_code == 200


def test_the_timeline_names_who_a_claim_was_assigned_to(client, caseworker):
    """A supervisor gives a case to a caseworker: the timeline names the caseworker (an e-mail, never a user's
    number); taking a case for oneself names nobody twice."""
    from disburse.verification import review

    claim = create_claim("needs_review")
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    review.assign(claim.id, supervisor, caseworker.id)
    sign_in(client, caseworker, "en")
    text = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert f"{supervisor.email} Assigned to {caseworker.email}." in text
    assert "user " + str(caseworker.id) not in text
    sign_in(client, caseworker, "vi")
    assert f"Giao cho {caseworker.email}." in _text(client.get(f"/caseworker/claims/{claim.id}"))


def test_a_decided_claim_no_longer_lists_what_needs_checking_nor_offers_release(client, caseworker):
    from disburse.verification import review

    claim = create_claim("needs_review", reasons=["zero_months"])
    sign_in(client, caseworker)
    review.assign(claim.id, caseworker)
    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert "Những điểm cần xác minh" in page and "Trả lại hàng chờ" in page
    review.reject(claim.id, caseworker, "not_employed_on_cutoff", "Không có tháng đóng chưa hưởng.")
    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert "Những điểm cần xác minh" not in page and "Trả lại hàng chờ" not in page
    assert "Không có tháng đóng chưa hưởng." in page  # the timeline keeps why


def test_no_staff_form_lets_the_browser_remember_what_was_typed():
    """Staff type other people's IDs, phones and accounts on shared office computers: no caseworker form offers them
    back to the next user (the person's own page, by contrast, names its fields for their browser to fill)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "templates" / "caseworker"
    forms = [
        (path.name, tag) for path in folder.glob("*.html") for tag in re.findall(r"<form\b[^>]*>", path.read_text())
    ]
    assert len(forms) > 10
    assert [(name, tag) for name, tag in forms if 'autocomplete="off"' not in tag] == []


@pytest.mark.parametrize(("locale", "label"), [("vi", "Hồ sơ nghi trùng"), ("en", "Possible duplicates")])
def test_the_duplicates_table_scrolls_by_keyboard_and_is_named(client, caseworker, locale, label):
    """The side-by-side table is wider than a phone: its scroll box takes the focus (the arrow keys scroll it) and a
    screen reader names it, in the page's language, on the case page and on the decision's page; and so does every
    other scroll box of every page."""
    from pathlib import Path

    claim = create_duplicate_group("needs_review")[0]
    sign_in(client, caseworker, locale)
    box = f'<div class="table-scroll" tabindex="0" role="region" aria-label="{label}"> <table class="side-by-side">'
    for path in ("", "/duplicates"):
        page = client.get(f"/caseworker/claims/{claim.id}{path}").get_data(as_text=True)
        assert box in re.sub(r"\s+", " ", page), path

    # Every box is the macro's (templates/components/tables.html), named by a heading or caption or words; the one
    # box still written by hand (the case page's other declarations, a warning panel) is named too.
    folder = Path(__file__).resolve().parents[2] / "templates"
    texts = {path.relative_to(folder).as_posix(): path.read_text() for path in folder.rglob("*.html")}
    calls = [
        (name, call) for name, text in texts.items() for call in re.findall(r"scrolling_table\((.*?)\) %\}", text, re.S)
    ]
    assert len(calls) > 20
    assert [(name, call) for name, call in calls if not re.search(r"\blabel(ledby)?=", call)] == []
    hand = re.compile(r'<div class="[^"]*table-scroll[^>]*>')
    boxes = [(name, tag) for name, text in texts.items() for tag in hand.findall(text)]
    named = re.compile(r'tabindex="0" role="region" aria-label(ledby)?="[^"]')
    assert [(name, tag) for name, tag in boxes if not named.search(tag)] == []


@pytest.mark.parametrize(
    ("locale", "words"),
    [("vi", ("Thu hồi (tiền bị ngân hàng trả lại", "Chờ thu hồi")), ("en", ("Recoveries (money the bank", "Owed"))],
)
def test_a_return_after_settlement_shows_its_recovery_on_the_case(client, caseworker, locale, words):
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    payment = create_payment(state="sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.PAID)], source="poll")
    returned = StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, reason_code="rjct.returned")
    assert apply_updates("sandbox", [returned], source="poll").recoveries == 1
    sign_in(client, caseworker, locale)
    html = client.get(f"/caseworker/claims/{payment.claim_id}").get_data(as_text=True)
    recoveries = html.split('id="recoveries"', 1)[1].split("</table>", 1)[0]
    assert words[0] in _text(client.get(f"/caseworker/claims/{payment.claim_id}"))
    assert payment.provider_reference in recoveries and words[1] in recoveries
    amount = f"{payment.amount_vnd:,}".replace(",", ".") + " ₫" if locale == "vi" else f"VND {payment.amount_vnd:,}"
    assert amount in recoveries and ("0 ₫" if locale == "vi" else "VND 0") in recoveries
    assert 'id="recoveries"' not in client.get(f"/caseworker/claims/{create_payment().claim_id}").get_data(as_text=True)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_cash_desk_lists_the_districts_open_cash_payments_with_their_receipt_forms(
    client, caseworker, app, monkeypatch, locale
):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    waiting = [create_cash_payment() for _ in range(2)]
    far = create_cash_payment(employee=create_employee(district_code=QUAN_1))
    sign_in(client, caseworker, locale)

    response = client.get("/caseworker/cash-desk")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    listed = html.split('id="cash-list"', 1)[1].split("</table>", 1)[0]
    for payment in waiting:
        assert payment.provider_reference in listed
        assert f'href="/caseworker/claims/{payment.claim_id}/cash-receipt?from=desk"' in listed
        born = db.session.get(Employee, db.session.get(Claim, payment.claim_id).employee_id).date_of_birth
        assert f"<td>{born:%d/%m/%Y}</td>" in listed  # with the ID's last four digits, what the card is checked by
    assert far.provider_reference not in listed
    total = sum(p.amount_vnd for p in waiting)
    vi_total = f"{total:,}".replace(",", ".")
    words = f"2 người, tổng {vi_total} ₫" if locale == "vi" else f"2 people, VND {total:,} in all"
    assert words in _text(response)
    # Paid at the counter: off the list.
    client.post(
        f"/caseworker/claims/{waiting[0].claim_id}/cash-receipt", data={"receipt_number": "BL 0001", "confirmed": "1"}
    )
    assert waiting[0].provider_reference not in client.get("/caseworker/cash-desk").get_data(as_text=True)
    # Another day's lists: none; a day that is not one, said on its field.
    assert 'id="cash-list"' not in client.get("/caseworker/cash-desk?day=01/01/2030").get_data(as_text=True)
    bad = client.get("/caseworker/cash-desk?day=31/02/2022")
    assert bad.status_code == 422 and "31/02/2022" in _text(bad)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_cash_desk_finds_the_person_at_the_counter(client, caseworker, app, monkeypatch, locale):
    """Thousands wait at a district's counter: the person is found by a part of the name (with or without accents),
    the first digits of the SI code, or the payment reference on their notice."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    lan = create_cash_payment(employee=create_employee(full_name="Trần Thị Lan"))
    hung = create_cash_payment(employee=create_employee(full_name="Nguyễn Văn Hùng"))
    sign_in(client, caseworker, locale)

    def found(q: str) -> set[str]:
        page = client.get("/caseworker/cash-desk", query_string={"q": q})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        listed = html.split('id="cash-list"', 1)[1].split("</table>", 1)[0] if 'id="cash-list"' in html else ""
        return {p.provider_reference for p in (lan, hung) if p.provider_reference in listed}

    assert found("tran thi") == {lan.provider_reference}
    assert found("HÙNG") == {hung.provider_reference}
    assert found(db.session.get(Employee, db.session.get(Claim, hung.claim_id).employee_id).si_code[:6]) >= {
        hung.provider_reference
    }
    assert found(lan.provider_reference.lower()) == {lan.provider_reference}
    assert found("không có ai") == set()
    said = {"vi": "Tìm thấy 1 người cho “tran thi”.", "en": "Found 1 person for “tran thi”."}[locale]
    assert said in _text(client.get("/caseworker/cash-desk", query_string={"q": "tran thi"}))
    assert client.get("/caseworker/cash-desk", query_string={"q": "x" * 101}).status_code == 422


def test_the_cash_desk_list_is_paged_with_the_whole_lists_count_and_total(client, caseworker, app, monkeypatch):
    """A district paying hundreds in cash: 489 rows on one page were some 500 tab stops; 100 a page now, the count
    and the total still the whole list's, the filters kept from page to page."""
    from disburse.casework import views

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    monkeypatch.setattr(views, "CASH_DESK_PAGE", 2)
    waiting = [create_cash_payment() for _ in range(5)]
    sign_in(client, caseworker)
    seen = []
    page = client.get("/caseworker/cash-desk").get_data(as_text=True)
    for number in (1, 2, 3):
        assert f"Trang {number} / 3" in page
        seen += re.findall(
            r'href="/caseworker/claims/(\d+)/cash-receipt\?from=desk"', page.split('id="cash-list"', 1)[1]
        )
        assert "5 người, tổng" in _text_of(page)
        following = re.search(r'href="([^"]+)" rel="next"', page)
        if number < 3:
            page = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
        else:
            assert following is None and 'rel="prev"' in page
    assert sorted(int(n) for n in seen) == sorted(p.claim_id for p in waiting)
    beyond = client.get("/caseworker/cash-desk?page=99").get_data(as_text=True)
    assert "Trang 3 / 3" in beyond  # past the end: the last page
    refused = client.get("/caseworker/cash-desk?page=0")
    assert refused.status_code == 422 and "Trang không hợp lệ." in refused.get_data(as_text=True)


def _text_of(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_the_cash_desk_of_a_wider_scope_asks_for_the_office(client):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    payment = create_cash_payment()
    sign_in(client, supervisor)
    first = client.get("/caseworker/cash-desk").get_data(as_text=True)
    assert 'name="district"' in first and 'id="cash-list"' not in first
    listed = client.get(f"/caseworker/cash-desk?district={DONG_ANH}").get_data(as_text=True)
    assert payment.provider_reference in listed
    assert "/cash-receipt" not in listed  # a supervisor reads the list; caseworkers record the receipts
    assert client.get(f"/caseworker/cash-desk?district={QUAN_1}").status_code == 404


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_cash_payment_on_the_offices_list_reads_as_waiting_there_not_at_a_bank(client, caseworker, locale):
    cash = create_cash_payment(district_code=DONG_ANH)
    bank = create_payment(create_claim("payment_pending", district_code=DONG_ANH), "sent")
    sign_in(client, caseworker, locale)
    at_the_office = {"vi": "Chờ chi tại cơ quan BHXH", "en": "Waiting at the office"}[locale]
    at_a_bank = {"vi": "Đã gửi ngân hàng", "en": "Sent to bank"}[locale]
    page = _text(client.get(f"/caseworker/claims/{cash.claim_id}"))
    assert at_the_office in page and at_a_bank not in page
    page = _text(client.get(f"/caseworker/claims/{bank.claim_id}"))
    assert at_a_bank in page and at_the_office not in page


def test_the_queue_says_why_the_money_did_not_arrive_for_claims_waiting_for_details(signed_in):
    """A claim waiting for new bank details showed "—" as its reason: the payment's failure is what to act on."""
    from disburse.payments.reasons import label

    claim = create_claim("awaiting_payment_details", district_code=DONG_ANH)
    create_payment(claim, "failed", failure_code="AC04")
    html = signed_in.get("/caseworker/queue?state=awaiting_payment_details").get_data(as_text=True)
    row = next(r for r in html.split("<tr") if f'/caseworker/claims/{claim.id}"' in r)
    assert label("AC04")[0] in unescape(row)


def test_the_details_form_says_a_claim_without_an_account_has_none(signed_in):
    """It said "Tài khoản hiện tại: — ." for a claim without bank details."""
    claim = create_claim("needs_review", reasons=["bank_details_missing"], bank_code=None, bank_account=None)
    said = _text(signed_in.get(f"/caseworker/claims/{claim.id}/payment-details"))
    assert "Tài khoản hiện tại: Chưa có." in said and "— ." not in said
