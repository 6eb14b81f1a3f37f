"""Reconciliation: our payments of a day against the sandbox bank's statement (real HTTP, real PostgreSQL) or a
camt.053 file, the command's report and exit codes, the recoveries whose money came back, the nightly task."""

from __future__ import annotations

import re
import socket
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from pyiso20022.camt import camt_053_001_08 as c08
from sqlalchemy import select, text
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.models.datatype import XmlDate, XmlDateTime

from disburse.extensions import DAY, db
from disburse.formatting import dmy
from disburse.payments.models import Payment, PaymentBatch, Reconciliation, Recovery
from disburse.payments.providers import PermanentError, ProviderStatus, RetryableError, StatementEntry, StatusUpdate
from disburse.payments.reconcile import VIETNAM, NoStatement, reconcile
from disburse.payments.recoveries import history, move
from disburse.payments.statement_file import parse_statement
from disburse.payments.states import PaymentState
from disburse.payments.status import apply_updates
from tests.factories import create_payment, create_program
from tests.sandbox_bank import order

pytestmark = pytest.mark.usefixtures("db_session")


@pytest.fixture
def cli(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def today() -> date:
    return datetime.now(VIETNAM).date()


@pytest.fixture
def at_bank(make_bank, use_bank):
    """A sandbox bank over HTTP that disburse is configured to use (its statement is fetched from it)."""

    def start(**settings):
        bank = make_bank(**settings)
        use_bank(bank)
        return bank

    return start


def sent_and_settled(bank, provider, count: int = 1, *, batch: str = "B-1") -> list[Payment]:
    """Payments sent to the bank and settled there; we hear of it as the product does (a status poll, applied)."""
    sent = [create_payment(state=PaymentState.SENT) for _ in range(count)]
    ack = provider.send(batch, [order(p.provider_reference, p.amount_vnd) for p in sent])
    assert ack.accepted
    assert bank.sandbox.settle_due() == count
    applied = apply_updates("sandbox", provider.status([p.provider_reference for p in sent]), source="poll")
    assert applied.settled == count
    for payment in sent:
        db.session.refresh(payment)
    return sent


def returned_here(payment: Payment, provider=None) -> Recovery:
    """The payment's return applied here as the product applies provider news, which opens the recovery the fund is
    owed: polled from the bank that returned it, or (no ``provider``) as a bank file says it."""
    news = (
        provider.status([payment.provider_reference])
        if provider is not None
        else [StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, reason_code="AC04")]
    )
    applied = apply_updates(payment.provider, news, source="poll" if provider is not None else "file")
    assert applied.recoveries == 1
    recovery = db.session.scalar(select(Recovery).where(Recovery.payment_id == payment.id))
    assert recovery is not None and recovery.state == "owed"
    return recovery


def rows(provider: str, day: date) -> list[Reconciliation]:
    query = select(Reconciliation).where(Reconciliation.provider == provider, Reconciliation.day == day)
    return list(db.session.scalars(query.order_by(Reconciliation.id)))


# ------------------------------------------------------------------------------------------------ the sandbox


def test_everything_matching_exits_0_and_records_a_row_without_differences(cli, at_bank, make_provider, today):
    bank = at_bank()
    sent = sent_and_settled(bank, make_provider(bank), 3)

    result = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--date", dmy(today)])

    assert result.exit_code == 0, result.output
    assert f"Đối soát sandbox ngày {dmy(today)}: 3 khớp, 0 chênh lệch" in result.output
    assert f"Reconciliation of sandbox for {dmy(today)}: 3 matched, 0 differences" in result.output
    # Today is not over: the run counts for the day until it is reconciled again, and the operator is told so.
    assert f"Note: {dmy(today)} is not over" in result.output and f"ngày {dmy(today)} chưa hết" in result.output
    yesterday = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--date", dmy(today - timedelta(1))])
    assert yesterday.exit_code == 0 and "is not over" not in yesterday.output, yesterday.output
    [row] = rows("sandbox", today)
    assert (row.matched, row.differences, row.details) == (3, 0, [])
    assert {p.state for p in sent} == {"paid"}


