"""Written refusal notices (*văn bản trả lời, nêu rõ lý do*): every refused claim has one, in Vietnamese, printable on
A4 (templates/verification/notice.html with disburse/static/notice.css).

A notice is built from the claim's latest ``reject`` event: the plain words of its reason codes
(:func:`disburse.verification.review.refusal_reasons`: a caseworker's one code, or every refusing code verification
found) and the written reason when it adds to them, with the person's details, the legal basis and how to appeal.
``GET /api/v1/claims/<id>/notice`` renders one; the ``notices.district_day`` job renders all refusals of a district
on one day into one document, one notice per page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from disburse.auth.models import User
from disburse.auth.scopes import Scope, can_see
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimAction, ClaimState
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.jobs.service import JobFailed, Progress, submit
from disburse.reference.models import District, Province
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee, Employer
from disburse.verification.reasons import OTHER
from disburse.verification.review import Conflict, Invalid, NotFound, refusal_codes, refusal_reasons, visible_claim

#: The batch job: its kind (on the jobs row) and its task's stable name (disburse/background.py).
KIND = "notices.district_day"
TASK = "notices.district_day"
TEMPLATE = "verification/notice.html"
STYLESHEET = "notice.css"
#: The day of a refusal is the day in Vietnam.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: Why the programme exists and how it is carried out: the legal basis every notice cites.
LEGAL_BASIS = (
    "Nghị quyết số 116/NQ-CP ngày 24/9/2021 của Chính phủ; "
    "Quyết định số 28/2021/QĐ-TTg ngày 01/10/2021 của Thủ tướng Chính phủ"
)
#: Days to lodge a complaint after receiving the notice (Luật Khiếu nại 2011, Article 9).
APPEAL_DAYS = 90
#: Claims read per statement while a batch document is written.
BATCH_CHUNK = 200

_PLACE_PREFIXES = ("Thành phố ", "Thị xã ", "Huyện ", "Quận ", "Tỉnh ")


class NotRejected(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "Hồ sơ chưa bị từ chối nên không có thông báo không giải quyết hỗ trợ.",
            "The claim has not been refused, so it has no refusal notice.",
            code="not_rejected",
        )


@dataclass(frozen=True)
class Notice:
    """What one notice prints."""

    claim_id: int
    #: "Bảo hiểm xã hội huyện Đông Anh" and "Bảo hiểm xã hội thành phố Hà Nội": the issuing office and its parent.
    office: str
    parent_office: str
    #: "Đông Anh": where the notice is issued (the date line).
    place: str
    issued_on: date
    salutation: str
    full_name: str
    si_code: str
    national_id: str
    date_of_birth: date | None
    address: str | None
    unit_name: str | None
    unit_code: str | None
    #: The plain words of each refusal reason code (none for a refusal recorded without a known code), and the
    #: written reason when it says more than those words.
    reason_labels: tuple[str, ...]
    reason_text: str


@dataclass(frozen=True)
class WayBack:
    """The served notice's link back to where the reader came from (the case, the unit's page), in the interface's
    language (``lang``), while the notice stays Vietnamese; never printed, and not in a batch's file."""

    href: str
    words: str
    #: What the navigation is called for screen readers.
    label: str
    lang: str


def _office(area_name: str) -> str:
    """'Huyện Đông Anh' → 'Bảo hiểm xã hội huyện Đông Anh' (the area's kind in lower case, as in the SSA's name:
    :func:`~disburse.reference.service.area_in_sentence`)."""
    return f"Bảo hiểm xã hội {area_in_sentence(area_name)[0]}"


def _place(area_name: str) -> str:
    for prefix in _PLACE_PREFIXES:
        rest = area_name[len(prefix) :].strip()
        if area_name.startswith(prefix) and not (rest.isascii() and rest.isdigit()):
            return area_name[len(prefix) :]
    return area_name


def _salutation(gender: str | None) -> str:
    return {"male": "Ông", "female": "Bà"}.get(gender or "", "Ông/Bà")


def _refused_on(event: ClaimEvent | None, claim: Claim) -> date:
    moment: datetime = event.created_at if event is not None else claim.updated_at
    return moment.astimezone(VIETNAM).date()


