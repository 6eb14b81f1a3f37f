"""Verification's reason codes, which of them refuse a claim and which send it to a caseworker, and the one lookup
of every reason code's plain-language labels (the rules' codes from :data:`disburse.programs.rules.REASON_LABELS`
and verification's own).

The labels are worded for the written notice a refusal needs (*văn bản trả lời, nêu rõ lý do*) and for the
caseworker's queue; docs/rules.md (section 8) lists them with the decision each one leads to.
"""

from __future__ import annotations

from disburse.programs.rules import (
    REASON_EXCLUDED_SECTOR,
    REASON_LABELS,
    REASON_PENSION_DECISION,
    REASON_POSSIBLE_DUPLICATE,
    REASON_STOPPED_OUTSIDE_WINDOW,
    REASON_ZERO_MONTHS,
)

#: Form 04 received after the program's application deadline.
APPLIED_AFTER_DEADLINE = "applied_after_deadline"
#: The employer did not return Form 02 for the person by the review deadline (the claim is ``employer_overdue``).
NOT_CONFIRMED_BY_EMPLOYER = "not_confirmed_by_employer"
#: The same person (national ID) is on the Form 01 lists of two units.
LISTED_TWICE = "listed_twice"
#: The same person (national ID) has a track A claim and a track B (Form 04) claim.
BOTH_TRACKS = "both_tracks"
#: Another claim of the program: same date of birth, a name that matches without diacritics or nearly.
NEAR_DUPLICATE = "near_duplicate"
#: Paid by bank transfer, but the bank or the account number is missing.
BANK_DETAILS_MISSING = "bank_details_missing"
#: Paid by bank transfer, but the account number is not 6 to 19 digits.
BANK_DETAILS_MALFORMED = "bank_details_malformed"
#: The registry's unused months now give another amount than the claim's (the claim is updated, a caseworker looks).
AMOUNT_CHANGED = "amount_changed"
#: Verified after the last day the program may pay (the extension, or the payment deadline when there is none).
PAYMENT_PERIOD_ENDED = "payment_period_ended"
#: The provider says money moved (paid, or paid and returned) for a payment we hold failed or cancelled: nobody pays
#: the claim again before comparing the bank's statement (disburse.payments.status.hold_for_statement).
BANK_REPORTS_MONEY_MOVED = "bank_reports_money_moved"

#: Codes only a caseworker gives, on refusing a claim (verification never finds them; the case is read by a person):
#: a duplicate refused for the claim kept (the duplicate decision gives it);
DUPLICATE = "duplicate"
#: a person on a unit's list whom the office finds was not employed (not insured) at that unit on the cut-off date
#: (a Form 03 "Không có" that never came: an overdue unit, or a unit that closed);
NOT_EMPLOYED_ON_CUTOFF = "not_employed_on_cutoff"
#: a stopped person with no reserved contribution period left (every month already used for an unemployment
#: benefit), which group B needs;
NO_RESERVED_PERIOD = "no_reserved_period"
#: any other reason, which the caseworker's written reason then states in full (a longer one is required).
OTHER = "other"
CASEWORKER_REFUSALS = frozenset({DUPLICATE, NOT_EMPLOYED_ON_CUTOFF, NO_RESERVED_PERIOD, OTHER})

#: Codes that settle a claim as refused: the rules say not eligible, or the application came too late.
REJECT = frozenset(
    {REASON_EXCLUDED_SECTOR, REASON_STOPPED_OUTSIDE_WINDOW, REASON_PENSION_DECISION, APPLIED_AFTER_DEADLINE}
)
#: Codes the checks cannot settle: a caseworker decides (approve, or reject with a written reason).
REVIEW = frozenset(
    {
        REASON_ZERO_MONTHS,
        REASON_POSSIBLE_DUPLICATE,
        LISTED_TWICE,
        BOTH_TRACKS,
        NEAR_DUPLICATE,
        BANK_DETAILS_MISSING,
        BANK_DETAILS_MALFORMED,
        NOT_CONFIRMED_BY_EMPLOYER,
        AMOUNT_CHANGED,
        PAYMENT_PERIOD_ENDED,
        BANK_REPORTS_MONEY_MOVED,
    }
)
#: Review codes the payments give, never verification's checks (which compute every other code of REVIEW).
FROM_PAYMENTS = frozenset({BANK_REPORTS_MONEY_MOVED})