def test_each_difference_is_listed_and_exits_1(cli, at_bank, make_provider, today):
    bank = at_bank()
    provider = make_provider(bank)
    matching, changed = sent_and_settled(bank, provider, 2)
    # A transfer at the bank that we have no payment for.
    provider.send("B-STRAY", [order("STRAY-1", 1_800_000)])
    bank.sandbox.settle_due()
    # A payment we mark paid that the bank never got.
    never_sent = create_payment(state=PaymentState.PAID)
    # An amount changed on our side after the bank paid it.
    db.session.execute(text("UPDATE payments SET amount_vnd = amount_vnd + 100000 WHERE id = :id"), {"id": changed.id})
    db.session.refresh(changed)

    result = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--date", today.isoformat()])

    assert result.exit_code == 1, result.output
    assert "1 khớp, 3 chênh lệch" in result.output and "1 matched, 3 differences" in result.output
    theirs = changed.amount_vnd - 100_000
    assert f"Số tiền chi khác nhau: {changed.provider_reference}" in result.output
    assert f"ours VND {changed.amount_vnd:,}, theirs VND {theirs:,}" in result.output
    assert f"Ta ghi đã chi, sao kê không có: {never_sent.provider_reference}" in result.output
    assert "On the statement, not paid here: STRAY-1 — ours —, theirs VND 1,800,000" in result.output
    [row] = rows("sandbox", today)
    assert (row.matched, row.differences) == (1, 3)
    assert sorted((d["kind"], d["entry"], d["reference"], d["ours_vnd"], d["theirs_vnd"]) for d in row.details) == [
        ("amount_differs", "settlement", changed.provider_reference, changed.amount_vnd, theirs),
        ("ours_only", "settlement", never_sent.provider_reference, never_sent.amount_vnd, None),
        ("theirs_only", "settlement", "STRAY-1", None, 1_800_000),
    ]
    assert matching.provider_reference not in str(row.details)


def test_a_return_at_both_matches_and_its_recovery_is_recovered(at_bank, make_provider, today):
    bank = at_bank(return_rate=1.0)
    provider = make_provider(bank)
    [payment] = sent_and_settled(bank, provider)
    assert bank.sandbox.return_due() == 1
    recovery = returned_here(payment, provider)

    result = reconcile("sandbox", today)

    assert (result.matched, result.differences, result.recovered) == (2, [], 1)  # the settlement and the return
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("recovered", payment.amount_vnd)
    [opened, back] = history(recovery.id)
    assert (opened.from_state, opened.to_state, back.who) == (None, "owed", None)
    assert (back.from_state, back.to_state, back.recovered_vnd) == ("owed", "recovered", payment.amount_vnd)
    assert back.note == f"Sao kê sandbox ngày {dmy(today)} / sandbox statement of {dmy(today)}"
    # The same statement again: nothing more is recovered, and nothing more is written.
    assert reconcile("sandbox", today).recovered == 0
    assert len(history(recovery.id)) == 2


@pytest.mark.parametrize(("by_hand", "then"), [("part", "recovered"), ("write_off", "written_off")])
def test_a_return_beyond_what_was_still_owed_is_a_difference_every_time_the_statement_is_read(today, by_hand, then):
    """500.000 ₫ refunded at the office (or the whole written off) before the bank's return of all 2.100.000 ₫ is on
    the statement: the fund holds money nobody is owed. The run recovers what was owed and lists the rest (it was
    capped and dropped without a trace); read again, the statement says the same."""
    payment = create_payment(state=PaymentState.PAID, amount_vnd=2_100_000)
    recovery = returned_here(payment)
    if by_hand == "part":
        move(recovery.id, "recovered", None, "Nộp tại cơ quan", 500_000)
    else:
        move(recovery.id, "written_off", None, "Không liên lạc được")
    booked = datetime.combine(today, time(10), VIETNAM)
    statement = [StatementEntry(payment.provider_reference, "return", 2_100_000, booked)]

    for _ in range(2):
        result = reconcile(payment.provider, today, statement=statement)
        beyond = [d for d in result.differences if d.kind == "beyond_owed"]
        taken = 1_600_000 if by_hand == "part" else 0
        assert [(d.entry, d.reference, d.ours_vnd, d.theirs_vnd) for d in beyond] == [
            ("return", payment.provider_reference, taken, 2_100_000)
        ]
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == (then, 2_100_000 if by_hand == "part" else 0)


