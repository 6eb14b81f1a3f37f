"""The employer's pages: the unit's payout status, its Form 01 list as a spreadsheet, and its Form 02 returned as a
filled-in spreadsheet (per-row errors on the page and as a file).

Employers see their own unit; caseworkers, supervisors and admins see a unit in their scope, read-only (the forms
that change something are the employer's). A unit outside the user's scope is the same 404 as an unknown one. The
views parse, check the scope, call one service (:mod:`disburse.claims.unit`, :mod:`disburse.claims.employer_forms`)
and commit.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.claims import employer_forms, form_02_job, unit
from disburse.claims.employer_forms import (
    adjust,
    adjustment_action,
    adjustment_errors,
    confirm,
    written_bank,
)
from disburse.claims.models import Claim
from disburse.claims.outcomes import (
    FormRefused,
    FormResult,
    RowResult,
    account_digits,
    phone_digits,
    text_value,
)
from disburse.claims.states import STATE_LABELS, TERMINAL_STATES, ClaimState
from disburse.claims.web_forms import (
    CORRECT_LABEL,
    AnswerRequestForm,
    ErrorsFileForm,
    FindUnitForm,
    Form02RowsForm,
    Form02UploadForm,
    Form03Form,
    Form03RowsForm,
    Form03UploadForm,
    WorkforceSearchForm,
)
from disburse.extensions import db
from disburse.formatting import number, say
from disburse.payments.cash import mask_national_id
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.service import bank_choices, bank_names, known_banks
from disburse.registry.models import Employee, Employer
from disburse.reports.service import employer_progress
from disburse.spreadsheets import UncalculatedFormula, UnusableFile, download, other_sheets_note, table_bytes

bp = Blueprint("employers", __name__, url_prefix="/employers")

#: People per page of the status list.
PAGE_SIZE = 100
_ERRORS_SALT = "form-02-errors"


def current_program() -> Program:
    try:
        return get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        abort(404)


def unit_or_404(unit_code: str) -> Employer:
    employer = visible_unit(current_user, unit_code)
    if employer is None:
        abort(404)
    return employer


def unit_summary(program: Program, employer: Employer) -> dict[str, Any]:
    """What every page of the unit shows at the top: its completion, its deadlines, and the forms it may send."""
    today = programme_today()
    return {
        "program": program,
        "employer": employer,
        "progress": employer_progress(program.id, employer.id),
        "deadlines": unit.unit_deadlines(program, employer, today),
        "may_send_forms": current_user.role == "employer",
        "form_03_open": program.takes_adjustments(today),
    }


@bp.get("/")
@roles_required(*ROLES)
def find() -> ResponseReturnValue:
    """Go to a unit's pages by its code; a unit outside the user's scope is not found, as an unknown one."""
    form = FindUnitForm(formdata=request.args if "unit" in request.args else None)
    if "unit" in request.args and form.validate():
        employer = visible_unit(current_user, form.unit.data or "")
        if employer is not None:
            return redirect(url_for("employers.status", unit_code=employer.unit_code))
        form.unit.errors = [_("Không tìm thấy đơn vị mã “%(unit)s” trong phạm vi của bạn.", unit=form.unit.data)]
    page = render_template("claims/find_unit.html", form=form)
    return page, 400 if form.unit.errors else 200


def _workforce_search(counts: dict[str, int] | None = None) -> WorkforceSearchForm:
    """The status page's search and state filter, read from the query string; each state with its ``counts``."""
    form = WorkforceSearchForm(formdata=request.args)
    form.state.choices = [("", _("Mọi trạng thái"))] + [
        (
            state.value,
            say(*STATE_LABELS[state]) + (f" ({number(counts.get(state.value, 0))})" if counts is not None else ""),
        )
        for state in ClaimState
        if state in STATE_LABELS
    ]
    return form


@bp.get("/<unit_code>")
@roles_required(*ROLES)
def status(unit_code: str) -> ResponseReturnValue:
    program, employer = current_program(), unit_or_404(unit_code)
    summary = unit_summary(program, employer)
    # Each state with how many of the unit's people are in it (the rollups the page's figures read): a unit sees
    # where its people are before it filters, and which filters would show nobody.
    form = _workforce_search(summary["progress"]["by_state"])
    valid = form.validate()
    query = (form.q.data or "") if valid else ""
    state = (form.state.data or "") if valid else ""
    people, found, page = unit.workforce_page(
        program, employer, query, state=state, page=_page_number(), size=PAGE_SIZE
    )
    requests, requests_total = unit.information_requests(program, employer)
    return render_template(
        "claims/unit_status.html",
        form=form,
        requests=requests,
        requests_total=requests_total,
        today=programme_today(),
        query=query,
        state=state,
        people=people,
        found=found,
        page=page,
        pages=max(1, ceil(found / PAGE_SIZE)),
        nothing_due=TERMINAL_STATES,
        **summary,
    ), (200 if valid else 400)


