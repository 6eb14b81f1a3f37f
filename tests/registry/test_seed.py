"""The synthetic registry: deterministic, in the import columns, realistic enough to exercise every rule, and
imported without a single rejected row."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from disburse.extensions import db
from disburse.programs.models import SECTORS
from disburse.reference.models import Bank, District
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from disburse.registry.imports.salary_funds import SALARY_FUND_COLUMNS
from disburse.registry.models import Employee, Employer, SalaryFund
from disburse.registry.seeding import files as seed_files
from disburse.registry.seeding.employers import BIG_UNIT_SIZE
from disburse.registry.seeding.files import SeedFiles, write_csvs

SMALL = {"employers": 40, "employees": 5000}
TIERS = (0, 12, 60, 84, 108, 132)  # tier lower bounds of NQ116 (months)


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _tier(months: int) -> int:
    return sum(1 for lower in TIERS[1:] if months >= lower)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SeedFiles:
    return write_csvs(tmp_path_factory.mktemp("seed"), **SMALL)


def test_same_arguments_give_identical_bytes_and_another_seed_differs(small: SeedFiles, tmp_path: Path) -> None:
    again = write_csvs(tmp_path / "again", **SMALL)
    other = write_csvs(tmp_path / "other", seed=1, **SMALL)
    for name in ("employers", "employees", "salary_funds"):
        first = getattr(small, name).read_bytes()
        assert getattr(again, name).read_bytes() == first, name
        assert getattr(other, name).read_bytes() != first, name


def test_parallel_chunks_write_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks so that several processes really share the work.
    monkeypatch.setattr(seed_files, "EMPLOYEE_CHUNK", 700)
    one = write_csvs(tmp_path / "one", employers=30, employees=4000, workers=1)
    two = write_csvs(tmp_path / "two", employers=30, employees=4000, workers=2)
    assert one.employees.read_bytes() == two.employees.read_bytes()
    _, rows = _read(two.employees)
    assert len(rows) == 4000
    assert len({r["si_code"] for r in rows}) == 4000


def test_files_have_exactly_the_import_columns(small: SeedFiles) -> None:
    assert _read(small.employers)[0] == list(EMPLOYER_COLUMNS)
    assert _read(small.employees)[0] == list(EMPLOYEE_COLUMNS)
    assert _read(small.salary_funds)[0] == list(SALARY_FUND_COLUMNS)
    assert EMPLOYEE_COLUMNS == (
        "si_code",
        "national_id",
        "full_name",
        "date_of_birth",
        "gender",
        "phone",
        "province_code",
        "district_code",
        "address",
        "employer_unit_code",
        "ui_status",
        "ui_stopped_on",
        "unused_months",
        "pension_decision",
        "bank_code",
        "bank_account",
    )
    raw = small.employees.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")


def test_employees_cover_every_case_the_rules_distinguish(small: SeedFiles) -> None:
    _, rows = _read(small.employees)
    assert len(rows) == SMALL["employees"] == small.employee_count

    status = Counter(r["ui_status"] for r in rows)
    assert status["participating"] == small.participating
    assert status["stopped"] == small.stopped
    assert 0.85 <= status["participating"] / len(rows) <= 0.95

    participating = [r for r in rows if r["ui_status"] == "participating"]
    stopped = [r for r in rows if r["ui_status"] == "stopped"]
    assert all(r["employer_unit_code"] and not r["ui_stopped_on"] for r in participating)
    assert all(r["ui_stopped_on"] for r in stopped)
    assert any(not r["employer_unit_code"] for r in stopped) and any(r["employer_unit_code"] for r in stopped)
    window = (date(2020, 1, 1), date(2021, 9, 30))
    stops = [date.fromisoformat(r["ui_stopped_on"]) for r in stopped]
    inside = [d for d in stops if window[0] <= d <= window[1]]
    assert inside and len(inside) < len(stops)
    assert all(d <= window[1] for d in stops)  # status on the cut-off date: stopped means stopped by then
    assert {window[0], window[1], date(2019, 12, 31)} <= set(stops)  # the boundaries themselves

    months = [int(r["unused_months"]) for r in rows]
    assert set(Counter(_tier(m) for m in months if m > 0)) == set(range(6))
    assert 0 in months
    assert {11, 12, 59, 60, 83, 84, 107, 108, 131, 132} <= set(months)
    assert max(months) <= 153  # UI started in January 2009
    assert min(months) >= 0  # a repeated (possible-duplicate) young person once got -3 at national size
    for r, m in zip(rows, months, strict=True):
        born = date.fromisoformat(r["date_of_birth"])
        assert m <= (2021 - born.year - 18) * 12 + 12, r

    pensions = [r for r in rows if r["pension_decision"] == "yes"]
    assert pensions and all(r["ui_status"] == "stopped" for r in pensions)
    assert {r["pension_decision"] for r in rows} <= {"yes", "no"}

    no_bank = [r for r in rows if not r["bank_code"]]
    assert 0.10 <= len(no_bank) / len(rows) <= 0.20
    assert all(not r["bank_account"] for r in no_bank)
    assert all(r["bank_account"].isdigit() and 8 <= len(r["bank_account"]) <= 15 for r in rows if r["bank_code"])

    assert Counter(r["gender"] for r in rows).keys() <= {"male", "female", ""}
    assert all(r["phone"] == "" or (len(r["phone"]) == 10 and r["phone"].startswith("0")) for r in rows)


def test_identity_numbers_are_well_formed_and_unique_except_the_deliberate_duplicates(small: SeedFiles) -> None:
    _, rows = _read(small.employees)
    si_codes = [r["si_code"] for r in rows]
    assert all(len(s) == 10 and s.isdigit() for s in si_codes)
    assert len(set(si_codes)) == len(rows)

    by_nid: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_nid.setdefault(r["national_id"], []).append(r)
    duplicates = {nid: people for nid, people in by_nid.items() if len(people) > 1}
    extra = sum(len(people) - 1 for people in duplicates.values())
    assert 1 <= extra <= len(rows) * 0.005  # about 0.2%
    for people in duplicates.values():  # the same person under another SI code
        assert len({(p["full_name"], p["date_of_birth"]) for p in people}) == 1
        assert len({p["si_code"] for p in people}) == len(people)

    cutoff = date(2021, 9, 30)
    for r in rows:
        nid, born = r["national_id"], date.fromisoformat(r["date_of_birth"])
        assert len(nid) == 12 and nid.isdigit()
        # CCCD: province of birth (3), gender and century (1), year of birth (2), serial (6).
        assert 1 <= int(nid[:3]) <= 96
        assert nid[4:6] == f"{born.year % 100:02d}"
        century = 0 if born.year < 2000 else 2
        if r["gender"]:
            assert int(nid[3]) == century + (r["gender"] == "female")
        age = cutoff.year - born.year - ((cutoff.month, cutoff.day) < (born.month, born.day))
        assert 18 <= age <= 65
        surname, *rest = r["full_name"].split(" ")
        assert rest and surname[0].isupper()


def test_employers_sizes_sectors_and_the_2682_unit(small: SeedFiles) -> None:
    _, employers = _read(small.employers)
    _, employees = _read(small.employees)
    assert len(employers) == SMALL["employers"]
    assert len({e["unit_code"] for e in employers}) == len(employers)
    headcount = Counter(r["employer_unit_code"] for r in employees if r["ui_status"] == "participating")
    assert [u for u, n in headcount.items() if n == BIG_UNIT_SIZE] == [small.big_unit_code]
    big = next(e for e in employers if e["unit_code"] == small.big_unit_code)
    assert big["district_code"] == "017" and big["sector"] == "enterprise"
    sizes = sorted(headcount.values())
    assert sizes[0] < 10  # a few staff …
    assert sizes[-1] == BIG_UNIT_SIZE  # … to a few thousand
    assert set(headcount) == {e["unit_code"] for e in employers}  # every unit has someone
    for e in employers:
        tax = e["tax_code"]
        assert len(tax) == 10 and tax.isdigit()
        weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
        assert int(tax[9]) == 10 - sum(int(c) * w for c, w in zip(tax, weights, strict=False)) % 11
        assert e["province_code"] == "01" and "Hà Nội" in e["address"]
        assert "@" in e["email"] and e["phone"].startswith("024") and len(e["phone"]) == 11
        assert date(2009, 1, 1) <= date.fromisoformat(e["ui_joined_on"]) <= date(2021, 9, 30)


def test_every_sector_appears_at_a_realistic_share(tmp_path: Path) -> None:
    files = write_csvs(tmp_path, employers=3000, employees=20_000, seed=3)
    _, employers = _read(files.employers)
    sectors = Counter(e["sector"] for e in employers)
    assert set(sectors) == set(SECTORS)
    assert 0.8 <= sectors["enterprise"] / len(employers) <= 0.95
    assert files.employers_by_district and sum(files.employers_by_district.values()) == 3000


def test_salary_funds_follow_each_employers_head_count(small: SeedFiles) -> None:
    _, funds = _read(small.salary_funds)
    _, employees = _read(small.employees)
    headcount = Counter(r["employer_unit_code"] for r in employees if r["ui_status"] == "participating")
    months = sorted({f["month"] for f in funds})
    assert months == [f"2021-{m:02d}" for m in (10, 11, 12)] + [f"2022-{m:02d}" for m in range(1, 10)]
    assert len(funds) == small.salary_fund_count == SMALL["employers"] * 12
    for f in funds:
        participants, fund = int(f["ui_participants"]), int(f["ui_salary_fund_vnd"])
        expected = headcount[f["unit_code"]]
        assert abs(participants - expected) <= max(1, expected * 0.1)
        assert 4_000_000 * participants <= fund <= 40_000_000 * participants


def test_other_provinces_when_asked(tmp_path: Path) -> None:
    files = write_csvs(tmp_path, employers=60, employees=3000, provinces=("79", "74"), seed=5)
    _, employers = _read(files.employers)
    _, employees = _read(files.employees)
    assert {e["province_code"] for e in employers} == {"79", "74"}
    assert {r["province_code"] for r in employees} <= {"79", "74"}
    assert files.big_unit_code is not None  # not in Hà Nội, but still there
    assert all(r["si_code"][:2] in {"79", "74"} for r in employees)
    with pytest.raises(ValueError, match="unknown province"):
        write_csvs(tmp_path / "bad", employers=1, employees=1, provinces=("00",))


def test_shifted_calendar_moves_every_date(tmp_path: Path, small: SeedFiles) -> None:
    shifted = write_csvs(tmp_path, shift_days=365, **SMALL)
    _, before = _read(small.employees)
    _, after = _read(shifted.employees)
    for a, b in zip(before[:200], after[:200], strict=True):
        assert (date.fromisoformat(b["date_of_birth"]) - date.fromisoformat(a["date_of_birth"])).days == 365
        if a["ui_stopped_on"]:
            assert (date.fromisoformat(b["ui_stopped_on"]) - date.fromisoformat(a["ui_stopped_on"])).days == 365
    _, funds = _read(shifted.salary_funds)
    assert min(f["month"] for f in funds) == "2022-10" and max(f["month"] for f in funds) == "2023-09"


def test_reference_codes_exist_in_the_database(small: SeedFiles, db_session: Session) -> None:
    _, employers = _read(small.employers)
    _, employees = _read(small.employees)
    districts = set(db_session.scalars(select(District.code).where(District.province_code == "01")))
    banks = set(db_session.scalars(select(Bank.code)))
    assert {e["district_code"] for e in employers} <= districts
    assert {r["district_code"] for r in employees} <= districts
    assert len({r["district_code"] for r in employees}) == len(districts) == 30  # Hà Nội's 30 districts of 2021
    assert {r["bank_code"] for r in employees if r["bank_code"]} <= banks


def test_every_file_imports_without_a_rejected_row(small: SeedFiles, db_session: Session, tmp_path: Path) -> None:
    from disburse.registry.importer import import_file

    for kind, path in (
        ("employers", small.employers),
        ("employees", small.employees),
        ("salary_funds", small.salary_funds),
    ):
        result = import_file(kind, path, errors_out=tmp_path / f"{kind}.errors.csv")
        assert result.rejected == 0, (kind, (tmp_path / f"{kind}.errors.csv").read_text(encoding="utf-8")[:2000])
    assert db.session.scalar(select(func.count()).select_from(Employer)) == SMALL["employers"]
    assert db.session.scalar(select(func.count()).select_from(Employee)) == SMALL["employees"]
    assert db.session.scalar(select(func.count()).select_from(SalaryFund)) == SMALL["employers"] * 12
    duplicates = db.session.scalar(select(func.count()).select_from(Employee).where(Employee.possible_duplicate))
    assert duplicates and duplicates >= 2
    big = db.session.scalar(select(Employer).where(Employer.unit_code == small.big_unit_code))
    assert big is not None
    staff = select(func.count()).where(Employee.employer_id == big.id, Employee.ui_status == "participating")
    assert db.session.scalar(staff) == BIG_UNIT_SIZE


def test_seed_command_writes_imports_and_reimports_nothing_new(database_url: str, tmp_path: Path) -> None:
    """The real command in its own process and its own database: its commits are real ones."""
    import os
    import subprocess
    import sys

    import psycopg

    from disburse import runtime

    url = runtime.with_database(database_url, f"{runtime.database_name(database_url)}_seed_cli")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DISBURSE_ENV": "test"}
    disburse = [sys.executable, "-c", "from disburse.cli import main; main()"]

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        # Our own interpreter and command line, no outside input.
        return subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603

    seed = [*disburse, "seed", "--employers", "20", "--employees", "1500", "--seed", "7", "--out", str(tmp_path)]
    try:
        upgrade = run([*disburse, "db", "upgrade"])
        assert upgrade.returncode == 0, upgrade.stderr
        first = run(seed)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "1.500 người lao động" in first.stdout and "1,500 employees" in first.stdout
        assert "từ chối 0" in first.stdout and "0 rejected" in first.stdout
        assert (tmp_path / "employees.csv").exists()  # --out keeps the files
        with psycopg.connect(runtime.libpq_url(url)) as conn:
            counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in ("employers", "employees")]
            assert [c[0] for c in counts if c] == [20, 1500]
            dup = conn.execute("SELECT count(*) FROM employees WHERE possible_duplicate").fetchone()
            assert dup and dup[0] >= 2
            big = conn.execute(
                "SELECT count(*) FROM employees e JOIN employers r ON r.id = e.employer_id"
                " WHERE e.ui_status = 'participating' GROUP BY r.id ORDER BY 1 DESC LIMIT 1"
            ).fetchone()
            assert big and big[0] < BIG_UNIT_SIZE  # too few employees for the 2,682 unit

        # A registry that holds units is never seeded over by accident: seeded codes look like real ones.
        refused = run(seed)
        assert refused.returncode == 2 and "already holds 20 units and 1,500 employees" in refused.stderr
        assert "Cơ sở dữ liệu đã có 20 đơn vị, 1.500 người lao động" in refused.stderr
        again = run([*seed, "--into-existing"])
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 added, 0 updated, 1,500 unchanged" in again.stdout

    finally:
        runtime.drop_database(url)


def test_seed_command_refuses_an_unknown_province(app: Flask) -> None:
    from disburse.registry.seed_cli import seed_cmd

    result = app.test_cli_runner().invoke(seed_cmd, ["--employers", "1", "--employees", "1", "--provinces", "01,00"])
    assert result.exit_code == 2
    assert "unknown province code(s): 00" in result.output


@pytest.mark.parametrize(
    ("employers", "employees"), [(0, 0), (0, 50), (5, 0), (10, 5), (1, 3000), (2, BIG_UNIT_SIZE), (3, 2681)]
)
def test_edge_sizes_stay_consistent(tmp_path: Path, employers: int, employees: int) -> None:
    files = write_csvs(tmp_path, employers=employers, employees=employees)
    _, units = _read(files.employers)
    _, rows = _read(files.employees)
    assert len(units) == employers and len(rows) == employees
    codes = {u["unit_code"] for u in units}
    participating = [r for r in rows if r["ui_status"] == "participating"]
    assert len(participating) == files.participating
    assert all(r["employer_unit_code"] in codes for r in participating)
    headcount = Counter(r["employer_unit_code"] for r in participating)
    if employees >= BIG_UNIT_SIZE and employers:
        assert headcount[files.big_unit_code] == BIG_UNIT_SIZE
    else:
        assert files.big_unit_code is None


@pytest.mark.parametrize("today", ["2021-06-01", "2021-10-15", "2023-01-10"])
def test_seeded_data_is_data_its_own_import_accepts_whatever_the_clock(app, db_session, tmp_path, today):
    """Before the programme (stops still to come), inside it (salary-fund months still to come), after it."""
    from disburse.registry.seed_cli import seed_cmd

    app.config["DISBURSE_TODAY"] = today
    try:
        result = app.test_cli_runner().invoke(
            seed_cmd, ["--employers", "15", "--employees", "600", "--seed", "3", "--out", str(tmp_path)]
        )
    finally:
        app.config["DISBURSE_TODAY"] = None
    assert result.exit_code == 0, result.output
    assert result.output.count(" 0 rejected") == (2 if today < "2021-10-01" else 3), result.output
    assert "rejected" not in result.output.replace(" 0 rejected", "")
    latest = db_session.execute(
        text("SELECT greatest(max(ui_stopped_on), max(r.ui_joined_on)) FROM employees e, employers r")
    ).scalar_one()
    assert latest.isoformat() <= today
    month = db_session.execute(text("SELECT max(month) FROM salary_funds")).scalar_one()
    assert month is None or month.isoformat() <= today
