"""Plain ``create_<thing>(**overrides)`` factories. Each flushes, so ids exist; the test transaction rolls back.

A claim or a payment in any state is made the way the product makes it: created in its initial state with its
'create' event, then moved through :mod:`disburse.claims.service` / :mod:`disburse.payments.service` along the
shortest path of the state machine, so that every factory-made record has the history a real one would have.
"""

from __future__ import annotations

import itertools
from collections import deque
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from disburse.auth.models import User
from disburse.auth.service import create_user as create_user_with_scope
from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.claims.states import NEEDS_REASON as CLAIM_NEEDS_REASON
from disburse.claims.states import TRANSITIONS as CLAIM_TRANSITIONS
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.payments import service as payments
from disburse.payments.models import Payment, PaymentEvent
from disburse.payments.states import TRANSITIONS as PAYMENT_TRANSITIONS
from disburse.payments.states import PaymentState
from disburse.programs.models import AmountTier, Program
from disburse.programs.rules import ProgramRules, amount_for
from disburse.registry.models import Employee, Employer, SalaryFund

_counter = itertools.count(1)


#: A day inside NQ116's payment period (test programmes copy its calendar), for tests that pay: the real clock is
#: years past the programme's last payable day.
PAYING_DAY = "2021-11-15"


def nq116() -> Program:
    program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    assert program is not None, "migration 0002 inserts the NQ116 program"
    return program


def create_employer(**overrides: Any) -> Employer:
    n = next(_counter)
    values: dict[str, Any] = {
        "unit_code": f"TA{n:07d}",
        "name": f"Công ty TNHH Thử nghiệm {n}",
        "tax_code": f"01{n:08d}",
        "sector": "enterprise",
        "district_code": "017",  # Đông Anh, Hà Nội
        "address": "Số 1 Đường Thử nghiệm",
        "ui_joined_on": date(2015, 1, 1),
    }
    values.update(overrides)
    employer = Employer(**values)
    db.session.add(employer)
    db.session.flush()
    return employer


def create_employee(**overrides: Any) -> Employee:
    n = next(_counter)
    values: dict[str, Any] = {
        "si_code": f"01{n:08d}",
        "national_id": f"001{n:09d}",
        "full_name": f"Nguyễn Văn Thử {n}",
        "date_of_birth": date(1990, 1, 1),
        "gender": "male",
        "phone": "0912345678",
        "district_code": "017",
        "ui_status": "participating",
        "unused_months": 24,
        "pension_decision": False,
    }
    values.update(overrides)
    if values["ui_status"] == "participating" and "employer_id" not in values and "employer" not in values:
        values["employer_id"] = create_employer().id
    employee = Employee(**values)
    db.session.add(employee)
    db.session.flush()
    return employee


def create_salary_fund(employer: Employer, month: date, fund_vnd: int, participants: int = 10) -> SalaryFund:
    row = SalaryFund(employer_id=employer.id, month=month, ui_salary_fund_vnd=fund_vnd, ui_participants=participants)
    db.session.add(row)
    db.session.flush()
    return row


def create_program(**overrides: Any) -> Program:
    """A program with NQ116's calendar and tiers under a new code; override any column."""
    base = nq116()
    columns = {
        c.key: getattr(base, c.key)
        for c in Program.__table__.columns
        if c.key not in ("id", "created_at", "updated_at")
    }
    n = next(_counter)
    columns.update(code=f"T{n:05d}", name_vi=f"Chương trình thử {n}", name_en=f"Test program {n}")
    columns.update(overrides)
    program = Program(**columns)
    program.tiers = [AmountTier(min_months=t.min_months, amount_vnd=t.amount_vnd) for t in base.tiers]
    db.session.add(program)
    db.session.flush()
    return program


def create_user(role: str = "caseworker", **overrides: Any) -> User:
    """A user of ``role`` with the scope the role needs (caseworker: Đông Anh; employer: a new unit)."""
    n = next(_counter)
    scope: dict[str, Any] = {}
    if role == "caseworker":
        scope["district"] = "017"
    elif role == "employer" and "employer_unit" not in overrides:
        scope["employer_unit"] = create_employer().unit_code
    scope.update(overrides)
    email = scope.pop("email", f"{role}{n}@bhxh.example.vn")
    return create_user_with_scope(email, role, **scope)


