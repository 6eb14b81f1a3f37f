"""The employer's forms: Form 02 (confirm the Form 01 list, with bank details, or "Không nhận hỗ trợ") and Form 03
(adjustments: add a missing person, remove a person not employed, correct a named field).

Each form is taken as a whole in the caller's transaction: every row is checked, the good rows are applied, the
others come back with their errors and change nothing; the caller commits once. State changes go through
:mod:`disburse.claims.service`; the confirmed claims are handed to the verification workers after the commit.

Rules decided here (the texts are silent):

- Form 02 is accepted after the review deadline too: a late Form 02 still confirms an ``employer_overdue`` claim, and
  one in review only because its unit was late (:func:`takes_late_form_02`: ``confirm_late``, verified again with the
  unit's details). A confirmation received after the person's review deadline says so in its event (``late``).
  Rows for people the office has decided on without a Form 02 say what happened to them.
- A confirmation without bank details means cash at the office; with them, a bank transfer. In the browser the
  employer chooses one of the two for each person: a bank transfer chosen without its details is refused, not cash.
- A second Form 02 row that says what is already recorded changes nothing (``unchanged``); one that contradicts it
  (other bank details, or confirming someone declined) is refused: corrections go through Form 03.
- Form 03 closes at the program's ``adjustment_deadline`` (inclusive). A person added on Form 03 is checked by the
  same rules as the lists build and, being vouched for by the employer, is confirmed at once; the payment SLA then
  counts ``payment_after_adjustment_days`` calendar days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, any_, bindparam, cast, false, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from disburse.claims import service
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import (
    SI_CODE,
    FormRefused,
    FormResult,
    RowResult,
    account_digits,
    bank_errors,
    dmy,
    drop_bank_reasons,
    number_cell,
    phone_digits,
    phone_error,
    si_code_error,
    si_code_value,
    text_value,
    uncalculated_errors,
)
from disburse.claims.states import CLOSED_STATES, STATE_LABELS, TRANSITIONS, ClaimAction, ClaimNote, ClaimState
from disburse.extensions import db
from disburse.programs.calendar import add_working_days, programme_today
from disburse.programs.models import Program
from disburse.programs.rules import (
    OUTCOME_NOT_ELIGIBLE,
    REASON_LABELS,
    UI_PARTICIPATING,
    Person,
    ProgramRules,
    assess,
)
from disburse.reference.service import KnownBanks, bank_code_of, bank_names, known_banks
from disburse.registry.models import Employee, Employer, unit_by_code
from disburse.spreadsheets import UncalculatedFormula
from disburse.transitions import BulkTransition
from disburse.verification import reasons as claim_reasons
from disburse.verification.service import request_verification

Actor = service.Actor

#: The "Không nhận hỗ trợ" column's words for "declines". Not "có": under that heading "có" reads "yes, declines" to
#: some and "yes, receives" to others, and a decline cannot be undone; such a row is refused and says what to write.
_YES = {"true", "1", "x", "yes", "không nhận hỗ trợ", "khong nhan ho tro"}
#: ...and for "receives". Not "không" either: "không [nhận]" is a decline to some.
_NO = {"", "false", "0", "no"}

#: Claims a Form 02 confirmation moves (the employer's list still waits for it).
_CONFIRMABLE = {s for (s, a) in TRANSITIONS if a is ClaimAction.CONFIRM}
#: Claims the employer has confirmed and that are not closed: a repeated confirmation is compared with them.
_CONFIRMED_OPEN = {
    ClaimState.EMPLOYER_CONFIRMED,
    ClaimState.VERIFYING,
    ClaimState.NEEDS_REVIEW,
    ClaimState.APPROVED,
    ClaimState.PAYMENT_PENDING,
    ClaimState.PAYMENT_FAILED,
    ClaimState.AWAITING_PAYMENT_DETAILS,
    ClaimState.PAID,
}


#: The review reasons a claim its unit never confirmed gets from that alone: the unit was late (and, without its Form
#: 02, the claim has no bank details to check). A late Form 02 answers every one of them.
LATE_FORM_02_REASONS = frozenset(
    {
        claim_reasons.NOT_CONFIRMED_BY_EMPLOYER,
        claim_reasons.BANK_DETAILS_MISSING,
        claim_reasons.BANK_DETAILS_MALFORMED,
    }
)


def takes_late_form_02(state: str, reasons: Sequence[str], confirmed: bool) -> bool:
    """Whether a late Form 02 confirms this claim (``confirm_late``): in review, never confirmed by its unit, and in
    review only because of that (:data:`LATE_FORM_02_REASONS`). Nobody has decided on it yet; it is verified again
    with the unit's confirmation and details. :func:`late_form_02_clause` is the same rule in SQL."""
    return (
        not confirmed
        and state == ClaimState.NEEDS_REVIEW
        and claim_reasons.NOT_CONFIRMED_BY_EMPLOYER in reasons
        and set(reasons) <= LATE_FORM_02_REASONS
    )


def late_form_02_clause(program: Program, today: date) -> Any:
    """:func:`takes_late_form_02` as a condition on ``claims`` (the unit's pages count and list these people); false
    once the program no longer takes Form 03 (:meth:`Program.takes_adjustments`): a late Form 02 is taken while the
    unit's list may still change, as :func:`confirm` does."""
    if not program.takes_adjustments(today):
        return false()
    return and_(
        Claim.state == ClaimState.NEEDS_REVIEW.value,
        Claim.track == "A",
        Claim.confirmed_on.is_(None),
        Claim.reasons.op("@>")(cast([claim_reasons.NOT_CONFIRMED_BY_EMPLOYER], ARRAY(String(40)))),
        Claim.reasons.op("<@")(cast(sorted(LATE_FORM_02_REASONS), ARRAY(String(40)))),
    )


def employer_for_unit(unit_code: str) -> Employer:
    employer = unit_by_code(unit_code)
    if employer is None:
        raise FormRefused(
            "unit_unknown",
            f"Không có đơn vị mã '{unit_code[:30]}'.",
            f"There is no unit with code '{unit_code[:30]}'.",
            status=404,
        )
    return employer


def written_bank(row: dict[str, Any], names: dict[str, str]) -> Any:
    """A form row's bank as its code, however the unit wrote it: "Vietcombank", "NH TMCP Ngoại thương Việt Nam" and
    970436 are VCB (:func:`~disburse.reference.service.bank_names`); a bank it does not name, as written; a formula
    never calculated as it is (:func:`uncalculated_errors` refuses it: read as blank, a row became cash)."""
    if isinstance(row.get("bank_code"), UncalculatedFormula):
        return row["bank_code"]
    written = text_value(row, "bank_code")
    return bank_code_of(written, names) if written else ""


def _state_words(state: str) -> tuple[str, str]:
    """The state's label in each language, for "hồ sơ đang ở trạng thái '…'" / "the claim's state is '…'"."""
    return STATE_LABELS[ClaimState(state)]


def parse_decline(value: Any) -> bool | None:
    """The "Không nhận hỗ trợ" column: True, False, or None when the value means neither."""
    if isinstance(value, bool):
        return value
    words = text_value({"v": value}, "v").lower()
    if words in _YES:
        return True
    if words in _NO:
        return False
    return None


