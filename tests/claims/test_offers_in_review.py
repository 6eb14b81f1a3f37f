"""A claim in review takes the person's offer of bank details only when its review is about them: its reasons say the
details are missing or an account we cannot pay. A claim in review for anything else (a possible duplicate, months
to check) takes none: nothing is written and the public page answers exactly as for anyone else."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from disburse.casework import service as casework
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.person_details import open_offer, takes_offers, takes_offers_clause
from disburse.extensions import db
from tests.claims.test_person_details import BORN, SENT, details_form, offer_details
from tests.factories import create_claim, create_employee, create_user

#: Offers are taken while the programme pays: the clock on a day of its payment period (the real one is past it, after
#: which the public page takes nothing).
pytestmark = pytest.mark.usefixtures("paying_clock")


def _in_review(reasons: list[str], **overrides: object) -> Claim:
    person = create_employee(date_of_birth=BORN, district_code="017")
    return create_claim("needs_review", employee=person, district_code="017", reasons=reasons, **overrides)


def _offers(claim: Claim) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ClaimEvent)
            .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "offer_details")
        )
        or 0
    )


def _takes_in_sql(claim: Claim) -> bool:
    return db.session.scalar(select(Claim.id).where(Claim.id == claim.id, takes_offers_clause())) is not None


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize(
    ("reasons", "details"),
    [
        (["bank_details_missing"], {"bank_code": None, "bank_account": None}),
        (["bank_details_malformed"], {"bank_account": "12"}),
        # A possible duplicate whose details are missing too: the details part of the review takes the offer.
        (["possible_duplicate", "bank_details_missing"], {"bank_code": None, "bank_account": None}),
    ],
)
def test_a_claim_in_review_for_its_bank_details_takes_the_offer(db_session, reasons, details):
    claim = _in_review(reasons, **details)
    assert takes_offers(claim) and _takes_in_sql(claim)
    offer = offer_details(claim)
    assert offer.errors == {} and offer.event is not None
    assert offer.event.data["bank_account"] == "21510001234567"
    assert open_offer(db.session.get(Claim, claim.id)) == offer.event


@pytest.mark.parametrize(
    "reasons",
    [
        ["possible_duplicate"],
        ["near_duplicate", "listed_twice"],
        ["zero_months"],
        ["amount_changed"],
        ["not_confirmed_by_employer"],
        ["bank_reports_money_moved"],
        [],
    ],
)
def test_a_claim_in_review_for_anything_else_takes_no_offer(db_session, reasons):
    claim = _in_review(reasons)
    assert not takes_offers(claim) and not _takes_in_sql(claim)
    offer = offer_details(claim)
    assert offer.errors == {} and offer.event is None
    assert _offers(claim) == 0 and open_offer(db.session.get(Claim, claim.id)) is None


def test_the_public_page_answers_a_claim_in_review_for_a_duplicate_as_one_in_review_for_its_details(client, db_session):
    """Taken or not, the person reads the same words: the page tells nobody whether, or why, their claim is in
    review."""
    details = _in_review(["bank_details_missing"], bank_code=None, bank_account=None)
    duplicate = _in_review(["possible_duplicate"])
    taken = client.post("/people/payment-details", data=details_form(details))
    not_taken = client.post("/people/payment-details", data=details_form(duplicate))
    nobody = client.post("/people/payment-details", data=details_form(duplicate, si_code="9999999999"))
    assert taken.status_code == not_taken.status_code == nobody.status_code == 200
    assert SENT in _text(taken)
    assert _text(taken).replace(" ", "") == _text(not_taken).replace(" ", "") == _text(nobody).replace(" ", "")
    assert (_offers(details), _offers(duplicate)) == (1, 0)


def test_details_corrected_in_review_take_no_further_offer(db_session):
    """The caseworker's correction answers the review's question about the details (their reasons leave the claim):
    a later offer for the claim, still in review, is not taken."""
    claim = _in_review(["bank_details_malformed", "zero_months"], bank_account="12")
    assert offer_details(claim).event is not None
    caseworker = create_user("caseworker", district="017")
    assert casework.correct_payment_details(claim.id, caseworker, "BIDV", "21510001234567").outcome == "corrected"
    db.session.refresh(claim)
    assert claim.state == "needs_review" and claim.reasons == ["zero_months"]
    assert offer_details(claim, bank_account="21510009999999").event is None
    assert _offers(claim) == 1 and open_offer(claim) is None


@pytest.mark.parametrize("state", ["awaiting_payment_details", "payment_failed"])
def test_a_claim_whose_payment_failed_takes_the_offer_whatever_its_old_reasons(db_session, state):
    person = create_employee(date_of_birth=BORN, district_code="017")
    claim = create_claim(state, employee=person, district_code="017", reasons=["possible_duplicate"])
    assert takes_offers(claim) and _takes_in_sql(claim)
    assert offer_details(claim).event is not None
