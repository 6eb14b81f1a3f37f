"""Verification in batches: what the ``verification.verify`` task runs, and how the rest of the app asks for it.

A claim that reaches ``employer_confirmed`` (Form 02), ``employer_overdue`` (the employer's deadline passed) or
``applied`` (Form 04) waits for verification. The Form 02/03/04 services call :func:`request_verification` with
the claims they moved; the task is sent once their transaction commits. Beat's verification sweep
(:func:`disburse.verification.sweepers.sweep_waiting`) sends whatever still waits, so that no claim waits for ever,
whatever was lost on the way (a worker killed mid-batch, a message dropped).

A batch (:func:`verify_batch`) is set-based over an id range or an id list: the checks of
:mod:`disburse.verification.checks`, then one statement that takes every claim of the batch to ``approved``,
``needs_review`` or ``rejected`` through ``verifying``, with an event per step
(:func:`disburse.claims.service.follow_paths_many`). It is idempotent and safe to run twice or concurrently: the
claims are locked ``FOR UPDATE SKIP LOCKED`` in id order and only claims still waiting are taken, so two workers on
the same range split it and a second run finds nothing to do.

Services flush and never commit: the task commits the identities (:func:`record_identities`), then the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, text

from disburse.background import enqueue_after_commit
from disburse.bulk import analyze_if_stale, no_jit, session_connection
from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.claims.states import ClaimAction
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.programs.rules import ProgramRules
from disburse.verification import checks

#: Claims per batch of an id range (the sweeper's tasks): bounds a batch's locks, memory and transaction time.
#: A batch holds its claims' row locks for its whole transaction (about 8 s at this size on 2 cores); its fixed
#: costs, above all the rollup trigger's upsert of every (district, employer, state) group the batch touches, are
#: paid once per batch, so a bigger batch is cheaper per claim (measured on a million claims spread over 25,000
#: employers: 20,000 claims a batch 102 s, 50,000 91 s, 100,000 80 s; BENCHMARKS.md).
BATCH = 100_000
#: Claim ids per task when the services ask by id (a message carries the list: keep it small).
IDS_PER_TASK = 20_000
#: The stable name of the task (disburse.background.TASK_QUEUES).
TASK = "verification.verify"

#: The three ways out of verification, by the path numbers the checks write.
PATHS: list[list[ClaimAction]] = [
    [ClaimAction.START_VERIFICATION, ClaimAction.APPROVE],
    [ClaimAction.START_VERIFICATION, ClaimAction.FLAG_FOR_REVIEW],
    [ClaimAction.START_VERIFICATION, ClaimAction.REJECT],
]
assert PATHS[checks.PATH_APPROVE][-1] is ClaimAction.APPROVE
assert PATHS[checks.PATH_REVIEW][-1] is ClaimAction.FLAG_FOR_REVIEW
assert PATHS[checks.PATH_REJECT][-1] is ClaimAction.REJECT


@dataclass
class Verified:
    """What one batch did."""

    approved: list[int] = field(default_factory=list)
    needs_review: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    #: Claims whose months or amount the registry changed (each has a 'reassess' note).
    reassessed: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.approved) + len(self.needs_review) + len(self.rejected)

    def as_dict(self) -> dict[str, int]:
        return {
            "approved": len(self.approved),
            "needs_review": len(self.needs_review),
            "rejected": len(self.rejected),
            "reassessed": len(self.reassessed),
        }


def record_identities(*, ids: list[int] | None = None, id_range: tuple[int, int] | None = None) -> int:
    """Write (or refresh) the identities of the waiting claims of the selection; flush. The caller commits before
    :func:`verify_batch` (see :mod:`disburse.verification.checks` for why). Returns the rows written."""
    where, params = checks.selection(ids, id_range)
    db.session.flush()
    no_jit()
    result = db.session.execute(checks.record_identities_statement(where), params)
    # The duplicate look-ups are planned on these statistics; a table that grew fast needs them now.
    analyze_if_stale(session_connection(), "claim_identities")
    return int(getattr(result, "rowcount", 0) or 0)


def still_waiting(ids: list[int]) -> list[int]:
    """The claims among ``ids`` still waiting for verification (after a batch: those it skipped, held elsewhere)."""
    statement = select(Claim.id).where(Claim.id.in_(ids), Claim.state.in_([s.value for s in checks.WAITING]))
    return sorted(db.session.scalars(statement))


def verify_batch(
    *,
    ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
    today: date | None = None,
    skip_locked: bool = True,
) -> Verified:
    """Verify the waiting claims of an id list or an inclusive id range; flush, never commit.

    ``today`` is the programme clock's date (default :func:`~disburse.programs.calendar.programme_today`): it
    decides whether the payment period has ended and stands in for a missing Form 02/04 date in the SLA.
    """
    today = today or programme_today()
    where, params = checks.selection(ids, id_range)
    db.session.flush()
    checks.batch_settings()
    program_ids = [row[0] for row in db.session.execute(checks.programs_statement(where), params)]
    result = Verified()
    if not program_ids:
        return result
    for statement in checks.CREATE_TABLES:
        db.session.execute(statement)
    programs = {}
    for program_id in sorted(program_ids):
        program = db.session.get(Program, program_id)
        assert program is not None, "claims.program_id is a foreign key"
        programs[program_id] = program
        lock = checks.lock_statement(where, ProgramRules.from_program(program), skip_locked=skip_locked)
        db.session.execute(lock, {**params, "program_id": program_id, "today": today})
    due = _due_dates(programs)
    db.session.execute(checks.FINDINGS, {"today": today, **due, **checks.labels_params()})

    result.reassessed = claims.reassess_many("verification_findings", skip_locked=skip_locked)
    moved = claims.follow_paths_many(
        "verification_findings", PATHS, skip_locked=skip_locked, from_states=checks.WAITING
    )
    outcomes = {"approved": result.approved, "needs_review": result.needs_review, "rejected": result.rejected}
    for claim_id, _from_state, to_state in moved.moved:
        outcomes[to_state].append(claim_id)
    return result


def _due_dates(programs: dict[int, Program]) -> dict[str, list[object]]:
    """The payment SLA date for each distinct (program, kind, base date) of the batch, as the arrays the findings
    statement joins."""
    rows = db.session.execute(checks.SLA_BASES).all()
    return {
        "due_program": [program_id for program_id, _, _ in rows],
        "due_kind": [kind for _, kind, _ in rows],
        "due_base": [base for _, _, base in rows],
        "due_on": [checks.payment_due_on(programs[program_id], kind, base) for program_id, kind, base in rows],
    }


def verify(
    *, ids: list[int] | None = None, id_range: tuple[int, int] | None = None, today: date | None = None
) -> Verified:
    """Identities and batch in the caller's one transaction (a command, a test); workers use the two steps with a
    commit between them."""
    record_identities(ids=ids, id_range=id_range)
    return verify_batch(ids=ids, id_range=id_range, today=today)


def request_verification(claim_ids: Iterable[int], *, batch: int = IDS_PER_TASK) -> int:
    """Ask for the verification of ``claim_ids`` once the caller's transaction commits (never if it rolls back):
    one ``verification.verify`` task per ``batch`` ids, in id order. Claims that are not waiting by the time the
    task runs are left alone, so asking twice is harmless. Returns the number of tasks asked for.

    Best effort: a broker that cannot take the task after the commit is logged as a warning, never raised. The
    form that moved the claims has committed by then (a Form 02 or 04 must not answer 5xx for work that is done),
    and beat's verification sweep finds every claim that still waits."""
    ordered = sorted(set(claim_ids))
    for start in range(0, len(ordered), batch):
        enqueue_after_commit(TASK, claim_ids=ordered[start : start + batch], best_effort=True)
    return (len(ordered) + batch - 1) // batch


def request_verification_range(first_id: int, last_id: int) -> None:
    """Ask for the verification of the waiting claims with ids in [first_id, last_id] after the commit (the
    sweeper's form: a range is a few bytes however many claims it holds)."""
    enqueue_after_commit(TASK, id_range=[first_id, last_id])


def waiting_count(program_id: int | None = None) -> int:
    """Claims of the program (or of all) that wait for verification (``ix_claims_queue`` serves it)."""
    return int(
        db.session.execute(
            text(
                f"SELECT count(*) FROM claims WHERE state IN ({checks.WAITING_SQL})"
                " AND (CAST(:program_id AS integer) IS NULL OR program_id = :program_id)"
            ),
            {"program_id": program_id},
        ).scalar_one()
    )
