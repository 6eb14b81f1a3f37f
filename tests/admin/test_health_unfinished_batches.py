"""The health page's unfinished batches: those with a payment that has no outcome yet (queued or sent), per provider,
not every batch ever made (a batch stays ``sent`` once handed over, whatever became of its payments)."""

from __future__ import annotations

import re

from disburse.admin import service
from disburse.extensions import db
from disburse.payments.models import PaymentBatch
from disburse.payments.states import PaymentState
from tests.factories import create_payment, create_program

S = PaymentState


def _batch(program, provider: str, *states: PaymentState) -> PaymentBatch:
    batch = PaymentBatch(
        program_id=program.id,
        channel="cash" if provider == "cash" else "bank",
        provider=provider,
        state="open" if states == (S.QUEUED,) else "sent",
    )
    db.session.add(batch)
    db.session.flush()
    for state in states:
        create_payment(state=state, provider=provider, batch_id=batch.id)
    return batch


def _unfinished_batches(program) -> None:
    _batch(program, "sandbox", S.PAID, S.PAID)  # all paid: finished
    _batch(program, "sandbox", S.PAID, S.SENT, S.SENT)  # one paid, two waiting for the bank
    _batch(program, "sandbox", S.QUEUED)  # not handed over yet
    _batch(program, "sandbox", S.FAILED, S.RETURNED, S.CANCELLED)  # every payment has its outcome
    _batch(program, "cash", S.SENT)  # waiting at the office
    _batch(program, "cash", S.PAID)
    _batch(program, "bankfile", S.SENT)  # another provider's


def test_batches_count_while_one_of_their_payments_has_no_outcome(db_session):
    _unfinished_batches(create_program())
    assert service.unfinished_batches() == {"sandbox": 2, "cash": 1, "bankfile": 1}
    shown = {p.name: p.pending_batches for p in service.providers()}
    assert shown == {"sandbox": 2, "cash": 1}  # the providers the programme pays through (sandbox in the tests)


def test_the_health_page_shows_the_unfinished_batches(admin_client, db_session):
    _unfinished_batches(create_program())
    html = admin_client.get("/admin/health").get_data(as_text=True)
    html = html.split("Tiến trình xử lý")[0]  # the providers' table
    rows = {
        name: count
        for name, count in re.findall(r"<tr>\s*<td>(\w+)</td>.*?<td class=\"num\">([\d.]+)</td>\s*</tr>", html, re.S)
    }
    assert rows == {"sandbox": "2", "cash": "1"}


def test_the_health_page_lists_the_batches_waiting_to_be_handed_over(admin_client, admin, db_session):
    from datetime import UTC, datetime

    program = create_program()
    stuck = _batch(program, "bankfile", S.SENT)
    stuck.last_error = (
        "Lô chờ bàn giao cho bên chi trả (tự gửi lại khi hết lỗi) / Batch waiting to be handed over to the provider"
        " (sent again once the cause is fixed): Thiếu hoặc sai tên, số tài khoản hoặc ngân hàng của quỹ"
    )
    taken = _batch(program, "sandbox", S.SENT)
    taken.acknowledged_at = datetime.now(UTC)
    _batch(program, "sandbox", S.QUEUED)  # just made, its send queued: nothing to look at yet
    db.session.flush()

    page = admin_client.get("/admin/health")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    section = html.split('id="handover"')[1].split("Cơ sở dữ liệu")[0]
    assert "1 lô chưa được đơn vị chi trả nhận" in section
    assert f'/admin/batches/{stuck.id}">#{stuck.id}</a> ' in section and "sai tên, số tài khoản" in section
    assert f'/admin/batches/{taken.id}"' not in section
    admin.locale = "en"
    db.session.flush()
    english = admin_client.get("/admin/health").get_data(as_text=True)
    assert "Batches waiting to be handed over to the provider" in english