@bp.get("/<unit_code>/status-file")
@roles_required(*ROLES)
def status_file(unit_code: str) -> ResponseReturnValue:
    """The status page's table as a spreadsheet (.xlsx; ``?format=csv`` for CSV): every person the page's search and
    state filter show, on one sheet, with the day each was paid."""
    program, employer = current_program(), unit_or_404(unit_code)
    form = _workforce_search()
    if not form.validate():
        abort(400)
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    rows = unit.status_table(program, employer, form.q.data or "", form.state.data or "", str(get_locale()))
    body = table_bytes(
        fmt, unit.STATUS_HEADER, rows, title=f"Trang thai {employer.unit_code}", formats=unit.STATUS_FORMATS
    )
    moment = datetime.now(VIETNAM_TZ)
    return download(body, f"trang-thai-{employer.unit_code}-{moment:%Y%m%d-%H%M}.{fmt}")


@bp.get("/<unit_code>/form-01")
@roles_required(*ROLES)
def form_01(unit_code: str) -> ResponseReturnValue:
    """The unit's Form 01 list as a spreadsheet (.xlsx; ``?format=csv`` for CSV), the Form 02 columns to fill in."""
    program, employer = current_program(), unit_or_404(unit_code)
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    header, rows = unit.form_01_table(program, employer)
    body = table_bytes(fmt, header, rows, title=f"Mẫu 01 {employer.unit_code}", formats=unit.FORM_01_FORMATS)
    return download(body, f"mau-01-{employer.unit_code}.{fmt}")


#: People per page of Form 02 in the browser.
ROWS_PAGE_SIZE = 25
#: Where the service's errors on a row are shown in the browser's form.
_ROW_FIELD = {"si_code": "choice", "decline": "choice", "bank_code": "bank_code", "bank_account": "bank_account"}


def _page_number() -> int:
    """The page asked for (``?page=``); past the last, the caller shows the last (a long number too: "9999999" showed
    the first page where "99999" showed the last); not a number, the first."""
    value = request.args.get("page", "")
    if not (value.isascii() and value.isdigit()):
        return 1
    return max(1, int(value) if len(value) <= 9 else 10**9)


def _rows_page(program: Program, employer: Employer) -> tuple[list[unit.WorkforceRow], int, int]:
    """One page of the people still waiting for Form 02: (rows, page, pages)."""
    waiting = unit.waiting_for_form_02(program, employer)
    pages = max(1, ceil(len(waiting) / ROWS_PAGE_SIZE))
    page = min(_page_number(), pages)
    return waiting[(page - 1) * ROWS_PAGE_SIZE : page * ROWS_PAGE_SIZE], page, pages


def _rows_form(people: list[unit.WorkforceRow], formdata: Any = None) -> Form02RowsForm:
    rows = [
        {"si_code": p.si_code, "choice": "", "bank_code": p.bank_code or "", "bank_account": p.bank_account or ""}
        for p in people
    ]
    form = Form02RowsForm(formdata=formdata, data={"rows": rows}) if formdata is None else Form02RowsForm()
    choices = bank_choices()
    for entry in form.rows:
        entry.form.bank_code.choices = choices
    return form


def _form_02_page(
    program: Program,
    employer: Employer,
    form: Form02UploadForm,
    rows_form: Form02RowsForm | None = None,
    **context: Any,
) -> str:
    people, page, pages = _rows_page(program, employer)
    names = None
    if rows_form is not None:  # the rows sent: their people, as they are now (not the unit's whole workforce)
        codes = [str(entry.form.si_code.data or "") for entry in rows_form.rows]
        names = {p.si_code: p for p in unit.workforce(program, employer, "", Employee.si_code.in_(codes))}
    return render_template(
        "claims/form_02.html",
        form=form,
        rows_form=rows_form or _rows_form(people),
        people={p.si_code: p for p in people} if names is None else names,
        page=page,
        pages=pages,
        form_02_jobs=form_02_job.recent(employer, current_user),
        **unit_summary(program, employer),
        **context,
    )


