"""The claim state machine: pure, no database. Every state change in the system goes through :func:`next_state`,
called by :mod:`disburse.claims.service`, the one module that writes a claim's state.

The state names are part of the API, exports and reports (docs/architecture.md); their labels are in
docs/glossary.md.
"""

from __future__ import annotations

from enum import StrEnum


class ClaimState(StrEnum):
    LISTED = "listed"
    EMPLOYER_CONFIRMED = "employer_confirmed"
    EMPLOYER_OVERDUE = "employer_overdue"
    APPLIED = "applied"
    VERIFYING = "verifying"
    NEEDS_REVIEW = "needs_review"
    APPROVED = "approved"
    PAYMENT_PENDING = "payment_pending"
    PAYMENT_FAILED = "payment_failed"
    AWAITING_PAYMENT_DETAILS = "awaiting_payment_details"
    PAID = "paid"
    REJECTED = "rejected"
    DECLINED = "declined"
    REMOVED = "removed"


class ClaimAction(StrEnum):
    CONFIRM = "confirm"  # employer returns Form 02 with the person on it
    #: A late Form 02 for a claim in review only because its unit had not confirmed it in time (the service checks
    #: that, under the claim's lock: never confirmed, its review reasons those of the unit's lateness alone).
    CONFIRM_LATE = "confirm_late"
    DECLINE = "decline"  # "Không nhận hỗ trợ"
    REMOVE = "remove"  # Form 03 "Không có": not employed at the unit
    MARK_OVERDUE = "mark_overdue"  # the employer's review deadline passed without Form 02
    START_VERIFICATION = "start_verification"
    FLAG_FOR_REVIEW = "flag_for_review"  # an automatic check could not settle it (or the programme stopped paying)
    APPROVE = "approve"
    REJECT = "reject"  # needs a written reason
    QUEUE_PAYMENT = "queue_payment"
    CANCEL_PAYMENT = "cancel_payment"  # a queued payment was withdrawn before it was sent
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"  # failed or returned by the bank
    REQUEST_DETAILS = "request_details"  # ask the employer / person for corrected payment details
    DETAILS_RECEIVED = "details_received"  # corrected details in hand: back to approved, pay again
    RETRY_PAYMENT = "retry_payment"  # the failure was the bank's, not the details': pay again as they are
    PAYMENT_RETURNED = "payment_returned"  # the payee's bank sent settled money back: unpaid again
    APPLY = "apply"  # a track A person not yet paid files Form 04: their claim becomes the application


class ClaimNote(StrEnum):
    """Events that record work on a claim without changing its state (from_state = to_state on the event row)."""

    ASSIGN = "assign"  # a caseworker takes the case
    RELEASE = "release"  # …or gives it back to the queue
    CONTACT = "contact"  # a contact attempt: channel, outcome, note in the event's data
    REQUEST_INFO = "request_info"  # information asked of the person or the employer
    CORRECT = "correct"  # Form 03 or a caseworker corrected a field (bank details, phone): old and new in data
    CONFIRM_AGAIN = "confirm_again"  # a repeated Form 02 row that agrees with the first
    RESOLVE_DUPLICATE = "resolve_duplicate"  # a caseworker decided a possible duplicate (kept, or overridden)
    REASSESS = "reassess"  # verification found the registry changed the months or the amount
    SLA_BREACH = "sla_breach"  # a deadline or payment SLA passed (written once per deadline)
    OFFER_DETAILS = "offer_details"  # the person sent bank details on the public page, for a caseworker to confirm
    DISMISS_OFFER = "dismiss_offer"  # a caseworker found the person's offer of details wrong: not used, reason in data
    ANSWER_INFO = "answer_info"  # the unit answered an information request in words: the request's event id, the text


S, A = ClaimState, ClaimAction

INITIAL_STATES = frozenset({S.LISTED, S.APPLIED})
#: No way out at all.
TERMINAL_STATES = frozenset({S.REJECTED, S.DECLINED, S.REMOVED})
#: Nothing left for anyone to do: the terminal states and ``paid`` (whose only way out is the bank sending the money
#: back, :attr:`ClaimAction.PAYMENT_RETURNED`).
CLOSED_STATES = TERMINAL_STATES | {S.PAID}
#: States from which the person can still say "Không nhận hỗ trợ" (nothing is on its way to the bank).
_DECLINABLE = (
    S.LISTED,
    S.EMPLOYER_OVERDUE,
    S.EMPLOYER_CONFIRMED,
    S.APPLIED,
    S.VERIFYING,
    S.NEEDS_REVIEW,
    S.APPROVED,
    S.PAYMENT_FAILED,
    S.AWAITING_PAYMENT_DETAILS,
)
#: A Form 03 "Không có" (not employed at the unit) may arrive until the money is on its way.
_REMOVABLE = (S.LISTED, S.EMPLOYER_OVERDUE, S.EMPLOYER_CONFIRMED, S.VERIFYING, S.NEEDS_REVIEW, S.APPROVED)
#: A caseworker may refuse (with a written reason) at any point before the money is on its way, so that no claim is
#: stuck after a failed payment or when the payment deadline has passed.
_REJECTABLE = (S.VERIFYING, S.NEEDS_REVIEW, S.APPROVED, S.PAYMENT_FAILED, S.AWAITING_PAYMENT_DETAILS)

