"""What each import kind checks and writes, as set-based SQL over the staging table.

One ``CREATE UNLOGGED TABLE … AS SELECT`` per import turns the staged text into typed values, looks every code
up (hash joins against the reference tables and the target table), and records every failed rule of a row in
``errs``: space-separated ``column:code`` tokens, '' for a good row. The same statement compares a good row
with the row already stored under its natural key, so that the writes that follow touch only new and changed
rows. Messages for people are made in Python, for the rejected rows only (see :func:`describe`).

Digit checks use ``ltrim(x, '0123456789') = ''`` rather than regular expressions: on a million rows each
regular expression costs about a second, ``ltrim`` a fifth of that. (Not so for the bank account's 62 letters
and digits, where ``ltrim`` walks the whole set for every character: a regular expression is cheaper there.)
Dates are looked up in a small table of every valid ISO date from 1900 to 2100 (one hash join gives validity
and value without any cast that could fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from disburse.programs.models import SECTORS

DIGITS = "0123456789"
ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Column lists fixed by the architecture ("Import columns").
EMPLOYER_COLUMNS = (
    "unit_code",
    "name",
    "tax_code",
    "sector",
    "province_code",
    "district_code",
    "address",
    "ui_joined_on",
    "email",
    "phone",
)
EMPLOYEE_COLUMNS = (
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
SALARY_FUND_COLUMNS = ("unit_code", "month", "ui_salary_fund_vnd", "ui_participants")


def _normal(how: str, col: str, *, trim: bool) -> str:
    """The expression that normalises staging column ``col`` (see :attr:`Spec.normalise`)."""
    v = f"btrim({col})" if trim else col
    if how == "text":
        return f"nullif({v}, '')"
    if how in ("lower", "upper"):
        # The C collation: these are ASCII keywords and codes, and locale-aware case folding costs twice as much.
        return f"nullif({how}({v} COLLATE \"C\"), '')"
    # GSO codes are fixed width; a spreadsheet may have dropped the leading zeros ("1" for "01").
    width = int(how.removeprefix("code"))
    return f"CASE WHEN length({v}) BETWEEN 1 AND {width - 1} THEN lpad({v}, {width}, '0') ELSE nullif({v}, '') END"


def _digits(expr: str) -> str:
    return f"(ltrim({expr}, '{DIGITS}') = '')"


def _phone_bad(expr: str) -> str:
    return f"({expr} IS NOT NULL AND (length({expr}) > 20 OR ltrim({expr}, '{DIGITS}+-.() ') <> ''))"


def _date_checks(column: str, text: str, looked_up: str) -> list[str]:
    return [
        f"CASE WHEN {text} IS NOT NULL AND {looked_up}.d IS NULL THEN '{column}:date' "
        f"WHEN {looked_up}.d > {{today}} THEN '{column}:future' END"
    ]


@dataclass(frozen=True)
class Spec:
    kind: str
    table: str
    columns: tuple[str, ...]
    #: XLSX number cells padded back to these widths (see import_read._cell_text).
    pad: dict[str, int]
    #: The normalised values the check reads: name → (file column, how it is normalised: "text" trimmed and
    #: blank → NULL, "lower"/"upper" also case-folded, "code2"/"code3" also padded with leading zeros).
    normalise: dict[str, tuple[str, str]]
    #: FROM-clause joins after ``n`` and the typed projection + errs, in one SELECT.
    typed: str
    #: Expression over ``ty`` naming the natural key, for duplicates inside the file.
    key: str
    #: The column a duplicate is reported on.
    key_column: str
    insert: str
    update: str
    #: The tables new rows refer to, each with the condition (over ``{ty}``) that picks the referenced rows, or
    #: None for a small reference table: what the foreign-key triggers would lock, locked set-based.
    lock_references: list[tuple[str, str | None]] = field(default_factory=list)
    #: Optional fast path for re-imports: a SELECT over the file's cells ``{cells} n`` (:func:`cells_sql`) giving
    #: the :attr:`unchanged_columns` for every row whose cells equal, as text, a stored row that satisfies every
    #: rule; those rows skip the typed check (see :func:`unchanged_sql`).
    unchanged: str | None = None
    #: The ``ty`` columns the fast path fills (the others stay NULL: unchanged rows are never written).
    unchanged_columns: str = ""


EMPLOYEES = Spec(
    kind="employees",
    table="employees",
    columns=EMPLOYEE_COLUMNS,
    pad={"si_code": 10, "national_id": -1, "province_code": 2, "district_code": 3},
    normalise={
        "si": ("si_code", "text"),
        "nid": ("national_id", "text"),
        "name": ("full_name", "text"),
        "dob_t": ("date_of_birth", "text"),
        "gender": ("gender", "lower"),
        "phone": ("phone", "text"),
        "province": ("province_code", "code2"),
        "district": ("district_code", "code3"),
        "address": ("address", "text"),
        "unit": ("employer_unit_code", "text"),
        "status": ("ui_status", "lower"),
        "stop_t": ("ui_stopped_on", "text"),
        "months_t": ("unused_months", "text"),
        "pension_t": ("pension_decision", "lower"),
        "bank": ("bank_code", "upper"),
        "account": ("bank_account", "text"),
    },
    typed=f"""
        LEFT JOIN {{dates}} dob ON dob.s = n.dob_t
        LEFT JOIN {{dates}} stop ON stop.s = n.stop_t
        LEFT JOIN provinces p ON p.code = n.province
        LEFT JOIN districts d ON d.code = n.district
        LEFT JOIN banks b ON b.code = n.bank
        LEFT JOIN employers emp ON emp.unit_code = n.unit
        LEFT JOIN employees tgt ON tgt.si_code = n.si
        CROSS JOIN LATERAL (SELECT
            CASE WHEN length(n.months_t) BETWEEN 1 AND 3 AND {_digits("n.months_t")}
                 THEN n.months_t::smallint END AS months,
            coalesce(n.pension_t = 'yes', false) AS pension) x
        """,
    key="si",
    key_column="si_code",
    insert="""
        INSERT INTO employees (si_code, national_id, full_name, date_of_birth, gender, phone, district_code, address,
                               employer_id, ui_status, ui_stopped_on, unused_months, pension_decision, bank_code,
                               bank_account, possible_duplicate)
        SELECT si, nid, name, dob, gender, phone, district, address, employer_id, status, stop, months, pension,
               bank, account, nid IN (SELECT nid FROM {dup})
        FROM {ty} WHERE errs = '' AND target_id IS NULL""",
    update="""
        UPDATE employees e
        SET national_id = t.nid, full_name = t.name, date_of_birth = t.dob, gender = t.gender, phone = t.phone,
            district_code = t.district, address = t.address, employer_id = t.employer_id, ui_status = t.status,
            ui_stopped_on = t.stop, unused_months = t.months, pension_decision = t.pension, bank_code = t.bank,
            bank_account = t.account, updated_at = now()
        FROM {ty} t WHERE t.errs = '' AND t.target_id = e.id AND NOT t.same""",
    lock_references=[
        ("employers", "id IN (SELECT employer_id FROM {ty} WHERE errs = '' AND target_id IS NULL)"),
        ("districts", None),
        ("banks", None),
    ],
    # A stored employee satisfies the table's constraints (formats, statuses, stop date, employer, bank pair,
    # months, foreign keys); the rules the database does not hold are checked here: the province of the stored
    # district, the phone's characters and the dates' range.
    unchanged=f"""
        SELECT n.row, n.si, n.nid, tgt.id AS target_id, false AS nid_changed, true AS same, '' AS errs
        FROM employees tgt
        LEFT JOIN employers emp ON emp.id = tgt.employer_id
        LEFT JOIN districts d ON d.code = tgt.district_code
        JOIN {{cells}} n ON n.si = tgt.si_code
        -- One row comparison rather than a chain of ANDs: the planner then expects most rows to pass, as they do
        -- on a re-import, and runs the small joins in the parallel workers. A phone with characters a phone may
        -- not have, and a province that is not the stored district's, compare with NULL: never equal.
        WHERE (n.nid, n.name, n.dob_t, n.gender, n.phone, coalesce(n.province, d.province_code), n.district,
               n.address, n.unit, n.status, n.stop_t, n.months_t, coalesce(n.pension_t, 'no'), n.bank, n.account)
              IS NOT DISTINCT FROM
              (tgt.national_id, tgt.full_name, to_char(tgt.date_of_birth, 'YYYY-MM-DD'), tgt.gender,
               CASE WHEN NOT {_phone_bad("n.phone")} THEN tgt.phone END, d.province_code, tgt.district_code,
               tgt.address, emp.unit_code, tgt.ui_status, to_char(tgt.ui_stopped_on, 'YYYY-MM-DD'),
               tgt.unused_months::text, CASE WHEN tgt.pension_decision THEN 'yes' ELSE 'no' END, tgt.bank_code,
               tgt.bank_account)
          AND (tgt.date_of_birth IS NULL OR tgt.date_of_birth BETWEEN DATE '1900-01-01' AND {{today}})
          AND (tgt.ui_stopped_on IS NULL OR tgt.ui_stopped_on BETWEEN DATE '1900-01-01' AND {{today}})""",
    unchanged_columns="row, si, nid, target_id, nid_changed, same, errs",
)

_EMPLOYEE_SELECT = f"""
    SELECT n.row, n.si, n.nid, n.name, dob.d AS dob, n.gender, n.phone, n.district,
           n.address, emp.id AS employer_id, n.status, stop.d AS stop, x.months, x.pension, n.bank, n.account,
           tgt.id AS target_id, tgt.national_id IS DISTINCT FROM n.nid AS nid_changed,
           (tgt.id IS NOT NULL AND (tgt.national_id, tgt.full_name, tgt.date_of_birth, tgt.gender, tgt.phone,
                tgt.district_code, tgt.address, tgt.employer_id, tgt.ui_status, tgt.ui_stopped_on, tgt.unused_months,
                tgt.pension_decision, tgt.bank_code, tgt.bank_account)
             IS NOT DISTINCT FROM (n.nid, n.name, dob.d, n.gender, n.phone, n.district, n.address, emp.id,
                n.status, stop.d, x.months, x.pension, n.bank, n.account)) AS same,
           concat_ws(' ',
             CASE WHEN n.si IS NULL THEN 'si_code:required'
                  WHEN NOT (length(n.si) = 10 AND {_digits("n.si")}) THEN 'si_code:si_format' END,
             CASE WHEN n.nid IS NULL THEN 'national_id:required'
                  WHEN NOT (length(n.nid) IN (9, 12) AND {_digits("n.nid")}) THEN 'national_id:nid_format' END,
             CASE WHEN n.name IS NULL THEN 'full_name:required'
                  WHEN octet_length(n.name) > 200 AND length(n.name) > 200 THEN 'full_name:too_long' END,
             {_date_checks("date_of_birth", "n.dob_t", "dob")[0]},
             CASE WHEN n.gender NOT IN ('male', 'female') THEN 'gender:gender' END,
             CASE WHEN {_phone_bad("n.phone")} THEN 'phone:phone' END,
             CASE WHEN n.province IS NOT NULL AND p.code IS NULL THEN 'province_code:province_unknown' END,
             CASE WHEN n.district IS NOT NULL AND d.code IS NULL THEN 'district_code:district_unknown'
                  WHEN p.code IS NOT NULL AND d.province_code <> p.code THEN 'district_code:district_province' END,
             CASE WHEN octet_length(n.address) > 500 AND length(n.address) > 500 THEN 'address:too_long' END,
             CASE WHEN n.unit IS NOT NULL AND emp.id IS NULL THEN 'employer_unit_code:employer_unknown'
                  WHEN n.unit IS NULL AND n.status = 'participating'
                  THEN 'employer_unit_code:employer_required' END,
             CASE WHEN n.status IS NULL THEN 'ui_status:required'
                  WHEN n.status NOT IN ('participating', 'stopped') THEN 'ui_status:ui_status' END,
             {_date_checks("ui_stopped_on", "n.stop_t", "stop")[0]},
             CASE WHEN n.status = 'stopped' AND n.stop_t IS NULL THEN 'ui_stopped_on:stop_required' END,
             CASE WHEN n.months_t IS NULL THEN 'unused_months:required'
                  WHEN x.months IS NULL OR x.months > 600 THEN 'unused_months:months' END,
             CASE WHEN n.pension_t NOT IN ('yes', 'no') THEN 'pension_decision:yes_no' END,
             CASE WHEN n.bank IS NOT NULL AND b.code IS NULL THEN 'bank_code:bank_unknown'
                  WHEN n.bank IS NULL AND n.account IS NOT NULL THEN 'bank_code:bank_pair' END,
             CASE WHEN n.account IS NULL AND n.bank IS NOT NULL THEN 'bank_account:bank_pair'
                  WHEN NOT n.account ~ '^[0-9A-Za-z]{{{{4,30}}}}$' THEN 'bank_account:account_format' END
           ) AS errs