def _mark_repeats(results: list[RowResult], row_numbers: Sequence[int] | None = None) -> None:
    """The same SI code on two rows of one form: every such row is refused (picking one would be a guess), also when
    one of them is refused for something else already: the other must not go through as if it were the only one."""
    seen: dict[str, list[RowResult]] = {}
    for result in results:
        if result.si_code and not any(error.field == "si_code" for error in result.errors):
            seen.setdefault(result.si_code, []).append(result)
    for repeated in (rows for rows in seen.values() if len(rows) > 1):
        # The rows as the person sees them: a spreadsheet's own row numbers when the rows came from one.
        rows_text = ", ".join(str(row_numbers[r.row - 1] if row_numbers else r.row) for r in repeated)
        for result in repeated:
            result.fail(
                "si_code",
                "si_code_repeated",
                f"Mã số BHXH này có ở nhiều dòng ({rows_text}); mỗi người chỉ ghi một dòng.",
                f"This SI code is on several rows ({rows_text}); give each person one row.",
            )


#: The unit's claims named by a form, locked in id order so that two forms for one unit take turns and never
#: deadlock: a row confirmed by one is seen confirmed by the other.
_UNIT_CLAIMS = text(
    """SELECT e.si_code, c.id, c.state, c.bank_code, c.bank_account, c.payout, c.confirmed_on IS NOT NULL AS confirmed,
              c.reasons, c.review_due_on
       FROM claims c JOIN employees e ON e.id = c.employee_id
       WHERE c.program_id = :program_id AND c.employer_id = :employer_id AND e.si_code = ANY(:si_codes)
       ORDER BY c.id FOR UPDATE OF c"""
).bindparams(bindparam("si_codes", type_=ARRAY(String)))


@dataclass(frozen=True)
class _Listed:
    claim_id: int
    state: str
    bank_code: str | None
    bank_account: str | None
    payout: str
    #: Whether the unit confirmed it (Form 02) at some point.
    confirmed: bool = True
    #: What verification found that needs checking (``claims.reasons``).
    reasons: tuple[str, ...] = ()
    #: The unit's Form 02 deadline for the person (track A).
    review_due_on: date | None = None


def _unit_claims(program: Program, employer: Employer, si_codes: Sequence[str]) -> dict[str, _Listed]:
    rows = db.session.execute(
        _UNIT_CLAIMS, {"program_id": program.id, "employer_id": employer.id, "si_codes": list(si_codes)}
    ).all()
    return {
        row.si_code: _Listed(
            row.id,
            row.state,
            row.bank_code,
            row.bank_account,
            row.payout,
            row.confirmed,
            tuple(row.reasons or ()),
            row.review_due_on,
        )
        for row in rows
    }


def adjustments_closed(program: Program, *, staff: bool = False) -> tuple[str, str]:
    """What is said once Form 03 is no longer taken (:meth:`Program.takes_adjustments`), in Vietnamese and English:
    since when, and whom to turn to instead. ``staff``: said to the office's own staff (a caseworker sending a unit's
    Form 02 or 03 through the API), whom "contact the district office" would send to themselves."""
    deadline = dmy(program.adjustment_deadline)
    if staff:
        return (
            f"Đã hết hạn điều chỉnh danh sách (Mẫu số 03) ngày {deadline}: đơn vị không còn gửi được điều chỉnh; cán "
            "bộ nghiệp vụ sửa thông tin của người lao động trên trang hồ sơ.",
            f"The deadline for adjustments (Form 03) was {deadline}: the unit can no longer send adjustments; a "
            "caseworker corrects the person's details on the case page.",
        )
    return (
        f"Đã hết hạn điều chỉnh danh sách (Mẫu số 03) ngày {deadline}; để bổ sung hoặc sửa thông tin của người lao "
        "động, hãy liên hệ cơ quan BHXH quận, huyện.",
        f"The deadline for adjustments (Form 03) was {deadline}; to add a person or correct their details, contact "
        "the district social security office.",
    )


#: What a row for someone not on the list says to do: on Form 02, send Form 03; on Form 03, an addition.
_ADD_ON_FORM_03 = ("; dùng Mẫu số 03 để bổ sung.", "; use Form 03 to add them.")
#: The page's choice and the file's action, in their own words (Form 03's radio labels, the file's column values).
_ADD_HERE = (
    "; để bổ sung người này, chọn “Bổ sung người lao động chưa có trong danh sách” (trong tệp: thao tác add hoặc "
    "bổ sung).",
    "; to add them, choose “Add an employee missing from the list” (in a file: the action add).",
)


def _not_on_list(result: RowResult, unit_code: str, then: tuple[str, str] = _ADD_ON_FORM_03) -> None:
    """``then``: what to do instead; :func:`adjustments_closed` once Form 03, which adds people to the list, is no
    longer taken."""
    vi = f"Người này không có trong danh sách Mẫu số 01 của đơn vị {unit_code}"
    en = f"This person is not on unit {unit_code}'s Form 01 list"
    result.fail("si_code", "not_on_list", vi + then[0], en + then[1])


#: The unit's claims in a program, by their people's SI codes (one array parameter, however many rows).
_LISTED_CLAIMS = (
    select(Employee.si_code, Claim.id)
    .join(Claim, Claim.employee_id == Employee.id)
    .where(
        Claim.program_id == bindparam("program_id"),
        Claim.employer_id == bindparam("employer_id"),
        Employee.si_code == any_(bindparam("si_codes", type_=ARRAY(String))),
    )
)


def row_claims(program: Program, employer: Employer, result: FormResult) -> list[int | None]:
    """Each row's claim on the unit's list, whatever the row's outcome (None for a person without one there): the
    row's own, else the claim of its SI code: a row refused for its values (a phone, an account number, an SI code
    given twice) before the form looked at the claim is about it all the same. What the API answers per row, the
    pages and the command show by a refused row."""
    codes = sorted({r.si_code for r in result.rows if r.claim_id is None and SI_CODE.fullmatch(r.si_code)})
    listed: dict[str, int] = {}
    if codes:
        params = {"program_id": program.id, "employer_id": employer.id, "si_codes": codes}
        listed = {si_code: claim_id for si_code, claim_id in db.session.execute(_LISTED_CLAIMS, params)}
    return [r.claim_id if r.claim_id is not None else listed.get(r.si_code) for r in result.rows]


# ------------------------------------------------------------------------------------------------------ Form 02


@dataclass
class _Confirmation:
    result: RowResult
    decline: bool
    bank_code: str | None
    bank_account: str | None


#: The cells of a Form 02 row that it reads (a returned Form 01 spreadsheet has others, ignored).
_FORM_02_CELLS = ("si_code", "decline", "bank_code", "bank_account")


