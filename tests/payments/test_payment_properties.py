"""A property over random failure, return and correction sequences: the sandbox bank over HTTP (its clock driven
here), its callbacks handed to our endpoint in any order, twice, or never; batches sent, sent again, sent while the
bank is down; the chase; corrected details through Form 03 or from a caseworker at the office; a caseworker's
refusal. Then the sweepers run until
nothing is left to do, and every claim ends paid once, refused, or waiting for details, with money out minus
recoveries equal to the bank ledger's net debit of the fund's account (:mod:`tests.payments.invariants`)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from disburse.casework import service as casework
from disburse.claims import employer_forms
from disburse.claims import service as claims
from disburse.claims.states import ClaimAction, ClaimState
from disburse.extensions import db
from disburse.payments import events, sending
from disburse.payments import service as payments
from disburse.payments.providers import RetryableError
from tests.factories import create_claim, create_program, create_user
from tests.payments.invariants import END_STATES, assert_never_twice_never_lost
from tests.sandbox_bank import Bank, Receiver

pytestmark = pytest.mark.usefixtures("db_session")

URL = "/api/v1/providers/sandbox/events"
NOWHERE = "http://127.0.0.1:9"  # nothing listens there

STEPS = ("pay", "pay_while_down", "send_again", "tick", "deliver", "deliver_shuffled_twice", "lose", "chase")
HUMAN = ("correct", "correct_at_the_office", "refuse")

plans = st.fixed_dictionaries(
    {
        "claims": st.integers(min_value=1, max_value=6),
        "batch_size": st.integers(min_value=1, max_value=4),
        "failure_rate": st.sampled_from([0.0, 0.3, 0.6, 0.9]),
        "return_rate": st.sampled_from([0.0, 0.3, 0.6]),
        "seed": st.integers(min_value=0, max_value=10**6),
        "steps": st.lists(st.sampled_from(STEPS + HUMAN), min_size=3, max_size=24),
        # Rounds of the sweepers during which people still act (corrections, refusals) before it all settles.
        "people_rounds": st.integers(min_value=0, max_value=4),
        # The test's own choices (which callbacks, which claims): drawn up front, so that a replay draws the same.
        "choices": st.integers(min_value=0, max_value=2**32),
    }
)


class Parts:
    """The test's fixtures in one, with a short repr (Hypothesis prints the arguments of a failing example, and
    would print every callback the receiver holds)."""

    def __init__(self, client: Any, bank: Bank, receiver: Receiver, use_bank: Any) -> None:
        self.client, self.bank, self.receiver, self.use_bank = client, bank, receiver, use_bank

    def __repr__(self) -> str:
        return f"Parts(bank={self.bank.url})"


@pytest.fixture
def parts(client: Any, bank: Bank, receiver: Receiver, use_bank: Any) -> Parts:
    return Parts(client, bank, receiver, use_bank)


class Run:
    """One example: a program of approved claims, and the test playing the worker, the bank's clock and people."""

    def __init__(self, parts: Parts, plan: dict[str, Any]) -> None:
        self.client, self.bank, self.receiver, self.use_bank = parts.client, parts.bank, parts.receiver, parts.use_bank
        receiver = parts.receiver
        self.rng = random.Random(plan["choices"])
        self.batch_size: int = plan["batch_size"]
        self.program = create_program()
        for _ in range(plan["claims"]):
            create_claim(ClaimState.APPROVED, program=self.program)
        self.handed = len(receiver.received)  # callbacks before this example are not ours
        self.people_rounds: int = plan["people_rounds"]
        self.accounts = 0
        self.caseworker = create_user("caseworker")  # in the claims' district (Đông Anh)

    # ----------------------------------------------------------------------------------------- the worker

    def pay(self) -> None:
        batch = payments.create_batch(self.program, "bank", "sandbox", limit=self.batch_size)
        db.session.commit()
        if batch is not None:
            sending.send_batch(batch.id)

    def pay_while_down(self) -> None:
        batch = payments.create_batch(self.program, "bank", "sandbox", limit=self.batch_size)
        db.session.commit()
        if batch is None:
            return
        self.use_bank(NOWHERE)
        try:
            with pytest.raises(RetryableError):
                sending.send_batch(batch.id)
        finally:
            self.use_bank(self.bank)

    def send_again(self) -> None:
        """A send task delivered again (a worker died mid-call): any batch of the program, sent or not."""
        ids = self._ids("SELECT id FROM payment_batches WHERE program_id = :p")
        if ids:
            sending.send_batch(self.rng.choice(ids))

    def chase(self) -> None:
        sending.chase("sandbox", older_than=timedelta(0))

    # ------------------------------------------------------------------------------------------- the bank

    def tick(self) -> None:
        self.bank.tick()

    def _pending(self) -> list[Any]:
        pending = self.receiver.received[self.handed :]
        self.handed += len(pending)
        return pending

    def deliver(self, *, shuffle: bool = False, twice: bool = False) -> None:
        callbacks = self._pending()
        if twice:
            callbacks = callbacks + [c for c in callbacks if self.rng.random() < 0.5]
        if shuffle:
            self.rng.shuffle(callbacks)
        for callback in callbacks:
            response = self.client.post(URL, data=callback.body, headers=callback.headers)
            assert response.status_code == 200
            if self.rng.random() < 0.5:  # the provider-events queue now, or after several callbacks
                events.apply_stored()
                db.session.commit()
        events.apply_stored()
        db.session.commit()

    def lose(self) -> None:
        """Callbacks that never arrive (the bank's retries exhausted): only the chase can make up for them."""
        self._pending()

    # ------------------------------------------------------------------------------------------- people

    def correct(self) -> None:
        """The employer sends corrected bank details on Form 03 for some claims waiting for them."""
        rows = db.session.execute(
            text(
                """SELECT e.si_code, r.unit_code FROM claims c JOIN employees e ON e.id = c.employee_id
                   JOIN employers r ON r.id = c.employer_id
                   WHERE c.program_id = :p AND c.state = 'awaiting_payment_details' ORDER BY c.id"""
            ),
            {"p": self.program.id},
        ).all()
        for si_code, unit_code in rows:
            if self.rng.random() < 0.3:
                continue
            self.accounts += 1
            form = employer_forms.adjust(
                self.program,
                unit_code,
                [
                    {
                        "si_code": si_code,
                        "action": "correct",
                        "bank_code": "VCB",
                        "bank_account": f"0071{self.program.id:04d}{self.accounts:06d}",
                    }
                ],
                today=self.program.adjustment_deadline,
            )
            assert [r.outcome for r in form.rows] == ["corrected"], form.rows[0].errors
        db.session.commit()

    def correct_at_the_office(self) -> None:
        """A caseworker enters new bank details, heard from the person or the unit, for a claim whose payment failed
        (waiting for details, or just failed): the casework service, as the claim's page calls it."""
        ids = self._ids(
            "SELECT id FROM claims WHERE program_id = :p AND state IN ('awaiting_payment_details', 'payment_failed')"
        )
        if not ids:
            return
        self.accounts += 1
        account = f"0072{self.program.id:04d}{self.accounts:06d}"
        result = casework.correct_payment_details(self.rng.choice(ids), self.caseworker, "VCB", account)
        assert result.outcome == "corrected", result.errors
        db.session.commit()

    def refuse(self) -> None:
        """A caseworker refuses a claim waiting for details (the person cannot be reached), with a written reason."""
        ids = self._ids("SELECT id FROM claims WHERE program_id = :p AND state = 'awaiting_payment_details'")
        if ids:
            claims.transition(self.rng.choice(ids), ClaimAction.REJECT, reason="Không liên lạc được người nhận")
            db.session.commit()

    # ---------------------------------------------------------------------------------------- the sweepers

    def sweep_until_at_rest(self, rounds: int = 40) -> None:
        """What beat does, again and again: the bank's clock, callbacks delivered and applied, the chase, new
        batches for approved claims; until nothing is on its way. People act during the first rounds. Between two
        rounds the waits of claims failed on the bank's side run out (the test's transaction keeps one now(), so the
        waits move, not the clock): a claim the bank failed in one round is paid again in the next, never in the same
        one."""
        for round_ in range(rounds):
            self.waits_run_out()
            if round_ < self.people_rounds:
                if self.rng.random() < 0.5:
                    self.correct_at_the_office()
                self.correct()
                if self.rng.random() < 0.5:
                    self.refuse()
            self.bank.tick()
            self.deliver()
            self.chase()
            while True:
                batch = payments.create_batch(self.program, "bank", "sandbox", limit=self.batch_size)
                db.session.commit()
                if batch is None:
                    break
                sending.send_batch(batch.id)
            if self._at_rest():
                return
        pytest.fail("the sweepers did not bring every claim to an end")

    def waits_run_out(self) -> None:
        db.session.execute(
            text(
                """UPDATE claims SET retry_after = now() - interval '1 second'
                   WHERE program_id = :p AND retry_after IS NOT NULL"""
            ),
            {"p": self.program.id},
        )
        db.session.commit()

    def _at_rest(self) -> bool:
        waiting = db.session.execute(
            text(
                """SELECT (SELECT count(*) FROM claims WHERE program_id = :p AND state <> ALL(:ends))
                        + (SELECT count(*) FROM payments p JOIN claims c ON c.id = p.claim_id
                           WHERE c.program_id = :p AND p.state IN ('queued', 'sent'))
                        + (SELECT count(*) FROM sandbox.transfers WHERE status IN ('rcvd', 'pdng')
                           OR (status = 'succ' AND NOT return_checked))
                        + (SELECT count(*) FROM sandbox.callbacks WHERE delivered_at IS NULL)"""
            ),
            {"p": self.program.id, "ends": sorted(END_STATES)},
        ).scalar_one()
        return int(waiting) == 0 and len(self.receiver.received) == self.handed

    def _ids(self, query: str) -> list[int]:
        return list(db.session.scalars(text(query), {"p": self.program.id}))

    def do(self, step: str) -> None:
        if step == "deliver_shuffled_twice":
            self.deliver(shuffle=True, twice=True)
        else:
            getattr(self, step)()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
def test_every_claim_ends_paid_once_refused_or_waiting_and_the_money_adds_up(parts, plan):
    # One bank for every example (its decisions are a function of the seed, set here). Its tables are not emptied
    # between examples: the test's transaction has read them, and TRUNCATE would wait for it; each example checks
    # its own program's references.
    bank = parts.bank
    bank.sandbox.failure_rate, bank.sandbox.return_rate, bank.sandbox.seed = (
        plan["failure_rate"],
        plan["return_rate"],
        plan["seed"],
    )
    parts.use_bank(bank)
    run = Run(parts, plan)

    for step in plan["steps"]:
        run.do(step)
    run.sweep_until_at_rest()

    assert_never_twice_never_lost(bank.url, run.program.id)
