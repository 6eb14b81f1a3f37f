"""A first-user review's findings, through a signed-in caseworker on real PostgreSQL: the approval page shows what
verification found and who holds the claim, and asks (the server requires) the caseworker's word that they checked
it; an approved claim offers no casework (nor does the server take it); the desk's Form 04 page gives each field its
own id; the home page's figures open the queue filtered to what they count."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user

#: These tests approve: the programme clock is a day of its payment period.
pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH = "017"
LATE_UNIT = "not_confirmed_by_employer"


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


def _text(response) -> str:
    """The page's text without tags, spaces collapsed (what a person reads)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _events(claim_id: int, action: str) -> list[ClaimEvent]:
    mine = select(ClaimEvent).where(ClaimEvent.claim_id == claim_id, ClaimEvent.action == action)
    return list(db.session.scalars(mine.order_by(ClaimEvent.id)))


def _late_unit_claim() -> Claim:
    """A claim in review because its unit did not confirm the person on Form 02 in time."""
    return create_claim("needs_review", reasons=[LATE_UNIT], district_code=DONG_ANH)


# ---------------------------------------------------------------------------------------------- the approval page


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            {
                "reason": "Đơn vị chưa xác nhận người lao động (Mẫu số 02) trong thời hạn",
                "tick": "Tôi đã kiểm tra các nội dung trên",
                "holder": "Chưa có cán bộ nào nhận xử lý hồ sơ này.",
                "error": "Hãy kiểm tra các nội dung cần xác minh ở trên rồi đánh dấu “Tôi đã kiểm tra các nội dung "
                "trên” trước khi duyệt.",
                "timeline": "Cán bộ xác nhận đã kiểm tra các nội dung cần xác minh.",
            },
        ),
        (
            "en",
            {
                "reason": "The employer did not confirm the person on Form 02 in time",
                "tick": "I have checked the above",
                "holder": "No caseworker has taken this claim.",
                "error": "Check the points above that needed checking, then tick “I have checked the above” before "
                "approving.",
                "timeline": "The caseworker confirmed they had checked what needed checking.",
            },
        ),
    ],
)
def test_the_approval_page_shows_what_needed_checking_and_requires_the_tick(client, caseworker, locale, words):
    claim = _late_unit_claim()
    sign_in(client, caseworker, locale)
    url = f"/caseworker/claims/{claim.id}/approve"

    page = client.get(url)
    assert page.status_code == 200
    said = _text(page)
    assert words["reason"] in said and words["tick"] in said and words["holder"] in said
    # The same reasons as the case page shows.
    assert words["reason"] in _text(client.get(f"/caseworker/claims/{claim.id}"))

    # Not ticked: refused, nothing changed, the note kept as typed, the error on the box.
    refused = client.post(url, data={"note": "Đã gọi đơn vị, xác nhận còn làm việc."})
    assert refused.status_code == 422
    assert words["error"] in _text(refused)
    assert 'href="#checked"' in refused.get_data(as_text=True)
    assert "Đã gọi đơn vị, xác nhận còn làm việc." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review" and not _events(claim.id, "approve")

    # Ticked: approved through the one path; the event keeps what the caseworker confirmed checking.
    done = client.post(url, data={"note": "Đã gọi đơn vị.", "checked": "y"})
    assert done.status_code == 302 and done.headers["Location"] == f"/caseworker/claims/{claim.id}"
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "approved"
    (event,) = _events(claim.id, "approve")
    assert event.data == {"checked": [LATE_UNIT]} and event.reason == "Đã gọi đơn vị." and event.actor_id
    assert words["timeline"] in _text(client.get(f"/caseworker/claims/{claim.id}"))