#: A track A person still unpaid after the fallback date may file Form 04: their claim (never a second one) becomes
#: the application and is verified as one. Not once the money is on its way or paid, nor after a decision.
_APPLICABLE = (
    S.LISTED,
    S.EMPLOYER_OVERDUE,
    S.EMPLOYER_CONFIRMED,
    S.NEEDS_REVIEW,
    S.PAYMENT_FAILED,
    S.AWAITING_PAYMENT_DETAILS,
)

#: After the programme's last payable day, a claim still waiting to be paid (approved, or after a failed payment) is
#: sent to a caseworker with the reason ``payment_period_ended`` (the close-out sweep,
#: :func:`disburse.verification.sweepers.close_out`): nobody will pay it, and the person is owed a written answer.
_CLOSED_OUT = (S.APPROVED, S.PAYMENT_FAILED, S.AWAITING_PAYMENT_DETAILS)

TRANSITIONS: dict[tuple[ClaimState, ClaimAction], ClaimState] = {
    (S.LISTED, A.CONFIRM): S.EMPLOYER_CONFIRMED,
    (S.EMPLOYER_OVERDUE, A.CONFIRM): S.EMPLOYER_CONFIRMED,
    (S.NEEDS_REVIEW, A.CONFIRM_LATE): S.EMPLOYER_CONFIRMED,
    (S.LISTED, A.MARK_OVERDUE): S.EMPLOYER_OVERDUE,
    (S.EMPLOYER_CONFIRMED, A.START_VERIFICATION): S.VERIFYING,
    (S.EMPLOYER_OVERDUE, A.START_VERIFICATION): S.VERIFYING,
    (S.APPLIED, A.START_VERIFICATION): S.VERIFYING,
    (S.VERIFYING, A.FLAG_FOR_REVIEW): S.NEEDS_REVIEW,
    (S.VERIFYING, A.APPROVE): S.APPROVED,
    (S.NEEDS_REVIEW, A.APPROVE): S.APPROVED,
    (S.APPROVED, A.QUEUE_PAYMENT): S.PAYMENT_PENDING,
    (S.PAYMENT_PENDING, A.CANCEL_PAYMENT): S.APPROVED,
    (S.PAYMENT_PENDING, A.PAYMENT_SUCCEEDED): S.PAID,
    (S.PAYMENT_PENDING, A.PAYMENT_FAILED): S.PAYMENT_FAILED,
    (S.PAYMENT_FAILED, A.REQUEST_DETAILS): S.AWAITING_PAYMENT_DETAILS,
    (S.PAYMENT_FAILED, A.RETRY_PAYMENT): S.APPROVED,
    (S.PAID, A.PAYMENT_RETURNED): S.PAYMENT_FAILED,
    (S.AWAITING_PAYMENT_DETAILS, A.DETAILS_RECEIVED): S.APPROVED,
    **{(state, A.FLAG_FOR_REVIEW): S.NEEDS_REVIEW for state in _CLOSED_OUT},
    **{(state, A.APPLY): S.APPLIED for state in _APPLICABLE},
    **{(state, A.DECLINE): S.DECLINED for state in _DECLINABLE},
    **{(state, A.REMOVE): S.REMOVED for state in _REMOVABLE},
    **{(state, A.REJECT): S.REJECTED for state in _REJECTABLE},
}


#: Actions that need a written reason: a refusal is a written notice giving the reason.
NEEDS_REASON = frozenset({A.REJECT})


class InvalidClaimTransition(ValueError):
    """The action is not allowed from the claim's current state."""

    def __init__(self, state: ClaimState, action: ClaimAction) -> None:
        super().__init__(f"claim in state {state.value!r} cannot {action.value!r}")
        self.from_state = state
        self.action = action


def next_state(state: ClaimState | str, action: ClaimAction | str) -> ClaimState:
    """The state after ``action`` from ``state``; raises :class:`InvalidClaimTransition` if not allowed."""
    state, action = ClaimState(state), ClaimAction(action)
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidClaimTransition(state, action) from None


def allowed_actions(state: ClaimState | str) -> list[ClaimAction]:
    state = ClaimState(state)
    return [action for (from_state, action) in TRANSITIONS if from_state == state]


#: Claims in these states count against completion (the eligible group excludes rejected, declined, removed).
NOT_IN_ELIGIBLE_GROUP = frozenset({S.REJECTED, S.DECLINED, S.REMOVED})

#: How people see each state (docs/glossary.md): (Vietnamese, English).
STATE_LABELS: dict[ClaimState, tuple[str, str]] = {
    S.LISTED: ("Đã lập danh sách", "Listed"),
    S.EMPLOYER_CONFIRMED: ("Đơn vị đã xác nhận", "Confirmed by employer"),
    S.EMPLOYER_OVERDUE: ("Đơn vị quá hạn xác nhận", "Employer overdue"),
    S.APPLIED: ("Đã nộp đề nghị", "Applied"),
    S.VERIFYING: ("Đang kiểm tra", "Being checked"),
    S.NEEDS_REVIEW: ("Cần xác minh", "Needs review"),
    S.APPROVED: ("Đã duyệt", "Approved"),
    S.PAYMENT_PENDING: ("Đang chi trả", "Payment in progress"),
    S.PAYMENT_FAILED: ("Chi trả không thành công", "Payment failed"),
    S.AWAITING_PAYMENT_DETAILS: ("Chờ bổ sung thông tin tài khoản", "Awaiting payment details"),
    S.PAID: ("Đã chi trả", "Paid"),
    S.REJECTED: ("Từ chối", "Rejected"),
    S.DECLINED: ("Không nhận hỗ trợ", "Declined"),
    S.REMOVED: ("Không có tại đơn vị", "Not employed at unit"),
}
