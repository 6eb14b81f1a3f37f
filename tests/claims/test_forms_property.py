"""Random registries and random Form 02/03/04 sequences, with the overdue sweep and verification batches among them:
the claims (state, track, payout, account, reason codes) end where a plain Python model of the procedure says, no
claim is made that the model does not make, and the rollups equal a direct count, both ways.

The registry varies as in tests/verification/test_property.py: participating or stopped (inside or outside the stop
window), a pension decision, a unit of an excluded sector, a national ID shared with another person, months that
the registry corrected after the listing. The forms: Form 02 (confirm, with or without bank details, or decline),
Form 03 (add, remove, correct the bank details; on time or after the adjustment deadline), Form 04 (a group B
application, or a listed person's after the track A fallback date or before it; on time or after the application
deadline). The model is written from docs/rules.md, not from the code; the rules' pure function ``assess`` is the
rules themselves."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from disburse.claims import applications, employer_forms
from disburse.claims.models import Claim
from disburse.claims.outcomes import FormRefused
from disburse.extensions import db
from disburse.programs.rules import (
    OUTCOME_NOT_ELIGIBLE,
    OUTCOME_REVIEW,
    Person,
    ProgramRules,
    amount_for,
    assess,
)
from disburse.verification.service import verify
from disburse.verification.sweepers import mark_overdue_employers
from tests.factories import create_claim, create_employer, create_person, create_program
from tests.verification.test_checks import rollups_match

FORMS_DAY = date(2021, 10, 25)  # inside the review and adjustment windows
REVIEW_DUE = date(2021, 11, 3)  # the listed claims' employer review deadline
OVERDUE_DAY = date(2021, 11, 4)  # the overdue sweep runs: every claim still listed is overdue
LATE_FORM02_DAY = date(2021, 11, 5)  # a Form 02 after the review deadline still confirms
LATE_FORM03_DAY = date(2021, 11, 11)  # the day after the adjustment deadline: Form 03 is refused whole
APPLY_DAYS = {
    "early": date(2021, 11, 29),  # before the track A fallback date (30/11): a listed person may not apply yet
    "on_time": date(2021, 12, 1),
    "late": date(2021, 12, 21),  # the day after the application deadline: refused, nothing recorded
}
VERIFY_DAY = date(2021, 12, 15)  # inside the payment period
STOP_IN, STOP_OUT = date(2021, 3, 1), date(2019, 3, 1)
LISTED_ACCOUNT = "0011004455667"  # the bank details a Form 01 claim carries (tests.factories.create_claim)
MONTHS = [0, 5, 30, 90, 140]

# The claim machine's sets, from docs/rules.md (the claim states).
#: Where a Form 02 row is the unit's answer (a confirmation or a decline); after it, a later row changes nothing.
ANSWERABLE = {"listed", "employer_overdue"}
#: A claim in review only because its unit was late (docs/rules.md, "A late Form 02 is taken"): a Form 02 row is still
#: the unit's answer while Form 03 is taken (every Form 02 of the sequence is).
LATE_ONLY = {"not_confirmed_by_employer", "bank_details_missing", "bank_details_malformed"}
REMOVABLE = {"listed", "employer_overdue", "employer_confirmed", "verifying", "needs_review", "approved"}
APPLICABLE = {"listed", "employer_overdue", "employer_confirmed", "needs_review"}
CORRECTABLE = {"listed", "employer_overdue", "employer_confirmed", "verifying", "needs_review", "approved"}
CONFIRMED_OPEN = {"employer_confirmed", "verifying", "needs_review", "approved"}
WAITING = {"employer_confirmed", "employer_overdue", "applied"}
CLOSED = {"rejected", "declined", "removed"}


@dataclass
class P:
    """A person in the registry (as it stands now) and whether the Form 01 list named them."""

    national: int  # people with the same number share a national ID
    status: str  # participating, stopped_in (inside the stop window), stopped_out
    pension: bool
    unit: int  # 0 and 1: enterprises; 2: an excluded sector (state agency)
    listed: bool
    listed_months: int
    corrected_months: int | None  # the registry's months now, when corrected after the listing

    @property
    def months(self) -> int:
        return self.listed_months if self.corrected_months is None else self.corrected_months


@dataclass
class M:
    """The model's claim."""

    state: str
    track: str
    payout: str
    account: str | None
    amount: int
    months: int
    reasons: list[str] = field(default_factory=list)


people = st.builds(
    P,
    national=st.integers(0, 3),
    status=st.sampled_from(["participating", "participating", "stopped_in", "stopped_out"]),
    pension=st.booleans(),
    unit=st.sampled_from([0, 0, 1, 2]),
    listed=st.booleans(),
    listed_months=st.sampled_from(MONTHS),
    corrected_months=st.sampled_from([None, None, None, *MONTHS]),
)


