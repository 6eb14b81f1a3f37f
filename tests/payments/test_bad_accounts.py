"""Bank details the bank cannot pay: refused where they come in, refused at approval, and, should one still reach a
batch, failed alone at sending while the rest of the batch is paid.

The audit's case: a Form 03 correction to ``AB12CD34`` passed our old rule (4 to 30 letters and digits), took the
claim back to ``approved``, and the sandbox bank (``account:<6 to 19 digits>@<BANK>``) refused its whole batch,
again at every chase: the two good claims of the batch stayed ``payment_pending`` for ever with it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from disburse.casework import service as casework
from disburse.casework.forms import PaymentDetailsForm
from disburse.claims import employer_forms
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import BANK_ACCOUNT_MESSAGE, RowResult, bank_errors, is_bank_account
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.payments import reasons, sending
from disburse.payments import service as payments
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.providers import PermanentError, ProviderStatus
from disburse.payments.sandbox_client import MALFORMED, update_from
from disburse.reference.service import KnownBanks
from disburse.sandbox.messages import PAYEE_FA
from disburse.verification import review
from disburse.verification.checks import BANK_ACCOUNT_SHAPE
from tests.factories import create_claim, create_duplicate_group, create_program, create_user
from tests.payments.helpers import deliver_callbacks
from tests.sandbox_bank import order

pytestmark = pytest.mark.usefixtures("db_session")

PASSWORD = "mat-khau-rat-dai"
GOOD = "0011004455667"
#: Accounts the old rule took (or that look like digits) and the bank refuses.
BAD = [
    "AB12CD34",
    "12345",
    "12345678901234567890",
    "12 345",  # in groups, but 5 digits
    "１２３４５６７",
    "٠١٢٣٤٥٦٧",
    "123\n4567",
    "12-345",
    "123456-",
]
#: Accounts copied in groups from a card or an app: their digits are the account (outcomes.account_digits).
GROUPED = ["0011 0044 55", "12-3456", "1903\u00a05566 7788"]


# ----------------------------------------------------------------------------------------- the one definition

#: Characters an account number is mistyped with: digits (ASCII, full-width, Arabic-Indic), letters, separators.
_CHARS = st.sampled_from(list("0123456789") * 4 + list("AbZ９٣ -./\n\t"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.from_regex(r"\A[0-9]{6,19}\Z"), st.text(_CHARS, max_size=24)))
def test_one_rule_for_an_account_agrees_with_verification_and_the_bank(db_session, value):
    """Our rule, verification's SQL (PostgreSQL's ``~``) and the bank's payee address take the same accounts, and
    a Form 03 row is refused exactly for the others."""
    ours = is_bank_account(value)
    assert ours == (re.fullmatch(r"[0-9]{6,19}", value, flags=re.ASCII) is not None)
    if "\x00" not in value:
        in_sql = db_session.execute(text("SELECT CAST(:v AS text) ~ :shape"), {"v": value, "shape": BANK_ACCOUNT_SHAPE})
        assert in_sql.scalar_one() is ours
    assert (PAYEE_FA.fullmatch(f"account:{value}@VCB") is not None) is ours
    if value:  # a blank account is the "give both or neither" rule's, not this one's
        row = RowResult(row=1, si_code="0100012345")
        assert bank_errors(row, "VCB", value, KnownBanks(frozenset({"VCB"}))) is (not ours)
        assert [e.code for e in row.errors] == ([] if ours else ["account_format"])


# -------------------------------------------------------------------------------- refused where they come in


def _events(claim_id: int) -> list[str]:
    return list(db.session.scalars(select(ClaimEvent.action).where(ClaimEvent.claim_id == claim_id)))


@pytest.mark.parametrize("account", BAD)
def test_a_correction_to_an_account_the_bank_refuses_is_refused_and_changes_nothing(account):
    claim = create_claim(ClaimState.AWAITING_PAYMENT_DETAILS)
    before = _events(claim.id)

    result = employer_forms.correct_payment_details(claim.id, "BIDV", account)

    assert result.outcome == "error"
    assert [(e.field, e.code, e.message_vi, e.message_en) for e in result.errors] == [
        ("bank_account", "account_format", *BANK_ACCOUNT_MESSAGE)
    ]
    db.session.expire_all()
    again = db.session.get(Claim, claim.id)
    assert (again.state, again.bank_code, again.bank_account) == ("awaiting_payment_details", "VCB", GOOD)
    assert _events(claim.id) == before


def test_a_correction_to_a_good_account_still_goes_back_to_be_paid():
    claim = create_claim(ClaimState.AWAITING_PAYMENT_DETAILS)
    result = employer_forms.correct_payment_details(claim.id, "BIDV", "123456")
    assert result.outcome == "corrected", result.errors
    assert db.session.get(Claim, claim.id).state == "approved"


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("vi", BANK_ACCOUNT_MESSAGE[0]),
        ("en", BANK_ACCOUNT_MESSAGE[1]),
    ],
)
def test_the_caseworkers_form_refuses_an_account_the_bank_refuses(client, locale, message):
    caseworker = create_user("caseworker", district="017", password=PASSWORD)
    caseworker.locale = locale
    db.session.flush()
    assert client.post("/login", data={"email": caseworker.email, "password": PASSWORD}).status_code == 302
    claim = create_claim(ClaimState.AWAITING_PAYMENT_DETAILS, district_code="017")

    response = client.post(
        f"/caseworker/claims/{claim.id}/payment-details", data={"bank_code": "BIDV", "bank_account": "AB12CD34"}
    )

    assert response.status_code == 422
    assert message in re.sub(r"\s+", " ", response.get_data(as_text=True))
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).state, db.session.get(Claim, claim.id).bank_account) == (
        "awaiting_payment_details",
        GOOD,
    )


@pytest.mark.parametrize(
    ("account", "valid"),
    [("123456", True), ("1234567890123456789", True), *[(g, True) for g in GROUPED], *[(b, False) for b in BAD]],
)
def test_the_caseworkers_form_takes_exactly_the_one_rule(app, account, valid):
    with app.test_request_context(method="POST", data={"bank_code": "BIDV", "bank_account": account}):
        form = PaymentDetailsForm()
        form.bank_code.choices = [("BIDV", "BIDV")]
        assert form.validate() is valid, form.errors


# ---------------------------------------------------------------------------------------- refused at approval


@pytest.mark.parametrize(
    ("details", "reason", "words"),
    [
        ({"bank_account": "AB12CD34"}, "bank_details_malformed", "không đúng định dạng"),
        ({"bank_code": None, "bank_account": None}, "bank_details_missing", "thiếu ngân hàng hoặc số tài khoản"),
    ],
)
def test_a_caseworker_cannot_approve_a_bank_claim_whose_details_cannot_be_paid(details, reason, words):
    caseworker = create_user("caseworker", district="017")
    claim = create_claim(ClaimState.NEEDS_REVIEW, district_code="017", reasons=[reason], **details)
    before = _events(claim.id)

    with pytest.raises(review.Conflict) as refused:
        review.approve(claim.id, caseworker, "đã gọi điện")

    assert refused.value.code == "bank_details_invalid"
    assert words in refused.value.vi and "cannot be approved" in refused.value.en
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review"
    assert _events(claim.id) == before


def test_a_caseworker_corrects_the_details_of_a_claim_in_review_and_then_approves_it():
    """Verification found the account malformed; the caseworker hears the right one from the person, enters it on
    the case page (the claim stays in review, a ``correct`` note says what changed) and can then approve. A malformed
    account is refused and changes nothing; the same correction again (a second click) is done already and changes
    nothing; the details the claim had from its list, given as new ones, are refused."""
    caseworker = create_user("caseworker", district="017")
    claim = create_claim(
        ClaimState.NEEDS_REVIEW, district_code="017", reasons=["bank_details_malformed"], bank_account="AB12CD34"
    )
    before = _events(claim.id)
    refused = casework.correct_payment_details(claim.id, caseworker, "BIDV", "12 34")
    assert [e.code for e in refused.errors] and _events(claim.id) == before

    result = casework.correct_payment_details(claim.id, caseworker, "BIDV", "21510001234567")
    assert result.outcome == "corrected", result.errors
    db.session.expire_all()
    corrected = db.session.get(Claim, claim.id)
    assert (corrected.state, corrected.bank_code, corrected.bank_account) == ("needs_review", "BIDV", "21510001234567")
    assert _events(claim.id) == [*before, "correct"]

    again = casework.correct_payment_details(claim.id, caseworker, "BIDV", "21510001234567")
    assert (again.errors, again.outcome) == ([], "unchanged") and _events(claim.id) == [*before, "correct"]
    listed = create_claim(ClaimState.NEEDS_REVIEW, district_code="017", reasons=["amount_changed"])
    same = casework.correct_payment_details(listed.id, caseworker, listed.bank_code, listed.bank_account)
    assert [e.code for e in same.errors] == ["same_details"]
    assert review.approve(claim.id, caseworker, "đã gọi điện").changed
    assert db.session.get(Claim, claim.id).state == "approved"


def test_approval_reads_the_details_as_they_are_now():
    """Flagged malformed by verification, corrected since (Form 03): approved. A cash claim needs no account."""
    caseworker = create_user("caseworker", district="017")
    fixed = create_claim(ClaimState.NEEDS_REVIEW, district_code="017", reasons=["bank_details_malformed"])
    cash = create_claim(ClaimState.NEEDS_REVIEW, district_code="017", payout="cash", bank_code=None, bank_account=None)
    assert review.approve(fixed.id, caseworker).changed
    assert review.approve(cash.id, caseworker).changed
    assert {db.session.get(Claim, c.id).state for c in (fixed, cash)} == {"approved"}


def test_a_duplicate_override_does_not_approve_a_claim_whose_details_cannot_be_paid():
    admin = create_user("admin")
    group = create_duplicate_group()
    keep = group[0]
    keep.bank_account = "AB12CD34"
    db.session.flush()
    states = {c.id: c.state for c in group}
    before = {c.id: _events(c.id) for c in group}

    with pytest.raises(review.Conflict) as refused:
        review.resolve_duplicate(keep.id, admin, keep.id, override=True, note="Hai người khác nhau.")

    assert refused.value.code == "bank_details_invalid"
    db.session.expire_all()
    assert {c.id: db.session.get(Claim, c.id).state for c in group} == states
    assert {c.id: _events(c.id) for c in group} == before


# ----------------------------------------------------------------------------------- failed alone at sending


def _rows(db_session, batch_id: int) -> dict[int, tuple[str, str, str | None]]:
    db_session.expire_all()
    rows = db_session.execute(
        select(Claim.id, Claim.state, Payment.state, Payment.failure_code)
        .join(Payment, Payment.claim_id == Claim.id)
        .where(Payment.batch_id == batch_id)
    ).all()
    return {claim_id: (claim_state, payment_state, code) for claim_id, claim_state, payment_state, code in rows}


def test_one_bad_account_fails_alone_and_the_rest_of_its_batch_is_paid(client, db_session, bank, receiver, use_bank):
    """The audit's poison batch: an account the bank refuses (here already approved, as before the fix, or from the
    registry) among good ones. It fails before sending and asks for new details; the others are paid."""
    use_bank(bank)
    program = create_program()
    good = [create_claim(ClaimState.APPROVED, program=program) for _ in range(2)]
    bad = create_claim(ClaimState.APPROVED, program=program, bank_account="AB12CD34")
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None and batch.item_count == 3

    sent = sending.send_batch(batch.id)

    assert sent.accepted and sent.orders == 2 and len(sent.refused) == 1 and sent.error is None
    assert sent.applied["failed"] == 1 and sent.applied["awaiting_details"] == 1
    rows = _rows(db_session, batch.id)
    assert rows[bad.id] == ("awaiting_payment_details", "failed", reasons.PAYEE_FA_MALFORMED)
    assert {rows[c.id] for c in good} == {("payment_pending", "sent", None)}
    failed = db_session.get(Claim, bad.id)
    assert failed.payment_failures == 1
    asked = db_session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == bad.id, ClaimEvent.action == "request_details")
    ).one()
    assert asked.data["code"] == reasons.PAYEE_FA_MALFORMED and asked.data["ask"] == "employer"
    assert reasons.label(reasons.PAYEE_FA_MALFORMED)[0] in (
        db_session.scalars(
            select(ClaimEvent.reason).where(ClaimEvent.claim_id == bad.id, ClaimEvent.action == "payment_failed")
        ).one()
        or ""
    )
    db_session.refresh(batch)
    assert batch.last_error is None and batch.send_attempts == 1

    deliver_callbacks(client, receiver, bank)
    rows = _rows(db_session, batch.id)
    assert {rows[c.id][:2] for c in good} == {("paid", "paid")}
    transfers = bank.sql("SELECT reference_id FROM sandbox.transfers ORDER BY reference_id")
    assert sorted(r for (r,) in transfers) == sorted(
        db_session.scalars(select(Payment.provider_reference).where(Payment.claim_id.in_([c.id for c in good])))
    )
    # Nothing left to chase; the chase sends nothing and fails nobody else.
    chased = sending.chase("sandbox", older_than=timedelta(0))
    assert (chased.asked, chased.resent) == (0, 0)

    # New details through Form 03 / the office: paid on the next batch.
    assert employer_forms.correct_payment_details(bad.id, "BIDV", "1234567890").outcome == "corrected"
    again = payments.create_batch(program, "bank", "sandbox")
    assert again is not None and sending.send_batch(again.id).accepted
    receiver.received.clear()
    deliver_callbacks(client, receiver, bank)
    assert _rows(db_session, again.id)[bad.id][:2] == ("paid", "paid")


def test_a_batch_of_bad_accounts_only_never_calls_the_bank(db_session, bank, use_bank):
    use_bank(bank)
    program = create_program()
    bad = [
        create_claim(ClaimState.APPROVED, program=program, bank_account=account) for account in ("AB12CD34", "12345")
    ]
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None

    sent = sending.send_batch(batch.id)

    assert (sent.orders, len(sent.refused), sent.applied["failed"]) == (0, 2, 2)
    assert {row[:2] for row in _rows(db_session, batch.id).values()} == {("awaiting_payment_details", "failed")}
    assert bank.sql("SELECT count(*) FROM sandbox.batches")[0][0] == 0
    assert {db_session.get(Claim, c.id).payment_failures for c in bad} == {1}


def test_an_order_the_bank_refuses_by_name_for_our_own_reason_is_held_back_and_the_rest_paid(
    client, db_session, bank, receiver, use_bank
):
    """The bank refuses the message naming one item for a field that is ours (an amount it cannot take): that order
    fails nobody and stays sent (the chase tries it again after a wait: tests/payments/test_sending_withheld.py); the
    others go out at once."""
    use_bank(bank)
    program = create_program()
    good = [create_claim(ClaimState.APPROVED, program=program) for _ in range(2)]
    odd = create_claim(ClaimState.APPROVED, program=program, amount_vnd=10**15)  # 16 digits: the bank's limit is 15
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None

    sent = sending.send_batch(batch.id)

    assert sent.accepted and len(sent.withheld) == 1 and "held back" in (sent.error or "")
    rows = _rows(db_session, batch.id)
    assert rows[odd.id] == ("payment_pending", "sent", None)
    db_session.refresh(batch)
    assert batch.send_attempts == 2 and "held back" in (batch.last_error or "")
    assert "amount" in (batch.last_error or "")  # the bank's own words on why, not only the reference
    assert db_session.get(Claim, odd.id).payment_failures == 0
    deliver_callbacks(client, receiver, bank)
    rows = _rows(db_session, batch.id)
    assert {rows[c.id][:2] for c in good} == {("paid", "paid")}
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 2

    assert sending.chase("sandbox", older_than=timedelta(0)).asked == 0  # it waits
    db_session.execute(
        text("UPDATE payments SET withheld_until = now() - interval '1 second' WHERE claim_id = :id"), {"id": odd.id}
    )
    chased = sending.chase("sandbox", older_than=timedelta(0))  # asked again: refused again, still nobody's failure
    assert (chased.asked, chased.withheld) == (1, 1)
    assert _rows(db_session, batch.id)[odd.id] == ("payment_pending", "sent", None)
    assert db_session.get(Claim, odd.id).payment_failures == 0


# ------------------------------------------------------------------------------------------- the bank's client


def test_the_client_leaves_out_an_order_it_cannot_write_and_sends_the_rest(bank, make_provider):
    provider = make_provider(bank)

    ack = provider.send(
        "T-LEFT-OUT", [order("R-GOOD"), order("R-BAD", account="AB12CD34"), order("R-NONE", bank_code="")]
    )

    assert ack.accepted
    assert [(u.reference, u.status, u.reason_code) for u in ack.updates] == [
        ("R-BAD", ProviderStatus.REJECTED, MALFORMED),
        ("R-NONE", ProviderStatus.REJECTED, MALFORMED),
    ]
    assert [r for (r,) in bank.sql("SELECT reference_id FROM sandbox.transfers")] == ["R-GOOD"]


def test_the_client_names_the_items_a_refused_message_names(bank, make_provider):
    """A real NACK from the sandbox: the payee's blank name fails that order (its details), an amount the bank cannot
    take holds that order back (ours), the good order is named in nothing."""
    provider = make_provider(bank)
    blank = order("R-NAME")
    blank = type(blank)(**{**blank.__dict__, "payee_name": "   "})

    ack = provider.send("T-NAMED", [order("R-GOOD"), blank, order("R-AMOUNT", amount=10**15)])

    assert not ack.accepted and "NACK" in (ack.message or "")
    named = {u.reference: (u.status, u.reason_code) for u in ack.updates}
    assert named == {
        "R-NAME": (ProviderStatus.REJECTED, "rjct.payee_name.invalid"),
        "R-AMOUNT": (ProviderStatus.UNKNOWN, None),
    }
    assert reasons.label("rjct.payee_name.invalid")[1] == "The payee's name is missing or not valid"
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0


def test_a_message_refused_for_itself_names_nobody(bank, make_provider):
    provider = make_provider(bank, callback_url="ftp://nowhere")  # our misconfiguration: the header is wrong
    ack = provider.send("T-WHOLE", [order("R-1"), order("R-2", amount=10**15)])
    assert not ack.accepted and ack.updates == ()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (  # G2P Connect's names (DisburseResponse.disbursements_status)
            {"status": "rjct", "status_reason_code": "rjct.payee_fa.invalid", "status_reason_message": "no account"},
            (ProviderStatus.REJECTED, "rjct.payee_fa.invalid", "no account"),
        ),
        (  # the sandbox's names today
            {"status": "rjct", "reason_code": "rjct.payee_fa.closed", "reason_message": "closed"},
            (ProviderStatus.REJECTED, "rjct.payee_fa.closed", "closed"),
        ),
        (  # a return, under the spec's name
            {"status": "rjct", "status_reason_code": "rjct.returned"},
            (ProviderStatus.RETURNED, "rjct.returned", None),
        ),
        (  # both: the spec's name wins; an empty one does not hide the other
            {
                "status": "rjct",
                "status_reason_code": "rjct.amount.invalid",
                "reason_code": "x",
                "status_reason_message": "",
                "reason_message": "m",
            },
            (ProviderStatus.REJECTED, "rjct.amount.invalid", "m"),
        ),
        ({"status": "succ"}, (ProviderStatus.PAID, None, None)),
    ],
)
def test_the_client_reads_the_reason_under_both_names(item, expected):
    update = update_from({"reference_id": "R-1", "timestamp": "2026-12-03T10:00:00+07:00", **item})
    assert (update.status, update.reason_code, update.reason_message) == expected


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    item=st.fixed_dictionaries(
        {},
        optional={
            "reference_id": st.just("R-1") | _JSON,
            "status": st.sampled_from(["rcvd", "pdng", "succ", "rjct"]) | _JSON,
            "amount": st.sampled_from(["²", "٣٠٠٠", "3000", 3000, -1, 2.5]) | _JSON,
            "timestamp": st.just("2026-12-03T10:00:00+07:00") | _JSON,
            "status_reason_code": _JSON,
            "reason_message": _JSON,
        },
    )
)
def test_any_status_object_from_the_bank_is_an_update_or_a_permanent_error(item):
    """Whatever a (signed) callback or a status answer holds, reading it never raises anything else: a crash there
    would retry the same event for ever."""
    try:
        update = update_from(item)
    except PermanentError:
        return
    assert update.reference == item["reference_id"]
    assert update.amount_vnd is None or isinstance(update.amount_vnd, int)


def test_a_batch_with_a_bad_account_is_not_stuck_at_the_chase_either(db_session, bank, use_bank, app):
    """A batch sent before the fix (its payments ``sent``, the bank never took it): the chase fails the bad order and
    sends the rest."""
    use_bank(bank)
    program = create_program()
    good = create_claim(ClaimState.APPROVED, program=program)
    bad = create_claim(ClaimState.APPROVED, program=program, bank_account="AB12CD34")
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None
    payments.mark_batch_sent(payments.get_batch_for_update(batch.id))  # handed over, and lost
    db_session.commit()

    chased = sending.chase("sandbox", older_than=timedelta(0))

    assert (chased.asked, chased.resent, chased.applied["failed"]) == (2, 1, 1)
    rows = _rows(db_session, batch.id)
    assert rows[bad.id][:2] == ("awaiting_payment_details", "failed")
    assert rows[good.id][:2] == ("payment_pending", "sent")
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 1
    assert db_session.get(PaymentBatch, batch.id).last_error is None
