"""Random registries and random Form 02/03/04 sequences, then verification: the final states are what a plain
Python model of the procedure says, and the rollups equal a direct count."""

from __future__ import annotations

from contextlib import suppress
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from disburse.claims import applications, employer_forms
from disburse.claims.models import Claim
from disburse.verification.service import verify
from tests.factories import create_claim, create_employer, create_person, nq116

FORMS_DAY = date(2021, 10, 25)  # inside the review and adjustment windows
APPLY_DAY = date(2021, 12, 1)  # after the track A fallback date, before the application deadline

_DECLINABLE = {"listed", "employer_overdue", "employer_confirmed", "applied", "needs_review", "approved"}
_REMOVABLE = {"listed", "employer_overdue", "employer_confirmed", "needs_review", "approved"}
_APPLICABLE = {"listed", "employer_overdue", "employer_confirmed", "needs_review"}


def _model(months: list[int], form_ops: list[tuple[str, int, bool]], applies: list[int]) -> list[str]:
    """What the procedure says, written from docs/rules.md without the code: one state per person."""
    state = ["listed"] * len(months)
    bank: list[bool | None] = [None] * len(months)
    for op, i, with_bank in form_ops:
        if op == "confirm" and state[i] == "listed":
            state[i], bank[i] = "employer_confirmed", with_bank
        elif op == "decline" and state[i] in _DECLINABLE:
            state[i] = "declined"
        elif op == "remove" and state[i] in _REMOVABLE:
            state[i] = "removed"
    for i in applies:
        if state[i] in _APPLICABLE:
            state[i] = "applied"
    # Verification: confirmed and applied claims are checked; no unused months is for a caseworker to look at.
    return [
        ("needs_review" if months[i] == 0 else "approved") if s in ("employer_confirmed", "applied") else s
        for i, s in enumerate(state)
    ]


def _row(si_code: str, op: str, with_bank: bool) -> tuple[str, dict]:
    if op == "remove":
        return "adjust", {"si_code": si_code, "action": "remove"}
    if op == "decline":
        return "confirm", {"si_code": si_code, "decline": True}
    bank = {"bank_code": "VCB", "bank_account": f"00{si_code}"} if with_bank else {}
    return "confirm", {"si_code": si_code, **bank}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    months=st.lists(st.sampled_from([0, 5, 30, 90, 140]), min_size=1, max_size=5),
    data=st.data(),
)
def test_random_forms_then_verification_end_where_the_model_says(db_session, months, data):
    employer = create_employer()
    people = [create_person(employer_id=employer.id, unused_months=m) for m in months]
    claims = [create_claim("listed", employee=p) for p in people]
    index = st.integers(0, len(people) - 1)
    form_ops = data.draw(st.lists(st.tuples(st.sampled_from(["confirm", "decline", "remove"]), index, st.booleans())))
    applies = data.draw(st.lists(index, unique=True))

    program = nq116()
    for op, i, with_bank in form_ops:
        form, row = _row(people[i].si_code, op, with_bank)
        if form == "adjust":
            employer_forms.adjust(program, employer.unit_code, [row], today=FORMS_DAY)
        else:
            employer_forms.confirm(program, employer.unit_code, [row], today=FORMS_DAY)
    for i in applies:
        person = people[i]
        body = {
            "si_code": person.si_code,
            "national_id": person.national_id,
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth.isoformat(),
            "phone": "0912345678",
            "address": "Đông Anh, Hà Nội",
            "status": "participating",
            "unit_code": employer.unit_code,
            "unused_months": person.unused_months,
            "payout": "cash",
        }
        with suppress(applications.ApplicationConflict):  # as in the model: a closed claim is not an application
            applications.apply(program, body, today=APPLY_DAY)
    verify(ids=[c.id for c in claims], today=APPLY_DAY)

    db_session.expire_all()
    assert [db_session.get(Claim, c.id).state for c in claims] == _model(months, form_ops, applies)
    drift = db_session.execute(
        text(
            """SELECT count(*) FROM (
                 SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
                 GROUP BY 1, 2, 3, 4
                 EXCEPT
                 SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
                 WHERE claims <> 0) d"""
        )
    ).scalar_one()
    assert drift == 0
