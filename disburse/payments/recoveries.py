"""Recoveries: money that came back after a payment had settled (a return by the payee's bank).

A return opens one (:mod:`disburse.payments.status`, in the transaction that applies the return) as ``owed``: the
fund is owed the amount until the money is seen back in its account. It becomes ``recovered`` when the provider's
statement shows the return booked (reconciliation) or when a supervisor records it; ``written_off`` when a
supervisor decides it will not come back (with a note); ``closed`` once recovered and the claim has been settled
again or closed. A supervisor may record part of the sum (a refund at the office in instalments): it stays owed
until all of it is back. Every step is a row of ``recovery_events`` with who made it, when and their note.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, any_, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from disburse.auth.models import AuditLog, User
from disburse.auth.scopes import Scope, can_see
from disburse.auth.service import audit
from disburse.claims.models import Claim
from disburse.claims.states import CLOSED_STATES
from disburse.extensions import db
from disburse.formatting import vnd
from disburse.payments.models import Payment, Recovery, RecoveryEvent
from disburse.reference.models import District
from disburse.registry.models import Employee
from disburse.reports.service import Area

#: Where each state may go, and by whom: the reconciliation or a supervisor.
NEXT = {"owed": {"recovered", "written_off"}, "recovered": {"closed"}, "written_off": {"closed"}, "closed": set()}
LABELS = {
    "owed": ("Chờ thu hồi", "Owed"),
    "recovered": ("Đã thu hồi", "Recovered"),
    "written_off": ("Đã xoá nợ", "Written off"),
    "closed": ("Đã đóng", "Closed"),
}


class RecoveryRefused(ValueError):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.message_vi, self.message_en = vi, en


class ChangedSince(RecoveryRefused):
    """A move decided on the recovery as it was at step ``seen``, refused: other steps were recorded since."""


@dataclass(frozen=True)
class Moved:
    """What :func:`move` did: the recovery as it now is, and whether this call recorded the step (False: the step
    was the one already recorded since ``seen``, the same move sent again)."""

    recovery: Recovery
    recorded: bool


def recoveries(state: str | None = None, *, limit: int = 500) -> tuple[list[Recovery], int, int, int]:
    """The latest ``limit`` recoveries (newest first), in ``state`` if given, and of all of them (not only those
    listed): how many, the sum owed back, the sum recovered."""
    query = select(Recovery).order_by(Recovery.id.desc()).limit(limit)
    whole = select(
        func.count(),
        func.coalesce(func.sum(Recovery.amount_vnd), 0),
        func.coalesce(func.sum(Recovery.recovered_vnd), 0),
    )
    if state:
        query = query.where(Recovery.state == state)
        whole = whole.where(Recovery.state == state)
    count, amount, recovered = db.session.execute(whole).one()
    return list(db.session.scalars(query)), int(count), int(amount), int(recovered)


def for_claim(claim_id: int) -> list[tuple[Recovery, str]]:
    """The claim's recoveries, oldest first, each with the reference of the payment that came back."""
    rows = db.session.execute(
        select(Recovery, Payment.provider_reference)
        .join(Payment, Payment.id == Recovery.payment_id)
        .where(Recovery.claim_id == claim_id)
        .order_by(Recovery.id)
    ).all()
    return [(recovery, reference) for recovery, reference in rows]


@dataclass(frozen=True)
class RecoveryRow:
    """A recovery as the supervisors' list shows it."""

    recovery: Recovery
    reference: str
    person: str
    district_code: str
    district: str
    claim_state: str
    #: The provider that made the payment and took it back: the one whose statement shows the money returned.
    provider: str

    @property
    def closable(self) -> bool:
        """Whether the recovery may be closed as far as its claim goes (:func:`_claim_allows_closing`)."""
        return self.claim_state in CLOSED_STATES


def _rows() -> Any:
    return (
        select(
            Recovery,
            Payment.provider_reference,
            Employee.full_name,
            District.code,
            District.name,
            Claim.state,
            Payment.provider,
        )
        .join(Payment, Payment.id == Recovery.payment_id)
        .join(Claim, Claim.id == Recovery.claim_id)
        .join(Employee, Employee.id == Claim.employee_id)
        .join(District, District.code == Claim.district_code)
    )


def _within(query: Any, program_id: int, area: Area) -> Any:
    query = query.where(Claim.program_id == program_id)
    if area.district_code:
        return query.where(Claim.district_code == area.district_code)
    if area.province_code:
        return query.where(District.province_code == area.province_code)
    return query


