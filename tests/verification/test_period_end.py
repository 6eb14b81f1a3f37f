"""After the programme's last payable day (the extension's end, else the payment deadline) no claim is left waiting
for money nobody will pay: approving, correcting details back to approved and offering cash are refused, saying why in
both languages and offering the refusal instead; a caseworker's approval gives the claim its payment SLA date; the
close-out sweep sends every claim still waiting to be paid to a caseworker (``payment_period_ended``), a cash payment
on an office's list taken off it first; and the backlog counts what was not paid by the end."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from disburse.claims import employer_forms
from disburse.claims.employer_forms import correct_payment_details
from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.payments.cash import CashRefused, offer_cash
from disburse.payments.models import Payment
from disburse.programs.calendar import add_working_days
from disburse.registry.models import Employee, Employer
from disburse.reports import backlog
from disburse.reports.service import Area
from disburse.verification import review, sweepers
from disburse.verification.checks import SLA_FORM02, SLA_FORM04, payment_due_on
from disburse.verification.review import Conflict, Invalid
from tests.conftest import sign_in
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_duplicate_group,
    create_program,
    create_user,
    nq116,
)
from workers import sweepers as sweeper_tasks

DEADLINE = date(2021, 12, 31)
LAST = date(2022, 9, 10)
AFTER = LAST + timedelta(days=1)
PASSWORD = "mat-khau-rat-dai"


@pytest.fixture
def program(db_session):
    return create_program(payment_deadline=DEADLINE, extension_until=LAST)


@pytest.fixture
def clock(app, monkeypatch):
    def set_today(day: date) -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", day.isoformat())

    return set_today


def _events(claim_id: int) -> list[ClaimEvent]:
    return list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)))


# ------------------------------------------------------------------------------------------------- refusals


def test_no_approval_after_the_last_payable_day_and_the_last_day_still_approves(program, clock):
    late, on_time = create_claim("needs_review", program=program), create_claim("needs_review", program=program)
    lan = create_user("caseworker")
    clock(AFTER)
    before = len(_events(late.id))
    with pytest.raises(Conflict) as refused:
        review.approve(late.id, lan, "Đã xác minh.")
    assert refused.value.code == "payment_period_ended"
    assert "đã hết hạn chi trả ngày 10/09/2022" in refused.value.vi and "từ chối" in refused.value.vi
    assert "stopped paying on 10/09/2022" in refused.value.en and "Refuse" in refused.value.en
    assert db.session.get(Claim, late.id).state == "needs_review" and len(_events(late.id)) == before

    clock(LAST)
    assert review.approve(on_time.id, lan).changed
    assert db.session.get(Claim, on_time.id).state == "approved"


def test_an_override_does_not_approve_after_the_last_payable_day(program, clock):
    kept, other = create_duplicate_group("needs_review", program=program)
    lan = create_user("caseworker")
    clock(AFTER)
    with pytest.raises(Conflict) as refused:
        review.resolve_duplicate(kept.id, lan, kept.id, override=True, note="Hai người khác nhau.")
    assert refused.value.code == "payment_period_ended"
    assert {db.session.get(Claim, c.id).state for c in (kept, other)} == {"needs_review"}
    assert not [e for e in _events(kept.id) if e.action == "resolve_duplicate"]


def test_the_refusal_for_the_ended_period_only_once_it_has_ended(program, clock):
    claim = create_claim("needs_review", program=program)
    lan = create_user("caseworker")
    clock(LAST)
    with pytest.raises(Invalid):
        review.reject(claim.id, lan, "payment_period_ended", "Đã hết thời hạn chi trả.")
    assert db.session.get(Claim, claim.id).state == "needs_review"

    clock(AFTER)
    review.reject(claim.id, lan, "payment_period_ended", "Chương trình đã hết hạn chi trả ngày 10/09/2022.")
    assert db.session.get(Claim, claim.id).state == "rejected"
    vi, en = review.refusal_reasons()["payment_period_ended"]
    assert "cán bộ" not in vi and "caseworker" not in en  # worded for the notice, not for the queue
    assert review.refusal_codes(review.last_refusal(claim.id).data) == ["payment_period_ended"]


def test_details_are_not_corrected_back_to_approved_after_the_last_payable_day(program, clock):
    waiting = create_claim("awaiting_payment_details", program=program)
    in_review = create_claim("needs_review", program=program)
    clock(AFTER)
    before = len(_events(waiting.id))
    result = correct_payment_details(waiting.id, "BIDV", "12345678901")
    assert [e.code for e in result.errors] == ["payment_period_ended"]
    assert "10/09/2022" in result.errors[0].message_vi and "10/09/2022" in result.errors[0].message_en
    claim = db.session.get(Claim, waiting.id)
    assert (claim.state, claim.bank_code, len(_events(waiting.id))) == ("awaiting_payment_details", "VCB", before)
    # In review the new details wait there (no money is sent): still taken.
    assert correct_payment_details(in_review.id, "BIDV", "12345678901").outcome == "corrected"
    assert db.session.get(Claim, in_review.id).state == "needs_review"

    clock(LAST)
    assert correct_payment_details(waiting.id, "BIDV", "12345678901").outcome == "corrected"
    assert db.session.get(Claim, waiting.id).state == "approved"


def test_a_form_03_that_outlasts_the_payments_does_not_send_a_failed_claim_back_to_be_paid(db_session):

    program = create_program(payment_deadline=DEADLINE, extension_until=None, adjustment_deadline=date(2022, 3, 1))
    claim = create_claim("awaiting_payment_details", program=program)
    si_code = db.session.get(Employee, claim.employee_id).si_code

    unit_code = db.session.get(Employer, claim.employer_id).unit_code
    row = {"si_code": si_code, "action": "correct", "bank_code": "BIDV", "bank_account": "12345678901"}
    late = employer_forms.adjust(program, unit_code, [row], today=date(2022, 1, 1))
    assert [e.code for e in late.rows[0].errors] == ["payment_period_ended"]
    assert "31/12/2021" in late.rows[0].errors[0].message_vi and "31/12/2021" in late.rows[0].errors[0].message_en
    assert (db.session.get(Claim, claim.id).state, db.session.get(Claim, claim.id).bank_code) == (
        "awaiting_payment_details",
        "VCB",
    )
    on_time = employer_forms.adjust(program, unit_code, [row], today=DEADLINE)
    assert on_time.rows[0].outcome == "corrected" and db.session.get(Claim, claim.id).state == "approved"


def test_no_cash_offered_after_the_last_payable_day(program, clock):
    claim = create_claim("awaiting_payment_details", program=program, payment_failures=3)
    clock(AFTER)
    with pytest.raises(CashRefused) as refused:
        offer_cash(claim.id)
    assert refused.value.code == "payment_period_ended"
    assert (db.session.get(Claim, claim.id).state, db.session.get(Claim, claim.id).payout) == (
        "awaiting_payment_details",
        "bank",
    )
    clock(LAST)
    offer_cash(claim.id)
    assert db.session.get(Claim, claim.id).state == "approved"


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize(
    ("locale", "words"),
    [("vi", "đã hết hạn chi trả ngày 10/09/2022"), ("en", "stopped paying on 10/09/2022")],
)
def test_the_case_page_offers_the_refusal_instead_of_the_approval(client, program, clock, locale, words):
    claim = create_claim("needs_review", program=program)
    user = create_user("caseworker", district="017", password=PASSWORD)
    user.locale = locale
    db.session.flush()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    clock(LAST)
    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert f"/caseworker/claims/{claim.id}/approve" in page
    assert 'value="payment_period_ended"' not in client.get(f"/caseworker/claims/{claim.id}/reject").get_data(
        as_text=True
    )

    clock(AFTER)
    case = client.get(f"/caseworker/claims/{claim.id}")
    assert f"/caseworker/claims/{claim.id}/approve" not in case.get_data(as_text=True)
    assert f"/caseworker/claims/{claim.id}/reject" in case.get_data(as_text=True) and words in _text(case)
    form = client.get(f"/caseworker/claims/{claim.id}/reject").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="payment_period_ended"', form)
    opened = client.get(f"/caseworker/claims/{claim.id}/approve")  # a link kept from before: back, saying why
    assert opened.status_code == 302 and words in _text(client.get(opened.headers["Location"]))


# ---------------------------------------------------------------------------------------------- the payment SLA


def test_a_caseworkers_approval_sets_the_payment_due_date(program, clock):
    lan = create_user("caseworker")
    clock(date(2021, 11, 15))
    overdue = create_claim("needs_review", program=program)  # track A, no Form 02: no date to count from
    confirmed = create_claim("needs_review", program=program, confirmed_on=date(2021, 10, 25))
    applied = create_claim("needs_review", program=program, track="B", applied_on=date(2021, 12, 20))
    kept = create_claim("needs_review", program=program, payment_due_on=date(2021, 11, 5))
    for claim in (overdue, confirmed, applied, kept):
        assert review.approve(claim.id, lan).changed
    assert db.session.get(Claim, overdue.id).payment_due_on == add_working_days(date(2021, 11, 15), 10)
    assert db.session.get(Claim, confirmed.id).payment_due_on == payment_due_on(program, SLA_FORM02, date(2021, 10, 25))
    assert db.session.get(Claim, applied.id).payment_due_on == payment_due_on(program, SLA_FORM04, date(2021, 12, 20))
    assert db.session.get(Claim, kept.id).payment_due_on == date(2021, 11, 5)  # a date already set stays

    # Held back (here: never batched), the approved claim is noted by the payment SLA sweep once its date passes.
    due = db.session.get(Claim, overdue.id).payment_due_on
    noted, _ = sweepers.note_payment_sla(program, due + timedelta(days=1))
    assert noted >= 1
    assert [e.data["deadline"] for e in _events(overdue.id) if e.action == "sla_breach"] == ["payment_due"]


# ------------------------------------------------------------------------------------------------- close-out


def test_the_close_out_sends_every_claim_nobody_will_pay_to_a_caseworker(program, clock):
    approved = create_claim("approved", program=program)
    waiting = create_claim("awaiting_payment_details", program=program)
    cash = create_cash_payment(program=program)
    in_review = create_claim("needs_review", program=program, reasons=["zero_months"])
    paid = create_claim("paid", program=program)
    at_the_bank = create_claim("payment_pending", program=program)  # a bank order handed over before the day
    retrying = create_claim("approved", program=program)  # failed on the bank's side: paid again after a wait
    retrying.bank_failures, retrying.retry_after = 1, datetime.now(UTC) + timedelta(minutes=5)
    db.session.flush()

    assert sweepers.close_out(program, LAST) == (0, None)  # the last day still pays
    assert db.session.get(Claim, approved.id).state == "approved"

    moved, cursor = sweepers.close_out(program, AFTER)
    assert (moved, cursor) == (4, None)
    for claim_id in (approved.id, waiting.id, cash.claim_id, retrying.id):
        claim = db.session.get(Claim, claim_id)
        assert (claim.state, claim.reasons, claim.retry_after) == ("needs_review", ["payment_period_ended"], None)
        flag = _events(claim_id)[-1]
        assert (flag.action, flag.actor_id, flag.to_state) == ("flag_for_review", None, "needs_review")
        assert flag.data["reasons"] == ["payment_period_ended"] and flag.data["last_payable_day"] == "2022-09-10"
    # The cash payment is off its office's list, failed with our own code, and its claim failed with it first.
    payment = db.session.get(Payment, cash.id)
    assert (payment.state, payment.failure_code) == ("failed", payment_reasons.CASH_PERIOD_ENDED)
    assert [e.action for e in _events(cash.claim_id)][-2:] == ["payment_failed", "flag_for_review"]
    # Left alone: a claim already with a caseworker, a paid one, and money the bank may still settle.
    assert [(db.session.get(Claim, c.id).state) for c in (in_review, paid, at_the_bank)] == [
        "needs_review",
        "paid",
        "payment_pending",
    ]
    assert db.session.get(Claim, in_review.id).reasons == ["zero_months"]
    assert sweepers.close_out(program, AFTER) == (0, None)  # run again: nothing more


def test_a_cash_payment_taken_off_the_list_at_the_end_is_nobodys_failure(program, client):
    """The close-out's withdrawal of a cash payment counted as a failure of the person's bank details (472 claims of
    the demo one step nearer to ``max_payment_failures``, should the payment period be extended) and the case page
    said "(cần thông tin tài khoản mới)" of it; so did a bank payment never handed over (found by the explorer)."""
    from disburse.casework.service import payment_lines

    cash = create_cash_payment(program=program)
    sweepers.close_out(program, AFTER)
    claim = db.session.get(Claim, cash.claim_id)
    assert (claim.state, claim.payment_failures, claim.bank_failures) == ("needs_review", 0, 0)
    [line] = payment_lines(claim)
    assert line.failure == payment_reasons.label(payment_reasons.CASH_PERIOD_ENDED)
    assert not line.bank_side and not line.needs_details
    for code in payment_reasons.PERIOD_ENDED:
        assert not payment_reasons.needs_new_details(code) and not payment_reasons.bank_side(code)
    sign_in(client, create_user("caseworker", district=claim.district_code, password=PASSWORD))
    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert "khoản chi tiền mặt chưa chi được rút khỏi danh sách chi tiền mặt" in page
    assert "cần thông tin tài khoản mới" not in page and "lỗi phía ngân hàng: chi trả lại như cũ" not in page


def test_the_close_out_goes_chunk_by_chunk_and_beat_runs_it(program, clock):
    claims = [create_claim("approved", program=program) for _ in range(3)]
    moved, cursor = sweepers.close_out(program, AFTER, chunk=2)
    assert moved == 2 and cursor is not None
    assert sweepers.close_out(program, AFTER, after=cursor, chunk=2) == (1, None)
    assert {db.session.get(Claim, c.id).state for c in claims} == {"needs_review"}

    another = create_claim("approved", program=program)
    clock(AFTER)
    assert sweeper_tasks.close_out.run() >= 1
    assert db.session.get(Claim, another.id).state == "needs_review"


def test_the_backlog_counts_what_was_not_paid_by_the_end(program):
    create_claim("approved", program=program)
    create_claim("needs_review", program=program)
    create_claim("paid", program=program)
    country = Area()
    assert not [k for k in backlog.live(program.id, country, LAST) if k[0] == "unpaid_at_end"]
    counts = backlog.live(program.id, country, AFTER)
    unpaid = {state: n for (kind, state, _), (n, _) in counts.items() if kind == "unpaid_at_end"}
    assert unpaid == {"approved": 1, "needs_review": 1}


@pytest.mark.parametrize(
    ("locale", "title"),
    [("vi", "Chưa được chi trả khi chương trình hết hạn chi trả"), ("en", "Not paid by the end of the programme")],
)
def test_the_backlog_page_shows_what_was_not_paid_by_the_end(client, db_session, locale, title):
    program = nq116()  # the dashboards' programme
    create_claim("approved", program=program)
    supervisor = create_user("supervisor", password=PASSWORD)
    supervisor.locale = locale
    db.session.flush()
    assert client.post("/login", data={"email": supervisor.email, "password": PASSWORD}).status_code == 302
    backlog.refresh(program.id, LAST)
    assert title not in client.get("/dashboard/backlog").get_data(as_text=True)

    backlog.refresh(program.id, AFTER)
    html = client.get("/dashboard/backlog").get_data(as_text=True)
    assert f'<h2 id="unpaid-title">{title}</h2>' in html
    table = html.split('id="unpaid-at-end"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'<td>(Đã duyệt|Approved)</td><td class="num">[1-9]', table)
