"""``disburse payments cash-list``, ``cash-paid``, ``offer-cash`` and ``cash-withdraw``: cash at the office
(:mod:`disburse.payments.cash`).

- ``cash-list --district CODE [--date dd/mm/yyyy] [--out FILE.xlsx|.csv]``: the people the office pays in cash, as a
  table on the terminal or a spreadsheet with a blank receipt column (and a signature column) to fill in: the XLSX,
  printed, is the paper the office pays against (a title in both languages, a total of people and đồng); the CSV is
  for a program (the header and the rows only);
- ``cash-paid REFERENCE RECEIPT [--by EMAIL]``: record that a person was paid against a receipt number (run again
  with the same receipt, it says so and changes nothing);
- ``offer-cash CLAIM [--early REASON] [--by EMAIL]``: pay a claim waiting for details in cash at the office;
- ``cash-withdraw REFERENCE --reason TEXT [--by EMAIL]``: take a cash payment not yet paid off the office's list.

Exit 0 done (or already done: ``cash-paid`` with the receipt already recorded); 2 bad input or a refusal, with the
reason in Vietnamese then English, and nothing changed.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from disburse.auth.models import User
from disburse.auth.service import get_user_by_email
from disburse.claims import service as claims
from disburse.cli import DISTRICT_CODE, PROGRAM_OPTION
from disburse.extensions import DAY, RECORD_ID, db
from disburse.formatting import counted, dmy, number, os_reason, vnd
from disburse.payments.cash import (
    AlreadyRecorded,
    CashListRow,
    CashRefused,
    cash_list,
    check_district,
    offer_cash,
    offered_already,
    open_cash_elsewhere,
    record_cash_payment,
    withdraw_cash_payment,
    withdrawn_with,
)
from disburse.payments.service import payable, payment_by_reference
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.models import District
from disburse.reference.service import area_in_sentence
from disburse.spreadsheets import DATE, MONEY, TEXT

EXIT_REFUSED = 2

#: The CSV's columns: "Label (name)", as the other spreadsheets disburse writes, for a program to read.
CASH_LIST_COLUMNS = [
    ("STT", "row"),
    ("Họ và tên", "full_name"),
    ("Mã số BHXH", "si_code"),
    ("Ngày sinh", "date_of_birth"),
    ("Số CMND/CCCD", "national_id"),
    ("Số tiền (đồng)", "amount_vnd"),
    ("Mã chi trả", "reference"),
    ("Ngày lập danh sách", "sent_on"),
    ("Số biên lai", "receipt_number"),
    ("Ký nhận", "signature"),
]
#: The XLSX's columns, the same in the same order, headed in both languages: the paper the office pays against.
CASH_LIST_HEADINGS = [
    "STT / No.",
    "Họ và tên / Full name",
    "Mã số BHXH / SI code",
    "Ngày sinh / Date of birth",
    "Số CMND/CCCD / National ID",
    "Số tiền (đồng) / Amount (VND)",
    "Mã chi trả / Payment reference",
    "Ngày lập danh sách / List issued on",
    "Số biên lai / Receipt number",
    "Chữ ký / Signature",
]
#: How the XLSX shows each column (:func:`disburse.spreadsheets.write_xlsx`).
CASH_LIST_FORMATS = [None, None, TEXT, DATE, TEXT, MONEY, TEXT, DATE, TEXT, None]
#: The XLSX's columns' least widths (characters): room to write a receipt number and to sign by hand.
HAND_WIDTHS = [0, 0, 0, 0, 0, 0, 0, 0, 22, 28]
TOTAL = "Tổng cộng / Total"
#: Under the total, the people who sign the list off, as a paper payment list has them.
SIGNED_OFF_BY = [
    "",
    "Người lập biểu / Prepared by",
    "",
    "",
    "Kế toán / Accountant",
    "",
    "Thủ quỹ / Cashier",
    "",
    "Giám đốc / Director",
    "",
]


def _refuse(vi: str, en: str) -> NoReturn:
    db.session.rollback()
    click.echo(f"{vi}\n{en}", err=True)
    sys.exit(EXIT_REFUSED)


def _program(code: str | None) -> Program:
    try:
        return get_program(code or current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound as exc:
        _refuse(f"Không có chương trình mã '{exc.code}'.", f"There is no program with code '{exc.code}'.")


def _spreadsheet_rows(rows: list[CashListRow]) -> list[list[object]]:
    return [
        [n, r.full_name, r.si_code, r.date_of_birth, r.national_id, r.amount_vnd, r.reference, r.sent_on, None, None]
        for n, r in enumerate(rows, start=1)
    ]


def cash_list_title(office: District, day: date | None, today: date) -> tuple[str, str]:
    """The list's title (Vietnamese, English): the office, and the day of the list, or every open payment as on
    ``today`` (the day it is printed)."""
    vi, en = area_in_sentence(office.name)
    if day is not None:
        return (
            f"Danh sách chi tiền mặt tại cơ quan BHXH {vi} ngày {dmy(day)}",
            f"Cash payment list, social security office of {en}, {dmy(day)}",
        )
    return (
        f"Danh sách chi tiền mặt tại cơ quan BHXH {vi}: các khoản chưa chi đến ngày {dmy(today)}",
        f"Cash payment list, social security office of {en}: every payment still open on {dmy(today)}",
    )


def cash_list_total(rows: list[CashListRow]) -> list[object]:
    """The XLSX's total row: the people (in both languages) and the sum in đồng, under the name and amount."""
    count = len(rows)
    people = f"{number(count, locale='vi')} người / {counted(count, 'person', 'people')}"
    return ["", TOTAL, people, "", "", sum(r.amount_vnd for r in rows), "", "", "", ""]


