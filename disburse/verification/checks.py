"""The verification checks as set-based SQL, and the payment SLA they set.

One batch (an id range or an id list) is three statements over two temporary tables, in the batch's transaction:

1. :func:`lock_statement` (per program): lock the batch's claims that wait for verification ``FOR UPDATE`` in id
   order (``SKIP LOCKED`` for workers: a claim someone else holds is left for the sweeper) and copy each with its
   registry record re-assessed by the program's rules *as the registry stands now* (the rules' SQL,
   :func:`disburse.programs.rules.assessment_sql`) into ``verification_batch``;
2. :data:`FINDINGS` reads that table once, with index look-ups for the duplicates, and writes one decision per
   claim into ``verification_findings``: the path (approve, review, reject), every reason code found (sorted),
   the written reason, for a refusal its ``reason_code`` (the first refusing code: the vocabulary of a
   caseworker's refusal, whose plain words the written notice prints), the months and amount the registry now
   gives, and the payment SLA date;
3. the claims service applies it (:func:`disburse.claims.service.reassess_many`, then
   :func:`~disburse.claims.service.follow_paths_many`).

Before the batch, in a transaction of its own that commits, :data:`RECORD_IDENTITIES` writes each claim's identity
(national ID, date of birth, name without diacritics, blocking keys: :mod:`disburse.verification.identities`).
Committing it first means that of two near-duplicate claims verified at the same time by two workers, the later
search always sees the other's identity, so at least one of the two goes to review.

The decision, in this order (docs/rules.md, sections 7 and 8): any code in :data:`~.reasons.REJECT` → ``rejected``
with the Vietnamese labels of those codes as the written reason; otherwise any code in :data:`~.reasons.REVIEW` →
``needs_review``; otherwise ``approved``. Duplicates of every kind only ever send a claim to review.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import TextClause, text

from disburse.bulk import no_jit
from disburse.claims.models import Claim
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.programs.calendar import add_working_days
from disburse.programs.models import Program
from disburse.programs.rules import OUTCOME_NOT_ELIGIBLE, OUTCOME_REVIEW, ProgramRules, assessment_sql
from disburse.verification import reasons as R

#: States a batch takes up: waiting for verification, or left in ``verifying`` by someone else.
WAITING = (
    ClaimState.EMPLOYER_CONFIRMED,
    ClaimState.EMPLOYER_OVERDUE,
    ClaimState.APPLIED,
    ClaimState.VERIFYING,
)
WAITING_SQL = ", ".join(f"'{s.value}'" for s in WAITING)
#: Counterpart claims in these states cannot be paid: they make no duplicate.
_CLOSED_SQL = ", ".join(f"'{s}'" for s in ("rejected", "declined", "removed"))

#: pg_trgm ``similarity()`` at or above which two names that share a blocking key are the same name.
NAME_SIMILARITY = 0.65
#: A bank account number: 6 to 19 digits (Vietnamese banks' accounts run 6 to 19 digits; NAPAS card numbers 16–19).
BANK_ACCOUNT_SHAPE = "^[0-9]{6,19}$"

#: The payment SLA a claim's approval starts: Form 02 (working days after the employer's confirmation) or Form 04
#: (working days after the application was received, capped at the program's payment deadline).
SLA_FORM02 = "form02"
SLA_FORM04 = "form04"

PATH_APPROVE, PATH_REVIEW, PATH_REJECT = 0, 1, 2


def _flag(code: str) -> str:
    """The column of the findings' inner query that says whether ``code`` applies (named after the code)."""
    return code


CREATE_TABLES = [
    text(
        """CREATE TEMP TABLE IF NOT EXISTS verification_batch (
            id bigint PRIMARY KEY, from_state text, program_id integer, track text, employee_id bigint,
            employer_id bigint, national_id text, payout text, bank_code text, bank_account text,
            claim_months integer, claim_amount bigint, applied_on date, sla_kind text, sla_base date,
            support_group text, outcome text, rule_reasons text[], registry_amount bigint, registry_months integer
        ) ON COMMIT DROP"""
    ),
    text(
        """CREATE TEMP TABLE IF NOT EXISTS verification_findings (
            id bigint PRIMARY KEY, path integer, reasons text[], reason text, data jsonb, payment_due_on date,
            unused_months integer, amount_vnd bigint
        ) ON COMMIT DROP"""
    ),
    text("TRUNCATE verification_batch, verification_findings"),
]
#: Memory for a batch's sorts and hashes (up to 100,000 claims, two events each), for its transaction only.
BATCH_WORK_MEM = text("SELECT set_config('work_mem', '64MB', true)")


