"""The one path for every claim state change, and the named queries for claims.

:func:`transition` moves one claim (its row locked ``FOR UPDATE``), :func:`transition_many` moves many with one
statement; both take the next state from the pure machine (:mod:`disburse.claims.states`) and write the event row
in the same transaction. Nothing else writes ``claims.state`` (a test reads every module to make sure); claims are
created in their initial state by :func:`create` and, set-based, by the Form 01 lists build.

Services flush and never commit: the view, task or command that called them commits once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from flask import current_app
from sqlalchemy import select, text

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
from disburse.transitions import (
    Actor,
    BulkTransition,
    actor_id,
    execute_skipping_fk_triggers,
    path_steps,
    run_bulk,
    steps_values,
)


class ReasonRequired(ValueError):
    """The action needs a written reason (a refusal is a written notice giving the reason)."""

    def __init__(self, action: ClaimAction) -> None:
        super().__init__(f"claim action {action.value!r} needs a reason")
        self.action = action


class ClaimNotFound(LookupError):
    pass


def _check_reason(action: ClaimAction, reason: str | None) -> None:
    if action in NEEDS_REASON and not (reason or "").strip():
        raise ReasonRequired(action)


#: The backoff's doublings stop here (2**30 times the base is past any cap): the exponent stays a small number.
_MAX_DOUBLINGS = 30


def retry_backoff() -> tuple[int, int]:
    """(base, cap) in seconds of the wait before a claim failed on the bank's side is paid again
    (``DISBURSE_PAYMENT_RETRY_BASE_S``, ``DISBURSE_PAYMENT_RETRY_CAP_S``)."""
    config = current_app.config
    base_s = int(config.get("DISBURSE_PAYMENT_RETRY_BASE_S", 300))
    return base_s, int(config.get("DISBURSE_PAYMENT_RETRY_CAP_S", 21_600))


def retry_wait(bank_failures: int, base_s: int, cap_s: int) -> timedelta:
    """The wait after the claim's ``bank_failures``-th bank-side failure: ``base_s`` after the first, doubled at each
    further one, never more than ``cap_s``. The bulk move computes the same in SQL (:data:`_RETRY_AFTER`)."""
    doublings = min(max(bank_failures, 1) - 1, _MAX_DOUBLINGS)
    return timedelta(seconds=min(cap_s, base_s * 2**doublings))


#: ``claims.retry_after`` of a bulk move that keeps it while the claim stays ``approved`` and clears it when the
#: claim leaves (a check in the database holds it NULL outside ``approved``): :attr:`RetryAfter.KEEP`.
_KEEP_RETRY_AFTER = "retry_after = CASE WHEN m.to_state = 'approved' THEN c.retry_after END"

#: ``claims.retry_after`` of a bulk move, as :func:`retry_wait`: set by the bank-side retry (``retry_payment``, its
#: ``:retry_base_s`` and ``:retry_cap_s``), kept while the claim stays ``approved``, cleared when it leaves (a check
#: in the database holds it NULL outside ``approved``): :attr:`RetryAfter.BANK_RETRY`.
_RETRY_AFTER = (
    "retry_after = CASE WHEN m.to_state = 'approved' AND :action = 'retry_payment' "
    "THEN now() + make_interval(secs => least(CAST(:retry_cap_s AS double precision), "
    f"CAST(:retry_base_s AS double precision) * power(2, least(greatest(c.bank_failures, 1) - 1, {_MAX_DOUBLINGS})))) "
    "WHEN m.to_state = 'approved' THEN c.retry_after END"
)


class RetryAfter(Enum):
    """What a bulk move (:func:`_bulk_move`) does to ``claims.retry_after``. Each move says which, so that nothing
    in the text of its other columns decides it."""

    #: Kept while the claim stays ``approved``, cleared when it leaves (:data:`_KEEP_RETRY_AFTER`).
    KEEP = "keep"
    #: As :attr:`KEEP`, and set anew (:func:`retry_wait`) on a claim that ``retry_payment`` brings back to
    #: ``approved``; the statement binds ``:retry_base_s`` and ``:retry_cap_s`` (:data:`_RETRY_AFTER`).
    BANK_RETRY = "bank_retry"

    @property
    def sql(self) -> str:
        """The move's ``SET`` item for ``retry_after``."""
        return _RETRY_AFTER if self is RetryAfter.BANK_RETRY else _KEEP_RETRY_AFTER


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


