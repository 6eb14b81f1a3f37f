"""The supervisors' dashboard (server-rendered, Vietnamese first): completion of the country, a province or a
district, its child areas or its units in a sortable table, a bar chart of the children's completion, and every
table as CSV or XLSX.

Who sees what: admins and national supervisors the whole country; a province's supervisor that province; a
caseworker their district. An area outside the caller's scope is the same 404 as an unknown one (the scope rule of
:func:`disburse.reports.service.visible_area`, which the progress API uses too). Everything is read from the rollups.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defer
from wtforms import SelectChoice

from disburse.api.errors import error_page
from disburse.auth.models import User
from disburse.auth.permissions import PERMISSION_ATTR, roles_required
from disburse.auth.service import audit
from disburse.background import BEAT_SCHEDULE
from disburse.casework.views import pick
from disburse.dashboard import exports
from disburse.dashboard.cache import shared_fragment
from disburse.dashboard.charts import Labels, bar_chart, line_chart
from disburse.dashboard.forms import (
    AreaQuery,
    ExportQuery,
    MonthQuery,
    RecoveryExportQuery,
    RecoveryMoveForm,
    RecoveryQuery,
    TargetForm,
)
from disburse.dashboard.queries import (
    TableQuery,
    child_level,
    month_sources,
    monthly_report,
    monthly_totals,
    row_count,
    table_rows,
    unpaid_parts_unknown,
)
from disburse.extensions import db
from disburse.formatting import dmy, moment, number, percent
from disburse.jobs.service import submit
from disburse.payments import reasons as payment_reasons
from disburse.payments import recoveries as recovery_service
from disburse.payments.models import PROVIDER_LABELS, Reconciliation
from disburse.payments.reconcile import DIFFERENCE_LABELS, FETCHABLE, Difference
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.models import District, Province
from disburse.replica import reading_replica, reads_replica
from disburse.reports.dashboard import (
    ageing,
    completion_over_time,
    failures_by_reason,
    figures,
    last_count_before,
    overdue_units,
    run_differences,
    set_target,
    since_last_day,
    target_history,
    target_in_force,
    targets_in_force,
    throughput,
)
from disburse.reports.dashboard import backlog as backlog_of
from disburse.reports.service import Area, area_reduction, visible_area
from disburse.spreadsheets import MEDIA_TYPES, download
from disburse.verification import reasons as review_reasons

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

#: Who may open the dashboard: every office, within its scope; employers have their unit's pages.
VIEWERS = ("caseworker", "supervisor", "admin")
#: The table's element: sorting it or paging it comes back to it.
TABLE_ID = "dashboard-table"
#: A table of units is cut here on the page unless a limit is asked for (the export has them all).
UNITS_ON_PAGE = 100
#: The export job's task (workers/exports.py).
EXPORT_TASK = "exports.dashboard"
#: The export job's ``table`` for the backlog's overdue units (the others are a :class:`TableQuery`'s tables).
OVERDUE_UNITS_TABLE = exports.OVERDUE_UNITS_TABLE


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _program() -> Program:
    try:
        return get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        abort(404)


def _invalid(form: AreaQuery) -> Response:
    """A query string that can never be right: a 400 page naming each field and its problem; nothing runs."""
    # A field's first problem only: a value that is not a number also fails the range check after it.
    problems = "; ".join(f"{form[name].label.text}: {errors[0]}" for name, errors in form.errors.items() if errors)
    return error_page(400, _("Địa chỉ trang có tham số không hợp lệ: %(problems)s", problems=problems))


def _area(form: AreaQuery) -> Area:
    """The area asked for (or the caller's own) if the caller may see it; the 404 page otherwise."""
    area = visible_area(_user(), form.province.data or None, form.district.data or None)
    if area is None:
        abort(404)
    return area


@bp.before_request
def _area_in_scope() -> None:
    """The one scope check of every dashboard page: an area named in the query string (``province``, ``district``)
    that the caller may not see is the same 404 as an unknown one, whatever the page (each then reads that area, or
    its own records' places, within the same rule: :func:`disburse.reports.service.visible_area`). Left to the page:
    a caller signed out or of a role the page refuses (the sign-in page, 403), and a value that can never be right
    (its 400 names the field)."""
    if not (request.args.get("province") or request.args.get("district")) or not current_user.is_authenticated:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    permission = str(getattr(view, PERMISSION_ATTR, ""))
    if _user().role not in permission.removeprefix("roles:").split(","):
        return
    form = AreaQuery(request.args)
    form.validate()
    if "province" in form.errors or "district" in form.errors:
        return
    # As the form reads them ("17" is 017: the page shows that district, so the scope is checked for it).
    if visible_area(_user(), form.province.data or None, form.district.data or None) is None:
        abort(404)


@bp.before_request
def _program_shown() -> ResponseReturnValue | None:
    """The dashboard shows the configured programme (``DISBURSE_PROGRAM``) alone: a ``program`` in the query string
    that names another, or none there is, is a 404 page saying which programme the pages show and where the others'
    figures are (the API's /api/v1/progress?program=), on every dashboard page; the programme's own code (in any
    case) is that programme. Every page showed the configured programme whatever was asked, as if it were the one
    asked for. Left to the page as :func:`_area_in_scope` leaves them: a caller signed out or of a role it refuses."""
    asked = request.args.get("program", "").strip()
    if not asked or not current_user.is_authenticated:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    permission = str(getattr(view, PERMISSION_ATTR, ""))
    if _user().role not in permission.removeprefix("roles:").split(","):
        return None
    try:
        program = get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        return None  # the page's own 404
    if asked.casefold() == program.code.casefold():
        return None
    return error_page(
        404,
        _(
            "Các trang tiến độ chỉ cho xem chương trình %(code)s (%(name)s), không phải “%(asked)s”. Số liệu của "
            "chương trình khác có ở API: /api/v1/progress?program=<mã chương trình>.",
            code=program.code,
            name=pick((program.name_vi, program.name_en)),
            asked=asked[:40],
        ),
    )


def _area_args(area: Area) -> dict[str, Any]:
    """The query string's arguments naming ``area`` (a district alone: its province follows from it)."""
    return {"province": area.province_code if not area.district_code else None, "district": area.district_code}


def _table_query(form: AreaQuery, area: Area) -> TableQuery:
    table = form.table.data or ("units" if area.level == "district" else "areas")
    if area.level == "district":
        table = "units"
    limit = form.limit.data or (UNITS_ON_PAGE if table == "units" else None)
    offset = (form.page.data - 1) * limit if form.page.data and limit else 0
    return TableQuery(area, table, form.sort.data or "code", form.order.data == "desc", limit, offset)


def _may_see_area(user: User, area: Area) -> bool:
    if user.role == "caseworker":
        return area.level == "district" and area.district_code == user.district_code
    if user.role == "supervisor" and user.province_code is not None:
        return area.level != "country" and area.province_code == user.province_code
    return True


def _breadcrumbs(user: User, area: Area) -> list[tuple[str, str | None]]:
    """(name, link or None) from the country down to the area; a level the user may not open has no link, the area
    itself none either (it is this page)."""
    crumbs: list[tuple[Area, str]] = [(Area(), _("Toàn quốc"))]
    if area.province_code:
        province = db.session.get(Province, area.province_code)
        crumbs.append((Area(area.province_code), province.name if province else area.province_code))
    if area.district_code:
        district = db.session.get(District, area.district_code)
        crumbs.append((area, district.name if district else area.district_code))
    return [
        (name, None if level == area or not _may_see_area(user, level) else _area_url(level)) for level, name in crumbs
    ]


def _area_url(area: Area, endpoint: str = "dashboard.index", **args: Any) -> str:
    """A dashboard page (the area's figures unless ``endpoint`` says another) of ``area``."""
    return url_for(endpoint, **_area_args(area), **args)


def _area_name(area: Area) -> str:
    if area.district_code:
        district = db.session.get(District, area.district_code)
        return district.name if district else area.district_code
    if area.province_code:
        province = db.session.get(Province, area.province_code)
        return province.name if province else area.province_code
    return _("Toàn quốc")


def percent_bp(bp: int | None) -> str:
    """Basis points as a percentage, as people write targets: 8000 → "80%", 7430 → "74,3%"."""
    if bp is None:
        return "—"
    return number(bp / 100, 0 if bp % 100 == 0 else (1 if bp % 10 == 0 else 2)) + "%"


def against_target(percent_paid: float | None, target_bp: int | None) -> str:
    """Completion against a target: "74,3% / 80%"."""
    return f"{percent(percent_paid)} / {percent_bp(target_bp)}"


def behind_by(target_bp: int, percent_paid_bp: int | None) -> str:
    """How far a district that missed its target is behind it, from the completion shown (rounded down to a tenth,
    :func:`disburse.formatting.percent`): "79,9% / 80%" is behind by "0,1%" (79,96 % paid), never by "0,0%"; the
    two figures shown add up to the target."""
    shown_bp = (percent_paid_bp or 0) // 10 * 10
    return percent_bp(target_bp - shown_bp)


def target_against(target: dict[str, Any]) -> str:
    """A judged target (:func:`disburse.reports.dashboard.target_in_force`) as "74,3% / 80%": today's completion
    while its date is ahead, the completion on its date once it has passed ("— / 80%" without a snapshot)."""
    completion = target["snapshot_bp"] if target["passed"] else target["percent_paid_bp"]
    return against_target(completion / 100 if completion is not None else None, target["target_bp"])


def target_verdict(target: dict[str, Any]) -> str:
    """Whether a judged target is met: "đã đạt" or "còn thiếu 5,7%" while its date is ahead; once it has passed,
    met or missed on its date (by the snapshot of that day, or the last before it, named when it is earlier), or that
    nothing tells, with today's completion beside it."""
    if not target["passed"]:
        if target.get("nobody_eligible"):  # no completion to fall short of
            return _("chưa có ai đủ điều kiện hưởng")
        if target["gap_bp"] > 0:
            return _("còn thiếu %(gap)s", gap=behind_by(target["target_bp"], target["percent_paid_bp"]))
        return _("đã đạt")
    day = dmy(target["target_date"])
    if target.get("nobody_eligible"):
        verdict = _("không đánh giá được: ngày %(day)s chưa có ai đủ điều kiện hưởng", day=day)
    elif target["met"] is None:
        verdict = _("không đánh giá được: không có số liệu ngày %(day)s hay trước đó", day=day)
    elif target["met"]:
        verdict = _("đã đạt vào ngày %(day)s", day=day)
    else:
        verdict = _(
            "không đạt vào ngày %(day)s, thiếu %(gap)s",
            day=day,
            gap=behind_by(target["target_bp"], target["snapshot_bp"]),
        )
    if target["snapshot_day"] is not None and target["snapshot_day"] != target["target_date"]:
        verdict += " " + _("(theo số liệu ngày %(day)s)", day=dmy(target["snapshot_day"]))
    today = target["percent_paid_bp"]
    return verdict + "; " + _("hôm nay %(percent)s", percent=percent(today / 100 if today is not None else None))


def dashboard_helpers() -> dict[str, Any]:
    return {
        "percent_bp": percent_bp,
        "against_target": against_target,
        "behind_by": behind_by,
        "target_against": target_against,
        "target_verdict": target_verdict,
    }


def _completion_chart(level: str, rows: list[dict[str, Any]]) -> Markup | None:
    """The child areas' completion as bars (not for units: a district can have thousands)."""
    if level == "unit":
        return None
    title = _("Tỷ lệ đã chi trả theo tỉnh") if level == "province" else _("Tỷ lệ đã chi trả theo quận/huyện")
    return bar_chart(
        "completion-by-area",
        Labels(
            title=title,
            description=_("Mỗi thanh là tỷ lệ người đủ điều kiện đã được chi trả, từ 0% đến 100%."),
            table_summary=_("Số liệu của biểu đồ"),
            category=_("Địa bàn"),
            value=_("Tỷ lệ đã chi trả"),
        ),
        [(row["name"], row["percent_paid"]) for row in rows],
        fmt=percent,
        maximum=100,
        empty=_("Chưa có số liệu."),
    )


@bp.get("/")
@roles_required(*VIEWERS)
@reads_replica
def index() -> ResponseReturnValue:
    user = _user()
    form = AreaQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    query = _table_query(form, area)
    area_name = _area_name(area)
    render = functools.partial(_figures_html, program, area, area_name, form, query)
    if any(request.args.get(name) for name in ("table", "sort", "order", "limit", "page")):
        figures_html = Markup(render())  # noqa: S704 - our own template's output, escaped by Jinja
    else:
        # An area's page as most open it is kept for everyone (disburse/dashboard/cache.py; other orders and limits
        # are read each time: kept, they could fill Redis). The key names everything the HTML depends on.
        key = (program.id, area.province_code, area.district_code, query, get_locale(), programme_today())
        figures_html = shared_fragment(":".join(map(str, key)), render)
    return render_template(
        "dashboard/index.html",
        program=program,
        area=area,
        area_name=area_name,
        page_url=lambda endpoint: _area_url(area, endpoint),
        breadcrumbs=_breadcrumbs(user, area),
        figures_html=figures_html,
    )


def _figures_html(program: Program, area: Area, area_name: str, form: AreaQuery, query: TableQuery) -> str:
    """The area's summary, chart and table, read from the rollups: the same HTML for everyone who may see the area
    (:func:`disburse.dashboard.cache.shared_fragment`)."""
    level = child_level(area, query.table)
    rows, total_rows = table_rows(program.id, query)
    if not rows and query.offset and query.limit:  # past the last page (a link kept while units left): the last one
        query = dataclasses.replace(query, offset=max(0, (total_rows - 1) // query.limit) * query.limit)
        rows, total_rows = table_rows(program.id, query)

    def page_url(page: int) -> str:
        order = "desc" if query.descending else "asc"
        return _area_url(
            area, table=query.table, sort=query.sort, order=order, limit=form.limit.data, page=page, _anchor=TABLE_ID
        )

    page = query.offset // query.limit + 1 if query.limit else 1
    now = figures(program.id, area)
    since = since_last_day(program.id, area, now)
    return render_template(
        "dashboard/_figures.html",
        read_at=moment(datetime.now(VIETNAM_TZ)),
        area_name=area_name,
        figures={**now, "reduction": area_reduction(program.id, area)},
        # The programme's day of the count compared with, and the time it was taken (the clock's, in Vietnam).
        since=since and {**since, "time": since["taken_at"].astimezone(VIETNAM_TZ).strftime("%H:%M")},
        # The table's column of those paid since that day's count: provinces and districts, as in the files.
        since_day=last_count_before(program.id, level, programme_today()) if level != "unit" else None,
        target=target_in_force(program.id, area.district_code) if area.district_code else None,
        h=dashboard_helpers(),
        query=query,
        level=level,
        rows=rows,
        total_rows=total_rows,
        chart=_completion_chart(level, rows),
        figure_keys=exports.FIGURE_KEYS,  # the files' order of the figures
        sort_url=lambda column: _area_url(
            area,
            table=query.table,
            sort=column,
            order="desc" if query.sort == column and not query.descending else "asc",
            limit=form.limit.data,
            _anchor=TABLE_ID,  # the sorted table in view, and the keyboard's next stop in it, not the page's top
        ),
        child_url=lambda row: (
            None
            if row["code"] is None
            else _area_url(Area(row["code"]) if level == "province" else Area(area.province_code, row["code"]))
        ),
        export_url=lambda fmt: _area_url(
            area,
            "dashboard.export",
            table=query.table,
            sort=query.sort,
            order="desc" if query.descending else "asc",
            format=fmt,  # every row, whatever the page shows: as the page says
        ),
        units_url=_area_url(area, table="units", sort="percent_paid", order="asc", limit=20)
        if area.level != "district" and query.table != "units"
        else None,
        # From a province's (or the country's) units, back to its districts (provinces).
        areas_url=_area_url(area) if area.level != "district" and query.table == "units" else None,
        page=page,
        pages=-(-total_rows // query.limit) if query.limit else 1,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if query.limit and query.offset + len(rows) < total_rows else None,
    )


def _export_name(kind: str, area: Area, fmt: str, state: str | None = None) -> str:
    """A dashboard file's name: what it holds, the area (and the state asked for, if any) and when its figures were
    read (the programme's day, Vietnam's hour and minute): two downloads of one day no longer share a name, one
    overwriting or renaming the other."""
    where = area.district_code or area.province_code or "toan-quoc"
    name = f"{kind}-{where}{f'-{state}' if state else ''}-{programme_today():%Y%m%d}-{datetime.now(VIETNAM_TZ):%H%M}"
    return f"{name.replace('_', '-')}.{fmt}"


def _export_later(
    program_id: int,
    area: Area,
    fmt: str,
    name: str,
    rows: int,
    job_args: dict[str, Any],
    back: str,
    heading: str | None = None,
    back_label: str | None = None,
) -> ResponseReturnValue:
    """A dashboard file too large to send at once (more than ``DISBURSE_EXPORT_DIRECT_ROWS`` rows): GET shows the
    page whose button starts the ``exports.dashboard`` job; its POST (carrying the page's CSRF token, checked for
    every form by CSRFProtect) submits the job (``job_args``: the table and what it needs besides the programme, the
    area, the format and the name) and goes to the job's page with its progress (``back`` with a note where the jobs'
    pages are not installed). The page's link back says where it leads (``back_label``; the dashboard's table)."""
    if request.method == "GET":
        return render_template(
            "dashboard/export.html",
            heading=heading,
            area_name=_area_name(area),
            rows=rows,
            fmt=fmt,
            back=back,
            back_label=back_label or _("Quay lại bảng"),
        )
    job = submit(
        "export.dashboard",
        {
            "program_id": program_id,
            "province": area.province_code,
            "district": area.district_code,
            **job_args,
            "format": fmt,
            "filename": name,
        },
        EXPORT_TASK,
        created_by=_user().id,
    )
    db.session.commit()
    if "jobs.show" in current_app.view_functions:
        return redirect(url_for("jobs.show", job_id=job.id))
    flash(_("Đang chuẩn bị tệp (công việc số %(id)d).", id=job.id), "info")
    return redirect(back)


@bp.route("/export", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def export() -> ResponseReturnValue:
    """A table as CSV or XLSX: a small one at once; a large one (more rows than ``DISBURSE_EXPORT_DIRECT_ROWS``) by
    a background job, started by the button on the page that GET shows, then the job's page with its progress."""
    form = ExportQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    query = _table_query(form, area)
    if not form.limit.data:
        query = TableQuery(query.area, query.table, query.sort, query.descending, None)
    fmt = form.format.data or "xlsx"
    name = _export_name(f"tien-do-{query.table}", area, fmt)
    rows = query.limit or row_count(program.id, query)
    if rows <= current_app.config["DISBURSE_EXPORT_DIRECT_ROWS"]:
        return download(exports.table_file(program.id, query, fmt), name)
    job_args = {"table": query.table, "sort": query.sort, "descending": query.descending}
    return _export_later(program.id, area, fmt, name, rows, job_args, back=_area_url(area))


# ------------------------------------------------------------------------------------------------------ targets

#: Who sets targets: supervisors (their province's districts, or any when national) and admins.
TARGET_SETTERS = ("supervisor", "admin")
#: The targets page lists the latest targets set, at most these (every district's target in force is above them).
TARGET_HISTORY_SHOWN = 100


def _district_choices(area: Area) -> list[SelectChoice]:
    """The area's districts (a district: itself), by province."""
    query = select(District, Province).join(Province, Province.code == District.province_code)
    if area.district_code:
        query = query.where(District.code == area.district_code)
    elif area.province_code:
        query = query.where(District.province_code == area.province_code)
    rows = db.session.execute(query.order_by(District.province_code, District.code)).all()
    return [SelectChoice("", _("Chọn quận/huyện"))] + [
        SelectChoice(district.code, f"{district.name} ({district.code})", optgroup=province.name)
        for district, province in rows
    ]


def _within_programme(form: TargetForm, program: Program) -> bool:
    """A target is for a day to come on which the programme still pays: from tomorrow by the programme clock to its
    last payable day (else the field says so; a day already past cannot be aimed at, and once the last payable day
    is today or past no day is left)."""
    first, last = programme_today() + timedelta(days=1), program.last_payable_day
    if form.target_date.data is not None and first <= form.target_date.data <= last:
        return True
    if first > last:
        message = _("Không thể đặt mục tiêu mới: ngày chi trả cuối cùng của chương trình là %(last)s.", last=dmy(last))
    else:
        message = _(
            "Ngày mục tiêu phải là một ngày sắp tới trong thời gian chương trình chi trả, từ ngày mai %(first)s "
            "đến ngày chi trả cuối cùng %(last)s.",
            first=dmy(first),
            last=dmy(last),
        )
    form.target_date.errors = [message]
    return False


@bp.route("/targets", methods=["GET", "POST"])
@roles_required(*TARGET_SETTERS)
def targets() -> ResponseReturnValue:
    """The completion targets of the area's districts (``?province=``, ``?district=``; the user's own scope without
    them), and the form to set one for one of them (the same district and date again replaces it). Invalid input
    comes back on the form, each message beside its field; nothing is saved."""
    user = _user()
    query = AreaQuery(request.args)
    if not query.validate():
        return _invalid(query)
    area = _area(query)
    # This page again, as it was asked for (the caller's own scope without an area).
    here = url_for("dashboard.targets", province=query.province.data or None, district=query.district.data or None)
    program = _program()
    form = TargetForm()
    form.district.choices = _district_choices(area)
    if request.method == "GET" and area.district_code:
        form.district.data = area.district_code  # the one district there is to choose
    status = 200
    if request.method == "POST":
        valid = form.validate()
        # Every error at once: a date outside the programme is said even when another field is wrong too.
        within = form.target_date.data is None or _within_programme(form, program)
        if valid and within:
            assert form.district.data and form.target_date.data and form.percent.data is not None
            set_target(program.id, form.district.data, form.target_date.data, form.percent.data, user_id=user.id)
            audit(
                user,
                "target.set",
                "district",
                form.district.data,
                {"date": form.target_date.data.isoformat(), "percent_bp": form.percent.data},
            )
            db.session.commit()
            flash(
                _(
                    "Đã đặt mục tiêu %(percent)s cho %(district)s đến ngày %(day)s.",
                    percent=percent_bp(form.percent.data),
                    district=_area_name(Area(None, form.district.data)),
                    day=dmy(form.target_date.data),
                ),
                "success",
            )
            return redirect(here)
        status = 400
    # Each district's target in force with its completion (a few statements, however many districts: a national
    # supervisor's some 700), and the latest targets set, not all of them.
    history, history_total = target_history(program.id, area, TARGET_HISTORY_SHOWN)
    return (
        render_template(
            "dashboard/targets.html",
            form=form,
            in_force=targets_in_force(program.id, area),
            history=history,
            history_total=history_total,
            h=dashboard_helpers(),
            area_name=_area_name(area),
            back=_area_url(area),
            action=here,
            # The hint's example is a day the form takes: the last payable day, while there is a day to come.
            example_day=program.last_payable_day if programme_today() < program.last_payable_day else None,
        ),
        status,
    )


# ------------------------------------------------------------------------------------------------- charts

#: Days of completion (the daily snapshots) and of caseworker throughput the charts show.
CHART_DAYS = 30
THROUGHPUT_DAYS = 14


def _being_computed() -> str:
    """What the backlog figures' place says before the program's first backlog sweep."""
    return _("Số liệu đang được tính lần đầu; vui lòng xem lại sau vài phút.")


def _counted_at(counted: datetime | None) -> str | None:
    """The line "Số liệu lúc 03/12/2026 16:40:05": when the backlog sweep counted the figures shown (Vietnam's
    time); None before the first sweep."""
    if counted is None:
        return None
    return _("Số liệu lúc %(moment)s", moment=moment(counted))


def _labels(title: str, description: str, category: str, value: str) -> Labels:
    return Labels(title, description, _("Số liệu của biểu đồ"), category, value)


def _charts(program_id: int, area: Area) -> list[Markup]:
    """The area's charts: completion over time, by child area, the open cases' ageing, payment failures by reason,
    caseworker decisions per day."""
    empty = _("Chưa có số liệu.")
    today = programme_today()
    over_time = completion_over_time(program_id, area, CHART_DAYS, today)
    snapshots = {
        row["day"]: row["percent_paid_bp"] / 100 if row["percent_paid_bp"] is not None else None for row in over_time
    }
    # Every day of the range has its place on the axis; a day without a snapshot is a gap in the line (and no row
    # of the data table, which lists the snapshots).
    days = [today - timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    charts = [
        line_chart(
            "completion-over-time",
            _labels(
                _("Tỷ lệ đã chi trả theo ngày"),
                _(
                    "Tỷ lệ người đủ điều kiện đã được chi trả vào cuối mỗi ngày, %(days)d ngày gần nhất.",
                    days=CHART_DAYS,
                ),
                _("Ngày"),
                _("Tỷ lệ đã chi trả"),
            ),
            [(dmy(day), snapshots.get(day)) for day in days],
            fmt=percent,
            maximum=100,
            empty=empty,
            table=[(dmy(row["day"]), snapshots[row["day"]]) for row in over_time],
        )
    ]
    if area.level != "district":
        rows, _total = table_rows(program_id, TableQuery(area, "areas"))
        chart = _completion_chart(child_level(area, "areas"), rows)
        if chart is not None:
            charts.append(chart)
    ages = ageing(program_id, area)
    charts.append(
        bar_chart(
            "ageing",
            _labels(
                _("Hồ sơ đang mở theo số ngày làm việc"),
                _(
                    "Hồ sơ cần xác minh, chi trả không thành công hoặc chờ thông tin tài khoản, "
                    "theo số ngày làm việc từ khi nhận."
                ),
                _("Số ngày làm việc"),
                _("Số lượng hồ sơ"),
            ),
            [(_("%(label)s ngày", label=bucket["label"]), bucket["claims"]) for bucket in ages["buckets"]]
            if ages["computed_at"]
            else [],
            fmt=number,
            empty=_being_computed(),
            note=_counted_at(ages["computed_at"]),
        )
    )
    # Attempts over the programme, not claims now: the title, the description and a line under the chart say so, so
    # that nobody reads it against the progress table's "Chi trả không thành công" (claims whose latest payment
    # failed, today).
    charts.append(
        bar_chart(
            "failures",
            _labels(
                _("Số lần chi trả không thành công, theo lý do (từ đầu chương trình)"),
                _(
                    "Mọi lần chi trả không thành công hoặc bị ngân hàng trả lại từ đầu chương trình, theo lý do "
                    "ngân hàng báo; một hồ sơ có thể có nhiều lần."
                ),
                _("Lý do"),
                _("Số lần"),
            ),
            [(pick(row["label"]), row["payments"]) for row in failures_by_reason(program_id, area)],
            fmt=number,
            empty=empty,
            note=_(
                "Đây là số lần chi trả, không phải số hồ sơ: cột “Chi trả không thành công” của bảng tiến độ đếm "
                "các hồ sơ mà lần chi trả gần nhất hiện không thành công."
            ),
        )
    )
    per_day: dict[Any, int] = {}
    for row in throughput(program_id, area, THROUGHPUT_DAYS):
        per_day[row["day"]] = per_day.get(row["day"], 0) + row["decisions"]
    charts.append(
        bar_chart(
            "throughput",
            _labels(
                _("Số hồ sơ cán bộ xử lý mỗi ngày"),
                _(
                    "Số quyết định duyệt hoặc từ chối của cán bộ nghiệp vụ mỗi ngày, %(days)d ngày gần nhất.",
                    days=THROUGHPUT_DAYS,
                ),
                _("Ngày"),
                _("Số quyết định"),
            ),
            [(dmy(day), n) for day, n in sorted(per_day.items())],
            fmt=number,
            empty=empty,
        )
    )
    return charts


@bp.get("/charts")
@roles_required(*VIEWERS)
@reads_replica
def charts() -> ResponseReturnValue:
    form = AreaQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    return render_template(
        "dashboard/charts.html",
        area=area,
        area_name=_area_name(area),
        breadcrumbs=_breadcrumbs(_user(), area),
        charts=_charts(program.id, area),
        back=_area_url(area),
    )


# ------------------------------------------------------------------------------------------------ backlog


#: Who sees the reconciliation runs: the fund's payments against the banks' statements, a finance matter for the
#: supervisors and admins, as recoveries are; not a district's caseworkers (docs/operations.md, "Reconciliation").
#: A run is the whole statement's, every province's: a province's supervisor sees only its lines of their province's
#: claims (:func:`_reconciliation_scope`).
RECONCILIATION_READERS = TARGET_SETTERS


def _reconciliation_scope() -> Area | None:
    """Whose difference lines the caller sees in a reconciliation run: their own area (the country for admins and
    national supervisors, a province's supervisor their province); None for those who may not see runs."""
    user = _user()
    return visible_area(user, None, None) if user.role in RECONCILIATION_READERS else None


@bp.get("/backlog")
@roles_required(*VIEWERS)
@reads_replica
def backlog() -> ResponseReturnValue:
    """Where the area is stuck: overdue employers, SLA breaches, the review queue by reason and by age, and, for
    those who may open them (:data:`RECONCILIATION_READERS`), the last reconciliations."""
    form = AreaQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    scope = _reconciliation_scope()
    found = backlog_of(program.id, area, reconciliations=scope)
    return render_template(
        "dashboard/backlog.html",
        area=area,
        area_name=_area_name(area),
        breadcrumbs=_breadcrumbs(_user(), area),
        backlog=found,
        counted_at=_counted_at(found["computed_at"]),
        being_computed=_being_computed(),
        review_reason=lambda code: pick(review_reasons.label(code)),
        provider_label=lambda code: pick(PROVIDER_LABELS.get(code, (code, code))),
        # When each run ran, to the minute in Vietnam: runs of the same day and provider told apart.
        ran_at=lambda moment: moment.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M"),
        back=_area_url(area),
        overdue_url=lambda fmt: _area_url(area, "dashboard.overdue_units_file", format=fmt),
        reconciliation_scope=scope,
        reconciliation_scope_name=_area_name(scope) if scope is not None and scope.level != "country" else None,
    )


@bp.route("/backlog/overdue-units", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def overdue_units_file() -> ResponseReturnValue:
    """Every unit of the area past its Form 02 deadline with people still unconfirmed (the backlog page lists the
    first 20), most first, as CSV or XLSX: as the dashboard's tables (:func:`export`), at once up to
    ``DISBURSE_EXPORT_DIRECT_ROWS`` units (read from the replica); more by the ``exports.dashboard`` job, started
    by the button on the page that GET shows, then the job's page with its progress."""
    form = ExportQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    fmt = form.format.data or "xlsx"
    today = programme_today()
    name = _export_name("don-vi-qua-han", area, fmt)
    with reading_replica():
        _units, total = overdue_units(program.id, area, today, 0)  # how many, no rows read
        if total <= current_app.config["DISBURSE_EXPORT_DIRECT_ROWS"]:
            return download(exports.overdue_units_file(program.id, area, today, fmt), name)
    heading = _("Tải danh sách đơn vị quá hạn xác nhận")
    back = _area_url(area, "dashboard.backlog")
    return _export_later(
        program.id, area, fmt, name, total, {"table": OVERDUE_UNITS_TABLE}, back, heading, _("Quay lại trang Tồn đọng")
    )


#: The differences of a reconciliation listed on its page (`disburse payments reconcile` prints them all).
DIFFERENCES_SHOWN = 500


@bp.get("/reconciliations/<int:reconciliation_id>")
@roles_required(*RECONCILIATION_READERS)
@reads_replica
def reconciliation(reconciliation_id: int) -> ResponseReturnValue:
    """One reconciliation run: what matched and every difference in words, our payments' claims linked (the case
    page decides who may open one). A run is the whole statement's: a province's supervisor sees only the lines of
    their province's claims, and how many other lines are not shown."""
    # Its lines are read in SQL, the viewer's only: never the whole of ``details`` (a bad day's can be large).
    run = db.session.get(Reconciliation, reconciliation_id, options=[defer(Reconciliation.details)])
    scope = _reconciliation_scope()
    if run is None or scope is None:
        abort(404)
    lines, visible = run_differences(run.id, scope, DIFFERENCES_SHOWN)
    differences = [Difference.from_detail(line) for line in lines]
    return render_template(
        "dashboard/reconciliation.html",
        run=run,
        provider=pick(PROVIDER_LABELS.get(run.provider, (run.provider, run.provider))),
        differences=differences,
        more=max(visible - DIFFERENCES_SHOWN, 0),
        claims={d.reference: line["claim_id"] for d, line in zip(differences, lines, strict=True)},
        scope_name=_area_name(scope) if scope.level != "country" else None,
        visible=visible,
        outside=run.differences - visible,
        meaning=lambda d: pick(DIFFERENCE_LABELS[(d.kind, d.entry)]),
    )


# ------------------------------------------------------------------------------------------------ recoveries

#: Recoveries listed on the page, newest first (`disburse payments recoveries` lists them all).
RECOVERIES_SHOWN = 500


def next_reconciliation(provider: str, now: datetime | None = None) -> datetime | None:
    """When the nightly reconciliation of ``provider`` next runs, in Vietnam's time (beat's ``payments-reconcile``,
    01:30), which marks the recoveries whose money the provider's statement shows back. None when it does not run for
    that provider: it reconciles the configured provider alone, and only one with a statement to fetch (the others'
    files are reconciled by hand, ``disburse payments reconcile --file``)."""
    configured = current_app.config["DISBURSE_PAYMENT_PROVIDER"]
    if provider != configured or configured not in FETCHABLE:
        return None
    schedule = BEAT_SCHEDULE["payments-reconcile"]["schedule"]
    now = (now or datetime.now(VIETNAM_TZ)).astimezone(VIETNAM_TZ)
    at = now.replace(hour=min(schedule.hour), minute=min(schedule.minute), second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def _recovery_helpers() -> dict[str, Any]:
    return {
        "state_label": lambda state: pick(recovery_service.LABELS[state]),
        "reason_label": lambda code: pick(payment_reasons.label(code)),
    }


@bp.get("/recoveries")
@roles_required(*recovery_service.MOVERS)
@reads_replica
def recoveries() -> ResponseReturnValue:
    """Money the payees' banks returned after settlement, in the caller's area: how much the fund is owed back and
    what became of it, by state; each recovery opens its page, where a supervisor moves it on."""
    form = RecoveryQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    state = form.state.data or None
    rows = recovery_service.in_area(program.id, area, state, limit=RECOVERIES_SHOWN)
    totals = recovery_service.totals(program.id, area)
    listed = totals[state][0] if state else sum(n for n, _, _ in totals.values())
    return render_template(
        "dashboard/recoveries.html",
        form=form,
        area=area,
        area_name=_area_name(area),
        breadcrumbs=_breadcrumbs(_user(), area),
        rows=rows,
        totals=totals,
        state=state,
        listed=listed,
        back=_area_url(area),
        file_url=lambda fmt: _area_url(area, "dashboard.recoveries_file", state=state, format=fmt),
        settled=recovery_service.settled(program.id, area),
        close_settled_url=_area_url(area, "dashboard.close_settled_recoveries"),
        recovery_url=lambda recovery_id: _area_url(area, "dashboard.recovery", recovery_id=recovery_id),
        **_recovery_helpers(),
    )


@bp.route("/recoveries/export", methods=["GET", "POST"])
@roles_required(*recovery_service.MOVERS)
def recoveries_file() -> ResponseReturnValue:
    """Every recovery of the area (in the state asked for; the page lists the newest 500) as CSV or XLSX, as the
    dashboard's other lists (:func:`overdue_units_file`): at once up to ``DISBURSE_EXPORT_DIRECT_ROWS`` rows (read
    from the replica); more by the ``exports.dashboard`` job, started by the button on the page that GET shows, then
    the job's page with its progress."""
    form = RecoveryExportQuery(request.args)
    if not form.validate():
        return _invalid(form)
    area = _area(form)
    program = _program()
    state = form.state.data or None
    fmt = form.format.data or "xlsx"
    name = _export_name("thu-hoi", area, fmt, state)
    with reading_replica():
        total = exports.recoveries_count(program.id, area, state)
        if total <= current_app.config["DISBURSE_EXPORT_DIRECT_ROWS"]:
            return download(exports.recoveries_file(program.id, area, state, fmt), name)
    heading = _("Tải danh sách khoản thu hồi")
    back = _area_url(area, "dashboard.recoveries", state=state)
    return _export_later(
        program.id,
        area,
        fmt,
        name,
        total,
        {"table": exports.RECOVERIES_TABLE, "state": state},
        back,
        heading,
        _("Quay lại trang Thu hồi"),
    )


@bp.post("/recoveries/close-settled")
@roles_required(*recovery_service.MOVERS)
def close_settled_recoveries() -> ResponseReturnValue:
    """Close, at once, every recovery of the list's area with nothing left to do (recovered or written off, the claim
    paid again or ended: :func:`~disburse.payments.recoveries.close_settled`), then back to the list of the closed
    ones. The list's button says how many, and its form which (a digest): a post finding others (one settled or moved
    meanwhile) closes nothing and says so, as does one finding none (another supervisor closed them)."""
    area_form = AreaQuery(request.args)
    if not area_form.validate():
        return _invalid(area_form)
    area = _area(area_form)
    try:
        closed = recovery_service.close_settled(_program().id, area, _user(), request.form.get("seen", ""))
    except recovery_service.RecoveryRefused as exc:
        db.session.rollback()
        flash(pick((exc.message_vi, exc.message_en)), "warning")
        return redirect(_area_url(area, "dashboard.recoveries"))
    db.session.commit()
    if closed:
        flash(
            ngettext("Đã đóng %(n)s khoản thu hồi.", "Đã đóng %(n)s khoản thu hồi.", closed, n=number(closed)),
            "success",
        )
        return redirect(_area_url(area, "dashboard.recoveries", state="closed"))
    flash(_("Không có khoản thu hồi nào cần đóng."), "info")
    return redirect(_area_url(area, "dashboard.recoveries"))


@bp.route("/recoveries/<int:recovery_id>", methods=["GET", "POST"])
@roles_required(*recovery_service.MOVERS)
def recovery(recovery_id: int) -> ResponseReturnValue:
    """One recovery, and the form that moves it on (recovered, written off, closed) in two steps: the first post
    tries the move and undoes it, then says what will be recorded; only "confirm" records it, with an audit entry.
    The list it was opened from keeps its area (``?province=`` / ``?district=``, as every dashboard page; none: the
    caller's own): its back link and, once a move is recorded, the list it returns to (in the recovery's new state)."""
    row = recovery_service.one(recovery_id)
    if row is None or visible_area(_user(), None, row.district_code) is None:
        abort(404)
    area_form = AreaQuery(request.args)
    if not area_form.validate():
        return _invalid(area_form)
    area = _area(area_form)
    form = RecoveryMoveForm()
    form.to_state.choices = [
        SelectChoice(s, pick(recovery_service.LABELS[s]))
        for s in recovery_service.LABELS
        if s in recovery_service.NEXT[row.recovery.state] and (s != "closed" or row.closable)
    ]
    general: list[str] = []
    status = 200
    confirming = False
    if request.method == "POST" and "edit" not in request.form:
        if not form.validate():
            status = 422
        else:
            savepoint = db.session.begin_nested()
            try:
                moved = recovery_service.move(
                    recovery_id,
                    form.to_state.data,
                    _user(),
                    form.note.data or "",
                    form.amount.data,
                    seen=form.seen.data,
                )
            except recovery_service.RecoveryRefused as exc:
                savepoint.rollback()
                general, status = [pick((exc.message_vi, exc.message_en))], 409
                form.seen.raw_data, form.seen.data = [], None  # start over from what is there now
            else:
                if form.confirmed.data == "1":
                    savepoint.commit()
                    db.session.commit()
                    flash(_("Đã ghi nhận khoản thu hồi số %(id)s.", id=recovery_id), "success")
                    return redirect(_area_url(area, "dashboard.recoveries", state=moved.recovery.state))
                savepoint.rollback()  # tried, and undone: "confirm" records it
                confirming = True
            row = recovery_service.one(recovery_id) or row
    if form.seen.data is None:
        form.seen.data = recovery_service.last_event_id(recovery_id)
    owed = row.recovery.amount_vnd - row.recovery.recovered_vnd
    return render_template(
        "dashboard/recovery.html",
        row=row,
        form=form,
        general_errors=general,
        confirming=confirming,
        to_state=form.to_state.data,
        owed=owed,
        recovering=form.amount.data or owed,
        history=recovery_service.history(recovery_id),
        next_reconciliation=next_reconciliation(row.provider),
        back=_area_url(area, "dashboard.recoveries"),
        **_recovery_helpers(),
    ), status


# ------------------------------------------------------------------------------------------ monthly report


def _first_report_month(program: Program) -> date:
    """The programme's first month: the month of the first day anyone may be paid (the day after the cut-off date)
    or of the first reduced contribution, whichever comes first; an earlier month has nothing to report."""
    first_paid = program.cutoff_date + timedelta(days=1)
    return min(first_paid.replace(day=1), program.reduction_start_month.replace(day=1))


def _month_in_programme(form: MonthQuery, month: date, program: Program, today: date) -> bool:
    """Whether a report of ``month`` can say anything: not a month to come (by the programme clock), nor one before
    the programme (:func:`_first_report_month`); else the field says which months there are."""
    first = _first_report_month(program)
    if month > today.replace(day=1):
        form.month.errors = [
            _(
                "Tháng %(month)s chưa đến: báo cáo có từ tháng %(first)s đến tháng này (%(current)s).",
                month=f"{month:%m/%Y}",
                first=f"{first:%m/%Y}",
                current=f"{today:%m/%Y}",
            )
        ]
        return False
    if month < first:
        form.month.errors = [
            _(
                "Tháng %(month)s trước khi chương trình bắt đầu: báo cáo có từ tháng %(first)s đến tháng này "
                "(%(current)s).",
                month=f"{month:%m/%Y}",
                first=f"{first:%m/%Y}",
                current=f"{today:%m/%Y}",
            )
        ]
        return False
    return True


@bp.get("/monthly")
@roles_required(*TARGET_SETTERS)
@reads_replica
def monthly() -> ResponseReturnValue:
    """The monthly report to the ministry: by province, the completion at the month's end, those paid in the month,
    the month's contribution reductions, and where the eligible not yet paid were at its end (a figure its snapshot
    did not keep shown as "—", with a note); printable HTML, or CSV or XLSX as the other dashboard tables (the same
    columns in both files, the XLSX under a title). A province's report (``?province=``, a province's supervisor's own)
    is by district; a district's (``?district=``) is its row of its province's. A month typed wrong, to come or
    before the programme is the form again with the error on its field (422)."""
    user = _user()
    form = MonthQuery(request.args)
    valid = form.validate()
    if not valid and set(form.errors) != {"month"}:
        return _invalid(form)
    area = _area(form)
    program = _program()
    today = programme_today()
    text = form.month.data or f"{today:%m/%Y}"
    month = date(int(text[3:]), int(text[:2]), 1) if valid else None
    page = {
        "program": program,
        "form": form,
        "today": today,
        "area": area,
        "area_name": _area_name(area),
        "province": area.province_code,
        "district": area.district_code,
        "back": _area_url(area),
        "national": user.role == "admin" or user.province_code is None,
    }
    if month is None or not _month_in_programme(form, month, program, today):
        # The month a person typed in the form: the form again, its error on the field.
        return render_template("dashboard/monthly.html", month=None, rows=None, **page), 422
    form.month.data = text  # the field says which month the report is of, the running one too
    sources = month_sources(program.id, month, today)
    rows = monthly_report(program.id, month, today, area.province_code, sources)
    if area.district_code:
        rows = [row for row in rows if row["code"] == area.district_code]
    fmt = form.format.data or "html"
    if fmt in MEDIA_TYPES:
        body = exports.monthly_file(
            rows,
            text,
            fmt,
            by_district=area.province_code is not None,
            sources=sources,
            today=today,
            heading=exports.monthly_heading(
                program, _area_name(area) if area.level != "country" else None, text, today
            ),
        )
        where = (
            f"-huyen-{area.district_code}"
            if area.district_code
            else f"-tinh-{area.province_code}"
            if area.province_code
            else ""
        )
        return download(body, f"bao-cao-thang-{month:%Y-%m}{where}.{fmt}")
    return render_template(
        "dashboard/monthly.html",
        month=text,
        rows=rows,
        totals=monthly_totals(rows),
        unknown=unpaid_parts_unknown(rows),
        sources=[pick(pair) for pair in exports.monthly_sources_said(sources, today)],
        **page,
    )