"""

EMPLOYERS = Spec(
    kind="employers",
    table="employers",
    columns=EMPLOYER_COLUMNS,
    pad={"province_code": 2, "district_code": 3},
    normalise={
        "unit": ("unit_code", "text"),
        "name": ("name", "text"),
        "tax": ("tax_code", "text"),
        "sector": ("sector", "lower"),
        "province": ("province_code", "code2"),
        "district": ("district_code", "code3"),
        "address": ("address", "text"),
        "joined_t": ("ui_joined_on", "text"),
        "email": ("email", "text"),
        "phone": ("phone", "text"),
    },
    typed="""
        LEFT JOIN {dates} j ON j.s = n.joined_t
        LEFT JOIN provinces p ON p.code = n.province
        LEFT JOIN districts d ON d.code = n.district
        LEFT JOIN employers tgt ON tgt.unit_code = n.unit
        """,
    key="unit",
    key_column="unit_code",
    insert="""
        INSERT INTO employers (unit_code, name, tax_code, sector, district_code, address, ui_joined_on, email, phone)
        SELECT unit, name, tax, sector, district, address, joined, email, phone
        FROM {ty} WHERE errs = '' AND target_id IS NULL""",
    update="""
        UPDATE employers e
        SET name = t.name, tax_code = t.tax, sector = t.sector, district_code = t.district, address = t.address,
            ui_joined_on = t.joined, email = t.email, phone = t.phone, updated_at = now()
        FROM {ty} t WHERE t.errs = '' AND t.target_id = e.id AND NOT t.same""",
    lock_references=[("districts", None)],
)

_SECTOR_LIST = ", ".join(f"'{s}'" for s in SECTORS)
_EMPLOYER_SELECT = f"""
    SELECT n.row, n.unit, n.name, n.tax, n.sector, n.district, n.address, j.d AS joined, n.email, n.phone,
           tgt.id AS target_id,
           (tgt.id IS NOT NULL AND (tgt.name, tgt.tax_code, tgt.sector, tgt.district_code, tgt.address,
                tgt.ui_joined_on, tgt.email, tgt.phone)
             IS NOT DISTINCT FROM (n.name, n.tax, n.sector, n.district, n.address, j.d, n.email, n.phone)) AS same,
           concat_ws(' ',
             CASE WHEN n.unit IS NULL THEN 'unit_code:required'
                  WHEN length(n.unit) > 20 OR ltrim(n.unit, '{ALNUM}{ALNUM.lower()}._-/') <> ''
                  THEN 'unit_code:unit_format' END,
             CASE WHEN n.name IS NULL THEN 'name:required' WHEN length(n.name) > 300 THEN 'name:too_long' END,
             CASE WHEN n.tax IS NOT NULL AND NOT (length(n.tax) <= 20
                       AND length(replace(n.tax, '-', '')) IN (10, 13) AND {_digits("replace(n.tax, '-', '')")})
                  THEN 'tax_code:tax_format' END,
             CASE WHEN n.sector IS NULL THEN 'sector:required'
                  WHEN n.sector NOT IN ({_SECTOR_LIST}) THEN 'sector:sector' END,
             CASE WHEN n.province IS NULL THEN 'province_code:required'
                  WHEN p.code IS NULL THEN 'province_code:province_unknown' END,
             CASE WHEN n.district IS NULL THEN 'district_code:required'
                  WHEN d.code IS NULL THEN 'district_code:district_unknown'
                  WHEN p.code IS NOT NULL AND d.province_code <> p.code THEN 'district_code:district_province' END,
             CASE WHEN octet_length(n.address) > 500 AND length(n.address) > 500 THEN 'address:too_long' END,
             {_date_checks("ui_joined_on", "n.joined_t", "j")[0]},
             CASE WHEN n.email IS NOT NULL AND (length(n.email) > 254 OR strpos(n.email, '@') < 2
                       OR strpos(n.email, ' ') > 0) THEN 'email:email' END,
             CASE WHEN {_phone_bad("n.phone")} THEN 'phone:phone' END
           ) AS errs