def write_cash_list(out: Path, rows: list[CashListRow], office: District, day: date | None) -> None:
    """The list to ``out``: an XLSX to print and pay against (title, total, receipt and signature columns), or a
    CSV for a program, the header and a row per person only (no title, no total). The command and the cash desk's
    download write it; :class:`OSError` when it cannot be written."""
    from disburse.spreadsheets import write_csv, write_xlsx

    if out.suffix.lower() == ".xlsx":
        write_xlsx(
            out,
            CASH_LIST_HEADINGS,
            _spreadsheet_rows(rows),
            title=f"Chi tiền mặt {office.code}",
            formats=CASH_LIST_FORMATS,
            footer=[cash_list_total(rows), SIGNED_OFF_BY],
            heading=cash_list_title(office, day, programme_today()),
            paper=True,
            min_widths=HAND_WIDTHS,
        )
    else:
        write_csv(out, [f"{label} ({name})" for label, name in CASH_LIST_COLUMNS], _spreadsheet_rows(rows))


def _write(out: Path, rows: list[CashListRow], office: District, day: date | None) -> None:
    try:
        write_cash_list(out, rows, office, day)
    except OSError as exc:
        vi, en = os_reason(exc)
        _refuse(f"Không ghi được tệp '{out}': {vi}.", f"The file '{out}' cannot be written: {en}.")


def _print_table(rows: list[CashListRow], office: District, day: date | None) -> None:
    """The list on the terminal: its title in both languages, then a row per person (the receipt column blank)."""
    for title in cash_list_title(office, day, programme_today()):
        click.echo(title)
    widths = (
        4,
        max([len(r.full_name) for r in rows] + [9]),
        10,
        10,
        12,
        14,
        max([len(r.reference) for r in rows] + [13]),
    )
    line = "  ".join(f"{{:<{w}}}" for w in widths) + "  {:<10}  {}"
    # Headed in both languages, as the XLSX is (the English line was missing: the title alone was in both).
    click.echo(
        line.format(
            "STT", "Họ và tên", "Mã BHXH", "Ngày sinh", "CMND/CCCD", "Số tiền", "Mã chi trả", "Ngày", "Số biên lai"
        )
    )
    click.echo(
        line.format("No.", "Full name", "SI code", "Born", "ID", "Amount", "Reference", "Issued on", "Receipt number")
    )
    for n, r in enumerate(rows, start=1):
        born = dmy(r.date_of_birth) if r.date_of_birth else "—"
        click.echo(
            line.format(
                n, r.full_name, r.si_code, born, r.national_id, vnd(r.amount_vnd), r.reference, dmy(r.sent_on), ""
            )
        )


