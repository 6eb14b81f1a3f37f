"""For random registries and claims, one verification batch ends every waiting claim where a plain Python model of
the rules and checks says (state and reason codes), leaves every other claim alone, and the rollups equal a direct
count. The model below is written from docs/rules.md, not from the SQL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from disburse.claims.models import Claim
from disburse.programs.rules import OUTCOME_NOT_ELIGIBLE, OUTCOME_REVIEW, Person, ProgramRules, amount_for, assess
from disburse.verification import service as verification
from tests.factories import create_claim, create_employee, create_employer, create_program
from tests.verification.test_checks import rollups_match

NAMES = (
    "Nguyễn Văn An",
    "NGUYEN VAN AN",
    "Nguyễn Văn Anh",
    "Nguyễn Văn Bình",
    "Trần Thị Lan",
    "Trần Thị Thanh Lan",
    "Lê Ngọc Linh",
    "Lê  Ngọc Bình",
)
BIRTHDAYS = (date(1980, 1, 1), date(1990, 6, 15), None)
WAITING = ("employer_confirmed", "employer_overdue", "applied", "verifying")
CLOSED = ("rejected", "declined", "removed")


@dataclass
class P:
    national: int
    name: str
    born: date | None
    stopped: bool
    stopped_in_window: bool
    pension: bool
    months: int
    excluded: bool
    unit: int


@dataclass
class C:
    state: str
    months: int
    payout: str
    account: str | None
    late: bool


people = st.builds(
    P,
    national=st.integers(0, 3),
    name=st.sampled_from(NAMES),
    born=st.sampled_from(BIRTHDAYS),
    stopped=st.booleans(),
    stopped_in_window=st.booleans(),
    pension=st.booleans(),
    months=st.sampled_from([0, 5, 12, 60, 140]),
    excluded=st.booleans(),
    unit=st.integers(0, 1),
)
claims_ = st.builds(
    C,
    state=st.sampled_from([*WAITING, "listed", "needs_review", "rejected", "declined"]),
    months=st.sampled_from([0, 5, 12, 60, 140]),
    payout=st.sampled_from(["bank", "bank", "cash"]),
    account=st.sampled_from(["0011004455667", None, "12-34"]),
    late=st.booleans(),
)


# ------------------------------------------------------------------------------------------------------ the model


def name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


def parts(key: str) -> tuple[str, str, str]:
    words = key.split(" ")
    return words[0], " ".join(words[1:-1]), words[-1]


def trigrams(key: str) -> set[str]:
    grams: set[str] = set()
    for word in re.findall(r"[a-z0-9]+", key):
        padded = f"  {word} "
        grams |= {padded[i : i + 3] for i in range(len(padded) - 2)}
    return grams


def near(a: P, b: P) -> bool:
    """Same birthday, two of the three name parts the same without diacritics, pg_trgm similarity ≥ 0.65."""
    if a.born is None or a.born != b.born:
        return False
    ka, kb = name_key(a.name), name_key(b.name)
    shared = sum(x == y for x, y in zip(parts(ka), parts(kb), strict=True))
    ta, tb = trigrams(ka), trigrams(kb)
    return shared >= 2 and Fraction(len(ta & tb), len(ta | tb)) >= Fraction(13, 20)


def expected(rules: ProgramRules, today: date, cases: list[tuple[P, C | None]]) -> dict[int, tuple[str, list[str]]]:
    """index of each waiting claim → (final state, reason codes)."""
    answer = {}
    for i, (p, c) in enumerate(cases):
        if c is None or c.state not in WAITING:
            continue
        track = "B" if c.state == "applied" else "A"
        assessment = assess(
            rules,
            Person(
                ui_status="stopped" if p.stopped else "participating",
                ui_stopped_on=(date(2021, 3, 1) if p.stopped_in_window else date(2019, 3, 1)) if p.stopped else None,
                unused_months=p.months,
                pension_decision=p.pension,
                employer_sector="state_agency" if p.excluded else "enterprise",
            ),
        )
        refuse = list(assessment.reasons) if assessment.outcome == OUTCOME_NOT_ELIGIBLE else []
        if track == "B" and c.late:
            refuse.append("applied_after_deadline")
        review = list(assessment.reasons) if assessment.outcome == OUTCOME_REVIEW else []
        twins = [j for j, (q, _) in enumerate(cases) if j != i and q.national == p.national]
        live = [(j, cases[j][1]) for j in twins if cases[j][1] is not None and cases[j][1].state not in CLOSED]
        review += ["possible_duplicate"] if twins else []
        if any(_track(oc) != track for _, oc in live):
            review.append("both_tracks")
        if track == "A" and any(_track(oc) == "A" and _unit(cases[j][0]) != _unit(p) for j, oc in live):
            review.append("listed_twice")
        if any(
            j != i and q.national != p.national and oc is not None and oc.state in WAITING and near(p, q)
            for j, (q, oc) in enumerate(cases)
        ):
            review.append("near_duplicate")
        if c.payout == "bank" and c.account is None:
            review.append("bank_details_missing")
        if c.payout == "bank" and c.account is not None and not re.fullmatch(r"[0-9]{6,19}", c.account):
            review.append("bank_details_malformed")
        if c.state == "employer_overdue":
            review.append("not_confirmed_by_employer")
        if assessment.support_group is not None and amount_for(rules, p.months) != amount_for(rules, c.months):
            review.append("amount_changed")
        if today > date(2022, 9, 10):
            review.append("payment_period_ended")
        state = "rejected" if refuse else "needs_review" if review else "approved"
        answer[i] = (state, sorted(set(refuse + review)))
    return answer


def _unit(p: P) -> tuple[bool, int]:
    return p.excluded, p.unit


def _track(c: C) -> str:
    return "B" if c.state == "applied" else "A"


# ------------------------------------------------------------------------------------------------------ the test


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cases=st.lists(st.tuples(people, st.none() | claims_), min_size=1, max_size=7),
    today=st.sampled_from([date(2021, 11, 15), date(2022, 9, 11)]),
)
def test_verification_ends_where_the_model_says(db_session, cases, today):
    savepoint = db_session.begin_nested()
    try:
        _check(db_session, cases, today)
    finally:
        savepoint.rollback()


def _check(db_session, cases, today):
    program = create_program()
    rules = ProgramRules.from_program(program)
    units = [create_employer(sector="enterprise"), create_employer(sector="enterprise")]
    excluded_units = [create_employer(sector="state_agency"), create_employer(sector="state_agency")]
    made: dict[int, Claim] = {}
    for i, (p, c) in enumerate(cases):
        unit = (excluded_units if p.excluded else units)[p.unit]
        employee = create_employee(
            national_id=f"00108800{p.national:04d}",
            full_name=p.name,
            date_of_birth=p.born,
            ui_status="stopped" if p.stopped else "participating",
            ui_stopped_on=(date(2021, 3, 1) if p.stopped_in_window else date(2019, 3, 1)) if p.stopped else None,
            pension_decision=p.pension,
            unused_months=p.months,
            employer_id=unit.id,
        )
        if c is None:
            continue
        made[i] = create_claim(
            c.state,
            program=program,
            employee=employee,
            track="B" if c.state == "applied" else "A",
            unused_months=c.months,
            amount_vnd=amount_for(rules, c.months),
            payout=c.payout,
            bank_code=None if c.account is None else "VCB",
            bank_account=c.account,
            confirmed_on=date(2021, 10, 25),
            applied_on=(date(2021, 12, 21) if c.late else date(2021, 12, 1)) if c.state == "applied" else None,
        )
    before = {i: claim.state for i, claim in made.items()}
    if made:
        verification.verify(ids=[claim.id for claim in made.values()], today=today)
    want = expected(rules, today, cases)
    for i, claim in made.items():
        state, reasons = db_session.execute(
            select(Claim.state, Claim.reasons).where(Claim.id == claim.id).execution_options(populate_existing=True)
        ).one()
        if i in want:
            assert (state, sorted(reasons)) == want[i], (i, cases[i])
        else:
            assert state == before[i]
    assert rollups_match(db_session)