def _check_confirmation_row(
    row: dict[str, Any], result: RowResult, banks: KnownBanks, bank_chosen: bool
) -> _Confirmation | None:
    if uncalculated_errors(result, row, _FORM_02_CELLS):
        return None
    si_error = si_code_error(result, result.si_code)
    decline = parse_decline(row.get("decline"))
    if decline is None:
        result.fail(
            "decline",
            "decline_value",
            "Cột 'Không nhận hỗ trợ' chỉ ghi 'x' (người lao động không nhận hỗ trợ) hoặc để trống (có nhận).",
            "The 'Không nhận hỗ trợ' (decline) column takes 'x' (the person declines the support) or stays blank "
            "(receives it).",
        )
    bank_code, bank_account = text_value(row, "bank_code").upper(), account_digits(text_value(row, "bank_account"))
    if not decline:
        bank_errors(
            result,
            bank_code,
            bank_account,
            banks,
            account_is_number=number_cell(row, "bank_account"),
            required=bank_chosen,
        )
    if si_error or result.errors:
        return None
    return _Confirmation(result, bool(decline), bank_code or None, bank_account or None)


def _decide_confirmation(
    item: _Confirmation, listed: _Listed | None, unit_code: str, closed: tuple[str, str] | None
) -> str | None:
    """``confirm``, ``decline`` or None (unchanged, or refused: the row's result says which). ``closed``:
    :func:`adjustments_closed` once Form 03 is no longer taken, said instead of sending a row to it."""
    result = item.result
    if listed is None:
        _not_on_list(result, unit_code, _ADD_ON_FORM_03 if closed is None else (f". {closed[0]}", f". {closed[1]}"))
        return None
    result.claim_id = listed.claim_id
    state = ClaimState(listed.state)
    if not item.decline and _zeros_lost(result, listed.bank_account, item.bank_account):
        return None
    # A decline is the unit's answer for the person, taken where a confirmation would be: once the unit has answered
    # (or the office decided without it), a later Form 02 row never undoes that answer, nor a decision.
    answering = state in _CONFIRMABLE or (
        closed is None and takes_late_form_02(state, listed.reasons, listed.confirmed)
    )
    vi, en = _state_words(state)
    if item.decline:
        if state is ClaimState.DECLINED:
            result.outcome = "unchanged"
        elif answering:
            return "decline"
        elif state is ClaimState.REJECTED:
            _refused_by_office(result, vi, en)
        else:
            office_vi, office_en = (
                (
                    " Nếu người lao động không muốn nhận hỗ trợ nữa, người đó (hoặc đơn vị) báo cơ quan BHXH cấp huyện "
                    "để cơ quan ghi nhận.",
                    " If the person no longer wants the support, they (or the unit) tell the district social security "
                    "office, which records it.",
                )
                if (state, ClaimAction.DECLINE) in TRANSITIONS
                else ("", "")
            )
            result.fail(
                "decline",
                "cannot_decline",
                f"Mẫu số 02 không ghi được 'Không nhận hỗ trợ' cho người này: hồ sơ đang ở trạng thái '{vi}'."
                + office_vi,
                f"Form 02 cannot record 'declines support' for this person: the claim's state is '{en}'." + office_en,
            )
        return None
    if state in _CONFIRMABLE:
        return "confirm"
    if answering:
        return "confirm_late"  # taken while the unit's list may still change (Form 03)
    if not listed.confirmed and state in _DECIDED_WITHOUT_FORM_02:
        _without_form_02(result, listed, closed)
        return None
    same = (listed.bank_code, listed.bank_account) == (item.bank_code, item.bank_account)
    if same and (state in _CONFIRMED_OPEN or (state is ClaimState.REJECTED and listed.confirmed)):
        # What the unit confirmed, sent again (the Form 01 file downloaded again and returned as it is): also when the
        # office has since refused the claim.
        result.outcome = "unchanged"
        return None
    if state is ClaimState.REJECTED:
        _refused_by_office(result, vi, en)
        return None
    if closed is not None:
        vi_then, en_then = closed
    elif state in _CORRECTABLE:
        vi_then, en_then = "Hãy dùng Mẫu số 03 để điều chỉnh.", "Use Form 03 to correct it."
    else:  # paid, on its way to the bank, declined or removed: nothing of the unit's changes it
        vi_then, en_then = (
            "Mẫu số 02 và Mẫu số 03 không thay đổi được; nếu cần, hãy liên hệ cơ quan BHXH.",
            "Neither Form 02 nor Form 03 can change that; contact the social security office if needed.",
        )
    earlier_vi, earlier_en = (
        ("lần xác nhận trước", "the earlier confirmation") if listed.confirmed else ("hồ sơ", "what is recorded")
    )
    result.fail(
        "bank_account" if state in _CONFIRMED_OPEN else "si_code",
        "contradicts_earlier",
        f"Dòng này khác với {earlier_vi} (hồ sơ đang ở trạng thái '{vi}'). {vi_then}",
        f"This row contradicts {earlier_en} (the claim's state is '{en}'). {en_then}",
    )
    return None


def _zeros_lost(result: RowResult, had: str | None, given: str | None) -> bool:
    """Whether ``given`` is the account ``had`` (the list's, or the claim's) short of its leading zeros, refused on
    the row (``account_zeros_lost``): a spreadsheet program opening the downloaded CSV reads the account as a number
    and drops them, and the money must not go to an account that is not the person's."""
    if not (had and given) or had == given or len(given) >= len(had) or had.lstrip("0") != given.lstrip("0"):
        return False
    result.fail(
        "bank_account",
        "account_zeros_lost",
        f"Số tài khoản {given} là số tài khoản {had} đã mất các chữ số 0 ở đầu (thường do Excel đọc ô thành số). Hãy "
        "ghi lại đúng số tài khoản, định dạng ô là Văn bản (Text), hoặc dùng tệp .xlsx đã tải về.",
        f"The account number {given} is the account {had} without its leading zeros (usually Excel reading the cell "
        "as a number). Write the account number again with the cell formatted as Text, or use the downloaded .xlsx.",
    )
    return True


def _refused_by_office(result: RowResult, vi: str, en: str) -> None:
    result.fail(
        "si_code",
        "claim_refused",
        f"Cơ quan BHXH đã quyết định không giải quyết hỗ trợ cho người này (trạng thái '{vi}'); Mẫu số 02 không "
        "thay đổi được quyết định đó. Nếu cần, hãy liên hệ cơ quan BHXH.",
        f"The social security office has refused this person's claim (its state is '{en}'); Form 02 cannot change "
        "that decision. Contact the office if needed.",
    )


#: States of a claim its unit never confirmed that a late Form 02 no longer confirms: being checked right now, in
#: review for something else than the unit's lateness, or decided by the office.
_DECIDED_WITHOUT_FORM_02 = frozenset(_CONFIRMED_OPEN - {ClaimState.EMPLOYER_CONFIRMED})


