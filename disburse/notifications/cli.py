"""``disburse notifications list|send|retry``: the e-mail outbox for operators (docs/operations.md, "Notifications")."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from disburse.extensions import db
from disburse.formatting import dmy, moment
from disburse.notifications import service
from disburse.notifications.models import STATES
from disburse.programs.calendar import programme_today

notifications_cli = AppGroup(
    "notifications",
    help="Thư điện tử gửi đơn vị: xem hộp thư đi, gửi ngay / E-mails to units: see the outbox, send now.",
    short_help="Thư gửi đơn vị / E-mails to units.",
)


def _when(value: datetime | None) -> str:
    return moment(value) if value else "-"


@notifications_cli.command("list", short_help="Liệt kê hộp thư đi / List the outbox.")
@click.option(
    "--state", type=click.Choice(STATES), help="Chỉ các thư ở trạng thái này / Only the messages in this state."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="Số thư mới nhất được in / How many of the newest messages are printed.",
)
def list_outbox(state: str | None, limit: int) -> None:
    """In số thư theo trạng thái, rồi các thư mới nhất: số, trạng thái, số lần thử, loại, người nhận, lúc tạo, lúc
    gửi (hoặc lần thử tới), lỗi gần nhất. Giờ Việt Nam.

    Print the count of messages by state, then the newest messages: id, state, attempts, kind, recipient, created,
    sent (or next attempt), last error. Vietnam time."""
    health = service.health()
    counts = health.counts
    click.echo(
        f"Chờ gửi: {counts['queued']}; đã gửi: {counts['sent']}; thất bại: {counts['failed']} ({health.transport}). / "
        f"Queued: {counts['queued']}; sent: {counts['sent']}; failed: {counts['failed']} ({health.transport})."
    )
    # Headed in Vietnamese, then in English (the English line alone was printed).
    rows = [
        ("Số", "Trạng thái", "Lần thử", "Loại", "Người nhận", "Lúc tạo", "Đã gửi / thử lại", "Lỗi gần nhất"),
        ("id", "state", "attempts", "kind", "recipient", "created", "sent / next", "last error"),
    ]
    for row in service.outbox(limit, state):
        rows.append(
            (
                str(row.id),
                row.state,
                str(row.attempts),
                row.kind,
                row.recipient,
                _when(row.created_at),
                _when(row.sent_at if row.state == "sent" else row.next_attempt_at if row.state == "queued" else None),
                (row.last_error or "-").replace("\n", " ")[:80],
            )
        )
    if len(rows) == 2:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for line in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@notifications_cli.command("send", short_help="Gửi ngay thư đến hạn / Send the due messages now.")
def send_now() -> None:
    """Gửi ngay các thư đã đến hạn, như tác vụ notifications.send mà beat chạy mỗi phút (an toàn khi chạy cùng lúc với
    tác vụ đó: mỗi thư chỉ một bên nhận gửi).

    Send the due messages now, as beat's every-minute notifications.send does (safe beside it: each message is taken
    by one sender only)."""
    if not service.enabled():
        click.echo(
            "Thư điện tử đang tắt (chưa đặt DISBURSE_SMTP_URL): không gửi gì. / "
            "E-mails are off (DISBURSE_SMTP_URL is not set): nothing sent."
        )
        return
    try:
        done = service.deliver_all()
    except Exception:
        db.session.rollback()
        raise
    click.echo(
        f"Đã gửi {done.sent}; thử lại sau {done.retrying}; thất bại {done.failed}; để lại {done.handed_back}. / "
        f"Sent {done.sent}; to retry {done.retrying}; failed {done.failed}; left for later {done.handed_back}."
    )


@notifications_cli.command("retry", short_help="Gửi lại thư thất bại / Send failed messages again.")
@click.argument("ids", nargs=-1, type=click.IntRange(1))
@click.option("--all-failed", is_flag=True, help="Mọi thư thất bại / Every failed message.")
def retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Gửi lại các thư thất bại (các số IDS, hoặc --all-failed): đến địa chỉ cũ nếu vẫn là của đơn vị, và đến các địa
    chỉ hiện có của đơn vị mà thư chưa gửi tới (sau khi sửa thư điện tử của đơn vị trong danh mục, hay thêm người
    dùng). Thư đã quá hạn mà nó nói tới thì để nguyên.

    Send failed messages again (IDS, or --all-failed): to their address if it is still the unit's, and to the unit's
    current addresses they were not sent to (after its e-mail is corrected in the registry, or a user is added). A
    message whose deadline has passed is left as it is."""
    if bool(ids) == all_failed:
        raise click.UsageError(
            "Ghi số của thư, hoặc --all-failed (không cả hai). / Give message ids, or --all-failed (not both)."
        )
    done = service.retry_failed(sorted(set(ids)) if ids else None, programme_today())
    db.session.commit()
    left = done.chosen - done.again
    click.echo(
        f"Gửi lại {done.again} thư; thêm {done.added} thư đến địa chỉ mới; "
        f"{left} thư để nguyên (địa chỉ không còn là của đơn vị). / "
        f"Queued again {done.again}; added {done.added} to new addresses; "
        f"{left} left failed (the address is no longer the unit's)."
    )
    # Each id named and not retried, with why (an id mistyped, a message sent or still queued, a deadline gone).
    for skipped in done.passed_over:
        message_id = skipped.id
        if skipped.state is None:
            click.echo(f"Không có thư số {message_id}: bỏ qua. / There is no message {message_id}: skipped.", err=True)
        elif skipped.state != "failed":
            click.echo(
                f"Thư {message_id} đang ở trạng thái {skipped.state}, không phải failed: bỏ qua. / "
                f"Message {message_id} is {skipped.state}, not failed: skipped.",
                err=True,
            )
        elif skipped.due_on is not None:
            shown = dmy(skipped.due_on)
            click.echo(
                f"Thư {message_id} báo hạn {shown}, đã qua: để nguyên. / "
                f"Message {message_id} tells of the deadline {shown}, gone: left failed.",
                err=True,
            )
    if not service.enabled():
        click.echo(
            "Thư điện tử đang tắt (chưa đặt DISBURSE_SMTP_URL): thư chờ đến khi bật. / "
            "E-mails are off (DISBURSE_SMTP_URL is not set): the messages wait until they are on."
        )
