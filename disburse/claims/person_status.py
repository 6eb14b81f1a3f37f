"""The person's own status: the public page where a worker finds out whether they are supported, how much, where and
how they are paid, and what, if anything, they have to do (``/people/status``). Read-only.

- **Who.** The person is found by SI code, national ID and date of birth together, all three as the registry has
  them (:func:`~disburse.claims.person_details.identity_errors` checks their shape). Unlike the bank-details page the
  answer differs when nothing matches: telling the person is the point. So the page says no more than their unit
  already sees on its status page (the unit holds the same three facts of every person it lists, current and former),
  and less where it can: no phone number, the account's last four digits only, nothing a caseworker wrote (a request
  for information is said to exist, with its due day, never quoted: its text may name other people), review reasons
  in general words. Guessing is slowed twice: every look-up counts per client address, and a look-up that found
  nothing counts against the SI code typed too, from whatever address (``LIMIT_PERSON_STATUS_*``).
- **What.** The claim's state in the person's words (not the staff's labels), with what happens next and what they
  do (nothing, send bank details, come to the office with their ID card, by when); the amount (expected, until the
  claim is approved) and the months it is for; the bank and the account's end (said to be the one that failed, when
  it did), or the office paying in cash; the day it was paid; a refusal's reasons as the written notice gives them;
  whether the office has the account they sent; the office working the claim (its district's). A person in the
  registry without a claim of the programme is told what the programme's rules say of their record: not supported
  (why, and where to ask if the record is wrong), invited to apply on Form 04 (stopped within the window), or to ask
  their unit or the office.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.person_details import open_offer, takes_offers
from disburse.claims.states import CLOSED_STATES, ClaimAction, ClaimNote, ClaimState
from disburse.claims.unit import latest_payments, waits_for_money
from disburse.extensions import db
from disburse.formatting import dmy
from disburse.payments import reasons as payment_reasons
from disburse.payments.service import payable
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.programs.rules import GROUP_B, ProgramRules, assess
from disburse.programs.rules import Person as RulesPerson
from disburse.reference.models import Bank, District
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee, Employer
from disburse.verification import reasons as claim_reasons
from disburse.verification.review import last_refusal_codes, refusal_reasons

S = ClaimState
Words = tuple[str, str]

#: Each state as the person reads it: (Vietnamese, English). Not the staff's labels ("Employer overdue", "Listed").
LABELS: dict[ClaimState, Words] = {
    S.LISTED: ("Có tên trong danh sách hỗ trợ", "On the support list"),
    S.EMPLOYER_CONFIRMED: ("Đơn vị đã xác nhận danh sách", "Confirmed by your unit"),
    S.EMPLOYER_OVERDUE: ("Đang chờ xác minh", "Waiting to be checked"),
    S.APPLIED: ("Đã nhận đề nghị", "Application received"),
    S.VERIFYING: ("Đang kiểm tra", "Being checked"),
    S.NEEDS_REVIEW: ("Đang xác minh", "Being verified"),
    S.APPROVED: ("Đã duyệt, chờ chi trả", "Approved, to be paid"),
    S.PAYMENT_PENDING: ("Đang chi trả", "Being paid"),
    S.PAYMENT_FAILED: ("Chi trả không thành công", "Payment failed"),
    S.AWAITING_PAYMENT_DETAILS: ("Cần tài khoản ngân hàng", "Bank account needed"),
    S.PAID: ("Đã chi trả", "Paid"),
    S.REJECTED: ("Không được hỗ trợ", "Not supported"),
    S.DECLINED: ("Không nhận hỗ trợ", "Support declined"),
    S.REMOVED: ("Không còn trong danh sách của đơn vị", "Taken off your unit's list"),
}

#: What each state means for the person, and what they do: (Vietnamese, English). ``{office}`` is the office working
#: the claim; ``{last_day}`` the programme's last payable day.
_NEXT: dict[ClaimState, Words] = {
    S.LISTED: (
        "Đơn vị của bạn xác nhận danh sách (Mẫu số 02), sau đó cơ quan BHXH {office} chi trả. Bạn không cần làm gì.",
        "Your unit confirms the list (Form 02), then the social security office of {office} pays. You have nothing "
        "to do.",
    ),
    S.EMPLOYER_CONFIRMED: (
        "Cơ quan BHXH {office} đang kiểm tra trước khi chi trả. Bạn không cần làm gì.",
        "The social security office of {office} is checking it before paying. You have nothing to do.",
    ),
    S.EMPLOYER_OVERDUE: (
        "Đơn vị chưa xác nhận danh sách trong thời hạn; cơ quan BHXH {office} sẽ liên hệ để xác minh. Hãy giữ số điện "
        "thoại đã đăng ký; nếu đã đổi số, hãy đến cơ quan BHXH {office} với CMND/CCCD.",
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
    S.PAID: (
        "Tiền hỗ trợ đã được chi trả. Nếu bạn chưa nhận được, hãy liên hệ cơ quan BHXH {office}.",
        "The support has been paid. If you have not received it, contact the social security office of {office}.",
    ),
    S.REJECTED: (
        "Bạn không được hỗ trợ, vì lý do dưới đây, như trong thông báo bằng văn bản gửi bạn (nếu chưa nhận được thông "
        "báo, hãy hỏi cơ quan BHXH {office}). Nếu bạn cho rằng có sai sót, hãy liên hệ cơ quan BHXH {office}.",
        "You are not supported, for the reasons below, as in the written notice sent to you (if you have not received "
        "it, ask the social security office of {office}). If you think this is a mistake, contact the office of "
        "{office}.",
    ),
    S.DECLINED: (
        "Bạn đã được ghi là không nhận hỗ trợ này (theo Mẫu số 02 của đơn vị, hoặc theo đề nghị của bạn tại cơ quan "
        "BHXH). Nếu ghi nhầm, hãy liên hệ ngay cơ quan BHXH {office}.",
        "You are recorded as having declined this support (on your unit's Form 02, or at your request at the social "
        "security office). If that is a mistake, contact the social security office of {office} at once.",
    ),
    S.REMOVED: (
        "Đơn vị báo bạn không còn làm việc tại đơn vị (Mẫu số 03). Nếu điều này không đúng, hoặc bạn đã nghỉ việc và "
        "cho rằng mình đủ điều kiện, hãy liên hệ cơ quan BHXH {office} để được xem xét lại.",
        "Your unit reported that you no longer work there (Form 03). If that is not right, or you left and think you "
        "qualify, contact the social security office of {office} to have it looked at again.",
    ),
}
#: Added for a person whose unit can still send their account on Form 03 (track A, before the adjustment deadline).
_UNIT_SENDS = (
    " Đơn vị cũng có thể gửi tài khoản của bạn bằng Mẫu số 03 đến hết ngày {adjustment_deadline}.",
    " Your unit can also send your account on Form 03 until {adjustment_deadline}.",
)
#: A person in the registry without a claim, whom the programme's rules do not support (the reasons follow).
_NOT_SUPPORTED = (
    "Theo hồ sơ BHXH, bạn không thuộc đối tượng được hỗ trợ của chương trình này, vì lý do dưới đây. Nếu hồ sơ của "
    "bạn chưa đúng, hãy hỏi cơ quan BHXH quận/huyện nơi bạn đóng bảo hiểm, mang theo sổ BHXH và CMND/CCCD.",
    "According to your social insurance record, this programme does not support you, for the reasons below. If the "
    "record is wrong, ask the district social security office where you contribute, with your social insurance book "
    "and ID card.",
)
#: A person who stopped working, whom the rules support, without a claim yet: they apply themselves.
_APPLY_ON_FORM_04 = (
    "Bạn chưa có hồ sơ đề nghị hỗ trợ. Theo hồ sơ BHXH, bạn đã dừng đóng bảo hiểm thất nghiệp trong thời gian được "
    "hỗ trợ: hãy tự đề nghị (Mẫu số 04) tại cơ quan BHXH quận/huyện đến hết ngày {application_deadline}.",
    "You have no claim yet. According to your social insurance record, you stopped contributing within the period "
    "the programme supports: apply yourself (Form 04) at a district social security office until "
    "{application_deadline}.",
)
#: A person in the registry without a claim of the programme, anyone else.
_NO_CLAIM = (
    "Bạn không có trong danh sách hỗ trợ của chương trình này. Nếu bạn cho rằng mình đủ điều kiện, hãy hỏi đơn vị "
    "hoặc cơ quan BHXH quận/huyện nơi bạn đóng bảo hiểm.",
    "You are not on this programme's support lists. If you think you qualify, ask your unit or the district social "
    "security office where you contribute.",
)
#: Cash waiting at the office, until the programme's last payable day.
_COLLECT_CASH = (
    "Tiền mặt đang chờ bạn tại cơ quan BHXH {office}: hãy đến nhận đến hết ngày {last_day}, mang theo CMND/CCCD.",
    "The cash waits for you at the social security office of {office}: come and collect it by {last_day}, with your "
    "ID card.",
)
#: A claim the programme can no longer pay: its last payable day has passed (docs/rules.md, section 4), whatever the
#: claim waited for (a check, an approval, an account, cash at the office). The office refuses it in writing.
_PERIOD_ENDED = (
    "Chương trình đã hết hạn chi trả ngày {last_day}: khoản hỗ trợ này không còn được chi trả. Cơ quan BHXH {office} "
    "sẽ gửi bạn văn bản trả lời; nếu có thắc mắc, hãy liên hệ cơ quan BHXH {office}.",
    "The programme stopped paying on {last_day}: this support can no longer be paid. The social security office of "
    "{office} will send you a written answer; if you have questions, contact the office of {office}.",
)
_PERIOD_ENDED_LABEL = ("Chương trình đã hết hạn chi trả", "The programme has stopped paying")
#: A refusal's reasons as the person reads them, where the notice's words speak of them in the third person: "another
#: reason" is the caseworker's own, written in the notice, which is never quoted here (its text may name others).
_TO_THE_PERSON = {
    claim_reasons.OTHER: (
        "Lý do khác, được nêu cụ thể trong thông báo bằng văn bản gửi bạn.",
        "Another reason, stated in full in the written notice sent to you.",
    ),
}
#: Bank details the person sent that the office has not dealt with yet.
_OFFER_RECEIVED = (
    "Cơ quan BHXH {office} đã nhận tài khoản bạn gửi ngày {offered_on}. Cán bộ sẽ gọi số điện thoại đã đăng ký để "
    "xác nhận trước khi chi trả; nếu số đó không còn dùng được, hãy đến cơ quan BHXH {office} với CMND/CCCD.",
    "The social security office of {office} has the account you sent on {offered_on}. A caseworker will call your "
    "registered phone to confirm it before paying; if that number no longer works, come to the office of {office} "
    "with your ID card.",
)
#: Added for a claim in review because its bank details are missing or cannot be paid.
_REVIEW_DETAILS = (
    " Tài khoản ngân hàng của bạn đang thiếu hoặc không đúng: hãy gửi tài khoản đứng tên bạn, hoặc đến cơ quan BHXH "
    "{office}.",
    " Your bank account is missing or not right: send an account in your name, or come to the social security office "
    "of {office}.",
)
#: Added while the claim is approved or on its way by bank, when it has a payment due day.
_DUE = (" Dự kiến chi trả chậm nhất ngày {due}.", " Expected to be paid by {due}.")

#: The states in which the person can send bank details on the bank-details page.
SEND_DETAILS = frozenset({S.PAYMENT_FAILED, S.AWAITING_PAYMENT_DETAILS})
#: The states in which nothing is owed: no amount and no account shown.
NOTHING_OWED = frozenset({S.REJECTED, S.DECLINED, S.REMOVED})
#: The states before approval: the amount is the one expected, not yet decided.
_UNDECIDED = frozenset({S.LISTED, S.EMPLOYER_CONFIRMED, S.EMPLOYER_OVERDUE, S.APPLIED, S.VERIFYING, S.NEEDS_REVIEW})
_TRANSITIONS = [action.value for action in ClaimAction]


@dataclass(frozen=True)
class PersonStatus:
    """What the page shows of a person found in the registry. ``state`` is None when they have no claim of the
    programme; the texts are (Vietnamese, English)."""

    full_name: str
    state: ClaimState | None = None
    label: Words | None = None
    next_step: Words | None = None
    amount_vnd: int | None = None
    #: Whether the amount is decided (approved or later), or the one expected.
    amount_decided: bool = False
    unused_months: int | None = None
    payout: str | None = None
    bank: str | None = None
    account_end: str | None = None
    #: Whether the account shown is the one the last payment failed to.
    account_failed: bool = False
    #: The office working the claim, as a Vietnamese sentence writes it and as an English one does.
    office: Words | None = None
    paid_on: date | None = None
    #: Why the payment failed, or (refused) why the claim was refused, one pair each.
    reasons: list[Words] = field(default_factory=list)
    #: The due day of the office's request for information to the person, made since the claim's last move; the
    #: request's text is never shown (see the module's docstring). ``requested`` says whether there is one.
    requested: bool = False
    request_due_on: date | None = None
    #: Whether that due day has passed (the page then asks to get in touch at once).
    request_overdue: bool = False
    #: Whether the page offers the bank-details page: waiting for an account, and none sent that waits to be called.
    sends_details: bool = False


def _with(sentence: Words, more: Words) -> Words:
    return sentence[0] + more[0], sentence[1] + more[1]


def find(program: Program, si_code: str, national_id: str, born: date) -> PersonStatus | None:
    """The status of the person whose SI code, national ID and date of birth are all three as given (clean, as
    :func:`~disburse.claims.person_details.identity_errors` accepts them); None when no one matches."""
    office = select(District.name).where(District.code == Claim.district_code).scalar_subquery()
    bank = select(Bank.name).where(Bank.code == Claim.bank_code).scalar_subquery()
    sector = select(Employer.sector).where(Employer.id == Employee.employer_id).scalar_subquery()
    found = db.session.execute(
        select(Employee, Claim, office.label("office"), bank.label("bank"), sector.label("sector"))
        .outerjoin(Claim, (Claim.employee_id == Employee.id) & (Claim.program_id == program.id))
        .where(Employee.si_code == si_code, Employee.national_id == national_id, Employee.date_of_birth == born)
    ).first()
    if found is None:
        return None
    today = programme_today()
    applying = today <= program.application_deadline
    words = {
        "application_deadline": dmy(program.application_deadline),
        "adjustment_deadline": dmy(program.adjustment_deadline),
        "last_day": dmy(program.last_payable_day),
    }
    claim: Claim | None = found.Claim
    if claim is None:
        return _without_claim(program, found.Employee, found.sector, applying, words)
    state = ClaimState(claim.state)
    # After the last payable day nothing is paid any more (docs/rules.md, section 4): no amount, account or next step
    # that promises money; only a payment a bank already has may still settle (a cash one is never handed over now).
    ended = not payable(program, today) and waits_for_money(state, claim.payout)
    owed = state not in NOTHING_OWED and not ended
    label, said = (_PERIOD_ENDED_LABEL, _PERIOD_ENDED) if ended else (LABELS[state], _NEXT[state])
    reasons: list[Words] = []
    # What the bank-details page takes (after a failure; a review about them): nothing once the programme stopped.
    sends_details = takes_offers(claim) and not ended
    if ended:
        pass  # said above: no reasons, no due day, no cash to collect, no account to send
    elif state == S.REJECTED:
        refusing = refusal_reasons()
        codes = last_refusal_codes([claim.id]).get(claim.id) or sorted(claim.reasons or ())
        reasons = [_TO_THE_PERSON.get(code) or refusing[code] for code in codes if code in refusing]
    elif state in SEND_DETAILS:
        payment = latest_payments([claim.id]).get(claim.id)
        reasons = [payment_reasons.label(payment.failure_code if payment else None)]
        if claim.track == "A" and program.takes_adjustments(today):
            said = _with(said, _UNIT_SENDS)
    elif state == S.NEEDS_REVIEW and sends_details:
        said = _with(said, _REVIEW_DETAILS)
    elif state == S.PAYMENT_PENDING and claim.payout == "cash":
        said = _COLLECT_CASH
    elif state in (S.APPROVED, S.PAYMENT_PENDING) and claim.payment_due_on is not None:
        said = _with(said, _DUE)
        words["due"] = dmy(claim.payment_due_on)
    offered = open_offer(claim)
    if offered is not None and sends_details:
        said, sends_details = _OFFER_RECEIVED, False
        words["offered_on"] = dmy(offered.created_at)
    requested, request_due_on = (False, None) if state in CLOSED_STATES else _request_since_last_move(claim.id)
    by_bank = owed and claim.payout == "bank"
    office_vi, office_en = area_in_sentence(found.office)
    return PersonStatus(
        full_name=found.Employee.full_name,
        state=state,
        label=label,
        next_step=(said[0].format(office=office_vi, **words), said[1].format(office=office_en, **words)),
        amount_vnd=claim.amount_vnd if owed else None,
        amount_decided=state not in _UNDECIDED,
        unused_months=claim.unused_months if owed and claim.unused_months else None,
        payout=claim.payout if owed else None,
        bank=found.bank if by_bank else None,
        account_end=claim.bank_account[-4:] if by_bank and claim.bank_account else None,
        account_failed=state in SEND_DETAILS and owed,
        office=(office_vi, office_en),
        paid_on=claim.paid_at.astimezone(VIETNAM_TZ).date() if state == S.PAID and claim.paid_at else None,
        reasons=reasons,
        requested=requested,
        request_due_on=request_due_on,
        request_overdue=request_due_on is not None and request_due_on < today,
        sends_details=sends_details,
    )


def _without_claim(
    program: Program, person: Employee, sector: str | None, applying: bool, words: dict[str, str]
) -> PersonStatus:
    """A person in the registry without a claim of the programme: what the programme's rules say of their registry
    record (:func:`~disburse.programs.rules.assess`, as the lists were built). Not supported by the rules: the reasons,
    as a refusal's notice words them, and where to ask if the record is wrong. A stopped person the rules support
    (group B, who applies on Form 04): invited to apply while applications are taken. Anyone else: ask the unit or
    the office."""
    assessment = assess(
        ProgramRules.from_program(program),
        RulesPerson(
            ui_status=person.ui_status,
            ui_stopped_on=person.ui_stopped_on,
            unused_months=person.unused_months,
            pension_decision=person.pension_decision,
            employer_sector=sector,
        ),
    )
    reasons: list[Words] = []
    if not assessment.eligible:
        refusing = refusal_reasons()
        reasons = [refusing[code] for code in assessment.reasons if code in refusing]
        said = _NOT_SUPPORTED
    elif assessment.support_group == GROUP_B and applying:
        said = _APPLY_ON_FORM_04
    else:
        said = _NO_CLAIM
    return PersonStatus(
        full_name=person.full_name,
        next_step=(said[0].format(**words), said[1].format(**words)),
        reasons=reasons,
    )


def _request_since_last_move(claim_id: int) -> tuple[bool, date | None]:
    """Whether the office asked the person for information (a ``request_info`` note addressed to them) since the
    claim's last move (a decision since answers it, or leaves it behind), and the latest such request's due day. Only
    the due day is read."""
    last_move = (
        select(ClaimEvent.id)
        .where(ClaimEvent.claim_id == claim_id, ClaimEvent.action.in_(_TRANSITIONS))
        .order_by(ClaimEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    due = db.session.execute(
        select(ClaimEvent.data["due_on"].astext)
        .where(
            ClaimEvent.claim_id == claim_id,
            ClaimEvent.action == ClaimNote.REQUEST_INFO.value,
            ClaimEvent.data["addressee"].astext == "person",
            ClaimEvent.id > func.coalesce(last_move, 0),
        )
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    ).first()
    if due is None:
        return False, None
    return True, date.fromisoformat(due[0]) if due[0] else None