def _without_form_02(result: RowResult, listed: _Listed, closed: tuple[str, str] | None) -> None:
    """A late Form 02 row for a person the office is checking, or has decided on, without the unit's Form 02: what
    happened to them, and what the unit can still do (bank details on Form 03 while the claim takes them, or whom to
    contact once Form 03 has closed)."""
    state = ClaimState(listed.state)
    vi, en = _state_words(state)
    if state is ClaimState.VERIFYING:
        result.fail(
            "si_code",
            "being_checked",
            "Hồ sơ của người này đang được kiểm tra ngay lúc này (đơn vị đã quá hạn gửi Mẫu số 02). Hãy gửi lại dòng "
            "này sau ít phút: Mẫu số 02 gửi muộn được tiếp nhận cho người chỉ còn chờ đơn vị xác nhận.",
            "This person's claim is being checked right now (the unit's Form 02 deadline has passed). Send this row "
            "again in a few minutes: a late Form 02 is taken for people who only wait for the unit's confirmation.",
        )
        return
    vi_then, en_then = closed or (
        (
            "Để đổi ngân hàng hoặc số tài khoản, hãy dùng Mẫu số 03 (dòng điều chỉnh).",
            "To change the bank or the account number, use Form 03 (a correction row).",
        )
        if state in _CORRECTABLE
        else ("", "")
    )
    others = [claim_reasons.label(code) for code in sorted(set(listed.reasons) - LATE_FORM_02_REASONS)]
    if state is ClaimState.NEEDS_REVIEW and not others:  # late only, but the list no longer changes (Form 03 closed)
        result.fail(
            "si_code",
            "confirmation_closed",
            f"Đã quá hạn xác nhận danh sách (Mẫu số 02); hồ sơ đang được cơ quan BHXH xem xét (trạng thái '{vi}'). "
            f"{vi_then}".rstrip(),
            f"The list's confirmation deadline (Form 02) has passed; the social security office is checking the claim "
            f"(its state is '{en}'). {en_then}".rstrip(),
        )
        return
    if state is ClaimState.NEEDS_REVIEW:
        why_vi = " ".join(label[0] for label in others)
        why_en = " ".join(label[1] for label in others)
        result.fail(
            "si_code",
            "confirmation_closed",
            "Đã quá hạn xác nhận (Mẫu số 02) và cơ quan BHXH đang xác minh người này vì lý do khác: "
            f"{why_vi} Mẫu số 02 gửi muộn không được tiếp nhận cho người này. {vi_then}".rstrip(),
            "The confirmation deadline (Form 02) has passed and the social security office is checking this person "
            f"for another reason: {why_en} A late Form 02 is not taken for this person. {en_then}".rstrip(),
        )
        return
    result.fail(
        "si_code",
        "decided_without_form_02",
        f"Cơ quan BHXH đã giải quyết hồ sơ của người này khi đơn vị chưa gửi Mẫu số 02: trạng thái '{vi}'. Mẫu số 02 "
        f"gửi muộn không thay đổi được. {vi_then}".rstrip(),
        f"The social security office decided on this person's claim without the unit's Form 02: its state is "
        f"'{en}'. A late Form 02 cannot change that. {en_then}".rstrip(),
    )


def _staff(actor: Actor) -> bool:
    """Whether a form is sent by one of the office's own staff users (any role but a unit's). Without an actor (a
    command, the demo) the unit's words are kept: such a form is the unit's, entered for it."""
    from disburse.auth.models import User

    user = db.session.get(User, actor) if isinstance(actor, int) else actor
    return user is not None and user.role != "employer"


def confirm(
    program: Program,
    unit_code: str,
    rows: Sequence[dict[str, Any]],
    *,
    actor: Actor = None,
    today: date | None = None,
    row_numbers: Sequence[int] | None = None,
    bank_chosen: Sequence[bool] | None = None,
) -> FormResult:
    """Form 02 for ``unit_code``: each row ``{si_code, bank_code, bank_account, decline}``; flush, never commit.
    ``row_numbers``: each row's number in the spreadsheet it came from, for the messages that name other rows.
    ``bank_chosen``: for a form that asks each person's payout (the browser's), whether each row chose a bank
    transfer; such a row without its bank and account number is refused (``bank_required``), never taken as cash.
    Without it (a spreadsheet, the API), a confirmation without bank details means cash at the office."""
    employer = employer_for_unit(unit_code)
    today = today or programme_today()
    banks = known_banks()
    names = bank_names()
    rows = [{**row, "bank_code": written_bank(row, names)} for row in rows]
    results = [RowResult(row=i + 1, si_code=si_code_value(row)) for i, row in enumerate(rows)]
    chosen = bank_chosen if bank_chosen is not None else [False] * len(rows)
    checked = [
        _check_confirmation_row(row, result, banks, bank)
        for row, result, bank in zip(rows, results, chosen, strict=True)
    ]
    _mark_repeats(results, row_numbers)
    items = [item for item in checked if item is not None and not item.result.errors]
    listed = _unit_claims(program, employer, [item.result.si_code for item in items])

    to_confirm: list[_Confirmation] = []
    to_decline: list[_Confirmation] = []
    #: The confirmations by (action, whether after the person's Form 02 deadline): one statement each.
    confirming: dict[tuple[ClaimAction, bool], list[_Confirmation]] = {}
    closed = None if program.takes_adjustments(today) else adjustments_closed(program, staff=_staff(actor))
    for item in items:
        entry = listed.get(item.result.si_code)
        decision = _decide_confirmation(item, entry, unit_code, closed)
        if decision in ("confirm", "confirm_late") and entry is not None:
            action = ClaimAction.CONFIRM_LATE if decision == "confirm_late" else ClaimAction.CONFIRM
            late = action is ClaimAction.CONFIRM_LATE or (
                entry.review_due_on is not None and entry.review_due_on < today
            )
            confirming.setdefault((action, late), []).append(item)
            to_confirm.append(item)
        elif decision == "decline":
            to_decline.append(item)

    data: dict[str, Any] = {"form": "02", "unit_code": unit_code, "received_on": today.isoformat()}
    for (action, late), group in sorted(confirming.items()):
        # The form's details are written by the move itself (one new version of each claim, not two).
        found = [(item.result.claim_id, item) for item in group if item.result.claim_id is not None]
        moved = service.confirm_many(
            [claim_id for claim_id, _ in found],
            [item.bank_code for _, item in found],
            [item.bank_account for _, item in found],
            confirmed_on=today,
            payment_due_on=add_working_days(today, program.payment_after_confirmation_wd),
            actor=actor,
            # Received after the person's Form 02 deadline: reports tell late confirmations by this.
            data={**data, "late": True} if late else data,
            action=action,
        )
        _mark(group, moved, "confirmed")
    if to_decline:
        _apply(ClaimAction.DECLINE, to_decline, "declined", actor, data)
    confirmed_ids = [i.result.claim_id for i in to_confirm if i.result.outcome == "confirmed" and i.result.claim_id]
    _after_confirmation(confirmed_ids)
    return FormResult(unit_code, results)


def _apply(action: ClaimAction, items: list[_Confirmation], outcome: str, actor: Actor, data: dict[str, Any]) -> None:
    ids = [item.result.claim_id for item in items if item.result.claim_id is not None]
    # The move changes no column that references another table, and the actor is locked once: the events' per-row
    # foreign-key checks would only repeat it, at twice the cost of the move itself.
    _mark(items, service.transition_many(action, ids=ids, actor=actor, data=data, skip_fk_triggers=True), outcome)


