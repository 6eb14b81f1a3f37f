"""The case page's actions that belong to other features, as JSON (mounted under /api/v1 by :mod:`disburse.api`):

POST /claims/<id>/payment-details     correct the claim's bank details
POST /claims/<id>/phone               record the person's new phone number (they came with their ID card)
POST /claims/<id>/offer-dismiss       dismiss the person's open offer of bank details
POST /claims/<id>/cash                switch to cash at the office (dismissing the open offer the caller saw)
POST /claims/<id>/cash-receipt        record the receipt of cash handed over at the office
POST /claims/<id>/cash-withdraw       take the claim's cash payment off the office's list
POST /people/lookup                   a list of SI codes or national IDs, one row per code (the "find a person" page)

Each calls the service the case page calls (:mod:`disburse.casework.service`), with the page's roles, and answers
as the review queue's actions do (:func:`disburse.verification.api.done`): the services refuse whatever the page
refuses, in the API's one error shape. What is typed is checked here as the page's forms check it; a claim out of
the caller's scope is the same 404 as an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, cast

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import Field, StringConstraints
from sqlalchemy import select

from disburse.api.errors import api_error, message
from disburse.api.schemas import (
    BLANK_IS_ABSENT,
    BLANK_IS_MISSING,
    COMPOSED,
    CONTROL_MSG,
    NO_CONTROL,
    WORDLESS_IS_BLANK,
    ApiModel,
    Msg,
    ProgramCode,
    QueryModel,
    ResponseModel,
    endpoint,
)
from disburse.auth.models import User
from disburse.auth.permissions import roles_required
from disburse.auth.service import audit
from disburse.casework import people, service
from disburse.casework.views import CASH_ROLES, STAFF
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import BANK_ACCOUNT_MESSAGE, account_digits, is_bank_account
from disburse.claims.person_details import MAX_DISMISS_REASON
from disburse.extensions import db
from disburse.payments.cash import MAX_RECEIPT, MAX_WITHDRAW_REASON
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.service import bank_code_of, bank_names
from disburse.verification import review
from disburse.verification.api import CONFLICTS, action, done, review_error
from disburse.verification.review import MAX_ID, MAX_TEXT, ReviewError

bp = Blueprint("casework", __name__)
bp.register_error_handler(ReviewError, review_error)

#: The conflict codes of these actions besides the review queue's, with what each means.
_CONFLICTS = {
    **CONFLICTS,
    "offer_unseen": "the person has sent bank details the caller has not seen (offer_id is not their open offer)",
    "already_dismissed": "the offer was dismissed already, for another reason",
    "newer_offer": "the person has sent a newer offer since this one",
    "offer_settled": "the offer no longer waits (the details were corrected, or the claim no longer waits for them)",
    "claim_not_awaiting_details": "only a claim awaiting payment details is switched to cash",
    "too_few_failures": "fewer failed payments than the programme's limit, and no reason given for cash early",
    "no_cash_payment": "the claim has no cash payment waiting at the office (the message says if one was withdrawn)",
    "cash_payment_changed": "the claim's cash payment is not the one given in payment_id (put on a list again since)",
    "already_paid": "the cash payment is paid already, against another receipt",
    "not_payable": "the cash payment cannot be paid as it stands",
    "claim_not_pending": "the claim is not waiting for its payment",
    "receipt_used": "the receipt number was used for another payment",
}
_CASH_403 = "The employer and supervisor roles (cash is handed over by the claim's own office)."
_STAFF_403 = "The employer role."
#: The declaration of an action of the staff's (:data:`STAFF`), and of the cash roles' (:data:`CASH_ROLES`).
staff_action = partial(action, meanings=_CONFLICTS, forbidden=_STAFF_403)
cash_action = partial(action, meanings=_CONFLICTS, forbidden=_CASH_403)


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _required_text(most: int) -> StringConstraints:
    """Free text the caseworker writes, required: at most ``most`` characters, no control or hidden characters (the
    page forms' free text, :func:`disburse.forms.free_text`)."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=most, pattern=NO_CONTROL)


_Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# ------------------------------------------------------------------------------------------------------ schemas


class PaymentDetailsBody(ApiModel):
    bank_code: Annotated[
        str,
        _required_text(200),
        Field(
            description="The bank: its short code (VCB, BIDV, ICB, VBA…), or its NAPAS number or name as the case "
            "page reads it (Vietcombank, 970436); a bank it does not know is a 422 naming bank_code."
        ),
        CONTROL_MSG,
        BLANK_IS_MISSING,
        WORDLESS_IS_BLANK,
        COMPOSED,
    ]
    bank_account: Annotated[
        str,
        Field(description="The account number: 6 to 19 digits, as text (spaces or dashes between groups are dropped)."),
    ]
    seen: Annotated[
        _Id | None,
        Field(
            default=None,
            description="Optional: the id of the claim's latest timeline event when the caller typed the details. If "
            "someone else has changed its details or its state since, 409 changed_since and nothing is done.",
        ),
    ]

    def problems(self) -> dict[str, tuple[str, str]]:
        # The page's form's one rule for an account (what verification and the bank take), before any look-up.
        if not is_bank_account(account_digits(self.bank_account)):
            return {"bank_account": BANK_ACCOUNT_MESSAGE}
        return {}


class PhoneBody(ApiModel):
    phone: Annotated[
        str,
        StringConstraints(max_length=20),
        Field(
            description="The new number: 10 or 11 digits starting with 0; spaces, dots, dashes and brackets between "
            "groups are dropped; +84 or 0084 before it stands for its 0 (at most 20 characters as typed)."
        ),
        COMPOSED,
    ]
    id_card_seen: Annotated[
        bool,
        Field(
            description="true: the person came to the office and showed their ID card. Required to be true: the "
            "registry's number is the one caseworkers call to confirm bank details, never changed on hearsay."
        ),
    ]


class DismissOfferBody(ApiModel):
    offer_id: Annotated[
        _Id,
        Field(description="The person's offer (its timeline event's id, action offer_details); another is a 404."),
    ]
    reason: Annotated[
        str,
        _required_text(MAX_DISMISS_REASON),
        Field(description=f"Why the offer is dismissed (at most {MAX_DISMISS_REASON} characters)."),
        CONTROL_MSG,
        BLANK_IS_MISSING,
        WORDLESS_IS_BLANK,
        COMPOSED,
    ]


class CashBody(ApiModel):
    reason: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT, pattern=NO_CONTROL)] | None,
        BLANK_IS_ABSENT,
        Field(
            default=None,
            description=f"Why cash before the programme's limit of failed payments (required then; at most {MAX_TEXT} "
            "characters); a note otherwise.",
        ),
        CONTROL_MSG,
        COMPOSED,
    ]
    offer_id: Annotated[
        _Id | None,
        Field(
            default=None,
            description="The person's open offer of bank details the caller saw (its timeline event's id), if any: it "
            "is dismissed with the switch. When another is open, 409 offer_unseen and nothing is done.",
        ),
    ]


