"""Form 04: a person's own application (group B, and track A people still unpaid after the fallback date).

:func:`apply` checks every field (all errors at once, Vietnamese and English), then the registry and the program's
dates, and records the application as a claim in ``applied``; the verification workers decide it after the
commit. Rules decided here (the texts are silent):

- The registry is the reference: the SI code must be on file and the national ID must match it. What the person
  declares (status, unit, months) is kept on the claim as received; the amount comes from the registry's months,
  and a difference is for verification to see.
- A person whom the rules would refuse still gets a claim (and so a written notice with the reason), unless the
  application is late: after ``application_deadline`` nothing is recorded and the answer names the date.
- One claim per person per program: a second application is refused naming the existing claim, except that a
  track A person not yet paid may apply once ``track_a_fallback_after`` has passed, which turns their listed claim
  into the application (the same claim, never a second one). Two applications of one person at the same moment
  get the same answers as one after the other: the existing claim is locked while it is looked at, and a claim
  the other made meanwhile (the unique key refuses the second insert) is named in the same refusal.
- The payment SLA: ``application_payment_wd`` working days after receipt, and never after ``payment_deadline``.
- The claim's unit (``employer_id``) is the unit named on the form ("contract ended at unit …" or "still
  participating at unit …") when the registry has that unit; a code it does not have (a unit never registered, or
  mistyped) is kept as received in ``application`` and the claim takes the person's registry unit, if any, instead:
  the rollups count per registered unit (``claim_counters.employer_id``), so an unregistered code can have no row of
  its own. A track A person's claim that becomes the application keeps the unit whose list carries it.
- The claim's district: the person's own (where Form 04 is taken and worked), else its unit's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from disburse.claims import service
from disburse.claims.models import Claim
from disburse.claims.outcomes import (
    NATIONAL_ID,
    FieldError,
    FormRefused,
    RowResult,
    account_digits,
    bank_errors,
    dmy,
    number_cell,
    phone_digits,
    phone_error,
    si_code_error,
    text_value,
)
from disburse.claims.states import STATE_LABELS, TRANSITIONS, ClaimAction, ClaimState
from disburse.extensions import db
from disburse.formatting import BadDay, parse_day
from disburse.programs.calendar import add_working_days, programme_today
from disburse.programs.models import Program
from disburse.programs.rules import GROUP_A, GROUP_B, UI_PARTICIPATING, UI_STOPPED, Person, ProgramRules, assess
from disburse.reference.service import known_banks
from disburse.registry.codes import UNIT_CODE_WORDS, is_unit_code
from disburse.registry.models import Employee, Employer, unit_by_code
from disburse.verification.service import request_verification

FIELDS = (
    "si_code",
    "national_id",
    "full_name",
    "date_of_birth",
    "phone",
    "address",
    "status",
    "unit_code",
    "unused_months",
    "payout",
    "bank_code",
    "bank_account",
)


class ApplicationInvalid(Exception):
    """Some fields are not valid: every field's error, nothing recorded."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class ApplicationConflict(Exception):
    """The person already has a claim in this program (named), or may not apply yet."""

    def __init__(self, claim: Claim | None, code: str, vi: str, en: str) -> None:
        super().__init__(en)
        self.claim, self.code, self.message_vi, self.message_en = claim, code, vi, en


@dataclass(frozen=True)
class Application:
    si_code: str
    national_id: str
    full_name: str
    date_of_birth: date
    phone: str
    address: str
    status: str
    unit_code: str
    unused_months: int
    payout: str
    bank_code: str | None
    bank_account: str | None

    def declared(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "phone": self.phone,
            "address": self.address,
            "status": self.status,
            "unit_code": self.unit_code,
            "unused_months": self.unused_months,
            "payout": self.payout,
        }


def _required(errors: list[FieldError], name: str, value: str, vi_label: str, en_label: str) -> None:
    if not value:
        errors.append(FieldError(name, "required", f"Cần ghi {vi_label}.", f"{en_label} is required."))


def _parse_date(errors: list[FieldError], value: str, today: date) -> date | None:
    """The date of birth, dd/mm/yyyy as people write it (the web form) or YYYY-MM-DD (the API), not after today."""
    try:
        day = parse_day(value)
    except BadDay as bad:
        errors.append(FieldError("date_of_birth", "date_format", f"Ngày sinh: {bad.vi}", f"Date of birth: {bad.en}"))
        return None
    if day > today:
        errors.append(
            FieldError(
                "date_of_birth",
                "date_format",
                f"Ngày sinh {dmy(day)} nằm trong tương lai (hôm nay là {dmy(today)}).",
                f"The date of birth {dmy(day)} is in the future (today is {dmy(today)}).",
            )
        )
        return None
    return day


