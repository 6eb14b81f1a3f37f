"""The outreach list: the people of a district a caseworker phones or visits.

- ``no_application``: group B people (stopped inside the window, no pension decision: the rules' own SQL,
  :data:`disburse.programs.rules.SUPPORT_GROUP_SQL`) whose contact address is in the district and who have no claim
  in the programme: they must apply themselves (Form 04) and may not know it;
- ``awaiting_details``: the district's claims waiting for payment details after a failed payment.

Each row carries the person's phone and address and the contact log (how many attempts, the last one's day and
outcome): a claim's ``contact`` notes, or, for a person with no claim, their :class:`PersonContact` rows
(:func:`log_contact`). Pages read it in keyset pages; exports read it whole,
in chunks of the same keyset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text

from disburse.auth.models import User
from disburse.casework.models import PersonContact
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.programs.rules import SUPPORT_GROUP_SQL
from disburse.registry.models import Employee
from disburse.verification.review import (
    ACTING_ROLES,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    Forbidden,
    NotFound,
    visible_district,
)

KINDS: dict[str, tuple[str, str]] = {
    "no_application": ("Nhóm B chưa nộp đề nghị (Mẫu số 04)", "Group B, no application (Form 04) yet"),
    "awaiting_details": ("Chờ bổ sung thông tin tài khoản", "Awaiting payment details"),
}
CHUNK = 1000
#: The group B list walks ``ix_employees_stopped_district`` in id order and stops at the page's end: PostgreSQL,
#: misjudging how many people the rules' CASE keeps, would otherwise read the whole district (bitmap, then sort) or
#: the whole registry (3.9 s a page at the national point, against 5-20 ms). For that statement only.
_WALK_THE_INDEX = text("SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)")
_PLAN_FREELY = text("SELECT set_config('enable_bitmapscan', 'on', true), set_config('enable_sort', 'on', true)")

_NO_APPLICATION = f"""
    SELECT e.id AS key, e.si_code, e.full_name, e.date_of_birth, e.phone, e.address,
           NULL::bigint AS claim_id, NULL::text AS state, coalesce(log.contacts, 0) AS contacts,
           log.last_contact_at, log.last_outcome, 0 AS failures, NULL::text AS failure_code
    FROM employees e
    JOIN programs p ON p.id = :program_id
    -- One probe a person read, not a join over every employer (the rules' SQL names r).
    LEFT JOIN LATERAL (SELECT * FROM employers WHERE id = e.employer_id OFFSET 0) r ON true
    LEFT JOIN LATERAL (
        SELECT count(*) AS contacts, max(pc.created_at) AS last_contact_at,
               (array_agg(pc.outcome ORDER BY pc.id DESC))[1] AS last_outcome
        FROM person_contacts pc WHERE pc.program_id = p.id AND pc.employee_id = e.id
    ) log ON true
    WHERE e.district_code = :district AND e.ui_status = 'stopped' AND ({SUPPORT_GROUP_SQL}) = 'B'
      AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.program_id = p.id AND c.employee_id = e.id)
      AND e.id > :after AND (NOT CAST(:with_phone AS boolean) OR coalesce(e.phone, '') <> '')
    ORDER BY e.id
    LIMIT :limit
"""

_AWAITING_DETAILS = """
    SELECT c.id AS key, e.si_code, e.full_name, e.date_of_birth, e.phone, e.address,
           c.id AS claim_id, c.state, coalesce(log.contacts, 0) AS contacts, log.last_contact_at, log.last_outcome,
           c.payment_failures AS failures, last_try.failure_code
    FROM claims c
    JOIN employees e ON e.id = c.employee_id
    -- Why the money did not arrive: the latest attempt's code (by the claim's attempts' unique index).
    LEFT JOIN LATERAL (
        SELECT p.failure_code FROM payments p WHERE p.claim_id = c.id ORDER BY p.attempt DESC LIMIT 1
    ) last_try ON true
    LEFT JOIN LATERAL (
        SELECT count(*) AS contacts, max(ev.created_at) AS last_contact_at,
               (array_agg(ev.data ->> 'outcome' ORDER BY ev.id DESC))[1] AS last_outcome
        FROM claim_events ev WHERE ev.claim_id = c.id AND ev.action = 'contact'
    ) log ON true
    WHERE c.program_id = :program_id AND c.state = 'awaiting_payment_details' AND c.district_code = :district
      AND c.id > :after AND (NOT CAST(:with_phone AS boolean) OR coalesce(e.phone, '') <> '')
    ORDER BY c.id
    LIMIT :limit