def _mark(items: list[_Confirmation], moved: BulkTransition, outcome: str) -> None:
    for item in items:
        if item.result.claim_id in moved.not_moved:  # the rows were locked above: only a bug can get here
            item.result.fail("si_code", "not_moved", "Không cập nhật được hồ sơ.", "The claim could not be updated.")
        else:
            item.result.outcome = outcome


def _after_confirmation(claim_ids: list[int]) -> None:
    """Confirmed claims go to the verification workers once the form's transaction commits (the sweeper would
    find them too, later)."""
    if claim_ids:
        request_verification(claim_ids)


# ------------------------------------------------------------------------------------------------------ Form 03


def _check_deadline(program: Program, today: date, actor: Actor = None) -> None:
    if not program.takes_adjustments(today):
        vi, en = adjustments_closed(program, staff=_staff(actor))
        if today <= program.application_deadline:  # Form 04 is still taken: say so; after it, it would mislead
            vi += f" Người chưa được chi trả có thể tự nộp Mẫu số 04 đến hết ngày {dmy(program.application_deadline)}."
            en += f" People still unpaid may apply themselves on Form 04 until {dmy(program.application_deadline)}."
        raise FormRefused("deadline_passed", vi, en)


def adjust(
    program: Program,
    unit_code: str,
    rows: Sequence[dict[str, Any]],
    *,
    actor: Actor = None,
    today: date | None = None,
    typed: bool = False,
    row_numbers: Sequence[int] | None = None,
) -> FormResult:
    """Form 03 for ``unit_code``: each row ``{si_code, action: add|remove|correct, …}``; flush, never commit.

    ``add`` may carry ``bank_code``/``bank_account``; ``remove`` may carry a ``reason``; ``correct`` carries the
    fields to correct: ``bank_code`` + ``bank_account``, and/or ``phone``. The action may be written in Vietnamese
    (:data:`ACTION_WORDS`). Refused as a whole after the deadline. ``typed``: the rows were typed in the web form, not
    read from a file (the words of :func:`adjustment_errors`); ``row_numbers``: each row's number in the spreadsheet
    it came from, for the messages that name other rows."""
    employer = employer_for_unit(unit_code)
    today = today or programme_today()
    _check_deadline(program, today, actor)
    banks = known_banks()
    names = bank_names()
    rows = [{**row, "action": adjustment_action(row), "bank_code": written_bank(row, names)} for row in rows]
    results = [RowResult(row=i + 1, si_code=si_code_value(row)) for i, row in enumerate(rows)]
    for row, result in zip(rows, results, strict=True):
        adjustment_errors(result, row, banks, typed=typed)
    _mark_repeats(results, row_numbers)
    listed = _unit_claims(program, employer, [r.si_code for r in results if not r.errors])
    context = _Adjusting(program, employer, today, banks, actor)
    for row, result in zip(rows, results, strict=True):
        if result.errors:
            continue
        savepoint = db.session.begin_nested()  # a row refused half-way leaves nothing behind
        _ADJUSTMENTS[text_value(row, "action")](context, row, result, listed.get(result.si_code))
        if result.errors:
            savepoint.rollback()
        else:
            savepoint.commit()
    return FormResult(unit_code, results)


#: The cells of a Form 03 row that it reads (the waiting list's name and failure columns are there to read only).
FORM_03_CELLS = ("si_code", "action", "bank_code", "bank_account", "phone", "reason")

#: A Form 03 action as a unit may write it in Vietnamese (the column's heading is Vietnamese): its word.
ACTION_WORDS = {
    "bổ sung": "add",
    "thêm": "add",
    "không có tại đơn vị": "remove",
    "điều chỉnh": "correct",
    "sửa": "correct",
}


def adjustment_action(row: dict[str, Any]) -> Any:
    """A Form 03 row's action, ``add``, ``remove`` or ``correct`` however it was written (any case, English or
    Vietnamese), else as written (refused by :func:`adjustment_errors`, a formula never calculated too)."""
    if isinstance(row.get("action"), UncalculatedFormula):
        return row["action"]
    written = text_value(row, "action")
    words = " ".join(written.lower().split())
    return ACTION_WORDS.get(words, words if words in _ADJUSTMENTS else written)


def adjustment_errors(result: RowResult, row: dict[str, Any], banks: KnownBanks, *, typed: bool = False) -> bool:
    """Adds every error of a Form 03 row's values that needs nothing of the database (the SI code's, the action's,
    the bank details' and the phone's shape) to ``result``, all of them at once: a row, or the web form, with three
    wrong values hears of the three, not of one per try. True when there was one. ``typed``: the row was typed in
    the web form (:func:`~disburse.claims.outcomes.si_code_error`'s words for it)."""
    before = len(result.errors)
    if uncalculated_errors(result, row, FORM_03_CELLS):
        return True
    si_code_error(result, result.si_code, typed=typed)
    action = text_value(row, "action")
    if action not in _ADJUSTMENTS:
        result.fail(
            "action",
            "action_unknown",
            "Cột 'Thao tác' (action) ghi một trong: add hoặc bổ sung, remove hoặc không có tại đơn vị, correct "
            "hoặc điều chỉnh.",
            "The 'Thao tác' (action) column is one of: add (bổ sung), remove (không có tại đơn vị), correct "
            "(điều chỉnh).",
        )
    bank_code, bank_account = text_value(row, "bank_code").upper(), account_digits(text_value(row, "bank_account"))
    if action in ("add", "correct") and (bank_code or bank_account):
        bank_errors(result, bank_code, bank_account, banks, account_is_number=number_cell(row, "bank_account"))
    if action == "correct":
        phone = text_value(row, "phone")
        if not (bank_code or bank_account or phone):
            # On the first of the fields it asks for (the web form shows it there and its summary links to it), not
            # on the action, which is right.
            result.fail(
                "bank_code",
                "nothing_to_correct",
                *(
                    (
                        "Hãy ghi thông tin mới: ngân hàng và số tài khoản, hoặc số điện thoại.",
                        "Give the new details: bank and account number, or phone.",
                    )
                    if typed
                    else (
                        "Dòng điều chỉnh cần ghi thông tin mới: ngân hàng và số tài khoản, hoặc số điện thoại.",
                        "A correction row needs the new details: bank and account number, or phone.",
                    )
                ),
            )
        elif phone and (wrong := phone_error(phone)):
            result.fail("phone", "phone_format", *wrong)
    if action == "remove" and len(text_value(row, "reason")) > MAX_REMOVAL_REASON:
        # Refused whole, as on the web form: a reason cut short says something else than what the unit wrote.
        result.fail(
            "reason",
            "reason_too_long",
            f"Lý do dài quá {MAX_REMOVAL_REASON} ký tự.",
            f"The reason is longer than {MAX_REMOVAL_REASON} characters.",
        )
    return len(result.errors) > before


#: The longest reason a Form 03 removal keeps (the web form's limit too).
MAX_REMOVAL_REASON = 900


@dataclass(frozen=True)
class _Adjusting:
    program: Program
    employer: Employer
    today: date
    banks: KnownBanks
    actor: Actor

    @property
    def data(self) -> dict[str, Any]:
        return {"form": "03", "unit_code": self.employer.unit_code, "received_on": self.today.isoformat()}