@bp.get("/<unit_code>/form-02")
@roles_required("employer")
def form_02(unit_code: str) -> ResponseReturnValue:
    program, employer = current_program(), unit_or_404(unit_code)
    return _form_02_page(program, employer, Form02UploadForm())


def _chosen_rows(form: Form02RowsForm) -> list[tuple[Any, dict[str, Any]]]:
    """(the row's subform, the service's row) for every person the unit said something about."""
    chosen = []
    for entry in form.rows:
        row = entry.form
        choice = row.choice.data or ""
        if not choice:
            continue
        bank = choice == "bank"
        chosen.append(
            (
                row,
                {
                    "si_code": (row.si_code.data or "").strip(),
                    "bank_code": (row.bank_code.data or "").strip() if bank else "",
                    "bank_account": (row.bank_account.data or "").strip() if bank else "",
                    "decline": choice == "decline",
                },
            )
        )
    return chosen


def _form_02_taken(summary: dict[str, int]) -> str:
    """What a Form 02 with no refused row did, counted as it happened: new confirmations and declines, and the people
    already recorded before (never counted as confirmed now)."""
    confirmed, declined, unchanged = (summary.get(k, 0) for k in ("confirmed", "declined", "unchanged"))
    if not confirmed and not declined:
        return _("Không có gì thay đổi: %(n)s người đã được ghi nhận từ trước.", n=unchanged)
    said = _(
        "Đã ghi nhận Mẫu số 02: xác nhận %(confirmed)s người, không nhận hỗ trợ %(declined)s người.",
        confirmed=confirmed,
        declined=declined,
    )
    if unchanged:
        said += " " + _("%(n)s người đã được ghi nhận từ trước, không thay đổi.", n=unchanged)
    return said


@bp.post("/<unit_code>/form-02/rows")
@roles_required("employer")
def form_02_rows(unit_code: str) -> ResponseReturnValue:
    """Form 02 in the browser: the people of one page the unit chose an answer for. Rows the service refuses come
    back with their errors (the others are taken), as for a spreadsheet."""
    program, employer = current_program(), unit_or_404(unit_code)
    form = _rows_form([], formdata=request.form)
    if not form.validate_on_submit():
        return _form_02_page(program, employer, Form02UploadForm(formdata=None), form), 400
    chosen = _chosen_rows(form)
    if not chosen:
        form.rows.errors.append(_("Hãy chọn câu trả lời cho ít nhất một người."))
        return _form_02_page(program, employer, Form02UploadForm(formdata=None), form), 400
    result = confirm(
        program,
        employer.unit_code,
        [data for _, data in chosen],
        actor=current_user,
        bank_chosen=[row.choice.data == "bank" for row, _ in chosen],
    )
    db.session.commit()
    refused = 0
    for (row, _data), outcome in zip(chosen, result.rows, strict=True):
        for error in outcome.errors:
            getattr(row, _ROW_FIELD.get(error.field, "choice")).errors.append(say(error.message_vi, error.message_en))
        refused += bool(outcome.errors)
    summary = result.as_dict()["summary"]
    if not refused:
        flash(_form_02_taken(summary), "success")
        return redirect(url_for("employers.form_02", unit_code=employer.unit_code, page=_page_number()))
    return _form_02_page(
        program, employer, Form02UploadForm(formdata=None), form, result=summary, refused=[], rows_result=True
    )


def _size(upload: FileStorage) -> int:
    stream = upload.stream
    here = stream.tell()
    size = stream.seek(0, 2)
    stream.seek(here)
    return size


@contextmanager
def _saved(upload: FileStorage) -> Iterator[Path]:
    """The uploaded file saved in a temporary folder, with its suffix (the readers tell CSV from XLSX by it), and
    removed when done."""
    with tempfile.TemporaryDirectory(prefix="disburse-upload-") as folder:
        path = Path(folder) / f"upload{Path(upload.filename or '').suffix.lower()}"
        upload.save(path)
        yield path


def _errors_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_ERRORS_SALT)  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float) else str(value)


def sign_errors(unit_code: str, lines: list[tuple[Any, ...]], form: str = "02") -> str:
    """The errors file's lines, signed, to be sent back by the results page for the file (nothing is kept)."""
    lines_sent = [[_plain(v) for v in line] for line in lines]
    return str(_errors_serializer().dumps({"unit": unit_code, "lines": lines_sent, "form": form}))