def test_a_return_in_parts_over_days_adds_up_each_statement_once(today):
    """A bank that sends the money back in parts, a part a day: each day's statement adds its part (read again, it
    adds nothing), and a supervisor's part at the office adds to them, up to what is owed."""
    payment = create_payment(state=PaymentState.PAID, amount_vnd=2_100_000)
    recovery = returned_here(payment)

    def statement(day: date) -> list[StatementEntry]:
        booked = datetime.combine(day, time(10), VIETNAM)
        return [StatementEntry(payment.provider_reference, "return", 700_000, booked)]

    yesterday = today - timedelta(days=1)
    for day in (yesterday, yesterday, today, today):
        reconcile(payment.provider, day, statement=statement(day))
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("owed", 1_400_000)
    move(recovery.id, "recovered", None, "Nộp tại cơ quan")
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("recovered", 2_100_000)
    steps = [(s.from_state, s.to_state, s.recovered_vnd) for s in history(recovery.id)]
    assert steps == [
        (None, "owed", 0),
        ("owed", "owed", 700_000),
        ("owed", "owed", 700_000),
        ("owed", "recovered", 700_000),
    ]
    # More on a later statement than is still owed is not counted: the recovery is no longer owed.
    tomorrow = today + timedelta(days=1)
    assert reconcile(payment.provider, tomorrow, statement=statement(tomorrow)).recovered == 0


def test_returns_on_one_side_only_are_differences(at_bank, make_provider, today):
    bank = at_bank(return_rate=1.0)
    [back_at_bank] = sent_and_settled(bank, make_provider(bank))
    bank.sandbox.return_due()  # the bank returned it; we have not heard
    ours_only = create_payment(state=PaymentState.PAID)
    recovery = returned_here(ours_only)  # we say it came back; the bank never had it

    result = reconcile("sandbox", today)

    assert {(d.kind, d.entry, d.reference) for d in result.differences} == {
        ("theirs_only", "return", back_at_bank.provider_reference),
        ("ours_only", "settlement", ours_only.provider_reference),
        ("ours_only", "return", ours_only.provider_reference),
    }
    assert result.matched == 1 and result.recovered == 0
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("owed", 0)


def test_running_twice_is_harmless(at_bank, make_provider, today):
    bank = at_bank(return_rate=1.0)
    provider = make_provider(bank)
    [payment] = sent_and_settled(bank, provider)
    bank.sandbox.return_due()
    recovery = returned_here(payment, provider)
    extra = create_payment(state=PaymentState.PAID)

    first, second = reconcile("sandbox", today), reconcile("sandbox", today)

    assert first.id != second.id and first.differences == second.differences
    assert [d.reference for d in first.differences] == [extra.provider_reference]
    assert (first.recovered, second.recovered) == (1, 0)
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("recovered", payment.amount_vnd)
    assert [(r.matched, r.differences) for r in rows("sandbox", today)] == [(2, 1), (2, 1)]


def test_only_that_days_settlements_and_that_providers_payments_count(at_bank, make_provider, today):
    bank = at_bank()
    sent_and_settled(bank, make_provider(bank))
    create_payment(state=PaymentState.PAID, provider="bankfile")  # another provider's: not on this statement
    earlier = create_payment(state=PaymentState.PAID)
    db.session.execute(
        text("UPDATE payments SET settled_at = settled_at - interval '1 day' WHERE id = :id"), {"id": earlier.id}
    )

    result = reconcile("sandbox", today)
    assert (result.matched, result.differences) == (1, [])
    yesterday = reconcile("sandbox", today - timedelta(days=1))
    assert [(d.kind, d.reference) for d in yesterday.differences] == [("ours_only", earlier.provider_reference)]


