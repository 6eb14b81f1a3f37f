"""Employees, by SI code: who they are, where they work and live, their UI status and unused months, their bank.

The only kind with national IDs: the same national ID under two SI codes is imported and marked as a possible
duplicate (write.py), and a participating employee needs an employer already in the database.
"""

from __future__ import annotations

from disburse.registry.imports.spec import BANK_KEY, PHONE_BAD, Field, Spec

#: The file's columns.
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

_JOINS = (
    """
    LEFT JOIN {dates} dob ON dob.s = n.dob_t
    LEFT JOIN {dates} stop ON stop.s = n.stop_t
    LEFT JOIN provinces p ON p.code = n.province
    LEFT JOIN districts d ON d.code = n.district
    LEFT JOIN banks b ON b.code = n.bank
    -- A bank written as a name ("Vietcombank", "NH TMCP Ngoại thương Việt Nam", 970436): its key looked up among
    -- the names Form 02 takes. Keyed only when the cell is not a code, so a file of codes pays one CASE a row.
    LEFT JOIN {bank_names} bn ON bn.key = CASE WHEN b.code IS NULL THEN """
    + BANK_KEY
    + """ END
    LEFT JOIN employers emp ON emp.unit_code = n.unit
    LEFT JOIN employees tgt ON tgt.si_code = n.si
    CROSS JOIN LATERAL (SELECT
        CASE WHEN length(n.months_t) BETWEEN 1 AND 3 AND ltrim(n.months_t, '0123456789') = ''
             THEN n.months_t::smallint END AS months,
        coalesce(n.pension_t = 'yes', false) AS pension,
        coalesce(b.code, bn.code) AS bank) x"""
)

_CHECKS = (
    """CASE WHEN n.si IS NULL THEN 'si_code:required'
         WHEN NOT (length(n.si) = 10 AND ltrim(n.si, '0123456789') = '') THEN 'si_code:si_format' END""",
    """CASE WHEN n.nid IS NULL THEN 'national_id:required'
         WHEN NOT (length(n.nid) IN (9, 12) AND ltrim(n.nid, '0123456789') = '') THEN 'national_id:nid_format' END""",
    """CASE WHEN n.name IS NULL THEN 'full_name:required'
         WHEN octet_length(n.name) > 200 AND length(n.name) > 200 THEN 'full_name:too_long' END""",
    """CASE WHEN n.dob_t IS NOT NULL AND dob.d IS NULL THEN 'date_of_birth:date'
         WHEN dob.d > {today} THEN 'date_of_birth:future' END""",
    "CASE WHEN n.gender NOT IN ('male', 'female') THEN 'gender:gender' END",
    f"CASE WHEN {PHONE_BAD} THEN 'phone:phone' END",
    "CASE WHEN n.province IS NOT NULL AND p.code IS NULL THEN 'province_code:province_unknown' END",
    """CASE WHEN n.district IS NOT NULL AND d.code IS NULL THEN 'district_code:district_unknown'
         WHEN p.code IS NOT NULL AND d.province_code <> p.code THEN 'district_code:district_province' END""",
    "CASE WHEN octet_length(n.address) > 500 AND length(n.address) > 500 THEN 'address:too_long' END",
    """CASE WHEN n.unit IS NOT NULL AND emp.id IS NULL THEN 'employer_unit_code:employer_unknown'
         WHEN n.unit IS NULL AND n.status = 'participating' THEN 'employer_unit_code:employer_required' END""",
    """CASE WHEN n.status IS NULL THEN 'ui_status:required'
         WHEN n.status NOT IN ('participating', 'stopped') THEN 'ui_status:ui_status' END""",
    """CASE WHEN n.stop_t IS NOT NULL AND stop.d IS NULL THEN 'ui_stopped_on:date'
         WHEN stop.d > {today} THEN 'ui_stopped_on:future' END""",
    "CASE WHEN n.status = 'stopped' AND n.stop_t IS NULL THEN 'ui_stopped_on:stop_required' END",
    """CASE WHEN n.months_t IS NULL THEN 'unused_months:required'
         WHEN x.months IS NULL OR x.months > 600 THEN 'unused_months:months' END""",
    "CASE WHEN n.pension_t NOT IN ('yes', 'no') THEN 'pension_decision:yes_no' END",
    """CASE WHEN n.bank IS NOT NULL AND x.bank IS NULL AND bn.key IS NOT NULL THEN 'bank_code:bank_shared'
         WHEN n.bank IS NOT NULL AND x.bank IS NULL THEN 'bank_code:bank_unknown'
         WHEN n.bank IS NULL AND n.account IS NOT NULL THEN 'bank_code:bank_pair' END""",
    # One regular expression: ltrim over 62 letters and digits costs more.
    """CASE WHEN n.account IS NULL AND n.bank IS NOT NULL THEN 'bank_account:bank_pair'
         WHEN left(n.account, 1) = '#' THEN 'bank_account:account_number_cell'
         WHEN NOT n.account ~ '^[0-9A-Za-z]{{4,30}}$' THEN 'bank_account:account_format' END""",
)