def test_a_claim_with_nothing_found_is_approved_without_the_tick(client, caseworker):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    sign_in(client, caseworker)
    page = client.get(f"/caseworker/claims/{claim.id}/approve").get_data(as_text=True)
    assert 'name="checked"' not in page and "Những điểm cần xác minh" not in page
    assert client.post(f"/caseworker/claims/{claim.id}/approve", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "approved"
    assert _events(claim.id, "approve")[0].data is None


@pytest.mark.parametrize(
    ("locale", "mine", "others", "in_their_place"),
    [
        (
            "vi",
            "Bạn đang xử lý hồ sơ này.",
            "Hồ sơ đang do {who} xử lý, không phải bạn: bạn không duyệt được.",
            "Hồ sơ đang do {who} xử lý, không phải bạn. Nếu duyệt, bạn duyệt thay người đó.",
        ),
        (
            "en",
            "You hold this claim.",
            "{who} holds this claim, not you: you cannot approve it.",
            "{who} holds this claim, not you. If you approve it, you approve it in their place.",
        ),
    ],
)
def test_the_approval_page_says_who_holds_the_claim(client, caseworker, locale, mine, others, in_their_place):
    claim = _late_unit_claim()
    colleague = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    review.assign(claim.id, colleague)
    db.session.commit()
    url = f"/caseworker/claims/{claim.id}/approve"

    sign_in(client, caseworker, locale)
    page = client.get(url)
    assert others.format(who=colleague.email) in _text(page)
    assert 'name="checked"' not in page.get_data(as_text=True)  # no form to post that would be refused
    refused = client.post(url, data={"checked": "y"})
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review"

    client.post("/logout")
    sign_in(client, colleague, locale)
    assert mine in _text(client.get(url))

    client.post("/logout")
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    page = client.get(url)
    assert in_their_place.format(who=colleague.email) in _text(page)
    assert 'name="checked"' in page.get_data(as_text=True)


# ------------------------------------------------------------------------------------- no casework once approved


@pytest.mark.parametrize(
    ("locale", "take", "ask", "refused", "no_request"),
    [
        (
            "vi",
            "Nhận xử lý",
            "Yêu cầu bổ sung thông tin",
            "Hồ sơ đang ở trạng thái “Đã duyệt”: không còn việc gì cho cán bộ nghiệp vụ, không cần nhận xử lý.",
            "Hồ sơ đang ở trạng thái “Đã duyệt”: không có việc gì cần yêu cầu bổ sung thông tin.",
        ),
        (
            "en",
            "Take this claim",
            "Request information",
            "The claim is “Approved”: there is nothing left for a caseworker to do on it, so it is not taken.",
            "The claim is “Approved”: there is nothing to request information for.",
        ),
    ],
)
def test_an_approved_claim_offers_no_casework_and_is_not_taken(
    client, caseworker, locale, take, ask, refused, no_request
):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    sign_in(client, caseworker, locale)
    case = f"/caseworker/claims/{claim.id}"
    before = client.get(case).get_data(as_text=True)
    assert f"{case}/assign" in before and take in before and f"{case}/request-info" in before and ask in before

    assert client.post(f"{case}/approve", data={}).status_code == 302
    after = client.get(case).get_data(as_text=True)
    assert f"{case}/assign" not in after and take not in after
    assert f"{case}/request-info" not in after and ask not in after
    assert f"{case}/reject" in after  # a refusal stays possible from approved, as the state machine says

    taken = client.post(f"{case}/assign")
    assert taken.status_code == 302 and taken.headers["Location"] == case
    said = _text(client.get(case))
    assert refused in said
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).assigned_to_id is None and not _events(claim.id, "assign")

    opened = client.get(f"{case}/request-info")
    assert opened.status_code == 302 and no_request in _text(client.get(opened.headers["Location"]))


def test_a_failed_payment_is_still_casework(client, caseworker):
    claim = create_claim("payment_failed", district_code=DONG_ANH)
    sign_in(client, caseworker)
    case = f"/caseworker/claims/{claim.id}"
    assert f"{case}/assign" in client.get(case).get_data(as_text=True)
    assert client.post(f"{case}/assign").status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).assigned_to_id == caseworker.id


# ------------------------------------------------------------------------------------------ Form 04 at the desk


@pytest.mark.parametrize("query", ["", "?si_code=12ab"])
def test_the_desk_form_04_page_gives_each_field_its_own_id(client, caseworker, query):
    sign_in(client, caseworker)
    page = client.get(f"/caseworker/applications/new{query}").get_data(as_text=True)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # Each label points at its own field: the look-up's (named si_code in the query string) and Form 04's.
    search = re.search(r'<form method="get".*?</form>', page, re.S)
    assert search is not None
    assert 'for="tra-cuu-si_code"' in search.group(0)
    assert re.search(r'<input[^>]*id="tra-cuu-si_code"[^>]*name="si_code"', search.group(0))
    form_04 = re.search(r'<form method="post" action="/caseworker/applications/new".*?</form>', page, re.S)
    assert form_04 is not None
    assert 'for="si_code"' in form_04.group(0)
    assert re.search(r'<input[^>]*id="si_code"[^>]*name="si_code"', form_04.group(0))
    if query:  # the look-up's error links to the look-up's field
        assert 'href="#tra-cuu-si_code"' in page