#: The refused rows an upload's results page lists; the errors file has them all.
REFUSED_SHOWN = 200
#: The rows a Form 03 file's check page reads back; the page counts the others, which the confirmation records too.
CHECKS_SHOWN = 200


def _refused_claims(
    program: Program, employer: Employer, rows: list[tuple[int, dict[str, Any]]], result: FormResult
) -> dict[int, tuple[int, str]]:
    """The claim each refused row is about and its person's SI code, by the row number the spreadsheet shows (the
    claims the API names per row, :func:`employer_forms.row_claims`): the page links it to the person on the unit's
    status page."""
    claims = employer_forms.row_claims(program, employer, result)
    return {
        rows[r.row - 1][0]: (claim_id, r.si_code)
        for r, claim_id in zip(result.rows, claims, strict=True)
        if r.outcome == "error" and claim_id is not None
    }


@bp.post("/<unit_code>/form-02/upload")
@roles_required("employer")
def form_02_upload(unit_code: str) -> ResponseReturnValue:
    program, employer = current_program(), unit_or_404(unit_code)
    form = Form02UploadForm()
    if not form.validate_on_submit():
        return _form_02_page(program, employer, form), 400
    if _size(form.file.data) > current_app.config["DISBURSE_FORM_02_INLINE_BYTES"]:
        # A unit of tens of thousands: read by a job, whose page shows its progress and then its outcome.
        job = form_02_job.start(program, employer, form.file.data, actor=current_user)
        db.session.commit()
        return redirect(url_for("jobs.show", job_id=job.id))
    try:
        with _saved(form.file.data) as path:
            rows, others = unit.read_returned_form(path, program, unit.listed_people(program, employer))
        result = confirm(
            program,
            employer.unit_code,
            [cells for _, cells in rows],
            actor=current_user,
            row_numbers=[n for n, _ in rows],
        )
    except (UnusableFile, FormRefused) as exc:
        db.session.rollback()
        form.file.errors = [say(exc.message_vi, exc.message_en)]
        return _form_02_page(program, employer, form), 400
    db.session.commit()
    lines = unit.refused_rows(rows, result)
    return _form_02_page(
        program,
        employer,
        Form02UploadForm(formdata=None),
        result=result.as_dict()["summary"],
        refused=lines[:REFUSED_SHOWN],
        refused_claims=_refused_claims(program, employer, rows, result),
        refused_more=max(len(lines) - REFUSED_SHOWN, 0),
        columns={name: f"{label} ({name})" for label, name in unit.FORM_01_COLUMNS},
        other_sheets=say(*other_sheets_note(others)) if others else None,
        errors_form=ErrorsFileForm(formdata=None, errors=sign_errors(employer.unit_code, lines)) if lines else None,
    )


def _request_page(
    program: Program, employer: Employer, request_id: int, form: AnswerRequestForm, status: int = 200
) -> ResponseReturnValue:
    found, _total = unit.information_requests(program, employer, request_id)
    if not found:
        abort(404)
    summary = unit_summary(program, employer)
    page = render_template("claims/answer_request.html", form=form, asked=found[0], today=programme_today(), **summary)
    return page, status


@bp.get("/<unit_code>/requests/<int:request_id>")
@roles_required(*ROLES)
def information_request(unit_code: str, request_id: int) -> ResponseReturnValue:
    """The office's request for information about one person, with the unit's answer once given (the office's staff
    see it too); for the unit's user, the form to answer it in words."""
    return _request_page(current_program(), unit_or_404(unit_code), request_id, AnswerRequestForm())


@bp.post("/<unit_code>/requests/<int:request_id>")
@roles_required("employer")
def answer_request(unit_code: str, request_id: int) -> ResponseReturnValue:
    """The unit's answer in words (:func:`~disburse.claims.employer_forms.answer_request`), then back to its page."""
    program, employer = current_program(), unit_or_404(unit_code)
    form = AnswerRequestForm()
    if not form.validate_on_submit():
        return _request_page(program, employer, request_id, form, 422)
    try:
        employer_forms.answer_request(program, employer, request_id, form.answer.data or "", actor=current_user)
    except FormRefused as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        if exc.code == "request_closed":  # the claim was decided while the page was open: the request is gone
            flash(say(exc.message_vi, exc.message_en), "error")
            return redirect(url_for("employers.status", unit_code=employer.unit_code))
        form.answer.errors = [say(exc.message_vi, exc.message_en)]
        return _request_page(program, employer, request_id, form, exc.status)
    db.session.commit()
    flash(_("Đã gửi câu trả lời cho cơ quan BHXH."), "success")
    return redirect(url_for("employers.status", unit_code=employer.unit_code))


