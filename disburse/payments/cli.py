"""``disburse payments …``: batches, sending and status, bank files, cash at the office, reconciliation.

- ``batch``: approved claims into batches now (beat does it every minute);
- ``batches``: the batches, with their control totals and how their payments stand;
- ``send BATCH``: hand a batch to its provider (asking first, if it was handed over before);
- ``chase``: ask the provider about every payment sent and not settled (the sweeper's work, now);
- ``export BATCH``: a bank-file batch's ISO 20022 pain.001 file into the outbox (the same file every time);
- ``import-status FILE``: a pain.002 or camt.054 file from the bank, applied (a second import changes nothing).
- ``reconcile``: a day's payments against the provider's statement (:mod:`disburse.payments.reconcile_cli`);
- ``recoveries``, ``recovery ID``: money returned after settlement; ``recovery ID STATE --after-step N`` moves one on,
  decided at its step N (the same command run again records once; a step in between refuses it).

Exit codes: 0 done; 1 done, but some of the file's references are not ours or their amounts differ (listed); 2 the
input cannot be used and nothing changed. Messages are Vietnamese, then English.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from disburse.bulk import any_of
from disburse.cli import PROGRAM_OPTION
from disburse.extensions import RECORD_ID, VND, db
from disburse.formatting import counted, dmy, moment, number, vnd
from disburse.payments import batches as payment_batches
from disburse.payments import sending
from disburse.payments import service as payments
from disburse.payments.cash_cli import CASH_COMMANDS
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.providers import PermanentError, ProviderError
from disburse.payments.reconcile_cli import reconcile_cmd
from disburse.payments.states import label as payment_state_label
from disburse.payments.status import Applied, apply_updates
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program

payments_cli = AppGroup(
    "payments",
    help="Chi trả: lô, ngân hàng, tệp / Payments: batches, providers, status files.",
    short_help="Chi trả / Payments.",
)

EXIT_DIFFERENCES = 1
EXIT_UNUSABLE = 2


def _fail(vi: str, en: str) -> None:
    click.echo(f"{vi}\n{en}", err=True)
    sys.exit(EXIT_UNUSABLE)


class _BatchName(click.ParamType):
    """A batch as the command line names it: its number (``payments batches`` prints ``#1 NQ116-B1``), or its
    reference, in any case (``NQ116-B1``: the name of its bank file, what the bank's pain.002 quotes). A number is
    checked as every record's number is (:data:`RECORD_ID`: out of range is a usage error); a reference is looked up
    by :func:`_batch`."""

    name = "batch"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.lstrip("+-").isascii() and text.lstrip("+-").isdigit():
            return RECORD_ID.convert(text, param, ctx)  # type: ignore[arg-type]  # it parses text as Click does
        return text


#: A batch's number or reference, as a command's argument.
BATCH = _BatchName()


def _batch(named: int | str, provider: str | None = None) -> PaymentBatch:
    """The batch ``named`` (its number, or its reference in any case); an unknown one refused, exit 2."""
    if isinstance(named, int):
        batch = db.session.get(PaymentBatch, named)
    else:
        batch = db.session.scalar(select(PaymentBatch).where(func.upper(PaymentBatch.reference) == named.upper()))
    if batch is None:
        shown = named if isinstance(named, int) else f"'{named}'"
        _fail(
            f"Không có lô chi trả {shown} (số hoặc mã lô như `disburse payments batches` in ra: #1 NQ116-B1).",
            f"There is no payment batch {shown} (its number or reference, as `disburse payments batches` prints them: "
            "#1 NQ116-B1).",
        )
    assert batch is not None
    if provider and batch.provider != provider:
        _fail(
            f"Lô {batch.id} ({batch.reference}) chi qua '{batch.provider}', không phải '{provider}'.",
            f"Batch {batch.id} ({batch.reference}) is paid through '{batch.provider}', not '{provider}'.",
        )
    return batch


@payments_cli.command("batch", short_help="Lập lô các hồ sơ đã duyệt / Batch the approved claims now.")
@PROGRAM_OPTION
def batch_cmd(program_code: str | None) -> None:
    """Đưa ngay mọi hồ sơ đã duyệt vào một lô chi trả theo kênh của hồ sơ (beat làm việc này mỗi phút).

    Put every approved claim into a batch of its channel now (beat does it every minute)."""
    try:
        program = get_program(program_code or current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound as exc:
        _fail(*exc.words)
        return
    size = int(current_app.config["DISBURSE_PAYMENT_BATCH_SIZE"])
    try:
        payments.check_payable(program)
    except payments.PaymentPeriodEnded as exc:
        # Most often another shell's default (NQ116, long over, beside the demo's DEMO116): say how to name another,
        # as `lists build` does.
        others = [
            code for code in db.session.scalars(select(Program.code).order_by(Program.code)) if code != program.code
        ]
        if not others:
            _fail(exc.vi, exc.en)
            return
        shown = ", ".join(others)
        _fail(
            f"{exc.vi} Dùng --program để chọn chương trình khác ({shown}).",
            f"{exc.en} Use --program to choose another programme ({shown}).",
        )
        return
    made = []
    for channel, provider in sending.channels():
        while (batch := sending.make_batch(program, channel, provider, size=size)) is not None:
            db.session.commit()
            made.append(batch)
    for batch in made:
        click.echo(
            f"#{batch.id} {batch.reference} {batch.provider}: {number(batch.item_count)} · {vnd(batch.total_vnd)}"
        )
    click.echo(
        f"Đã lập {number(len(made), locale='vi')} lô chi trả. / "
        f"{counted(len(made), 'payment batch', 'payment batches')} made."
    )


#: Orders held back listed under each batch by ``disburse payments batches`` (a batch refused whole holds back all of
#: its orders, thousands): the most often held back, then how many more.
HELD_SHOWN_PER_BATCH = 20


@payments_cli.command("batches", short_help="Các lô gần nhất / The latest batches.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Số lô gần nhất được liệt kê / How many of the latest batches to list.",
)
def batches_cmd(limit: int) -> None:
    """Các lô gần nhất: tổng kiểm soát và tình trạng các khoản chi của lô, kèm các lệnh bên chi trả giữ lại.

    The latest batches: control totals and how their payments stand, with the orders the provider holds back."""
    rows = payment_batches.latest(limit=limit).rows
    batches = [row.batch for row in rows]
    states = {
        row.batch.id: "".join(
            f" {' / '.join(payment_state_label(state, row.batch.channel))}: {number(amount.count)}"
            for state, amount in sorted(row.by_state.items())
        )
        for row in rows
    }
    held = sending.orders_held_back(None, batch_ids=list(states), per_batch=HELD_SHOWN_PER_BATCH)
    held_by_batch: dict[int, list[sending.HeldBack]] = {}
    for order in held.shown:
        held_by_batch.setdefault(order.batch_id, []).append(order)
    click.echo("Lô / Batch · Kênh / Channel · Trạng thái / State · Số lệnh, tổng tiền / Count, total · Ngày gửi / Sent")
    for b in batches:
        sent = dmy(b.sent_at) if b.sent_at else "—"
        waiting = " · chờ bàn giao / waiting to be handed over" if b.state == "sent" and not b.acknowledged_at else ""
        error = f"  ! {b.last_error[:500]}" if b.last_error else ""
        channel = " / ".join(payment_batches.CHANNEL_LABELS.get(b.channel, (b.channel, b.channel)))
        state = " / ".join(payment_batches.STATE_LABELS.get(b.state, (b.state, b.state)))
        click.echo(
            f"#{b.id} {b.reference} · {channel} ({b.provider}) · {state} · {number(b.item_count)}, "
            f"{vnd(b.total_vnd)} · {sent}{waiting} ·{states[b.id]}{error}"
        )
        shown = held_by_batch.get(b.id, [])
        for order in shown:
            _echo_held_back(order)
        if shown and (more := shown[0].of_batch - len(shown)) > 0:
            click.echo(
                f"   … và {number(more, locale='vi')} lệnh khác bị giữ lại / and {number(more, locale='en')} more "
                "held back"
            )
    if held.alerts:
        click.echo(
            f"!! {number(held.alerts, locale='vi')} lệnh bị bên chi trả giữ lại từ {held.alert_at} lần trở lên: hãy "
            f"khắc phục nguyên nhân. / {counted(held.alerts, 'order')} held back by the provider "
            f"{counted(held.alert_at, 'time')} or more: fix the cause."
        )


def _echo_held_back(order: sending.HeldBack) -> None:
    """One order its provider holds back, under its batch: how often, until when, why; flagged past the alert."""
    flag = "!!" if order.alert else " -"
    alert = " · CẢNH BÁO / ALERT" if order.alert else ""
    click.echo(
        f"  {flag} {order.reference}: giữ lại {number(order.times, locale='vi')} lần / held back "
        f"{counted(order.times, 'time')}, gửi lại sau / sent again after {moment(order.until)}{alert} · "
        f"{order.reason or '—'}"
    )


@payments_cli.command("send", short_help="Bàn giao một lô / Hand a batch to its provider.")
@click.argument("batch_name", metavar="BATCH", type=BATCH)
@click.option(
    "--held-now",
    is_flag=True,
    help="Các lệnh bên chi trả giữ lại: thôi chờ, bàn giao lại ngay (khi đã khắc phục nguyên nhân) / Orders the "
    "provider held back: their wait cut short, handed over now (once their cause is fixed).",
)
def send_cmd(batch_name: int | str, held_now: bool) -> None:
    """Bàn giao lô BATCH (số hoặc mã lô) cho bên chi trả (nếu đã bàn giao trước đó: hỏi trước, chỉ gửi những lệnh bên
    chi trả chưa nhận).

    Hand BATCH (its number or reference) to its provider (if it was handed over before: ask first, send only what
    it never saw)."""
    batch = _batch(batch_name)
    batch_id = batch.id
    if _all_settled(batch):
        return
    if held_now:
        cut = sending.end_waits(batch.id)
        click.echo(
            f"Lô {batch_id}: {number(cut, locale='vi')} lệnh bị giữ lại được gửi lại ngay. / Batch {batch_id}: "
            f"{counted(cut, 'held-back order')} handed over again now."
        )
    try:
        sent = _hand_over(batch)
    except ProviderError as exc:
        _fail(f"Chưa gửi được lô {batch_id}: {exc}", f"Batch {batch_id} could not be sent: {exc}")
        return
    _echo_sent(sent)


#: A payment's states once it is settled one way or the other: nothing of it is left to hand over.
SETTLED = {
    "paid": ("đã chi", "paid"),
    "failed": ("không thành công", "failed"),
    "returned": ("bị trả lại", "returned"),
    "cancelled": ("đã hủy", "cancelled"),
}


def _all_settled(batch: PaymentBatch) -> bool:
    """Whether every payment of a batch handed over before is settled, said so: ``send`` said "1 orders handed over"
    of a batch paid in full, though it handed nothing over (a bank file found in the outbox is left as it is)."""
    if batch.state == "open":
        return False
    counts = dict(
        db.session.execute(
            select(Payment.state, func.count()).where(Payment.batch_id == batch.id).group_by(Payment.state)
        ).all()
    )
    if not counts or set(counts) - set(SETTLED):
        return False
    total = sum(counts.values())
    states_vi = ", ".join(f"{SETTLED[s][0]} {number(n, locale='vi')}" for s, n in sorted(counts.items()))
    states_en = ", ".join(f"{SETTLED[s][1]} {number(n, locale='en')}" for s, n in sorted(counts.items()))
    every_en = f"its {counted(total, 'order')} {'is' if total == 1 else 'are all'}"
    click.echo(
        f"Lô {batch.id} ({batch.reference}): không có gì để gửi, cả {number(total, locale='vi')} lệnh đã có kết quả "
        f"({states_vi}). / Batch {batch.id} ({batch.reference}): nothing to send, {every_en} already settled "
        f"({states_en})."
    )
    return True


def _hand_over(batch: PaymentBatch) -> sending.Sent:
    """Hand ``batch`` to its provider (:func:`disburse.payments.sending.send_batch`: a bank file is the whole batch
    again, found in the outbox and left as it is, or written again, the same, if it was lost)."""
    return sending.send_batch(batch.id)


def _echo_sent(sent: sending.Sent) -> None:
    if sent.busy:
        click.echo(
            f"Lô {sent.batch_id} đang được một tiến trình khác bàn giao; không gửi thêm. / Batch {sent.batch_id} is "
            "being handed over by another run; nothing more was sent."
        )
        return
    if sent.error:  # the provider took none of it: nothing was handed over, whatever the count of orders
        _fail(
            f"Ngân hàng từ chối lô {sent.batch_id}: {sent.error}. Chưa lệnh nào được bàn giao; sửa nguyên nhân rồi "
            "gửi lại.",
            f"The provider refused batch {sent.batch_id}: {sent.error}. No order was handed over; fix the cause, then "
            "send it again.",
        )
    click.echo(
        f"Lô {sent.batch_id}: đã gửi {number(sent.orders, locale='vi')} lệnh. / Batch {sent.batch_id}: "
        f"{counted(sent.orders, 'order')} handed over."
    )
    if sent.waiting:
        click.echo(
            f"  {number(sent.waiting, locale='vi')} lệnh bị bên chi trả giữ lại chưa hết thời gian chờ: chưa gửi "
            f"lại. / {counted(sent.waiting, 'order')} held back by the provider "
            f"{'is' if sent.waiting == 1 else 'are'} still waiting: not sent again."
        )
    _echo_applied(sent.applied)


def _echo_applied(applied: dict[str, Any]) -> None:
    shown = {key: value for key, value in applied.items() if isinstance(value, int) and value}
    if shown:
        click.echo("  " + ", ".join(f"{key}={number(value)}" for key, value in shown.items()))


@payments_cli.command("chase", short_help="Hỏi kết quả khoản đã gửi / Ask about payments sent.")
@click.option(
    "--older-than",
    "older_than_s",
    type=click.IntRange(0),
    help="Chỉ các khoản đã gửi quá số giây này (mặc định: DISBURSE_PAYMENT_STATUS_AFTER_S) / Only payments sent "
    "longer ago than these seconds (default: DISBURSE_PAYMENT_STATUS_AFTER_S).",
)
def chase_cmd(older_than_s: int | None) -> None:
    """Hỏi bên chi trả về mọi khoản đã gửi mà chưa có kết quả; gửi lại những khoản bên chi trả chưa nhận.

    Ask the provider about every payment sent and not settled; send again what it never saw."""
    seconds = current_app.config["DISBURSE_PAYMENT_STATUS_AFTER_S"] if older_than_s is None else older_than_s
    for _channel, provider in sending.channels():
        try:
            chased = sending.chase(provider, older_than=timedelta(seconds=seconds))
        except ProviderError as exc:
            _fail(f"Không hỏi được '{provider}': {exc}", f"'{provider}' could not be asked: {exc}")
            return
        click.echo(
            f"{provider}: đã hỏi {number(chased.asked)}, gửi lại {number(chased.resent)}. / asked "
            f"{number(chased.asked)}, sent again {number(chased.resent)}."
        )
        _echo_applied(chased.as_dict())


@payments_cli.command("export", short_help="Ghi tệp pain.001 của lô / Write a batch's pain.001 file.")
@click.argument("batch_name", metavar="BATCH", type=BATCH)
def export_cmd(batch_name: int | str) -> None:
    """Ghi lô chi qua tệp ngân hàng BATCH (số hoặc mã lô) thành tệp ISO 20022 pain.001.001.09 vào thư mục gửi (lần
    nào cũng cùng một tệp: xuất lần hai không ghi gì mới).

    Write bank-file batch BATCH (its number or reference) as an ISO 20022 pain.001.001.09 file into the outbox
    (the same file every time: a second export writes nothing new)."""
    batch = _batch(batch_name, provider="bankfile")
    batch_id = batch.id
    try:
        sent = _hand_over(batch)
    except ProviderError as exc:
        _fail(f"Không ghi được tệp của lô {batch_id}: {exc}", f"Batch {batch_id}'s file cannot be written: {exc}")
        return
    if sent.busy:
        _fail(
            f"Lô {batch_id} đang được một tiến trình khác bàn giao; hãy thử lại sau ít phút.",
            f"Batch {batch_id} is being handed over by another run; try again in a few minutes.",
        )
    if sent.error:  # said once, and before anything that reads as done (it said the file and its totals first)
        click.echo(f"Không xuất được lô {batch_id}. / Batch {batch_id} was not exported.\n{sent.error}", err=True)
        sys.exit(EXIT_UNUSABLE)
    db.session.refresh(batch)
    outbox = Path(current_app.config["DISBURSE_BANKFILE_DIR"] or "")
    click.echo(f"{outbox / (batch.correlation_id or '')}")
    click.echo(
        f"Lô {batch.id}: {number(batch.item_count, locale='vi')} lệnh, {vnd(batch.total_vnd, 'vi')}. / Batch "
        f"{batch.id}: {counted(batch.item_count, 'order')}, {vnd(batch.total_vnd, 'en')}."
    )


@payments_cli.command("import-status", short_help="Nhập tệp kết quả của ngân hàng / Apply a bank status file.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def import_status_cmd(path: Path) -> None:
    """Áp dụng tệp trạng thái của ngân hàng: pain.002 (chấp nhận hoặc từ chối từng khoản) hoặc camt.054 (đã hạch
    toán, bị trả lại). Nhập lại cùng một tệp không thay đổi gì. Mã thoát 1 khi có mã tham chiếu không phải của ta hoặc
    số tiền khác.

    Apply a status file from the bank: pain.002 (accepted or rejected per payment) or camt.054 (booked, returned).
    Importing the same file again changes nothing. Exit 1 when some references are not ours or their amounts
    differ."""
    from disburse.payments.bankfile import OUR_PAYMENT_FILE, OriginalFileMissing, message_kind, read_status_file

    try:
        updates = read_status_file(path)
    except OriginalFileMissing as exc:  # the batch's file is written again, the same, by its export
        _fail(
            f"{exc.message_vi} Lệnh `disburse payments export {exc.message_id}` ghi lại tệp đó (giống hệt); rồi nhập "
            "lại tệp trạng thái này.",
            f"{exc.message_en} `disburse payments export {exc.message_id}` writes it again (the same file); then "
            "import this status file again.",
        )
        return
    except PermanentError as exc:
        vi, en = getattr(exc, "message_vi", str(exc)), getattr(exc, "message_en", str(exc))
        if _is_statement(path):
            reconcile = f"`disburse payments reconcile --file {path}`"
            vi += f" Đây là sao kê tài khoản (camt.053): hãy đối chiếu bằng {reconcile}."
            en += f" This is an account statement (camt.053): reconcile it with {reconcile}."
        elif message_kind(path) == "pain.001":
            vi += f" {OUR_PAYMENT_FILE[0]}"
            en += f" {OUR_PAYMENT_FILE[1]}"
        _fail(vi, en)
        return
    applied = apply_updates("bankfile", updates, source="file")
    db.session.commit()
    _report_file(path, len(updates), applied)
    if applied.unknown or applied.mismatched or applied.conflicts:
        sys.exit(EXIT_DIFFERENCES)


def _is_statement(path: Path) -> bool:
    """Whether ``path`` is a bank statement (camt.053), which the reconciliation reads, not the status import."""
    from disburse.payments.bankfile import UnreadableBankFile
    from disburse.payments.statement_file import read_statement_file

    try:
        read_statement_file(path)
    except UnreadableBankFile:
        return False
    return True


def _report_file(path: Path, count: int, applied: Applied) -> None:
    refused = len(applied.unknown) + len(applied.mismatched) + len(applied.conflicts)
    click.echo(
        f"{path.name}: {number(count)} trạng thái; đã chi {number(applied.settled)}, không thành công "
        f"{number(applied.failed)}, bị trả lại {number(applied.returned)}, không có gì mới {number(applied.ignored)}, "
        f"không áp dụng {number(refused)}."
    )
    click.echo(
        f"{path.name}: {counted(count, 'status', 'statuses')}; settled {number(applied.settled, locale='en')}, failed "
        f"{number(applied.failed, locale='en')}, returned {number(applied.returned, locale='en')}, nothing new "
        f"{number(applied.ignored, locale='en')}, not applied {number(refused, locale='en')}."
    )
    # A reference of ours that went another way (the sandbox, cash) is ours, but not the bank file's to settle.
    elsewhere: dict[str, str] = {}
    if applied.unknown:
        found = select(Payment.provider_reference, Payment.provider).where(
            any_of(Payment.provider_reference, applied.unknown), Payment.provider != "bankfile"
        )
        elsewhere = {reference: provider for reference, provider in db.session.execute(found)}
    for reference in applied.unknown:
        if reference in elsewhere:
            provider = elsewhere[reference]
            click.echo(
                f"  Lệnh chi này không gửi qua tệp ngân hàng (kênh {provider}), không áp dụng / This payment was not "
                f"sent by bank file (it went by {provider}); not applied: {reference}",
                err=True,
            )
        else:
            click.echo(f"  Không có lệnh chi này / Not one of our payments: {reference}", err=True)
    for reference in applied.mismatched:
        click.echo(f"  Số tiền khác với lệnh chi / The amount differs from ours: {reference}", err=True)
    for reference in applied.conflicts:
        click.echo(
            f"  Ngân hàng báo đã chuyển tiền cho lệnh chi ta ghi là không thành công hoặc đã hủy; không áp dụng, "
            f"hãy đối chiếu sao kê trước khi chi lại / The bank says money moved for a payment we hold failed or "
            f"cancelled; not applied, check the statement before paying the claim again: {reference}",
            err=True,
        )


@payments_cli.command("recoveries", short_help="Các khoản phải thu hồi / Money owed back.")
@click.option(
    "--state",
    type=click.Choice(["owed", "recovered", "written_off", "closed"]),
    help="Chỉ các khoản ở trạng thái này (owed: phải thu, recovered: đã thu, written_off: xoá nợ, closed: đã đóng) / "
    "Only those in this state (owed: still owed, recovered, written_off: written off, closed).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Số khoản gần nhất được liệt kê / The latest N.",
)
def recoveries_cmd(state: str | None, limit: int) -> None:
    """Tiền bị trả lại sau khi đã chi: khoản Quỹ phải thu hồi, và kết quả thu hồi (mới nhất trước, mỗi khoản kèm số
    đã thu về; tổng cộng tính trên tất cả).

    Money returned after settlement: what the fund is owed back, and what became of it (the latest first, each
    with what has come back of it; the totals are of all of them)."""
    from disburse.payments.recoveries import LABELS, recoveries

    rows, count, amount, recovered = recoveries(state, limit=limit)
    for r in rows:
        vi, en = LABELS[r.state]
        click.echo(
            f"#{r.id} · hồ sơ / claim {r.claim_id} · khoản chi / payment {r.payment_id} · {vnd(r.recovered_vnd)} / "
            f"{vnd(r.amount_vnd)} · "
            f"{vi} / {en}"
        )
    shown_vi = f"{number(len(rows), locale='vi')} khoản gần nhất trong " if len(rows) < count else ""
    shown_en = f"the latest {number(len(rows), locale='en')} of " if len(rows) < count else ""
    click.echo(
        f"{shown_vi}{number(count, locale='vi')} khoản thu hồi: phải thu {vnd(amount, 'vi')}, đã thu "
        f"{vnd(recovered, 'vi')}.\n{shown_en.capitalize()}{counted(count, 'recovery', 'recoveries')}: owed "
        f"{vnd(amount, 'en')}, recovered {vnd(recovered, 'en')}."
    )


@payments_cli.command("recovery", short_help="Xem, ghi bước thu hồi / Show or move a recovery.")
@click.argument("recovery_id", type=RECORD_ID)
@click.argument("to_state", required=False, type=click.Choice(["recovered", "written_off", "closed"]))
@click.option(
    "--after-step",
    "after_step",
    type=RECORD_ID,
    help="Cùng trạng thái (bắt buộc): bước cuối của khoản thu hồi mà bạn đã xem (lệnh này in ra), để lệnh chạy lại "
    "không ghi thêm / With a state (needed): the recovery's last step as you saw it (printed by this command), so "
    "that the same command run again records nothing more.",
)
@click.option("--note", default="", help="Lý do (bắt buộc khi xoá nợ) / Why (needed for a write-off).")
@click.option(
    "--by",
    "by_email",
    help="Cùng trạng thái (bắt buộc): e-mail của người quyết định, lãnh đạo hoặc quản trị viên / With a state "
    "(needed): who decided, a supervisor's or admin's e-mail.",
)
@click.option(
    "--amount",
    type=VND,
    help="Cùng recovered: số tiền đã thu về, đồng (mặc định: toàn bộ số còn phải thu; ít hơn thì phần còn lại vẫn phải "
    "thu) / With recovered: the sum back, in VND (default: all still owed; less leaves the rest owed).",
)
def recovery_cmd(
    recovery_id: int, to_state: str | None, after_step: int | None, note: str, by_email: str | None, amount: int | None
) -> None:
    """Không có trạng thái: khoản thu hồi RECOVERY_ID và các bước của nó, đánh số. Có trạng thái thì chuyển tiếp:
    recovered (đã thu về, hoặc --amount trong số đó), written_off (không thu về được), closed; --after-step là bước
    cuối bạn đã xem, để lệnh chạy lại (thử lại, gõ hai lần) chỉ ghi một lần, và một bước người khác ghi xen vào thì
    lệnh dừng.

    Without a state: the recovery and its steps, numbered. With one, move it on: recovered (the money is back, or
    --amount of it), written_off (it will not come back), closed; --after-step is the last step you saw, so that the
    same command run again (a retry, a line typed twice) records once, and a step someone else recorded in between
    stops it."""
    from disburse.auth.models import User
    from disburse.payments.recoveries import ChangedSince, RecoveryRefused, move, step_event_id

    if to_state is None:
        if after_step is not None or amount is not None or note or by_email:
            _fail(
                "--after-step, --amount, --note và --by chỉ dùng khi chuyển trạng thái.",
                "--after-step, --amount, --note and --by go with a state to move to.",
            )
        _echo_recovery(recovery_id)
        return
    if after_step is None:
        _fail(
            f"Cần --after-step: bước cuối của khoản thu hồi mà bạn đã xem (lệnh 'disburse payments recovery "
            f"{recovery_id}' in ra), để lệnh chạy lại không ghi hai lần.",
            f"--after-step is needed: the recovery's last step as you saw it (printed by 'disburse payments recovery "
            f"{recovery_id}'), so that the command run again does not record twice.",
        )
    assert after_step is not None
    if not by_email:  # a step is someone's decision: the system's steps are the reconciliation's alone
        _fail(
            "Cần --by: e-mail của người quyết định (lãnh đạo phụ trách tỉnh của hồ sơ, hoặc quản trị viên); bước "
            "được ghi dưới tên người đó.",
            "--by is needed: the e-mail of who decided (a supervisor of the claim's province, or an admin); the step "
            "is recorded under their name.",
        )
    assert by_email
    actor = db.session.scalar(select(User).where(func.lower(User.email) == by_email.lower()))
    if actor is None:
        _fail(f"Không có người dùng {by_email}.", f"There is no user {by_email}.")
    seen = step_event_id(recovery_id, after_step)
    if seen is None:
        steps = _steps(recovery_id)
        if not steps:
            _fail(f"Không có khoản thu hồi số {recovery_id}.", f"There is no recovery {recovery_id}.")
        _fail(
            f"Khoản thu hồi {recovery_id} chỉ có {len(steps)} bước, không có bước {after_step}.",
            f"Recovery {recovery_id} has {len(steps)} step{'s' if len(steps) > 1 else ''}, not a step {after_step}.",
        )
    try:
        moved = move(recovery_id, to_state, actor, note, amount, seen=seen)
    except ChangedSince:
        db.session.rollback()
        since = _steps(recovery_id)[after_step:]
        click.echo(
            f"Khoản thu hồi {recovery_id} đã có bước khác được ghi sau bước {after_step} bạn đã xem; không ghi gì. "
            f"Hãy xem lại rồi quyết định:",
            err=True,
        )
        for line in since:
            click.echo(f"  {line}", err=True)
        click.echo(
            f"Recovery {recovery_id} has had other steps recorded after step {after_step}, the one you saw; nothing "
            f"recorded. Look at it again before deciding.",
            err=True,
        )
        sys.exit(EXIT_UNUSABLE)
    except RecoveryRefused as exc:
        _fail(exc.message_vi, exc.message_en)
        return
    recovery, step = moved.recovery, after_step + 1
    if not moved.recorded:
        db.session.rollback()
        click.echo(
            f"Bước {step} của khoản thu hồi {recovery_id} đã ghi đúng như vậy rồi: không ghi thêm. / Step {step} of "
            f"recovery {recovery_id} already records this: nothing more recorded."
        )
    else:
        db.session.commit()
    from disburse.payments.recoveries import LABELS

    click.echo(
        f"#{recovery.id}: {' / '.join(LABELS[recovery.state])} · đã thu / recovered {vnd(recovery.recovered_vnd)} "
        f"/ {vnd(recovery.amount_vnd)} · bước cuối / last step {step}"
    )


def _steps(recovery_id: int) -> list[str]:
    """The recovery's steps, numbered from 1 (its opening), one line each: when, who, from → to, the sum, the note."""
    from disburse.payments.recoveries import LABELS, history

    def said(state: str) -> str:
        return " / ".join(LABELS.get(state, (state, state)))

    lines = []
    for n, step in enumerate(history(recovery_id), start=1):
        if step.from_state is None:
            moved = f"Mở / Opened: {said(step.to_state)}"
        elif step.from_state == step.to_state:  # money back, not all of it: as the supervisors' page says it
            moved = "Thu hồi một phần / Part recovered"
        else:
            moved = f"{said(step.from_state)} → {said(step.to_state)}"
        amount = f" · {vnd(step.recovered_vnd)}" if step.recovered_vnd else ""
        note = f" · {step.note}" if step.note else ""
        lines.append(f"{n}. {moment(step.at)} · {step.who or 'hệ thống / system'} · {moved}{amount}{note}")
    return lines


def _echo_recovery(recovery_id: int) -> None:
    from disburse.payments.recoveries import LABELS, one

    row = one(recovery_id)
    if row is None:
        _fail(f"Không có khoản thu hồi số {recovery_id}.", f"There is no recovery {recovery_id}.")
    assert row is not None
    r = row.recovery
    vi, en = LABELS[r.state]
    click.echo(
        f"#{r.id} · {row.person} · hồ sơ / claim {r.claim_id} · {row.reference} · {vi} / {en} · "
        f"{vnd(r.recovered_vnd)} / {vnd(r.amount_vnd)}"
    )
    steps = _steps(recovery_id)
    for line in steps:
        click.echo(f"  {line}")
    click.echo(
        f"Bước cuối: {len(steps)} (ghi bước tiếp với --after-step {len(steps)}). / Last step: {len(steps)} (record the "
        f"next with --after-step {len(steps)})."
    )


for command in CASH_COMMANDS:  # cash-list, cash-paid (disburse/payments/cash_cli.py)
    payments_cli.add_command(command)
payments_cli.add_command(reconcile_cmd)
