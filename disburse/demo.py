"""``disburse up --demo``: a province-sized demo, ready in seconds.

On an empty registry: a demo programme ``DEMO116`` (NQ116's parameters and tiers, every date moved so that the
programme's "today" is the day the Form 01 lists go out, inside the employers' review window), about 200
employers and 20,000 employees of Hà Nội seeded through the registry importer with the same calendar shift, the
Form 01 lists, and one demo user per role. When the registry already holds data, nothing changes and only the
log-ins are returned. The caller (``disburse up``) prints the returned lines.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from disburse.claims.lists import build_lists
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import AmountTier, Program
from disburse.registry.models import Employer
from disburse.registry.seeding.calendar import shift_date, shift_month
from disburse.registry.seeding.files import write_csvs

DEMO_PROGRAM = "DEMO116"
DEMO_EMPLOYERS = 200
DEMO_EMPLOYEES = 20_000
DEMO_SEED = 116
DEMO_PROVINCE = "01"  # Hà Nội
DEMO_DISTRICT = "017"  # Đông Anh, home of the 2,682-employee unit

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
    """20000 → '20.000' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


class DemoError(RuntimeError):
    """The demo could not be seeded (the message says why, in Vietnamese and English)."""


def create_demo_program(today: date) -> tuple[Program, int]:
    """DEMO116: NQ116 with every date moved so that ``today`` is its list date (the lists have just been sent and
    the employers' review window is open). Returns the program and the shift in days. Flushes."""
    source = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    if source is None:
        raise DemoError(
            "Không có chương trình NQ116 (hãy chạy `disburse db upgrade`). / "
            "The built-in NQ116 program is missing (run `disburse db upgrade`)."
        )
    shift = (today - source.list_deadline).days
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


def ensure_demo() -> list[str]:
    """Seed the demo when the registry is empty; return the lines to print (the demo log-ins)."""
    return seed_demo(employers=DEMO_EMPLOYERS, employees=DEMO_EMPLOYEES)


def seed_demo(*, employers: int, employees: int, seed: int = DEMO_SEED, commit: bool = True) -> list[str]:
    """:func:`ensure_demo` with the size as a parameter (the tests seed a small demo). Commits once at the end
    (unless ``commit`` is false: the caller then owns the transaction)."""
    if db.session.scalar(select(Employer.id).limit(1)) is not None:
        return login_lines()
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
        lines.extend(_build_lists(program))
        _create_users(files.big_unit_code, _caseworker_district(files.employers_by_district))
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except BaseException:
        db.session.rollback()
        raise
    return [*lines, *login_lines()]


def _build_lists(program: Program) -> list[str]:
    result = build_lists(program)
    return [
        f"Đã lập danh sách Mẫu số 01: {_vi(result.claims_created)} người tại {_vi(result.employers_listed)} đơn vị; "
        f"đơn vị xác nhận trước ngày {result.review_due_on:%d/%m/%Y}. / "
        f"Form 01 lists: {result.claims_created:,} people at {result.employers_listed:,} units; "
        f"employers confirm by {result.review_due_on:%d/%m/%Y}."
    ]


def _caseworker_district(employers_by_district: dict[str, int]) -> str:
    if DEMO_DISTRICT in employers_by_district:
        return DEMO_DISTRICT
    return max(sorted(employers_by_district), key=lambda d: employers_by_district[d], default=DEMO_DISTRICT)


def _create_users(big_unit_code: str | None, district: str) -> None:
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