def steps(n: int) -> st.SearchStrategy[list[tuple]]:
    i = st.integers(0, n - 1)
    return st.lists(
        st.one_of(
            st.tuples(st.just("confirm"), i, st.booleans()),
            st.tuples(st.just("decline"), i),
            st.tuples(st.just("add"), i, st.booleans(), st.booleans()),
            st.tuples(st.just("remove"), i, st.booleans()),
            st.tuples(st.just("correct"), i, st.booleans()),
            st.tuples(st.just("apply"), i, st.booleans(), st.sampled_from(sorted(APPLY_DAYS))),
            st.tuples(st.just("overdue")),
            st.tuples(st.just("verify")),
        ),
        max_size=8,
    )


# ------------------------------------------------------------------------------------------------------ the model


def _person(p: P) -> Person:
    return Person(
        ui_status="participating" if p.status == "participating" else "stopped",
        ui_stopped_on={"participating": None, "stopped_in": STOP_IN, "stopped_out": STOP_OUT}[p.status],
        unused_months=p.months,
        pension_decision=p.pension,
        employer_sector="state_agency" if p.unit == 2 else "enterprise",
    )


def _verify(rules: ProgramRules, ps: list[P], claims: list[M | None]) -> None:
    """One verification batch over every waiting claim, each decided against the claims as they stood before it."""
    before = [None if c is None else (c.state, c.track) for c in claims]
    for i, (p, c) in enumerate(zip(ps, claims, strict=True)):
        if c is None or c.state not in WAITING:
            continue
        assessment = assess(rules, _person(p))
        refuse = list(assessment.reasons) if assessment.outcome == OUTCOME_NOT_ELIGIBLE else []
        review = list(assessment.reasons) if assessment.outcome == OUTCOME_REVIEW else []
        twins = [j for j, q in enumerate(ps) if j != i and q.national == p.national]
        if twins:
            review.append("possible_duplicate")
        live = [(j, before[j]) for j in twins if before[j] is not None and before[j][0] not in CLOSED]
        if any(other[1] != c.track for _, other in live):
            review.append("both_tracks")
        if c.track == "A" and any(other[1] == "A" and ps[j].unit != p.unit for j, other in live):
            review.append("listed_twice")
        if c.state == "employer_overdue":
            review.append("not_confirmed_by_employer")
        if assessment.support_group is not None:
            registry = amount_for(rules, p.months)
            if registry != c.amount:
                review.append("amount_changed")
            c.months, c.amount = p.months, registry  # the claim takes the registry's figures
        c.state = "rejected" if refuse else "needs_review" if review else "approved"
        c.reasons = sorted(set(refuse + review))


def _form02(step: tuple, c: M | None) -> None:
    answering = c is not None and (
        c.state in ANSWERABLE
        or (c.state == "needs_review" and "not_confirmed_by_employer" in c.reasons and set(c.reasons) <= LATE_ONLY)
    )
    if step[0] == "decline":
        if c is not None and answering:
            c.state = "declined"
        return
    _, i, bank = step
    if c is not None and answering:
        c.state, c.payout, c.account = (
            "employer_confirmed",
            "bank" if bank else "cash",
            f"00{i}0000000" if bank else None,
        )


def _form03(rules: ProgramRules, step: tuple, p: P, c: M | None) -> M | None:
    """The person's claim after a Form 03 row (refused whole after the deadline)."""
    kind, i, late = step[0], step[1], step[-1]
    if late:
        return c
    if kind == "add":
        assessment = assess(rules, _person(p))
        if c is None and p.status == "participating" and assessment.outcome != OUTCOME_NOT_ELIGIBLE:
            bank = step[2]
            months, amount = p.months, amount_for(rules, p.months)
            account = f"00{i}0000000" if bank else None
            return M(
                "employer_confirmed", "A", "bank" if bank else "cash", account, amount, months, [*assessment.reasons]
            )
    elif kind == "remove" and c is not None and c.state in REMOVABLE:
        c.state = "removed"
    elif kind == "correct" and c is not None and c.state in CORRECTABLE:
        c.payout, c.account = "bank", f"77{i}0000000"
    return c


def _form04(rules: ProgramRules, step: tuple, p: P, c: M | None) -> M | None:
    """The person's claim after a Form 04: a new claim, the listed claim turned into the application, or as it was
    (refused: after the deadline, or a claim that cannot become the application, or a listed person too early)."""
    _, i, bank, when = step
    payout, account = ("bank", f"55{i}0000000") if bank else ("cash", None)
    if when == "late":
        return c
    if c is None:
        assessment = assess(rules, _person(p))
        amount = assessment.amount_vnd or amount_for(rules, 0)
        return M("applied", "B", payout, account, amount, p.months, [*assessment.reasons])
    if c.track == "A" and c.state in APPLICABLE and when != "early":
        c.state, c.track, c.payout, c.account = "applied", "B", payout, account
    return c


def model(rules: ProgramRules, ps: list[P], sequence: list[tuple]) -> list[M | None]:
    """What the procedure says: each person's claim (or None) after the sequence and a last verification."""
    claims: list[M | None] = [
        M("listed", "A", "bank", LISTED_ACCOUNT, amount_for(rules, p.listed_months), p.listed_months)
        if p.listed
        else None
        for p in ps
    ]
    for step in [*sequence, ("verify",)]:
        kind = step[0]
        if kind in ("confirm", "decline"):
            _form02(step, claims[step[1]])
        elif kind in ("add", "remove", "correct"):
            claims[step[1]] = _form03(rules, step, ps[step[1]], claims[step[1]])
        elif kind == "apply":
            claims[step[1]] = _form04(rules, step, ps[step[1]], claims[step[1]])
        elif kind == "overdue":
            for claim in claims:
                if claim is not None and claim.state == "listed":
                    claim.state = "employer_overdue"
        else:
            _verify(rules, ps, claims)
    return claims