class CashReceiptBody(ApiModel):
    receipt_number: Annotated[
        str,
        StringConstraints(min_length=1),
        Field(
            description=f"The receipt's series and number (1 to {MAX_RECEIPT} characters once spaces are collapsed: "
            "unaccented letters, digits and / . -, a digit among them), stored in capitals; else a 422 naming it."
        ),
        BLANK_IS_MISSING,
    ]


class CashWithdrawBody(ApiModel):
    reason: Annotated[
        str,
        _required_text(MAX_WITHDRAW_REASON),
        Field(description=f"Why the payment is taken off the cash list (at most {MAX_WITHDRAW_REASON} characters)."),
        CONTROL_MSG,
        BLANK_IS_MISSING,
        WORDLESS_IS_BLANK,
        COMPOSED,
    ]
    payment_id: Annotated[
        _Id | None,
        Field(
            default=None,
            description="Optional: the cash payment the caller saw (its id). If the claim has been put on a cash list "
            "again since, 409 cash_payment_changed: the new payment is never taken off by it.",
        ),
    ]


# ------------------------------------------------------------------------------------------------------ actions


def _with_events(claim_id: int, user: User, act: Callable[[], review.ActionResult]) -> review.ActionResult:
    """``act()``'s result with every claim event the caller's action wrote, for the services that write some through
    another feature and do not return them (a correction's note, a receipt's or a withdrawal's moves, the switch to
    cash's note of the old payout): the caller's events on the claim after its latest one before (another user's,
    written meanwhile, are not this action's; the service holds the claim's lock from then to the commit)."""
    before = review.last_event_id(claim_id) or 0
    result = act()
    if result.changed:
        result.events = list(
            db.session.scalars(
                select(ClaimEvent)
                .where(ClaimEvent.claim_id == claim_id, ClaimEvent.id > before, ClaimEvent.actor_id == user.id)
                .order_by(ClaimEvent.id)
            )
        )
    return result


#: A correction refused for the claim's state or the programme's end, not for what was typed: a 409 with its code.
_NOT_NOW = {"cannot_correct": "invalid_state", "payment_period_ended": "payment_period_ended"}