def batch_settings() -> None:
    """For the batch's transaction only (a worker's transaction is the batch): JIT off (:func:`no_jit`), memory
    for its sorts (the events are sorted by claim and step), and no bitmap scans. Every look-up of a batch is an
    index probe expecting a row or two; with a dozen rows estimated per blocking key the planner picks a bitmap scan,
    which costs four times a plain index scan per probe (measured: 13 µs against 3 µs, 60,000 probes a batch)."""
    no_jit()
    db.session.execute(BATCH_WORK_MEM)
    db.session.execute(text("SELECT set_config('enable_bitmapscan', 'off', true)"))


def selection(ids: list[int] | None, id_range: tuple[int, int] | None) -> tuple[str, dict[str, object]]:
    """The SQL condition on ``c`` (claims) for an id list or an inclusive id range, and its parameters."""
    if (ids is None) == (id_range is None):
        raise ValueError("give either ids or id_range")
    if ids is not None:
        return "c.id = ANY(CAST(:ids AS bigint[]))", {"ids": sorted(set(ids))}
    assert id_range is not None
    return "c.id BETWEEN :lo AND :hi", {"lo": int(id_range[0]), "hi": int(id_range[1])}


def programs_statement(where: str) -> TextClause:
    return text(f"SELECT DISTINCT c.program_id FROM claims c WHERE {where} AND c.state IN ({WAITING_SQL})")


# ------------------------------------------------------------------------------------------------- identities

#: A name in the form the duplicate checks compare: lower case, no diacritics, single spaces. The regular
#: expression runs only for the rare name with doubled or odd spaces (it costs as much as the rest together).
_UNACCENTED = "btrim(translate(disburse_unaccent(e.full_name), E'\\t\\n\\r', '   '))"
_NAME_KEY = "CASE WHEN strpos(plain, '  ') > 0 THEN regexp_replace(plain, ' +', ' ', 'g') ELSE plain END"


def _key(first: str, second: str, tag: str) -> str:
    return (
        "CASE WHEN date_of_birth IS NOT NULL THEN hashtextextended("
        f"program_id::text || '|' || (date_of_birth - DATE '1900-01-01')::text || '|{tag}|' || {first}"
        f" || '|' || {second}, 0) END"
    )


def record_identities_statement(where: str) -> TextClause:
    """Upsert the identity of every claim in the selection that waits for verification, as the registry stands
    now; a row that has not changed is not rewritten. Locks nothing on claims (the identities are facts about the
    person, written before the batch locks anything). The name's parts: family name = the first word, given name =
    the last, middle = what lies between (string positions, no regular expressions: they cost 8 µs a name). Each
    ``OFFSET 0`` keeps PostgreSQL from inlining a computed column into every expression that uses it."""
    return text(
        f"""
        INSERT INTO claim_identities AS ci (claim_id, program_id, national_id, date_of_birth, name_key,
                                            key_family_given, key_family_middle, key_middle_given)
        SELECT claim_id, program_id, national_id, date_of_birth, name_key,
               {_key("family", "given", "fg")}, {_key("family", "middle", "fm")}, {_key("middle", "given", "mg")}
        FROM (
            SELECT claim_id, program_id, national_id, date_of_birth, name_key, family, given,
                   substr(name_key, length(family) + 2,
                          greatest(0, length(name_key) - length(family) - length(given) - 2)) AS middle
            FROM (
                SELECT claim_id, program_id, national_id, date_of_birth, name_key,
                       split_part(name_key, ' ', 1) AS family, reverse(split_part(reverse(name_key), ' ', 1)) AS given
                FROM (
                    SELECT claim_id, program_id, national_id, date_of_birth, {_NAME_KEY} AS name_key
                    FROM (
                        SELECT c.id AS claim_id, c.program_id, e.national_id, e.date_of_birth, {_UNACCENTED} AS plain
                        FROM claims c
                        JOIN employees e ON e.id = c.employee_id
                        WHERE {where} AND c.state IN ({WAITING_SQL})
                        ORDER BY c.id
                        OFFSET 0  -- computed once a row, not once for each use above
                    ) plain
                    OFFSET 0
                ) keyed
                OFFSET 0
            ) named
        ) x
        ON CONFLICT (claim_id) DO UPDATE
        SET program_id = EXCLUDED.program_id, national_id = EXCLUDED.national_id,
            date_of_birth = EXCLUDED.date_of_birth, name_key = EXCLUDED.name_key,
            key_family_given = EXCLUDED.key_family_given, key_family_middle = EXCLUDED.key_family_middle,
            key_middle_given = EXCLUDED.key_middle_given, updated_at = now()
        WHERE (ci.program_id, ci.national_id, ci.date_of_birth, ci.name_key)
              IS DISTINCT FROM (EXCLUDED.program_id, EXCLUDED.national_id, EXCLUDED.date_of_birth, EXCLUDED.name_key)
        """
    )