@bp.post("/<unit_code>/form-02/errors")
@roles_required("employer")
def form_02_errors(unit_code: str) -> ResponseReturnValue:
    """The errors file of an upload: the lines the results page was given, signed, as a CSV."""
    employer = unit_or_404(unit_code)
    form = ErrorsFileForm()
    try:
        payload = _errors_serializer().loads(form.errors.data or "") if form.validate_on_submit() else None
    except BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("unit") != employer.unit_code:
        abort(400)
    form_number = "03" if payload.get("form") == "03" else "02"
    # A page shown before the errors file gained the row's person has lines of six: their SI code and name blank.
    lines = [[line[0], None, None, *line[1:]] if len(line) == 6 else line for line in payload["lines"]]
    body = table_bytes("csv", unit.ERRORS_HEADER, lines)
    return download(body, f"mau-{form_number}-{employer.unit_code}-loi.csv")


_ADJUSTED = {
    "added": lambda si: _("Đã bổ sung người có mã số BHXH %(si)s vào danh sách; hồ sơ được xác nhận ngay.", si=si),
    "removed": lambda si: _("Đã ghi nhận người có mã số BHXH %(si)s không có tại đơn vị.", si=si),
    "corrected": lambda si: _("Đã điều chỉnh thông tin của người có mã số BHXH %(si)s.", si=si),
    "unchanged": lambda si: _("Thông tin của người có mã số BHXH %(si)s đã như vậy; không có gì thay đổi.", si=si),
}


def _already_listed(si: str) -> str:
    """Form 03's answer to adding a person the unit's list already has (the service's ``unchanged``)."""
    return _(
        "Người có mã số BHXH %(si)s đã có trong danh sách của đơn vị; không cần bổ sung. Để đổi tài khoản hoặc số "
        "điện thoại của người này, chọn “%(correct)s”; tình trạng của người này ở trang Tình trạng chi trả.",
        si=si,
        correct=CORRECT_LABEL,
    )


def _adjustment_row(form: Form03Form) -> dict[str, Any]:
    row: dict[str, Any] = {"si_code": form.si_code.data or "", "action": form.action.data or ""}
    if form.action.data in ("add", "correct"):
        row.update(bank_code=form.bank_code.data or "", bank_account=form.bank_account.data or "")
    if form.action.data == "correct":
        row["phone"] = form.phone.data or ""
    if form.action.data == "remove":
        row["reason"] = form.reason.data or ""
    return row


def _shape_errors(form: Form03Form) -> bool:
    """Puts the errors of the typed values' shape (:func:`adjustment_errors`, the web form's words) on the fields
    the form's own checks left without one; True when there was one."""
    checked = RowResult(row=1, si_code=form.si_code.data or "")
    if not adjustment_errors(checked, _adjustment_row(form), known_banks(), typed=True):
        return False
    for error in checked.errors:
        field = form._fields.get(error.field) or form.action
        if not field.errors:
            field.errors = [say(error.message_vi, error.message_en)]
    return True


#: Said after a correction that left the person waiting for new bank details (the phone alone corrected).
_STILL_WAITING = _l(
    "Người này vẫn chờ thông tin tài khoản mới để được chi trả lại: hãy gửi ngân hàng và số tài khoản đúng "
    "(Mẫu số 03, điều chỉnh)."
)


@dataclass
class _Check:
    """What one Form 03 adjustment will record, read back before it is: whose, and what it was and will be (the old
    account masked but for its last digits, as a payment list shows an ID; the new one in full, to be read)."""

    action: str
    si_code: str
    full_name: str
    old_bank: str = ""
    old_account: str = ""
    new_bank: str = ""
    new_account: str = ""
    old_phone: str = ""
    new_phone: str = ""
    reason: str = ""
    #: What the check step was read from, as a digest: the confirmed post records only if it still holds.
    seen: str = ""