"""

SALARY_FUNDS = Spec(
    kind="salary_funds",
    table="salary_funds",
    columns=SALARY_FUND_COLUMNS,
    pad={},
    normalise={
        "unit": ("unit_code", "text"),
        "month_t": ("month", "text"),
        "fund_t": ("ui_salary_fund_vnd", "text"),
        "people_t": ("ui_participants", "text"),
    },
    typed=f"""
        LEFT JOIN {{months}} m ON m.s = n.month_t
        LEFT JOIN employers emp ON emp.unit_code = n.unit
        CROSS JOIN LATERAL (SELECT
            CASE WHEN length(n.fund_t) BETWEEN 1 AND 18 AND {_digits("n.fund_t")} THEN n.fund_t::bigint END AS fund,
            CASE WHEN length(n.people_t) BETWEEN 1 AND 9 AND {_digits("n.people_t")}
                 THEN n.people_t::integer END AS people) x
        LEFT JOIN salary_funds tgt ON tgt.employer_id = emp.id AND tgt.month = m.d
        """,
    key="(unit, month)",
    key_column="month",
    insert="""
        INSERT INTO salary_funds (employer_id, month, ui_salary_fund_vnd, ui_participants)
        SELECT employer_id, month, fund, people FROM {ty} WHERE errs = '' AND NOT found""",
    update="""
        UPDATE salary_funds f SET ui_salary_fund_vnd = t.fund, ui_participants = t.people
        FROM {ty} t WHERE t.errs = '' AND t.found AND NOT t.same AND f.employer_id = t.employer_id
          AND f.month = t.month""",
    lock_references=[("employers", "id IN (SELECT employer_id FROM {ty} WHERE errs = '' AND NOT found)")],
)

_SALARY_SELECT = """
    SELECT n.row, n.unit, emp.id AS employer_id, m.d AS month, x.fund, x.people,
           tgt.employer_id IS NOT NULL AS found,
           (tgt.employer_id IS NOT NULL AND (tgt.ui_salary_fund_vnd, tgt.ui_participants)
             IS NOT DISTINCT FROM (x.fund, x.people)) AS same,
           concat_ws(' ',
             CASE WHEN n.unit IS NULL THEN 'unit_code:required'
                  WHEN emp.id IS NULL THEN 'unit_code:employer_unknown' END,
             CASE WHEN n.month_t IS NULL THEN 'month:required' WHEN m.d IS NULL THEN 'month:month'
                  WHEN m.d > {today} THEN 'month:future' END,
             CASE WHEN n.fund_t IS NULL THEN 'ui_salary_fund_vnd:required'
                  WHEN x.fund IS NULL THEN 'ui_salary_fund_vnd:money' END,
             CASE WHEN n.people_t IS NULL THEN 'ui_participants:required'
                  WHEN x.people IS NULL THEN 'ui_participants:count' END
           ) AS errs