# ------------------------------------------------------------------------------------------------- the batch


def lock_statement(where: str, rules: ProgramRules, *, skip_locked: bool) -> TextClause:
    """Lock the program's waiting claims of the selection (id order) and copy them, re-assessed, into
    ``verification_batch``. Parameters: the selection's, ``program_id``, ``today``."""
    return text(
        f"""
        INSERT INTO verification_batch
        SELECT c.id, c.state, c.program_id, c.track, c.employee_id, c.employer_id, e.national_id, c.payout,
               c.bank_code, c.bank_account, c.unused_months, c.amount_vnd, c.applied_on,
               -- A due date the form's service already set (Form 03: calendar days) is kept as it is.
               CASE WHEN c.payment_due_on IS NOT NULL THEN NULL
                    WHEN c.applied_on IS NOT NULL OR c.track = 'B' THEN '{SLA_FORM04}'
                    WHEN c.confirmed_on IS NOT NULL OR c.state = '{ClaimState.EMPLOYER_CONFIRMED.value}'
                    THEN '{SLA_FORM02}' END,
               CASE WHEN c.applied_on IS NOT NULL OR c.track = 'B' THEN coalesce(c.applied_on, :today)
                    ELSE coalesce(c.confirmed_on, :today) END,
               {assessment_sql(rules)},
               e.unused_months
        FROM claims c
        -- One index probe a claim, whatever the planner thinks of the batch's size (OFFSET 0 keeps these lateral
        -- subqueries from being flattened into joins it might run as hash joins over the whole registry).
        CROSS JOIN LATERAL (SELECT * FROM employees WHERE id = c.employee_id OFFSET 0) e
        LEFT JOIN LATERAL (SELECT * FROM employers WHERE id = e.employer_id OFFSET 0) r ON true
        JOIN programs p ON p.id = c.program_id
        WHERE {where} AND c.program_id = :program_id AND c.state IN ({WAITING_SQL})
        ORDER BY c.id
        FOR UPDATE OF c {"SKIP LOCKED" if skip_locked else ""}
        """
    )


#: The SLA kinds, base dates and due dates of the batch, computed in Python (the working-day calendar) and joined
#: back as arrays: a batch has a handful of distinct (program, kind, base date).
SLA_BASES = text("SELECT DISTINCT program_id, sla_kind, sla_base FROM verification_batch WHERE sla_kind IS NOT NULL")

#: Reason codes in code order: a claim's reasons are built already sorted, with no sort per claim.
_CODES = sorted((R.REJECT | R.REVIEW) - R.FROM_PAYMENTS)

