"""The one path for every claim state change, and the named queries for claims.

:func:`transition` moves one claim (its row locked ``FOR UPDATE``), :func:`transition_many` moves many with one
statement; both take the next state from the pure machine (:mod:`disburse.claims.states`) and write the event row
in the same transaction. Nothing else writes ``claims.state`` (a test reads every module to make sure); claims are
created in their initial state by :func:`create` and, set-based, by the Form 01 lists build.

Services flush and never commit: the view, task or command that called them commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from disburse.auth.models import User
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import (
    NEEDS_REASON,
    TRANSITIONS,
    ClaimAction,
    ClaimNote,
    ClaimState,
    InvalidClaimTransition,
    next_state,
)
from disburse.extensions import db
from disburse.transitions import BulkTransition, run_bulk

Actor = User | int | None


class ReasonRequired(ValueError):
    """The action needs a written reason (a refusal is a written notice giving the reason)."""

    def __init__(self, action: ClaimAction) -> None:
        super().__init__(f"claim action {action.value!r} needs a reason")
        self.action = action


class ClaimNotFound(LookupError):
    pass


def _actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else actor


def _check_reason(action: ClaimAction, reason: str | None) -> None:
    if action in NEEDS_REASON and not (reason or "").strip():
        raise ReasonRequired(action)


# ------------------------------------------------------------------------------------------------ named queries


def get_claim(claim_id: int) -> Claim | None:
    return db.session.get(Claim, claim_id)


def get_claim_for_update(claim_id: int) -> Claim | None:
    """The claim, its row locked ``FOR UPDATE`` until the commit: two people (or a worker and a person) acting on one
    claim take turns, and the second sees the state the first left. ``populate_existing`` so that a claim already
    in the session is refreshed from the locked row rather than trusted."""
    return db.session.scalar(
        select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
    )


def claim_for_person(program_id: int, employee_id: int) -> Claim | None:
    return db.session.scalar(select(Claim).where(Claim.program_id == program_id, Claim.employee_id == employee_id))


def claim_events(claim_id: int) -> list[ClaimEvent]:
    """The claim's history, oldest first (its timeline)."""
    return list(
        db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)).all()
    )