def in_area(program_id: int, area: Area, state: str | None, *, limit: int) -> list[RecoveryRow]:
    """The programme's recoveries of claims in ``area`` (in ``state`` if given), newest first, at most ``limit``."""
    query = _within(_rows(), program_id, area).order_by(Recovery.id.desc()).limit(limit)
    if state:
        query = query.where(Recovery.state == state)
    return [RecoveryRow(*row) for row in db.session.execute(query).all()]


def totals(program_id: int, area: Area) -> dict[str, tuple[int, int, int]]:
    """State → (recoveries, amount, recovered) of the programme's recoveries in ``area``; every state is there."""
    query = _within(
        select(Recovery.state, func.count(), func.sum(Recovery.amount_vnd), func.sum(Recovery.recovered_vnd))
        .join(Claim, Claim.id == Recovery.claim_id)
        .join(District, District.code == Claim.district_code)
        .group_by(Recovery.state),
        program_id,
        area,
    )
    found = {state: (int(n), int(amount), int(recovered)) for state, n, amount, recovered in db.session.execute(query)}
    return {state: found.get(state, (0, 0, 0)) for state in LABELS}


def one(recovery_id: int) -> RecoveryRow | None:
    row = db.session.execute(_rows().where(Recovery.id == recovery_id)).one_or_none()
    return RecoveryRow(*row) if row is not None else None


def last_event_id(recovery_id: int) -> int | None:
    return db.session.scalar(select(func.max(RecoveryEvent.id)).where(RecoveryEvent.recovery_id == recovery_id))


def step_event_id(recovery_id: int, step: int) -> int | None:
    """The event of the recovery's step number ``step`` (1: its opening; as :func:`history` numbers them, oldest
    first), None if it has no such step. A step's number never changes: the history is append-only."""
    if step < 1:
        return None
    return db.session.scalar(
        select(RecoveryEvent.id)
        .where(RecoveryEvent.recovery_id == recovery_id)
        .order_by(RecoveryEvent.id)
        .offset(step - 1)
        .limit(1)
    )


def move(
    recovery_id: int,
    to_state: str,
    actor: User | None,
    note: str,
    amount_vnd: int | None = None,
    *,
    seen: int | None = None,
) -> Moved:
    """Move a recovery on (locked), with its event (who, when, the note, the sum recovered) and an audit entry;
    flush. ``recovered`` takes ``amount_vnd`` (default: all that is still owed): less than that is a part, recorded
    while the recovery stays owed. A write-off needs a note.

    ``seen``: the last event of the recovery as the person saw it when deciding. If another step came since, the
    move is refused (:class:`ChangedSince`: it was decided on what is no longer so), unless that step is this very
    one (the same post sent twice: a double click, a reload; the same command run again), which is then done
    already: nothing more is recorded (``recorded`` False)."""
    recovery = db.session.scalar(select(Recovery).where(Recovery.id == recovery_id).with_for_update())
    if recovery is None:
        raise RecoveryRefused(f"Không có khoản thu hồi số {recovery_id}.", f"There is no recovery {recovery_id}.")
    if actor is not None:
        _may_move(actor, recovery)
    if seen is not None:
        since = list(
            db.session.scalars(
                select(RecoveryEvent)
                .where(RecoveryEvent.recovery_id == recovery_id, RecoveryEvent.id > seen)
                .order_by(RecoveryEvent.id)
            )
        )
        if since:
            if len(since) == 1 and _same_step(since[0], to_state, actor, note, amount_vnd):
                return Moved(recovery, recorded=False)
            raise ChangedSince(
                f"Khoản thu hồi {recovery_id} vừa được ghi nhận thêm sau khi bạn mở trang; hãy xem lại rồi làm lại.",
                f"Recovery {recovery_id} has changed since you opened the page; look at it again and start over.",
            )
    if to_state not in NEXT.get(recovery.state, set()):
        vi, en = LABELS[recovery.state]
        raise RecoveryRefused(
            f"Khoản thu hồi {recovery_id} đang '{vi}': không chuyển sang '{LABELS.get(to_state, (to_state,))[0]}'.",
            f"Recovery {recovery_id} is {en.lower()}: it cannot become {to_state}.",
        )
    note = _clean(note)
    if to_state == "written_off" and not note:
        raise RecoveryRefused("Xoá nợ cần ghi lý do.", "A write-off needs a note saying why.")
    owed = recovery.amount_vnd - recovery.recovered_vnd
    step = 0
    if to_state == "recovered":
        step = owed if amount_vnd is None else amount_vnd
        if not 0 < step <= owed:
            raise RecoveryRefused(
                f"Số tiền thu hồi phải từ 1 ₫ đến {vnd(owed, 'vi')} (số còn phải thu).",
                f"The sum recovered must be from VND 1 to {vnd(owed, 'en')} (what is still owed).",
            )
        recovery.recovered_vnd += step
        if recovery.recovered_vnd < recovery.amount_vnd:
            to_state = "owed"  # a part: the rest is still owed
    elif amount_vnd is not None:
        raise RecoveryRefused("Chỉ ghi số tiền khi thu hồi.", "A sum is recorded with a recovery only.")
    if to_state == "closed":
        _claim_allows_closing(recovery)
        recovery.closed_at = datetime.now(UTC)
    audit(
        actor,
        "recovery.move",
        "recovery",
        recovery.id,
        {"from": recovery.state, "to": to_state, "recovered_vnd": step, "note": note},
    )
    db.session.add(
        RecoveryEvent(
            recovery_id=recovery.id,
            actor_id=actor.id if actor is not None else None,
            from_state=recovery.state,
            to_state=to_state,
            recovered_vnd=step,
            note=note or None,
        )
    )
    recovery.state = to_state
    db.session.flush()
    return Moved(recovery, recorded=True)


