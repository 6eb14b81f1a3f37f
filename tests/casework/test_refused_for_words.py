"""Why a claim was refused is said in the words its written notice prints, wherever it is said: the case page, the
review queue and the API's list, as the notice, the unit's page and the person's page say it. A refusal for the
ended payment period gave the review label there ("… cán bộ nghiệp vụ cần xem xét"), which asks a caseworker to
decide, not why the claim was refused."""

from __future__ import annotations

import html
import re

from disburse.auth.service import create_token
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_user

AFTER = "2022-09-11"  # the day after NQ116's last payable day
REFUSED_VI = "Đã hết thời hạn chi trả của chương trình: khoản hỗ trợ không còn được chi trả sau thời hạn này."
REFUSED_EN = "The programme's payment period has ended: the support can no longer be paid after it."
REVIEW_VI = "cán bộ nghiệp vụ cần xem xét"


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_a_refusal_for_the_ended_period_is_said_as_the_notice_says_it(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", AFTER)
    claim = create_claim(
        "needs_review", employee=create_employee(district_code="017"), reasons=["payment_period_ended"]
    )
    lan = create_user("caseworker", district="017", password=PASSWORD)
    review.reject(claim.id, lan, "payment_period_ended", "Chương trình đã hết hạn chi trả ngày 10/09/2022.")
    sign_in(client, lan)

    case = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert f"Lý do từ chối: {REFUSED_VI}" in case
    queue = _text(client.get("/caseworker/queue?state=rejected"))
    assert REFUSED_VI in queue  # (the review label stays among the filter's reasons)

    headers = {"Authorization": f"Bearer {create_token(lan)}", "Accept-Language": "en"}
    rows = client.get("/api/v1/claims?state=rejected", headers=headers).get_json()["claims"]
    [row] = [row for row in rows if row["id"] == claim.id]
    assert row["refused_for"] == [{"code": "payment_period_ended", "label_vi": REFUSED_VI, "label_en": REFUSED_EN}]
    # What verification found stays as it found it (the claim's reasons, in review's words).
    assert REVIEW_VI in row["reasons"][0]["label_vi"]


def test_a_refusal_for_another_reason_is_said_in_its_written_words(client, db_session):
    """The case page said "Lý do từ chối: Lý do khác, nêu cụ thể trong thông báo gửi người lao động." (its label, an
    instruction to the caseworker) and the reason itself only in the timeline: it gives the written reason, as the
    notice prints it."""
    claim = create_claim("needs_review", employee=create_employee(district_code="017"), reasons=["zero_months"])
    lan = create_user("caseworker", district="017", password=PASSWORD)
    review.reject(claim.id, lan, "other", "Đã hưởng trợ cấp một lần khi nghỉ việc tại đơn vị cũ.")
    sign_in(client, lan, "en")
    case = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert "Refused because: Đã hưởng trợ cấp một lần khi nghỉ việc tại đơn vị cũ." in case
    assert "Another reason, stated in full" not in case