def _path(transitions: dict[tuple[Any, Any], Any], start: Any, goal: Any) -> list[Any]:
    """The actions of a shortest path from ``start`` to ``goal`` in a state machine (breadth-first)."""
    queue: deque[tuple[Any, list[Any]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, actions = queue.popleft()
        if state == goal:
            return actions
        for (from_state, action), to_state in transitions.items():
            if from_state == state and to_state not in seen:
                seen.add(to_state)
                queue.append((to_state, [*actions, action]))
    raise ValueError(f"no path from {start} to {goal}")


def create_claim(state: ClaimState | str = ClaimState.LISTED, **overrides: Any) -> Claim:
    """A claim of NQ116 (track A; B for ``applied`` or ``track="B"``) moved to ``state`` through the service, with
    its events.

    Without ``employee``/``employee_id``, a new participating employee (and employer) is made for it."""
    state = ClaimState(state)
    program = overrides.pop("program", None) or nq116()
    employee = overrides.pop("employee", None)
    if employee is None and "employee_id" not in overrides:
        employee = create_employee()
    if employee is not None:
        overrides.setdefault("employee_id", employee.id)
        overrides.setdefault("employer_id", employee.employer_id)
        overrides.setdefault("district_code", employee.district_code)
        overrides.setdefault("unused_months", employee.unused_months)
    track = overrides.setdefault("track", "B" if state is ClaimState.APPLIED else "A")
    values: dict[str, Any] = {
        "program_id": program.id,
        "track": track,
        "support_group": track,
        "reasons": [],
        "bank_code": "VCB",
        "bank_account": "0011004455667",
    }
    values.update(overrides)
    # The tier amount of the months, as the lists build and the forms fix it (verification checks it).
    values.setdefault("amount_vnd", amount_for(ProgramRules.from_program(program), values.get("unused_months", 24)))
    claim = claims.create(**values)  # in its initial state (listed for track A, applied for B), with its event
    for action in _path(CLAIM_TRANSITIONS, ClaimState(claim.state), state):
        reason = "Không đủ điều kiện (thử nghiệm)" if action in CLAIM_NEEDS_REASON else None
        claims.transition(claim, action, reason=reason)
    db.session.refresh(claim)
    return claim


#: Refusal reasons only a stopped person's (group B) claim can be refused for (review.refusal_applies).
GROUP_B_REFUSALS = ("stopped_outside_window", "pension_decision", "no_reserved_period")


def create_claim_refusable_for(code: str, employer: Employer, **person: Any) -> Claim:
    """A claim in review at ``employer``'s district that the refusal ``code`` can be true of: a stopped person's Form
    04 (group B, track B; received after NQ116's deadline of 20/12/2021 for ``applied_after_deadline``), otherwise
    a participating person on the unit's list (group A). ``person``: the employee's own values."""
    district = employer.district_code
    if code in (*GROUP_B_REFUSALS, "applied_after_deadline"):
        person = {"ui_status": "stopped", "ui_stopped_on": date(2021, 6, 30), **person}
        employee = create_employee(employer_id=employer.id, district_code=district, **person)
        applied_on = date(2021, 12, 21) if code == "applied_after_deadline" else date(2021, 11, 2)
        return create_claim("needs_review", employee=employee, track="B", support_group="B", applied_on=applied_on)
    employee = create_employee(employer_id=employer.id, district_code=district, **person)
    return create_claim("needs_review", employee=employee)


def create_payment(
    claim: Claim | None = None, state: PaymentState | str = PaymentState.QUEUED, **overrides: Any
) -> Payment:
    """A bank payment for ``claim`` (default: a new claim in payment_pending), created ``queued`` with the event a
    batch writes, then moved to ``state`` through the service."""
    state = PaymentState(state)
    claim = claim or create_claim(ClaimState.PAYMENT_PENDING)
    n = next(_counter)
    attempt = overrides.pop("attempt", 1)
    values: dict[str, Any] = {
        "claim_id": claim.id,
        "attempt": attempt,
        "amount_vnd": claim.amount_vnd,
        "provider": "sandbox",
        "provider_reference": f"TEST-{claim.id}-{attempt}-{n}",
        "state": PaymentState.QUEUED.value,
        "bank_code": claim.bank_code,
        "bank_account": claim.bank_account,
    }
    values.update(overrides)
    payment = Payment(**values)
    db.session.add(payment)
    db.session.flush()
    # The 'create' event a batch writes for each payment it makes (payments.service._BATCH_PAYMENTS): the system,
    # nothing to queued, the batch in its data (this payment has none unless given one).
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            actor_id=None,
            from_state=None,
            to_state=PaymentState.QUEUED.value,
            data={"batch_id": payment.batch_id},
        )
    )
    db.session.flush()
    for action in _path(PAYMENT_TRANSITIONS, PaymentState.QUEUED, state):
        code = "AC04" if action in payments.NEEDS_CODE else None
        payments.transition(payment, action, reason=code)
    db.session.refresh(payment)
    return payment


