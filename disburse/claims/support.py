"""What a person is entitled to and where their money is: the service behind GET /api/v1/employees/<si>/support
(and, as the portals arrive, the person's page).

Read-only: a handful of indexed look-ups (program, person with employer and districts, claim, latest payment).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import aliased

from disburse.claims.models import Claim
from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.payments.models import Payment
from disburse.payments.states import PaymentState
from disburse.programs.rules import Person, ProgramRules, assess
from disburse.programs.service import get_program
from disburse.reference.models import District
from disburse.registry.models import Employee, Employer
from disburse.verification.reasons import label

T = TypeVar("T", int, str)

#: Claim states in which the person will not be paid because the programme said no (declining is the person's
#: own choice and does not make them ineligible).
_REFUSED = frozenset(NOT_IN_ELIGIBLE_GROUP - {ClaimState.DECLINED})


def reason_entries(codes: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    """Reason codes with their Vietnamese and English labels (the rules' and verification's codes: one lookup,
    :data:`disburse.verification.reasons.LABELS`; the code itself when no label is known)."""
    entries = []
    for code in codes:
        vi, en = label(code)
        entries.append({"code": code, "label_vi": vi, "label_en": en})
    return entries


def refusal_entries(codes: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    """A refusal's reason codes with the words its written notice prints
    (:func:`~disburse.verification.review.refusal_reasons`), as :func:`reason_entries` gives them: every page and
    answer that says why a claim was refused reads these, never the review labels (``payment_period_ended`` in review
    asks a caseworker to decide; refused, it tells the person the support can no longer be paid)."""
    from disburse.verification.review import refusal_reasons  # review reads this module

    refusing = refusal_reasons()
    entries = []
    for code in codes:
        vi, en = refusing.get(code) or label(code)
        entries.append({"code": code, "label_vi": vi, "label_en": en})
    return entries


def _present(values: Iterable[T | None]) -> list[T]:
    return sorted({v for v in values if v is not None})


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def support_for(si_code: str, program_code: str = "NQ116") -> dict[str, Any] | None:
    """The support picture of the person with ``si_code`` in ``program_code``; None when the SI code is unknown.

    JSON-ready (dates and timestamps as ISO 8601 strings, money as integer VND)::

        {
          "si_code", "program": code,
          "group": "A" | "B" | None,        # the program's rules applied to the registry record today
          "outcome": "eligible" | "review" | "not_eligible",
          "reasons": [{"code", "label_vi", "label_en"}],
          "eligible": bool,                 # in a group and not refused (claim rejected or removed)
          "unused_months": int, "amount_vnd": int | None,   # the tier amount the rules give
          "claim": None | {"id", "state", "track", "support_group", "unused_months", "unit_code", "district_code",
                           "amount_vnd",    # what will be paid (fixed when the claim was listed / applied for)
                           "payout", "reasons": [...], "review_due_on", "payment_due_on", "paid_at"},
          "payment": None | {"state", "amount_vnd", "paid_at", "attempt", "failure_code"},   # the latest attempt
          "unit_code", "employer_id",       # the current (participating) or last (stopped) employer, or None
          "district_code", "province_code", # where the case is handled: the claim's district, else the
                                            # employer's, else the person's own
          "scope": {"employer_ids", "district_codes", "province_codes"},
        }

    ``scope`` lists every employer, district and province that may legitimately see the person: the registry
    employer and the claim's employer; the claim's district, the employer's district and the person's own district
    (where a Form 04 may be taken). A caller whose employer / district / province is in these lists is in scope.
    Raises :class:`~disburse.programs.service.ProgramNotFound` for an unknown program code.
    """
    program = get_program(program_code)

    home, work = aliased(District), aliased(District)
    found = db.session.execute(
        select(Employee, Employer, home.province_code, work.province_code)
        .outerjoin(Employer, Employer.id == Employee.employer_id)
        .outerjoin(home, home.code == Employee.district_code)
        .outerjoin(work, work.code == Employer.district_code)
        .where(Employee.si_code == si_code)
    ).one_or_none()
    if found is None:
        return None
    employee, employer, home_province, work_province = found

    assessment = assess(
        ProgramRules.from_program(program),
        Person(
            ui_status=employee.ui_status,
            ui_stopped_on=employee.ui_stopped_on,
            unused_months=employee.unused_months,
            pension_decision=employee.pension_decision,
            employer_sector=employer.sector if employer is not None else None,
        ),
    )

    claim = db.session.scalar(select(Claim).where(Claim.program_id == program.id, Claim.employee_id == employee.id))
    payment = None
    claim_province = None
    claim_unit_code = None
    if claim is not None:
        payment = db.session.scalar(
            select(Payment).where(Payment.claim_id == claim.id).order_by(Payment.attempt.desc(), Payment.id.desc())
        )
        claim_province = db.session.scalar(select(District.province_code).where(District.code == claim.district_code))
        if employer is not None and claim.employer_id == employer.id:
            claim_unit_code = employer.unit_code
        elif claim.employer_id is not None:
            claim_unit_code = db.session.scalar(select(Employer.unit_code).where(Employer.id == claim.employer_id))

    # Where the case is handled, in order of authority: the claim's district, the employer's, the person's own.
    places = [
        (claim.district_code if claim else None, claim_province),
        (employer.district_code if employer else None, work_province),
        (employee.district_code, home_province),
    ]
    district_code, province_code = next(((d, p) for d, p in places if d is not None), (None, None))
    employer_ids = [employee.employer_id, claim.employer_id if claim else None]

    return {
        "si_code": employee.si_code,
        "program": program.code,
        "group": assessment.support_group,
        "outcome": assessment.outcome,
        "reasons": reason_entries(assessment.reasons),
        "eligible": assessment.eligible and (claim is None or claim.state not in _REFUSED),
        "unused_months": employee.unused_months,
        "amount_vnd": assessment.amount_vnd,
        "claim": _claim_dict(claim, claim_unit_code) if claim is not None else None,
        "payment": _payment_dict(payment) if payment is not None else None,
        "unit_code": employer.unit_code if employer is not None else None,
        "employer_id": employer.id if employer is not None else None,
        "district_code": district_code,
        "province_code": province_code,
        "scope": {
            "employer_ids": _present(employer_ids),
            "district_codes": _present(d for d, _ in places),
            "province_codes": _present(p for _, p in places),
        },
    }


def _claim_dict(claim: Claim, unit_code: str | None) -> dict[str, Any]:
    return {
        "id": claim.id,
        "state": claim.state,
        "track": claim.track,
        "support_group": claim.support_group,
        "unused_months": claim.unused_months,
        "amount_vnd": claim.amount_vnd,
        "payout": claim.payout,
        "unit_code": unit_code,
        "district_code": claim.district_code,
        "reasons": reason_entries(list(claim.reasons or ())),
        "review_due_on": _iso(claim.review_due_on),
        "payment_due_on": _iso(claim.payment_due_on),
        "paid_at": _iso(claim.paid_at),
    }


def _payment_dict(payment: Payment) -> dict[str, Any]:
    return {
        "state": payment.state,
        "amount_vnd": payment.amount_vnd,
        "paid_at": _iso(payment.settled_at) if payment.state == PaymentState.PAID else None,
        "attempt": payment.attempt,
        "failure_code": payment.failure_code,
    }
