"""What a unit (an employer) sees of its claims: its workforce's payout status, its deadlines, and its Form 01 list
as a spreadsheet. Read-only: the employer's pages and ``disburse forms list`` call these; nothing here writes.

- **Workforce.** One row per claim of the unit in the program: the person, the claim's state, the amount, the latest
  payment and, for a claim that is stuck, why (in Vietnamese and English; for a refused claim, the refusal reasons
  of its latest reject event, as its written notice gives them). Searched by SI code or by name with or
  without diacritics (``disburse_unaccent``, migration 0006), sorted the Vietnamese way (given name, family name,
  middle names). The status page asks for one page (:func:`workforce_page`): only the matching people's names are
  read whole to put them in order, the details, payments and refusals of that page's claims alone.
- **Deadlines.** Form 02 (the earliest review deadline of the people still waiting for it) and Form 03 (the
  program's adjustment deadline), with the working days left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, text

from disburse.claims.employer_forms import adjustment_action, adjustments_closed, late_form_02_clause
from disburse.claims.models import Claim
from disburse.claims.outcomes import FormResult, text_value
from disburse.claims.states import CLOSED_STATES, STATE_LABELS, TERMINAL_STATES, ClaimState
from disburse.extensions import db
from disburse.formatting import moment, number, vietnamese_name_key
from disburse.payments import reasons as payment_reasons
from disburse.programs.calendar import VIETNAM_TZ, programme_today, working_days_between
from disburse.programs.models import Program
from disburse.reference.models import District
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee, Employer
from disburse.spreadsheets import (
    COUNT,
    DATE,
    MONEY,
    TEXT,
    TooManyRows,
    UncalculatedFormula,
    UnusableFile,
    header_not_first,
    read_table,
)
from disburse.verification import reasons as claim_reasons
from disburse.verification.review import last_refusal_codes, refusal_reasons

#: Claim states that wait on someone (the unit, a caseworker, the person's bank details) and say why.
_OVERDUE = (
    "Đơn vị chưa gửi Mẫu số 02 trong thời hạn; cơ quan BHXH sẽ xác minh.",
    "The unit did not return Form 02 in time; the office will check.",
)
_SEND_DETAILS = (
    "Hãy gửi Mẫu số 03 với tài khoản đúng. Người lao động không có tài khoản thì liên hệ cơ quan BHXH để nhận tiền "
    "mặt.",
    "Send Form 03 with the correct account. A person with no account should contact the office to be paid in cash.",
)


@dataclass(frozen=True)
class WorkforceRow:
    claim_id: int
    si_code: str
    full_name: str
    state: str
    amount_vnd: int
    payout: str
    bank_code: str | None
    bank_account: str | None
    payment_state: str | None
    paid_at: datetime | None
    #: Why the claim is stuck, (Vietnamese, English); None when it is not.
    reason: tuple[str, str] | None
    #: The district whose office works and pays the claim, by name (:func:`the_office`).
    office: str | None = None

    def state_label(self, locale: str) -> str:
        vi, en = STATE_LABELS[ClaimState(self.state)]
        return en if locale == "en" else vi

    def paid_in_cash(self, locale: str) -> str:
        """How the person is paid when in cash, the office named (:func:`paid_in_cash_at`)."""
        vi, en = paid_in_cash_at(self.office)
        return en if locale == "en" else vi

    def reason_text(self, locale: str) -> str | None:
        if self.reason is None:
            return None
        return self.reason[1] if locale == "en" else self.reason[0]


def _join(labels: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    if not labels:
        return None
    return " ".join(vi for vi, _ in labels), " ".join(en for _, en in labels)


def bank_retry(failure_code: str | None, retry_after: datetime) -> tuple[str, str]:
    """A claim paid again after a failure on the bank's side, in plain words: why, and when the bank is tried again
    (dd/mm/yyyy and Vietnam's time). Nothing for the unit or the person to do."""
    vi, en = payment_reasons.label(failure_code)
    at = moment(retry_after)
    return (
        f"{vi}: lỗi phía ngân hàng, thông tin tài khoản không sai. Sẽ chuyển lại từ {at}; đơn vị không cần làm gì.",
        f"{en}: the bank's side, not the account details. It will be paid again from {at}; nothing for the unit to do.",
    )


def stuck_reason(
    state: str,
    reasons: Sequence[str],
    failure_code: str | None,
    refused_for: Sequence[str] = (),
    send_details: tuple[str, str] = _SEND_DETAILS,
    retry_after: datetime | None = None,
) -> tuple[str, str] | None:
    """Why a claim in ``state`` waits or was refused, in plain words; None for a claim on its way. A refused claim
    says why it was refused: ``refused_for``, the refusal reason codes of its latest reject event
    (:func:`~disburse.verification.review.last_refusal_codes`; a caseworker's refusal leaves ``reasons`` as review
    left them), else the refusing codes among its ``reasons``, never a review code ("a caseworker must check…").
    ``send_details``: what the unit does for a claim waiting for new bank details (:func:`_send_details`). An
    approved claim with a ``retry_after`` waits for the bank after a failure on its side (:func:`bank_retry`)."""
    if state == ClaimState.APPROVED and retry_after is not None:
        return bank_retry(failure_code, retry_after)
    if state == ClaimState.REJECTED:
        refusing = refusal_reasons()
        return _join([refusing[code] for code in refused_for or sorted(reasons) if code in refusing])
    if state == ClaimState.NEEDS_REVIEW:
        return _join([claim_reasons.label(code) for code in sorted(reasons)])
    if state == ClaimState.EMPLOYER_OVERDUE:
        return _OVERDUE
    if state == ClaimState.PAYMENT_FAILED:
        return payment_reasons.label(failure_code)
    if state == ClaimState.AWAITING_PAYMENT_DETAILS:
        words = payment_reasons.label(failure_code)
        return f"{words[0]}. {send_details[0]}", f"{words[1]}. {send_details[1]}"
    return None


def waits_for_money(state: str, payout: str | None) -> bool:
    """Whether a claim in ``state`` still waits to be paid by the office: not paid, not refused, declined or removed,
    and not a bank payment on its way (what a bank was handed before the last payable day and settles stands)."""
    if state in (ClaimState.PAID, ClaimState.REJECTED, ClaimState.DECLINED, ClaimState.REMOVED):
        return False
    return not (state == ClaimState.PAYMENT_PENDING and payout == "bank")


def period_ended_words(program: Program, today: date | None = None) -> tuple[str, str] | None:
    """None while the programme may pay; after its last payable day (docs/rules.md, section 4), what the unit's page
    says of a claim still waiting to be paid (:func:`waits_for_money`) instead of what it waits for: nobody is paid
    any more, and the office answers the person in writing."""
    from disburse.formatting import dmy
    from disburse.payments.service import payable

    if payable(program, today):
        return None
    last = dmy(program.last_payable_day)
    return (
        f"Chương trình đã hết hạn chi trả ngày {last}: khoản hỗ trợ này không còn được chi trả; cơ quan BHXH sẽ gửi "
        "người lao động văn bản trả lời.",
        f"The programme stopped paying on {last}: this support can no longer be paid; the office will answer the "
        "person in writing.",
    )


def _send_details(program: Program) -> tuple[str, str]:
    """Form 03 with the correct account while it is taken; after its deadline, whom to contact instead."""
    return _SEND_DETAILS if program.takes_adjustments(programme_today()) else adjustments_closed(program)


_NO_PARALLEL = text("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
#: The latest payment (the highest attempt) of each of the claims ``ids`` (a page of the unit's list, or the part of
#: it asked for): one probe of the unique ``(claim_id, attempt)`` per claim, whatever the statistics say
#: (``claim_id = ANY(:ids)`` with a DISTINCT ON let the planner read every payment when the table's statistics were
#: stale: 3.6–6.9 s at the national point).
_LATEST_PAYMENTS_OF = text(
    """SELECT p.claim_id, p.state, p.failure_code, p.settled_at
       FROM unnest(CAST(:ids AS bigint[])) AS c(id)
       CROSS JOIN LATERAL (
           SELECT claim_id, state, failure_code, settled_at FROM payments
           WHERE claim_id = c.id ORDER BY attempt DESC LIMIT 1
       ) p"""
)


def latest_payments(ids: Sequence[int]) -> dict[int, Any]:
    """The latest payment (state, failure_code, settled_at) of each of the claims ``ids`` that has one."""
    return {row.claim_id: row for row in db.session.execute(_LATEST_PAYMENTS_OF, {"ids": list(ids)})}


def name_contains(column: Any, query: str) -> Any:
    """The SQL condition that the name in ``column`` contains ``query``, in any case, with or without diacritics
    (``disburse_unaccent`` on both sides; it drops combining marks too, so a name typed decomposed (NFD) matches),
    a run of spaces (or tabs) read as one on both sides: typed twice, or stored so by a registry file."""
    query = " ".join(query.split())
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stored = func.disburse_unaccent(column)
    # Folded only where there is something to fold: a regular expression on every name of a unit of 50,000 people
    # doubled the search's time, two look-ups for a double space or a tab cost little.
    spaced = or_(func.strpos(column, "  ") > 0, func.strpos(column, "\t") > 0)
    name = case((spaced, func.regexp_replace(stored, r"\s+", " ", "g")), else_=stored)
    return name.like(func.disburse_unaccent(pattern))


def _search(query: str) -> Any:
    """The SQL condition for a search: an SI code (all digits), else a part of the name, diacritics ignored."""
    if query.isascii() and query.isdigit():
        return Employee.si_code.startswith(query, autoescape=True)
    return name_contains(Employee.full_name, query)


def _matching(columns: Sequence[Any], program: Program, employer: Employer, query: str, *conditions: Any) -> Any:
    """``columns`` of the unit's claims in ``program`` with their people, those matching ``query`` (and
    ``conditions``) only."""
    statement = (
        select(*columns)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == program.id, Claim.employer_id == employer.id, *conditions)
    )
    query = " ".join(query.split())
    return statement.where(_search(query)) if query else statement


_DETAILS = (
    Claim.id,
    Claim.state,
    Claim.amount_vnd,
    Claim.payout,
    Claim.bank_code,
    Claim.bank_account,
    Claim.paid_at,
    Claim.reasons,
    Claim.retry_after,
    Employee.si_code,
    Employee.full_name,
    # The office that works and pays the claim: its district's, by name (a Form 04 claim's may not be the unit's).
    select(District.name).where(District.code == Claim.district_code).scalar_subquery().label("office"),
)


def the_office(office: str) -> tuple[str, str]:
    """The social security office of a claim's district, named, as the unit's page and file say it."""
    vi, en = area_in_sentence(office)
    return f"cơ quan BHXH {vi}", f"the social security office of {en}"


def cash_at_the_office(office: str) -> tuple[str, str]:
    """What a person paid in cash does, for their unit to tell them: the money waits at the office that pays the
    claim, named (the claim's district's: a Form 04 claim's is the person's, not always the unit's)."""
    vi, en = the_office(office)
    return (
        f"Người lao động đến {vi} để nhận tiền mặt, mang theo CMND/CCCD.",
        f"The person collects the cash at {en}, with their ID card.",
    )


def paid_in_cash_at(office: str | None) -> tuple[str, str]:
    """How a person paid in cash is paid, the office named (the status file's "paid by")."""
    if office is None:
        return "Tiền mặt tại cơ quan BHXH", "Cash at the office"
    vi, en = the_office(office)
    return f"Tiền mặt tại {vi}", f"Cash at {en}"


def _row(
    claim: Any,
    payment: Any,
    refused_for: dict[int, list[str]],
    send_details: tuple[str, str],
    ended: tuple[str, str] | None = None,
) -> WorkforceRow:
    """One claim's row; ``ended`` (:func:`period_ended_words`) is what a claim still waiting to be paid says once the
    programme no longer pays, instead of what it waits for."""
    waits_at_office = claim.payout == "cash" and claim.state == ClaimState.PAYMENT_PENDING
    stopped = ended if ended is not None and waits_for_money(claim.state, claim.payout) else None
    return WorkforceRow(
        claim_id=claim.id,
        si_code=claim.si_code,
        full_name=claim.full_name,
        state=claim.state,
        amount_vnd=claim.amount_vnd,
        payout=claim.payout,
        bank_code=claim.bank_code,
        bank_account=claim.bank_account,
        payment_state=payment.state if payment else None,
        paid_at=claim.paid_at,
        reason=stopped
        or stuck_reason(
            claim.state,
            claim.reasons or (),
            payment.failure_code if payment else None,
            refused_for.get(claim.id, ()),
            send_details,
            claim.retry_after,
        )
        or (cash_at_the_office(claim.office) if waits_at_office else None),
        office=claim.office,
    )


def _list_order(row: Any) -> tuple[object, ...]:
    """Vietnamese name order, then SI code."""
    return vietnamese_name_key(row.full_name), row.si_code


def workforce(program: Program, employer: Employer, query: str = "", *conditions: Any) -> list[WorkforceRow]:
    """The unit's claims in ``program``, each with its latest payment and why it is stuck, in Vietnamese name order;
    only those matching ``query`` (an SI code or its start, or part of a name with or without diacritics) and the
    SQL ``conditions`` on the claims."""
    found = db.session.execute(_matching(_DETAILS, program, employer, query, *conditions)).all()
    payments = latest_payments([claim.id for claim in found])
    refused_for = last_refusal_codes([claim.id for claim in found if claim.state == ClaimState.REJECTED])
    send_details, ended = _send_details(program), period_ended_words(program)
    rows = [_row(claim, payments.get(claim.id), refused_for, send_details, ended) for claim in found]
    rows.sort(key=_list_order)
    return rows


def workforce_page(
    program: Program, employer: Employer, query: str = "", *, state: str = "", page: int = 1, size: int = 100
) -> tuple[list[WorkforceRow], int, int]:
    """Page ``page`` (kept within 1..the last page) of :func:`workforce`: the same rows in the same order, as
    (rows, how many matched, the page shown). Only the matching claims' ids, names and SI codes are read to put them
    in order; the details, the latest payments and the reasons are read for the page's claims alone (a unit of
    2,682 people: one page of 100, not the whole list, each time)."""
    # A few thousand index look-ups: PostgreSQL would start parallel workers for them, which cost more than they
    # save (8-16 ms alone against 24-32 ms with two workers at the 2,682-person unit) and take cores from the other
    # requests. For this transaction only.
    db.session.execute(_NO_PARALLEL)
    keys = db.session.execute(
        _matching(
            (Claim.id, Employee.full_name, Employee.si_code),
            program,
            employer,
            query,
            *([Claim.state == state] if state else []),
        )
    )
    ordered = sorted(keys.all(), key=_list_order)
    page = min(max(page, 1), max(1, -(-len(ordered) // size)))
    ids = [row.id for row in ordered[(page - 1) * size : page * size]]
    if not ids:
        return [], len(ordered), page
    found = {
        row.id: row
        for row in db.session.execute(
            select(*_DETAILS).join(Employee, Employee.id == Claim.employee_id).where(Claim.id.in_(ids))
        )
    }
    payments = latest_payments(ids)
    refused_for = last_refusal_codes([row.id for row in found.values() if row.state == ClaimState.REJECTED])
    send_details, ended = _send_details(program), period_ended_words(program)
    rows = [_row(found[claim_id], payments.get(claim_id), refused_for, send_details, ended) for claim_id in ids]
    return rows, len(ordered), page


#: The states in which a person waits for the unit's Form 02.
WAITING_FOR_FORM_02 = (ClaimState.LISTED, ClaimState.EMPLOYER_OVERDUE)


def _waits_for_form_02(program: Program, today: date) -> Any:
    """The people a Form 02 still confirms: listed or overdue, or in review only because their unit was late, while
    the list may still change (:func:`~disburse.claims.employer_forms.late_form_02_clause`)."""
    return or_(Claim.state.in_(WAITING_FOR_FORM_02), late_form_02_clause(program, today))


def waiting_for_form_02(program: Program, employer: Employer) -> list[WorkforceRow]:
    """The unit's people still waiting for its Form 02 (also late: :func:`_waits_for_form_02`), in Vietnamese name
    order."""
    return workforce(program, employer, "", _waits_for_form_02(program, programme_today()))


# ------------------------------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class Deadline:
    #: ``form_02`` (the people still waiting for the unit's Form 02), ``form_02_passed`` (people of its list the
    #: office checks without a Form 02, its deadline passed), ``form_03`` (adjustments) or ``form_03_closed`` (the
    #: adjustment deadline passed: no page offers Form 03 any more).
    form: str
    due_on: date
    #: Working days from today to the deadline, today not counted (:func:`working_days_between`): 0 on the day
    #: itself, and also before a deadline that falls on a day off with no working day before it (a Saturday, from
    #: the Friday); negative once passed.
    working_days_left: int
    #: For Form 02: how many people still wait for it; once passed, how many the office checks unconfirmed.
    waiting: int = 0
    #: Calendar days from today to the deadline: 0 on the day itself (the only "today" a banner says), negative once
    #: passed.
    days_left: int = 0


#: The states of a claim the office checks without the unit's Form 02 once its deadline passed (a late Form 02 is
#: taken only for those in review because of that alone; the others' corrections go on Form 03).
CHECKED_UNCONFIRMED = (ClaimState.VERIFYING, ClaimState.NEEDS_REVIEW)


def unit_deadlines(program: Program, employer: Employer, today: date) -> list[Deadline]:
    """The unit's open deadlines: Form 02 while people of its list wait for it (the earliest of their review
    deadlines, also once passed: a late Form 02 is still taken, also for people in review only because of it), or,
    once the office checks or has decided them without it, that the deadline has passed; and Form 03 until the
    adjustment deadline, then that it has closed."""
    deadlines = []
    waits, late = _waits_for_form_02(program, today), late_form_02_clause(program, today)
    waiting, due_on, unconfirmed, unconfirmed_due_on = db.session.execute(
        select(
            func.count().filter(waits),
            func.min(Claim.review_due_on).filter(waits),
            func.count().filter(and_(Claim.state.in_(CHECKED_UNCONFIRMED), not_(late))),
            func.min(Claim.review_due_on).filter(and_(Claim.state.in_(CHECKED_UNCONFIRMED), not_(late))),
        ).where(
            Claim.program_id == program.id,
            Claim.employer_id == employer.id,
            Claim.state.in_((*WAITING_FOR_FORM_02, *CHECKED_UNCONFIRMED)),
            Claim.track == "A",
            Claim.confirmed_on.is_(None),
        )
    ).one()
    if waiting and due_on is not None:
        days = working_days_between(today, due_on)
        deadlines.append(Deadline("form_02", due_on, days, int(waiting), days_left=(due_on - today).days))
    elif unconfirmed and unconfirmed_due_on is not None and unconfirmed_due_on < today:
        days = working_days_between(today, unconfirmed_due_on)
        left = (unconfirmed_due_on - today).days
        deadlines.append(Deadline("form_02_passed", unconfirmed_due_on, days, int(unconfirmed), days_left=left))
    deadline = program.adjustment_deadline
    form_03 = "form_03" if program.takes_adjustments(today) else "form_03_closed"
    left = (deadline - today).days
    deadlines.append(Deadline(form_03, deadline, working_days_between(today, deadline), days_left=left))
    return deadlines


# ------------------------------------------------------------------------------------------------- Form 01


#: The Form 01 columns, then the Form 02 columns the employer fills in: "Label (name)"; the name is what is read.
FORM_01_COLUMNS = [
    ("STT", "row"),
    ("Mã số BHXH", "si_code"),
    ("Họ và tên", "full_name"),
    ("Số CMND/CCCD", "national_id"),
    ("Số điện thoại", "phone"),
    ("Số tháng đóng BHTN chưa hưởng", "unused_months"),
    ("Mức hỗ trợ (đồng)", "amount_vnd"),
    ("Trạng thái", "state"),
    ("Ngân hàng", "bank_code"),
    ("Số tài khoản", "bank_account"),
    ("Không nhận hỗ trợ: ghi x", "decline"),
]
#: How the XLSX shows each column (:func:`disburse.spreadsheets.write_xlsx`): identifiers as text (the account the
#: employer types in too), months and amounts as grouped numbers.
FORM_01_FORMATS = [None, TEXT, None, TEXT, TEXT, COUNT, MONEY, None, TEXT, TEXT, None]


def form_01_table(program: Program, employer: Employer) -> tuple[list[str], list[list[Any]]]:
    """The unit's Form 01 list (track A) as a header and rows, with the Form 02 columns to fill in, by SI code."""
    claims = db.session.execute(
        select(Claim, Employee)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == program.id, Claim.employer_id == employer.id, Claim.track == "A")
        .order_by(Employee.si_code)
    ).all()
    header = [f"{label} ({name})" for label, name in FORM_01_COLUMNS]
    rows = [
        [
            n,
            employee.si_code,
            employee.full_name,
            employee.national_id,
            employee.phone,
            claim.unused_months,
            claim.amount_vnd,
            STATE_LABELS[ClaimState(claim.state)][0],
            claim.bank_code,
            claim.bank_account,
            "x" if claim.state == ClaimState.DECLINED else None,
        ]
        for n, (claim, employee) in enumerate(claims, start=1)
    ]
    return header, rows


#: The unit's payout status as a spreadsheet (the status page's table, every page of it), headers in both languages
#: as the other files the offices pass around; the states and reasons in the reader's language.
STATUS_HEADER = [
    "Mã số BHXH / SI code",
    "Họ và tên / Full name",
    "Trạng thái / Status",
    "Mức hỗ trợ (đồng) / Amount (VND)",
    "Hình thức nhận / Paid by",
    "Ngân hàng / Bank",
    "Số tài khoản / Account",
    "Ngày chi trả / Paid on",
    "Lý do, việc cần làm / Reason, what to do",
]
STATUS_FORMATS = [TEXT, None, None, MONEY, None, TEXT, TEXT, DATE, None]


def status_table(program: Program, employer: Employer, query: str, state: str, locale: str) -> list[list[Any]]:
    """The rows of :data:`STATUS_HEADER`: the unit's people matching ``query`` and ``state`` (as the status page
    filters them), in the page's order. Nothing owed (declined, removed, refused): no amount and no account. Paid in
    cash: at the claim's district's office, named as the page names it."""
    english = locale == "en"
    rows = []
    for person in workforce(program, employer, query, *([Claim.state == state] if state else [])):
        owed = person.state not in TERMINAL_STATES
        paid_by = {"bank": ("Chuyển khoản", "Bank transfer"), "cash": paid_in_cash_at(person.office)}
        rows.append(
            [
                person.si_code,
                person.full_name,
                person.state_label(locale),
                person.amount_vnd if owed else None,
                paid_by[person.payout][english] if owed and person.payout in paid_by else None,
                person.bank_code if owed and person.payout == "bank" else None,
                person.bank_account if owed and person.payout == "bank" else None,
                person.paid_at.astimezone(VIETNAM_TZ).date() if person.state == "paid" and person.paid_at else None,
                person.reason_text(locale),
            ]
        )
    return rows


#: The errors file of a returned form: one line per error, as the registry import's errors file, with the row's
#: person (SI code and name as the row gives them), so that a unit can sort and find them without the sheet beside it.
ERRORS_HEADER = ("row", "si_code", "full_name", "column", "value", "error_code", "message_vi", "message_en")

#: Form 03 as a spreadsheet, for many adjustments at once: (label, name). The list of the people waiting for new bank
#: details comes with the first three filled in and ``correct`` as the action; the name and why the payment failed are
#: there to read, passed over when the file comes back.
FORM_03_COLUMNS = [
    ("Mã số BHXH", "si_code"),
    ("Họ và tên", "full_name"),
    ("Lý do chi trả không thành công", "failure"),
    ("Thao tác: add / remove / correct", "action"),
    ("Ngân hàng", "bank_code"),
    ("Số tài khoản", "bank_account"),
    ("Số điện thoại", "phone"),
    ("Lý do không có tại đơn vị, nếu remove", "reason"),
]
FORM_03_FORMATS = [TEXT, None, None, None, TEXT, TEXT, TEXT, None]
#: Rows a Form 03 file may have beyond the unit's list (people added).
FORM_03_EXTRA_ROWS = 1_000
#: Claims whose payment failed for the account: the unit sends the new details (Form 03 ``correct``).
_WAITING_FOR_DETAILS = (ClaimState.PAYMENT_FAILED, ClaimState.AWAITING_PAYMENT_DETAILS)


def still_waiting_for_details(claim_ids: Sequence[int]) -> set[int]:
    """Which of ``claim_ids`` still wait for new bank details (a Form 03 that corrected only the phone, say)."""
    if not claim_ids:
        return set()
    waiting = select(Claim.id).where(Claim.id.in_(list(claim_ids)), Claim.state.in_(_WAITING_FOR_DETAILS))
    return set(db.session.scalars(waiting))


def form_03_waiting_table(program: Program, employer: Employer, locale: str) -> tuple[list[str], list[list[Any]]]:
    """The unit's people waiting for new bank details as a Form 03 to fill in: SI code, name, why the payment
    failed (in ``locale``), ``correct``, and the columns of the new details left blank."""
    header = [f"{label} ({name})" for label, name in FORM_03_COLUMNS]
    rows = [
        [row.si_code, row.full_name, row.reason_text(locale) or "", "correct", "", "", "", ""]
        for row in workforce(program, employer, "", Claim.state.in_(_WAITING_FOR_DETAILS))
    ]
    return header, rows


def read_adjustments(path: Path, listed: int) -> tuple[list[tuple[int, dict[str, Any]]], list[str], int]:
    """A Form 03 spreadsheet of a unit whose list has ``listed`` people: its data rows (the spreadsheet's row number,
    {column: cell}, the columns named as :data:`FORM_03_COLUMNS` names them, by their name or their label), the
    other sheets holding data, and how many rows were left as downloaded (:func:`_left_blank`: passed over, not
    refused); UnusableFile without an SI code or an action column, or without rows."""
    most = listed + FORM_03_EXTRA_ROWS
    try:
        header, rows, others = read_table(path, max_rows=most)
    except TooManyRows as exc:
        raise UnusableFile(
            f"Tệp có nhiều dòng hơn danh sách của đơn vị (hơn {number(most, locale='vi')} dòng).",
            f"The file has more rows than the unit's list (over {number(most, locale='en')} rows).",
        ) from exc
    names = {label.lower(): name for label, name in FORM_03_COLUMNS} | {name: name for _, name in FORM_03_COLUMNS}
    renamed = {names.get(column, column) for column in header}
    required = [(label, name) for label, name in FORM_03_COLUMNS if name in ("si_code", "action")]
    missing = [f"{label} ({name})" for label, name in required if name not in renamed]
    if missing:
        listed_names = ", ".join(missing)
        raise header_not_first(path, _SI_CODE_HEADERS) or UnusableFile(
            f"Thiếu cột {listed_names}; hãy dùng tệp danh sách điều chỉnh đã tải về.",
            f"The column {listed_names} is missing; use the adjustments file downloaded from this page.",
        )
    if not rows:
        raise UnusableFile("Tệp không có dòng dữ liệu nào.", "The file has no data rows.")
    named = [(n, {names.get(column, column): value for column, value in cells.items()}) for n, cells in rows]
    filled = [(n, cells) for n, cells in named if not _left_blank(cells)]
    return filled, others, len(named) - len(filled)


def _left_blank(cells: dict[str, Any]) -> bool:
    """A correction row with no new detail at all: a row of the waiting list (:func:`form_03_waiting_table`) the unit
    did not fill in. Passed over and counted: refusing each would bury the rows that need fixing under the others."""
    return adjustment_action(cells) == "correct" and not any(
        text_value(cells, name) or isinstance(cells.get(name), UncalculatedFormula)  # a formula: refused, not blank
        for name in ("bank_code", "bank_account", "phone")
    )


def refused_rows(
    rows: Sequence[tuple[int, dict[str, Any]]], result: FormResult
) -> list[tuple[int, Any, Any, str, Any, str, str, str]]:
    """Every error of a returned spreadsheet's refused rows: (the row number the spreadsheet shows, the row's SI code
    and name, column, value, code, Vietnamese, English), the errors file's lines (:data:`ERRORS_HEADER`)."""
    lines = []
    for r in result.rows:
        if r.outcome != "error":
            continue
        number, cells = rows[r.row - 1]
        for e in r.errors:
            lines.append(
                (
                    number,
                    cells.get("si_code"),
                    cells.get("full_name"),
                    e.field,
                    cells.get(e.field),
                    e.code,
                    e.message_vi,
                    e.message_en,
                )
            )
    return lines


#: Rows a returned Form 02 may have beyond the unit's list (people added by mistake, each refused on its row).
FORM_02_EXTRA_ROWS = 100


def listed_people(program: Program, employer: Employer) -> int:
    """How many people the unit's Form 01 list has (its track A claims in ``program``)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.program_id == program.id, Claim.employer_id == employer.id, Claim.track == "A")
        )
        or 0
    )


def read_returned_form(
    path: Path, program: Program, listed: int, progress: Callable[[int], None] | None = None
) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """A returned Form 02 spreadsheet of a unit whose list in ``program`` has ``listed`` people: its data rows (the
    row number the spreadsheet shows, {column: cell}) and the names of other sheets holding data; UnusableFile when
    it cannot be the form (no SI code column, no rows, or far more rows than the list: reading stops there, so a file
    of 200,000 made-up rows costs what the unit's own list would). Form 03, which adds people to the list, is named
    only while the programme still takes it."""
    try:
        header, rows, others = read_table(path, max_rows=listed + FORM_02_EXTRA_ROWS, progress=progress)
    except TooManyRows as exc:
        if program.takes_adjustments(programme_today()):
            missing_vi, missing_en = (
                "Người chưa có trong danh sách được bổ sung bằng Mẫu số 03.",
                "People missing from the list are added with Form 03.",
            )
        else:
            missing_vi, missing_en = adjustments_closed(program)
        raise UnusableFile(
            f"Tệp có hơn {number(exc.max_rows, locale='vi')} dòng, nhiều hơn danh sách Mẫu số 01 của đơn vị "
            f"({number(listed, locale='vi')} người). Hãy dùng tệp Mẫu số 01 đã tải về. {missing_vi}",
            f"The file has over {number(exc.max_rows, locale='en')} rows, more than the unit's Form 01 list "
            f"({number(listed, locale='en')} people). Use the Form 01 file you downloaded. {missing_en}",
        ) from None
    if "si_code" not in header and "si_code" not in [_LABELS.get(name) for name in header]:
        raise header_not_first(path, _SI_CODE_HEADERS) or UnusableFile(
            "Thiếu cột Mã số BHXH (si_code); hãy dùng tệp Mẫu số 01 đã tải về.",
            "The SI code column (si_code) is missing; use the Form 01 file you downloaded.",
        )
    if not rows:
        raise UnusableFile(
            "Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.", "The file has no data rows under the header row."
        )
    renamed = dict(zip(header, _form_02_columns(header), strict=True))
    if any(original != name for original, name in renamed.items()):
        rows = [(n, {renamed.get(key, key): value for key, value in cells.items()}) for n, cells in rows]
    return rows, others


#: How a header names the SI code column (by its name, or its label alone).
_SI_CODE_HEADERS = ("si_code", "mã số bhxh")
#: A column may be headed by its Form 01 label alone ("Số tài khoản"), as a unit retyping the header might.
_LABELS = {label.lower(): name for label, name in FORM_01_COLUMNS} | {
    "không nhận hỗ trợ": "decline",  # the column as the pages name it, without ": ghi x"
}
#: The Form 02 columns a returned file must have: without them every person would be taken as paid in cash.
_BANK_COLUMNS = ("bank_code", "bank_account")


def _form_02_columns(header: list[str]) -> list[str]:
    """The returned form's column names (a label alone read as its column), or UnusableFile when a column is not one of
    Form 01's (a column the reader would pass over: "Không nhận hỗ trợ" retyped without "(decline)" would confirm
    everyone it marks), a column comes twice (which one counts?), or the bank columns are missing (every person would
    be taken as cash). Empty header cells (unnamed blank columns) are passed over."""
    names = [_LABELS.get(name, name) for name in header]
    known = {name for _, name in FORM_01_COLUMNS}
    columns = ", ".join(f"{label} ({name})" for label, name in FORM_01_COLUMNS)
    unknown = [original for original, name in zip(header, names, strict=True) if name and name not in known]
    if unknown:
        listed = ", ".join(f"“{name}”" for name in unknown[:5])
        raise UnusableFile(
            f"Tệp có cột không thuộc Mẫu số 01/02: {listed}. Các cột được đọc là: {columns}; hãy dùng tệp Mẫu số 01 "
            "đã tải về, không đổi tên cột, và xoá các cột thêm vào.",
            f"The file has columns that are not Form 01/02’s: {listed}. The columns read are: {columns}; use the Form "
            "01 file you downloaded, keep the column names, and delete any column added.",
        )
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:
        listed = ", ".join(twice)
        raise UnusableFile(
            f"Tệp có cột lặp lại: {listed}. Mỗi cột chỉ được có một lần.",
            f"The file has a column more than once: {listed}. Each column may appear only once.",
        )
    missing = [name for name in _BANK_COLUMNS if name not in names]
    if missing:
        labels = dict((name, label) for label, name in FORM_01_COLUMNS)
        listed = ", ".join(f"{labels[name]} ({name})" for name in missing)
        vi, en = ("các cột", "The columns {} are") if len(missing) > 1 else ("cột", "The column {} is")
        raise UnusableFile(
            f"Thiếu {vi} {listed}; hãy dùng tệp Mẫu số 01 đã tải về. Người nhận tiền mặt tại cơ quan BHXH: để trống "
            "hai ô ngân hàng và số tài khoản.",
            f"{en.format(listed)} missing; use the Form 01 file you downloaded. For a person paid in cash at the "
            "office, leave the bank and account number cells blank.",
        )
    return names


# --------------------------------------------------------------------------------------- requests to the unit


@dataclass(frozen=True)
class InformationRequest:
    """A caseworker's request for information addressed to the unit (a ``request_info`` note whose addressee is the
    employer), on a claim that is not closed: who, what the caseworker wrote for the unit to supply, by when, and
    whether the unit has answered since: a Form 02 or 03 row for the person, or its answer in words."""

    #: The request's event (what the unit's answer names).
    request_id: int
    claim_id: int
    si_code: str
    full_name: str
    #: What the caseworker asked the unit for (the request's text, written for its addressee).
    asked: str
    asked_on: date
    due_on: date | None
    #: The day the unit next sent a Form 02 or Form 03 row for the person after the request (the form's day of
    #: receipt); None if not yet.
    answered_on: date | None
    #: Which form that was ("02" or "03"), or "answer" for an answer in words.
    answered_with: str | None
    #: The unit's answer in words (``answer_info``), when that is how it answered.
    answer: str | None = None

    def overdue(self, today: date) -> bool:
        return self.answered_on is None and self.due_on is not None and self.due_on < today


#: Requests shown on the unit's pages (the newest first); a unit with more is told how many.
REQUESTS_SHOWN = 50

#: The unit's answer to the request ``r`` (a ``claim_events`` row addressed to the employer), if any: its answer in
#: words to this request, else the first Form 02/03 event for the person after the request (which may not be what was
#: asked: the unit may still answer in words), probed through ``ix_claim_events_claim_id``.
_ANSWER = """LEFT JOIN LATERAL (
            SELECT coalesce(CAST(x.data->>'received_on' AS date),
                            CAST(x.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS date)) AS answered_on,
                   coalesce(x.data->>'form', 'answer') AS form,
                   CASE WHEN x.action = 'answer_info' THEN x.data->>'note' END AS answer
            FROM claim_events x
            WHERE x.claim_id = r.claim_id AND x.id > r.id
              AND (x.data->>'form' IN ('02', '03')
                   OR (x.action = 'answer_info' AND x.data->>'request_id' = CAST(r.id AS text)))
            ORDER BY x.action = 'answer_info' DESC, x.id LIMIT 1
        ) a ON true"""

#: The unit's information requests on claims not closed, newest first: one index probe of each of the unit's claims'
#: events (``ix_claim_events_claim_id``), the answer (:data:`_ANSWER`) probed the same way. Only the request's
#: addressee, text and due date are read: never the caseworker's other notes.
_REQUESTS = text(
    f"""SELECT r.id AS request_id, r.claim_id, e.si_code, e.full_name, r.data->>'note' AS asked,
               r.data->>'due_on' AS due_on, CAST(r.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS date) AS asked_on,
               a.answered_on, a.form AS answered_with, a.answer, count(*) OVER () AS total
        FROM claims c
        JOIN employees e ON e.id = c.employee_id
        JOIN claim_events r ON r.claim_id = c.id AND r.action = 'request_info' AND r.data->>'addressee' = 'employer'
        {_ANSWER}
        WHERE c.program_id = :program_id AND c.employer_id = :employer_id
          AND c.state NOT IN ({", ".join(f"'{s.value}'" for s in CLOSED_STATES)})
          AND (CAST(:request_id AS bigint) IS NULL OR r.id = :request_id)
        ORDER BY r.id DESC
        LIMIT :limit"""
)


def information_requests(
    program: Program, employer: Employer, request_id: int | None = None
) -> tuple[list[InformationRequest], int]:
    """The information requests addressed to the unit on its claims still open, newest first (at most
    :data:`REQUESTS_SHOWN`), and how many there are in all; only the request ``request_id`` when it is given."""
    params = {"program_id": program.id, "employer_id": employer.id, "limit": REQUESTS_SHOWN, "request_id": request_id}
    rows = db.session.execute(_REQUESTS, params).all()
    requests = [
        InformationRequest(
            request_id=row.request_id,
            claim_id=row.claim_id,
            si_code=row.si_code,
            full_name=row.full_name,
            asked=row.asked or "",
            asked_on=row.asked_on,
            due_on=date.fromisoformat(row.due_on) if row.due_on else None,
            answered_on=row.answered_on,
            answered_with=row.answered_with,
            answer=row.answer,
        )
        for row in rows
    ]
    return requests, int(rows[0].total) if rows else 0


#: Of a page of claims, those whose latest request to the unit has its answer (:data:`_ANSWER`), with the day.
_ANSWERED = text(
    f"""SELECT r.claim_id, a.answered_on, a.form
        FROM unnest(CAST(:claim_ids AS bigint[])) AS ids(claim_id)
        CROSS JOIN LATERAL (
            SELECT r.id, r.claim_id FROM claim_events r
            WHERE r.claim_id = ids.claim_id AND r.action = 'request_info' AND r.data->>'addressee' = 'employer'
            ORDER BY r.id DESC LIMIT 1
        ) r
        {_ANSWER}
        WHERE a.answered_on IS NOT NULL"""
)


def answered_requests(claim_ids: Sequence[int]) -> dict[int, tuple[date, str]]:
    """Which of ``claim_ids`` (a page of the queue) have their latest request to the unit answered: on what day, and
    how (``answer``: in words; ``02``/``03``: a form row for the person, which may not be what was asked). The
    caseworker has something new to read."""
    if not claim_ids:
        return {}
    rows = db.session.execute(_ANSWERED, {"claim_ids": list(claim_ids)}).all()
    return {row.claim_id: (row.answered_on, row.form) for row in rows}