def _check(
    program: Program, employer: Employer, row: dict[str, Any], result: RowResult, banks: dict[str, str]
) -> _Check:
    """The check step's facts of one row (``banks``: :func:`bank_choices`), read after the tried adjustment was
    undone (the claim as it still is)."""
    claim = db.session.get(Claim, result.claim_id) if result.claim_id is not None else None
    if claim is not None and claim.program_id == program.id:
        person = db.session.get(Employee, claim.employee_id)
    else:
        claim = None
        person = db.session.scalar(
            select(Employee).where(Employee.employer_id == employer.id, Employee.si_code == result.si_code)
        )
    new_bank = str(row.get("bank_code") or "").strip().upper()
    check = _Check(
        action=adjustment_action(row),
        si_code=result.si_code,
        full_name=person.full_name if person is not None else "",
        new_bank=banks.get(new_bank, new_bank),
        # As they will be stored (a file's cells as typed: "0011-2233 4455", "0912.345.678"), as the form reads back.
        new_account=account_digits(text_value(row, "bank_account")),
        new_phone=phone_digits(text_value(row, "phone")),
        reason=str(row.get("reason") or ""),
    )
    if claim is not None and claim.bank_code:
        check.old_bank = banks.get(claim.bank_code, claim.bank_code)
        check.old_account = mask_national_id(claim.bank_account)
    if person is not None:
        check.old_phone = person.phone or ""
    claim_now = [claim.id, claim.state, claim.payout, claim.bank_code, claim.bank_account] if claim else None
    read = json.dumps([claim_now, asdict(check)], default=str)
    check.seen = hashlib.sha256(read.encode()).hexdigest()[:32]
    return check


@bp.route("/<unit_code>/form-03", methods=["GET", "POST"])
@roles_required("employer")
def form_03(unit_code: str) -> ResponseReturnValue:
    """Form 03, one adjustment at a time, in two steps (:class:`~disburse.casework.forms.ConfirmedForm`): the
    filled form is tried and undone, and the page reads back what will be recorded (the person, the old and the new
    details) with "Xác nhận" and "Sửa lại"; only the confirmed post records it. Refused, the form comes back with
    the service's words on its fields. Confirmed after the person's claim changed (``seen``), the page reads it
    back again. After the adjustment deadline the page says that it has closed and whom to contact, and shows no
    form."""
    program, employer = current_program(), unit_or_404(unit_code)
    if not program.takes_adjustments(programme_today()):
        page = render_template("claims/form_03.html", form=None, **unit_summary(program, employer))
        return page, 400 if request.method == "POST" else 200
    form = Form03Form()
    form.bank_code.choices = bank_choices()
    upload = Form03UploadForm(formdata=None)
    checking: _Check | None = None
    editing = "edit" in request.form
    # Every error of one submit at once: the values' shape (SI code, account, phone) is checked even when the
    # form's own checks failed, each error on its field (adjust checks them again, with the rules).
    valid = form.validate_on_submit()
    if form.is_submitted() and _shape_errors(form):
        valid = False
    if valid and editing:
        form.confirmed.data = form.seen.data = ""  # the form again, as typed: sent, it is read back again
        return render_template("claims/form_03.html", form=form, upload=upload, **unit_summary(program, employer))
    if valid:
        rows = [_adjustment_row(form)]
        savepoint = db.session.begin_nested()
        try:
            result = adjust(program, employer.unit_code, rows, actor=current_user, typed=True).rows[0]
            if form.action.data == "add" and result.outcome == "unchanged":
                # Nothing written; the form stays as typed, to be sent again as a correction without typing it again.
                savepoint.rollback()
                form.si_code.errors = [_already_listed(result.si_code)]
            elif not result.errors and result.outcome != "unchanged":
                # Tried and undone: what the service would refuse is said now, what it would record is read back;
                # recorded on "Xác nhận" only if what was read back still holds.
                savepoint.rollback()
                checking = _check(program, employer, rows[0], result, dict(bank_choices()))
                if form.confirmed.data == "1" and form.seen.data == checking.seen:
                    result = adjust(program, employer.unit_code, rows, actor=current_user, typed=True).rows[0]
                    checking = None
                elif form.confirmed.data == "1":  # the person's details changed between the two steps
                    flash(_("Thông tin của người này vừa thay đổi; hãy kiểm tra lại trước khi xác nhận."), "warning")
                form.seen.data = checking.seen if checking is not None else ""
        except FormRefused as exc:
            db.session.rollback()
            form.action.errors = [say(exc.message_vi, exc.message_en)]
        else:
            if checking is None and not result.errors and not form.si_code.errors:
                # Recorded, or nothing to record (the details already so: said, and nothing written).
                db.session.commit()
                flash(_ADJUSTED.get(result.outcome, _ADJUSTED["unchanged"])(result.si_code), "success")
                if (
                    form.action.data == "correct"
                    and result.claim_id is not None
                    and unit.still_waiting_for_details([result.claim_id])
                ):
                    flash(_STILL_WAITING, "warning")  # sent again unchanged too: still waiting
                return redirect(url_for("employers.form_03", unit_code=employer.unit_code))
            # Nothing to undo: the service left nothing behind for a refused row (a savepoint per row).
            for error in result.errors:
                field = form._fields.get(error.field) or form.action
                field.errors = [*field.errors, say(error.message_vi, error.message_en)]
    if checking is None:
        # The plain form, refused or new: it carries no confirmation. Sent again, it is read back again, not taken
        # for the confirmation of a read-back it no longer is (the next send said the person's details had changed).
        form.confirmed.data = form.seen.data = ""
    status = 200 if checking is not None or request.method == "GET" else 400
    page = render_template(
        "claims/form_03.html", form=form, upload=upload, checking=checking, **unit_summary(program, employer)
    )
    return page, status


