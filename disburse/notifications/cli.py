"""``disburse notifications list|send``: the e-mail outbox for operators (docs/operations.md, "Notifications")."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from disburse.extensions import db
from disburse.formatting import moment
from disburse.notifications import service
from disburse.notifications.models import STATES

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
    rows = [("id", "state", "attempts", "kind", "recipient", "created", "sent / next", "last error")]
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
    if len(rows) == 1:
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
