"""The person's own status: the public page where a worker finds out whether they are supported, how much, where and
how they are paid, and what, if anything, they have to do (``/people/status``). Read-only.

- **Who.** The person is found by SI code, national ID and date of birth together, all three as the registry has
  them (:func:`~disburse.claims.person_details.identity_errors` checks their shape). Unlike the bank-details page the
  answer differs when nothing matches: telling the person is the point. So the page says no more than their unit
  already sees on its status page (the unit holds the same three facts of every person it lists, current and former),
  and less where it can: no phone number, the account's last four digits only, no caseworker's notes, review reasons
  in general words. Guessing is slowed twice: every look-up counts per client address, and a look-up that found
  nothing counts against the SI code typed too, from whatever address (``LIMIT_PERSON_STATUS_*``).
- **What.** The claim's state in the person's words, with what happens next and what they do (nothing, send bank
  details, come to the office with their ID card); the amount and the months it is for; the bank and the account's
  end, or the office paying in cash; the day it was paid; a refusal's reasons as the written notice gives them; the
  office working the claim (its district's). A person in the registry without a claim of the programme is told so,
  with where to ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import CLOSED_STATES, STATE_LABELS, ClaimNote, ClaimState
from disburse.claims.unit import latest_payments
from disburse.extensions import db
from disburse.formatting import dmy
from disburse.payments import reasons as payment_reasons
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.reference.models import Bank, District
from disburse.registry.models import Employee
from disburse.verification.review import last_refusal_codes, refusal_reasons

S = ClaimState

#: What each state means for the person, and what they do: (Vietnamese, English). ``{office}`` is the office working
#: the claim.
_NEXT: dict[ClaimState, tuple[str, str]] = {
    S.LISTED: (
        "Bạn có tên trong danh sách hỗ trợ (Mẫu số 01) của đơn vị. Đơn vị xác nhận danh sách (Mẫu số 02), sau đó cơ "
        "quan BHXH {office} chi trả. Bạn không cần làm gì.",
        "You are on your unit's support list (Form 01). Your unit confirms the list (Form 02), then the social "
        "security office of {office} pays. You have nothing to do.",
    ),
    S.EMPLOYER_CONFIRMED: (
        "Đơn vị đã xác nhận danh sách; cơ quan BHXH {office} đang kiểm tra trước khi chi trả. Bạn không cần làm gì.",
        "Your unit confirmed the list; the social security office of {office} is checking it before paying. You have "
        "nothing to do.",
    ),
    S.EMPLOYER_OVERDUE: (
        "Đơn vị chưa xác nhận danh sách trong thời hạn; cơ quan BHXH {office} sẽ liên hệ để xác minh. Hãy giữ số điện "
        "thoại đã đăng ký; nếu đã đổi số, hãy đến cơ quan BHXH {office} với căn cước công dân.",
        "Your unit did not confirm the list in time; the social security office of {office} will contact you to "
        "check. Keep your registered phone at hand; if you have a new number, come to the office of {office} with "
        "your ID card.",
    ),
    S.APPLIED: (
        "Cơ quan BHXH {office} đã nhận đề nghị (Mẫu số 04) của bạn và sẽ kiểm tra. Bạn không cần làm gì.",
        "The social security office of {office} received your application (Form 04) and will check it. You have "
        "nothing to do.",
    ),
    S.VERIFYING: (
        "Cơ quan BHXH {office} đang kiểm tra hồ sơ. Bạn không cần làm gì.",
        "The social security office of {office} is checking the claim. You have nothing to do.",
    ),
    S.NEEDS_REVIEW: (
        "Cán bộ BHXH {office} cần xác minh thêm một số thông tin; cán bộ có thể gọi số điện thoại đã đăng ký của bạn.",
        "A caseworker of the social security office of {office} must check some details; they may call your "
        "registered phone.",
    ),
    S.APPROVED: (
        "Hồ sơ đã được duyệt và sẽ được chi trả. Bạn không cần làm gì.",
        "The claim is approved and will be paid. You have nothing to do.",
    ),
    S.PAYMENT_PENDING: (
        "Đang chuyển tiền. Bạn không cần làm gì.",
        "The money is on its way. You have nothing to do.",
    ),
    S.PAYMENT_FAILED: (
        "Chuyển tiền không thành công. Hãy gửi tài khoản đúng, đứng tên bạn, hoặc đến cơ quan BHXH {office}.",
        "The payment failed. Send a correct account in your name, or come to the social security office of {office}.",
    ),
    S.AWAITING_PAYMENT_DETAILS: (
        "Cần tài khoản ngân hàng đúng, đứng tên bạn. Hãy gửi tài khoản, hoặc đến cơ quan BHXH {office}.",
        "A correct bank account in your name is needed. Send it, or come to the social security office of {office}.",
    ),
    S.PAID: ("Đã chi trả.", "Paid."),
    S.REJECTED: (
        "Bạn không được hỗ trợ, vì lý do dưới đây (như trong thông báo bằng văn bản). Nếu bạn cho rằng có sai sót, "
        "hãy liên hệ cơ quan BHXH {office}.",
        "You are not supported, for the reasons below (as in the written notice). If you think this is a mistake, "
        "contact the social security office of {office}.",
    ),
    S.DECLINED: (
        "Đơn vị ghi bạn không nhận hỗ trợ (Mẫu số 02). Không thể nhận lại hỗ trợ này.",
        "Your unit recorded that you declined the support (Form 02). A decline cannot be undone.",
    ),
    S.REMOVED: (
        "Đơn vị báo bạn không còn làm việc tại đơn vị (Mẫu số 03).",
        "Your unit reported that you no longer work there (Form 03).",
    ),
}
#: Added for a person whose unit can still send their account on Form 03 (track A, before the adjustment deadline).
_UNIT_SENDS = (
    " Đơn vị cũng có thể gửi tài khoản của bạn bằng Mẫu số 03 đến hết ngày {adjustment_deadline}.",
    " Your unit can also send your account on Form 03 until {adjustment_deadline}.",
)
#: Added for a person without a claim, or removed from their unit's list, while applications are taken.
_MAY_APPLY = (
    " Nếu bạn đã nghỉ việc, bạn có thể tự đề nghị hỗ trợ (Mẫu số 04) tại cơ quan BHXH quận/huyện đến hết ngày "
    "{application_deadline}.",
    " If you have left your job, you may apply yourself (Form 04) at a district social security office until "
    "{application_deadline}.",
)
#: A person in the registry without a claim of the programme.
_NO_CLAIM = (
    "Bạn không có trong danh sách hỗ trợ của chương trình này. Nếu bạn cho rằng mình đủ điều kiện, hãy hỏi đơn vị "
    "hoặc cơ quan BHXH quận/huyện nơi bạn đóng bảo hiểm.",
    "You are not on this programme's support lists. If you think you qualify, ask your unit or the district social "
    "security office where you contribute.",
)
#: Cash waiting at the office.
_COLLECT_CASH = (
    "Tiền mặt đang chờ bạn tại cơ quan BHXH {office}: hãy đến nhận, mang theo căn cước công dân.",
    "The cash waits for you at the social security office of {office}: come and collect it with your ID card.",
)

#: The states in which the person can send bank details on the bank-details page.
SEND_DETAILS = frozenset({S.PAYMENT_FAILED, S.AWAITING_PAYMENT_DETAILS})
#: The states in which nothing is owed: no amount and no account shown.
NOTHING_OWED = frozenset({S.REJECTED, S.DECLINED, S.REMOVED})


@dataclass(frozen=True)
class PersonStatus:
    """What the page shows of a person found in the registry. ``state`` is None when they have no claim of the
    programme; the texts are (Vietnamese, English)."""

    full_name: str
    state: ClaimState | None = None
    label: tuple[str, str] | None = None
    next_step: tuple[str, str] | None = None
    amount_vnd: int | None = None
    unused_months: int | None = None
    payout: str | None = None
    bank: str | None = None
    account_end: str | None = None
    office: str | None = None
    paid_on: date | None = None
    #: Why the payment failed, or (refused) why the claim was refused, one pair each.
    reasons: list[tuple[str, str]] = field(default_factory=list)
    #: The office's latest request for information addressed to the person, while the claim is open: (what the
    #: caseworker wrote for them, due by). Answered by phone or at the office: the page cannot know it was.
    request: tuple[str, date | None] | None = None

    @property
    def sends_details(self) -> bool:
        return self.state in SEND_DETAILS


def _with(sentence: tuple[str, str], more: tuple[str, str]) -> tuple[str, str]:
    return sentence[0] + more[0], sentence[1] + more[1]


def find(program: Program, si_code: str, national_id: str, born: date) -> PersonStatus | None:
    """The status of the person whose SI code, national ID and date of birth are all three as given (clean, as
    :func:`~disburse.claims.person_details.identity_errors` accepts them); None when no one matches."""
    office = select(District.name).where(District.code == Claim.district_code).scalar_subquery()
    bank = select(Bank.name).where(Bank.code == Claim.bank_code).scalar_subquery()
    found = db.session.execute(
        select(Employee.full_name, Claim, office.label("office"), bank.label("bank"))
        .outerjoin(Claim, (Claim.employee_id == Employee.id) & (Claim.program_id == program.id))
        .where(Employee.si_code == si_code, Employee.national_id == national_id, Employee.date_of_birth == born)
    ).first()
    if found is None:
        return None
    today = programme_today()
    applying = today <= program.application_deadline
    words = {
        "office": found.office,
        "application_deadline": dmy(program.application_deadline),
        "adjustment_deadline": dmy(program.adjustment_deadline),
    }
    claim: Claim | None = found.Claim
    if claim is None:
        said = _with(_NO_CLAIM, _MAY_APPLY) if applying else _NO_CLAIM
        return PersonStatus(full_name=found.full_name, next_step=(said[0].format(**words), said[1].format(**words)))
    state = ClaimState(claim.state)
    owed = state not in NOTHING_OWED
    said = _NEXT[state]
    reasons: list[tuple[str, str]] = []
    if state == S.REJECTED:
        refusing = refusal_reasons()
        codes = last_refusal_codes([claim.id]).get(claim.id) or sorted(claim.reasons or ())
        reasons = [refusing[code] for code in codes if code in refusing]
    elif state in SEND_DETAILS:
        payment = latest_payments([claim.id]).get(claim.id)
        reasons = [payment_reasons.label(payment.failure_code if payment else None)]
        if claim.track == "A" and program.takes_adjustments(today):
            said = _with(said, _UNIT_SENDS)
    elif state == S.REMOVED and applying:
        said = _with(said, _MAY_APPLY)
    elif state == S.PAYMENT_PENDING and claim.payout == "cash":
        said = _COLLECT_CASH
    by_bank = owed and claim.payout == "bank"
    return PersonStatus(
        full_name=found.full_name,
        state=state,
        label=STATE_LABELS[state],
        next_step=(said[0].format(**words), said[1].format(**words)),
        amount_vnd=claim.amount_vnd if owed else None,
        unused_months=claim.unused_months if owed else None,
        payout=claim.payout if owed else None,
        bank=found.bank if by_bank else None,
        account_end=claim.bank_account[-4:] if by_bank and claim.bank_account else None,
        office=found.office,
        paid_on=claim.paid_at.astimezone(VIETNAM_TZ).date() if state == S.PAID and claim.paid_at else None,
        reasons=reasons,
        request=None if state in CLOSED_STATES else _request_to_person(claim.id),
    )


def _request_to_person(claim_id: int) -> tuple[str, date | None] | None:
    """The latest ``request_info`` note addressed to the person on the claim: its text (written for them) and due
    day; only those two are read, never the caseworker's other notes."""
    row = db.session.execute(
        select(ClaimEvent.data["note"].astext, ClaimEvent.data["due_on"].astext)
        .where(
            ClaimEvent.claim_id == claim_id,
            ClaimEvent.action == ClaimNote.REQUEST_INFO.value,
            ClaimEvent.data["addressee"].astext == "person",
        )
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    ).first()
    if row is None or not row[0]:
        return None
    return row[0], date.fromisoformat(row[1]) if row[1] else None