#: The states a recovery with nothing left to do is in, once its claim is settled: the money back, or given up.
SETTLED = ("recovered", "written_off")


def _settled(program_id: int, area: Area) -> Any:
    """The recoveries of ``area`` with nothing left to do: recovered or written off, their claim paid again or ended
    (what :func:`move` to ``closed`` asks of each)."""
    query = (
        select(Recovery.id, Recovery.state)
        .join(Claim, Claim.id == Recovery.claim_id)
        .join(District, District.code == Claim.district_code)
        .where(Recovery.state.in_(SETTLED), Claim.state.in_(sorted(CLOSED_STATES)))
    )
    return _within(query, program_id, area)


def settled(program_id: int, area: Area) -> tuple[int, str]:
    """How many recoveries of ``area`` :func:`close_settled` would close now, and which (a digest of their ids: the
    page that offers to close them posts it back, and nothing it did not show is closed)."""
    ids = db.session.scalars(select(_settled(program_id, area).subquery().c.id).order_by("id")).all()
    return len(ids), _digest(ids)


def _digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]


def close_settled(program_id: int, area: Area, actor: User, seen: str) -> int:
    """Close every recovery of ``area`` with nothing left to do (:func:`_settled`), as closing each on its page
    would: locked with its claim (in the recoveries' order, so that two such closes never deadlock), an event and an
    audit entry each under ``actor``'s name; flush. A supervisor had to close hundreds one by one, in two steps each,
    after a reconciliation marked them recovered. ``area`` is one the actor may see (the page's
    :func:`~disburse.dashboard.views._area`); ``seen``, the digest of those the page offered (:func:`settled`):
    another set now (one settled or moved meanwhile) is :class:`ChangedSince`, nothing closed. Returns how many were
    closed (0: none to close)."""
    if not (actor.active and actor.role in MOVERS):
        raise RecoveryRefused(
            f"{actor.email} không được đóng khoản thu hồi: chỉ lãnh đạo (hoặc quản trị viên) đang hoạt động.",
            f"{actor.email} may not close recoveries: only an active supervisor (or an admin) may.",
        )
    found = db.session.execute(
        _settled(program_id, area).order_by(Recovery.id).with_for_update(of=(Recovery, Claim))
    ).all()
    if not found:
        return 0
    ids = [row.id for row in found]
    if _digest(ids) != seen:
        raise ChangedSince(
            f"Các khoản thu hồi cần đóng đã thay đổi từ khi bạn mở trang (nay là {len(ids)} khoản); hãy xem lại rồi "
            "làm lại.",
            f"The recoveries to close have changed since you opened the page ({len(ids)} now); look at them again "
            "and start over.",
        )
    db.session.execute(
        update(Recovery)
        .where(Recovery.id == any_(cast(ids, ARRAY(Integer))))  # one array: a national close may name tens of thousands
        .values(state="closed", closed_at=func.now())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        insert(RecoveryEvent),
        [
            {"recovery_id": r.id, "actor_id": actor.id, "from_state": r.state, "to_state": "closed", "recovered_vnd": 0}
            for r in found
        ],
    )
    db.session.execute(
        insert(AuditLog),
        [
            {
                "actor_id": actor.id,
                "action": "recovery.move",
                "object_type": "recovery",
                "object_id": str(r.id),
                "data": {"from": r.state, "to": "closed", "recovered_vnd": 0, "note": "", "together": len(found)},
            }
            for r in found
        ],
    )
    for recovery in list(db.session.identity_map.values()):
        if isinstance(recovery, Recovery) and recovery.id in ids:
            db.session.expire(recovery)
    db.session.flush()
    return len(found)