@bp.post("/claims/<int:claim_id>/payment-details")
@roles_required(*STAFF)
@staff_action(
    "Correct a claim's bank details (in review, or after a failed payment: then it is paid again)",
    PaymentDetailsBody,
    "invalid_state",
    "assigned_to_another",
    "changed_since",
    "payment_period_ended",
    invalid="Also fields.bank_code: a bank not known, or a name several banks share; fields.bank_account: the details "
    "the claim already has, or an account an earlier payment of the claim failed with.",
)
def payment_details(claim_id: int, body: PaymentDetailsBody) -> ResponseReturnValue:
    user = _user()

    def correct() -> review.ActionResult:
        bank = bank_code_of(body.bank_code, bank_names())  # a bank written by name, as the page's field reads it
        result = service.correct_payment_details(claim_id, user, bank, body.bank_account, seen=body.seen)
        for error in result.errors:
            if error.code in _NOT_NOW:
                raise review.Conflict(error.message_vi, error.message_en, code=_NOT_NOW[error.code])
        if result.errors:
            raise review.Invalid({e.field: (e.message_vi, e.message_en) for e in result.errors})
        claim = db.session.get(Claim, claim_id)
        assert claim is not None, "the service found it"
        return review.ActionResult(claim, changed=result.outcome != "unchanged")

    return done(_with_events(claim_id, user, correct))


@bp.post("/claims/<int:claim_id>/phone")
@roles_required(*STAFF)
@staff_action(
    "Record the person's new phone number (they came to the office with their ID card)",
    PhoneBody,
    "assigned_to_another",
    invalid="Also fields.id_card_seen: false; fields.phone: not a phone number.",
)
def record_phone(claim_id: int, body: PhoneBody) -> ResponseReturnValue:
    return done(service.record_phone(claim_id, _user(), body.phone, id_card_seen=body.id_card_seen))


@bp.post("/claims/<int:claim_id>/offer-dismiss")
@roles_required(*STAFF)
@staff_action(
    "Dismiss the person's open offer of bank details, with the reason",
    DismissOfferBody,
    "assigned_to_another",
    "already_dismissed",
    "newer_offer",
    "offer_settled",
)
def dismiss_offer(claim_id: int, body: DismissOfferBody) -> ResponseReturnValue:
    return done(service.dismiss_offer(claim_id, _user(), body.offer_id, body.reason))


@bp.post("/claims/<int:claim_id>/cash")
@roles_required(*CASH_ROLES)
@cash_action(
    "Switch a claim awaiting payment details to cash at the office",
    CashBody,
    "assigned_to_another",
    "offer_unseen",
    "claim_not_awaiting_details",
    "too_few_failures",
    "payment_period_ended",
)
def offer_cash(claim_id: int, body: CashBody) -> ResponseReturnValue:
    user = _user()
    return done(
        _with_events(claim_id, user, lambda: service.offer_cash_over_offer(claim_id, user, body.reason, body.offer_id))
    )


@bp.post("/claims/<int:claim_id>/cash-receipt")
@roles_required(*CASH_ROLES)
@cash_action(
    "Record that the person was paid in cash at the office, against a receipt",
    CashReceiptBody,
    "no_cash_payment",
    "already_paid",
    "not_payable",
    "claim_not_pending",
    "payment_period_ended",
    "receipt_used",
    invalid="Also fields.receipt_number: blank once cleaned, or not a receipt's number.",
)
def cash_receipt(claim_id: int, body: CashReceiptBody) -> ResponseReturnValue:
    user = _user()
    return done(_with_events(claim_id, user, lambda: service.record_cash_receipt(claim_id, user, body.receipt_number)))


@bp.post("/claims/<int:claim_id>/cash-withdraw")
@roles_required(*CASH_ROLES)
@cash_action(
    "Take the claim's cash payment off the office's list, with the reason",
    CashWithdrawBody,
    "assigned_to_another",
    "no_cash_payment",
    "cash_payment_changed",
    "claim_not_pending",
)
def withdraw_cash(claim_id: int, body: CashWithdrawBody) -> ResponseReturnValue:
    user = _user()

    def withdraw() -> review.ActionResult:
        return service.withdraw_cash_payment(claim_id, user, body.reason, seen=body.payment_id)

    return done(_with_events(claim_id, user, withdraw))


# ------------------------------------------------------------------------------------------------ find people

#: A code as sent: at most this many characters (an SI code has 10, a CCCD 12; more is no code, said as such).
_MAX_CODE = 40


class PeopleLookupQuery(QueryModel):
    program: ProgramCode