def test_a_bank_that_cannot_be_reached_is_exit_2_with_a_message(cli, use_bank, today):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_bank(f"http://127.0.0.1:{port}")

    result = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--date", dmy(today)])

    assert result.exit_code == 2
    # What happened and what to do in both languages, where the sandbox should be; the client's words as the detail
    # (the Vietnamese line was "Không lấy được sao kê của 'sandbox': the sandbox could not be reached …").
    url = f"http://127.0.0.1:{port}"
    assert (
        "Không lấy được sao kê của 'sandbox': bên chi trả không trả lời hoặc tạm thời lỗi; hãy thử lại sau "
        f"(ngân hàng thử nghiệm có đang chạy tại {url} không: `disburse up` hoặc `disburse sandbox serve`?). "
        "Chi tiết kỹ thuật: the sandbox could not be reached"
    ) in result.output
    assert (
        "The 'sandbox' statement could not be fetched: the provider did not answer or failed for now; try again later "
        f"(is the sandbox bank running at {url}: `disburse up` or `disburse sandbox serve`?). Technical detail:"
    ) in result.output
    assert "Traceback" not in result.output and rows("sandbox", today) == []


def test_the_sandbox_statement_through_its_client(bank, make_provider, today):
    provider = make_provider(bank)
    provider.send("B-9", [order("R-1", 2_100_000)])
    bank.sandbox.settle_due()
    [entry] = provider.statement(today)
    assert (entry.reference, entry.kind, entry.amount_vnd) == ("R-1", "settlement", 2_100_000)
    assert entry.booked_at.astimezone(VIETNAM).date() == today
    assert provider.statement(today - timedelta(days=1)) == []
    with pytest.raises(PermanentError, match="HTTP 401"):
        make_provider(bank, token="not-our-token").statement(today)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RetryableError):
        make_provider(closed).statement(today)


# ------------------------------------------------------------------------------------------------- camt.053


C08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def vnd08(amount: int) -> c08.ActiveOrHistoricCurrencyAndAmount:
    return c08.ActiveOrHistoricCurrencyAndAmount(value=Decimal(amount), ccy="VND")


def entry08(reference: str, amount: int, direction: str, day: date, *, return_code: str | None = None):
    return c08.ReportEntry10(
        amt=vnd08(amount),
        cdt_dbt_ind=c08.CreditDebitCode(direction),
        sts=c08.EntryStatus1Choice(cd="BOOK"),
        bookg_dt=c08.DateAndDateTime2Choice(dt=XmlDate.from_date(day)),
        bk_tx_cd=c08.BankTransactionCodeStructure4(prtry=c08.ProprietaryBankTransactionCodeStructure1(cd="TRF")),
        ntry_dtls=[
            c08.EntryDetails9(
                tx_dtls=[
                    c08.EntryTransaction10(
                        refs=c08.TransactionReferences6(end_to_end_id=reference),
                        amt=vnd08(amount),
                        cdt_dbt_ind=c08.CreditDebitCode(direction),
                        rtr_inf=c08.PaymentReturnReason5(rsn=c08.ReturnReason5Choice(cd=return_code))
                        if return_code
                        else None,
                    )
                ]
            )
        ],
    )


def camt053(day: date, *entries, account: str = "1200000116") -> bytes:
    created = XmlDateTime.from_datetime(datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC))
    statement = c08.BankToCustomerStatementV08(
        grp_hdr=c08.GroupHeader81(msg_id=f"VCB-STMT-{day:%Y%m%d}", cre_dt_tm=created),
        stmt=[
            c08.AccountStatement9(
                id=f"STMT-{day:%Y%m%d}",
                acct=c08.CashAccount39(
                    id=c08.AccountIdentification4Choice(othr=c08.GenericAccountIdentification1(id=account))
                ),
                ntry=list(entries),
            )
        ],
    )
    return XmlSerializer().render(c08.Document(bk_to_cstmr_stmt=statement), ns_map={None: C08}).encode()


def test_a_statement_of_another_account_or_for_another_provider_is_refused_and_recovers_nothing(cli, tmp_path, today):
    """Another account's camt.053 marked a recovery recovered with money credited elsewhere; a bank's statement
    compared with the sandbox recorded thousands of false differences as the day's answer."""
    back = create_payment(state=PaymentState.PAID, provider="bankfile")
    recovery = returned_here(back)
    entry = entry08(back.provider_reference, back.amount_vnd, "CRDT", today, return_code="AC04")
    elsewhere = tmp_path / "other.camt053.xml"
    elsewhere.write_bytes(camt053(today, entry, account="9999999999"))
    ours = tmp_path / "ours.camt053.xml"
    ours.write_bytes(camt053(today, entry))

    other = cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(elsewhere)])
    assert other.exit_code == 2
    assert "The statement is of account 9999999999, not the fund's paying account (1200000116)" in other.output
    sandbox = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--file", str(ours)])
    assert sandbox.exit_code == 2 and "--file is the bank's statement" in sandbox.output
    assert rows("bankfile", today) == [] and rows("sandbox", today) == []
    db.session.refresh(recovery)
    assert recovery.state == "owed"
    assert cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(ours)]).exit_code in (0, 1)
    db.session.refresh(recovery)
    assert recovery.state == "recovered"


