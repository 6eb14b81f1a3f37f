"""``disburse lists build [--program CODE]``: Form 01 lists (track A claims) and employer reductions."""

from __future__ import annotations

import sys
import time
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from disburse.claims.lists import ListsResult, build_lists
from disburse.extensions import db
from disburse.formatting import counted, dmy, number
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program

lists_cli = AppGroup(
    "lists",
    help="Danh sách Mẫu số 01 và giảm mức đóng / Form 01 lists and employer reductions.",
    short_help="Mẫu số 01, giảm mức đóng / Form 01, reductions.",
)

#: Exit code for a command that cannot start (here: an unknown program); nothing is changed.
EXIT_UNUSABLE = 2


def _vi(n: int) -> str:
    return number(n, locale="vi")


def _en(n: int) -> str:
    return number(n, locale="en")


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def summary_lines(result: ListsResult, seconds: float) -> list[str]:
    """The summary printed after a build: Vietnamese first, then English."""
    from disburse.notifications.service import enabled

    r, emails = result, enabled()
    return [
        f"Chương trình {r.program_code}: lập danh sách Mẫu số 01 ngày {_d(r.listed_on)}, "
        f"đơn vị xác nhận (Mẫu số 02) trước ngày {_d(r.review_due_on)}.",
        f"  Đã lập danh sách thêm {_vi(r.claims_created)} người lao động tại {_vi(r.employers_listed)} đơn vị, "
        f"mức hỗ trợ {_vi(r.amount_created_vnd)} ₫; tổng số hồ sơ của chương trình: {_vi(r.claims_total)}.",
        f"  Giảm mức đóng BHTN: thêm {_vi(r.reductions_created)} bản ghi, cập nhật {_vi(r.reductions_updated)}, "
        f"bỏ {_vi(r.reductions_removed)}; tổng số tiền giảm {_vi(r.reduction_total_vnd)} ₫.",
        f"  Đã xếp {_vi(r.emails_queued)} thư báo danh sách cho các đơn vị (gửi qua hàng đợi notifications)."
        if emails
        else "  Thư báo cho đơn vị đang tắt (chưa đặt DISBURSE_SMTP_URL): không xếp thư nào.",
        f"Program {r.program_code}: Form 01 lists dated {_d(r.listed_on)}, "
        f"employers confirm (Form 02) by {_d(r.review_due_on)}.",
        f"  Listed {counted(r.claims_created, 'more employee')} at {counted(r.employers_listed, 'unit')}, "
        f"support VND {_en(r.amount_created_vnd)}; claims in the program: {_en(r.claims_total)}.",
        f"  Contribution reductions: {counted(r.reductions_created, 'row')} added, "
        f"{_en(r.reductions_updated)} updated, "
        f"{_en(r.reductions_removed)} removed; total reduction VND {_en(r.reduction_total_vnd)}.",
        f"  {counted(r.emails_queued, 'e-mail')} to the units queued (sent by the notifications queue)."
        if emails
        else "  E-mails to units are off (DISBURSE_SMTP_URL is not set): none queued.",
        f"  ({seconds:.1f} s)",
    ]


@lists_cli.command(
    "build", short_help="Lập danh sách Mẫu số 01, tính giảm mức đóng / Build the Form 01 lists, book the reductions."
)
@click.option(
    "--program",
    "program_code",
    help="Mã chương trình (mặc định: DISBURSE_PROGRAM, nếu không có thì NQ116) / The program's code (default: "
    "DISBURSE_PROGRAM, else NQ116).",
)
@click.option(
    "--after-end",
    is_flag=True,
    help="Lập cho chương trình đã hết hạn chi trả (chẳng hạn để tính giảm mức đóng sau một lần nhập quỹ lương muộn): "
    "lệnh cũng lập danh sách cho người chưa có, thành hồ sơ không bao giờ được chi trả / Build for a programme that "
    "has stopped paying (to book the reductions of a late salary-fund import, say): it also lists the people not "
    "listed yet, as claims that are never paid.",
)
def build(program_code: str | None, after_end: bool) -> None:
    """Lập danh sách Mẫu số 01 (hồ sơ luồng A) và tính giảm mức đóng cho đơn vị. Chạy lại được: chỉ thêm những gì
    mới, không bao giờ đổi hồ sơ đã có. Bị từ chối với chương trình đã hết hạn chi trả, trừ khi có --after-end.

    Build the Form 01 lists (track A claims) and book the employer reductions. Safe to run again: it adds
    only what is new and never changes a claim that exists. Refused for a programme that has stopped paying,
    unless --after-end."""
    program_code = program_code or current_app.config["DISBURSE_PROGRAM"]
    try:
        program = get_program(program_code)
    except ProgramNotFound as exc:
        known = ", ".join(db.session.scalars(select(Program.code).order_by(Program.code))) or "—"
        click.echo(f"{exc}\nCác chương trình hiện có / programs on file: {known}", err=True)
        sys.exit(EXIT_UNUSABLE)
    last = program.last_payable_day
    if programme_today() > last:
        # A programme that has ended (another shell's default, say): its claims could never be paid nor undone.
        others = ", ".join(db.session.scalars(select(Program.code).where(Program.id != program.id))) or "—"
        if not after_end:
            click.echo(
                f"Chương trình {program.code} đã hết hạn chi trả ngày {dmy(last)}: không lập danh sách, vì người có "
                f"tên trong danh sách lập lúc này sẽ không được chi trả. Dùng --program để chọn chương trình khác "
                f"({others}), hoặc --after-end nếu thật sự cần tính lại giảm mức đóng (lệnh vẫn lập danh sách cho "
                "người chưa có, thành hồ sơ không bao giờ được chi trả).\n"
                f"Programme {program.code} stopped paying on {dmy(last)}: no lists were built, as the people listed "
                f"now would never be paid. Use --program to choose another programme ({others}), or --after-end if "
                "you really must rebuild the contribution reductions (it still lists the people not listed yet, as "
                "claims that are never paid).",
                err=True,
            )
            sys.exit(EXIT_UNUSABLE)
        click.echo(
            f"Lưu ý: chương trình {program.code} đã hết hạn chi trả ngày {dmy(last)}; người trong danh sách lập lúc "
            f"này sẽ không được chi trả.\nNote: programme {program.code} stopped paying on {dmy(last)}; the people "
            "listed now will not be paid.",
            err=True,
        )

    started = time.monotonic()
    bar = tqdm(total=None, unit=" records", unit_scale=True, desc="Form 01", disable=not sys.stderr.isatty())

    def progress(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        result = build_lists(program, progress=progress)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        bar.close()
    for line in summary_lines(result, time.monotonic() - started):
        click.echo(line)
