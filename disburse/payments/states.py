"""The payment state machine: pure, no database.

queued → sent → paid | failed | returned; paid → returned (the payee's bank sent the money back after settlement; a
recovery record follows); queued → failed (the provider refused the order outright); queued → cancelled (withdrawn
before it was sent). Live states (queued, sent, paid) are the ones the "one live payment per claim" partial unique
index covers, so a claim can never be paid twice.

A sent payment is never cancelled (it may be at the bank: ask the provider instead), with one exception that has an
action of its own: sent → cancelled by ``withdraw``, for a payment marked sent whose batch no provider ever took
(``payment_batches.acknowledged_at`` empty, and the provider, when it can be asked, knows nothing of it) once the
programme's last payable day has passed, when nobody will hand it over any more (the close-out,
:func:`disburse.verification.sweepers.close_unsent_batches`). ``cancelled`` says the payment never reached a bank.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class PaymentAction(StrEnum):
    SEND = "send"
    SETTLE = "settle"
    FAIL = "fail"
    RETURN = "return"
    CANCEL = "cancel"
    #: A sent payment its provider never took, withdrawn after the programme's last payable day (see above).
    WITHDRAW = "withdraw"


S, A = PaymentState, PaymentAction

#: Payment states as people read them (docs/glossary.md): (Vietnamese, English).
LABELS: dict[str, tuple[str, str]] = {
    S.QUEUED: ("Chờ gửi", "Queued"),
    S.SENT: ("Đã gửi ngân hàng", "Sent to bank"),
    S.PAID: ("Thành công", "Paid"),
    S.FAILED: ("Thất bại", "Failed"),
    S.RETURNED: ("Bị hoàn trả", "Returned"),
    S.CANCELLED: ("Đã hủy", "Cancelled"),
}

#: A cash payment "sent" is on its office's list, the money waiting at the counter: no bank has it.
CASH_SENT_LABEL = ("Chờ chi tại cơ quan BHXH", "Waiting at the office")


def label(state: str, channel: str = "bank") -> tuple[str, str]:
    """A payment's state as people read it, for its channel (``bank`` or ``cash``): (Vietnamese, English)."""
    if state == S.SENT and channel == "cash":
        return CASH_SENT_LABEL
    return LABELS.get(state, (state, state))


LIVE_STATES = frozenset({S.QUEUED, S.SENT, S.PAID})
#: No way out. ``paid`` is not among them: the payee's bank may still send the money back (paid → returned).
TERMINAL_STATES = frozenset({S.FAILED, S.RETURNED, S.CANCELLED})

TRANSITIONS: dict[tuple[PaymentState, PaymentAction], PaymentState] = {
    (S.QUEUED, A.SEND): S.SENT,
    (S.QUEUED, A.CANCEL): S.CANCELLED,
    (S.QUEUED, A.FAIL): S.FAILED,
    (S.SENT, A.SETTLE): S.PAID,
    (S.SENT, A.FAIL): S.FAILED,
    (S.SENT, A.RETURN): S.RETURNED,
    (S.SENT, A.WITHDRAW): S.CANCELLED,
    (S.PAID, A.RETURN): S.RETURNED,
}


class InvalidPaymentTransition(ValueError):
    def __init__(self, state: PaymentState, action: PaymentAction) -> None:
        super().__init__(f"payment in state {state.value!r} cannot {action.value!r}")
        self.from_state = state
        self.action = action


def next_state(state: PaymentState | str, action: PaymentAction | str) -> PaymentState:
    state, action = PaymentState(state), PaymentAction(action)
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidPaymentTransition(state, action) from None