def test_a_camt053_file_is_reconciled(cli, tmp_path, today):
    paid = create_payment(state=PaymentState.PAID, provider="bankfile")
    back = create_payment(state=PaymentState.PAID, provider="bankfile")
    recovery = returned_here(back)
    path = tmp_path / "statement.camt053.xml"
    path.write_bytes(
        camt053(
            today,
            entry08(paid.provider_reference, paid.amount_vnd, "DBIT", today),
            entry08(back.provider_reference, back.amount_vnd, "DBIT", today),
            entry08(back.provider_reference, back.amount_vnd, "CRDT", today, return_code="AC04"),
            entry08("NOT-OURS", 50_000_000, "CRDT", today),  # the fund topped up: no payment of ours
        )
    )

    result = cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(path)])

    assert result.exit_code == 0, result.output
    assert (
        f"Reconciliation of bankfile for {dmy(today)}: 3 matched, 0 differences (3 statement entries" in result.output
    )
    db.session.refresh(recovery)
    assert recovery.state == "recovered"
    assert [(r.matched, r.differences) for r in rows("bankfile", today)] == [(3, 0)]


def test_a_partial_return_is_counted_and_the_rest_stays_owed(today):
    payment = create_payment(state=PaymentState.PAID, provider="bankfile")
    recovery = returned_here(payment)
    half = payment.amount_vnd // 2
    statement = parse_statement(
        camt053(
            today,
            entry08(payment.provider_reference, payment.amount_vnd, "DBIT", today),
            entry08(payment.provider_reference, half, "CRDT", today, return_code="AC04"),
        )
    )

    result = reconcile("bankfile", today, statement=statement.entries)

    assert [(d.kind, d.entry, d.ours_vnd, d.theirs_vnd) for d in result.differences] == [
        ("amount_differs", "return", payment.amount_vnd, half)
    ]
    db.session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd, result.recovered) == ("owed", half, 0)


def test_a_camt053_is_read_into_statement_entries(today):
    body = camt053(
        today, entry08("R-1", 2_100_000, "DBIT", today), entry08("R-1", 2_100_000, "CRDT", today, return_code="AC01")
    )
    statement = parse_statement(body)
    midnight = datetime.combine(today, datetime.min.time(), VIETNAM)
    assert statement.entries == [
        StatementEntry("R-1", "settlement", 2_100_000, midnight),
        StatementEntry("R-1", "return", 2_100_000, midnight),
    ]
    assert statement.days() == {today}


def test_a_camt053_of_another_day_is_refused(cli, tmp_path, today):
    path = tmp_path / "old.xml"
    path.write_bytes(camt053(today - timedelta(days=3), entry08("R-1", 2_100_000, "DBIT", today - timedelta(days=3))))
    result = cli.invoke(
        args=["payments", "reconcile", "--provider", "bankfile", "--file", str(path), "--date", dmy(today)]
    )
    assert result.exit_code == 2
    assert "không phải ngày" in result.output and "not on" in result.output
    assert rows("bankfile", today) == []


