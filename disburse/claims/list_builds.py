"""Form 01 lists built from the admins' page, and what happens to a person the registry gains after an import.

The law's order (docs/rules.md, section 4): the social security office builds each unit's Form 01 and sends it by
``list_deadline``; a person missing from a list after that is added by the unit on Form 03 (*Bổ sung*, with proof)
until ``adjustment_deadline``, or applies on Form 04 until ``application_deadline``. An import does not make claims
by itself: a new participating person has a claim only once the lists are built again, or a Form 03 or 04 brings
them in.

So an admin may build the lists from the web (the same idempotent build as ``disburse lists build``: it adds the
people who have no claim and changes no claim that exists) until the list deadline, inclusive: lists not yet sent
gain the people an import has just added. After it the build is refused: a list dated after the deadline would
skip the unit's Form 03 and its proof; the page says which form brings a new person in, and until when. The
command stays for operators (a rebuild of the employer reductions after a salary-fund import, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from disburse.auth.models import User
from disburse.auth.service import audit
from disburse.claims.outcomes import dmy
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.jobs.service import open_job, submit
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program

#: The background job (its kind on the jobs row, and its task's stable name: workers/lists.py).
KIND = "lists.build"
TASK = "lists.build"

#: What brings a person the registry gains now into the programme: the lists (``build_lists``), the unit's Form 03
#: (``form_03``), the person's Form 04 (``form_04``), or nothing any more (``closed``).
BUILD_LISTS, FORM_03, FORM_04, CLOSED = "build_lists", "form_03", "form_04", "closed"


@dataclass(frozen=True)
class NextStep:
    """What happens next for a new participating person: ``step`` (one of the four above) and the words, with the
    programme's dates, in Vietnamese and English."""

    step: str
    words: tuple[str, str]


def next_step(program: Program, today: date | None = None) -> NextStep:
    """What brings a person new in the registry into ``program`` on ``today`` (default: the programme clock)."""
    today = today or programme_today()
    lists, adjust, apply = (
        dmy(program.list_deadline),
        dmy(program.adjustment_deadline),
        dmy(program.application_deadline),
    )
    if today <= program.list_deadline:
        return NextStep(
            BUILD_LISTS,
            (
                "Người lao động mới đang tham gia BHTN chỉ có hồ sơ hỗ trợ khi danh sách Mẫu số 01 được lập lại; "
                f"hạn gửi danh sách cho đơn vị là ngày {lists}. Lập danh sách chỉ thêm người chưa có hồ sơ, không "
                f"thay đổi hồ sơ đã có; đơn vị xác nhận (Mẫu số 02) trong {program.employer_review_wd} ngày làm việc.",
                "New participating employees get a support claim only when the Form 01 lists are built again; the "
                f"lists must reach the units by {lists}. A build adds only people without a claim and changes no "
                f"claim that exists; units confirm (Form 02) within {program.employer_review_wd} working days.",
            ),
        )
    if today <= program.adjustment_deadline:
        return NextStep(
            FORM_03,
            (
                f"Danh sách Mẫu số 01 đã gửi các đơn vị (hạn {lists}), nên người lao động mới không được thêm vào "
                "danh sách. Đơn vị bổ sung họ bằng Mẫu số 03 (“Bổ sung”, kèm giấy tờ chứng minh) đến hết ngày "
                f"{adjust}; sau đó người lao động tự nộp Mẫu số 04 tại cơ quan BHXH đến hết ngày {apply}.",
                f"The Form 01 lists have gone to the units (deadline {lists}), so new employees are not added to "
                f"them. Their unit adds them on Form 03 (“add”, with proof) until {adjust}; after that, the person "
                f"applies on Form 04 at the social security office until {apply}.",
            ),
        )
    if today <= program.application_deadline:
        return NextStep(
            FORM_04,
            (
                f"Danh sách Mẫu số 01 đã gửi (hạn {lists}) và hạn bổ sung bằng Mẫu số 03 đã hết ngày {adjust}. "
                f"Người lao động mới tự nộp Mẫu số 04 tại cơ quan BHXH đến hết ngày {apply}.",
                f"The Form 01 lists have gone out (deadline {lists}) and Form 03 closed on {adjust}. New employees "
                f"apply on Form 04 at the social security office until {apply}.",
            ),
        )
    return NextStep(
        CLOSED,
        (
            f"Đã hết hạn nhận hồ sơ đề nghị hỗ trợ (Mẫu số 04) ngày {apply}: người lao động mới có trong dữ liệu lúc "
            f"này không được hỗ trợ theo chương trình {program.code}.",
            f"Applications (Form 04) closed on {apply}: employees new in the records now get no support from "
            f"programme {program.code}.",
        ),
    )


class ListsClosed(Exception):
    """The lists may no longer be built from the web; the words say what brings a new person in instead."""

    def __init__(self, words: tuple[str, str]) -> None:
        super().__init__(words[1])
        self.words = words


def latest_build(program: Program) -> Job | None:
    """The program's latest lists build job (from the web, or a retry)."""
    return db.session.scalar(
        select(Job)
        .where(Job.kind == KIND, Job.params["program"].astext == program.code)
        .order_by(Job.id.desc())
        .limit(1)
    )


def start_build(program: Program, actor: User, today: date | None = None) -> Job:
    """Queue the program's lists build (sent after the caller commits) and audit it; a build of the program still
    queued or running is the one returned (a second click makes no second job). :class:`ListsClosed` after the list
    deadline."""
    step = next_step(program, today)
    if step.step != BUILD_LISTS:
        raise ListsClosed(step.words)
    running = open_job(KIND, program.code)  # under a lock until the caller commits: two clicks at once, one job
    if running is not None:
        return running
    job = submit(KIND, {"program": program.code}, TASK, program.code, created_by=actor.id)
    audit(actor, "lists.build", "job", job.id, {"program": program.code})
    return job
