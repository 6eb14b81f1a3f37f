"""Every refusal reason code, wherever a refusal is given or shown: its labels in both languages, the caseworker's
form (in the page's language), the API's validation and its OpenAPI enum, the written notice (in Vietnamese words)
and the unit's status page. A new code added to the one lookup (disburse/verification/reasons.py) is checked
everywhere by the parametrised test; a place listing reasons on its own would fail it."""

from __future__ import annotations

import html
import re

import pytest

from disburse.auth.service import create_token
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.verification import reasons, review
from tests.factories import (
    GROUP_B_REFUSALS,
    create_claim,
    create_claim_refusable_for,
    create_employer,
    create_user,
)

DONG_ANH = "017"
WRITTEN = "Theo biên bản kiểm tra ngày 05/11/2021 của cơ quan bảo hiểm xã hội."


def _text(response) -> str:
    page = response.get_data(as_text=True)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _signed_in(client, user, locale: str):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    user.locale = locale
    db.session.commit()  # kept (in the test's transaction) when a view rolls its own work back
    return client


def test_a_real_office_has_reasons_for_not_employed_no_reserved_period_and_other_last():
    codes = list(review.refusal_reasons())
    assert {"not_employed_on_cutoff", "no_reserved_period", "other"} <= set(codes)
    assert codes[-1] == "other"  # "another reason" comes after the named ones on the form
    # What to check is never why a claim is refused; but one: the programme's end sends a claim to review, and is then
    # the reason its refusal gives (each worded for its use: "a caseworker must decide", "can no longer be paid").
    assert set(codes) & reasons.REVIEW == {reasons.PAYMENT_PERIOD_ENDED}
    assert review.refusal_reasons()[reasons.PAYMENT_PERIOD_ENDED] != reasons.label(reasons.PAYMENT_PERIOD_ENDED)


def _claim_it_fits(unit, code: str) -> Claim:
    return create_claim_refusable_for(code, unit)


_GROUP_B = GROUP_B_REFUSALS


@pytest.mark.parametrize("code", list(review.refusal_reasons()))
def test_every_refusal_reason_has_both_labels_and_shows_on_the_form_the_api_the_notice_and_the_unit_page(
    client, db_session, code
):
    vi, en = review.refusal_reasons()[code]
    assert (vi, en) == reasons.label(code) or code == reasons.PAYMENT_PERIOD_ENDED  # worded for the notice: above
    assert vi.strip() and en.strip() and code not in (vi, en) and vi != en

    unit = create_employer(district_code=DONG_ANH, name="Công ty TNHH Thử Lý Do")
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim = _claim_it_fits(unit, code)

    # The caseworker's form offers it, in the page's language.
    for locale, words in (("vi", vi), ("en", en)):
        form = _signed_in(client, caseworker, locale).get(f"/caseworker/claims/{claim.id}/reject")
        assert form.status_code == 200
        assert re.search(rf'<input[^>]*name="reason_code"[^>]*value="{code}"', form.get_data(as_text=True)), code
        assert words in _text(form), (locale, code)

    # The API takes it, and its document says so.
    document = client.get("/api/v1/openapi.json").get_json()
    assert code in document["components"]["schemas"]["RejectBody"]["properties"]["reason_code"]["enum"]
    token = {"Authorization": f"Bearer {create_token(caseworker)}"}
    done = client.post(
        f"/api/v1/claims/{claim.id}/reject", json={"reason_code": code, "reason_text": WRITTEN}, headers=token
    )
    assert done.status_code == 200, done.get_json()
    assert db.session.get(Claim, claim.id).state == "rejected"

    # The written notice states it in Vietnamese words, with the caseworker's written reason.
    notice = client.get(f"/api/v1/claims/{claim.id}/notice", headers=token).get_data(as_text=True)
    reason_section = notice.split("<h2>Lý do không giải quyết</h2>", 1)[1].split("<h2>", 1)[0]
    # "Another reason" is the written reason itself: its label speaks to the caseworker, not the person.
    assert (vi in reason_section) is (code != reasons.OTHER) and WRITTEN in reason_section

    # The unit's status page says why, in its user's language.
    for locale, words in (("vi", vi), ("en", en)):
        employer = create_user("employer", employer_unit=unit.unit_code)
        page = _signed_in(client, employer, locale).get(f"/employers/{unit.unit_code}")
        assert page.status_code == 200 and words in _text(page), (locale, code)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_another_reason_needs_a_written_explanation_on_the_form(client, db_session, locale):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim = create_claim("needs_review", district_code=DONG_ANH)
    response = _signed_in(client, caseworker, locale).post(
        f"/caseworker/claims/{claim.id}/reject", data={"reason_code": "other", "reason_text": "Khác."}
    )
    assert response.status_code == 422
    message = {
        "vi": "Với lý do khác, hãy ghi rõ lý do (ít nhất 15 ký tự)",
        "en": "For another reason, write the reason out (at least 15 characters)",
    }[locale]
    assert message in _text(response)
    assert db.session.get(Claim, claim.id).state == "needs_review"


