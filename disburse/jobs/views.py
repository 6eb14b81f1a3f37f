"""A background job's page (kind, state, who started it, times, a progress bar that moves, the error, the download),
its progress as JSON for the page's script, its file, and the admins' list of jobs with a retry for failed ones.

Who may see a job: admins, and the user who started it while what it is about (its params' ``scope``: a unit, a
district, a province, or the country) is within their scope as it is now (:func:`disburse.jobs.service.may_see`);
anyone else, and the starter once moved elsewhere, gets the same 404 as for a job that does not exist. The one result
shape for a file to download, every kind alike: ``{"file": <name inside DISBURSE_EXPORT_DIR>, "filename": <download
name>}`` (:func:`disburse.jobs.service.download_file` refuses any name that leaves the directory).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from disburse.auth.models import ROLES, User
from disburse.auth.permissions import roles_required
from disburse.auth.service import audit
from disburse.casework.views import pick
from disburse.claims import list_builds
from disburse.dashboard.exports import OVERDUE_UNITS_TABLE, RECOVERIES_TABLE
from disburse.extensions import db
from disburse.formatting import moment, number, percent
from disburse.forms import BaseForm
from disburse.jobs import service
from disburse.jobs.models import JOB_STATES, Job
from disburse.programs.service import ProgramNotFound, get_program
from disburse.spreadsheets import other_sheets_note

bp = Blueprint("jobs", __name__)

PAGE = 50
_CHOICE = _l("Hãy chọn một trong các lựa chọn có trên trang.")

#: Job kinds as people call them: (Vietnamese, English); the prefix decides when the kind is not listed.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "import.employers": ("Nhập danh sách đơn vị", "Import of employers"),
    "import.employees": ("Nhập danh sách người lao động", "Import of employees"),
    "import.salary_funds": ("Nhập quỹ tiền lương đóng BHTN", "Import of UI salary funds"),
    "form02.upload": ("Mẫu số 02 gửi bằng tệp", "Form 02 sent as a file"),
    "lists.build": ("Lập danh sách Mẫu số 01", "Form 01 lists build"),
    "notices.district_day": ("Thông báo từ chối trong ngày", "A day's refusal notices"),
    "export.dashboard": ("Tệp tải từ trang tiến độ chi trả", "File from the payment progress pages"),
    "export.": ("Xuất dữ liệu", "Export"),
}
#: A dashboard export (kind ``export.dashboard``) by the table its params name: what the file holds, and the words of
#: the way back to the page it was asked from. A table not listed (the progress table's "areas" and "units", or none
#: in a job of before tables were recorded) is the payment progress table's.
EXPORT_TABLES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    RECOVERIES_TABLE: (
        ("Tệp danh sách khoản thu hồi", "Recoveries file"),
        ("Về danh sách khoản thu hồi", "Back to the recoveries"),
    ),
    OVERDUE_UNITS_TABLE: (
        ("Tệp đơn vị quá hạn xác nhận danh sách", "Overdue units file"),
        ("Về trang tồn đọng", "Back to the backlog"),
    ),
}
PROGRESS_TABLE = (
    ("Tệp tiến độ chi trả", "Payment progress file"),
    ("Về trang tiến độ chi trả", "Back to payment progress"),
)
#: The figures of a job's result shown on its page, in this order (other keys are for programs, not people).
RESULT_LABELS: dict[str, tuple[str, str]] = {
    "total_rows": ("Số dòng", "Rows"),
    "inserted": ("Thêm mới", "Inserted"),
    "updated": ("Cập nhật", "Updated"),
    "unchanged": ("Không đổi", "Unchanged"),
    "rejected": ("Bị từ chối", "Rejected"),
    "possible_duplicates": ("Nghi trùng", "Possible duplicates"),
    "claims_created": ("Hồ sơ được tạo", "Claims created"),
    "employers_listed": ("Đơn vị có danh sách", "Employers listed"),
    "notices": ("Số thông báo", "Notices"),
    "rows": ("Số dòng", "Rows"),
    "confirmed": ("Xác nhận", "Confirmed"),
    "declined": ("Không nhận hỗ trợ", "Declined"),
    "error": ("Dòng bị từ chối", "Rows refused"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "queued": ("Đang chờ", "Queued"),
    "running": ("Đang chạy", "Running"),
    "succeeded": ("Đã xong", "Succeeded"),
    "failed": ("Bị lỗi", "Failed"),
}


def kind_label(kind: str) -> str:
    if kind in KIND_LABELS:
        return pick(KIND_LABELS[kind])
    for prefix, pair in KIND_LABELS.items():
        if prefix.endswith(".") and kind.startswith(prefix):
            return f"{pick(pair)} ({kind})"
    return kind


def job_label(job: Job) -> str:
    """What the job is, as its lists and its page name it: a dashboard export by the file it makes (recoveries,
    overdue units, payment progress), any other by its kind (:func:`kind_label`)."""
    if job.kind == "export.dashboard":
        return pick(EXPORT_TABLES.get(str((job.params or {}).get("table")), PROGRESS_TABLE)[0])
    return kind_label(job.kind)


def back_link(job: Job) -> tuple[str, str] | None:
    """(link, words) back to the page a dashboard export was asked from, with its area and what it showed (the
    recoveries' state, the progress table's table and order); None for other jobs."""
    if job.kind != "export.dashboard" or "dashboard.index" not in current_app.view_functions:
        return None
    params = job.params or {}
    district = params.get("district") or None
    area = {"province": None if district else params.get("province") or None, "district": district}
    table = str(params.get("table"))
    if table == RECOVERIES_TABLE:
        url = url_for("dashboard.recoveries", **area, state=params.get("state") or None)
    elif table == OVERDUE_UNITS_TABLE:
        url = url_for("dashboard.backlog", **area)
    else:
        # The table and its order as the page showed them; none when they are the page's own (as most open it).
        default = "units" if district else "areas"
        shown_table = table if table in ("areas", "units") else default
        sort, descending = params.get("sort") or "code", bool(params.get("descending"))
        shown: dict[str, Any] = {}
        if (shown_table, sort, descending) != (default, "code", False):
            shown = {"table": shown_table, "sort": sort, "order": "desc" if descending else "asc"}
        url = url_for("dashboard.index", **area, **shown)
    return url, pick(EXPORT_TABLES.get(table, PROGRESS_TABLE)[1])


def progress_text(job: Job) -> str:
    """ "12.345 / 80.000 dòng (15,4%)"; rows alone while the total is unknown; for a failed job, that nothing was
    saved (its work is rolled back: the rows it had read are not progress)."""
    if job.state == "failed":
        return _("Không dòng nào được nhập.") if job.kind.startswith("import.") else _("Không có gì được ghi.")
    if job.total is None:
        return _("%(done)s dòng", done=number(job.done))
    return _(
        "%(done)s / %(total)s dòng (%(percent)s)",
        done=number(job.done),
        total=number(job.total),
        percent=percent(job.percent if job.total else 100.0),
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "job_label": job_label,
        "job_state_label": lambda state: pick(STATE_LABELS.get(state, (state, state))),
        "job_moment": moment,
        "job_result_figures": lambda result: [
            (pick(label), result[key]) for key, label in RESULT_LABELS.items() if isinstance(result.get(key), int)
        ],
        "job_other_sheets_note": other_sheets_text,
    }


def other_sheets_text(result: dict[str, Any]) -> str:
    """An import's note that only the workbook's first sheet was read, naming its other sheets that hold data, in
    the page's language; "" when there are none."""
    names = result.get("other_sheets")
    if not isinstance(names, list) or not names:
        return ""
    return pick(other_sheets_note([str(name) for name in names]))


