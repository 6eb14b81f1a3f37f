"""Form 01 lists: one track A claim per eligible participating employee of an eligible employer, plus the employer
contribution reductions, built set-based and idempotently.

Each employee id range is one ``INSERT … SELECT`` over the rules (:func:`disburse.programs.rules.assessment_sql`)
whose ``RETURNING`` lands in an ``ON COMMIT DROP`` temporary table; a second statement writes one 'create' event per
claim from it, so every claim is created together with its 'create' event in the same transaction.
``ON CONFLICT (program_id, employee_id) DO NOTHING`` makes a re-run add only people who are new since the last
build and leave every existing claim, whatever state it has moved to, untouched. The dashboards'
``claim_counters`` follow by themselves: statement-level triggers on ``claims`` (migration 0003), which fire as
usual (the claims insert runs with every trigger on).

The events are written the way the registry importer writes new employees: with ``session_replication_role =
replica`` when the role may set it, skipping only the per-row foreign-key triggers of ``claim_events``, whose
guarantee holds by construction (each ``claim_id`` is a claim this transaction has just inserted; ``actor_id`` is
NULL). Without the privilege, or if ``claim_events`` ever gets an INSERT trigger, the triggers check row by row.

The function flushes and never commits: the CLI command or the Celery task commits once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import TextClause, text

from disburse.bulk import analyze_if_stale, may_skip_reference_triggers, session_connection
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.notifications.service import queue_list_ready
from disburse.programs.calendar import add_working_days, programme_today
from disburse.programs.models import Program
from disburse.programs.rules import OUTCOME_ELIGIBLE, OUTCOME_REVIEW, ProgramRules, assessment_sql
from disburse.reductions.service import book_reductions, employer_id_span

#: Employee ids per statement: bounds each statement's memory, transition tables and lock time.
EMPLOYEE_BATCH = 200_000

#: Extra reason on a claim whose person shares a national ID with another SI code.
REASON_POSSIBLE_DUPLICATE = "possible_duplicate"

Progress = Callable[[int, int | None], None]

# Two list builds of the same program would only wait on each other's unique-index entries; the lock makes them
# take turns cleanly (the second then finds nothing new).
#: Memory for the sorts and hashes of one bulk statement (one list build runs at a time: see _LOCK).
BULK_WORK_MEM = "128MB"

_GET_WORK_MEM = text("SELECT current_setting('work_mem')")
_SET_WORK_MEM = text("SELECT set_config('work_mem', :value, true)")

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('disburse.lists.build'), :program_id)")


def _list_range_statement(assessment: str, *, lock: bool) -> TextClause:
    """One employee id range: assess, insert the missing claims, and keep the inserted ones in :data:`_CREATED`.

    With ``lock``, the employees and employers read are locked ``FOR KEY SHARE`` as they are read, as the claims'
    foreign-key triggers would lock them (for the set-based path, :func:`_may_skip_reference_triggers`): a row
    deleted meanwhile is not read, and none read can be deleted before the commit.

    Without it the units are locked so too, where their district is read: the claim is written to its unit's
    district, and an import moving a unit locks it ``FOR UPDATE`` first (:mod:`disburse.registry.imports.employers`),
    so it waits for the build's commit and then finds the claims (and refuses the move); or the statement, waiting
    for the import, reads the unit as the import left it. Unlocked, the district was read from the statement's
    snapshot and the triggers' lock, taken at the insert, waited for an import committed meanwhile and wrote the
    claim to the district the unit had just left. (``FOR KEY SHARE``, not ``FOR SHARE``: the import's ``FOR UPDATE``
    is what moves a unit, and an import changing a unit's other details need not wait for a whole build.)
    """
    locking = "FOR KEY SHARE OF e, r" if lock else "FOR KEY SHARE OF r"
    return text(
        f"""
    WITH assessed AS (
        SELECT e.id AS employee_id, e.employer_id, r.district_code, e.unused_months, e.possible_duplicate,
               e.bank_code, e.bank_account, p.id AS program_id,
               {assessment}
        FROM employees e
        JOIN employers r ON r.id = e.employer_id
        CROSS JOIN programs p
        WHERE p.id = :program_id AND e.id BETWEEN :lo AND :hi AND e.ui_status = 'participating'
        {locking}
    ),
    created AS (
        INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group,
                            unused_months, amount_vnd, state, reasons, bank_code, bank_account, review_due_on)
        SELECT program_id, employee_id, employer_id, district_code, 'A', support_group,
               unused_months, amount_vnd, '{ClaimState.LISTED.value}',
               CASE WHEN possible_duplicate
                    THEN ARRAY(SELECT x FROM unnest(array_append(reasons, '{REASON_POSSIBLE_DUPLICATE}')) x
                               ORDER BY x)
                    ELSE reasons END,
               bank_code, bank_account, :review_due_on
        FROM assessed
        WHERE support_group = 'A' AND outcome IN ('{OUTCOME_ELIGIBLE}', '{OUTCOME_REVIEW}')
        ON CONFLICT (program_id, employee_id) DO NOTHING
        RETURNING id, employer_id, amount_vnd
    )
    INSERT INTO {_CREATED} (id, employer_id, amount_vnd) SELECT id, employer_id, amount_vnd FROM created
    """
    )


#: The claims inserted by the current id range (their ``RETURNING``), emptied before each range.
_CREATED = "lists_created_claims"
_CREATE_CREATED = text(
    f"CREATE TEMP TABLE IF NOT EXISTS {_CREATED} ON COMMIT DROP AS "
    "SELECT id, employer_id, amount_vnd FROM claims WITH NO DATA"
)
_EMPTY_CREATED = text(f"TRUNCATE {_CREATED}")

#: One 'create' event per claim of the range, and the range's totals.
_CREATE_EVENTS = text(
    f"""
    WITH events AS (
        INSERT INTO claim_events (claim_id, action, from_state, to_state)
        SELECT id, 'create', NULL, '{ClaimState.LISTED.value}' FROM {_CREATED}
    )
    SELECT count(*), coalesce(sum(amount_vnd), 0),
           array_agg(DISTINCT employer_id) FILTER (WHERE employer_id IS NOT NULL)
    FROM {_CREATED}
    """
)

_REPLICA = text("SET LOCAL session_replication_role = replica")
_ORIGIN = text("SET LOCAL session_replication_role = origin")
# What the claims' foreign-key triggers would lock besides the employees and employers read (the statement locks
# those): the program and the small reference tables, whole.
_LOCK_REFERENCES = [
    text("SELECT 1 FROM programs WHERE id = :program_id FOR KEY SHARE"),
    text("SELECT 1 FROM districts FOR KEY SHARE"),
    text("SELECT 1 FROM banks FOR KEY SHARE"),
]


def _may_skip_reference_triggers() -> bool:
    """Whether the claims and their 'create' events may be written without the per-row foreign-key triggers.

    Those triggers look each referenced row up and lock it ``FOR KEY SHARE``; on a million claims they cost
    twice the rest of the insert. The same guarantee, set-based: every reference comes from the rows the
    statement reads (employee, employer, the employer's district, the employee's bank, the program), which are
    locked as they are read or before (:data:`_LOCK_REFERENCES`); every event's ``claim_id`` comes from the
    ``RETURNING`` of a claim inserted by this very transaction (nobody else can see, lock or delete it before we
    commit) and ``actor_id`` is NULL. The rollup triggers of claims are ENABLE ALWAYS (migration 0005).
    """
    return may_skip_reference_triggers(session_connection(), "claims", "claim_events")


@dataclass
class ListsResult:
    program_code: str
    #: The programme clock's date the lists carry, and the employer's Form 02 deadline it sets.
    listed_on: date
    review_due_on: date
    #: Track A claims created by this run (existing claims are never touched), and their total amount.
    claims_created: int = 0
    amount_created_vnd: int = 0
    #: Units whose Form 01 list gained people in this run.
    employers_listed: int = 0
    reductions_created: int = 0
    #: Rows refreshed because the salary fund or participants changed since the last build.
    reductions_updated: int = 0
    #: Rows dropped because their employer has since been classified into an excluded sector.
    reductions_removed: int = 0
    #: After the build: all claims of the program (from the rollups) and the total booked reduction.
    claims_total: int = 0
    reduction_total_vnd: int = 0
    employee_ids_scanned: int = 0
    #: Whether the claims and events skipped the per-row foreign-key triggers (:func:`_may_skip_reference_triggers`).
    set_based_references: bool = False
    #: E-mails "your Form 01 list is ready" queued for the units listed (:mod:`disburse.notifications`: their registry
    #: address and their employer users; none when e-mails are off).
    emails_queued: int = 0


def employee_id_span() -> tuple[int, int] | None:
    row = db.session.execute(text("SELECT min(id), max(id) FROM employees")).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def build_lists(
    program: Program,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    batch: int = EMPLOYEE_BATCH,
    skip_fk_triggers: bool = True,
) -> ListsResult:
    """Create the program's missing track A claims (with their events) and book the employer reductions.

    ``today`` is the listing date (default: the programme clock). ``progress(done, total)`` is called after each
    id range; units are registry records (employee ids, then employer ids) covered so far.
    ``skip_fk_triggers=False`` writes the claims and their 'create' events through the foreign-key triggers even
    when the set-based path is allowed (for benchmarks and tests).
    """
    listed_on = today or programme_today()
    result = ListsResult(
        program_code=program.code,
        listed_on=listed_on,
        review_due_on=add_working_days(listed_on, program.employer_review_wd),
    )
    db.session.flush()
    db.session.execute(_LOCK, {"program_id": program.id})
    # Plans over a registry that an import has just filled need its statistics (the import leaves them).
    conn = session_connection()
    for table in ("employers", "employees", "salary_funds"):
        analyze_if_stale(conn, table)
    # The rollup trigger's grouping, the RETURNING buffers and the reductions' join work in memory instead of
    # spilling to temporary files; restored before returning (SET LOCAL would outlive us until the commit).
    saved_work_mem = db.session.execute(_GET_WORK_MEM).scalar_one()
    db.session.execute(_SET_WORK_MEM, {"value": BULK_WORK_MEM})

    employees = employee_id_span()
    employers = employer_id_span()
    employee_total = employees[1] - employees[0] + 1 if employees else 0
    employer_total = employers[1] - employers[0] + 1 if employers else 0
    total = employee_total + employer_total

    listed_employers: set[int] = set()
    db.session.execute(_CREATE_CREATED)
    set_based = skip_fk_triggers and _may_skip_reference_triggers()
    result.set_based_references = set_based
    # The rules with the program's tiers inlined: the same answers as ASSESSMENT_SQL without a lookup per row.
    list_range = _list_range_statement(assessment_sql(ProgramRules.from_program(program)), lock=set_based)
    if set_based:
        for lock in _LOCK_REFERENCES:
            db.session.execute(lock, {"program_id": program.id})
    if employees is not None:
        first, last = employees
        for lo in range(first, last + 1, batch):
            hi = min(lo + batch - 1, last)
            db.session.execute(_EMPTY_CREATED)
            # An error aborts the transaction, which also undoes the replica role.
            if set_based:
                db.session.execute(_REPLICA)
            db.session.execute(
                list_range,
                {"program_id": program.id, "lo": lo, "hi": hi, "review_due_on": result.review_due_on},
            )
            created, amount, employer_ids = db.session.execute(_CREATE_EVENTS).one()
            if set_based:
                db.session.execute(_ORIGIN)
            result.claims_created += int(created)
            result.amount_created_vnd += int(amount)
            listed_employers.update(employer_ids or ())
            result.employee_ids_scanned = hi - first + 1
            if progress is not None:
                progress(result.employee_ids_scanned, total)
    result.employers_listed = len(listed_employers)
    # "Your Form 01 list is ready" to each unit listed, in this transaction (disburse.notifications).
    result.emails_queued = queue_list_ready(program, listed_employers, listed_on)

    def employer_progress(done: int, _total: int | None) -> None:
        if progress is not None:
            progress(employee_total + done, total)

    reductions = book_reductions(program, progress=employer_progress, skip_fk_triggers=skip_fk_triggers)
    result.reductions_created = reductions.created
    result.reductions_updated = reductions.updated
    result.reductions_removed = reductions.removed

    result.claims_total = int(
        db.session.execute(
            text("SELECT coalesce(sum(claims), 0) FROM claim_counters WHERE program_id = :p"), {"p": program.id}
        ).scalar_one()
    )
    result.reduction_total_vnd = int(
        db.session.execute(
            text("SELECT coalesce(sum(amount_vnd), 0) FROM reductions WHERE program_id = :p"), {"p": program.id}
        ).scalar_one()
    )
    db.session.execute(_SET_WORK_MEM, {"value": saved_work_mem})
    if progress is not None:
        progress(total, total)
    return result
