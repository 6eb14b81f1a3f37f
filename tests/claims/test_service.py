"""The one transition path for claims: one claim at a time and many in one statement, both against the machine."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text

from disburse.claims import service
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import TRANSITIONS, ClaimAction, ClaimState, InvalidClaimTransition
from tests.factories import create_claim, create_user


def _events(claim_id: int) -> list[tuple[str, str | None, str]]:
    return [(e.action, e.from_state, e.to_state) for e in service.claim_events(claim_id)]


def _rollups_match_claims(db_session) -> None:
    """The claim_counters rollup equals a GROUP BY over claims (the dashboards read the former)."""
    drift = db_session.execute(
        text(
            """SELECT count(*) FROM (
                 SELECT program_id, district_code, employer_id, state, count(*) AS n, sum(amount_vnd) AS amount
                 FROM claims GROUP BY 1, 2, 3, 4
                 EXCEPT
                 SELECT program_id, district_code, employer_id, state, claims, amount_vnd
                 FROM claim_counters WHERE claims <> 0) d"""
        )
    ).scalar_one()
    assert drift == 0


@pytest.mark.parametrize(("from_state", "action"), sorted(TRANSITIONS, key=str))
def test_every_allowed_action_moves_one_claim_and_writes_its_event(db_session, from_state, action):
    claim = create_claim(from_state)
    before = _events(claim.id)
    caseworker = create_user("caseworker")
    reason = "Không đủ điều kiện" if action is ClaimAction.REJECT else None

    event = service.transition(claim.id, action, caseworker, reason=reason, data={"form": "02"})

    db_session.refresh(claim)
    assert claim.state == TRANSITIONS[(from_state, action)]
    assert _events(claim.id) == [*before, (action.value, from_state.value, claim.state)]
    assert (event.actor_id, event.reason, event.data) == (caseworker.id, reason, {"form": "02"})
    _rollups_match_claims(db_session)


def test_a_refused_action_changes_nothing(db_session):
    claim = create_claim(ClaimState.LISTED)
    with pytest.raises(InvalidClaimTransition):
        service.transition(claim, ClaimAction.APPROVE)
    db_session.refresh(claim)
    assert claim.state == ClaimState.LISTED
    assert _events(claim.id) == [("create", None, "listed")]


def test_a_refusal_needs_a_written_reason(db_session):
    claim = create_claim(ClaimState.NEEDS_REVIEW)
    for reason in (None, "", "   "):
        with pytest.raises(service.ReasonRequired):
            service.transition(claim, ClaimAction.REJECT, reason=reason)
        with pytest.raises(service.ReasonRequired):
            service.transition_many(ClaimAction.REJECT, ids=[claim.id], reason=reason)
    db_session.refresh(claim)
    assert claim.state == ClaimState.NEEDS_REVIEW


def test_paid_and_failed_payments_leave_their_marks(db_session):
    claim = create_claim(ClaimState.PAYMENT_PENDING)
    service.transition(claim, ClaimAction.PAYMENT_FAILED)
    db_session.refresh(claim)
    assert claim.payment_failures == 1 and claim.paid_at is None
    paid = create_claim(ClaimState.PAID)
    assert paid.paid_at is not None


def test_transition_reads_the_claim_locked_for_update(db_session):
    """The row is read FOR UPDATE before the machine is asked, so two actors on one claim take turns. (The test's
    rows are never committed, so another connection cannot be shown waiting: the statement is checked instead.)"""
    claim = create_claim(ClaimState.LISTED)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        service.transition(claim, ClaimAction.CONFIRM)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM claims" in s]
    assert reads and all("FOR UPDATE" in s for s in reads)
    assert statements.index(reads[0]) < next(i for i, s in enumerate(statements) if s.startswith("UPDATE claims"))


def test_many_claims_move_in_one_statement_and_say_what_did_not(db_session):
    listed = [create_claim(ClaimState.LISTED) for _ in range(3)]
    confirmed = create_claim(ClaimState.EMPLOYER_CONFIRMED)
    rejected = create_claim(ClaimState.REJECTED)
    unknown = max(c.id for c in [*listed, confirmed, rejected]) + 1000
    actor = create_user("caseworker")

    result = service.transition_many(
        ClaimAction.MARK_OVERDUE, ids=[c.id for c in listed] + [confirmed.id, rejected.id, unknown], actor=actor
    )

    assert sorted(result.moved_ids) == sorted(c.id for c in listed)
    assert all((f, t) == ("listed", "employer_overdue") for _, f, t in result.moved)
    assert result.not_moved == {confirmed.id: "employer_confirmed", rejected.id: "rejected", unknown: None}
    for claim in listed:
        assert db_session.get(Claim, claim.id).state == "employer_overdue"
        assert _events(claim.id)[-1] == ("mark_overdue", "listed", "employer_overdue")
        assert (
            db_session.scalar(
                select(ClaimEvent.actor_id)
                .where(ClaimEvent.claim_id == claim.id)
                .order_by(ClaimEvent.id.desc())
                .limit(1)
            )
            == actor.id
        )
    assert _events(confirmed.id)[-1][0] != "mark_overdue"
    _rollups_match_claims(db_session)


@pytest.mark.parametrize("skip_fk_triggers", [False, True])
def test_a_users_bulk_move_holds_the_events_references_with_or_without_their_per_row_checks(
    db_session, skip_fk_triggers
):
    """A user's bulk move may skip the events' per-row foreign-key checks (Form 02 does): the user's row is locked
    once instead, as each check would have locked it, and an actor who is not a user is refused either way."""
    from sqlalchemy.exc import IntegrityError

    listed = [create_claim(ClaimState.LISTED) for _ in range(3)]
    employer = create_user("employer")

    result = service.transition_many(
        ClaimAction.CONFIRM, ids=[c.id for c in listed], actor=employer, skip_fk_triggers=skip_fk_triggers
    )

    assert sorted(result.moved_ids) == sorted(c.id for c in listed)
    actors = db_session.scalars(
        select(ClaimEvent.actor_id).where(ClaimEvent.claim_id.in_(result.moved_ids), ClaimEvent.action == "confirm")
    ).all()
    assert actors == [employer.id] * 3
    assert db_session.execute(text("SHOW session_replication_role")).scalar() == "origin"
    # The user's row carries a lock now (xmax set, the row not deleted): the per-row checks' or the one lock's.
    xmax = db_session.execute(text("SELECT xmax::text FROM users WHERE id = :id"), {"id": employer.id}).scalar()
    assert xmax != "0"
    _rollups_match_claims(db_session)

    other = create_claim(ClaimState.LISTED)
    savepoint = db_session.begin_nested()
    with pytest.raises(IntegrityError):
        service.transition_many(
            ClaimAction.CONFIRM, ids=[other.id], actor=employer.id + 10_000, skip_fk_triggers=skip_fk_triggers
        )
    savepoint.rollback()
    assert db_session.get(Claim, other.id).state == ClaimState.LISTED


def test_every_set_based_transition_runs_without_jit(db_session):
    """Claims' and payments' bulk moves all go through one execution path, which switches PostgreSQL's JIT off for
    the transaction: their estimates are high enough for it to compile each statement (0.4 s a statement of Form 02
    at 100,000 claims) for index probes it does not speed up."""
    from disburse.payments import service as payments
    from disburse.payments.states import PaymentAction
    from tests.factories import create_payment

    def jit() -> str:
        return str(db_session.execute(text("SHOW jit")).scalar())

    db_session.execute(text("SET LOCAL jit = on"))
    service.transition_many(ClaimAction.CONFIRM, ids=[create_claim(ClaimState.LISTED).id])
    assert jit() == "off"

    db_session.execute(text("SET LOCAL jit = on"))
    payments.transition_many(PaymentAction.SEND, ids=[create_payment().id])
    assert jit() == "off"


def test_many_claims_by_id_range_and_program(db_session):
    claims = [create_claim(ClaimState.EMPLOYER_CONFIRMED) for _ in range(4)]
    ids = sorted(c.id for c in claims)
    other_program = service.transition_many(
        ClaimAction.START_VERIFICATION, id_range=(ids[0], ids[-1]), program_id=claims[0].program_id + 999
    )
    assert other_program.moved == [] and other_program.not_moved == {}

    result = service.transition_many(
        ClaimAction.START_VERIFICATION, id_range=(ids[1], ids[-1]), program_id=claims[0].program_id
    )
    assert result.moved_ids == ids[1:]
    assert db_session.get(Claim, ids[0]).state == "employer_confirmed"
    assert {db_session.get(Claim, i).state for i in ids[1:]} == {"verifying"}


def test_many_needs_either_ids_or_a_range(db_session):
    with pytest.raises(ValueError, match="either"):
        service.transition_many(ClaimAction.CONFIRM)
    with pytest.raises(ValueError, match="either"):
        service.transition_many(ClaimAction.CONFIRM, ids=[1], id_range=(1, 2))


_ACTIONS = st.lists(st.sampled_from(list(ClaimAction)), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from(list(ClaimState)), actions=_ACTIONS)
def test_one_and_many_agree_for_any_sequence_of_actions(db_session, start, actions):
    """The same actions, one claim through transition(), its twin through transition_many(): same states, same
    history, same marks (paid_at, payment_failures), and a refused action refused by both."""
    one, many = create_claim(start), create_claim(start)
    for action in actions:
        reason = "Lý do" if action is ClaimAction.REJECT else None
        try:
            service.transition(one.id, action, reason=reason)
            refused_one = False
        except InvalidClaimTransition:
            refused_one = True
        result = service.transition_many(action, ids=[many.id], reason=reason)
        assert refused_one == (many.id in result.not_moved)
    a, b = db_session.get(Claim, one.id), db_session.get(Claim, many.id)
    db_session.refresh(a)
    db_session.refresh(b)
    assert (a.state, a.payment_failures, a.paid_at is None) == (b.state, b.payment_failures, b.paid_at is None)
    assert _events(a.id) == _events(b.id)


def test_confirm_many_writes_the_forms_details_with_the_move(db_session):
    """Form 02's move writes the bank details, the payout and the dates itself, with one event a claim; a claim in a
    state that cannot be confirmed, or naming a bank that does not exist, is left exactly as it was."""
    from datetime import date

    to_bank, to_cash, unknown_bank, paid = (create_claim(s) for s in ("listed", "employer_overdue", "listed", "paid"))
    before = {c.id: (c.state, c.bank_code, c.bank_account, c.payout, c.confirmed_on) for c in (unknown_bank, paid)}
    caseworker = create_user("caseworker")
    moved = service.confirm_many(
        [to_bank.id, to_cash.id, unknown_bank.id, paid.id],
        ["VCB", None, "NOPE", "VCB"],
        ["0011004455667", None, "0011004455668", "0011004455669"],
        confirmed_on=date(2021, 10, 25),
        payment_due_on=date(2021, 11, 8),
        actor=caseworker,
        data={"form": "02"},
    )
    assert sorted(claim_id for claim_id, _, _ in moved.moved) == sorted([to_bank.id, to_cash.id])
    assert set(moved.not_moved) == {unknown_bank.id, paid.id}
    bank, cash = db_session.get(Claim, to_bank.id), db_session.get(Claim, to_cash.id)
    assert (bank.state, bank.bank_code, bank.bank_account, bank.payout) == (
        "employer_confirmed",
        "VCB",
        "0011004455667",
        "bank",
    )
    assert (cash.state, cash.bank_code, cash.bank_account, cash.payout) == ("employer_confirmed", None, None, "cash")
    assert {(c.confirmed_on, c.payment_due_on) for c in (bank, cash)} == {(date(2021, 10, 25), date(2021, 11, 8))}
    assert _events(to_cash.id)[-1] == ("confirm", "employer_overdue", "employer_confirmed")
    for claim_id, state in before.items():
        c = db_session.get(Claim, claim_id)
        assert (c.state, c.bank_code, c.bank_account, c.payout, c.confirmed_on) == state
    _rollups_match_claims(db_session)


# --------------------------------------------------------------------------------- retry_after in the bulk moves


def _waiting_for_the_bank() -> Claim:
    """An approved claim waiting for the bank after a failure on its side: its ``retry_after`` set."""
    claim = create_claim(ClaimState.PAYMENT_PENDING)
    service.transition(claim, ClaimAction.PAYMENT_FAILED, reason="TM01", bank_side=True)
    service.transition(claim, ClaimAction.RETRY_PAYMENT)
    assert claim.state == ClaimState.APPROVED and claim.retry_after is not None
    return claim


@pytest.mark.parametrize("move", ["reject", "queue_payment", "flag_for_review"])
def test_a_bulk_move_out_of_approved_clears_the_wait_for_the_bank(db_session, move):
    """Every kind of bulk move (the general one and the close-out's flag) clears ``retry_after`` of the claims it
    takes out of ``approved``: the wait is for paying an approved claim again, nothing else."""
    waiting = [_waiting_for_the_bank() for _ in range(2)]
    ids = [claim.id for claim in waiting]

    if move == "flag_for_review":
        result = service.flag_for_review_many(ids, ["payment_period_ended"])
    else:
        reason = "Không đủ điều kiện (thử nghiệm)" if move == "reject" else None
        result = service.transition_many(ClaimAction(move), ids=ids, reason=reason)

    assert sorted(result.moved_ids) == sorted(ids) and not result.not_moved
    for claim_id in ids:
        claim = db_session.get(Claim, claim_id)
        assert claim.state != ClaimState.APPROVED and claim.retry_after is None


@pytest.mark.parametrize(
    ("action", "from_state"),
    [
        (ClaimAction.RETRY_PAYMENT, ClaimState.PAYMENT_FAILED),
        (ClaimAction.CANCEL_PAYMENT, ClaimState.PAYMENT_PENDING),
        (ClaimAction.DETAILS_RECEIVED, ClaimState.AWAITING_PAYMENT_DETAILS),
        (ClaimAction.APPROVE, ClaimState.VERIFYING),
    ],
)
def test_a_claim_that_stays_approved_through_a_bulk_move_keeps_its_wait(db_session, action, from_state):
    """A bulk move that brings other claims to ``approved`` and is asked for a claim already waiting there leaves
    that claim approved with the very same ``retry_after``; only the bank-side retry sets a new wait on the claims it
    moves."""
    waiting = _waiting_for_the_bank()
    until = waiting.retry_after
    other = create_claim(from_state, bank_failures=1)

    result = service.transition_many(action, ids=[waiting.id, other.id])

    assert result.moved_ids == [other.id] and result.not_moved == {waiting.id: "approved"}
    db_session.expire_all()
    kept, moved = db_session.get(Claim, waiting.id), db_session.get(Claim, other.id)
    assert (kept.state, kept.retry_after) == (ClaimState.APPROVED, until)
    assert moved.state == ClaimState.APPROVED
    assert (moved.retry_after is not None) == (action is ClaimAction.RETRY_PAYMENT)