def _user() -> User:
    return cast(User, current_user._get_current_object())


def visible_job(job_id: int) -> Job:
    """The job if the caller may see it (:func:`disburse.jobs.service.may_see`: an admin, or its starter while its
    subject is within their current scope); the 404 page otherwise (unknown, someone else's and out of scope
    alike)."""
    job = db.session.get(Job, job_id)
    if job is None or not service.may_see(_user(), job):
        abort(404)
    return job


def _status(job: Job) -> dict[str, Any]:
    download = service.download_file(job) if job.state == "succeeded" or job.result else None
    return {
        "id": job.id,
        "state": job.state,
        "state_label": pick(STATE_LABELS.get(job.state, (job.state, job.state))),
        "done": job.done,
        "total": job.total,
        "percent": None if job.state == "failed" else job.percent,
        "text": progress_text(job),
        "finished": job.state in ("succeeded", "failed"),
        "error": pick(service.error_words(job, technical=_user().role == "admin")) or None,
        "download": url_for("jobs.download", job_id=job.id) if download else None,
    }


@bp.get("/jobs/<int:job_id>")
@roles_required(*ROLES)
def show(job_id: int) -> ResponseReturnValue:
    job = visible_job(job_id)
    starter = db.session.get(User, job.created_by) if job.created_by else None
    return render_template(
        "jobs/show.html",
        job=job,
        starter=starter,
        status=_status(job),
        back=back_link(job),
        download=service.download_file(job),
        file_deleted=service.file_deleted(job),
        retention_days=current_app.config["DISBURSE_FILE_RETENTION_DAYS"],
        can_retry=_user().role == "admin" and service.can_retry(job),
        fix_file=service.failed_on_its_file(job),
        upload_gone=job.state == "failed" and job.kind.startswith("import.") and service.upload_gone(job),
        new_people=_new_people(job),
        build_step=list_builds.BUILD_LISTS,
    )