"""


@dataclass(frozen=True)
class OutreachRow:
    key: int
    si_code: str
    full_name: str
    date_of_birth: date | None
    phone: str | None
    address: str | None
    claim_id: int | None
    state: str | None
    contacts: int
    last_contact_at: datetime | None
    last_outcome: str | None
    #: Payments of the claim that failed, and the latest one's code (the awaiting-details list; 0 and None else).
    failures: int = 0
    failure_code: str | None = None

    @property
    def last_outcome_label(self) -> tuple[str, str] | None:
        return CONTACT_OUTCOMES.get(self.last_outcome or "")

    @property
    def failure_label(self) -> tuple[str, str] | None:
        """Why the latest payment failed, in plain words; None when none failed."""
        return payment_reasons.label(self.failure_code) if self.failures else None


def check_district(user: User, district: str | None) -> str:
    """The district whose list ``user`` asks for (a caseworker's own when none is named), which must be in the
    user's scope: an unknown one, or one outside the scope, is the same
    :class:`~disburse.verification.review.NotFound`."""
    district = district or user.district_code
    if district is None:
        raise NotFound()
    return visible_district(user, district)


def page(
    program_id: int, district: str, kind: str, *, with_phone: bool = False, after: int = 0, limit: int = 50
) -> tuple[list[OutreachRow], int | None]:
    """A page of the list, after ``after`` (the employee's id, or the claim's), and the ``after`` of the next page."""
    assert kind in KINDS
    statement = text(_NO_APPLICATION if kind == "no_application" else _AWAITING_DETAILS)
    params: dict[str, Any] = {
        "program_id": program_id,
        "district": district,
        "after": after,
        "with_phone": with_phone,
        "limit": limit + 1,
    }
    if kind == "no_application":
        db.session.execute(_WALK_THE_INDEX)  # undone below; a failed statement's transaction undoes it anyway
    rows = [OutreachRow(**row._mapping) for row in db.session.execute(statement, params)]
    if kind == "no_application":
        db.session.execute(_PLAN_FREELY)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].key if more and rows else None


def every_row(program_id: int, district: str, kind: str, *, with_phone: bool = False) -> Iterator[OutreachRow]:
    """The whole list, :data:`CHUNK` rows a statement (an export)."""
    after = 0
    while True:
        rows, next_after = page(program_id, district, kind, with_phone=with_phone, after=after, limit=CHUNK)
        yield from rows
        if next_after is None:
            return
        after = next_after


def person(employee_id: int, user: User) -> Employee:
    """The person ``employee_id`` if they live in ``user``'s scope (their contact district); :class:`NotFound` for
    one outside it as for one that does not exist."""
    employee = db.session.get(Employee, employee_id)
    if employee is None or employee.district_code is None:  # no district: on no outreach list
        raise NotFound()
    visible_district(user, employee.district_code)
    return employee


def claim_of(program_id: int, employee: Employee) -> int | None:
    """The person's claim in the programme, if they have one (its attempts are notes on the claim)."""
    return db.session.scalar(select(Claim.id).where(Claim.program_id == program_id, Claim.employee_id == employee.id))


def last_contact_id(program_id: int, employee: Employee) -> int | None:
    """The person's latest attempt in the programme, as a page shows it: the form carries it (``seen``)."""
    return db.session.scalar(
        select(func.max(PersonContact.id)).where(
            PersonContact.program_id == program_id, PersonContact.employee_id == employee.id
        )
    )


def log_contact(
    program_id: int,
    employee: Employee,
    user: User,
    channel: str,
    outcome: str,
    note: str | None,
    *,
    seen: int | None = None,
) -> PersonContact:
    """Record an attempt to reach ``employee``, who has no claim in the programme (the caller checked
    :func:`claim_of`); flush. Caseworkers, supervisors and admins may; the person must be in their scope.

    ``seen``: the person's latest attempt when the form was shown (None: there was none). When the one attempt
    recorded since is this very one by ``user`` (the form sent twice: a double click, the back button), it is
    returned and nothing more is recorded (the count of attempts on the call list and its export went up by two).
    Two posts for the same person take turns (a lock held to the end of the transaction)."""
    assert channel in CONTACT_CHANNELS and outcome in CONTACT_OUTCOMES
    if user.role not in ACTING_ROLES:
        raise Forbidden()
    person(employee.id, user)
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"disburse.person_contact:{program_id}:{employee.id}"},
    )
    since = list(
        db.session.scalars(
            select(PersonContact).where(
                PersonContact.program_id == program_id,
                PersonContact.employee_id == employee.id,
                PersonContact.id > (seen or 0),
            )
        )
    )
    if len(since) == 1 and (since[0].actor_id, since[0].channel, since[0].outcome, since[0].note) == (
        user.id,
        channel,
        outcome,
        note,
    ):
        return since[0]
    contact = PersonContact(
        program_id=program_id, employee_id=employee.id, actor_id=user.id, channel=channel, outcome=outcome, note=note
    )
    db.session.add(contact)
    db.session.flush()
    return contact


def contacts(program_id: int, employee: Employee) -> list[PersonContact]:
    """The person's attempts in the programme, newest first."""
    return list(
        db.session.scalars(
            select(PersonContact)
            .where(PersonContact.program_id == program_id, PersonContact.employee_id == employee.id)
            .order_by(PersonContact.id.desc())
        )
    )