"""

SELECTS = {"employees": _EMPLOYEE_SELECT, "employers": _EMPLOYER_SELECT, "salary_funds": _SALARY_SELECT}
SPECS = {spec.kind: spec for spec in (EMPLOYERS, EMPLOYEES, SALARY_FUNDS)}


def _dirty(how: str, col: str, *, trim: bool) -> str:
    """Whether :func:`_normal` would change the value: the same answer as ``_normal(...) IS DISTINCT FROM col``
    (NULL for NULL), without building the normalised text."""
    tests = [f"{col} = ''"]
    if trim:
        tests += [f"{col} LIKE ' %'", f"{col} LIKE '% '"]
    if how in ("lower", "upper"):
        tests.append(f'{col} <> {how}({col} COLLATE "C")')
    elif how.startswith("code"):
        tests.append(f"length({col}) < {int(how.removeprefix('code'))}")
    return f"({' OR '.join(tests)})"


def _not_blank(c: dict[str, str]) -> str:
    # A row whose cells are all empty is not a data row (spreadsheets leave such rows at the end).
    return f"num_nonnulls({', '.join(f'nullif({col}, {chr(39) * 2})' for col in c.values())}) > 0"


def normalise_sql(spec: Spec, *, stage: str, c: dict[str, str], trim: bool = True) -> str:
    """The staged cells trimmed, blank → NULL, codes padded: one row per data row (blank rows dropped).

    ``OFFSET 0`` keeps the planner from copying each expression into every place that uses the value.
    """
    columns = ", ".join(f"{_normal(how, c[src], trim=trim)} AS {name}" for name, (src, how) in spec.normalise.items())
    return f"SELECT row, {columns} FROM {stage} WHERE {_not_blank(c)} OFFSET 0"


def _cells(spec: Spec, c: dict[str, str]) -> str:
    return ", ".join(f"{c[src]} AS {name}" for name, (src, _) in spec.normalise.items())


def cells_sql(spec: Spec, *, stage: str, c: dict[str, str]) -> str:
    """The staged cells as they are, named as :func:`normalise_sql` names them (blank rows included)."""
    return f"SELECT row, {_cells(spec, c)} FROM {stage}"


def raw_sql(spec: Spec, *, stage: str, c: dict[str, str], trim: bool = True) -> str:
    """The staged cells as they are, named as :func:`normalise_sql` names them, and ``dirty``: whether normalising
    would change any of them. For a row that is not dirty, checking the raw cells is checking the normalised ones,
    without the cost of normalising every value wherever it is used. (So the typed check must not fail on any
    raw value, such as an empty string where normalising gives NULL: every cast there is guarded.)"""
    columns = _cells(spec, c)
    dirty = " OR ".join(_dirty(how, c[src], trim=trim) for src, how in spec.normalise.values())
    return f"SELECT row, {columns}, coalesce({dirty}, false) AS dirty FROM {stage} WHERE {_not_blank(c)}"


def unchanged_sql(spec: Spec, *, cells: str, today: date) -> str | None:
    """The fast path of a re-import: the rows whose cells say exactly what is stored, which need no typed check.

    A stored row was checked when it was written (by the rules here, or by the table's constraints), so a file
    row that says exactly the same, in the same canonical text, is good and unchanged. Anything else (a value
    written differently, such as ``07`` for ``7`` or `` 017`` for ``017``) simply takes the full check.
    The joins are written in the order to run them (``join_collapse_limit = 1``): the stored side first, so
    that every join runs in the parallel workers.
    """
    if spec.unchanged is None:
        return None
    return spec.unchanged.format(cells=cells, today=f"DATE '{today.isoformat()}'")


def typed_sql(spec: Spec, *, source: str, dates: str, months: str, today: date, dirty: str = "false") -> str:
    """The one SELECT that types, checks and compares every row of ``source``, a table or subquery with the
    columns of :func:`normalise_sql` (or of :func:`raw_sql`, whose ``dirty`` column is passed on)."""
    select = SELECTS[spec.kind].format(today=f"DATE '{today.isoformat()}'")
    joins = spec.typed.format(dates=dates, months=months)
    return f"{select}, {dirty} AS dirty FROM {source} n {joins}"


# ------------------------------------------------------------------------------------------------ messages

LABELS = {
    "si_code": "Mã số BHXH",
    "national_id": "Số CMND/CCCD",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "gender": "Giới tính",
    "phone": "Số điện thoại",
    "province_code": "Mã tỉnh",
    "district_code": "Mã huyện",
    "address": "Địa chỉ",
    "employer_unit_code": "Mã đơn vị",
    "ui_status": "Trạng thái BHTN",
    "ui_stopped_on": "Ngày dừng đóng BHTN",
    "unused_months": "Số tháng chưa hưởng",
    "pension_decision": "Quyết định hưởng lương hưu",
    "bank_code": "Mã ngân hàng",
    "bank_account": "Số tài khoản",
    "unit_code": "Mã đơn vị",
    "name": "Tên đơn vị",
    "tax_code": "Mã số thuế",
    "sector": "Loại hình đơn vị",
    "ui_joined_on": "Ngày tham gia BHTN",
    "email": "Email",
    "month": "Tháng",
    "ui_salary_fund_vnd": "Quỹ lương đóng BHTN",
    "ui_participants": "Số người tham gia",
}
LIMITS = {"full_name": 200, "address": 500, "name": 300}


def _dmy(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def describe(column: str, code: str, value: str | None, *, today: date) -> tuple[str, str]:
    """(message_vi, message_en) for one failed rule."""
    label = LABELS.get(column, column)
    v = (value or "").strip()
    if code == "required":
        return f"{label} ({column}) không được để trống.", f"{column} must not be blank."
    if code == "si_format":
        if v.isascii() and v.isdigit():
            return (
                f"Mã số BHXH phải gồm đúng 10 chữ số (đang có {len(v)}).",
                f"The SI code must have exactly 10 digits (this one has {len(v)}).",
            )
        return "Mã số BHXH chỉ được gồm 10 chữ số.", "The SI code must be 10 digits and nothing else."
    if code == "nid_format":
        if v.isascii() and v.isdigit():
            return (
                f"Số CMND/CCCD phải gồm 9 hoặc 12 chữ số (đang có {len(v)}).",
                f"The national ID must have 9 or 12 digits (this one has {len(v)}).",
            )
        return "Số CMND/CCCD chỉ được gồm 9 hoặc 12 chữ số.", "The national ID must be 9 or 12 digits and nothing else."
    if code == "too_long":
        limit = LIMITS.get(column, 0)
        return (
            f"{label} dài quá {limit} ký tự (đang có {len(v)}).",
            f"{column} is longer than {limit} characters (this one has {len(v)}).",
        )
    if code == "date":
        return (
            f"{label} «{v}» không phải ngày hợp lệ; hãy ghi theo dạng YYYY-MM-DD (ví dụ 1990-01-31), "
            "từ năm 1900 đến 2100.",
            f"{column} '{v}' is not a valid date; write it as YYYY-MM-DD (e.g. 1990-01-31), years 1900 to 2100.",
        )
    if code == "future":
        return (
            f"{label} {_dmy(v)} nằm trong tương lai (hôm nay là {today:%d/%m/%Y}).",
            f"{column} {_dmy(v)} is in the future (today is {today:%d/%m/%Y}).",
        )
    if code == "gender":
        return "Giới tính phải là male, female hoặc để trống.", "gender must be male, female or blank."
    if code == "phone":
        return (
            "Số điện thoại chỉ gồm chữ số (có thể có + - . ( ) và dấu cách), tối đa 20 ký tự.",
            "The phone number may hold digits (and + - . ( ) and spaces) only, 20 characters at most.",
        )
    if code == "province_unknown":
        return (
            f"Không có tỉnh/thành phố mã «{v}» (mã Tổng cục Thống kê 2021, 2 chữ số, ví dụ 01 = Hà Nội).",
            f"There is no province with code '{v}' (2021 GSO code, 2 digits, e.g. 01 = Hà Nội).",
        )
    if code == "district_unknown":
        return (
            f"Không có quận/huyện mã «{v}» (mã Tổng cục Thống kê 2021, 3 chữ số, ví dụ 017 = Đông Anh).",
            f"There is no district with code '{v}' (2021 GSO code, 3 digits, e.g. 017 = Đông Anh).",
        )
    if code == "district_province":
        return (
            f"Quận/huyện mã «{v}» không thuộc tỉnh/thành phố đã ghi ở cột province_code.",
            f"District '{v}' is not in the province given in province_code.",
        )
    if code == "employer_unknown":
        return (
            f"Không tìm thấy đơn vị có mã «{v}»; hãy nhập danh sách đơn vị trước.",
            f"No employer has unit code '{v}'; import the employers first.",
        )
    if code == "employer_required":
        return (
            "Người đang tham gia BHTN (participating) phải có mã đơn vị.",
            "A participating employee needs the employer's unit code.",
        )
    if code == "ui_status":
        return (
            "Trạng thái BHTN phải là participating (đang tham gia) hoặc stopped (đã dừng).",
            "ui_status must be participating or stopped.",
        )
    if code == "stop_required":
        return (
            "Người đã dừng đóng BHTN (stopped) phải có ngày dừng (ui_stopped_on).",
            "A stopped employee needs the date UI stopped (ui_stopped_on).",
        )
    if code == "months":
        return (
            f"Số tháng chưa hưởng phải là số nguyên từ 0 đến 600 (đang là «{v}»).",
            f"unused_months must be a whole number from 0 to 600 (this one is '{v}').",
        )
    if code == "yes_no":
        return "Quyết định hưởng lương hưu phải là yes, no hoặc để trống.", "pension_decision must be yes, no or blank."
    if code == "bank_unknown":
        return (
            f"Không có ngân hàng mã «{v}» (mã ngắn theo danh sách VietQR/NAPAS, ví dụ VCB, BIDV, ICB).",
            f"There is no bank with code '{v}' (short code from the VietQR/NAPAS list, e.g. VCB, BIDV, ICB).",
        )
    if code == "bank_pair":
        return (
            "Cần ghi cả mã ngân hàng và số tài khoản, hoặc để trống cả hai.",
            "Give both the bank code and the account number, or leave both blank.",
        )
    if code == "account_format":
        return (
            "Số tài khoản chỉ gồm chữ và số, từ 4 đến 30 ký tự.",
            "The bank account number must be 4 to 30 letters and digits.",
        )
    if code == "duplicate":
        if column == "si_code":
            return (
                f"Mã số BHXH {v} xuất hiện nhiều lần trong tệp; không dòng nào có mã này được nhập.",
                f"SI code {v} appears more than once in the file; none of its rows was imported.",
            )
        if column == "unit_code":
            return (
                f"Mã đơn vị {v} xuất hiện nhiều lần trong tệp; không dòng nào có mã này được nhập.",
                f"Unit code {v} appears more than once in the file; none of its rows was imported.",
            )
        return (
            f"Đơn vị và tháng {v} xuất hiện nhiều lần trong tệp; không dòng nào trong số đó được nhập.",
            f"The same unit and month {v} appear more than once in the file; none of those rows was imported.",
        )
    if code == "unit_format":
        return (
            "Mã đơn vị gồm chữ, số và . _ - /, tối đa 20 ký tự.",
            "The unit code may hold letters, digits and . _ - / only, 20 characters at most.",
        )
    if code == "tax_format":
        return (
            "Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số, dấu - và 3 chữ số.",
            "The tax code must be 10 digits, or 10 digits, a dash and 3 digits.",
        )
    if code == "sector":
        return (
            f"Loại hình đơn vị phải là một trong: {', '.join(SECTORS)}.",
            f"sector must be one of: {', '.join(SECTORS)}.",
        )
    if code == "email":
        return "Email không hợp lệ.", "The email address is not valid."
    if code == "month":
        return (
            f"Tháng «{v}» không hợp lệ; hãy ghi theo dạng YYYY-MM (ví dụ 2021-10).",
            f"Month '{v}' is not valid; write it as YYYY-MM (e.g. 2021-10).",
        )
    if code == "money":
        return (
            "Quỹ lương phải là số nguyên đồng, không âm, không có dấu phân cách (ví dụ 125000000).",
            "The salary fund must be a whole, non-negative number of đồng without separators (e.g. 125000000).",
        )
    if code == "count":
        return (
            "Số người tham gia phải là số nguyên không âm.",
            "ui_participants must be a whole, non-negative number.",
        )
    if code == "columns":
        return v, v
    return f"{label}: giá trị không hợp lệ ({code}).", f"{column}: invalid value ({code})."
