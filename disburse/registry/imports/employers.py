"""Employers (units), by unit code: name, tax code, sector, district, address, the date they joined UI, contacts.

Import them first: employees and salary funds name their employer by its unit code. A unit keeps its district
while claims are worked there (:data:`_STORED_RULES`).
"""

from __future__ import annotations

from disburse.programs.models import SECTORS
from disburse.registry.codes import UNIT_CODE_CHARACTERS, UNIT_CODE_FIRST, UNIT_CODE_MAX
from disburse.registry.imports.spec import PHONE_BAD, Field, Spec

#: The file's columns.
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

_SECTOR_LIST = ", ".join(f"'{s}'" for s in SECTORS)

_JOINS = """
    LEFT JOIN {dates} j ON j.s = n.joined_t
    LEFT JOIN provinces p ON p.code = n.province
    LEFT JOIN districts d ON d.code = n.district
    LEFT JOIN employers tgt ON tgt.unit_code = n.unit"""

_CHECKS = (
    f"""CASE WHEN n.unit IS NULL THEN 'unit_code:required'
         WHEN length(n.unit) > {UNIT_CODE_MAX} OR ltrim(n.unit, '{UNIT_CODE_CHARACTERS}') <> ''
              OR ltrim(left(n.unit, 1), '{UNIT_CODE_FIRST}') <> '' THEN 'unit_code:unit_format' END""",
    "CASE WHEN n.name IS NULL THEN 'name:required' WHEN length(n.name) > 300 THEN 'name:too_long' END",
    """CASE WHEN n.tax IS NOT NULL AND NOT (length(n.tax) <= 20 AND length(replace(n.tax, '-', '')) IN (10, 13)
                                           AND ltrim(replace(n.tax, '-', ''), '0123456789') = '')
         THEN 'tax_code:tax_format' END""",
    f"""CASE WHEN n.sector IS NULL THEN 'sector:required'
         WHEN n.sector NOT IN ({_SECTOR_LIST}) THEN 'sector:sector' END""",
    """CASE WHEN n.province IS NULL THEN 'province_code:required'
         WHEN p.code IS NULL THEN 'province_code:province_unknown' END""",
    """CASE WHEN n.district IS NULL THEN 'district_code:required'
         WHEN d.code IS NULL THEN 'district_code:district_unknown'
         WHEN p.code IS NOT NULL AND d.province_code <> p.code THEN 'district_code:district_province' END""",
    "CASE WHEN octet_length(n.address) > 500 AND length(n.address) > 500 THEN 'address:too_long' END",
    """CASE WHEN n.joined_t IS NOT NULL AND j.d IS NULL THEN 'ui_joined_on:date'
         WHEN j.d > {today} THEN 'ui_joined_on:future' END""",
    """CASE WHEN n.email IS NOT NULL AND (length(n.email) > 254 OR strpos(n.email, '@') < 2
                                         OR strpos(n.email, ' ') > 0) THEN 'email:email' END""",
    f"CASE WHEN {PHONE_BAD} THEN 'phone:phone' END",
)

# A row that gives a stored unit another (known) district.
_MOVES = (
    "t.target_id = s.id AND t.district IS NOT NULL AND t.district <> s.district_code "
    "AND strpos(t.errs, 'district_code:') = 0"
)

#: A unit keeps its district while claims are worked there. Its page, its users' scope and the queue's unit filter
#: follow the unit's district; its claims, their cash lists and the dashboards' counts follow each claim's own (the
#: district it was made in). Moving the unit alone would split the two: the old district's caseworker would work
#: claims of a unit they may not open, the new one open a unit whose claims they may not. So a row that would move a
#: unit with claims in its district (any programme, any state) is refused, naming the district it keeps.
#:
#: The units such rows would move are locked first (``FOR UPDATE``, in id order): that waits for every transaction
#: writing a claim of theirs (a claim's insert locks its unit ``FOR KEY SHARE``) and holds back new ones until the
#: import commits; the claims are then looked at by the next statement, which sees those committed meanwhile.
_STORED_RULES = (
    "SELECT 1 FROM employers s JOIN {ty} t ON " + _MOVES + " ORDER BY s.id FOR UPDATE OF s",
    "UPDATE {ty} t SET errs = ltrim(t.errs || ' district_code:unit_has_claims=' || s.district_code) "
    "FROM employers s WHERE "
    + _MOVES
    + " AND EXISTS (SELECT 1 FROM claims c WHERE c.employer_id = s.id AND c.district_code = s.district_code)",
)

EMPLOYERS = Spec(
    kind="employers",
    label=("đơn vị", "employers"),
    table="employers",
    columns=EMPLOYER_COLUMNS,
    pad={"province_code": 2, "district_code": 3, "phone": -2},
    normalise={
        "unit": ("unit_code", "upper"),
        "name": ("name", "text"),
        "tax": ("tax_code", "text"),
        "sector": ("sector", "lower"),
        "province": ("province_code", "code2"),
        "district": ("district_code", "code3"),
        "address": ("address", "text"),
        "joined_t": ("ui_joined_on", "date"),
        "email": ("email", "text"),
        "phone": ("phone", "text"),
    },
    fields=(
        Field("unit", "n.unit", "unit_code", key=True),
        Field("name", "n.name", "name"),
        Field("tax", "n.tax", "tax_code"),
        Field("sector", "n.sector", "sector"),
        Field("district", "n.district", "district_code"),
        Field("address", "n.address", "address"),
        Field("joined", "j.d", "ui_joined_on"),
        Field("email", "n.email", "email"),
        Field("phone", "n.phone", "phone"),
        Field("target_id", "tgt.id"),
    ),
    joins=_JOINS,
    found="tgt.id IS NOT NULL",
    checks=_CHECKS,
    key=("unit",),
    key_column="unit_code",
    is_new="target_id IS NULL",
    stored_row="s.id = t.target_id",
    also_update="updated_at = now()",
    references=(("districts", None),),
    stored_rules=_STORED_RULES,
)
