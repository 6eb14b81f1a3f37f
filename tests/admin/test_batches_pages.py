"""The admins' payment batches pages: every batch's control totals and how its payments stand (paid, waiting for the
bank, not paid), those waiting to be handed over, and one batch's failures in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from disburse.extensions import db
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.states import PaymentState
from tests.conftest import sign_in
from tests.factories import create_payment, create_program

S = PaymentState


def _batch(program, *payments: tuple[PaymentState, str | None], **values) -> PaymentBatch:
    """A batch whose control totals are those of its payments (a claim of 1,800,000 VND each)."""
    batch = PaymentBatch(program_id=program.id, channel="bank", provider="sandbox", state="sent", **values)
    db.session.add(batch)
    db.session.flush()
    for state, code in payments:
        payment = create_payment(state=state, batch_id=batch.id)
        payment.failure_code = code
    db.session.flush()
    amounts = [p.amount_vnd for p in db.session.query(Payment).filter_by(batch_id=batch.id)]
    batch.item_count, batch.total_vnd = len(amounts), sum(amounts)
    db.session.flush()
    return batch


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, batch: PaymentBatch) -> str:
    found = re.search(rf'<tr id="batch-{batch.id}">(.*?)</tr>', html, re.S)
    assert found, f"batch {batch.id} is not listed"
    return _text(found.group(1))


def test_the_list_gives_each_batch_its_totals_and_how_its_payments_stand(admin_client, db_session):
    program = create_program()
    now = datetime.now(UTC)
    settled = _batch(program, (S.PAID, None), (S.PAID, None), (S.SENT, None), (S.FAILED, "AC04"), acknowledged_at=now)
    waiting = _batch(program, (S.SENT, None), last_error="bank unreachable")
    amount = db.session.query(Payment).filter_by(batch_id=settled.id).first().amount_vnd

    response = admin_client.get("/admin/batches")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    row = _row(html, settled)
    # count and sum fixed when it closed; two paid (a bar, the count, their sum), one at the bank, one failed
    assert f"#{settled.id}" in row and f"{settled.reference or '—'}" in row
    assert " 4 " in row and f"{4 * amount:,}".replace(",", ".") in row
    assert f"2 · {2 * amount:,}".replace(",", ".") in row
    assert row.rstrip().endswith(" 1 1")  # one waiting for the bank, one not paid
    assert f'href="/admin/batches/{settled.id}"' in html
    assert f'aria-label="Tỷ lệ đã chi trả của lô #{settled.id}"' in html and 'value="50.0"' in html
    assert "Chờ bàn giao" in _row(html, waiting) and "Chờ bàn giao" not in row
    # the totals of every batch by channel and provider
    totals = _text(re.search(r'<table id="batch-totals".*?</table>', html, re.S).group(0))
    assert f"Chuyển khoản Ngân hàng thử nghiệm (sandbox) 2 5 {5 * amount:,}".replace(",", ".") in totals


def test_the_list_is_filtered_and_paged(admin_client, db_session):
    program = create_program()
    batches = [_batch(program) for _ in range(52)]
    cash = batches[-1]
    cash.channel, cash.provider = "cash", "cash"
    db.session.flush()

    first = admin_client.get("/admin/batches").get_data(as_text=True)
    listed = [int(n) for n in re.findall(r'<tr id="batch-(\d+)">', first)]
    assert listed == [b.id for b in reversed(batches)][:50]  # the newest first, 50 a page
    next_page = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = admin_client.get(next_page).get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<tr id="batch-(\d+)">', second)] == [batches[1].id, batches[0].id]
    assert 'rel="next"' not in second and "Về trang đầu" in second

    only_cash = admin_client.get("/admin/batches?channel=cash").get_data(as_text=True)
    assert re.findall(r'<tr id="batch-(\d+)">', only_cash) == [str(cash.id)]
    none = admin_client.get("/admin/batches?state=closed").get_data(as_text=True)
    assert "Không có lô nào khớp bộ lọc." in none


def test_a_filter_out_of_its_choices_is_refused_on_its_field(admin_client, db_session):
    for query in ("state=paid", "channel=cheque", "provider=nobody", "before=0", "before=x", "before=2147483648"):
        response = admin_client.get(f"/admin/batches?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert 'class="error-summary"' in html and '<table id="batches"' not in html, query
        assert 'href="#before"' not in html  # the page number is no field to go to: said, not linked


def test_before_any_batch_the_list_says_how_batches_are_made(admin_client, db_session):
    html = admin_client.get("/admin/batches").get_data(as_text=True)
    assert "Chưa có lô chi trả nào" in html and "disburse payments batch" in html


def test_a_batch_page_gives_its_payments_by_state_and_its_failures_in_words(client, admin, db_session):
    program = create_program()
    batch = _batch(
        program,
        (S.PAID, None),
        (S.FAILED, "AC04"),
        (S.FAILED, "AC04"),
        (S.FAILED, "AM04"),
        (S.SENT, None),
    )
    amount = db.session.query(Payment).filter_by(batch_id=batch.id).first().amount_vnd
    sign_in(client, admin, locale="en")

    response = client.get(f"/admin/batches/{batch.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"<h1>Payment batch #{batch.id}</h1>" in html
    by_state = _text(re.search(r'<table id="payments-by-state".*?</table>', html, re.S).group(0))
    assert f"Failed 3 VND {3 * amount:,}" in by_state and f"Paid 1 VND {amount:,}" in by_state
    assert f"Sent to bank 1 VND {amount:,}" in by_state
    failures = _text(re.search(r'<table id="failure-codes".*?</table>', html, re.S).group(0))
    # the most frequent first, each code in plain words with the code beside it
    assert failures.index("AC04") < failures.index("AM04")
    assert re.search(rf"Failed [^0-9]+ AC04 2 VND {2 * amount:,}", failures)
    assert "20.0% of the orders paid" in _text(html)
    # Not taken yet, with no error to fix: told how to send it now, not to fix a cause it does not have.
    assert "it can be sent at once with disburse payments send" in html and "Last error" not in html
    assert client.get(f"/admin/batches/{batch.id + 1000}").status_code == 404


def test_a_batch_nobody_took_says_what_to_do(admin_client, db_session):
    program = create_program()
    batch = _batch(program, (S.SENT, None), last_error="outbox not writable")
    taken = _batch(program, (S.SENT, None), acknowledged_at=datetime.now(UTC) - timedelta(minutes=1))
    html = admin_client.get(f"/admin/batches/{batch.id}").get_data(as_text=True)
    assert 'id="waiting-handover"' in html and f"disburse payments send {batch.id}" in html
    assert "outbox not writable" in html
    assert 'id="waiting-handover"' not in admin_client.get(f"/admin/batches/{taken.id}").get_data(as_text=True)