@click.command("cash-list", short_help="Danh sách chi tiền mặt / The office's cash list.")
@with_appcontext
@click.option(
    "--district",
    "district",
    required=True,
    type=DISTRICT_CODE,
    help="Mã quận/huyện, 3 chữ số (cơ quan BHXH của quận/huyện đó) / The district's 3-digit code (its office).",
)
@click.option(
    "--date",
    "day",
    type=DAY,
    help="Ngày lập danh sách (mặc định: mọi khoản chưa chi) / The day the list was issued (default: every open "
    "payment).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp ra, .xlsx hoặc .csv, trong một thư mục có sẵn (mặc định: in ra màn hình) / The output file, .xlsx or "
    ".csv, in a folder that exists (default: printed on the terminal).",
)
@PROGRAM_OPTION
def cash_list_cmd(district: str, day: date | None, out: Path | None, program_code: str | None) -> None:
    """Những người nhận tiền mặt tại cơ quan BHXH của quận/huyện (theo ngày), với cột số biên lai để trống. Tệp .xlsx
    là giấy cơ quan chi theo: tiêu đề (cơ quan, ngày của danh sách hoặc ngày in, bằng tiếng Việt và tiếng Anh), danh
    sách người với cột số biên lai và chữ ký để trống, và dòng tổng cộng (số người, số đồng). Tệp .csv dành cho phần
    mềm: dòng tiêu đề cột và mỗi người một dòng, không có tiêu đề, không có tổng.

    The people to pay in cash at a district's office (on a day), with a blank receipt column. An .xlsx is the paper
    the office pays against: a title (the office, the list's day or the day printed, in Vietnamese and English), the
    people with blank receipt number and signature ("Chữ ký / Signature") columns, and a total (people, đồng). A
    .csv is for a program: the header and one row per person, no title and no total."""
    program = _program(program_code)
    if out is not None and out.suffix.lower() not in (".xlsx", ".csv"):
        _refuse("Tệp ra phải là .xlsx hoặc .csv.", "The output must be .xlsx or .csv.")
    if out is not None:
        from disburse.spreadsheets import OUTPUT_FILE, UnusableFile, writable

        try:
            writable(out, what=OUTPUT_FILE, make_folder=False)  # before any work, not after the list is made
        except UnusableFile as exc:
            _refuse(exc.message_vi, exc.message_en)
    try:
        office = check_district(district.strip())
        rows = cash_list(program, office.code, day)
    except CashRefused as exc:
        _refuse(exc.message_vi, exc.message_en)
    if out is not None:
        _write(out, rows, office, day)
    else:
        _print_table(rows, office, day)
    total = sum(r.amount_vnd for r in rows)
    when_vi, when_en = (f"ngày {dmy(day)}", f"on {dmy(day)}") if day else ("mọi ngày", "any day")
    click.echo(
        f"Chương trình {program.code}: chi tiền mặt tại {office.name} ({office.code}, {when_vi}): "
        f"{number(len(rows), locale='vi')} người, tổng {vnd(total, 'vi')}"
        + (f" → {out}" if out else "")
        + f"\nProgramme {program.code}: cash at the office of {office.name} ({office.code}, {when_en}): "
        f"{counted(len(rows), 'person', 'people')}, total {vnd(total, 'en')}"
    )
    elsewhere = open_cash_elsewhere(program, office.code)
    if elsewhere:  # the list asked for is not the only one: another shell's DISBURSE_PROGRAM, say
        named = ", ".join(f"{code} ({number(n, locale='vi')})" for code, n in elsewhere)
        named_en = ", ".join(f"{code} ({number(n, locale='en')})" for code, n in elsewhere)
        click.echo(
            f"Lưu ý: chương trình khác còn khoản chi tiền mặt chưa chi tại văn phòng này: {named}; dùng --program.\n"
            f"Note: other programmes have cash payments still open at this office: {named_en}; use --program.",
            err=True,
        )
    if rows and not payable(program):  # the list is still printed: the office needs it to close these payments
        last = dmy(program.last_payable_day)
        click.echo(
            f"Chương trình đã hết hạn chi trả ngày {last}: không ghi nhận được khoản chi nào trong danh sách này.\n"
            f"The programme stopped paying on {last}: no payment on this list can be recorded.",
            err=True,
        )


def _user(email: str | None) -> User | None:
    if email is None:
        return None
    user = get_user_by_email(email)
    if user is None:
        _refuse(f"Không có người dùng {email}.", f"There is no user {email}.")
    return user


@click.command("cash-paid", short_help="Ghi đã chi tiền mặt / Record a cash payment.")
@with_appcontext
@click.argument("reference")
@click.argument("receipt")
@click.option("--by", "email", help="E-mail của cán bộ đã chi / The caseworker who paid (their e-mail).")
def cash_paid_cmd(reference: str, receipt: str, email: str | None) -> None:
    """Ghi nhận khoản REFERENCE đã chi tiền mặt tại cơ quan BHXH theo số biên lai RECEIPT (cùng biên lai lần nữa: báo
    như vậy, mã thoát 0).

    Record the cash payment REFERENCE at the office against its receipt number RECEIPT (the same receipt again:
    said, exit 0)."""
    actor = _user(email)
    try:
        payment = record_cash_payment(reference, receipt, actor)
    except AlreadyRecorded as exc:
        db.session.rollback()
        click.echo(f"{exc.message_vi}\n{exc.message_en}")
        return
    except CashRefused as exc:
        _refuse(exc.message_vi, exc.message_en)
    db.session.commit()
    click.echo(
        f"Đã chi tiền mặt khoản {payment.provider_reference}: {vnd(payment.amount_vnd, 'vi')}, biên lai số "
        f"{payment.receipt_number}.\nPaid in cash: {payment.provider_reference}, {vnd(payment.amount_vnd, 'en')}, "
        f"receipt number {payment.receipt_number}."
    )