FINDINGS = text(
    f"""
    INSERT INTO verification_findings (id, path, reasons, reason, data, payment_due_on, unused_months, amount_vnd)
    SELECT id, path, reasons,
           CASE WHEN path <> {PATH_APPROVE} THEN left(
               (SELECT string_agg(l.vi, ' ' ORDER BY l.code)
                FROM unnest(CAST(:label_codes AS text[]), CAST(:label_vi AS text[])) AS l(code, vi)
                WHERE l.code = ANY(reasons)
                  AND l.code = ANY(CASE WHEN path = {PATH_REJECT} THEN CAST(:reject_codes AS text[])
                                        ELSE CAST(:review_codes AS text[]) END)),
               1000) END,
           CASE WHEN cardinality(reasons) > 0 OR duplicates IS NOT NULL THEN
                jsonb_strip_nulls(jsonb_build_object(
                    'reasons', to_jsonb(reasons), 'duplicates', to_jsonb(duplicates),
                    -- A refusal's reason code, as a caseworker's refusal carries it (the notice prints its words):
                    -- the first refusing code in code order; the others stay in 'reasons'.
                    'reason_code', CASE WHEN path = {PATH_REJECT} THEN
                        (SELECT min(code) FROM unnest(reasons) code WHERE code = ANY(CAST(:reject_codes AS text[])))
                    END))
           END,
           CASE WHEN path <> {PATH_REJECT} THEN payment_due_on END,
           unused_months, amount_vnd
    FROM (
        SELECT id, payment_due_on, unused_months, amount_vnd, duplicates,
               array_remove(ARRAY[{", ".join(f"CASE WHEN {_flag(code)} THEN '{code}' END" for code in _CODES)}], NULL)
                   AS reasons,
               CASE WHEN {" OR ".join(_flag(code) for code in sorted(R.REJECT))} THEN {PATH_REJECT}
                    WHEN {" OR ".join(_flag(code) for code in sorted(R.REVIEW - R.FROM_PAYMENTS))} THEN {PATH_REVIEW}
                    ELSE {PATH_APPROVE} END AS path
        FROM (
            SELECT b.id, due.due_on AS payment_due_on,
                   -- The registry's figures where they differ from the claim's (the claims to reassess), else NULL.
                   CASE WHEN b.support_group IS NOT NULL AND (b.registry_months, b.registry_amount)
                             IS DISTINCT FROM (b.claim_months, b.claim_amount) THEN b.registry_months END
                       AS unused_months,
                   CASE WHEN b.support_group IS NOT NULL AND (b.registry_months, b.registry_amount)
                             IS DISTINCT FROM (b.claim_months, b.claim_amount) THEN b.registry_amount END
                       AS amount_vnd,
                   b.outcome = '{OUTCOME_NOT_ELIGIBLE}' AND '{R.REASON_EXCLUDED_SECTOR}' = ANY(b.rule_reasons)
                       AS {R.REASON_EXCLUDED_SECTOR},
                   b.outcome = '{OUTCOME_NOT_ELIGIBLE}' AND '{R.REASON_STOPPED_OUTSIDE_WINDOW}' = ANY(b.rule_reasons)
                       AS {R.REASON_STOPPED_OUTSIDE_WINDOW},
                   b.outcome = '{OUTCOME_NOT_ELIGIBLE}' AND '{R.REASON_PENSION_DECISION}' = ANY(b.rule_reasons)
                       AS {R.REASON_PENSION_DECISION},
                   coalesce(b.applied_on > p.application_deadline, false) AS {R.APPLIED_AFTER_DEADLINE},
                   b.outcome = '{OUTCOME_REVIEW}' AS {R.REASON_ZERO_MONTHS},
                   nid.others > 0 AS {R.REASON_POSSIBLE_DUPLICATE},
                   nid.listed_twice AS {R.LISTED_TWICE},
                   nid.both_tracks AS {R.BOTH_TRACKS},
                   nd.ids IS NOT NULL AS {R.NEAR_DUPLICATE},
                   b.payout = 'bank' AND (b.bank_code IS NULL OR b.bank_account IS NULL) AS {R.BANK_DETAILS_MISSING},
                   coalesce(b.payout = 'bank' AND b.bank_account !~ '{BANK_ACCOUNT_SHAPE}', false)
                       AS {R.BANK_DETAILS_MALFORMED},
                   b.from_state = '{ClaimState.EMPLOYER_OVERDUE.value}' AS {R.NOT_CONFIRMED_BY_EMPLOYER},
                   coalesce(b.support_group IS NOT NULL AND b.registry_amount <> b.claim_amount, false)
                       AS {R.AMOUNT_CHANGED},
                   CAST(:today AS date) > coalesce(p.extension_until, p.payment_deadline) AS {R.PAYMENT_PERIOD_ENDED},
                   CASE WHEN nid.claim_ids IS NOT NULL OR nd.ids IS NOT NULL THEN
                       ARRAY(SELECT DISTINCT x
                             FROM unnest(coalesce(nid.claim_ids, '{{}}') || coalesce(nd.ids, '{{}}')) x ORDER BY x)
                   END AS duplicates
            FROM verification_batch b
            JOIN programs p ON p.id = b.program_id
            LEFT JOIN unnest(CAST(:due_program AS integer[]), CAST(:due_kind AS text[]), CAST(:due_base AS date[]),
                             CAST(:due_on AS date[])) AS due(program_id, kind, base, due_on)
                   ON due.program_id = b.program_id AND due.kind = b.sla_kind AND due.base = b.sla_base
            -- The same national ID under other SI codes, and those people's live claims of the program.
            LEFT JOIN LATERAL (
                SELECT count(*) AS others,
                       array_agg(oc.id ORDER BY oc.id) FILTER (WHERE oc.id IS NOT NULL) AS claim_ids,
                       coalesce(bool_or(oc.track <> b.track), false) AS both_tracks,
                       coalesce(bool_or(oc.track = 'A' AND b.track = 'A'
                                        AND oc.employer_id IS DISTINCT FROM b.employer_id), false) AS listed_twice
                FROM employees o
                LEFT JOIN claims oc ON oc.program_id = b.program_id AND oc.employee_id = o.id
                                   AND oc.state NOT IN ({_CLOSED_SQL})
                WHERE o.national_id = b.national_id AND o.id <> b.employee_id
            ) nid ON true
            -- Near-duplicates: live claims of the program whose identity shares a blocking key (same birth date and
            -- two of the three name parts), under another national ID, with a similar name, and linked to this one by
            -- something two people rarely share: the IDs are of two kinds (old 9-digit CMND and 12-digit CCCD) or
            -- one typo apart, or the bank account or the phone number is the same. A birthday and a common name
            -- alone are shared by a quarter of the country (docs/rules.md, section 7).
            LEFT JOIN LATERAL (SELECT * FROM claim_identities WHERE claim_id = b.id OFFSET 0) me ON true
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT o.claim_id) AS ids
                FROM (
                    SELECT claim_id, program_id, national_id, date_of_birth, name_key
                    FROM claim_identities WHERE key_family_given = me.key_family_given
                    UNION ALL
                    SELECT claim_id, program_id, national_id, date_of_birth, name_key
                    FROM claim_identities WHERE key_family_middle = me.key_family_middle
                    UNION ALL
                    SELECT claim_id, program_id, national_id, date_of_birth, name_key
                    FROM claim_identities WHERE key_middle_given = me.key_middle_given
                ) o
                JOIN claims oc ON oc.id = o.claim_id
                WHERE o.claim_id <> b.id AND o.program_id = b.program_id AND o.date_of_birth = me.date_of_birth
                  AND o.national_id <> b.national_id AND oc.state NOT IN ({_CLOSED_SQL})
                  AND similarity(o.name_key, me.name_key) >= {NAME_SIMILARITY}
                  AND (length(o.national_id) <> length(b.national_id)
                       OR disburse_one_typo_apart(o.national_id, b.national_id)
                       OR (oc.bank_account = b.bank_account AND oc.bank_code = b.bank_code)
                       OR EXISTS (SELECT FROM employees mine JOIN employees theirs ON theirs.id = oc.employee_id
                                  WHERE mine.id = b.employee_id AND mine.phone = theirs.phone))
            ) nd ON true
            OFFSET 0  -- each flag computed once, not once for every expression that reads it
        ) flags
        OFFSET 0  -- the reasons array built once
    ) decided
    """
)