def _parse_months(errors: list[FieldError], raw: Any) -> int | None:
    value = text_value({"v": raw}, "v")
    if not (value.isascii() and value.isdigit()) or len(value) > 3 or int(value) > 600:
        errors.append(
            FieldError(
                "unused_months",
                "months_format",
                "Số tháng đóng BHTN chưa hưởng là số nguyên từ 0 đến 600.",
                "Unused UI contribution months is a whole number from 0 to 600.",
            )
        )
        return None
    return int(value)


def _check_shapes(body: dict[str, Any], errors: list[FieldError]) -> dict[str, str]:
    values = {name: text_value(body, name) for name in FIELDS if name not in ("unused_months",)}
    values["bank_account"] = account_digits(values["bank_account"])
    values["bank_code"] = values["bank_code"].upper()
    if not values["si_code"]:
        errors.append(FieldError("si_code", "required", "Hãy ghi mã số BHXH.", "Give the SI code."))
    else:  # typed at the desk or sent by the API, never read from a spreadsheet: the typed form's words
        checked = RowResult(row=1, si_code=values["si_code"])
        si_code_error(checked, values["si_code"], typed=True)
        errors.extend(checked.errors)
    if not NATIONAL_ID.fullmatch(values["national_id"]):
        errors.append(
            FieldError(
                "national_id",
                "national_id_format",
                "Số CMND/CCCD gồm 9 hoặc 12 chữ số.",
                "The national ID number has 9 or 12 digits.",
            )
        )
    _required(errors, "full_name", values["full_name"], "họ và tên", "Full name")
    for field_name, most in (("full_name", 200), ("address", 500)):
        if len(values[field_name]) > most:
            errors.append(FieldError(field_name, "too_long", f"Tối đa {most} ký tự.", f"At most {most} characters."))
    _required(errors, "address", values["address"], "địa chỉ liên hệ", "Contact address")
    _required(errors, "unit_code", values["unit_code"], "mã đơn vị", "Unit code")
    if values["unit_code"] and not is_unit_code(values["unit_code"]):
        errors.append(FieldError("unit_code", "unit_code_format", *UNIT_CODE_WORDS))
    # Required: left blank, it says so (not that its format is wrong); given, the one phone rule (phone_error).
    _required(errors, "phone", values["phone"], "số điện thoại", "Phone")
    if values["phone"] and (wrong := phone_error(values["phone"])):
        errors.append(FieldError("phone", "phone_format", *wrong))
    values["phone"] = phone_digits(values["phone"])
    # Left blank (the page's choice not made): say what to choose; another value (an API client's): the values.
    if not values["status"]:
        errors.append(
            FieldError(
                "status",
                "required",
                "Hãy chọn tình trạng tham gia bảo hiểm thất nghiệp.",
                "Choose the unemployment-insurance status.",
            )
        )
    elif values["status"] not in (UI_STOPPED, UI_PARTICIPATING):
        errors.append(
            FieldError(
                "status",
                "status_unknown",
                "Tình trạng ghi 'stopped' (đã chấm dứt hợp đồng) hoặc 'participating' (đang tham gia).",
                "Status is 'stopped' (contract ended) or 'participating' (still participating).",
            )
        )
    if not values["payout"]:
        errors.append(
            FieldError("payout", "required", "Hãy chọn hình thức nhận tiền.", "Choose how the money is received.")
        )
    elif values["payout"] not in ("cash", "bank"):
        errors.append(
            FieldError(
                "payout",
                "payout_unknown",
                "Hình thức nhận: 'cash' (tiền mặt tại cơ quan BHXH) hoặc 'bank' (chuyển khoản).",
                "Payout is 'cash' (at the office) or 'bank' (transfer to a personal account).",
            )
        )
    return values