def _add(ctx: _Adjusting, row: dict[str, Any], result: RowResult, listed: _Listed | None) -> None:
    # The bank details' shape was checked with the row's other values (adjustment_errors).
    bank_code, bank_account = text_value(row, "bank_code").upper(), account_digits(text_value(row, "bank_account"))
    if listed is not None:
        result.claim_id = listed.claim_id
        if bank_code and (bank_code, bank_account) != (listed.bank_code, listed.bank_account):
            # Other details than the claim's: not dropped in silence, and not taken for a correction either.
            result.fail(
                "bank_account",
                "listed_other_account",
                "Người này đã có trong danh sách của đơn vị, với tài khoản khác; để đổi tài khoản, chọn “Điều chỉnh "
                "tài khoản ngân hàng hoặc số điện thoại” (trong tệp: thao tác correct hoặc điều chỉnh) thay vì bổ "
                "sung.",
                "This person is already on the unit's list, with other bank details; to change them, choose “Correct "
                "the bank account or the phone number” (in a file: the action correct) instead of an addition.",
            )
        else:
            result.outcome = "unchanged"
        return
    employee = db.session.scalar(select(Employee).where(Employee.si_code == result.si_code))
    if employee is None or employee.employer_id != ctx.employer.id or employee.ui_status != UI_PARTICIPATING:
        result.fail(
            "si_code",
            "not_employed_here",
            f"Theo dữ liệu BHXH, người có mã số này không đang tham gia BHTN tại đơn vị {ctx.employer.unit_code}; "
            "hãy kiểm tra mã số hoặc đề nghị cơ quan BHXH cập nhật.",
            f"The social security records do not show this person participating in UI at unit "
            f"{ctx.employer.unit_code}; check the code or ask the office to update the records.",
        )
        return
    if service.claim_for_person(ctx.program.id, employee.id) is not None:
        result.fail(
            "si_code",
            "has_claim",
            "Người này đã có hồ sơ hỗ trợ ở nơi khác; mỗi người chỉ được hỗ trợ một lần.",
            "This person already has a support claim elsewhere; each person is supported once.",
        )
        return
    assessment = assess(ProgramRules.from_program(ctx.program), _person(employee, ctx.employer))
    if assessment.outcome == OUTCOME_NOT_ELIGIBLE or assessment.amount_vnd is None:
        labels = [REASON_LABELS.get(code, (code, code)) for code in assessment.reasons]
        result.fail(
            "si_code",
            "not_eligible",
            "Không thuộc đối tượng hỗ trợ: " + " ".join(vi for vi, _ in labels),
            "Not eligible for support: " + " ".join(en for _, en in labels),
        )
        return
    claim = service.create(
        ctx.actor,
        ctx.data,
        program_id=ctx.program.id,
        employee_id=employee.id,
        employer_id=ctx.employer.id,
        district_code=unit_district(ctx.employer),
        track="A",
        support_group=assessment.support_group,
        unused_months=employee.unused_months,
        amount_vnd=assessment.amount_vnd,
        reasons=list(assessment.reasons),
        payout="bank" if bank_code else "cash",
        bank_code=bank_code or None,
        bank_account=bank_account or None,
        review_due_on=ctx.today,
        confirmed_on=ctx.today,
        payment_due_on=ctx.today + timedelta(days=ctx.program.payment_after_adjustment_days),
    )
    service.transition(claim, ClaimAction.CONFIRM, ctx.actor, data=ctx.data)
    result.claim_id, result.outcome = claim.id, "added"
    _after_confirmation([claim.id])


def unit_district(employer: Employer) -> str:
    """The unit's district as a claim of it is written there, its row locked ``FOR SHARE`` until the commit.

    An import moving the unit locks it ``FOR UPDATE`` and refuses the move once the unit has claims in its district
    (:mod:`disburse.registry.imports.employers`); the district read unlocked (the unit loaded earlier in the
    request) let an import move the unit between the read and the claim's insert, which then waited for the import
    and wrote the claim to the district the unit had just left. Locked where it is read, an import waits for this
    claim (and then refuses the move), or this read waits for the import and gets the new district."""
    district = db.session.scalar(
        select(Employer.district_code).where(Employer.id == employer.id).with_for_update(read=True)
    )
    return str(district)


def _person(employee: Employee, employer: Employer) -> Person:
    return Person(
        ui_status=employee.ui_status,
        ui_stopped_on=employee.ui_stopped_on,
        unused_months=employee.unused_months,
        pension_decision=employee.pension_decision,
        employer_sector=employer.sector,
    )


#: What a unit does when a form cannot change a claim the office now holds (being paid, waiting for details, decided):
#: the claim is the district office's to handle, told by the unit.
_TELL_THE_OFFICE = (
    " Nếu cần thay đổi, hãy báo cơ quan BHXH quận/huyện của đơn vị để cán bộ xử lý hồ sơ này.",
    " If it must change, tell the unit's district social security office, whose caseworker handles this claim.",
)

#: A removal for someone not on the list: there is nothing to remove (adding them is not what the unit asked).
_NOTHING_TO_REMOVE = ("; không có gì để bỏ.", "; there is nothing to remove.")


def _sent_for_payment(claim_id: int) -> bool:
    """Whether the claim has ever been queued for payment (a payment row of any state): a removal is taken only until
    then (docs/rules.md), and an approved claim may have been (a failure on the bank's side sends it back to approved
    to be paid again)."""
    from disburse.payments.models import Payment

    return db.session.scalar(select(Payment.id).where(Payment.claim_id == claim_id).limit(1)) is not None


def _remove(ctx: _Adjusting, row: dict[str, Any], result: RowResult, listed: _Listed | None) -> None:
    if listed is None:
        _not_on_list(result, ctx.employer.unit_code, _NOTHING_TO_REMOVE)
        return
    result.claim_id = listed.claim_id
    state = ClaimState(listed.state)
    if state is ClaimState.REMOVED:
        result.outcome = "unchanged"
        return
    if (state, ClaimAction.REMOVE) not in TRANSITIONS:
        vi, en = _state_words(state)
        result.fail(
            "action",
            "cannot_remove",
            f"Không thể bỏ người này khỏi danh sách: hồ sơ đang ở trạng thái '{vi}'.{_TELL_THE_OFFICE[0]}",
            f"This person cannot be removed from the list: the claim's state is '{en}'.{_TELL_THE_OFFICE[1]}",
        )
        return
    if _sent_for_payment(listed.claim_id):  # approved again after a failure on the bank's side: paid once already
        result.fail(
            "action",
            "cannot_remove",
            f"Không thể bỏ người này khỏi danh sách: hồ sơ đã được chuyển chi trả.{_TELL_THE_OFFICE[0]}",
            f"This person cannot be removed from the list: the claim has been sent for payment.{_TELL_THE_OFFICE[1]}",
        )
        return
    reason = text_value(row, "reason") or claim_reasons.REMOVED_ON_FORM_03[0]
    service.transition(listed.claim_id, ClaimAction.REMOVE, ctx.actor, reason=reason, data=ctx.data)
    result.outcome = "removed"


