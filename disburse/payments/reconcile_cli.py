"""``disburse payments reconcile [--provider P] [--date D] [--file camt.053]``: our payments of a day against the
provider's statement (:mod:`disburse.payments.reconcile`), every difference printed, the run recorded.

Exit codes: 0 everything matched, 1 differences (listed), 2 nothing could be compared (a date that is not one, a
provider without a statement and no file, a file that cannot be read or is of another day, a bank that did not
answer); the message says why, in Vietnamese then English.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from config import ConfigError
from disburse.extensions import DAY, db
from disburse.formatting import counted, dmy, number, vnd
from disburse.payments.models import PROVIDERS
from disburse.payments.providers import ProviderError, RetryableError, StatementEntry
from disburse.payments.reconcile import (
    DIFFERENCE_LABELS,
    VIETNAM,
    Difference,
    NoStatement,
    ReconcileResult,
    reconcile,
)
from disburse.programs.calendar import programme_today

EXIT_DIFFERENCES = 1
EXIT_UNUSABLE = 2


def _refuse(message_vi: str, message_en: str) -> NoReturn:
    click.echo(f"{message_vi}\n{message_en}", err=True)
    sys.exit(EXIT_UNUSABLE)


def _line(difference: Difference) -> str:
    vi, en = DIFFERENCE_LABELS[(difference.kind, difference.entry)]
    ours, theirs = difference.ours_vnd, difference.theirs_vnd
    return (
        f"  {vi}: {difference.reference} — ta {vnd(ours, 'vi')}, ngân hàng {vnd(theirs, 'vi')}"
        f" / {en}: {difference.reference} — ours {vnd(ours, 'en')}, theirs {vnd(theirs, 'en')}"
    )


def _report(result: ReconcileResult) -> None:
    n, day = len(result.differences), dmy(result.day)
    click.echo(
        f"Đối soát {result.provider} ngày {day}: {number(result.matched, locale='vi')} khớp, "
        f"{number(n, locale='vi')} chênh lệch ({number(result.statement_entries, locale='vi')} bút toán trên sao kê; "
        f"{number(result.recovered, locale='vi')} khoản thu hồi đã về quỹ).\n"
        f"Reconciliation of {result.provider} for {day}: {number(result.matched, locale='en')} matched, "
        f"{counted(n, 'difference')} ({counted(result.statement_entries, 'statement entry', 'statement entries')}; "
        f"{counted(result.recovered, 'recovery', 'recoveries')} back in the fund)."
    )
    for difference in result.differences:
        click.echo(_line(difference))


def _file_entries(path: Path, day: date | None) -> tuple[date | None, list[StatementEntry]]:
    """The camt.053's entries, and the day: the one asked, else the statement's own when it has exactly one."""
    from disburse.payments.bankfile import OUR_PAYMENT_FILE, UnreadableBankFile, message_kind
    from disburse.payments.statement_file import read_statement_file

    try:
        statement = read_statement_file(path)
    except UnreadableBankFile as exc:
        vi, en = exc.message_vi, exc.message_en
        kind = message_kind(path)
        if kind in ("pain.002", "camt.054"):  # the bank's status file: the status import takes it
            status = f"`disburse payments import-status {path}`"
            vi += f" Đây là tệp trạng thái của ngân hàng ({kind}): hãy nhập bằng {status}."
            en += f" This is the bank's status file ({kind}): apply it with {status}."
        elif kind == "pain.001":
            vi, en = f"{vi} {OUR_PAYMENT_FILE[0]}", f"{en} {OUR_PAYMENT_FILE[1]}"
        _refuse(vi, en)
    ours = (current_app.config.get("DISBURSE_BANKFILE_DEBTOR_ACCOUNT") or "").replace(" ", "")
    theirs = {account.replace(" ", "") for account in statement.accounts}
    if ours and theirs and ours not in theirs:  # another account's money is not the fund's
        shown = ", ".join(sorted(statement.accounts))
        _refuse(
            f"Sao kê của tài khoản {shown}, không phải tài khoản chi của Quỹ ({ours}): không đối chiếu.",
            f"The statement is of account {shown}, not the fund's paying account ({ours}): nothing is reconciled.",
        )
    days = statement.days()
    if day is None and len(days) == 1:
        day = next(iter(days))
    elif day is None and len(days) > 1:  # which day's payments to compare it with is the operator's to say
        shown = ", ".join(dmy(d) for d in sorted(days)[:5])
        _refuse(
            f"Sao kê có bút toán của nhiều ngày ({shown}): hãy ghi ngày cần đối chiếu bằng --date.",
            f"The statement holds entries of several days ({shown}): name the day to reconcile with --date.",
        )
    other = sorted(d for d in days if d != day)
    if day is not None and other:
        shown = ", ".join(dmy(d) for d in other[:5])
        _refuse(
            f"Sao kê có bút toán ngày {shown}, không phải ngày {dmy(day)}: hãy dùng sao kê đúng ngày.",
            f"The statement holds entries booked on {shown}, not on {dmy(day)}: use the statement of that day.",
        )
    return day, statement.entries


def _run(provider: str, day: date, entries: list[StatementEntry] | None) -> ReconcileResult:
    try:
        result = reconcile(provider, day, statement=entries)
        db.session.commit()
    except NoStatement as exc:
        db.session.rollback()
        _refuse(exc.message_vi, exc.message_en)
    except ConfigError as exc:
        db.session.rollback()
        _refuse(
            f"Không lấy được sao kê của '{provider}': {exc.vi}",
            f"The '{provider}' statement could not be fetched: {exc.en}",
        )
    except ProviderError as exc:
        db.session.rollback()
        # The client's words are technical and English: said as the detail, after what happened and what to do.
        vi = f"Không lấy được sao kê của '{provider}'"
        en = f"The '{provider}' statement could not be fetched"
        if isinstance(exc, RetryableError):
            vi += ": bên chi trả không trả lời hoặc tạm thời lỗi; hãy thử lại sau"
            en += ": the provider did not answer or failed for now; try again later"
            if provider == "sandbox":
                url = current_app.config["DISBURSE_SANDBOX_URL"]
                vi += (
                    f" (ngân hàng thử nghiệm có đang chạy tại {url} không: `disburse up` hoặc "
                    "`disburse sandbox serve`?)"
                )
                en += f" (is the sandbox bank running at {url}: `disburse up` or `disburse sandbox serve`?)"
        _refuse(f"{vi}. Chi tiết kỹ thuật: {exc}", f"{en}. Technical detail: {exc}")
    except Exception:
        db.session.rollback()
        raise
    return result


@click.command("reconcile", short_help="Đối soát với sao kê / Reconcile with the statement.")
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    default=None,
    help="Bên chi trả (mặc định: DISBURSE_PAYMENT_PROVIDER) / The provider (default: DISBURSE_PAYMENT_PROVIDER).",
)
@click.option(
    "--date",
    "day",
    type=DAY,
    help="Ngày cần đối soát, dd/mm/yyyy hoặc YYYY-MM-DD (mặc định: hôm qua) / The day, dd/mm/yyyy or YYYY-MM-DD "
    "(default: yesterday).",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Sao kê camt.053 của ngân hàng, thay cho việc hỏi bên chi trả / The bank's camt.053 statement, instead of "
    "asking the provider.",
)
@with_appcontext
def reconcile_cmd(provider: str | None, day: date | None, path: Path | None) -> None:
    """Đối soát các khoản chi của một ngày với sao kê của bên chi trả; mã thoát 1 khi có chênh lệch, 2 khi không đối
    soát được.

    Compare our payments of a day with the provider's statement; exit 1 when anything differs, 2 when nothing could
    be compared."""
    provider = provider or current_app.config["DISBURSE_PAYMENT_PROVIDER"]
    entries = None
    if path is not None and provider != "bankfile":  # a bank's statement is compared with what went by bank file
        _refuse(
            f"--file là sao kê của ngân hàng, đối chiếu với các khoản chi qua tệp ngân hàng (--provider bankfile), "
            f"không với '{provider}'.",
            f"--file is the bank's statement, compared with the payments made by bank file (--provider bankfile), not "
            f"with '{provider}'.",
        )
    if path is not None:
        day, entries = _file_entries(path, day)
    day = day or programme_today() - timedelta(days=1)
    today = datetime.now(VIETNAM).date()  # the banks' calendar, whatever the programme clock says
    if day > today:  # no statement of a day to come: a run would record "all matched" for nothing
        _refuse(
            f"Ngày {dmy(day)} chưa đến (hôm nay {dmy(today)}): không có gì để đối chiếu.",
            f"{dmy(day)} has not come yet (today is {dmy(today)}): there is nothing to reconcile.",
        )
    if day == today:  # recorded as the day's run until a later one: the nightly run of tomorrow, say
        click.echo(
            f"Lưu ý: ngày {dmy(day)} chưa hết; khoản chi và sao kê còn có thể thay đổi. Kết quả này là lần được tính "
            "của ngày cho đến khi ngày được đối chiếu lại (lần chạy hằng đêm đối chiếu ngày hôm trước).\n"
            f"Note: {dmy(day)} is not over; payments and the statement may still change. This result counts for the "
            "day until the day is reconciled again (the nightly run reconciles the day before).",
            err=True,
        )
    result = _run(provider, day, entries)
    _report(result)
    sys.exit(EXIT_DIFFERENCES if result.differences else 0)