def validate(body: dict[str, Any], today: date) -> Application:
    """The application from a JSON body; :class:`ApplicationInvalid` with every field's error."""
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        raise ApplicationInvalid(
            [FieldError("", "body", "Nội dung phải là một đối tượng JSON.", "Send a JSON object.")]
        )
    values = _check_shapes(body, errors)
    born = _parse_date(errors, values["date_of_birth"], today)
    months = _parse_months(errors, body.get("unused_months"))
    if values["payout"] == "bank" or values["bank_code"] or values["bank_account"]:
        banks = known_banks()
        probe = RowResult(row=1, si_code=values["si_code"])
        bank_errors(
            probe,
            values["bank_code"],
            values["bank_account"],
            banks,
            account_is_number=number_cell(body, "bank_account"),
        )
        if values["payout"] == "bank" and not values["bank_code"] and not values["bank_account"]:
            probe.fail(
                "bank_account",
                "required",
                "Chọn chuyển khoản thì cần ghi ngân hàng và số tài khoản.",
                "A bank transfer needs the bank and the account number.",
            )
        errors += probe.errors
    if errors and not {error.field for error in errors} & {"si_code", "national_id"}:
        # Refused anyway: what the registry says of the SI code and national ID is said now too, not after a resend.
        errors += _registry_errors(values["si_code"], values["national_id"])[1]
    if errors or born is None or months is None:
        raise ApplicationInvalid(errors)
    bank = values["payout"] == "bank"
    return Application(
        si_code=values["si_code"],
        national_id=values["national_id"],
        full_name=values["full_name"],
        date_of_birth=born,
        phone=values["phone"],
        address=values["address"],
        status=values["status"],
        unit_code=values["unit_code"],
        unused_months=months,
        payout=values["payout"],
        bank_code=values["bank_code"] if bank else None,
        bank_account=values["bank_account"] if bank else None,
    )


def _check_dates(program: Program, today: date) -> None:
    if today > program.application_deadline:
        deadline = dmy(program.application_deadline)
        raise FormRefused(
            "deadline_passed",
            f"Đã hết hạn nhận đề nghị hỗ trợ (Mẫu số 04) ngày {deadline}.",
            f"Applications (Form 04) closed on {deadline}.",
        )


def _registry_errors(si_code: str, national_id: str) -> tuple[Employee | None, list[FieldError]]:
    """The person the SI code names in the registry, and what is wrong: no such code, or another national ID."""
    employee = db.session.scalar(select(Employee).where(Employee.si_code == si_code))
    if employee is None:
        return None, [
            FieldError(
                "si_code",
                "not_in_registry",
                "Không tìm thấy mã số BHXH này trong dữ liệu của cơ quan BHXH; hãy kiểm tra lại sổ BHXH.",
                "This SI code is not in the social security records; check the social insurance book.",
            )
        ]
    if employee.national_id != national_id:
        return employee, [
            FieldError(
                "national_id",
                "does_not_match",
                "Số CMND/CCCD không khớp với dữ liệu của cơ quan BHXH cho mã số BHXH này.",
                "The national ID number does not match the social security records for this SI code.",
            )
        ]
    return employee, []


def _registry_record(application: Application) -> tuple[Employee, Employer | None]:
    employee, wrong = _registry_errors(application.si_code, application.national_id)
    if wrong or employee is None:
        raise ApplicationInvalid(wrong)
    employer = db.session.get(Employer, employee.employer_id) if employee.employer_id else None
    return employee, employer


def _named_unit(application: Application, employer: Employer | None) -> Employer | None:
    """The unit the claim is counted under: the one named on the form if the registry has it, else the person's
    registry unit (the current or last one), else none."""
    named = unit_by_code(application.unit_code) if application.unit_code else None
    return named if named is not None else employer


def _district(employee: Employee, unit: Employer | None) -> str | None:
    """A new Form 04 claim's district: the person's own (where Form 04 is taken and worked), else its unit's."""
    return employee.district_code or (unit.district_code if unit else None)


def in_registry(si_code: str) -> bool:
    """Whether the registry has a person with ``si_code`` (a Form 04 for any other code is refused)."""
    return db.session.scalar(select(Employee.id).where(Employee.si_code == si_code)) is not None


