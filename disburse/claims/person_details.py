"""Bank details from the person: the public page where someone whose payment failed (or whose claim waits for
details) sends a new account, kept on the claim for a caseworker to confirm.

Anyone can reach the page, and a bank account is where the money goes: so what a person sends never changes a claim
by itself. It becomes an ``offer_details`` note (:class:`~disburse.claims.states.ClaimNote`) on the claim, shown on
the case page; a caseworker calls the phone number the registry holds, and once the person confirms, uses the
details (the case page's correction, prefilled: :func:`disburse.casework.service.correct_payment_details`).

- **Who.** The person is found by SI code, national ID and date of birth together, all three as the registry has
  them; their claim of the program must be waiting for details (:data:`WAITING`). The answer is the same whether or
  not anything matched, so the page tells nobody who is in the registry or what state their claim is in. Tries are
  limited per address (``LIMIT_PERSON_DETAILS_PER_ADDRESS``).
- **What.** A bank of the list and an account of the one shape we pay (the same checks as Form 03's,
  :func:`~disburse.claims.outcomes.bank_errors`), and a phone number to call back on if the person has a new one
  (kept on the note only: the registry's number is the one to call to confirm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select

from disburse.claims import service as claims
from disburse.claims.employer_forms import known_banks
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import RowResult, bank_errors
from disburse.claims.states import ClaimAction, ClaimNote, ClaimState
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.registry.models import Employee

#: Claims a person's details can be offered for: waiting for details after a failed payment, or in review.
WAITING = (ClaimState.AWAITING_PAYMENT_DETAILS, ClaimState.PAYMENT_FAILED, ClaimState.NEEDS_REVIEW)
SI_CODE = re.compile(r"[0-9]{10}")
NATIONAL_ID = re.compile(r"[0-9]{9}|[0-9]{12}")
PHONE = re.compile(r"0[0-9]{9}")


@dataclass
class Offer:
    """What became of a person's details: ``errors`` (field → (vi, en)) when the input is wrong, nothing written;
    otherwise ``event`` is the note when the person and a waiting claim matched (never shown to the person)."""

    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    event: ClaimEvent | None = None


def input_errors(
    *, si_code: str, national_id: str, date_of_birth: date | None, bank_code: str, bank_account: str, phone: str = ""
) -> dict[str, tuple[str, str]]:
    """Every field's error (field → (vi, en)), writing nothing; the values as :func:`offer_payment_details` cleans
    them."""
    si_code, national_id, phone = si_code.strip(), national_id.strip(), "".join(phone.split())
    bank_code, bank_account = bank_code.strip().upper(), bank_account.strip()
    errors: dict[str, tuple[str, str]] = {}
    if not SI_CODE.fullmatch(si_code):
        errors["si_code"] = ("Mã số BHXH gồm 10 chữ số.", "The SI code is 10 digits.")
    if not NATIONAL_ID.fullmatch(national_id):
        errors["national_id"] = ("Số CMND/CCCD gồm 9 hoặc 12 chữ số.", "The national ID is 9 or 12 digits.")
    if date_of_birth is None:
        errors["date_of_birth"] = ("Hãy ghi ngày sinh.", "Give the date of birth.")
    if not bank_code:
        errors["bank_code"] = ("Hãy chọn ngân hàng.", "Choose the bank.")
    if not bank_account:
        errors["bank_account"] = ("Hãy ghi số tài khoản.", "Give the account number.")
    if bank_code and bank_account:
        checked = RowResult(row=1, si_code=si_code)
        bank_errors(checked, bank_code, bank_account, known_banks())
        errors.update({e.field: (e.message_vi, e.message_en) for e in checked.errors})
    if phone and not PHONE.fullmatch(phone):
        errors["phone"] = (
            "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0.",
            "The phone number is 10 digits starting with 0.",
        )
    return errors


def _waiting_claim(program: Program, si_code: str, national_id: str, born: date) -> Claim | None:
    """The person's claim of ``program`` waiting for details, locked, if the three facts match the registry."""
    return db.session.scalar(
        select(Claim)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(
            Employee.si_code == si_code,
            Employee.national_id == national_id,
            Employee.date_of_birth == born,
            Claim.program_id == program.id,
            Claim.state.in_([s.value for s in WAITING]),
        )
        .with_for_update(of=Claim)
    )


def offer_payment_details(
    program: Program,
    *,
    si_code: str,
    national_id: str,
    date_of_birth: date | None,
    bank_code: str,
    bank_account: str,
    phone: str = "",
) -> Offer:
    """Check the input (every field's error at once, nothing written), then, when the person and a waiting claim
    match, write the ``offer_details`` note with the details; flush, never commit."""
    values = {"si_code": si_code, "national_id": national_id, "bank_code": bank_code, "bank_account": bank_account}
    offer = Offer(errors=input_errors(date_of_birth=date_of_birth, phone=phone, **values))
    si_code, national_id, phone = si_code.strip(), national_id.strip(), "".join(phone.split())
    bank_code, bank_account = bank_code.strip().upper(), bank_account.strip()
    if offer.errors or date_of_birth is None:
        return offer
    claim = _waiting_claim(program, si_code, national_id, date_of_birth)
    if claim is None:
        return offer
    data = {"by": "person", "bank_code": bank_code, "bank_account": bank_account, "phone": phone or None}
    offer.event = claims.note(claim, ClaimNote.OFFER_DETAILS, None, data=data)
    return offer


#: Events after which an offer has been dealt with: details corrected or received, or the claim left the wait.
_SETTLED_BY = (ClaimNote.CORRECT.value, ClaimAction.DETAILS_RECEIVED.value)


def open_offer(claim: Claim) -> ClaimEvent | None:
    """The person's latest offer of details for ``claim``, while it waits, not yet dealt with: no correction since,
    and the claim has not left the wait since (approved on other details, say, and waiting again after its payment
    failed: the old offer is not offered again)."""
    if ClaimState(claim.state) not in WAITING:
        return None
    latest = db.session.scalar(
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == ClaimNote.OFFER_DETAILS.value)
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    settled = db.session.scalar(
        select(ClaimEvent.id)
        .where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.id > latest.id,
            or_(ClaimEvent.action.in_(_SETTLED_BY), ClaimEvent.to_state.not_in([s.value for s in WAITING])),
        )
        .limit(1)
    )
    return None if settled is not None else latest


def offer(claim: Claim, event_id: int) -> ClaimEvent | None:
    """The person's offer of details ``event_id`` if it is one of ``claim``'s (the case page's link names the offer,
    never the account: a URL ends up in access logs and browser histories)."""
    return db.session.scalar(
        select(ClaimEvent).where(
            ClaimEvent.id == event_id,
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.action == ClaimNote.OFFER_DETAILS.value,
        )
    )


__all__ = ["WAITING", "Offer", "input_errors", "offer", "offer_payment_details", "open_offer"]