class PeopleLookupBody(ApiModel):
    codes: Annotated[
        list[Annotated[str, StringConstraints(max_length=_MAX_CODE), COMPOSED]],
        Field(
            min_length=1,
            max_length=people.MAX_CODES,
            description=f"1 to {people.MAX_CODES} codes, each an SI code (10 digits) or a national ID (CMND 9 digits, "
            "CCCD 12), as text; spaces around a code are dropped. A code of another shape is a 422 naming it "
            "(fields.codes.<index>, from 0) and nothing is looked up.",
        ),
        Msg(
            f"Hãy gửi từ 1 đến {people.MAX_CODES:,} mã.".replace(",", "."),
            f"Send 1 to {people.MAX_CODES:,} codes.",
            frozenset({"too_short", "too_long"}),
        ),
    ]


class LookupPayment(ResponseModel):
    state: str = Field(description="The latest payment's state (queued, sent, paid, failed, returned, cancelled).")
    channel: str = Field(description="bank or cash.")
    at: str | None = Field(description="When it was paid (settled), else sent, else made: ISO 8601.")


class LookupRow(ResponseModel):
    code: str = Field(description="The code as asked (a national ID held by two people answers two rows).")
    found: bool = Field(description="false: nobody within the caller's scope has the code (unknown or outside it).")
    status: str = Field(description="The claim's state, no_claim (found, no claim in the program) or not_found.")
    status_label_vi: str
    status_label_en: str
    si_code: str | None
    national_id: str | None
    full_name: str | None
    date_of_birth: str | None = Field(description="ISO 8601 date.")
    unit_code: str | None = Field(description="The claim's unit, else the registry's current or last one.")
    unit_name: str | None
    claim_id: int | None
    amount_vnd: int | None = Field(description="What the claim pays, in VND.")
    payment: LookupPayment | None = Field(description="The claim's latest payment attempt.")


class LookupAnswer(ResponseModel):
    program: str
    asked: int = Field(description="How many codes were asked.")
    found: int = Field(description="How many rows found a person.")
    counts: dict[str, int] = Field(description="Rows per status (as in rows[].status), the largest first.")
    rows: list[LookupRow] = Field(description="One row per code, in the order asked.")


def _lookup_row(row: people.PersonRow) -> dict[str, object]:
    vi, en = row.state_words
    payment = None
    if row.payment_state is not None:
        at = row.payment_at.isoformat() if row.payment_at else None
        payment = {"state": row.payment_state, "channel": row.payment_channel or "bank", "at": at}
    return {
        "code": row.asked,
        "found": row.found,
        "status": row.summary_key,
        "status_label_vi": vi,
        "status_label_en": en,
        "si_code": row.si_code,
        "national_id": row.national_id,
        "full_name": row.full_name,
        "date_of_birth": row.date_of_birth.isoformat() if row.date_of_birth else None,
        "unit_code": row.unit_code,
        "unit_name": row.unit_name,
        "claim_id": row.claim_id,
        "amount_vnd": row.amount_vnd,
        "payment": payment,
    }


@bp.post("/people/lookup")
@roles_required(*STAFF)
@endpoint(
    tag="Review",
    summary="Look up a list of people by SI code or national ID, within the caller's scope",
    description="The staff's \"find a person\" page's list: one row per code in the order asked, a row with found "
    "false for a code nobody within the caller's scope has (unknown and outside the scope alike), and the counts by "
    "status. Read in two queries whatever the list's length. Recorded in the audit log (people.bulk_lookup: how "
    "many codes were asked and found, never which).",
    query=PeopleLookupQuery,
    body=PeopleLookupBody,
    response=LookupAnswer,
    errors={
        403: _STAFF_403,
        404: "program_not_found: an unknown program.",
        422: "Also fields.codes.<index>: a code that is not an SI code nor a national ID.",
    },
)
def lookup_people(query: PeopleLookupQuery, body: PeopleLookupBody) -> ResponseReturnValue:
    code = query.program or current_app.config["DISBURSE_PROGRAM"]
    try:
        program = get_program(code)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")
        return api_error(404, "program_not_found", text, {"program": text})
    codes = [typed.strip() for typed in body.codes]
    wrong = {f"codes.{i}": words for i, typed in enumerate(codes) if (words := people.code_error(typed)) is not None}
    if wrong:
        raise review.Invalid(wrong)
    user = _user()
    rows = people.find_codes(program, user, codes)
    found = people.found_count(rows)
    audit(user, "people.bulk_lookup", "user", user.id, {"asked": len(codes), "found": found, "via": "api"})
    db.session.commit()
    return jsonify(
        {
            "program": program.code,
            "asked": len(codes),
            "found": found,
            "counts": people.counts_by_state(rows),
            "rows": [_lookup_row(row) for row in rows],
        }
    )