def refused_before_the_form(program: Program, si_code: str, today: date) -> tuple[str, str] | None:
    """What Form 04 would answer, whatever the form says, for the person with ``si_code`` (Vietnamese, English): the
    deadline passed, or the person's claim that refuses a second one (:func:`_existing`). None when the form decides.
    For the desk's look-up of a person it may not show, so that it promises nothing the form then refuses."""
    try:
        _check_dates(program, today)
    except FormRefused as exc:
        return exc.message_vi, exc.message_en
    employee = db.session.scalar(select(Employee).where(Employee.si_code == si_code))
    if employee is None:
        return None
    claim = service.claim_for_person(program.id, employee.id)
    if claim is None:
        return None
    try:
        _existing(program, employee, today, lock=False)
    except ApplicationConflict as exc:
        # Said without the claim's number nor its state: the caller may not see the person's claim, and an SI code
        # alone must not tell who was paid or refused elsewhere (the form itself says more only once the national ID
        # matches).
        if exc.code == "listed_by_employer":
            after = dmy(program.track_a_fallback_after)
            return (
                f"Mẫu số 04 sẽ không được nhận: người này có trong danh sách của đơn vị; nếu sau ngày {after} vẫn chưa "
                "được chi trả thì có thể nộp Mẫu số 04.",
                f"Form 04 would be refused: this person is on their employer's list; if still unpaid after {after} "
                "they may apply on Form 04.",
            )
        return (
            "Mẫu số 04 sẽ không được nhận: người này đã có hồ sơ hỗ trợ; mỗi người chỉ được hỗ trợ một lần.",
            "Form 04 would be refused: this person already has a support claim; each person is supported once.",
        )
    return None


def expected_district(program: Program, si_code: str, unit_code: str = "") -> str | None:
    """The district that would work and pay a Form 04 of the person with ``si_code`` naming ``unit_code``, as
    :func:`apply` decides it: their claim's, if they have one; else their own district, else the unit's. None for a
    code the registry does not have."""
    employee = db.session.scalar(select(Employee).where(Employee.si_code == si_code))
    if employee is None:
        return None
    claim = service.claim_for_person(program.id, employee.id)
    if claim is not None:
        return claim.district_code
    if employee.district_code:
        return employee.district_code
    employer = db.session.get(Employer, employee.employer_id) if employee.employer_id else None
    named = unit_by_code(unit_code) if unit_code and is_unit_code(unit_code) else None
    return _district(employee, named if named is not None else employer)