def test_a_camt053_of_several_days_without_a_date_is_refused(cli, tmp_path, today):
    """Which day's payments a statement of two days is compared with is the operator's to say: without --date it was
    taken as the first day's, and the second day's entry listed as a difference and recorded."""
    path = tmp_path / "two-days.xml"
    yesterday = today - timedelta(days=1)
    path.write_bytes(
        camt053(yesterday, entry08("R-1", 2_100_000, "DBIT", yesterday), entry08("R-2", 1_800_000, "DBIT", today))
    )
    result = cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(path)])
    assert result.exit_code == 2, result.output
    assert "nhiều ngày" in result.output and "name the day to reconcile with --date" in result.output
    assert rows("bankfile", today) == [] and rows("bankfile", yesterday) == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&b;</Document>"""


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (BILLION_LAUGHS, "DTD"),
        (b"\x89PNG\r\n\x1a\n garbage", "not well-formed XML"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"/>', "not a supported ISO 20022 document"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><Nope/></Document>', "not valid"),
    ],
    ids=["entities", "garbage", "camt054", "broken"],
)
def test_a_hostile_or_garbage_file_is_exit_2_saying_why(cli, tmp_path, today, body, why):
    path = tmp_path / "statement.xml"
    path.write_bytes(body)
    result = cli.invoke(
        args=["payments", "reconcile", "--provider", "bankfile", "--file", str(path), "--date", dmy(today)]
    )
    assert result.exit_code == 2
    vietnamese, english = result.output.strip().split("\n")[:2]
    assert why in english and vietnamese and vietnamese != english
    assert "Traceback" not in result.output and rows("bankfile", today) == []


def test_a_missing_file_is_exit_2(cli, tmp_path):
    result = cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(tmp_path / "nope.xml")])
    assert result.exit_code == 2 and "Không đọc được tệp" in result.output and "cannot be read" in result.output
    # The system's reason in each language, not its English in the Vietnamese line.
    assert "không có tệp hay thư mục này" in result.output and "No such file or directory" in result.output


# ------------------------------------------------------------------------------------------ the command's input


def test_dates_are_dd_mm_yyyy_or_iso_and_a_bad_one_is_exit_2_saying_why(cli):
    assert DAY.convert("02/12/2026", None, None) == DAY.convert("2026-12-02", None, None) == date(2026, 12, 2)
    for bad, vi, en in (
        ("31/02/2026", "không có trong lịch", "not in the calendar"),
        ("12/31/2026", "ghi tháng trước ngày", "puts the month first"),
        ("hôm qua", "không phải là ngày", "is not a date"),
        ("01/01/1999", "phải từ 2000 đến 2099", "must be from 2000 to 2099"),
        ("9999-12-31", "phải từ 2000 đến 2099", "must be from 2000 to 2099"),
    ):
        result = cli.invoke(args=["payments", "reconcile", "--date", bad])
        assert result.exit_code == 2 and vi in result.output and en in result.output, result.output


def test_the_default_is_yesterday_by_the_programme_clock_and_the_configured_provider(cli, app, at_bank, monkeypatch):
    at_bank()
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2026-03-01")
    result = cli.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "Đối soát sandbox ngày 28/02/2026: 0 khớp, 0 chênh lệch" in result.output
    assert len(rows("sandbox", date(2026, 2, 28))) == 1


def test_a_provider_without_a_statement_needs_a_file(cli, today):
    result = cli.invoke(args=["payments", "reconcile", "--provider", "cash", "--date", dmy(today)])
    assert result.exit_code == 2 and "--file" in result.output
    with pytest.raises(NoStatement):
        reconcile("bankfile", today)


# ---------------------------------------------------------------------------------------------- the nightly task


def test_the_nightly_task_reconciles_yesterday_and_records_it(
    app, db_session, at_bank, make_provider, monkeypatch, today
):
    from workers.reconcile import reconcile_yesterday

    bank = at_bank()
    sent_and_settled(bank, make_provider(bank), 2)
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", (today + timedelta(days=1)).isoformat())

    summary = reconcile_yesterday.run()

    assert summary is not None and summary["day"] == today.isoformat()
    assert (summary["matched"], summary["differences"]) == (2, 0)
    [row] = rows("sandbox", today)
    assert row.id == summary["id"]


def test_the_nightly_task_makes_up_the_days_whose_run_was_lost(
    app, db_session, at_bank, make_provider, monkeypatch, today
):
    """A night whose run was lost (the bank down past every retry, the worker stopped) is made up the next night, from
    the day the provider's first batch was sent; a day that has its run is not run again."""
    from workers.reconcile import reconcile_yesterday

    bank = at_bank()
    sent_and_settled(bank, make_provider(bank), 2)  # booked at the bank today
    first_sent = datetime.combine(today - timedelta(days=1), time(9), VIETNAM)
    db.session.add(PaymentBatch(program_id=create_program().id, channel="bank", provider="sandbox", sent_at=first_sent))
    reconcile("sandbox", today + timedelta(days=1))  # that night's run went through
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", (today + timedelta(days=3)).isoformat())

    summary = reconcile_yesterday.run()

    assert summary is not None and summary["day"] == (today + timedelta(days=2)).isoformat()
    assert summary["caught_up"] == [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    [row] = rows("sandbox", today)
    assert (row.matched, row.differences) == (2, 0)
    assert len(rows("sandbox", today + timedelta(days=1))) == 1
    assert len(rows("sandbox", today - timedelta(days=2))) == 0  # before the first batch: nothing to reconcile
    assert reconcile_yesterday.run()["caught_up"] == []


def test_the_nightly_task_leaves_bank_files_to_the_operator(app, db_session, monkeypatch, today):
    from workers.reconcile import reconcile_yesterday

    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_PROVIDER", "bankfile")
    assert reconcile_yesterday.run() is None
    assert db.session.scalar(select(Reconciliation.id).limit(1)) is None


def test_the_nightly_task_runs_at_half_past_one_in_vietnam(app):
    from celery.schedules import crontab

    from disburse.background import BEAT_SCHEDULE, TASK_QUEUES, QueueNames

    [entry] = [e for e in BEAT_SCHEDULE.values() if e["task"] == "payments.reconcile"]
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab) and (schedule.hour, schedule.minute) == ({1}, {30})
    assert str(app.extensions["celery"].timezone) == "Asia/Ho_Chi_Minh"
    assert TASK_QUEUES["payments.reconcile"] == QueueNames.PERIODIC