# ------------------------------------------------------------------------------------------------------ the test


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=st.lists(people, min_size=1, max_size=5), data=st.data())
def test_random_forms_then_verification_end_where_the_model_says(db_session, ps, data):
    sequence = data.draw(steps(len(ps)))
    savepoint = db_session.begin_nested()
    try:
        _check(db_session, ps, sequence)
    finally:
        savepoint.rollback()


def _check(db_session, ps: list[P], sequence: list[tuple]) -> None:
    program = create_program()
    rules = ProgramRules.from_program(program)
    units = [create_employer(), create_employer(), create_employer(sector="state_agency")]
    employees = []
    for i, p in enumerate(ps):
        employee = create_person(
            national_id=f"00109900{p.national:04d}",
            date_of_birth=date(1970, 1, 1) + timedelta(days=400 * i),  # no two alike: no near-duplicates
            ui_status="participating" if p.status == "participating" else "stopped",
            ui_stopped_on={"participating": None, "stopped_in": STOP_IN, "stopped_out": STOP_OUT}[p.status],
            pension_decision=p.pension,
            unused_months=p.months,
            employer_id=units[p.unit].id,
        )
        employees.append(employee)
        if p.listed:
            create_claim(
                "listed",
                program=program,
                employee=employee,
                unused_months=p.listed_months,
                amount_vnd=amount_for(rules, p.listed_months),
                review_due_on=REVIEW_DUE,
            )

    overdue = False
    for step in sequence:
        kind = step[0]
        if kind in ("overdue", "verify"):
            if kind == "overdue":
                mark_overdue_employers(program, OVERDUE_DAY)
                overdue = True
            else:
                _verify_all(program.id)
            continue
        i = step[1]
        employee, unit = employees[i], units[ps[i].unit].unit_code
        si = employee.si_code
        if kind == "confirm":
            bank = {"bank_code": "VCB", "bank_account": f"00{i}0000000"} if step[2] else {}
            today = LATE_FORM02_DAY if overdue else FORMS_DAY
            employer_forms.confirm(program, unit, [{"si_code": si, **bank}], today=today)
        elif kind == "decline":
            employer_forms.confirm(program, unit, [{"si_code": si, "decline": True}], today=FORMS_DAY)
        elif kind in ("add", "remove", "correct"):
            late = step[-1]
            row: dict[str, object] = {"si_code": si, "action": kind}
            if kind == "add" and step[2]:
                row.update(bank_code="VCB", bank_account=f"00{i}0000000")
            if kind == "correct":
                row.update(bank_code="VCB", bank_account=f"77{i}0000000")
            with suppress(FormRefused):  # after the deadline: refused whole, as in the model
                employer_forms.adjust(program, unit, [row], today=LATE_FORM03_DAY if late else FORMS_DAY)
        elif kind == "apply":
            _, _, bank, when = step
            body = {
                "si_code": si,
                "national_id": employee.national_id,
                "full_name": employee.full_name,
                "date_of_birth": employee.date_of_birth.isoformat(),
                "phone": "0912345678",
                "address": "Đông Anh, Hà Nội",
                "status": "participating" if ps[i].status == "participating" else "stopped",
                "unit_code": unit,
                "unused_months": ps[i].months,
                "payout": "bank" if bank else "cash",
                **({"bank_code": "VCB", "bank_account": f"55{i}0000000"} if bank else {}),
            }
            # As in the model: a person with a claim that cannot become the application is refused (409), and an
            # application after the deadline is refused whole.
            with suppress(applications.ApplicationConflict, FormRefused):
                applications.apply(program, body, today=APPLY_DAYS[when])
    _verify_all(program.id)

    want = model(rules, ps, sequence)
    rows = db_session.execute(
        select(Claim).where(Claim.program_id == program.id).execution_options(populate_existing=True)
    ).scalars()
    got = {claim.employee_id: claim for claim in rows}
    assert set(got) == {employees[i].id for i, m in enumerate(want) if m is not None}, "no claim the model lacks"
    for i, m in enumerate(want):
        if m is None:
            continue
        claim = got[employees[i].id]
        assert (claim.state, claim.track, claim.payout, claim.bank_account, sorted(claim.reasons)) == (
            m.state,
            m.track,
            m.payout,
            m.account,
            m.reasons,
        ), (i, ps[i], sequence)
        assert (claim.unused_months, claim.amount_vnd) == (m.months, m.amount), (i, ps[i], sequence)
    assert rollups_match(db_session)


def _verify_all(program_id: int) -> None:
    ids = list(db.session.scalars(select(Claim.id).where(Claim.program_id == program_id)))
    if ids:
        verify(ids=ids, today=VERIFY_DAY)