@bp.get("/<unit_code>/form-03/waiting")
@roles_required("employer")
def form_03_waiting(unit_code: str) -> ResponseReturnValue:
    """The people waiting for new bank details as a Form 03 workbook to fill in and upload back."""
    program, employer = current_program(), unit_or_404(unit_code)
    header, rows = unit.form_03_waiting_table(program, employer, str(get_locale() or "vi"))
    body = table_bytes("xlsx", header, rows, title=f"Mẫu 03 {employer.unit_code}", formats=unit.FORM_03_FORMATS)
    return download(body, f"mau-03-{employer.unit_code}.xlsx")


#: The signature of a Form 03 file's rows between its check step and its confirmation, and how long it holds.
_ROWS_SALT, ROWS_HOLD_SECONDS = "form-03-rows", 3600


def _rows_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_ROWS_SALT)  # type: ignore[arg-type]


def _cells_sent(cells: dict[str, Any]) -> dict[str, Any]:
    """A row's cells as the check page signs them: text and numbers as read (a number cell stays one: an account
    typed as a number is refused on confirmation as on reading), a formula never calculated marked as one."""
    return {k: {"formula": v.formula} if isinstance(v, UncalculatedFormula) else _plain(v) for k, v in cells.items()}


def _cells_read(cells: dict[str, Any]) -> dict[str, Any]:
    return {k: UncalculatedFormula(v["formula"]) if isinstance(v, dict) else v for k, v in cells.items()}


def _file_seen(program: Program, rows: list[tuple[int, dict[str, Any]]]) -> list[list[Any]]:
    """The details a Form 03 file's rows would change, as they are now: each claim of the programme for the people
    the rows name (its state, payout, bank, account and the person's phone), in one read."""
    codes = sorted({str(cells.get("si_code") or "").strip() for _, cells in rows})
    found = db.session.execute(
        select(Claim.id, Claim.state, Claim.payout, Claim.bank_code, Claim.bank_account, Employee.phone)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == program.id, Employee.si_code.in_(codes))
        .order_by(Claim.id)
    )
    return [list(row) for row in found]


