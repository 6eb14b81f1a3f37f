"""A caseworker records the person's new phone number (the registry's, which the office calls to confirm bank details
the person offers on the public page): only for a claim they may work, only once they ticked that the person came
to the office and showed their ID card, the number checked as everywhere; Form 03's ``correct`` note with the old
and new number, by the office, audited; the same number again writes nothing. The page never fills in the number
the public page received. In Vietnamese and English."""

from __future__ import annotations

import html as html_
import re
from datetime import date

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.casework import service as casework
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import PHONE_MESSAGE
from disburse.claims.person_details import open_offer
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.registry.models import Employee
from disburse.verification import review
from tests.casework._phone_offers import offer_from_the_public_page
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_user

OLD, NEW = "0912345678", "0987654321"
#: A number someone sent with bank details on the public page: never offered on the phone's form.
OFFERED = "0977111222"
BORN = date(1988, 4, 9)


def _text(response) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _claim(state: str = "needs_review", district: str = "017") -> Claim:
    person = create_employee(district_code=district, phone=OLD, date_of_birth=BORN)
    return create_claim(state, employee=person, district_code=district, reasons=["zero_months"])


def _phone(claim: Claim) -> str | None:
    db.session.expire_all()
    employee = db.session.get(Employee, claim.employee_id)
    assert employee is not None
    return employee.phone


def _corrections(claim: Claim) -> list[ClaimEvent]:
    return list(
        db.session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "correct")
            .order_by(ClaimEvent.id)
        )
    )


def _audits() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "claim.record_phone")))


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district="017", password=PASSWORD)


def test_the_new_number_goes_to_the_registry_with_the_correct_note_and_an_audit_entry(caseworker):
    claim = _claim()
    done = casework.record_phone(claim.id, caseworker, " 0987.654.321 ", id_card_seen=True)
    assert done.changed
    assert _phone(claim) == NEW  # as phone_digits writes it, the number the office calls from now on
    [note] = _corrections(claim)
    assert done.events == [note]
    assert (note.actor_id, note.from_state, note.to_state) == (caseworker.id, "needs_review", "needs_review")
    assert note.data == {
        "by": "office",
        "received_on": programme_today().isoformat(),
        "id_card_seen": True,
        "changes": {"phone": [OLD, NEW]},
    }
    [audit] = _audits()
    assert (audit.actor_id, audit.object_type, audit.object_id) == (caseworker.id, "claim", str(claim.id))
    assert audit.data == {"event_id": note.id, "employee_id": claim.employee_id}
    assert db.session.get(Claim, claim.id).state == "needs_review"  # nothing else changes


def test_the_same_number_again_changes_nothing(caseworker):
    claim = _claim()
    assert casework.record_phone(claim.id, caseworker, NEW, id_card_seen=True).changed
    again = casework.record_phone(claim.id, caseworker, "+84 987 654 321", id_card_seen=True)
    assert not again.changed and again.events == []
    assert len(_corrections(claim)) == 1 and len(_audits()) == 1
    # The number the registry had all along: nothing to record either.
    other = _claim()
    assert not casework.record_phone(other.id, caseworker, OLD, id_card_seen=True).changed
    assert _corrections(other) == []


@pytest.mark.parametrize("typed", ["12345", "0912 345 67a", "09123456789012"])
def test_a_number_that_is_not_one_is_refused_and_nothing_is_written(caseworker, typed):
    claim = _claim()
    with pytest.raises(review.Invalid) as refused:
        casework.record_phone(claim.id, caseworker, typed, id_card_seen=True)
    assert refused.value.fields == {"phone": PHONE_MESSAGE}
    assert _phone(claim) == OLD and _corrections(claim) == [] and _audits() == []


def test_without_the_id_card_tick_it_is_refused_every_problem_at_once(caseworker):
    claim = _claim()
    with pytest.raises(review.Invalid) as refused:
        casework.record_phone(claim.id, caseworker, NEW, id_card_seen=False)
    assert set(refused.value.fields) == {"id_card_seen"}
    with pytest.raises(review.Invalid) as both:
        casework.record_phone(claim.id, caseworker, "  ", id_card_seen=False)
    assert set(both.value.fields) == {"id_card_seen", "phone"}
    assert both.value.fields["phone"] == ("Hãy ghi số điện thoại mới.", "Give the new phone number.")
    assert _phone(claim) == OLD and _corrections(claim) == [] and _audits() == []


def test_a_caseworker_of_another_district_or_not_holding_the_case_records_nothing(caseworker):
    far = _claim(district="760")
    with pytest.raises(review.NotFound):
        casework.record_phone(far.id, caseworker, NEW, id_card_seen=True)
    with pytest.raises(review.NotFound):
        casework.record_phone(far.id + 100_000, caseworker, NEW, id_card_seen=True)
    held = _claim()
    review.assign(held.id, create_user("caseworker", district="017"))
    with pytest.raises(review.Conflict) as refused:
        casework.record_phone(held.id, caseworker, NEW, id_card_seen=True)
    assert refused.value.code == "assigned_to_another"
    # A supervisor may, as with every case.
    supervisor = create_user("supervisor", province="01")
    assert casework.record_phone(held.id, supervisor, NEW, id_card_seen=True).changed
    assert _phone(far) == OLD and _corrections(far) == []