def test_another_reason_needs_a_written_explanation_in_the_api_and_the_notice_prints_it(client, db_session):
    caseworker = create_user("caseworker", district=DONG_ANH)
    claim = create_claim("needs_review", district_code=DONG_ANH)
    token = {"Authorization": f"Bearer {create_token(caseworker)}"}
    url = f"/api/v1/claims/{claim.id}/reject"

    short = client.post(url, json={"reason_code": "other", "reason_text": "  Khác  "}, headers=token)
    assert short.status_code == 422 and set(short.get_json()["fields"]) == {"reason_text"}
    assert db.session.get(Claim, claim.id).state == "needs_review"

    explained = "Người lao động đã được đơn vị chi trả khoản hỗ trợ tương đương theo thỏa thuận riêng."
    assert client.post(url, json={"reason_code": "other", "reason_text": explained}, headers=token).status_code == 200
    notice = client.get(f"/api/v1/claims/{claim.id}/notice", headers=token).get_data(as_text=True)
    assert explained in notice and reasons.label("other")[0] not in notice  # the written reason is the reason


def test_a_reason_that_cannot_be_true_of_the_claim_is_neither_offered_nor_taken(client, db_session):
    """The notice prints the reason to the person: a worker still at their unit told of their pension or of a late
    Form 04, a person who applied in time told they applied late. Each such code: not on the form, a 422 from the
    API naming the field, the claim unchanged."""
    unit = create_employer(district_code=DONG_ANH)
    caseworker = create_user("caseworker", district=DONG_ANH)
    token = {"Authorization": f"Bearer {create_token(caseworker)}", "Accept-Language": "en"}
    listed = _claim_it_fits(unit, reasons.NOT_EMPLOYED_ON_CUTOFF)  # group A, on its unit's list
    in_time = _claim_it_fits(unit, reasons.NO_RESERVED_PERIOD)  # group B, Form 04 received in time
    cannot = {
        listed.id: {*_GROUP_B, reasons.APPLIED_AFTER_DEADLINE},
        in_time.id: {reasons.REASON_EXCLUDED_SECTOR, reasons.NOT_EMPLOYED_ON_CUTOFF, reasons.APPLIED_AFTER_DEADLINE},
    }
    for claim_id, codes in cannot.items():
        claim = db.session.get(Claim, claim_id)
        assert {code for code in review.refusal_reasons() if not review.refusal_applies(code, claim)} == codes
        form = _signed_in(client, caseworker, "vi").get(f"/caseworker/claims/{claim_id}/reject").get_data(as_text=True)
        offered = set(re.findall(r'name="reason_code"[^>]*value="([a-z_]+)"', form))
        assert offered and not offered & codes, offered & codes
        for code in codes:
            refused = client.post(
                f"/api/v1/claims/{claim_id}/reject", json={"reason_code": code, "reason_text": WRITTEN}, headers=token
            )
            assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"reason_code"}, code
            assert db.session.get(Claim, claim_id).state == "needs_review"
    late = client.post(
        f"/api/v1/claims/{listed.id}/reject",
        json={"reason_code": reasons.APPLIED_AFTER_DEADLINE, "reason_text": WRITTEN},
        headers=token,
    ).get_json()
    assert late["fields"]["reason_code"] == (
        "This claim has no Form 04 received after the deadline (20/12/2021): it cannot be refused for this reason."
    )