def _new_people(job: Job) -> list_builds.NextStep | None:
    """For a finished import of employees that added people: what happens next for them (an import makes no claim).
    An import that only updated or left people as they were added nobody: nothing to say."""
    if job.kind != "import.employees" or job.state != "succeeded" or not (job.result or {}).get("inserted"):
        return None
    try:
        program = get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        return None
    return list_builds.next_step(program)


@bp.get("/jobs/<int:job_id>.json")
@roles_required(*ROLES)
def status(job_id: int) -> ResponseReturnValue:
    """The job's progress for the page's script (the page works without it: reload shows the same)."""
    return jsonify(_status(visible_job(job_id)))


@bp.get("/jobs/<int:job_id>/download")
@roles_required(*ROLES)
def download(job_id: int) -> ResponseReturnValue:
    found = service.download_file(visible_job(job_id))
    if found is None:
        abort(404)
    path, filename = found
    return send_file(path, as_attachment=True, download_name=filename, max_age=0)


class JobFilterForm(BaseForm):
    """The jobs list's filters, from the query string (nothing changes: no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(_l("Trạng thái"), default="", invalid_choice_message=_CHOICE)
    kind = SelectField(_l("Loại công việc"), default="", invalid_choice_message=_CHOICE)
    before = IntegerField(
        validators=[Optional(), NumberRange(min=1, max=2**63 - 1, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )


@bp.get("/jobs/mine")
@roles_required(*ROLES)
def mine() -> ResponseReturnValue:
    """The caller's own jobs, newest first, 50 (the files they asked for: a page left while one was made is found
    again here); each as its page shows it, so only those still within their scope (:func:`service.may_see`)."""
    user = _user()
    rows = [job for job in service.jobs_started_by(user.id, limit=PAGE) if service.may_see(user, job)]
    return render_template(
        "jobs/mine.html",
        rows=rows,
        downloads={job.id: service.download_file(job) for job in rows},
        retention_days=current_app.config["DISBURSE_FILE_RETENTION_DAYS"],
    )


@bp.get("/jobs/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    """Every background job, newest first, by state and kind, 50 a page (keyset on the id)."""
    form = JobFilterForm(request.args)
    form.state.choices = [("", _("Mọi trạng thái"))] + [(s, pick(STATE_LABELS[s])) for s in JOB_STATES]
    kinds = service.job_kinds()
    form.kind.choices = [("", _("Mọi loại"))] + [(k, kind_label(k)) for k in kinds]
    if not form.validate():
        return render_template("jobs/index.html", form=form, rows=None, next_before=None, args=_args), 400
    rows, next_before = service.list_jobs(
        state=form.state.data or None, kind=form.kind.data or None, before=form.before.data, limit=PAGE
    )
    starters = service.user_emails({job.created_by for job in rows if job.created_by})
    return render_template(
        "jobs/index.html", form=form, rows=rows, starters=starters, next_before=next_before, args=_args
    )


def _args(**changes: Any) -> dict[str, Any]:
    """The list's query string with ``changes`` (None removes a parameter)."""
    merged: dict[str, Any] = {key: value for key, value in request.args.items() if value}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class RetryForm(BaseForm):
    """A button (CSRF only)."""


@bp.post("/jobs/<int:job_id>/retry")
@roles_required("admin")
def retry(job_id: int) -> ResponseReturnValue:
    """Run a failed job again as a new job (same kind, params and task), then show the new job."""
    visible_job(job_id)
    if not RetryForm().validate_on_submit():
        abort(400)
    try:
        new = service.retry(job_id, actor_id=_user().id)
    except service.RetryRefused as exc:
        db.session.rollback()
        flash(pick((exc.message_vi, exc.message_en)), "error")
        return redirect(url_for("jobs.show", job_id=job_id))
    audit(_user(), "job.retry", "job", job_id, {"new_job": new.id, "kind": new.kind})
    db.session.commit()
    flash(_("Đã chạy lại: công việc mới số %(id)s.", id=new.id), "success")
    return redirect(url_for("jobs.show", job_id=new.id))