@pytest.mark.usefixtures("paying_clock")  # the public page takes the offer while the programme pays
def test_the_persons_open_offer_stays_for_the_call_the_new_number_makes_possible(caseworker):
    """A phone's correction is not a correction of the bank details: the offer waiting for the call stays offered."""
    claim = _claim("awaiting_payment_details")
    sent = offer_from_the_public_page(claim, phone=OFFERED)
    assert sent.event is not None
    casework.record_phone(claim.id, caseworker, NEW, id_card_seen=True)
    assert open_offer(db.session.get(Claim, claim.id)) == sent.event


@pytest.mark.usefixtures("paying_clock")  # the public page takes the offer while the programme pays
@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            {
                "link": "Sửa số điện thoại",
                "has": f"Số điện thoại cơ quan BHXH đang có: {OLD}.",
                "tick": "Người lao động đã trực tiếp đến cơ quan BHXH và xuất trình CMND/CCCD",
                "no_tick": "Chỉ ghi số điện thoại mới khi người lao động đến cơ quan BHXH và xuất trình CMND/CCCD",
                "bad": PHONE_MESSAGE[0],
                "done": "Đã ghi số điện thoại mới của người lao động",
                "history": f"Số điện thoại: {OLD} → {NEW}",
                "seen": "Người lao động đến cơ quan BHXH, đã xuất trình CMND/CCCD.",
                "again": f"Số điện thoại {NEW} là số cơ quan BHXH đang có; không ghi thêm.",
            },
        ),
        (
            "en",
            {
                "link": "Record a new phone number",
                "has": f"The phone number the office has: {OLD}.",
                "tick": "The person came to the office in person and showed their ID card",
                "no_tick": "Record a new phone number only for a person who came to the office and showed",
                "bad": PHONE_MESSAGE[1],
                "done": "The person's new phone number is recorded",
                "history": f"Phone: {OLD} → {NEW}",
                "seen": "The person came to the office and showed their ID card.",
                "again": f"{NEW} is the phone number the office already has; nothing more recorded.",
            },
        ),
    ],
)
def test_the_case_page_records_a_new_phone_number(client, caseworker, locale, words):
    claim = _claim("awaiting_payment_details")
    offered = offer_from_the_public_page(claim, phone=OFFERED)
    assert offered.event is not None
    sign_in(client, caseworker, locale)
    case_url, url = f"/caseworker/claims/{claim.id}", f"/caseworker/claims/{claim.id}/phone"

    case = client.get(case_url)
    assert f'<a href="{url}">{words["link"]}</a>' in case.get_data(as_text=True)
    assert OLD in _text(case)  # the registry's number, among the person's facts

    form = client.get(url)
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and words["has"] in _text(form)
    assert OFFERED not in page  # the public page's number is neither shown nor filled in
    field = re.search(r'<input[^>]*id="phone"[^>]*>', page)
    assert field is not None and 'value=""' in field.group(0)  # empty: the number is asked of the person
    assert f'<label for="id_card_seen">{words["tick"]}</label>' in page

    # Neither ticked nor a number: both said, above the form and on each field; nothing written.
    refused = client.post(url, data={"phone": "12345"})
    assert refused.status_code == 422
    text = _text(refused)
    assert text.count(words["no_tick"]) == 2 and text.count(words["bad"]) == 2
    assert 'id="id_card_seen-error"' in refused.get_data(as_text=True)
    assert _phone(claim) == OLD and _corrections(claim) == []

    done = client.post(url, data={"id_card_seen": "y", "phone": "0987 654 321"})
    assert done.status_code == 302 and done.headers["Location"] == case_url
    case = _text(client.get(case_url))
    assert words["done"] in case and words["history"] in case and words["seen"] in case
    assert _phone(claim) == NEW and len(_corrections(claim)) == 1

    again = client.post(url, data={"id_card_seen": "y", "phone": NEW})
    assert again.status_code == 302 and words["again"] in _text(client.get(case_url))
    assert len(_corrections(claim)) == 1 and len(_audits()) == 1


def test_the_link_is_not_offered_to_a_caseworker_who_may_not_work_the_case(client, caseworker):
    claim = _claim()
    review.assign(claim.id, create_user("caseworker", district="017"))
    sign_in(client, caseworker, "en")
    url = f"/caseworker/claims/{claim.id}/phone"
    assert f'href="{url}"' not in client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    refused = client.post(url, data={"id_card_seen": "y", "phone": NEW})
    assert refused.status_code == 409 and "Another caseworker holds this claim" in _text(refused)
    assert _phone(claim) == OLD
    far = _claim(district="760")
    assert client.get(f"/caseworker/claims/{far.id}/phone").status_code == 404
    posted = client.post(f"/caseworker/claims/{far.id}/phone", data={"id_card_seen": "y", "phone": NEW})
    assert posted.status_code == 404