def claim_for_person(program_id: int, employee_id: int, *, lock: bool = False) -> Claim | None:
    """The person's claim in the program (one at most); with ``lock``, its row locked until the commit and the object
    refreshed as the lock found it (two transactions on one person take turns, the second sees what the first
    made)."""
    statement = select(Claim).where(Claim.program_id == program_id, Claim.employee_id == employee_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(statement)


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
        ClaimEvent(claim_id=claim.id, actor_id=actor_id(actor), action="create", to_state=initial.value, data=data)
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
    *,
    bank_side: bool = False,
) -> ClaimEvent:
    """Apply ``action`` to one claim: lock its row, take the next state from the machine, write the event; flush.

    A failed payment counts in ``bank_failures`` when ``bank_side`` (the bank's fault:
    :func:`disburse.payments.reasons.needs_new_details` is false), else in ``payment_failures`` (the details', what
    the program's ``max_payment_failures`` is about). ``retry_payment`` sets ``retry_after`` (:func:`retry_wait`);
    leaving ``approved`` clears it.

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
    if to_state is ClaimState.PAYMENT_FAILED and bank_side:
        locked.bank_failures += 1
    elif to_state is ClaimState.PAYMENT_FAILED:
        locked.payment_failures += 1
    if action is ClaimAction.RETRY_PAYMENT:
        locked.retry_after = datetime.now(UTC) + retry_wait(locked.bank_failures, *retry_backoff())
    elif to_state is not ClaimState.APPROVED:
        locked.retry_after = None
    event = ClaimEvent(
        claim_id=locked.id,
        actor_id=actor_id(actor),
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
        actor_id=actor_id(actor),
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


def _bulk_move(columns: str, *, retry_after: RetryAfter, details: str = "", join: str = "") -> str:
    """The bulk move's statement, for :func:`disburse.transitions.run_bulk` (which fills ``{selection}``, ``{pairs}``
    and ``{skip_locked}``): lock the claims asked for (in id order, so that two bulk moves never deadlock), move those
    whose state allows the action (the allowed (from, to) pairs are a VALUES list from the machine), setting
    ``columns`` with the state, write one event per moved claim, and answer for every claim asked for. ``details``
    (CTEs, each followed by a comma) and ``join`` bring per-claim values in as ``d``. The rollup triggers on claims
    follow the UPDATE. ``retry_after`` says what the move does to ``claims.retry_after`` (:class:`RetryAfter`: the
    database holds it NULL outside ``approved``); ``columns`` never sets it (PostgreSQL refuses a column set
    twice)."""
    columns += ", " + retry_after.sql
    return f"""