def _statement() -> Any:
    """Refused claims with everything their notice prints, the latest reject event joined (outer: a claim refused
    without an event still gets a notice, from its reason alone)."""
    latest = aliased(ClaimEvent)
    last_reject = (
        select(func.max(latest.id))
        .where(latest.claim_id == Claim.id, latest.action == ClaimAction.REJECT.value)
        .correlate(Claim)
        .scalar_subquery()
    )
    return (
        select(Claim, Employee, Employer, District, Province, ClaimEvent)
        .join(Employee, Employee.id == Claim.employee_id)
        .outerjoin(Employer, Employer.id == Claim.employer_id)
        .join(District, District.code == Claim.district_code)
        .join(Province, Province.code == District.province_code)
        .outerjoin(ClaimEvent, ClaimEvent.id == last_reject)
        .where(Claim.state == ClaimState.REJECTED.value)
        .order_by(Claim.id)
    )


def printed_reasons(event: ClaimEvent | None) -> tuple[list[tuple[str, str]], str]:
    """What a refusal (its reject ``event``) gives as its reasons, as its notice prints them: the reasons' labels
    (Vietnamese, English) and the written reason. "Another reason" is that written reason itself, not a line of its
    own (its label, "stated in full in the notice", speaks to the caseworker); verification's written reason, the
    labels' own words, once."""
    data = (event.data or {}) if event is not None else {}
    text = ((event.reason or "") if event is not None else "").strip()
    labels = [refusal_reasons()[code] for code in refusal_codes(data) if not (code == OTHER and text)]
    if text == " ".join(vi for vi, _ in labels):
        text = ""
    return labels, text


def _notice(row: Any) -> Notice:
    claim, employee, employer, district, province, event = row
    pairs, text = printed_reasons(event)
    labels = tuple(vi for vi, _ in pairs)
    return Notice(
        claim_id=claim.id,
        office=_office(district.name),
        parent_office=_office(province.name),
        place=_place(district.name),
        issued_on=_refused_on(event, claim),
        salutation=_salutation(employee.gender),
        full_name=employee.full_name,
        si_code=employee.si_code,
        national_id=employee.national_id,
        date_of_birth=employee.date_of_birth,
        address=employee.address,
        unit_name=employer.name if employer is not None else None,
        unit_code=employer.unit_code if employer is not None else None,
        reason_labels=labels,
        reason_text=text,
    )


def render(
    notices: Iterable[Notice], *, title: str, stylesheet_href: str | None = None, back: WayBack | None = None
) -> Iterator[str]:
    """The printable document, streamed: linked to the stylesheet at ``stylesheet_href`` (served pages), or with the
    stylesheet embedded (a file to open and print on its own); ``back``, a served page's way back (not printed).
    Rendered by the Jinja environment directly, so that it works in a worker without a request."""
    template = current_app.jinja_env.get_template(TEMPLATE)
    embedded = None
    if stylesheet_href is None:
        static = Path(current_app.static_folder or "")
        embedded = Markup((static / STYLESHEET).read_text(encoding="utf-8"))  # noqa: S704 (our own static file)
    return template.generate(
        notices=notices,
        title=title,
        stylesheet_href=stylesheet_href,
        stylesheet=embedded,
        back=back,
        legal_basis=LEGAL_BASIS,
        appeal_days=APPEAL_DAYS,
    )


def notice_html(claim_id: int, user: User, stylesheet_href: str, back: WayBack | None = None) -> str:
    """The refusal notice of one claim in ``user``'s scope (:class:`~disburse.verification.review.NotFound`
    otherwise), with ``back`` above it on screen; :class:`NotRejected` for a claim that is not refused."""
    claim = visible_claim(claim_id, user)
    if claim.state != ClaimState.REJECTED:
        raise NotRejected()
    row = db.session.execute(_statement().where(Claim.id == claim.id)).one()
    notice = _notice(row)
    title = f"Thông báo - {notice.full_name}"
    return "".join(render([notice], title=title, stylesheet_href=stylesheet_href, back=back))


# ------------------------------------------------------------------------------------------------------- batch


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=VIETNAM)
    return start, start + timedelta(days=1)


def district_day_statement(program_id: int, district: str, day: date) -> Any:
    """The program's claims of ``district`` refused on ``day`` (Vietnam time of the latest reject event), by id."""
    start, end = _day_bounds(day)
    return _statement().where(
        Claim.program_id == program_id,
        Claim.district_code == district,
        ClaimEvent.created_at >= start,
        ClaimEvent.created_at < end,
    )


