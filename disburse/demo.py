"""``disburse up --demo``: a province-sized demo, ready in seconds, that then moves by itself.

On an empty registry: a demo programme ``DEMO116`` (NQ116's parameters and tiers, every date moved by whole weeks so
that its list deadline is today or within the week, each deadline on NQ116's weekday), about 200 employers and
20,000 employees of Hà Nội seeded through the registry importer with the same calendar shift, and one demo user per
role. Then the programme's first week, through the services a real one goes through:

- the Form 01 lists went out a week ago (:func:`listing_date`), so the employers' review window closed yesterday;
- most units returned Form 02 inside the window (:func:`disburse.claims.employer_forms.confirm`, one call per unit,
  the demo employer user's unit under that user's name): bank details as the registry has them (cash at the office
  for people without), and a few people marked "Không nhận hỗ trợ" (declined);
- the other units did not answer: the employer-overdue sweep (the beat task's own chunk function, run once here
  rather than at the next quarter hour) moves their claims to ``employer_overdue``.

Both hand their claims to the verification workers after the commit, so once ``disburse up`` starts its worker the
claims are verified (most approved; the overdue ones, possible duplicates and zero-month cases to the caseworker's
review queue), beat's ``payments.batch`` (every minute) sends the approved ones to the sandbox bank, which settles
them after ``DISBURSE_SANDBOX_DELAY_S`` with ``DISBURSE_SANDBOX_FAILURE_RATE`` failures and calls back: the home
page's paid percentage climbs within about two minutes. When the registry already holds data, nothing changes and
only the log-ins are returned. The caller (``disburse up``) prints the returned lines.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from disburse.auth.models import User
from disburse.bulk import analyze_if_stale, no_jit, session_connection
from disburse.claims.lists import build_lists
from disburse.extensions import db
from disburse.formatting import number
from disburse.programs.calendar import add_working_days, is_working_day, programme_today
from disburse.programs.models import AmountTier, Program
from disburse.registry.models import Employer
from disburse.registry.seeding.calendar import shift_date, shift_month
from disburse.registry.seeding.common import generator
from disburse.registry.seeding.files import write_csvs
from disburse.reports.backlog import refresh as refresh_backlog
from disburse.verification.sweepers import last_base_breached, mark_overdue_employers

DEMO_PROGRAM = "DEMO116"
DEMO_EMPLOYERS = 200
DEMO_EMPLOYEES = 20_000
DEMO_SEED = 116
DEMO_PROVINCE = "01"  # Hà Nội
DEMO_DISTRICT = "017"  # Đông Anh, home of the 2,682-employee unit
#: Share of the listed units that let the review deadline pass without a Form 02 (at least one unit, one of them in
#: the demo caseworker's district, so that the caseworker's review queue holds "not confirmed by the employer").
DEMO_UNANSWERED_SHARE = 0.08
#: Share of the people on a returned Form 02 marked "Không nhận hỗ trợ" (declines support).
DEMO_DECLINE_SHARE = 0.005
#: Seconds between beat's payment batches under ``up --demo`` (``DISBURSE_PAYMENT_BATCH_EVERY_S``; normally 60).
DEMO_PAYMENT_BATCH_EVERY_S = 15
#: Seconds between beat's backlog figures under ``up --demo`` (``DISBURSE_BACKLOG_EVERY_S``; normally 300).
DEMO_BACKLOG_EVERY_S = 60

#: Columns of a program that are not part of its calendar or rules.
_NOT_COPIED = {"id", "code", "name_vi", "name_en", "created_at", "updated_at"}
#: Calendar columns that name a month (first day), moved month-wise.
_MONTH_COLUMNS = {"reduction_start_month"}


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    role: str
    label_vi: str
    label_en: str


#: Fixed, published demo passwords: this data is synthetic and the demo runs on a developer's machine.
DEMO_USERS = (
    DemoUser("admin@demo.disburse.vn", "demo-admin-116", "admin", "quản trị", "admin"),
    DemoUser(
        "giamsat.quocgia@demo.disburse.vn",
        "demo-quocgia-116",
        "supervisor",
        "giám sát toàn quốc",
        "national supervisor",
    ),
    DemoUser("giamsat.hanoi@demo.disburse.vn", "demo-hanoi-116", "supervisor", "giám sát Hà Nội", "Hà Nội supervisor"),
    DemoUser("canbo@demo.disburse.vn", "demo-canbo-116", "caseworker", "cán bộ nghiệp vụ", "caseworker"),
    DemoUser("donvi@demo.disburse.vn", "demo-donvi-116", "employer", "đơn vị sử dụng lao động", "employer"),
)


def _vi(n: int) -> str:
    return number(n, locale="vi")


class DemoError(RuntimeError):
    """The demo could not be seeded (the message says why, in Vietnamese and English)."""


def create_demo_program(today: date) -> tuple[Program, int]:
    """DEMO116: NQ116 with every date moved by whole weeks so that its list deadline is ``today`` or within the
    next six days (the lists have just been sent): its deadlines fall on the weekdays NQ116's did, never on a
    Saturday, unless that day is a public holiday: then on the next working day. Returns the program and the shift
    in days. Flushes."""
    source = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    if source is None:
        raise DemoError(
            "Không có chương trình NQ116 (hãy chạy `disburse db upgrade`). / "
            "The built-in NQ116 program is missing (run `disburse db upgrade`)."
        )
    shift = -((source.list_deadline - today).days // 7) * 7
    existing = db.session.scalar(select(Program).where(Program.code == DEMO_PROGRAM))
    if existing is not None:
        return existing, (existing.list_deadline - source.list_deadline).days
    values: dict[str, Any] = {}
    for column in Program.__table__.columns:
        if column.key in _NOT_COPIED:
            continue
        value = getattr(source, column.key)
        if isinstance(value, date) and column.key in _MONTH_COLUMNS:
            value = shift_month(value, shift)
        elif isinstance(value, date):
            value = shift_date(value, shift)
            if column.key.endswith("_deadline"):
                # A time limit ending on a day off ends on the next working day (Civil Code 2015, art. 148): the
                # whole weeks keep the weekday, not the holidays (Tết moves every year).
                value = add_working_days(value - timedelta(days=1), 1)
        elif isinstance(value, list):
            value = list(value)
        values[column.key] = value
    program = Program(
        code=DEMO_PROGRAM,
        name_vi=f"[Demo] {source.name_vi}"[:200],
        name_en=f"[Demo] {source.name_en}"[:200],
        **values,
    )
    program.tiers = [AmountTier(min_months=t.min_months, amount_vnd=t.amount_vnd) for t in source.tiers]
    db.session.add(program)
    db.session.flush()
    return program, shift


def _in_embedded_server() -> bool:
    """Whether the database is the embedded server's (its data under ``instance/``), not one ``DATABASE_URL`` names
    (the runtime exports the embedded server's URL as ``DATABASE_URL``)."""
    import os

    from disburse.runtime import is_embedded

    return is_embedded(os.environ.get("DATABASE_URL", ""))


def ensure_demo(*, employers: int = DEMO_EMPLOYERS, employees: int = DEMO_EMPLOYEES) -> list[str]:
    """Seed the demo when the registry is empty; return the lines to print (the demo log-ins)."""
    return seed_demo(employers=employers, employees=employees)


def seed_demo(*, employers: int, employees: int, seed: int = DEMO_SEED, commit: bool = True) -> list[str]:
    """:func:`ensure_demo` with the size as a parameter (the tests seed a small demo). Commits once at the end
    (unless ``commit`` is false: the caller then owns the transaction). A database that holds the demo already is
    used as it is (the size asked is not applied); one whose registry holds other data is refused (:class:`DemoError`):
    the demo's program would be missing from every page."""
    if db.session.scalar(select(Employer.id).limit(1)) is not None:
        demo = db.session.scalar(select(Program).where(Program.code == DEMO_PROGRAM))
        if demo is None:
            raise DemoError(
                "Cơ sở dữ liệu này đã có dữ liệu đăng ký không phải của demo, nên demo không được tạo. Chạy "
                "`disburse up` (không có --demo) để dùng dữ liệu đó, hoặc tạo demo trong một cơ sở dữ liệu khác: "
                "một thư mục dữ liệu khác (DISBURSE_INSTANCE=instance-demo disburse up --demo) hoặc một DATABASE_URL "
                "khác. / This database already holds registry data that is not the demo's, so the demo is not "
                "seeded. Run `disburse up` (without --demo) to use that data, or seed the demo in another database: "
                "another data folder (DISBURSE_INSTANCE=instance-demo disburse up --demo) or another DATABASE_URL."
            )
        deadline = f"{demo.list_deadline:%d/%m/%Y}"
        if _in_embedded_server():
            again_vi, again_en = "xoá thư mục dữ liệu (instance/)", "delete its data folder (instance/)"
        else:  # deleting instance/ does nothing to a database DATABASE_URL names
            name = db.engine.url.database or "disburse"
            again_vi = (
                f"xoá cơ sở dữ liệu của DATABASE_URL (dropdb {name}), hoặc đặt DATABASE_URL một cơ sở dữ liệu khác"
            )
            again_en = f"drop the database DATABASE_URL names (dropdb {name}), or set DATABASE_URL to another"
        return [
            f"Demo {DEMO_PROGRAM} đã có sẵn (hạn danh sách {deadline}): dùng lại như đang có; để tạo lại từ đầu, dừng "
            f"disburse và {again_vi}. / "
            f"The {DEMO_PROGRAM} demo is already here (list deadline {deadline}): used as it is; to start it again, "
            f"stop disburse and {again_en}.",
            *login_lines(),
        ]
    from disburse.registry.seed_cli import import_seed_files

    lines: list[str] = []
    try:
        today = programme_today()
        program, shift = create_demo_program(today)
        with tempfile.TemporaryDirectory(prefix="disburse-demo-") as tmp:
            files = write_csvs(
                Path(tmp),
                employers=employers,
                employees=employees,
                seed=seed,
                provinces=(DEMO_PROVINCE,),
                shift_days=shift,
                funds_through=today,
            )
            results = import_seed_files(files, Path(tmp), commit_each=False)
            rejected = {kind: r.rejected for kind, r in results.items()}
            if any(rejected.values()):
                errors = "\n".join(p.read_text(encoding="utf-8")[:2000] for p in sorted(Path(tmp).glob("*.errors.csv")))
                raise DemoError(f"Dữ liệu demo bị từ chối / demo rows were rejected: {rejected}\n{errors}")
        lines.append(
            f"Demo: chương trình {DEMO_PROGRAM}, {_vi(employers)} đơn vị và {_vi(employees)} người lao động "
            "tại Hà Nội. / "
            f"Demo: program {DEMO_PROGRAM}, {employers:,} employers and {employees:,} employees in Hà Nội."
        )
        district = _caseworker_district(files.employers_by_district)
        listed_on = listing_date(program, today)
        employer_user = _create_users(files.big_unit_code, district)  # before the lists: its user is told of its list
        lines.extend(_build_lists(program, listed_on))
        answers = employers_answer(program, listed_on, today, seed=seed, district=district, user=employer_user)
        lines.extend(answers.lines())
        refresh_backlog(program.id, today)  # the backlog pages have figures from the start, then beat's every minute
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except BaseException:
        db.session.rollback()
        raise
    return [*lines, *login_lines()]


def listing_date(program: Program, today: date) -> date:
    """The day the demo's Form 01 lists went out: the latest working day whose review deadline
    (``employer_review_wd`` working days later) is already behind ``today``, so that the units that did not answer
    are overdue today. An office sends lists on a working day, not on the Sunday a Saturday's count lands on."""
    day = last_base_breached(today, program.employer_review_wd)
    while not is_working_day(day):
        day -= timedelta(days=1)  # an earlier day's deadline is no later: still behind today
    return day


def _build_lists(program: Program, listed_on: date) -> list[str]:
    result = build_lists(program, today=listed_on)
    return [
        f"Đã lập danh sách Mẫu số 01 ngày {listed_on:%d/%m/%Y}: {_vi(result.claims_created)} người tại "
        f"{_vi(result.employers_listed)} đơn vị; hạn đơn vị xác nhận (Mẫu số 02) {result.review_due_on:%d/%m/%Y}. / "
        f"Form 01 lists sent on {listed_on:%d/%m/%Y}: {result.claims_created:,} people at "
        f"{result.employers_listed:,} units; employers confirm (Form 02) by {result.review_due_on:%d/%m/%Y}."
    ]


# ------------------------------------------------------------------------------------ the employers' answers


@dataclass
class Answers:
    """What the demo's employers did with their Form 01 lists."""

    units_confirmed: int = 0
    confirmed: int = 0
    cash: int = 0
    declined: int = 0
    units_overdue: int = 0
    overdue: int = 0
    #: Rows the Form 02 service refused (none: the demo's rows are what the registry holds).
    refused: int = 0

    def lines(self) -> list[str]:
        return [
            f"Mẫu số 02: {_vi(self.units_confirmed)} đơn vị đã xác nhận {_vi(self.confirmed)} người "
            f"({_vi(self.cash)} nhận tiền mặt), {_vi(self.declined)} người không nhận hỗ trợ; "
            f"{_vi(self.units_overdue)} đơn vị quá hạn chưa xác nhận ({_vi(self.overdue)} người, cán bộ nghiệp vụ "
            "xác minh). / "
            f"Form 02: {self.units_confirmed:,} units confirmed {self.confirmed:,} people ({self.cash:,} paid in "
            f"cash), {self.declined:,} declined support; {self.units_overdue:,} units let the deadline pass "
            f"({self.overdue:,} people, for a caseworker to check).",
            "Xác minh và chi trả chạy nền: tỷ lệ đã chi trả trên trang chủ tăng dần trong khoảng 2 phút. / "
            "Verification and payments run in the background: the home page's paid percentage climbs within "
            "about 2 minutes.",
        ]


@dataclass
class _Unit:
    code: str
    district: str
    rows: list[dict[str, Any]] = field(default_factory=list)


_LISTED_PEOPLE = text(
    """SELECT r.unit_code, r.district_code, e.si_code, c.bank_code, c.bank_account
       FROM claims c JOIN employees e ON e.id = c.employee_id JOIN employers r ON r.id = c.employer_id
       WHERE c.program_id = :program_id AND c.state = 'listed'
       ORDER BY r.unit_code, c.id"""
)


def _listed_units(program: Program) -> list[_Unit]:
    """Each listed unit with its Form 02 rows as the employer would fill them in: the bank details it knows."""
    units: dict[str, _Unit] = {}
    for row in db.session.execute(_LISTED_PEOPLE, {"program_id": program.id}):
        unit = units.setdefault(row.unit_code, _Unit(row.unit_code, row.district_code))
        unit.rows.append({"si_code": row.si_code, "bank_code": row.bank_code, "bank_account": row.bank_account})
    return list(units.values())


def _unanswered(units: list[_Unit], *, seed: int, district: str, keep: str | None) -> set[str]:
    """The units that let the deadline pass: one in ``district`` first, then others at random; never ``keep`` (the
    demo employer user's unit, which answers so that its user sees payments) and never every unit."""
    candidates = [u for u in units if u.code != keep]
    wanted = min(len(candidates), len(units) - 1, max(1, round(DEMO_UNANSWERED_SHARE * len(units))))
    if wanted <= 0:
        return set()
    rng = generator(seed, "demo-unanswered")
    local = [u for u in candidates if u.district == district]
    chosen = [rng.choice(local)] if local else []
    others = [u for u in candidates if u not in chosen]
    chosen += rng.sample(others, wanted - len(chosen))
    return {u.code for u in chosen}


def employers_answer(
    program: Program, listed_on: date, today: date, *, seed: int, district: str, user: User | None = None
) -> Answers:
    """Form 02 from most units (dated inside their review window), a few people declining, the others overdue by
    the sweeper. Everything through the services; their verification is asked for after the commit. Flushes."""
    from disburse.claims.employer_forms import confirm

    answers = Answers()
    _quick_forms()
    units = _listed_units(program)
    keep = None
    if user is not None and user.employer_id is not None:
        keep = db.session.scalar(select(Employer.unit_code).where(Employer.id == user.employer_id))
    unanswered = _unanswered(units, seed=seed, district=district, keep=keep)
    rng = generator(seed, "demo-form-02")
    for unit in units:
        if unit.code in unanswered:
            continue
        for row in unit.rows:
            row["decline"] = "x" if rng.random() < DEMO_DECLINE_SHARE else ""
        received_on = add_working_days(listed_on, rng.randrange(program.employer_review_wd + 1))
        result = confirm(program, unit.code, unit.rows, actor=user if unit.code == keep else None, today=received_on)
        answers.units_confirmed += 1
        for row, outcome in zip(unit.rows, (r.outcome for r in result.rows), strict=True):
            answers.confirmed += outcome == "confirmed"
            answers.cash += outcome == "confirmed" and not row["bank_code"]
            answers.declined += outcome == "declined"
            answers.refused += outcome not in ("confirmed", "declined")
    answers.units_overdue = len(unanswered)
    answers.overdue = _sweep_overdue(program, today)
    return answers


def _quick_forms() -> None:
    """170 Forms 02 in a row, each a few statements over the claims the lists build has just written: with the
    claims' statistics brought up to date and PostgreSQL's JIT off for the rest of the seed's transaction, they take
    about a third of the time (measured on the 20,000-employee demo: 12.7 s → 4.7 s on a busy 2-core machine)."""
    analyze_if_stale(session_connection(), "claims")
    no_jit()


def _sweep_overdue(program: Program, today: date) -> int:
    """The employer-overdue sweep over the program, as beat's task runs it (chunk by chunk), in the caller's
    transaction."""
    moved, cursor = mark_overdue_employers(program, today)
    while cursor is not None:
        more, cursor = mark_overdue_employers(program, today, after=cursor)
        moved += more
    return moved


def _caseworker_district(employers_by_district: dict[str, int]) -> str:
    if DEMO_DISTRICT in employers_by_district:
        return DEMO_DISTRICT
    return max(sorted(employers_by_district), key=lambda d: employers_by_district[d], default=DEMO_DISTRICT)


def _create_users(big_unit_code: str | None, district: str) -> User | None:
    """The demo users (those missing); returns the demo employer user."""
    from disburse.auth.service import create_user, get_user_by_email

    if big_unit_code is None:  # a demo smaller than one unit of 2,682: the first unit stands in
        big_unit_code = db.session.scalar(select(Employer.unit_code).order_by(Employer.id).limit(1))
    scopes: dict[str, dict[str, str | None]] = {
        "admin@demo.disburse.vn": {},
        "giamsat.quocgia@demo.disburse.vn": {},
        "giamsat.hanoi@demo.disburse.vn": {"province": DEMO_PROVINCE},
        "canbo@demo.disburse.vn": {"district": district},
        "donvi@demo.disburse.vn": {"employer_unit": big_unit_code},
    }
    for user in DEMO_USERS:
        if get_user_by_email(user.email) is None:
            scope = scopes[user.email]
            create_user(
                user.email,
                user.role,
                password=user.password,
                full_name=f"Demo – {user.label_vi}",
                district=scope.get("district"),
                province=scope.get("province"),
                employer_unit=scope.get("employer_unit"),
            )
    return get_user_by_email("donvi@demo.disburse.vn")


def login_lines() -> list[str]:
    """The demo log-ins that exist in the database, Vietnamese first."""
    from disburse.auth.service import get_user_by_email

    lines = ["", "Đăng nhập demo / Demo log-ins:"]
    for user in DEMO_USERS:
        found = get_user_by_email(user.email)
        if found is None:
            continue
        scope = ""
        if found.district_code:
            scope = f" (quận/huyện {found.district_code})"
        elif found.province_code:
            scope = f" (tỉnh/thành {found.province_code})"
        elif found.employer_id:
            unit = db.session.scalar(select(Employer.unit_code).where(Employer.id == found.employer_id))
            scope = f" (đơn vị {unit})"
        lines.append(f"  {user.label_vi} / {user.label_en}{scope}: {user.email}  mật khẩu / password: {user.password}")
    if len(lines) == 2:
        lines.append("  (chưa có tài khoản demo / no demo users)")
    return lines