def labels_params() -> dict[str, list[str]]:
    """The Vietnamese labels of every code, as the arrays :data:`FINDINGS` writes its reasons from."""
    codes = sorted(R.LABELS)
    return {
        "label_codes": codes,
        "label_vi": [R.label(code)[0] for code in codes],
        "reject_codes": sorted(R.REJECT),
        "review_codes": sorted(R.REVIEW),
    }


# ----------------------------------------------------------------------------------------------------- the SLA


def payment_due_on(program: Program, kind: str, base: date) -> date:
    """The day the SSA must pay by: Form 02, ``payment_after_confirmation_wd`` working days after the confirmation;
    Form 04, ``application_payment_wd`` working days after the application was received, and no later than the
    program's ``payment_deadline``."""
    if kind == SLA_FORM02:
        return add_working_days(base, program.payment_after_confirmation_wd)
    if kind == SLA_FORM04:
        return min(add_working_days(base, program.application_payment_wd), program.payment_deadline)
    raise ValueError(f"unknown SLA kind {kind!r}")


def claim_payment_due_on(program: Program, claim: Claim) -> date | None:
    """The payment SLA date of one claim (for a caseworker's approval): Form 04 when it has an application, Form 02
    when the employer confirmed it; None when neither date is known."""
    if claim.applied_on is not None:
        return payment_due_on(program, SLA_FORM04, claim.applied_on)
    if claim.confirmed_on is not None:
        return payment_due_on(program, SLA_FORM02, claim.confirmed_on)
    return None