def district_day_notices(program_id: int, district: str, day: date) -> Iterator[Notice]:
    """The notices of :func:`district_day_statement`, read :data:`BATCH_CHUNK` claims at a time (keyset by id)."""
    after = 0
    while True:
        rows = db.session.execute(
            district_day_statement(program_id, district, day).where(Claim.id > after).limit(BATCH_CHUNK)
        ).all()
        for row in rows:
            yield _notice(row)
        if len(rows) < BATCH_CHUNK:
            return
        after = rows[-1][0].id


def count_district_day(program_id: int, district: str, day: date) -> int:
    rows = district_day_statement(program_id, district, day).order_by(None).subquery()
    return int(db.session.scalar(select(func.count()).select_from(rows)) or 0)


def batch_path(folder: Path, district: str, day: date, job_id: int) -> Path:
    return folder / f"thong-bao-tu-choi-{district}-{day.isoformat()}-job-{job_id}.html"


def write_district_day(
    program_id: int, district: str, day: date, folder: Path, job_id: int, progress: Progress
) -> dict[str, Any]:
    """Write every refusal notice of ``district`` on ``day`` into one printable HTML file in ``folder`` (one notice
    per A4 page) and say where: ``{"path", "notices", "district", "date"}``; no file when there is no refusal. The
    file appears complete or not at all (written beside, then renamed)."""
    total = count_district_day(program_id, district, day)
    result: dict[str, Any] = {"path": None, "notices": 0, "district": district, "date": day.isoformat()}
    if total == 0:
        return result
    folder.mkdir(parents=True, exist_ok=True)
    path = batch_path(folder, district, day, job_id)
    partial = path.with_name(path.name + ".part")
    written = 0

    def counted() -> Iterator[Notice]:
        nonlocal written
        for notice in district_day_notices(program_id, district, day):
            written += 1
            progress(written, total)
            yield notice

    title = f"Thông báo không giải quyết hỗ trợ - {district} - {day:%d/%m/%Y}"
    with partial.open("w", encoding="utf-8") as out:
        for chunk in render(counted(), title=title):
            out.write(chunk)
    os.replace(partial, path)
    return {**result, "path": str(path), "notices": written, "total_rows": written}


def start_district_day(user: User, program_id: int, district: str, day: date) -> Job:
    """Queue the job that writes the notices of ``district``'s refusals on ``day`` into one document (sent after the
    caller commits). A district outside the caller's scope, or unknown, is :class:`NotFound`."""
    province = db.session.scalar(select(District.province_code).where(District.code == district))
    scope = Scope(employer_ids=(), district_codes=[district], province_codes=[province] if province else [])
    if province is None or not can_see(user, scope):
        raise NotFound()
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        words = ("Ngày phải từ 01/01/2000 đến 31/12/2099.", "The day must be from 01/01/2000 to 31/12/2099.")
        raise Invalid({"date": words})
    params = {"program_id": program_id, "district": district, "date": day.isoformat()}
    return submit(KIND, params, TASK, created_by=user.id)


def run_district_day(job: Job, progress: Progress) -> dict[str, Any]:
    """The job's work (:func:`disburse.jobs.service.run_job` calls it in the worker): the document goes to
    ``notices/`` in the export folder (``DISBURSE_EXPORT_DIR``, where the retention sweep deletes it with the other
    exports), and the result names it in the jobs' one shape for a file to download, ``{"file": <name inside the
    export folder>, "filename": <download name>}`` (both null when the district refused nobody that day), with
    ``notices``, ``district``, ``date`` and, when it wrote any, ``total_rows``."""
    try:
        program_id = int(job.params["program_id"])
        district = str(job.params["district"])
        day = date.fromisoformat(str(job.params["date"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise JobFailed(f"Tham số không hợp lệ: {exc}", f"Invalid parameters: {exc}") from exc
    root = Path(current_app.config["DISBURSE_EXPORT_DIR"])
    result = write_district_day(program_id, district, day, root / "notices", job.id, progress)
    written = result.pop("path")
    if written is None:
        return {**result, "file": None, "filename": None}
    path = Path(written)
    return {**result, "file": path.relative_to(root).as_posix(), "filename": path.name}