@bp.post("/<unit_code>/form-03/upload")
@roles_required("employer")
def form_03_upload(unit_code: str) -> ResponseReturnValue:
    """Many adjustments at once: a Form 03 spreadsheet, each row as the form in the browser takes one (the same
    service, a row refused changes nothing of it), in two steps as the form: the file is read and tried, undone, and
    the page says what would be recorded, row by row, and lists the refused rows, with "Xác nhận điều chỉnh" (the
    rows read, signed for this unit and user for :data:`ROWS_HOLD_SECONDS`: nothing is kept) and "Sửa lại"; the
    confirmed post records them and says what was done."""
    program, employer = current_program(), unit_or_404(unit_code)
    if not program.takes_adjustments(programme_today()):
        return render_template("claims/form_03.html", form=None, **unit_summary(program, employer)), 400
    shown_seen: str | None = None
    form = Form03Form(formdata=None)
    form.bank_code.choices = bank_choices()
    confirming = "rows" in request.form
    upload = Form03UploadForm(formdata=None) if confirming else Form03UploadForm()
    confirm_form = Form03RowsForm() if confirming else Form03RowsForm(formdata=None)

    def page(status: int = 200, **context: Any) -> ResponseReturnValue:
        html = render_template(
            "claims/form_03.html", form=form, upload=upload, **unit_summary(program, employer), **context
        )
        return html, status

    if confirming:
        try:
            payload = (
                _rows_serializer().loads(confirm_form.rows.data or "", max_age=ROWS_HOLD_SECONDS)
                if confirm_form.validate_on_submit()
                else None
            )
        except BadSignature:
            payload = None
        if not isinstance(payload, dict) or payload.get("unit") != employer.unit_code:
            upload.file.errors = [_("Trang kiểm tra đã hết hạn hoặc không hợp lệ; hãy gửi lại tệp.")]
            return page(400)
        if payload.get("user") != current_user.id:
            abort(400)
        rows = [(int(n), _cells_read(cells)) for n, cells in payload["rows"]]
        shown_seen = payload.get("seen")
        others, left_blank = list(payload["others"]), int(payload["left_blank"])
    elif not upload.validate_on_submit():
        return page(400)
    else:
        try:
            with _saved(upload.file.data) as path:
                rows, others, left_blank = unit.read_adjustments(path, unit.listed_people(program, employer))
        except UnusableFile as exc:
            upload.file.errors = [say(exc.message_vi, exc.message_en)]
            return page(400)
    before = _file_seen(program, rows)
    savepoint = db.session.begin_nested()
    try:
        result = adjust(
            program,
            employer.unit_code,
            [cells for _, cells in rows],
            actor=current_user,
            row_numbers=[n for n, _ in rows],
        )
    except FormRefused as exc:
        db.session.rollback()
        upload.file.errors = [say(exc.message_vi, exc.message_en)]
        return page(400)
    # What was read back: the people's details before, and what each row would do. A confirmation records only that:
    # not after a correction made meanwhile (it would be overwritten unseen), nor a row refused then and taken now,
    # nor the same confirmation sent again (the file's own changes are then what changed).
    seen = hashlib.sha256(json.dumps([before, [r.outcome for r in result.rows]]).encode()).hexdigest()[:32]
    if confirming and shown_seen != seen:
        confirming = False
        flash(
            _(
                "Thông tin của một số người trong tệp đã thay đổi từ khi kiểm tra (hoặc tệp đã được ghi nhận); hãy "
                "kiểm tra lại trước khi xác nhận."
            ),
            "warning",
        )
    checks: list[_Check] = []
    checks_more = 0
    token = None
    if confirming:
        savepoint.commit()
        db.session.commit()
    elif not any(r.outcome in ("added", "removed", "corrected") for r in result.rows):
        # Nothing the file would record (every row refused, or already so): its result at once, nothing to confirm.
        savepoint.rollback()
    else:
        # Tried and undone: the page says what the file would record, row by row, before anything is.
        savepoint.rollback()
        banks = dict(bank_choices())
        recorded = [
            (cells, r)
            for (_, cells), r in zip(rows, result.rows, strict=True)
            if r.outcome in ("added", "removed", "corrected")
        ]
        names = bank_names()  # a bank written by its name, read as the form reads it
        checks = [
            _check(program, employer, {**cells, "bank_code": written_bank(cells, names)}, r, banks)
            for cells, r in recorded[:CHECKS_SHOWN]
        ]
        checks_more = len(recorded) - len(checks)
        sent = {
            "unit": employer.unit_code,
            "user": current_user.id,
            "others": others,
            "left_blank": left_blank,
            "seen": seen,
        }
        token = _rows_serializer().dumps({**sent, "rows": [[n, _cells_sent(c)] for n, c in rows]})
    lines = unit.refused_rows(rows, result)
    # The corrections (or the same sent again) that left the person waiting for bank details: the phone alone.
    corrected = [
        r.claim_id
        for (_, cells), r in zip(rows, result.rows, strict=True)
        if r.outcome in ("corrected", "unchanged") and r.claim_id is not None and adjustment_action(cells) == "correct"
    ]
    return page(
        upload_result=result.as_dict()["summary"],
        upload_checks=checks,
        upload_checks_more=checks_more,
        rows_form=Form03RowsForm(formdata=None, rows=token) if token is not None else None,
        still_waiting=len(unit.still_waiting_for_details(corrected)) if token is None else 0,
        left_blank=left_blank,
        refused=lines[:REFUSED_SHOWN],
        refused_claims=_refused_claims(program, employer, rows, result),
        refused_more=max(len(lines) - REFUSED_SHOWN, 0),
        columns={name: f"{label} ({name})" for label, name in unit.FORM_03_COLUMNS},
        other_sheets=say(*other_sheets_note(others)) if others else None,
        errors_form=ErrorsFileForm(formdata=None, errors=sign_errors(employer.unit_code, lines, "03"))
        if lines
        else None,
    )
