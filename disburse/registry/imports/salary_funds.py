"""Monthly UI salary funds, by employer and month: the unit's insured salary fund and its number of participants.

The natural key is the pair (unit code, month); a fund names its employer by unit code, so the employer must be
imported first. The table has no ``updated_at``: a changed fund is simply overwritten. A fund has at most 15 digits
(under 10^15 VND, as the table's check says): the reductions multiply it by basis points in bigint, and one larger
figure (a typing slip) would stop every programme's lists being built.
"""

from __future__ import annotations

from disburse.registry.imports.read import MONTH_WIDTH
from disburse.registry.imports.spec import Field, Spec

#: The file's columns.
SALARY_FUND_COLUMNS = ("unit_code", "month", "ui_salary_fund_vnd", "ui_participants")

_JOINS = """
    LEFT JOIN {months} m ON m.s = n.month_t
    LEFT JOIN employers emp ON emp.unit_code = n.unit
    CROSS JOIN LATERAL (SELECT
        CASE WHEN length(n.fund_t) BETWEEN 1 AND 15 AND ltrim(n.fund_t, '0123456789') = ''
             THEN n.fund_t::bigint END AS fund,
        CASE WHEN length(n.people_t) BETWEEN 1 AND 9 AND ltrim(n.people_t, '0123456789') = ''
             THEN n.people_t::integer END AS people) x
    LEFT JOIN salary_funds tgt ON tgt.employer_id = emp.id AND tgt.month = m.d"""

_CHECKS = (
    """CASE WHEN n.unit IS NULL THEN 'unit_code:required'
         WHEN emp.id IS NULL THEN 'unit_code:employer_unknown' END""",
    """CASE WHEN n.month_t IS NULL THEN 'month:required' WHEN m.d IS NULL THEN 'month:month'
         WHEN m.d > {today} THEN 'month:future' END""",
    """CASE WHEN n.fund_t IS NULL THEN 'ui_salary_fund_vnd:required'
         WHEN x.fund IS NULL THEN 'ui_salary_fund_vnd:money' END""",
    """CASE WHEN n.people_t IS NULL THEN 'ui_participants:required'
         WHEN x.people IS NULL THEN 'ui_participants:count' END""",
)

SALARY_FUNDS = Spec(
    kind="salary_funds",
    label=("quỹ lương BHTN", "UI salary funds"),
    table="salary_funds",
    columns=SALARY_FUND_COLUMNS,
    pad={"month": MONTH_WIDTH},
    normalise={
        "unit": ("unit_code", "upper"),
        "month_t": ("month", "date"),
        "fund_t": ("ui_salary_fund_vnd", "text"),
        "people_t": ("ui_participants", "text"),
    },
    fields=(
        Field("unit", "n.unit"),
        Field("employer_id", "emp.id", "employer_id", key=True),
        Field("month", "m.d", "month", key=True),
        Field("fund", "x.fund", "ui_salary_fund_vnd"),
        Field("people", "x.people", "ui_participants"),
        Field("found", "tgt.employer_id IS NOT NULL"),
    ),
    joins=_JOINS,
    found="tgt.employer_id IS NOT NULL",
    checks=_CHECKS,
    key=("unit", "month"),
    key_column="month",
    is_new="NOT found",
    stored_row="t.found AND s.employer_id = t.employer_id AND s.month = t.month",
    references=(("employers", "employer_id"),),
    may_be_empty=True,
)