# ------------------------------------------------------------------------ the bank's day, not the day we heard


def sent_yesterday_morning(provider: str) -> Payment:
    """A payment made and handed to the bank at 08:00 yesterday (Vietnam)."""
    payment = create_payment(state=PaymentState.SENT, provider=provider)
    morning = datetime.now(VIETNAM).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=1)
    db.session.execute(
        text("UPDATE payments SET created_at = :t, sent_at = :t WHERE id = :id"), {"t": morning, "id": payment.id}
    )
    return payment


@pytest.mark.parametrize(
    ("provider", "booked_at"),
    [
        ("bankfile", {"hour": 0}),  # a camt.054 gives the booking day: its midnight
        ("bankfile", {"hour": 15}),
        ("sandbox", {"hour": 23, "minute": 59, "second": 59}),  # a callback applied just after midnight
    ],
    ids=["booking-day", "afternoon", "just-before-midnight"],
)
def test_a_booking_of_yesterday_applied_today_reconciles_clean_on_both_days(provider, booked_at, today):
    """The audit's case: the bank booked yesterday, we heard today (the status file imported next morning, the
    callback a second after midnight). Both sides put it on yesterday; today has nothing on either side."""
    payment = sent_yesterday_morning(provider)
    yesterday = today - timedelta(days=1)
    booked = datetime.combine(yesterday, datetime.min.time(), VIETNAM).replace(**booked_at)
    news = StatusUpdate(payment.provider_reference, ProviderStatus.PAID, at=booked, amount_vnd=payment.amount_vnd)

    assert apply_updates(provider, [news], source="file").settled == 1

    db.session.refresh(payment)
    assert payment.settled_at == booked
    entry = StatementEntry(payment.provider_reference, "settlement", payment.amount_vnd, booked)
    on_the_day = reconcile(provider, yesterday, statement=[entry])
    assert (on_the_day.matched, on_the_day.differences) == (1, [])
    the_day_after = reconcile(provider, today, statement=[])
    assert (the_day_after.matched, the_day_after.differences) == (0, [])


