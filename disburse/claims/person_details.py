"""Bank details from the person: the public page where someone whose payment failed (or whose claim waits for
details) sends a new account, kept on the claim for a caseworker to confirm.

Anyone can reach the page, and a bank account is where the money goes: so what a person sends never changes a claim
by itself. It becomes an ``offer_details`` note (:class:`~disburse.claims.states.ClaimNote`) on the claim, shown on
the case page; a caseworker calls the phone number the registry holds, and once the person confirms, uses the
details (the case page's correction, prefilled: :func:`disburse.casework.service.correct_payment_details`). An offer
the call finds wrong (not the person's account, a fraud attempt) is dismissed with a reason (:func:`dismiss_offer`):
a ``dismiss_offer`` note, and the offer is no longer offered.

- **Who.** The person is found by SI code, national ID and date of birth together, all three as the registry has
  them; their claim of the program must be waiting for details (:func:`takes_offers_clause`: after a failed payment,
  or in review for its bank details, :data:`BANK_REASONS`; a claim in review for anything else, a possible
  duplicate say, takes none: nobody there waits for an account, and an offer would only ask for a needless call). The
  answer is the same whether or
  not anything matched, so the page tells nobody who is in the registry or what state their claim is in. Tries are
  limited per address (``LIMIT_PERSON_DETAILS_PER_ADDRESS``).
- **What.** A bank of the list and an account of the one shape we pay (the same checks as Form 03's,
  :func:`~disburse.claims.outcomes.bank_errors`), and a phone number to call back on if the person has a new one
  (kept on the note only: the registry's number is the one to call to confirm).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import (
    RowResult,
    account_digits,
    bank_errors,
    phone_digits,
    phone_error,
    si_code_words,
)
from disburse.claims.states import ClaimAction, ClaimNote, ClaimState
from disburse.extensions import db
from disburse.formatting import dmy
from disburse.payments.service import payable
from disburse.programs.models import Program
from disburse.reference.service import known_banks
from disburse.registry.models import Employee
from disburse.transitions import Actor
from disburse.verification.reasons import BANK_DETAILS_MALFORMED, BANK_DETAILS_MISSING

#: The states of a claim a person's offer may be open on: waiting for details after a failed payment, or in review
#: (a claim in review takes a new offer only for its bank details: :func:`takes_offers_clause`).
WAITING = (ClaimState.AWAITING_PAYMENT_DETAILS, ClaimState.PAYMENT_FAILED, ClaimState.NEEDS_REVIEW)
#: The states in which a claim waits for details whatever its review reasons: its payment failed.
AFTER_A_FAILURE = (ClaimState.AWAITING_PAYMENT_DETAILS, ClaimState.PAYMENT_FAILED)
#: The review reasons that concern the claim's bank details (missing, or an account we cannot pay): a claim in review
#: for one of them takes the person's offer. Correcting the details (or cash at the office) drops them
#: (:func:`disburse.claims.outcomes.drop_bank_reasons`), and with them the claim's taking offers.
BANK_REASONS = frozenset({BANK_DETAILS_MISSING, BANK_DETAILS_MALFORMED})
NATIONAL_ID = re.compile(r"[0-9]{9}|[0-9]{12}")


@dataclass
class Offer:
    """What became of a person's details: ``ended`` (vi, en) when the programme no longer pays, nothing checked nor
    written; ``errors`` (field → (vi, en)) when the input is wrong, nothing written; otherwise ``event`` is the note
    when the person and a waiting claim matched (never shown to the person)."""

    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    event: ClaimEvent | None = None
    ended: tuple[str, str] | None = None


def period_ended(program: Program, today: date | None = None) -> tuple[str, str] | None:
    """None while the programme may pay; after its last payable day (docs/rules.md, section 4), why the page takes
    no bank details any more, in Vietnamese and English: nobody is paid now, so an account would only make the person
    wait for money that will not come. The same for everyone (it says nothing of who is in the registry)."""
    if payable(program, today):
        return None
    last = dmy(program.last_payable_day)
    return (
        f"Chương trình đã hết hạn chi trả ngày {last}: cơ quan BHXH không nhận thêm tài khoản ngân hàng và không chi "
        "trả thêm khoản hỗ trợ nào. Nếu có thắc mắc, hãy liên hệ cơ quan BHXH quận/huyện nơi bạn đăng ký.",
        f"The programme stopped paying on {last}: the social security office takes no more bank accounts and pays no "
        "more support. If you have questions, contact the district social security office where you are registered.",
    )


def _digits_as_written(value: str) -> str:
    """An SI code or ID number as people copy it from the book or the card: in groups ("0105 053 261") is the same
    number; the spaces go (any other character stays, and the check refuses it)."""
    return "".join(str(value).split())


def identity_errors(si_code: str, national_id: str, date_of_birth: date | None) -> dict[str, tuple[str, str]]:
    """The errors (field → (vi, en)) of the three facts a person is found by, as they typed them (spaces between
    groups of digits allowed: :func:`clean_identity`)."""
    si_code, national_id = clean_identity(si_code, national_id)
    errors: dict[str, tuple[str, str]] = {}
    if (words := si_code_words(si_code, typed=True)) is not None:
        errors["si_code"] = words
    if not NATIONAL_ID.fullmatch(national_id):
        errors["national_id"] = ("Số CMND/CCCD gồm 9 hoặc 12 chữ số.", "The national ID is 9 or 12 digits.")
    if date_of_birth is None:
        errors["date_of_birth"] = ("Hãy ghi ngày sinh.", "Give the date of birth.")
    return errors


def clean_identity(si_code: str, national_id: str) -> tuple[str, str]:
    """The SI code and the national ID as typed, without the spaces between groups of digits."""
    return _digits_as_written(si_code), _digits_as_written(national_id)


def input_errors(
    *, si_code: str, national_id: str, date_of_birth: date | None, bank_code: str, bank_account: str, phone: str = ""
) -> dict[str, tuple[str, str]]:
    """Every field's error (field → (vi, en)), writing nothing; the values as :func:`offer_payment_details` cleans
    them."""
    bank_code, bank_account = bank_code.strip().upper(), account_digits(bank_account)
    errors = identity_errors(si_code, national_id, date_of_birth)
    if not bank_code:
        errors["bank_code"] = ("Hãy chọn ngân hàng.", "Choose the bank.")
    if not bank_account:
        errors["bank_account"] = ("Hãy ghi số tài khoản.", "Give the account number.")
    if bank_code or bank_account:  # one given: its own errors too (an account of letters, with no bank chosen)
        checked = RowResult(row=1, si_code=si_code)
        bank_errors(checked, bank_code, bank_account, known_banks())
        for error in checked.errors:
            if error.code != "bank_pair":  # the missing one is said above, in this page's words
                errors[error.field] = (error.message_vi, error.message_en)
    if phone and (wrong := phone_error(phone)):
        errors["phone"] = wrong
    return errors


def takes_offers_clause() -> ColumnElement[bool]:
    """Whether a claim takes the person's offer of bank details now, in SQL over ``claims``: waiting for details
    after a failed payment (:data:`AFTER_A_FAILURE`), or in review with a reason about its bank details
    (:data:`BANK_REASONS`, in ``claims.reasons``)."""
    return or_(
        Claim.state.in_([state.value for state in AFTER_A_FAILURE]),
        and_(
            Claim.state == ClaimState.NEEDS_REVIEW.value,
            type_coerce(Claim.reasons, postgresql.ARRAY(String)).overlap(sorted(BANK_REASONS)),  # the dialect's &&
        ),
    )


def takes_offers(claim: Claim) -> bool:
    """:func:`takes_offers_clause` of one claim, as it is in the session."""
    state = ClaimState(claim.state)
    return state in AFTER_A_FAILURE or (
        state == ClaimState.NEEDS_REVIEW and not BANK_REASONS.isdisjoint(claim.reasons or ())
    )


def _waiting_claim(program: Program, si_code: str, national_id: str, born: date) -> Claim | None:
    """The person's claim of ``program`` that takes an offer of details (:func:`takes_offers_clause`), locked, if the
    three facts match the registry."""
    return db.session.scalar(
        select(Claim)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(
            Employee.si_code == si_code,
            Employee.national_id == national_id,
            Employee.date_of_birth == born,
            Claim.program_id == program.id,
            takes_offers_clause(),
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
    """Refused, nothing checked nor written, after the programme's last payable day (:func:`period_ended`). Else
    check the input (every field's error at once, nothing written), then, when the person and a claim that takes
    an offer (:func:`takes_offers_clause`) match, write the ``offer_details`` note with the details; flush, never
    commit. The outcome the page shows is the same whether or not anything matched."""
    if (ended := period_ended(program)) is not None:
        return Offer(ended=ended)
    values = {"si_code": si_code, "national_id": national_id, "bank_code": bank_code, "bank_account": bank_account}
    offer = Offer(errors=input_errors(date_of_birth=date_of_birth, phone=phone, **values))
    (si_code, national_id), phone = clean_identity(si_code, national_id), phone_digits(phone)
    bank_code, bank_account = bank_code.strip().upper(), account_digits(bank_account)
    if offer.errors or date_of_birth is None:
        return offer
    claim = _waiting_claim(program, si_code, national_id, date_of_birth)
    if claim is None:
        return offer
    data = {"by": "person", "bank_code": bank_code, "bank_account": bank_account, "phone": phone or None}
    latest = open_offer(claim)
    if latest is not None and latest.data == data:
        offer.event = latest  # the same details sent again (twice "Send", the back button): one offer, one call
        return offer
    offer.event = claims.note(claim, ClaimNote.OFFER_DETAILS, None, data=data)
    return offer


#: Events after which an offer has been dealt with: details received, the offer dismissed, or the claim left the wait;
#: and a ``correct`` note that changed the bank details or the payout (:data:`_DETAILS_CHANGED`).
_SETTLED_BY = (ClaimAction.DETAILS_RECEIVED.value, ClaimNote.DISMISS_OFFER.value)
#: What a ``correct`` note changes that settles an offer: the bank details, or the payout (cash offered writes
#: ``field`` payout). A phone number's correction alone (Form 03's, or the office's after the person showed their ID
#: card) leaves the offer for the call it makes possible.
_DETAILS_CHANGED = ("bank_code", "bank_account", "payout")
_WAITING_STATES = [state.value for state in WAITING]


def _settled_since(offered: Any) -> ColumnElement[bool]:
    """Whether the offer ``offered`` (an alias of the events) has been dealt with: a correction of the bank details or
    the payout, details received or a dismissal since, or the claim left the wait since (approved on other details,
    say, and waiting again after its payment failed: the old offer is not offered again). Read through the events'
    index on their claim."""
    later = aliased(ClaimEvent)
    return (
        select(later.id)
        .where(
            later.claim_id == offered.claim_id,
            later.id > offered.id,
            or_(
                later.action.in_(_SETTLED_BY),
                and_(
                    later.action == ClaimNote.CORRECT.value,
                    or_(
                        later.data["field"].astext == "payout",
                        *(later.data["changes"].has_key(name) for name in _DETAILS_CHANGED),
                    ),
                ),
                later.to_state.not_in(_WAITING_STATES),
            ),
        )
        .exists()
    )


def open_offer(claim: Claim) -> ClaimEvent | None:
    """The person's latest offer of details for ``claim``, while it waits, not yet dealt with
    (:func:`_settled_since`). One claim's; :func:`open_offer_clause` says the same of many in SQL."""
    if ClaimState(claim.state) not in WAITING:
        return None
    offered = aliased(ClaimEvent)
    return db.session.scalar(
        select(offered)
        .where(offered.claim_id == claim.id, offered.action == ClaimNote.OFFER_DETAILS.value, ~_settled_since(offered))
        .order_by(offered.id.desc())
        .limit(1)
    )


def open_offer_clause() -> ColumnElement[bool]:
    """:func:`open_offer` as SQL over ``claims``: the claim waits and has an offer of the person's not yet dealt with
    (an offer is dealt with by whatever came after it, so the latest is open exactly when any is). Offers are few:
    the partial index ``ix_claim_events_offers`` holds them alone, so that a district's count and the queue's filter
    never read the claims' other events."""
    offered = aliased(ClaimEvent)
    return and_(
        Claim.state.in_(_WAITING_STATES),
        select(offered.id)
        .where(offered.claim_id == Claim.id, offered.action == ClaimNote.OFFER_DETAILS.value, ~_settled_since(offered))
        .exists(),
    )


def open_offers_count(program_id: int, district_code: str) -> int:
    """How many of the district's claims of the program have an open offer (:func:`open_offer_clause`): the
    caseworker's home page. One count through ``ix_claims_queue`` and the offers' partial index."""
    count = select(func.count()).select_from(Claim)
    where = (Claim.program_id == program_id, Claim.district_code == district_code, open_offer_clause())
    return int(db.session.scalar(count.where(*where)) or 0)


def claims_with_open_offers(claim_ids: Sequence[int]) -> set[int]:
    """Which of ``claim_ids`` have an open offer (:func:`open_offer_clause`): one statement for a page of the queue."""
    if not claim_ids:
        return set()
    return set(db.session.scalars(select(Claim.id).where(Claim.id.in_(list(claim_ids)), open_offer_clause())))


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


# ------------------------------------------------------------------------------------------------- dismissing one

#: The longest reason for dismissing an offer (a short note: who was called, what they said).
MAX_DISMISS_REASON = 300


class OfferRefused(Exception):
    """A dismissal that cannot be done; nothing written. ``code`` names the case (``unknown_offer``: no such offer on
    the claim; ``reason_required``, ``reason_too_long``: the reason's own problem; ``already_dismissed``: dismissed
    before with another reason; ``newer_offer``, ``offer_settled``: no longer waiting), the messages say it."""

    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.code, self.message_vi, self.message_en = code, vi, en


@dataclass
class Dismissal:
    """The dismissal's note, and whether it was written now (False: the same dismissal was posted again)."""

    event: ClaimEvent
    changed: bool


def dismissal(claim: Claim, offer_id: int) -> ClaimEvent | None:
    """The note that dismissed ``claim``'s offer ``offer_id``, if one did."""
    return db.session.scalar(
        select(ClaimEvent)
        .where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.action == ClaimNote.DISMISS_OFFER.value,
            ClaimEvent.data["offer_id"].as_integer() == offer_id,
        )
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )


def dismiss_offer(claim: Claim, offer_id: int, actor: Actor, reason: str) -> Dismissal:
    """Dismiss the person's offer ``offer_id`` of ``claim`` (locked by the caller, who checked that ``actor`` may work
    it) with ``reason``: a ``dismiss_offer`` note naming the offer, its details and the reason (``data.reason``, not
    the event's reason column: the employer's view of the history leaves work notes' data out); flush. The offer must
    be the one the case page offers (:func:`open_offer`): not one a newer offer replaced, nor one a correction or the
    claim's leaving the wait settled. The same dismissal again (the same offer, the same reason) writes nothing
    (``changed`` False). :class:`OfferRefused` otherwise, nothing written."""
    offered = offer(claim, offer_id)
    if offered is None:
        raise OfferRefused("unknown_offer", "Không có đề nghị này trên hồ sơ.", "The claim has no such offer.")
    written = " ".join((reason or "").split())
    if not written:
        raise OfferRefused(
            "reason_required", "Hãy ghi lý do bỏ qua đề nghị.", "Give the reason for dismissing the offer."
        )
    if len(written) > MAX_DISMISS_REASON:
        raise OfferRefused(
            "reason_too_long",
            f"Lý do tối đa {MAX_DISMISS_REASON} ký tự.",
            f"The reason is at most {MAX_DISMISS_REASON} characters.",
        )
    previous = dismissal(claim, offer_id)
    if previous is not None:
        if (previous.data or {}).get("reason") == written:
            return Dismissal(previous, changed=False)
        said = (previous.data or {}).get("reason") or ""
        raise OfferRefused(
            "already_dismissed",
            f"Đề nghị này đã được bỏ qua với lý do khác: “{said}”.",
            f"The offer was already dismissed for another reason: “{said}”.",
        )
    current = open_offer(claim)
    if current is not None and current.id > offer_id:
        raise OfferRefused(
            "newer_offer",
            "Người lao động đã gửi đề nghị mới sau đề nghị này; hãy xem đề nghị mới trên trang hồ sơ.",
            "The person has sent a newer offer since this one; see the new one on the claim's page.",
        )
    if current is None or current.id != offer_id:
        raise OfferRefused(
            "offer_settled",
            "Đề nghị này không còn chờ xử lý: thông tin tài khoản đã được sửa, hoặc hồ sơ không còn chờ bổ sung "
            "thông tin tài khoản.",
            "The offer is no longer waiting: the payment details were corrected, or the claim no longer waits for "
            "them.",
        )
    sent = offered.data or {}
    data = {
        "offer_id": offered.id,
        "bank_code": sent.get("bank_code"),
        "bank_account": sent.get("bank_account"),
        "reason": written,
    }
    return Dismissal(claims.note(claim, ClaimNote.DISMISS_OFFER, actor, data=data), changed=True)


__all__ = [
    "MAX_DISMISS_REASON",
    "WAITING",
    "Dismissal",
    "Offer",
    "OfferRefused",
    "dismiss_offer",
    "dismissal",
    "input_errors",
    "offer",
    "offer_payment_details",
    "open_offer",
    "period_ended",
    "takes_offers",
    "takes_offers_clause",
]