_VERIFICATION_LABELS: dict[str, tuple[str, str]] = {
    APPLIED_AFTER_DEADLINE: (
        "Mẫu số 04 được tiếp nhận sau thời hạn nhận hồ sơ đề nghị hỗ trợ.",
        "Form 04 was received after the deadline for applications.",
    ),
    NOT_CONFIRMED_BY_EMPLOYER: (
        "Đơn vị chưa xác nhận người lao động (Mẫu số 02) trong thời hạn: cán bộ nghiệp vụ cần xác minh.",
        "The employer did not confirm the person on Form 02 in time: a caseworker must check.",
    ),
    LISTED_TWICE: (
        "Cùng một người (số CMND/CCCD) có tên trong danh sách của hai đơn vị: cán bộ nghiệp vụ cần xác minh.",
        "The same person (national ID) is on the lists of two employers: a caseworker must check.",
    ),
    BOTH_TRACKS: (
        "Cùng một người (số CMND/CCCD) vừa có tên trong danh sách của đơn vị vừa nộp Mẫu số 04: "
        "cán bộ nghiệp vụ cần xác minh.",
        "The same person (national ID) is both on an employer's list and a Form 04 applicant: a caseworker must check.",
    ),
    NEAR_DUPLICATE: (
        "Có hồ sơ khác cùng ngày sinh, họ tên gần trùng (không dấu hoặc sai khác ít ký tự) và trùng số tài khoản, "
        "số điện thoại hoặc có số CMND/CCCD gần giống: cán bộ nghiệp vụ cần xác minh.",
        "Another claim has the same date of birth, a nearly identical name (without diacritics or a few letters "
        "apart) and the same bank account or phone number, or a national ID nearly the same: a caseworker must "
        "check.",
    ),
    BANK_DETAILS_MISSING: (
        "Thiếu ngân hàng hoặc số tài khoản để chuyển khoản.",
        "The bank or the account number for the transfer is missing.",
    ),
    BANK_DETAILS_MALFORMED: (
        "Số tài khoản ngân hàng không đúng định dạng (6 đến 19 chữ số).",
        "The bank account number is not in the expected form (6 to 19 digits).",
    ),
    AMOUNT_CHANGED: (
        "Số tháng đóng BHTN chưa hưởng trên cơ sở dữ liệu đã thay đổi làm thay đổi mức hỗ trợ: "
        "cán bộ nghiệp vụ cần xác minh.",
        "The registry's unused contribution months have changed and give another amount: a caseworker must check.",
    ),
    PAYMENT_PERIOD_ENDED: (
        "Đã hết thời hạn chi trả của chương trình: cán bộ nghiệp vụ cần xem xét.",
        "The programme's payment period has ended: a caseworker must decide.",
    ),
    BANK_REPORTS_MONEY_MOVED: (
        "Ngân hàng báo đã chuyển tiền cho một lần chi trả mà hệ thống ghi là không thành công: cán bộ nghiệp vụ cần "
        "đối chiếu sao kê của ngân hàng trước khi chi lại.",
        "The bank reports money moved for a payment recorded here as failed: a caseworker must check the bank's "
        "statement before paying again.",
    ),
}

_CASEWORKER_REFUSAL_LABELS: dict[str, tuple[str, str]] = {
    DUPLICATE: (
        "Người lao động đã được xem xét hỗ trợ theo một hồ sơ khác của chính người lao động; mỗi người lao động chỉ "
        "được hỗ trợ một lần.",
        "The person's support is handled on another of their own records; each person is supported only once.",
    ),
    NOT_EMPLOYED_ON_CUTOFF: (
        "Vào ngày xác định đối tượng được hỗ trợ, người lao động không làm việc và không tham gia bảo hiểm thất "
        "nghiệp tại đơn vị có tên trong danh sách.",
        "On the programme's cut-off date the person was not employed, nor insured against unemployment, at the "
        "unit whose list names them.",
    ),
    NO_RESERVED_PERIOD: (
        "Không còn thời gian đóng bảo hiểm thất nghiệp được bảo lưu (thời gian đóng đã được tính hưởng trợ cấp "
        "thất nghiệp).",
        "No reserved unemployment-insurance contribution period is left (the contribution months were already "
        "used for an unemployment benefit).",
    ),
    OTHER: (
        "Lý do khác, nêu cụ thể trong thông báo gửi người lao động.",
        "Another reason, stated in full in the notice to the person.",
    ),
}

#: Every reason code the system writes → (Vietnamese, English) label: the one lookup for pages, exports, notices.
LABELS: dict[str, tuple[str, str]] = {**REASON_LABELS, **_VERIFICATION_LABELS, **_CASEWORKER_REFUSAL_LABELS}


#: The words a Form 03 row that removes a person without the unit's reason is recorded with (the removal's reason,
#: which the timelines say in the reader's language: :func:`disburse.verification.review.event_reason`). One
#: constant for the writer (:mod:`disburse.claims.employer_forms`, which imports this module) and the readers.
REMOVED_ON_FORM_03 = ("Không có tại đơn vị (Mẫu số 03)", "Not at the unit (Form 03)")


def label(code: str) -> tuple[str, str]:
    """(Vietnamese, English) label of ``code``; the code itself for a code nobody knows (never an error)."""
    return LABELS.get(code, (code, code))


def written_reason(codes: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    """The plain-language reason for an event or a notice: the Vietnamese labels of ``codes``, in code order."""
    return " ".join(label(code)[0] for code in sorted(codes))
