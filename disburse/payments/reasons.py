"""Why a payment failed, in plain words, and whose fault it was.

The codes come from the providers: the sandbox bank's G2P Connect reason codes (``rjct.payee_fa.closed`` …), ISO
20022 status and return reason codes from bank files (``AC04`` …), and our own (``unknown``, and
``rjct.payee_fa.malformed`` for an order refused before it went out). What a failure
leads to depends on whose fault it was:

- **the details** (a closed or unknown account, a name that does not match): the claim waits for corrected details
  from the employer (track A) or the person (track B);
- **the bank** (a timeout, the fund's account short of money, a file the bank could not read): the claim is paid
  again as it is, with a new attempt after a wait that doubles with each such failure
  (:mod:`disburse.payments.status`).

Only failures of the details count towards the program's ``max_payment_failures``, after which the person is offered
cash at the office; the bank's are counted apart (``claims.bank_failures``).
"""

from __future__ import annotations

#: A code we do not know (the provider gave none, or one not listed here).
UNKNOWN = "unknown"
#: Ours: an order refused before it went out, because its bank details cannot be paid (missing, or an account that is
#: not :func:`disburse.claims.outcomes.is_bank_account`). The details are at fault: new ones are asked for.
PAYEE_FA_MALFORMED = "rjct.payee_fa.malformed"
#: Ours: a cash payment taken off its office's list by a caseworker (the person asked to be paid by transfer, or
#: cannot come); the caseworker's words are the payment's failure message. The claim waits for details.
CASH_WITHDRAWN = "cash.withdrawn"
#: Ours: a cash payment still waiting at the office after the programme's last payable day, taken off the list by the
#: close-out (:func:`disburse.verification.sweepers.close_out`): no cash may be handed over any more; its claim goes to
#: a caseworker (``payment_period_ended``).
CASH_PERIOD_ENDED = "cash.period_ended"
#: Ours: a bank payment withdrawn at the programme's end because no provider ever took its batch
#: (:func:`disburse.payments.service.withdraw_unsent`): it never reached a bank; its claim goes to a caseworker.
NOT_HANDED_OVER = "period_ended.not_handed_over"