@click.command("offer-cash", short_help="Chi tiền mặt cho hồ sơ / Pay a claim in cash.")
@with_appcontext
@click.argument("claim_id", type=RECORD_ID)
@click.option(
    "--by",
    "email",
    help="E-mail của cán bộ đã thống nhất với người lao động / The caseworker who agreed it with the person (their "
    "e-mail).",
)
@click.option(
    "--early",
    "reason",
    help="Trước khi đủ số lần chi không thành công của chương trình: lý do (ví dụ không có tài khoản ngân hàng) / "
    "Before the program's limit of failed payments: why (e.g. no bank account).",
)
def offer_cash_cmd(claim_id: int, email: str | None, reason: str | None) -> None:
    """Chi tiền mặt tại cơ quan BHXH cho hồ sơ CLAIM_ID (đang chờ thông tin thanh toán): lô tiền mặt tiếp theo nhận
    hồ sơ.

    Pay CLAIM_ID (waiting for payment details) in cash at the office: the next cash batch takes it."""
    actor = _user(email)
    reason = (reason or "").strip() or None  # --early "" gives no reason: the limit holds, as on the page
    claim = claims.get_claim_for_update(claim_id)
    if claim is not None and offered_already(claim):  # run again: done already, as the page's second click
        db.session.rollback()
        click.echo(
            f"Hồ sơ {claim_id} đã được chuyển sang nhận tiền mặt tại cơ quan BHXH từ trước.\n"
            f"Claim {claim_id} was already to be paid in cash at the office."
        )
        return
    try:
        offer_cash(claim_id, actor, early=reason is not None, reason=reason)
    except CashRefused as exc:
        _refuse(exc.message_vi, exc.message_en)
    db.session.commit()
    click.echo(
        f"Hồ sơ {claim_id} sẽ được chi tiền mặt tại cơ quan BHXH.\nClaim {claim_id} will be paid in cash at the office."
    )


@click.command("cash-withdraw", short_help="Rút khỏi danh sách tiền mặt / Take off the cash list.")
@with_appcontext
@click.argument("reference")
@click.option(
    "--reason",
    required=True,
    help="Lý do cơ quan không chi khoản này nữa (ví dụ người lao động xin chuyển khoản) / Why the office no longer "
    "pays it (e.g. the person asked for a transfer).",
)
@click.option(
    "--by",
    "email",
    help="E-mail của cán bộ rút khoản khỏi danh sách / The caseworker who took it off the list (their e-mail).",
)
def cash_withdraw_cmd(reference: str, reason: str, email: str | None) -> None:
    """Rút khoản tiền mặt REFERENCE chưa chi khỏi danh sách của cơ quan: hồ sơ chuyển sang chờ bổ sung thông tin (tài
    khoản ngân hàng, hoặc ``offer-cash`` cho danh sách sau).

    Take the cash payment REFERENCE, not yet paid, off its office's list: its claim then waits for details (a bank
    account, or ``offer-cash`` for the next list)."""
    actor = _user(email)
    try:
        payment = withdraw_cash_payment(reference, actor, reason)
    except CashRefused as exc:  # nothing was changed
        done = payment_by_reference(reference.strip()) if exc.code == "not_payable" else None
        if done is not None and withdrawn_with(done.id, reason):  # the same command run again
            click.echo(
                f"Khoản {done.provider_reference} đã được rút khỏi danh sách chi tiền mặt với lý do này: không ghi "
                f"thêm.\n{done.provider_reference} was already taken off the cash list for this reason: nothing more "
                "recorded."
            )
            return
        _refuse(exc.message_vi, exc.message_en)
    db.session.commit()
    click.echo(
        f"Đã rút khoản {payment.provider_reference} khỏi danh sách chi tiền mặt; hồ sơ {payment.claim_id} chờ bổ sung "
        f"thông tin.\nTook {payment.provider_reference} off the cash list; claim {payment.claim_id} waits for details."
    )


#: Added to ``disburse payments`` by :mod:`disburse.payments.cli`.
CASH_COMMANDS = (cash_list_cmd, cash_paid_cmd, offer_cash_cmd, cash_withdraw_cmd)