def _lock_units(application: Application) -> None:
    """Lock ``FOR SHARE``, until the caller's transaction ends, the units the application may take its claim's
    district from (the unit the form names, by its code in any case, as :func:`unit_by_code` finds it, and the
    person's registry unit), and read them afresh into the session.

    Why: the district is read (:func:`district_before_saving` at the desk, then :func:`apply`, from the desk or the
    API) before the claim is written. An employers import moving the unit in between would leave a claim made in the
    old district under a unit moved away from it, the split the import refuses for units with claims
    (``disburse/registry/imports/employers.py``, ``_STORED_RULES``): its ``FOR UPDATE`` now waits for this
    transaction, and then sees the claim. Shared, not exclusive: two offices may take Form 04s of one unit at once.
    In id order, as the import locks them. Taken here, by both, so that no caller can forget it."""
    person_unit = select(Employee.employer_id).where(Employee.si_code == application.si_code)
    db.session.execute(
        select(Employer)
        .where(or_(Employer.id.in_(person_unit), func.upper(Employer.unit_code) == application.unit_code.upper()))
        .order_by(Employer.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).all()


def district_before_saving(program: Program, body: dict[str, Any], *, today: date | None = None) -> str:
    """The district whose office would work and pay the claim :func:`apply` makes of ``body``, told without saving
    anything (no claim number is used up): raises what :func:`apply` would (:class:`ApplicationInvalid`,
    :class:`ApplicationConflict`, :class:`~disburse.claims.outcomes.FormRefused`), in the same order, so that an
    application asked about is one that :func:`apply` then takes (a claim made meanwhile aside)."""
    today = today or programme_today()
    application = validate(body, today)
    _check_dates(program, today)
    _lock_units(application)  # held until the claim is written (or the caller's savepoint rolled back)
    employee, _employer = _registry_record(application)
    _existing(program, employee, today, lock=False)
    district = expected_district(program, application.si_code, application.unit_code)
    if district is None:
        raise ApplicationInvalid(
            [FieldError("address", "district_unknown", "Không xác định được quận/huyện.", "No district known.")]
        )
    return district


#: The one claim per person per program (claims' unique key).
ONE_CLAIM_PER_PERSON = "uq_claims_program_id_employee_id"


def _existing(program: Program, employee: Employee, today: date, *, lock: bool = True) -> Claim | None:
    """The person's claim that the application turns into, or None for a new claim; raises when neither."""
    claim = service.claim_for_person(program.id, employee.id, lock=lock)
    if claim is None:
        return None
    state = ClaimState(claim.state)
    vi, en = STATE_LABELS[state]
    if claim.track == "A" and (state, ClaimAction.APPLY) in TRANSITIONS:
        if today > program.track_a_fallback_after:
            return claim
        raise ApplicationConflict(
            claim,
            "listed_by_employer",
            f"Người này có trong danh sách của đơn vị (hồ sơ số {claim.id}, '{vi}'); nếu sau ngày "
            f"{dmy(program.track_a_fallback_after)} vẫn chưa được chi trả thì có thể nộp Mẫu số 04.",
            f"This person is on their employer's list (claim {claim.id}, {en.lower()}); if still unpaid after "
            f"{dmy(program.track_a_fallback_after)} they may apply on Form 04.",
        )
    raise ApplicationConflict(
        claim,
        "already_claimed",
        f"Người này đã có hồ sơ hỗ trợ số {claim.id} ('{vi}'); mỗi người chỉ được hỗ trợ một lần.",
        f"This person already has support claim {claim.id} ({en.lower()}); each person is supported once.",
    )


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def apply(program: Program, body: dict[str, Any], *, actor: service.Actor = None, today: date | None = None) -> Claim:
    """Record a Form 04 application; flush, never commit. Raises :class:`ApplicationInvalid` (422),
    :class:`ApplicationConflict` (409) or :class:`~disburse.claims.outcomes.FormRefused` (after the deadline)."""
    today = today or programme_today()
    application = validate(body, today)
    _check_dates(program, today)
    _lock_units(application)  # the district read below stays true until the claim is written
    employee, employer = _registry_record(application)
    existing = _existing(program, employee, today)
    assessment = assess(
        ProgramRules.from_program(program),
        Person(
            ui_status=employee.ui_status,
            ui_stopped_on=employee.ui_stopped_on,
            unused_months=employee.unused_months,
            pension_decision=employee.pension_decision,
            employer_sector=employer.sector if employer else None,
        ),
    )
    rules = ProgramRules.from_program(program)
    group = assessment.support_group or (GROUP_A if employee.ui_status == UI_PARTICIPATING else GROUP_B)
    amount = assessment.amount_vnd or rules.tiers[0][1]
    due = min(add_working_days(today, program.application_payment_wd), program.payment_deadline)
    data = {"form": "04", "received_on": today.isoformat()}
    details: dict[str, Any] = {
        "track": "B",
        "payout": application.payout,
        "bank_code": application.bank_code,
        "bank_account": application.bank_account,
        "applied_on": today,
        "application": application.declared(),
        "payment_due_on": due,
    }
    if existing is None:
        unit = _named_unit(application, employer)
        district = _district(employee, unit)
        if district is None:
            raise ApplicationInvalid(
                [FieldError("address", "district_unknown", "Không xác định được quận/huyện.", "No district known.")]
            )
        try:
            with db.session.begin_nested():  # a claim made meanwhile leaves the caller's transaction usable
                claim = service.create(
                    actor,
                    data,
                    program_id=program.id,
                    employee_id=employee.id,
                    employer_id=unit.id if unit else None,
                    district_code=district,
                    support_group=group,
                    unused_months=employee.unused_months,
                    amount_vnd=amount,
                    reasons=list(assessment.reasons),
                    **details,
                )
        except IntegrityError as exc:
            if _constraint(exc) != ONE_CLAIM_PER_PERSON:
                raise
            # Another application (or a Form 03) of the same person committed a claim after we looked: the answer
            # is the one that claim gives, as if it had been there (it is committed: a new statement sees it).
            existing = _existing(program, employee, today)
            if existing is None:  # a claim is never deleted: only a bug gets here
                raise
    if existing is not None:
        # The listed claim takes the application's payout and account: the timeline says what they replaced.
        changes = {
            name: [getattr(existing, name), details[name]]
            for name in ("payout", "bank_code", "bank_account")
            if getattr(existing, name) != details[name]
        }
        for name, value in details.items():
            setattr(existing, name, value)
        db.session.flush()
        service.transition(existing, ClaimAction.APPLY, actor, data={**data, "changes": changes} if changes else data)
        claim = existing
    db.session.refresh(claim)
    request_verification([claim.id])  # after the commit; the sweeper would find it too, later
    return claim