LABELS: dict[str, tuple[str, str]] = {
    # The sandbox bank (G2P Connect reason codes).
    "rjct.payee_fa.closed": ("Tài khoản người nhận đã đóng", "The payee's account is closed"),
    "rjct.payee_name.mismatch": (
        "Tên người nhận không khớp với chủ tài khoản",
        "The payee's name does not match the account holder's",
    ),
    "rjct.payee_fa.invalid": ("Không có tài khoản này tại ngân hàng", "No such account at the payee's bank"),
    "rjct.bank.timeout": ("Ngân hàng người nhận không trả lời kịp thời", "The payee's bank did not answer in time"),
    "rjct.returned": ("Ngân hàng người nhận trả lại tiền", "The payee's bank sent the money back"),
    "rjct.amount.invalid": ("Số tiền không hợp lệ", "The amount is not valid"),
    "rjct.payee_name.invalid": ("Thiếu hoặc sai tên người nhận", "The payee's name is missing or not valid"),
    # ISO 20022 (ExternalStatusReason1Code / ExternalReturnReason1Code).
    "AC01": ("Số tài khoản không đúng", "Incorrect account number"),
    "AC04": ("Tài khoản đã đóng", "Closed account"),
    "AC06": ("Tài khoản bị phong toả", "Blocked account"),
    "AC13": ("Loại tài khoản trích nợ (tài khoản của quỹ) không hợp lệ", "Invalid debtor account type (the fund's)"),
    "AG01": ("Giao dịch bị cấm với tài khoản này", "Transaction forbidden on this account"),
    "AG02": ("Mã nghiệp vụ không hợp lệ", "Invalid bank operation code"),
    "AM01": ("Số tiền bằng không", "Zero amount"),
    "AM02": ("Số tiền vượt mức ngân hàng cho phép", "Amount above what the bank allows"),
    "AM04": ("Tài khoản nguồn không đủ số dư", "Insufficient funds"),
    "AM05": ("Lệnh trùng lặp", "Duplication"),
    "AM09": ("Số tiền sai", "Wrong amount"),
    "BE01": ("Tên người nhận không khớp với chủ tài khoản", "Creditor name does not match the account holder"),
    "BE04": ("Thiếu hoặc sai địa chỉ người nhận", "Missing or incorrect creditor address"),
    "CUST": ("Khách hàng yêu cầu huỷ", "Cancelled at the customer's request"),
    "DUPL": ("Lệnh trùng lặp", "Duplicate payment"),
    "FF01": ("Tệp sai định dạng", "Invalid file format"),
    "MD07": ("Người nhận đã mất", "The account holder is deceased"),
    "MS02": ("Người nhận từ chối, không nêu lý do", "Refused by the creditor, reason not given"),
    "MS03": ("Ngân hàng từ chối, không nêu lý do", "Refused by the bank, reason not given"),
    "NARR": ("Lý do ghi trong phần diễn giải", "Reason given in the narrative"),
    "RC01": ("Mã ngân hàng không đúng", "Incorrect bank identifier"),
    "RR04": ("Lý do pháp lý", "Regulatory reason"),
    "TM01": ("Nhận sau giờ giao dịch", "Received after the cut-off time"),
    # Ours.
    UNKNOWN: ("Ngân hàng không nêu lý do", "The bank gave no reason"),
    PAYEE_FA_MALFORMED: (
        "Thiếu ngân hàng hoặc số tài khoản, hoặc số tài khoản không đúng định dạng (6 đến 19 chữ số): "
        "chưa chuyển cho ngân hàng",
        "The bank or the account number is missing, or the account number is not 6 to 19 digits: not sent to the bank",
    ),
    CASH_WITHDRAWN: (
        "Cán bộ đã rút khỏi danh sách chi tiền mặt tại cơ quan BHXH",
        "Taken off the office's cash list by a caseworker",
    ),
    CASH_PERIOD_ENDED: (
        "Chương trình đã hết hạn chi trả: khoản chi tiền mặt chưa chi được rút khỏi danh sách chi tiền mặt",
        "The programme stopped paying: the unpaid cash payment was taken off the cash list",
    ),
    NOT_HANDED_OVER: (
        "Chương trình đã hết hạn chi trả khi lô chi trả chưa được bàn giao cho ngân hàng: lệnh chi được hủy, chưa "
        "chuyển cho ngân hàng",
        "The programme stopped paying before the payment's batch was handed to the bank: the payment was withdrawn, "
        "never sent to the bank",
    ),
}

#: Failures that were the bank's or ours (the fund's account or its limits: AC13 the debtor account's type, AM02 an
#: amount above the bank's limit, AM04 short of money), not the payee's details: paid again as they are.
BANK_SIDE = frozenset({"rjct.bank.timeout", "AC13", "AM02", "AM04", "FF01", "MS03", "TM01", "AG02"})
#: Payments the close-out withdrew because the programme stopped paying: neither the details' fault nor the bank's.
#: They ask for no new details and count in neither of the claim's failure counters (a later extension of the
#: payment period must not find the person one step nearer to ``max_payment_failures``).
PERIOD_ENDED = frozenset({CASH_PERIOD_ENDED, NOT_HANDED_OVER})


def label(code: str | None) -> tuple[str, str]:
    """(Vietnamese, English) plain words for a provider's code; the code itself when we do not know it."""
    if not code:
        return LABELS[UNKNOWN]
    return LABELS.get(code, (f"Mã lỗi của ngân hàng: {code}", f"The bank's code: {code}"))


def needs_new_details(code: str | None) -> bool:
    """Whether the failure points at the payee's details (ask for corrected ones) rather than at the bank or at the
    programme's end (:data:`PERIOD_ENDED`)."""
    return (code or UNKNOWN) not in BANK_SIDE | PERIOD_ENDED


def bank_side(code: str | None) -> bool:
    """Whether the failure was the bank's (or the fund's account's): paid again as it is, after a wait."""
    return code in BANK_SIDE


__all__ = [
    "BANK_SIDE",
    "CASH_PERIOD_ENDED",
    "CASH_WITHDRAWN",
    "LABELS",
    "NOT_HANDED_OVER",
    "PAYEE_FA_MALFORMED",
    "PERIOD_ENDED",
    "UNKNOWN",
    "bank_side",
    "label",
    "needs_new_details",
]