def test_a_return_of_yesterday_applied_today_is_yesterdays_return_and_recovers(today):
    payment = sent_yesterday_morning("bankfile")
    yesterday = today - timedelta(days=1)
    settled = datetime.combine(yesterday, datetime.min.time(), VIETNAM).replace(hour=10)
    back = settled.replace(hour=16)
    reference, amount = payment.provider_reference, payment.amount_vnd
    apply_updates("bankfile", [StatusUpdate(reference, ProviderStatus.PAID, at=settled)], source="file")
    applied = apply_updates(
        "bankfile", [StatusUpdate(reference, ProviderStatus.RETURNED, reason_code="AC04", at=back)], source="file"
    )
    assert applied.recoveries == 1

    statement = [
        StatementEntry(reference, "settlement", amount, settled),
        StatementEntry(reference, "return", amount, back),
    ]
    on_the_day = reconcile("bankfile", yesterday, statement=statement)
    assert (on_the_day.matched, on_the_day.differences, on_the_day.recovered) == (2, [], 1)
    assert reconcile("bankfile", today, statement=[]).differences == []


def test_a_return_without_a_time_is_the_day_we_recorded_it(today):
    """News without a time (a return recorded from a bank file that gave none) is dated when we wrote it."""
    payment = create_payment(state=PaymentState.PAID, provider="bankfile")
    returned_here(payment)
    reference, amount = payment.provider_reference, payment.amount_vnd
    booked = datetime.now(VIETNAM)
    statement = [
        StatementEntry(reference, "settlement", amount, booked),
        StatementEntry(reference, "return", amount, booked),
    ]
    assert reconcile("bankfile", today, statement=statement).differences == []
    assert reconcile("bankfile", today - timedelta(days=1), statement=[]).differences == []


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_backlog_links_each_run_to_its_differences_in_words(client, cli, tmp_path, today, locale):
    """A supervisor sees what did not match, not just how many: each difference in words, with both amounts, our
    payments' claims linked."""
    from tests.factories import create_user

    paid, missing = (create_payment(state=PaymentState.PAID, provider="bankfile") for _ in range(2))
    path = tmp_path / "statement.camt053.xml"
    path.write_bytes(
        camt053(
            today,
            entry08(paid.provider_reference, paid.amount_vnd, "DBIT", today),
            entry08("STRAY-9", 1_800_000, "DBIT", today),
        )
    )
    assert cli.invoke(args=["payments", "reconcile", "--provider", "bankfile", "--file", str(path)]).exit_code == 1
    [run] = rows("bankfile", today)
    supervisor = create_user("supervisor", password="mat-khau-rat-dai")
    supervisor.locale = locale
    db.session.flush()
    assert client.post("/login", data={"email": supervisor.email, "password": "mat-khau-rat-dai"}).status_code == 302

    backlog = client.get("/dashboard/backlog").get_data(as_text=True)
    table = backlog.split('id="reconciliations"', 1)[1].split("</table>", 1)[0]
    assert f'href="/dashboard/reconciliations/{run.id}"' in table
    assert ("Tệp ngân hàng (ISO 20022)" if locale == "vi" else "Bank files (ISO 20022)") in table

    page = client.get(f"/dashboard/reconciliations/{run.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    differences = html.split('id="differences"', 1)[1].split("</table>", 1)[0]
    rows_shown = re.findall(r"<tr>(.*?)</tr>", differences, re.S)[1:]
    assert len(rows_shown) == 2
    ours, theirs = (
        ("Ta ghi đã chi, sao kê không có", "Sao kê có, ta không ghi đã chi")
        if locale == "vi"
        else ("Paid here, not on the statement", "On the statement, not paid here")
    )
    [mine] = [row for row in rows_shown if missing.provider_reference in row]
    assert ours in mine and f'href="/caseworker/claims/{missing.claim_id}"' in mine
    [stray] = [row for row in rows_shown if "STRAY-9" in row]
    assert theirs in stray and ("1.800.000 ₫" if locale == "vi" else "VND 1,800,000") in stray
    assert "/caseworker/claims/" not in stray
    assert client.get(f"/dashboard/reconciliations/{run.id + 1000}").status_code == 404


def test_a_day_to_come_is_refused_and_nothing_is_recorded(cli, today):
    """A typo in the year recorded a run "0 matched, 0 differences" for 2030, exit 0."""
    later = today + timedelta(days=1)
    result = cli.invoke(args=["payments", "reconcile", "--provider", "sandbox", "--date", dmy(later)])
    assert result.exit_code == 2 and f"{dmy(later)} has not come yet" in result.output
    assert rows("sandbox", later) == []