WITH {details}targets AS (
    SELECT id, state FROM claims
    WHERE {{selection}} AND (CAST(:program_id AS bigint) IS NULL OR program_id = :program_id)
    ORDER BY id FOR UPDATE {{skip_locked}}
),
moves (from_state, to_state) AS (VALUES {{pairs}}),
moved AS (
    UPDATE claims c
    SET state = m.to_state, updated_at = now(), {columns}
    FROM targets t JOIN moves m ON m.from_state = t.state {join}
    WHERE c.id = t.id
    RETURNING c.id, m.from_state, m.to_state
),
events AS (
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, reason, data)
    SELECT id, :actor_id, :action, from_state, to_state, :reason, :data FROM moved
)
SELECT t.id, t.state, m.to_state FROM targets t LEFT JOIN moved m ON m.id = t.id ORDER BY t.id
"""


_BULK = _bulk_move(
    "paid_at = CASE WHEN m.to_state = 'paid' THEN now() ELSE c.paid_at END, "
    "payment_failures = c.payment_failures + CASE WHEN m.to_state = 'payment_failed' AND :counted AND NOT :bank_side "
    "THEN 1 ELSE 0 END, "
    "bank_failures = c.bank_failures + CASE WHEN m.to_state = 'payment_failed' AND :counted AND :bank_side "
    "THEN 1 ELSE 0 END",
    retry_after=RetryAfter.BANK_RETRY,
)


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
    skip_fk_triggers: bool = False,
    bank_side: bool = False,
    counted: bool = True,
) -> BulkTransition:
    """Apply ``action`` to the claims with ``ids``, or with ids in ``id_range`` (inclusive), in one statement; flush.

    The states are guarded in the statement: a claim whose state does not allow the action is left as it is and
    reported in ``not_moved``; the others move and get their event row, all in the caller's transaction. With
    ``skip_locked`` (sweepers), claims another transaction holds are left for the next sweep instead of waited for.
    ``skip_fk_triggers`` (bulk callers): see :func:`disburse.transitions.run_bulk`. ``bank_side`` and the
    ``retry_after`` of ``retry_payment``: as :func:`transition`. ``counted=False``: a failure that was nobody's (the
    programme stopped paying, :data:`disburse.payments.reasons.PERIOD_ENDED`) counts in neither failure counter.
    """
    action = ClaimAction(action)
    _check_reason(action, reason)
    base_s, cap_s = retry_backoff()
    params: dict[str, Any] = {
        "program_id": program_id,
        "actor_id": actor_id(actor),
        "action": action.value,
        "reason": reason,
        "data": data,
        "bank_side": bank_side,
        "counted": counted,
        "retry_base_s": base_s,
        "retry_cap_s": cap_s,
    }
    return run_bulk(
        _BULK,
        TRANSITIONS,
        action,
        params,
        ids=ids,
        id_range=id_range,
        skip_locked=skip_locked,
        skip_fk_triggers=("claims", "claim_events") if skip_fk_triggers else (),
    )


#: The close-out's flag: the move replaces the claim's reasons with what a caseworker must now decide.
_FLAG = _bulk_move("reasons = CAST(:reasons AS text[])", retry_after=RetryAfter.KEEP)


def flag_for_review_many(
    ids: Sequence[int],
    reasons: Collection[str],
    *,
    program_id: int | None = None,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    skip_locked: bool = False,
) -> BulkTransition:
    """Send the claims ``ids`` to a caseworker (``flag_for_review``) in one statement (:data:`_FLAG`), their
    ``claims.reasons`` replaced by ``reasons`` (sorted): the review queue, its filter by reason and the backlog's
    count by reason find them under it; flush. A claim whose state does not allow it is left as it is and reported
    in ``not_moved``; ``skip_locked`` as :func:`transition_many`."""
    params: dict[str, Any] = {
        "program_id": program_id,
        "actor_id": actor_id(actor),
        "action": ClaimAction.FLAG_FOR_REVIEW.value,
        "reason": reason,
        "data": data,
        "reasons": sorted(set(reasons)),
    }
    return run_bulk(
        _FLAG,
        TRANSITIONS,
        ClaimAction.FLAG_FOR_REVIEW,
        params,
        ids=ids,
        id_range=None,
        skip_locked=skip_locked,
        skip_fk_triggers=("claims", "claim_events"),
    )


#: Form 02's confirmation in one statement: the move writes the form's bank details, the payout, the confirmation
#: date and the payment due date itself (one new version of each claim, not two). It may skip the per-row
#: foreign-key checks like every bulk move because it does the one on ``bank_code`` set-based: the banks the form
#: names are locked ``FOR KEY SHARE`` (what the per-row check takes), and a claim whose bank does not exist does not
#: move.
_CONFIRM = _bulk_move(
    "bank_code = d.bank_code, bank_account = d.bank_account, "
    "payout = CASE WHEN d.bank_code IS NULL THEN 'cash' ELSE 'bank' END, "
    "confirmed_on = :confirmed_on, payment_due_on = :payment_due_on",
    retry_after=RetryAfter.KEEP,
    details="""known AS MATERIALIZED (
    SELECT code FROM banks WHERE code = ANY(CAST(:bank_codes AS text[])) FOR KEY SHARE
),
details AS MATERIALIZED (
    SELECT d.id, d.bank_code, d.bank_account
    FROM unnest(CAST(:ids AS bigint[]), CAST(:bank_codes AS text[]), CAST(:bank_accounts AS text[]))
         AS d(id, bank_code, bank_account)
    WHERE d.bank_code IS NULL OR d.bank_code IN (SELECT code FROM known)
),
""",
    join="JOIN details d ON d.id = t.id",
)


def confirm_many(
    ids: Sequence[int],
    bank_codes: Sequence[str | None],
    bank_accounts: Sequence[str | None],
    *,
    confirmed_on: date,
    payment_due_on: date,
    actor: Actor = None,
    data: dict[str, Any] | None = None,
    action: ClaimAction = ClaimAction.CONFIRM,
) -> BulkTransition:
    """Confirm the claims ``ids`` (Form 02) with each one's bank details (None, None: cash at the office) in one
    statement (:data:`_CONFIRM`); flush. A claim whose state does not allow it, or whose bank does not exist, is
    left as it is and reported in ``not_moved``. ``action``: :attr:`~ClaimAction.CONFIRM`, or
    :attr:`~ClaimAction.CONFIRM_LATE` for claims in review only because their unit was late (the caller has checked
    which, under the claims' locks)."""
    if action not in (ClaimAction.CONFIRM, ClaimAction.CONFIRM_LATE):
        raise ValueError(f"not a confirmation: {action}")
    if not len(ids) == len(bank_codes) == len(bank_accounts):
        raise ValueError("ids, bank_codes and bank_accounts must be as long as each other")
    params: dict[str, Any] = {
        "program_id": None,
        "actor_id": actor_id(actor),
        "action": action.value,
        "reason": None,
        "data": data,
        "bank_codes": list(bank_codes),
        "bank_accounts": list(bank_accounts),
        "confirmed_on": confirmed_on,
        "payment_due_on": payment_due_on,
    }
    return run_bulk(
        _CONFIRM,
        TRANSITIONS,
        action,
        params,
        ids=ids,
        id_range=None,
        skip_locked=False,
        skip_fk_triggers=("claims", "claim_events"),
    )


# ------------------------------------------------------------------------------------- many claims along a path

#: One statement: lock the claims named by ``{source}`` in id order, take each along its path (the steps its state
#: takes, from the machine: :func:`disburse.transitions.path_steps`), write one event per step in step order (the
#: reason and data of the source row on the last step), the side columns with the final state, and answer for every
#: claim asked for. A claim whose state has no way along its path does not move.
_PATHS = """
WITH targets AS (
    SELECT c.id, c.state FROM claims c
    WHERE c.id = ANY(ARRAY(SELECT id FROM {source}))  -- primary-key probes, never a scan of all claims
    ORDER BY c.id FOR UPDATE {skip_locked}
),
steps (path, start, step, action, from_state, to_state, last) AS (VALUES {steps}),
walks AS (
    SELECT path, start, max(to_state) FILTER (WHERE last) AS to_state,
           count(*) FILTER (WHERE to_state = 'payment_failed') AS failures, bool_or(to_state = 'paid') AS paid
    FROM steps GROUP BY path, start
),
plan AS MATERIALIZED (
    SELECT t.id, t.state AS start, w.path, w.to_state, w.failures, w.paid,
           s.reasons, s.payment_due_on, s.reason, s.data
    FROM targets t JOIN {source} s ON s.id = t.id JOIN walks w ON w.path = s.path AND w.start = t.state
),
moved AS (
    UPDATE claims c
    SET state = p.to_state, updated_at = now(),
        reasons = coalesce(p.reasons, c.reasons),
        payment_due_on = coalesce(p.payment_due_on, c.payment_due_on),
        paid_at = CASE WHEN p.paid THEN now() ELSE c.paid_at END,
        payment_failures = c.payment_failures + p.failures,
        retry_after = CASE WHEN p.to_state = 'approved' THEN c.retry_after END
    FROM plan p
    WHERE c.id = p.id
    RETURNING c.id, p.start, p.path, p.to_state, p.reason, p.data
),
events AS (
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, reason, data)
    SELECT m.id, :actor_id, st.action, st.from_state, st.to_state,
           CASE WHEN st.last THEN m.reason END, CASE WHEN st.last THEN m.data END
    FROM moved m
    JOIN steps st ON st.path = m.path AND st.start = m.start
    ORDER BY m.id, st.step
)
SELECT t.id, t.state, m.to_state FROM targets t LEFT JOIN moved m ON m.id = t.id ORDER BY t.id
"""


def follow_paths_many(
    source: str,
    paths: Sequence[Sequence[ClaimAction]],
    *,
    actor: Actor = None,
    skip_locked: bool = False,
    skip_fk_triggers: bool = True,
    from_states: Collection[ClaimState | str] | None = None,
) -> BulkTransition:
    """Take many claims each along a short path of actions in one statement (e.g. start_verification then approve,
    flag_for_review or reject), one event per step; flush.

    ``source`` names a relation (a temporary table the caller filled) with the columns ``id`` (the claim),
    ``path`` (an index into ``paths``), ``reason`` and ``data`` (for the last step's event), ``reasons`` (text[])
    and ``payment_due_on`` (date), written with the final state unless NULL. A claim takes the longest suffix of
    its path that the machine allows from its state (a claim already ``verifying`` takes only the decision);
    claims whose state allows none, or is not among ``from_states`` when given, are left as they are and reported
    in ``not_moved``. ``moved`` holds
    (id, state before, state after). A path may end with an action that needs a reason (``reject``), never pass
    through one; rows on such a path without a reason raise :class:`ReasonRequired` before anything moves.

    The events are written under ``session_replication_role = replica`` when the role may
    (:func:`disburse.bulk.may_skip_reference_triggers`) and the actor is the system or a user locked once
    (:func:`disburse.transitions.lock_actor`): each event's claim is a row this very
    statement has locked and updated, so the per-row foreign-key check of claim_events would only repeat it.
    """
    paths = [[ClaimAction(a) for a in path] for path in paths]
    for path in paths:
        if any(action in NEEDS_REASON for action in path[:-1]):
            raise ValueError("an action that needs a reason may only end a path")
    needs_reason = [n for n, path in enumerate(paths) if path and path[-1] in NEEDS_REASON]
    if needs_reason:
        missing = db.session.execute(
            text(f"SELECT path FROM {source} WHERE path = ANY(:paths) AND coalesce(btrim(reason), '') = '' LIMIT 1"),
            {"paths": needs_reason},
        ).scalar()
        if missing is not None:
            raise ReasonRequired(paths[missing][-1])
    steps = path_steps(TRANSITIONS, paths)
    if from_states is not None:
        starts = {ClaimState(state).value for state in from_states}
        steps = [step for step in steps if step.start in starts]
    statement = text(
        _PATHS.format(source=source, steps=steps_values(steps), skip_locked="SKIP LOCKED" if skip_locked else "")
    )
    db.session.flush()
    rows = execute_skipping_fk_triggers(
        statement, {"actor_id": actor_id(actor)}, ("claims", "claim_events") if skip_fk_triggers else ()
    )
    db.session.expire_all()
    result = BulkTransition("+".join(sorted({a.value for path in paths for a in path})))
    for row_id, state, to_state in rows:
        if to_state is None:
            result.not_moved[row_id] = state
        else:
            result.moved.append((row_id, state, to_state))
    return result


# ----------------------------------------------------------------------------------------------- work notes

#: Months and amount from ``{source}`` (columns id, unused_months, amount_vnd; NULL = leave as is) for claims whose
#: figures differ, with a 'reassess' note (old and new) each; the state stays.
_REASSESS = """
WITH targets AS (
    SELECT c.id, c.unused_months, c.amount_vnd FROM claims c
    WHERE c.id = ANY(ARRAY(SELECT id FROM {source} WHERE unused_months IS NOT NULL AND amount_vnd IS NOT NULL))
    ORDER BY c.id FOR UPDATE {skip_locked}
),
changed AS (
    UPDATE claims c
    SET unused_months = s.unused_months, amount_vnd = s.amount_vnd, updated_at = now()
    FROM targets t JOIN {source} s ON s.id = t.id
    WHERE c.id = t.id AND (t.unused_months, t.amount_vnd) IS DISTINCT FROM (s.unused_months, s.amount_vnd)
    RETURNING c.id, c.state, t.unused_months AS months_before, t.amount_vnd AS amount_before,
              c.unused_months, c.amount_vnd
),
notes AS (
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, data)
    SELECT id, :actor_id, :action, state, state,
           jsonb_build_object('unused_months', jsonb_build_array(months_before, unused_months),
                              'amount_vnd', jsonb_build_array(amount_before, amount_vnd))
    FROM changed ORDER BY id
)
SELECT id FROM changed ORDER BY id
"""


def reassess_many(source: str, *, actor: Actor = None, skip_locked: bool = False) -> list[int]:
    """Set the unused months and amount of the claims in ``source`` (id, unused_months, amount_vnd) where they
    differ, each with a 'reassess' note recording the figures before and after; the states stay. Returns the ids of
    the claims that changed. Flushes."""
    statement = text(_REASSESS.format(source=source, skip_locked="SKIP LOCKED" if skip_locked else ""))
    db.session.flush()
    ids = [row[0] for row in db.session.execute(statement, {"actor_id": actor_id(actor), "action": ClaimNote.REASSESS})]
    db.session.expire_all()
    return ids


#: One note per claim named, in its current state (from_state = to_state), each with its own data; a claim another
#: transaction holds is skipped (``skip_locked``), and a note that a unique index already holds (an SLA breach
#: noted before) is not written again.
_NOTES = """
WITH items AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:data AS text[])) AS i(id, data)
),
targets AS (
    SELECT c.id, c.state FROM claims c
    WHERE c.id IN (SELECT id FROM items)
    ORDER BY c.id FOR SHARE {skip_locked}
),
noted AS (
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, reason, data)
    SELECT t.id, :actor_id, :action, t.state, t.state, :reason, CAST(i.data AS jsonb)
    FROM targets t JOIN items i ON i.id = t.id
    ORDER BY t.id
    ON CONFLICT DO NOTHING
    RETURNING claim_id
)
SELECT claim_id FROM noted ORDER BY claim_id
"""


def note_many(
    note: ClaimNote | str,
    items: Sequence[tuple[int, dict[str, Any] | None]],
    *,
    actor: Actor = None,
    reason: str | None = None,
    skip_locked: bool = True,
) -> list[int]:
    """Write the work note ``note`` (a :class:`~disburse.claims.states.ClaimNote`) on many claims in one statement:
    ``items`` are (claim id, data). The claims are read ``FOR SHARE`` so that the note records the state they are
    in; with ``skip_locked`` (the sweepers) a claim being changed right now is left for the next sweep. A note a
    unique index refuses (``uq_claim_events_sla_breach``: one SLA breach per claim and deadline) is skipped, so a
    sweep run twice writes it once. Returns the ids of the claims noted. Flushes."""
    if not items:
        return []
    note = ClaimNote(note)
    statement = text(_NOTES.format(skip_locked="SKIP LOCKED" if skip_locked else ""))
    db.session.flush()
    rows = db.session.execute(
        statement,
        {
            "ids": [claim_id for claim_id, _ in items],
            "data": [None if data is None else json.dumps(data, sort_keys=True) for _, data in items],
            "actor_id": actor_id(actor),
            "action": note.value,
            "reason": reason,
        },
    )
    return [row[0] for row in rows]


__all__ = [
    "BulkTransition",
    "ClaimNotFound",
    "InvalidClaimTransition",
    "ReasonRequired",
    "claim_events",
    "claim_for_person",
    "claims_in_state",
    "confirm_many",
    "create",
    "flag_for_review_many",
    "follow_paths_many",
    "get_claim",
    "get_claim_for_update",
    "note",
    "note_many",
    "reassess_many",
    "transition",
    "transition_many",
]