# A stored employee satisfies the table's constraints (formats, statuses, stop date, employer, bank pair,
# months, foreign keys); the rules the database does not hold are checked here: the province of the stored
# district, the phone's characters and the dates' range.
_UNCHANGED = (
    """
    SELECT n.row, n.si, n.nid, tgt.id AS target_id, false AS nid_changed, true AS same, '' AS errs
    FROM employees tgt
    LEFT JOIN employers emp ON emp.id = tgt.employer_id
    LEFT JOIN districts d ON d.code = tgt.district_code
    JOIN {cells} n ON n.si = tgt.si_code
    -- A date is compared as the file writes it: dd/mm/yyyy (a slash third) or ISO.
    CROSS JOIN LATERAL (SELECT
        CASE WHEN substr(n.dob_t, 3, 1) = '/' THEN 'DD/MM/YYYY' ELSE 'YYYY-MM-DD' END AS dob_format,
        CASE WHEN substr(n.stop_t, 3, 1) = '/' THEN 'DD/MM/YYYY' ELSE 'YYYY-MM-DD' END AS stop_format) x
    -- One row comparison rather than a chain of ANDs: the planner then expects most rows to pass, as they do
    -- on a re-import, and runs the small joins in the parallel workers. A phone with characters a phone may
    -- not have, and a province that is not the stored district's, compare with NULL: never equal.
    WHERE (n.nid, n.name, n.dob_t, n.gender, n.phone, coalesce(n.province, d.province_code), n.district,
           n.address, n.unit, n.status, n.stop_t, n.months_t, coalesce(n.pension_t, 'no'), n.bank, n.account)
          IS NOT DISTINCT FROM
          (tgt.national_id, tgt.full_name, to_char(tgt.date_of_birth, x.dob_format), tgt.gender,
           CASE WHEN NOT """
    + PHONE_BAD
    + """ THEN tgt.phone END, d.province_code, tgt.district_code,
           tgt.address, emp.unit_code, tgt.ui_status, to_char(tgt.ui_stopped_on, x.stop_format),
           tgt.unused_months::text, CASE WHEN tgt.pension_decision THEN 'yes' ELSE 'no' END, tgt.bank_code,
           tgt.bank_account)
      AND (tgt.date_of_birth IS NULL OR tgt.date_of_birth BETWEEN DATE '1900-01-01' AND {today})
      AND (tgt.ui_stopped_on IS NULL OR tgt.ui_stopped_on BETWEEN DATE '1900-01-01' AND {today})"""
)

EMPLOYEES = Spec(
    kind="employees",
    label=("người lao động", "employees"),
    table="employees",
    columns=EMPLOYEE_COLUMNS,
    pad={"si_code": 10, "national_id": -1, "province_code": 2, "district_code": 3, "bank_account": 0, "phone": -2},
    normalise={
        "si": ("si_code", "text"),
        "nid": ("national_id", "text"),
        "name": ("full_name", "text"),
        "dob_t": ("date_of_birth", "date"),
        "gender": ("gender", "lower"),
        "phone": ("phone", "text"),
        "province": ("province_code", "code2"),
        "district": ("district_code", "code3"),
        "address": ("address", "text"),
        "unit": ("employer_unit_code", "upper"),
        "status": ("ui_status", "lower"),
        "stop_t": ("ui_stopped_on", "date"),
        "months_t": ("unused_months", "text"),
        "pension_t": ("pension_decision", "lower"),
        "bank": ("bank_code", "upper"),
        "account": ("bank_account", "text"),
    },
    fields=(
        Field("si", "n.si", "si_code", key=True),
        Field("nid", "n.nid", "national_id"),
        Field("name", "n.name", "full_name"),
        Field("dob", "dob.d", "date_of_birth"),
        Field("gender", "n.gender", "gender"),
        Field("phone", "n.phone", "phone"),
        Field("district", "n.district", "district_code"),
        Field("address", "n.address", "address"),
        Field("employer_id", "emp.id", "employer_id"),
        Field("status", "n.status", "ui_status"),
        Field("stop", "stop.d", "ui_stopped_on"),
        Field("months", "x.months", "unused_months"),
        Field("pension", "x.pension", "pension_decision"),
        Field("bank", "x.bank", "bank_code"),
        Field("account", "n.account", "bank_account"),
        Field("target_id", "tgt.id"),
        # Whether this row gives its SI code another national ID (the duplicate check looks at those only).
        Field("nid_changed", "tgt.national_id IS DISTINCT FROM n.nid"),
    ),
    joins=_JOINS,
    found="tgt.id IS NOT NULL",
    checks=_CHECKS,
    key=("si",),
    key_column="si_code",
    is_new="target_id IS NULL",
    stored_row="s.id = t.target_id",
    also_update="updated_at = now()",
    # New rows are marked as they are inserted (dup: see write.find_duplicate_national_ids).
    also_insert=(("possible_duplicate", "nid IN (SELECT nid FROM {dup})"),),
    references=(("employers", "employer_id"), ("districts", None), ("banks", None)),
    flags_duplicate_national_ids=True,
    bank_names=True,
    unchanged=_UNCHANGED,
    unchanged_columns="row, si, nid, target_id, nid_changed, same, errs",
)