def create_duplicate_group(
    state: ClaimState | str = ClaimState.NEEDS_REVIEW, *, districts: tuple[str, ...] = ("017", "017"), **overrides: Any
) -> list[Claim]:
    """Claims of one person under several SI codes (one per district given, each at its own unit): the same national
    ID, the employees flagged ``possible_duplicate`` and the claims carrying that reason, all in ``state``."""
    n = next(_counter)
    national_id = f"079{n:09d}"
    group = []
    for district in districts:
        employer = create_employer(district_code=district)
        employee = create_employee(
            national_id=national_id, employer_id=employer.id, district_code=district, possible_duplicate=True
        )
        values = {"reasons": ["possible_duplicate"], **overrides}
        group.append(create_claim(state, employee=employee, **values))
    return group


_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
_MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Lan", "Linh", "Nam", "Phúc", "Quân", "Thảo", "Tùng", "Yến")


def create_person(**overrides: Any) -> Employee:
    """An employee with a name and a date of birth of their own. (``create_employee`` gives everyone the same
    birthday and names one digit apart, which verification rightly takes for near-duplicates.)"""
    n = next(_counter)
    overrides.setdefault(
        "full_name", f"{_FAMILY[n % len(_FAMILY)]} {_MIDDLE[n // 10 % len(_MIDDLE)]} {_GIVEN[n // 80 % len(_GIVEN)]}"
    )
    overrides.setdefault("date_of_birth", date(1960, 1, 1) + timedelta(days=n))
    return create_employee(**overrides)


def create_cash_payment(state: PaymentState | str = PaymentState.SENT, **claim_overrides: Any) -> Payment:
    """A claim paid in cash at the office, its cash batch made and handed to the offices as the sender does: the
    payment ``sent`` (waiting at the counter for the person and a receipt), the claim ``payment_pending``."""
    from disburse.payments.cash import CashProvider

    values: dict[str, Any] = {"payout": "cash", "bank_code": None, "bank_account": None, **claim_overrides}
    claim = create_claim(ClaimState.APPROVED, **values)
    program = db.session.get(Program, claim.program_id)
    assert program is not None
    made = payments.create_batch(program, "cash", "cash", today=program.last_payable_day)
    assert made is not None
    batch = payments.get_batch_for_update(made.id)
    assert batch is not None and payments.mark_batch_sent(batch)
    CashProvider().send(batch.reference or "", payments.batch_orders(batch.id))
    payment = payments.live_payment_for_claim(claim.id)
    assert payment is not None and payment.state == PaymentState(state)
    return payment


def create_offer(claim: Claim | int, bank_code: str = "BIDV", bank_account: str = "21510001234567") -> Any:
    """A person's offer of bank details on ``claim`` (waiting for them), as the public page leaves it: an
    ``offer_details`` note by no one, the details in its data."""
    from disburse.claims.states import ClaimNote

    data = {"by": "person", "bank_code": bank_code, "bank_account": bank_account, "phone": None}
    return claims.note(claim, ClaimNote.OFFER_DETAILS, None, data=data)