def _claim_allows_closing(recovery: Recovery) -> None:
    """:class:`RecoveryRefused` while the recovery's claim still waits to be paid again: closing says nothing is left
    to do, and the person is still owed their support (the claim is read under its lock: a claim moving now waits)."""
    state = db.session.scalar(select(Claim.state).where(Claim.id == recovery.claim_id).with_for_update())
    if state not in CLOSED_STATES:
        raise RecoveryRefused(
            f"Hồ sơ số {recovery.claim_id} vẫn đang chờ chi trả lại: chỉ đóng khoản thu hồi khi hồ sơ đã được chi trả "
            "lại hoặc đã kết thúc.",
            f"Claim {recovery.claim_id} still waits to be paid again: close the recovery once the claim has been paid "
            "again or has ended.",
        )


#: Who moves a recovery on: a supervisor whose area holds its claim, or an admin (the pages' rule, whatever the way in).
MOVERS = ("supervisor", "admin")


def _may_move(actor: User, recovery: Recovery) -> None:
    """:class:`RecoveryRefused` unless ``actor`` is an active supervisor of the recovery's province (or national) or
    an admin: a step recorded under a name is that person's decision, so the name must be one who may take it."""
    row = db.session.execute(
        select(District.code, District.province_code)
        .join(Claim, Claim.district_code == District.code)
        .where(Claim.id == recovery.claim_id)
    ).one()
    scope = Scope(employer_ids=[], district_codes=[row.code], province_codes=[row.province_code])
    if not (actor.active and actor.role in MOVERS and can_see(actor, scope)):
        raise RecoveryRefused(
            f"{actor.email} không được ghi nhận khoản thu hồi {recovery.id}: chỉ lãnh đạo phụ trách tỉnh của hồ sơ "
            "(hoặc quản trị viên) đang hoạt động.",
            f"{actor.email} may not record a step of recovery {recovery.id}: only an active supervisor of the claim's "
            "province (or an admin) may.",
        )


def _clean(note: str) -> str:
    """A note as it is kept: its whitespace made single spaces, at most 500 characters."""
    return " ".join(note.split())[:500]


def _same_step(event: RecoveryEvent, to_state: str, actor: User | None, note: str, amount_vnd: int | None) -> bool:
    """Whether ``event`` is what a move with these arguments records (a part recorded stays ``owed``; without an
    amount, a recovery records all that was still owed, so a part is another step)."""
    if to_state == "recovered" and amount_vnd is not None:
        same_move = event.to_state in ("recovered", "owed") and event.recovered_vnd == amount_vnd
    else:
        same_move = event.to_state == to_state
    return (
        same_move and event.actor_id == (actor.id if actor is not None else None) and (event.note or "") == _clean(note)
    )


@dataclass(frozen=True)
class Step:
    """One line of a recovery's history: its opening (``from_state`` None), a move, or a sum recovered."""

    at: datetime
    who: str | None
    from_state: str | None
    to_state: str
    recovered_vnd: int
    note: str | None


def history(recovery_id: int) -> list[Step]:
    """The recovery's events, oldest first, each with the e-mail of who made it (None: the system)."""
    rows = db.session.execute(
        select(
            RecoveryEvent.created_at,
            User.email,
            RecoveryEvent.from_state,
            RecoveryEvent.to_state,
            RecoveryEvent.recovered_vnd,
            RecoveryEvent.note,
        )
        .outerjoin(User, User.id == RecoveryEvent.actor_id)
        .where(RecoveryEvent.recovery_id == recovery_id)
        .order_by(RecoveryEvent.id)
    ).all()
    return [Step(*row) for row in rows]


__all__ = [
    "LABELS",
    "NEXT",
    "ChangedSince",
    "Moved",
    "RecoveryRefused",
    "RecoveryRow",
    "Step",
    "history",
    "in_area",
    "last_event_id",
    "move",
    "one",
    "recoveries",
    "step_event_id",
    "totals",
]
