"""One unit-code rule (:mod:`disburse.registry.codes`) for every reader of a unit code: the registry import takes a
code exactly when the caseworkers' queue filter, the admins' user form and the API's claims filter take it, and every
unit the import registers opens its pages at ``/employers/<unit_code>`` (and the API's) under its own code, as it is.
A code with "/" was imported and then could never be opened. Real PostgreSQL; the import is the real importer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from disburse.auth.service import create_token
from disburse.registry.codes import UNIT_CODE_WORDS, is_unit_code
from disburse.registry.importer import import_file
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user
from tests.registry.test_import_support import employer_row, write_csv

#: Codes as registries write them, and the ways one can go wrong.
CANDIDATES = [
    "DN01000017",
    "TA0123A",
    "9",
    "a.b_c-d",
    "AB.",
    "X" * 20,
    "X" * 21,
    "AB/12",
    "AB\\12",
    ".",
    "..",
    ".AB",
    "-AB",
    "_AB",
    "AB?1",
    "AB#1",
    "AB%2F",
    "AB 1",
    "AB+1",
    "AB:1",
    "AB;1",
    "AB~1",
    "ĐN01",
]


def test_every_reader_takes_the_codes_the_import_takes_and_each_unit_opens_its_pages(
    app, client, db_session, tmp_path: Path
):
    path = write_csv(tmp_path / "don-vi.csv", "employers", [employer_row(unit_code=code) for code in CANDIDATES])
    result = import_file("employers", path)
    refused = {CANDIDATES[error.row - 2]: error for error in result.errors}
    imported = [code for code in CANDIDATES if code not in refused]
    assert imported == [code for code in CANDIDATES if is_unit_code(code)]
    assert "AB/12" in refused and ".." in refused and "DN01000017" in imported  # the rule is not empty either way
    for error in refused.values():
        assert (error.column, error.error_code) == ("unit_code", "unit_format")
        assert (error.message_vi, error.message_en) == UNIT_CODE_WORDS

    admin = create_user("admin", password=PASSWORD)
    api = {"Authorization": f"Bearer {create_token(admin)}", "Accept-Language": "en"}
    sign_in(client, admin, "en")
    for code in CANDIDATES:
        taken = code in imported
        queue = client.get(f"/caseworker/queue?employer={quote(code, safe='')}").get_data(as_text=True)
        assert (UNIT_CODE_WORDS[1] not in queue) == taken, code
        user_form = client.post(
            "/admin/users/new", data={"email": "x@bhxh.example.vn", "role": "employer", "employer": code}
        )
        assert (UNIT_CODE_WORDS[1] not in user_form.get_data(as_text=True)) == taken, code
        listed = client.get(f"/api/v1/claims?employer={quote(code, safe='')}", headers=api)
        assert (listed.status_code == 200) == taken, (code, listed.get_json())
        if not taken:
            assert listed.get_json()["fields"]["employer"] == UNIT_CODE_WORDS[1]
            continue
        # Its pages, by its code as it was written (stored in capitals): nothing of it needs escaping in a path.
        assert quote(code) == code
        page = client.get(f"/employers/{code}")
        assert page.status_code == 200 and code.upper() in page.get_data(as_text=True), code
        progress = client.get(f"/api/v1/employers/{code}/progress", headers=api)
        assert progress.status_code == 200 and progress.get_json()["unit_code"] == code.upper(), code


def test_a_unit_code_is_one_unit_whatever_case_each_file_writes_it_in(db_session, tmp_path: Path):
    """ "dnx0000002" registered, then "DNX0000002" in a later file, were two units, and a code typed in a third case
    found neither. Codes are stored in capitals: the later file updates the unit, and the employees' and salary
    funds' files name it in any case."""
    from sqlalchemy import func, select

    from disburse.extensions import db
    from disburse.registry.models import Employee, Employer
    from tests.registry.test_import_support import employee_row

    first = write_csv(tmp_path / "1.csv", "employers", [employer_row(unit_code="dnx0000002", name="Tên cũ")])
    assert import_file("employers", first).errors == []
    again = write_csv(tmp_path / "2.csv", "employers", [employer_row(unit_code="DNX0000002", name="Tên mới")])
    assert import_file("employers", again).errors == []
    both = write_csv(tmp_path / "3.csv", "employers", [employer_row(unit_code=c) for c in ("dnY1", "DNY1")])
    assert [(e.row, e.error_code) for e in import_file("employers", both).errors] == [
        (2, "duplicate"),
        (3, "duplicate"),
    ]
    units = db.session.execute(select(Employer.unit_code, Employer.name).where(Employer.unit_code.ilike("dn%"))).all()
    assert units == [("DNX0000002", "Tên mới")]
    people = write_csv(tmp_path / "4.csv", "employees", [employee_row("Dnx0000002")])
    assert import_file("employees", people).errors == []
    unit_id = db.session.scalar(select(Employer.id).where(Employer.unit_code == "DNX0000002"))
    assert db.session.scalar(select(func.count()).where(Employee.employer_id == unit_id)) == 1


def test_migration_0040_puts_the_codes_in_capitals_but_never_merges_two(db_session):
    """The codes registered before the import stored capitals: each in capitals, but where two units' codes differ
    in case only, both left as they are (for the office to merge; the upgrade names them)."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import select

    from disburse.extensions import db
    from disburse.registry.models import Employer
    from tests.factories import create_employer

    units = {code: create_employer(unit_code=code) for code in ("abc0040", "Mix.0040-a", "dnx0040", "DNX0040")}
    db.session.flush()
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("m0040", root / "migrations/versions/0040_unit_codes_in_capitals.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration.upgrade()
    db.session.expire_all()
    codes = {
        code: db.session.scalar(select(Employer.unit_code).where(Employer.id == unit.id))
        for code, unit in units.items()
    }
    assert codes == {"abc0040": "ABC0040", "Mix.0040-a": "MIX.0040-A", "dnx0040": "dnx0040", "DNX0040": "DNX0040"}