#: After corrected bank details, a claim whose payment failed goes back to be paid again.
_PAY_AGAIN = {
    ClaimState.PAYMENT_FAILED: (ClaimAction.REQUEST_DETAILS, ClaimAction.DETAILS_RECEIVED),
    ClaimState.AWAITING_PAYMENT_DETAILS: (ClaimAction.DETAILS_RECEIVED,),
}
_CORRECTABLE = _CONFIRMABLE | {
    ClaimState.EMPLOYER_CONFIRMED,
    ClaimState.VERIFYING,
    ClaimState.NEEDS_REVIEW,
    ClaimState.APPROVED,
    *_PAY_AGAIN,
}


def _correct(ctx: _Adjusting, row: dict[str, Any], result: RowResult, listed: _Listed | None) -> None:
    if listed is None:
        _not_on_list(result, ctx.employer.unit_code, _ADD_HERE)
        return
    result.claim_id = listed.claim_id
    bank_code, bank_account = text_value(row, "bank_code").upper(), account_digits(text_value(row, "bank_account"))
    # The values' shape (something to correct, the bank details, the phone) was checked with the row's other values
    # (adjustment_errors).
    phone = phone_digits(text_value(row, "phone"))
    state = ClaimState(listed.state)
    if bank_code and _zeros_lost(result, listed.bank_account, bank_account):
        return
    if bank_code and state not in _CORRECTABLE:
        vi, en = _state_words(state)
        result.fail(
            "bank_account",
            "cannot_correct",
            f"Không thể đổi tài khoản: hồ sơ đang ở trạng thái '{vi}'.{_TELL_THE_OFFICE[0]}",
            f"The account cannot be changed: the claim's state is '{en}'.{_TELL_THE_OFFICE[1]}",
        )
    elif bank_code and state in _PAY_AGAIN:
        from disburse.payments.service import PaymentPeriodEnded, payable

        claim = db.session.get(Claim, listed.claim_id)
        assert claim is not None, "locked by the form"
        if not payable(ctx.program, ctx.today):  # a programme whose Form 03 outlasts its payments: nothing more paid
            ended = PaymentPeriodEnded(ctx.program)
            result.fail("bank_account", "payment_period_ended", ended.vi, ended.en)
        elif _corrected_to(claim, bank_code, bank_account):
            result.outcome = "unchanged"  # this correction, sent again: done already
            return
        elif (claim.bank_code, claim.bank_account, claim.payout) == (bank_code, bank_account, "bank"):
            # The details the payment failed with, or came back from: as the office's correction refuses them.
            result.fail(
                "bank_account",
                "same_details",
                "Đây là tài khoản đã chi trả không thành công; hãy ghi tài khoản mới.",
                "These are the details the payment failed with; give the new account.",
            )
        elif (earlier := _failed_before(claim, bank_code, bank_account)) is not None:
            result.fail("bank_account", "failed_before", *earlier)
    if result.errors:
        return
    changes = _apply_corrections(listed, bank_code, bank_account, phone)
    if not changes:
        result.outcome = "unchanged"
        return
    service.note(listed.claim_id, ClaimNote.CORRECT, ctx.actor, data={**ctx.data, "changes": changes})
    if "bank_account" in changes:
        for action in _PAY_AGAIN.get(state, ()):
            service.transition(listed.claim_id, action, ctx.actor, data=ctx.data)
    result.outcome = "corrected"


def _apply_corrections(listed: _Listed, bank_code: str, bank_account: str, phone: str) -> dict[str, Any]:
    """Write the corrected fields; return {field: [old, new]} for those that changed."""
    changes: dict[str, Any] = {}
    claim = db.session.get(Claim, listed.claim_id)
    assert claim is not None, "locked by the form"
    if bank_code and (claim.bank_code, claim.bank_account) != (bank_code, bank_account):
        changes["bank_code"] = [claim.bank_code, bank_code]
        changes["bank_account"] = [claim.bank_account, bank_account]
        if claim.payout != "bank":  # a person paid in cash given an account: paid by transfer from now on
            changes["payout"] = [claim.payout, "bank"]
        claim.bank_code, claim.bank_account, claim.payout = bank_code, bank_account, "bank"
        drop_bank_reasons(claim)
    if phone:
        employee = db.session.get(Employee, claim.employee_id)
        assert employee is not None
        if employee.phone != phone:
            changes["phone"] = [employee.phone, phone]
            employee.phone = phone
    db.session.flush()
    return changes


_ADJUSTMENTS = {"add": _add, "remove": _remove, "correct": _correct}


# ------------------------------------------------------------------------------------- a caseworker's correction

#: A caseworker corrects the bank details of a claim whose payment failed, the way Form 03 does, or of a claim in
#: review (whose approval refuses details that cannot be paid): it stays in review, the approval then finds them.
CORRECTABLE_STATES = frozenset({*_PAY_AGAIN, ClaimState.NEEDS_REVIEW})


#: After these, the bank details a correction gave are those a payment failed with, or came back from.
_DETAILS_FAILED = (ClaimAction.PAYMENT_FAILED.value, ClaimAction.PAYMENT_RETURNED.value)


def _changed_to(changes: dict[str, Any], name: str) -> Any:
    """What a ``correct`` note's ``changes`` ({field: [old, new]}) changed ``name`` to; None if not changed."""
    pair = changes.get(name)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def _corrected_to(claim: Claim, bank_code: str, bank_account: str) -> bool:
    """Whether the claim has exactly these bank details, put there by its latest correction of its details, and no
    payment has failed or come back since: the same correction asked again (a second click on "confirm")."""
    if (claim.bank_code, claim.bank_account, claim.payout) != (bank_code, bank_account, "bank"):
        return False
    events = db.session.execute(
        select(ClaimEvent.action, ClaimEvent.data)
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action.in_([ClaimNote.CORRECT.value, *_DETAILS_FAILED]))
        .order_by(ClaimEvent.id.desc())
    )
    for action, data in events:
        note: dict[str, Any] = data if isinstance(data, dict) else {}
        changes: dict[str, Any] = note["changes"] if isinstance(note.get("changes"), dict) else {}
        if action in _DETAILS_FAILED or note.get("field") == "payout":  # failed since, or cash offered since
            return False
        if "bank_account" in changes:
            gave = _changed_to(changes, "bank_code"), _changed_to(changes, "bank_account")
            return gave == (bank_code, bank_account)
        if "payout" in changes:  # the same account back, from cash to a transfer
            return _changed_to(changes, "payout") == "bank"
    return False  # a phone number's corrections only, or none


def _failed_before(claim: Claim, bank_code: str, bank_account: str) -> tuple[str, str] | None:
    """The refusal of new details an earlier payment of the claim already failed with for the account's sake (only
    the latest failed account was refused: one closed on attempt 1 was taken again after attempt 2 failed, and failed
    again), naming why (:func:`disburse.payments.service.failed_before`); None otherwise."""
    from disburse.payments.service import failed_before, failed_before_message

    earlier = failed_before(claim.id, bank_code, bank_account) if bank_code and bank_account else None
    return failed_before_message(earlier) if earlier is not None else None


