"""The seed's monthly UI salary funds: per employer and month, from its head count and an average insured
salary; the lines of salary_funds.csv."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from disburse.registry.seeding.calendar import salary_fund_months
from disburse.registry.seeding.common import generator

if TYPE_CHECKING:
    from disburse.registry.seeding.context import Context

#: The 2021 region I minimum wage (Decree 90/2019): the floor of an insured salary in Hà Nội's urban districts.
REGION_I_MIN_WAGE = 4_420_000


def salary_fund_rows(ctx: Context) -> Iterator[tuple[int, str]]:
    """Per employer: (rows, its monthly lines). The fund is participants × the unit's average insured salary
    (log-normal around 7.5 million VND for enterprises, 6.2 million for public bodies, never below the region I
    minimum wage), varying a little month to month, rounded to thousands of đồng."""
    rng = generator(ctx.seed, "salary-funds")
    rand, gauss = rng.random, rng.gauss
    e = ctx.employers
    months = [m for m in salary_fund_months(ctx.shift_days) if ctx.funds_through is None or m <= ctx.funds_through]
    for k, unit in enumerate(e.unit_codes):
        size = e.sizes[k]
        base = 7_500_000 if e.sectors[k] == "enterprise" else 6_200_000
        wage = max(REGION_I_MIN_WAGE, int(base * math.exp(gauss(0.0, 0.35)) / 1000 + 0.5) * 1000)
        steady = k == e.big_index or size < 5
        lines = []
        for month in months:
            participants = size if steady else max(1, round(size * gauss(1.0, 0.02)))
            fund = int(participants * wage * (0.97 + 0.08 * rand()) / 1000 + 0.5) * 1000
            lines.append(f"{unit},{month},{fund},{participants}\n")
        yield len(lines), "".join(lines)