# ----------------------------------------------------------------------------------------------- the home page


def _home_link(page: str, dd_id: str) -> str:
    found = re.search(rf'<dd id="{dd_id}"><a href="([^"]+)">(\d+)</a></dd>', page)
    assert found is not None, dd_id
    return html.unescape(found.group(1))


def _listed(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', page)}


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_home_figures_open_the_queue_filtered_to_what_they_count(client, caseworker, app, monkeypatch, locale):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")
    unit = create_employer(district_code=DONG_ANH)
    late = create_claim(
        "needs_review",
        employee=create_employee(employer_id=unit.id, district_code=DONG_ANH),
        reasons=[LATE_UNIT],
        review_due_on=date(2021, 10, 20),
    )
    zero = create_claim("needs_review", district_code=DONG_ANH, reasons=["zero_months"])
    approved = create_claim("approved", district_code=DONG_ANH)
    sign_in(client, caseworker, locale)
    home = client.get("/").get_data(as_text=True)

    review_link = _home_link(home, "needs-review-count")
    in_review = _listed(client.get(review_link).get_data(as_text=True))
    assert {late.id, zero.id} <= in_review and approved.id not in in_review
    # Units counted, units listed: the district's backlog, its overdue units' table.
    overdue_link = _home_link(home, "overdue-units-count")
    assert overdue_link == "/dashboard/backlog#overdue-title"
    table = client.get(overdue_link).get_data(as_text=True).split('id="overdue-employers"', 1)[1].split("</table>")[0]
    assert unit.unit_code in table
    assert len(re.findall(r"<tr>", table)) - 1 == int(re.search(r'id="overdue-units-count"><a [^>]+>(\d+)<', home)[1])
    label = "Đơn vị quá hạn xác nhận" if locale == "vi" else "Employers overdue with Form 02"
    assert re.search(rf"<dt>{label}</dt><dd id=\"overdue-units-count\"><a ", home)


def test_an_approved_claim_stays_with_its_holder(client, caseworker):
    """Whoever took the claim keeps it once approved (to take it up again should the payment fail): the page offers
    no "return to the queue" (there is no queue for it), and the page and the API refuse it."""
    claim = create_claim("needs_review", district_code=DONG_ANH)
    sign_in(client, caseworker)
    case = f"/caseworker/claims/{claim.id}"
    assert client.post(f"{case}/assign").status_code == 302
    assert f"{case}/release" in client.get(case).get_data(as_text=True)

    assert client.post(f"{case}/approve", data={}).status_code == 302
    assert f"{case}/release" not in client.get(case).get_data(as_text=True)
    released = client.post(f"{case}/release")
    assert released.status_code == 302 and released.headers["Location"] == case
    assert "Hồ sơ đang ở trạng thái “Đã duyệt”" in _text(client.get(case))
    api = client.post(f"/api/v1/claims/{claim.id}/release", json={})
    assert api.status_code == 409 and api.get_json()["error"] == "no_casework", api.get_json()
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).assigned_to_id == caseworker.id and not _events(claim.id, "release")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_claim_another_caseworker_holds_names_them_and_offers_no_action_that_would_be_refused(
    client, caseworker, locale
):
    """Every action was offered, each form filled in then refused, and nobody said who holds the claim. A
    supervisor, who may act in the holder's place, still has them, and is told whose claim it is."""
    holder = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    claim = create_claim("needs_review", district_code=DONG_ANH)
    review.assign(claim.id, holder)
    db.session.commit()
    sign_in(client, caseworker, locale)
    url = f"/caseworker/claims/{claim.id}"
    page = client.get(url).get_data(as_text=True)
    said = {
        "vi": f"Hồ sơ đang do {holder.email} xử lý: chỉ người đó xử lý được.",
        "en": f"{holder.email} holds this claim: only they can act on it.",
    }[locale]
    assert said in _text(client.get(url))
    for action in ("approve", "reject", "decline", "contact", "request-info", "take", "release"):
        assert f'{url}/{action}"' not in page, action

    client.post("/logout")
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    sign_in(client, supervisor, locale)
    page = client.get(url).get_data(as_text=True)
    in_their_place = {"vi": "bạn vẫn có thể xử lý thay.", "en": "you may still act in their place."}[locale]
    assert in_their_place in _text(client.get(url)) and holder.email in _text(client.get(url))
    assert f'{url}/approve"' in page and f'{url}/reject"' in page