def _period_ended(claim: Claim) -> tuple[str, str] | None:
    """Why new details can no longer send the claim back to be paid (:data:`_PAY_AGAIN`): its programme's last payable
    day has passed (:func:`disburse.payments.service.period_ended_refusal`); None while it may pay."""
    from disburse.payments.service import period_ended_refusal

    program = db.session.get(Program, claim.program_id)
    assert program is not None, "claims.program_id is a foreign key"
    return period_ended_refusal(program)


def correct_payment_details(
    claim_id: int, bank_code: str, bank_account: str, *, actor: Actor = None, data: dict[str, Any] | None = None
) -> RowResult:
    """The office's correction of a claim's bank details while it waits in ``payment_failed`` or
    ``awaiting_payment_details`` (a caseworker heard from the person or the unit): the same checks as Form 03's
    (:func:`~disburse.claims.outcomes.bank_errors`), the same ``correct`` note with the old and new values, and the
    same way back to ``approved`` (:data:`_PAY_AGAIN`), so that the next batch pays the new account. In
    ``needs_review`` (details missing or malformed, found by verification) the claim stays in review with the new
    details, for the caseworker to approve. After the programme's last payable day a claim whose payment failed is
    not sent back to be paid: refused (``payment_period_ended``, :func:`_period_ended`). Details equal to those it has
    are refused, unless the claim's latest
    correction gave them and no payment failed since (the same correction again, a second click): then nothing is
    written and the outcome is ``unchanged``, in whatever state the claim is now. The result carries every field's
    error; nothing is written when there is one. Flush, never commit."""
    claim = service.get_claim_for_update(claim_id)
    assert claim is not None, "the caller found the claim"
    bank_code, bank_account = bank_code.strip().upper(), account_digits(bank_account)
    result = RowResult(row=1, si_code="", claim_id=claim.id)
    if not bank_code and not bank_account:
        result.fail(
            "bank_code",
            "required",
            "Cần ghi ngân hàng và số tài khoản mới.",
            "Give the new bank and account number.",
        )
    else:
        bank_errors(result, bank_code, bank_account, known_banks())
    if not result.errors and _corrected_to(claim, bank_code, bank_account):
        result.outcome = "unchanged"  # done already, whatever the claim's state since
        return result
    state = ClaimState(claim.state)
    if state not in CORRECTABLE_STATES:
        vi, en = _state_words(state)
        result.fail(
            "bank_account",
            "cannot_correct",
            f"Không thể đổi tài khoản: hồ sơ đang ở trạng thái '{vi}'; chỉ sửa khi hồ sơ chờ xem xét hoặc chi trả "
            "không thành công.",
            f"The account cannot be changed: the claim's state is '{en}'; details are corrected while the claim is in "
            "review or after a failed payment.",
        )
    elif not result.errors and (claim.bank_code, claim.bank_account, claim.payout) == (bank_code, bank_account, "bank"):
        if state == ClaimState.NEEDS_REVIEW:
            vi, en = "Đây là tài khoản hồ sơ đang có", "These are the details the claim already has"
        else:
            vi, en = "Đây là tài khoản đã chi trả không thành công", "These are the details the payment failed with"
        result.fail("bank_account", "same_details", f"{vi}; hãy ghi tài khoản mới.", f"{en}; give the new account.")
    elif not result.errors and (earlier := _failed_before(claim, bank_code, bank_account)) is not None:
        result.fail("bank_account", "failed_before", *earlier)
    if not result.errors and state in _PAY_AGAIN:
        ended = _period_ended(claim)
        if ended is not None:
            result.fail("bank_account", "payment_period_ended", *ended)
    if result.errors:
        return result
    listed = _Listed(claim.id, claim.state, claim.bank_code, claim.bank_account, claim.payout)
    changes = _apply_corrections(listed, bank_code, bank_account, "")
    if not changes:  # the payout was cash: the same account back, now as a bank transfer
        changes = {"payout": [claim.payout, "bank"]}
        claim.payout = "bank"
        db.session.flush()
    service.note(claim.id, ClaimNote.CORRECT, actor, data={**(data or {}), "changes": changes})
    for action in _PAY_AGAIN.get(state, ()):
        service.transition(claim.id, action, actor, data=data)
    result.outcome = "corrected"
    return result


# ---------------------------------------------------------------------------------------- answers in words

#: The longest answer a unit writes to a request for information (what a caseworker's note may hold).
MAX_ANSWER = 1000


def answer_request(program: Program, employer: Employer, request_id: int, answer: str, *, actor: Actor) -> ClaimEvent:
    """The unit's answer in words to the office's request for information ``request_id`` (a ``request_info`` note
    addressed to the employer, on one of its claims in ``program`` not yet closed): an ``answer_info`` note on the
    claim with the request's id and the text, which the caseworker reads in the claim's history. The same answer
    sent again (a second click) is the answer already recorded; a request answered already is refused, as a request
    that is not the unit's (404, the same as an unknown one). Flush, never commit."""
    answer = answer.strip()
    if not answer:
        raise FormRefused("answer_required", "Hãy ghi nội dung trả lời.", "Write the answer.")
    if len(answer) > MAX_ANSWER:
        raise FormRefused(
            "answer_too_long",
            f"Nội dung trả lời dài quá {MAX_ANSWER} ký tự.",
            f"The answer is longer than {MAX_ANSWER} characters.",
        )
    request = db.session.get(ClaimEvent, request_id)
    claim = service.get_claim_for_update(request.claim_id) if request is not None else None
    if (
        request is None
        or claim is None
        or request.action != ClaimNote.REQUEST_INFO.value
        or (request.data or {}).get("addressee") != "employer"
        or claim.employer_id != employer.id
        or claim.program_id != program.id
    ):
        raise FormRefused("unknown_request", "Không có yêu cầu này.", "There is no such request.", status=404)
    if ClaimState(claim.state) in CLOSED_STATES:
        vi, en = _state_words(ClaimState(claim.state))
        raise FormRefused(
            "request_closed",
            f"Hồ sơ của người lao động này đã ở trạng thái '{vi}': không cần bổ sung thông tin nữa.",
            f"This person's claim is now '{en}': no information is needed any more.",
            status=409,
        )
    earlier = db.session.scalar(
        select(ClaimEvent).where(
            ClaimEvent.claim_id == claim.id,
            ClaimEvent.id > request.id,
            ClaimEvent.action == ClaimNote.ANSWER_INFO.value,
            ClaimEvent.data["request_id"].astext == str(request.id),
        )
    )
    if earlier is not None:
        if (earlier.data or {}).get("note") == answer:
            return earlier  # the same answer sent again
        raise FormRefused(
            "request_answered",
            "Đơn vị đã trả lời yêu cầu này; nếu cần bổ sung thêm, hãy liên hệ cơ quan BHXH quận, huyện.",
            "The unit has answered this request; to add more, contact the district social security office.",
            status=409,
        )
    return service.note(claim.id, ClaimNote.ANSWER_INFO, actor, data={"request_id": request.id, "note": answer})