def claims_in_state(program_id: int, state: ClaimState | str, *, after_id: int = 0, limit: int = 100) -> list[Claim]:
    """A page of the program's claims in ``state`` by id, after ``after_id`` (keyset: as fast on the last page as on
    the first; ``ix_claims_queue`` serves it)."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.program_id == program_id, Claim.state == ClaimState(state).value, Claim.id > after_id)
            .order_by(Claim.id)
            .limit(limit)
        ).all()
    )


# ------------------------------------------------------------------------------------------------------ creating


def create(actor: Actor = None, data: dict[str, Any] | None = None, **values: Any) -> Claim:
    """A new claim in its initial state (``listed`` for track A, ``applied`` for track B) with its 'create' event;
    flush. One claim per person per program: a second one fails on the unique constraint (callers look first).
    Bulk creation of Form 01 lists is :mod:`disburse.claims.lists`, set-based, with the same two rows per claim."""
    initial = ClaimState.LISTED if values["track"] == "A" else ClaimState.APPLIED
    claim = Claim(state=initial.value, **values)
    db.session.add(claim)
    db.session.flush()
    db.session.add(
        ClaimEvent(claim_id=claim.id, actor_id=_actor_id(actor), action="create", to_state=initial.value, data=data)
    )
    db.session.flush()
    return claim


# ---------------------------------------------------------------------------------------------------- one claim


def transition(
    claim: Claim | int,
    action: ClaimAction | str,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> ClaimEvent:
    """Apply ``action`` to one claim: lock its row, take the next state from the machine, write the event; flush.

    Raises :class:`~disburse.claims.states.InvalidClaimTransition` when the claim's state does not allow the action
    (nothing changes), :class:`ReasonRequired` for a refusal without a reason, :class:`ClaimNotFound`.
    """
    action = ClaimAction(action)
    _check_reason(action, reason)
    claim_id = claim if isinstance(claim, int) else claim.id
    locked = get_claim_for_update(claim_id)
    if locked is None:
        raise ClaimNotFound(f"no claim with id {claim_id}")
    from_state = ClaimState(locked.state)
    to_state = next_state(from_state, action)
    locked.state = to_state.value
    if to_state is ClaimState.PAID:
        locked.paid_at = datetime.now(UTC)
    if to_state is ClaimState.PAYMENT_FAILED:
        locked.payment_failures += 1
    event = ClaimEvent(
        claim_id=locked.id,
        actor_id=_actor_id(actor),
        action=action.value,
        from_state=from_state.value,
        to_state=to_state.value,
        reason=reason,
        data=data,
    )
    db.session.add(event)
    db.session.flush()
    return event


def note(
    claim: Claim | int,
    action: ClaimNote | str,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> ClaimEvent:
    """Record work on a claim that leaves its state as it is (a contact attempt, a correction, an assignment): an
    event row with from_state = to_state; flush."""
    action = ClaimNote(action)
    claim_id = claim if isinstance(claim, int) else claim.id
    state = db.session.scalar(select(Claim.state).where(Claim.id == claim_id))
    if state is None:
        raise ClaimNotFound(f"no claim with id {claim_id}")
    event = ClaimEvent(
        claim_id=claim_id,
        actor_id=_actor_id(actor),
        action=action.value,
        from_state=state,
        to_state=state,
        reason=reason,
        data=data,
    )
    db.session.add(event)
    db.session.flush()
    return event


# --------------------------------------------------------------------------------------------------- many claims

#: One statement: lock the claims asked for (in id order, so that two bulk moves never deadlock), move those whose
#: state allows the action (the allowed (from, to) pairs are a VALUES list from the machine), write one event per
#: moved claim, and answer for every claim asked for. The rollup triggers on claims follow the UPDATE.
_BULK = """
WITH targets AS (
    SELECT id, state FROM claims
    WHERE {selection} AND (CAST(:program_id AS bigint) IS NULL OR program_id = :program_id)
    ORDER BY id FOR UPDATE {skip_locked}
),
moves (from_state, to_state) AS (VALUES {pairs}),
moved AS (
    UPDATE claims c
    SET state = m.to_state, updated_at = now(),
        paid_at = CASE WHEN m.to_state = 'paid' THEN now() ELSE c.paid_at END,
        payment_failures = c.payment_failures + CASE WHEN m.to_state = 'payment_failed' THEN 1 ELSE 0 END
    FROM targets t JOIN moves m ON m.from_state = t.state
    WHERE c.id = t.id
    RETURNING c.id, m.from_state, m.to_state
),
events AS (
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, reason, data)
    SELECT id, :actor_id, :action, from_state, to_state, :reason, :data FROM moved
)
SELECT t.id, t.state, m.to_state FROM targets t LEFT JOIN moved m ON m.id = t.id ORDER BY t.id
"""


def transition_many(
    action: ClaimAction | str,
    *,
    ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
    program_id: int | None = None,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    skip_locked: bool = False,
) -> BulkTransition:
    """Apply ``action`` to the claims with ``ids``, or with ids in ``id_range`` (inclusive), in one statement; flush.

    The states are guarded in the statement: a claim whose state does not allow the action is left as it is and
    reported in ``not_moved``; the others move and get their event row, all in the caller's transaction. With
    ``skip_locked`` (sweepers), claims another transaction holds are left for the next sweep instead of waited for.
    """
    action = ClaimAction(action)
    _check_reason(action, reason)
    params: dict[str, Any] = {
        "program_id": program_id,
        "actor_id": _actor_id(actor),
        "action": action.value,
        "reason": reason,
        "data": data,
    }
    return run_bulk(_BULK, TRANSITIONS, action, params, ids=ids, id_range=id_range, skip_locked=skip_locked)


__all__ = [
    "BulkTransition",
    "ClaimNotFound",
    "InvalidClaimTransition",
    "ReasonRequired",
    "claim_events",
    "claim_for_person",
    "claims_in_state",
    "create",
    "get_claim",
    "get_claim_for_update",
    "note",
    "transition",
    "transition_many",
]
