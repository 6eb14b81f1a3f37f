"""The shared state of one write: the provinces, the employers and the pools the employee rows draw from, built
once. The writer keeps it in a module global so that forked workers inherit it (files.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from disburse.registry.seeding.calendar import CUTOFF, shift_date
from disburse.registry.seeding.common import generator, lookup_table, permutation
from disburse.registry.seeding.employees import NID_SLOTS_PER_CHUNK, STOPPED_SHARE, fill_pools
from disburse.registry.seeding.employers import BIG_UNIT_SIZE, Employers, build_employers
from disburse.registry.seeding.places import PROVINCE_WEIGHTS, District, Province, load_divisions


@dataclass
class Context:
    seed: int
    employees: int
    stopped: int
    #: Days every date of the data is moved by (0: the historical calendar), and the moved cut-off's year.
    shift_days: int
    cutoff_year: int
    #: Salary funds stop at this month (``YYYY-MM``): a registry holds no fund for a month still to come.
    funds_through: str | None
    chunk_size: int
    #: No generated date after this one (``YYYY-MM-DD``): the programme clock's today, so that the import, which
    #: refuses dates in the future, accepts every generated row whatever the clock says.
    not_after: str | None
    provinces: dict[str, Province]
    province_codes: list[str]
    province_table: list[int]
    district_tables: dict[str, tuple[list[District], list[int]]]
    employers: Employers
    si_perm: tuple[int, int]
    nid_perm: tuple[int, int]
    names_male: list[str] = field(default_factory=list)
    names_female: list[str] = field(default_factory=list)
    birth_provinces: list[int] = field(default_factory=list)
    #: 16,384 unused-month values drawn once with the tier shares (uniform inside a tier).
    months_pool: list[int] = field(default_factory=list)
    #: For each possible count of unused months, 4,096 (year of birth, date of birth) pairs old enough for it.
    births_by_months: list[list[tuple[int, str]]] = field(default_factory=list)
    #: Born in or before this year: 55 or older on the cut-off date (old enough for a pension decision).
    pension_year: int = 1966
    #: Stop dates with the most unused months one can have when stopping then (months since January 2009).
    in_window_stops: list[tuple[str, int]] = field(default_factory=list)
    before_window_stops: list[tuple[str, int]] = field(default_factory=list)
    #: The window's first and last days and the day before it, for a few rows exactly on the boundaries.
    boundary_stops: tuple[tuple[str, int], ...] = ()
    #: 1,024 (bank code, account modulus, account length) entries in proportion to the banks' shares.
    bank_table: list[tuple[str, int, int]] = field(default_factory=list)
    #: Per province, 1,024 district codes in proportion to the districts' weights.
    district_code_tables: dict[str, list[str]] = field(default_factory=dict)
    #: Per district code, 256 ready-quoted addresses.
    address_pools: dict[str, list[str]] = field(default_factory=dict)


def build_context(
    seed: int,
    employers: int,
    employees: int,
    province_codes: Sequence[str],
    chunk_size: int,
    shift_days: int = 0,
    not_after: date | None = None,
) -> Context:
    """Everything one write needs, built once: the provinces' weight tables, the head counts, the employers and
    the pools the employee rows draw from. Raises ValueError for arguments the files cannot honour."""
    divisions = load_divisions()
    _check_arguments(divisions, province_codes, employees, chunk_size)
    rng = generator(seed, "context")
    provinces = {code: divisions[code] for code in province_codes}
    codes = list(province_codes)
    province_table = lookup_table([PROVINCE_WEIGHTS.get(c, 0.35) for c in codes], 4096)
    district_tables = {
        code: (p.districts, lookup_table([d.weight for d in p.districts], 1024)) for code, p in provinces.items()
    }
    stopped, big = _head_counts(employers, employees)
    units = build_employers(
        seed,
        employers,
        provinces,
        codes,
        province_table,
        district_tables,
        participating=employees - stopped if employers else 0,
        big=big,
    )
    if not employers:
        stopped = employees
    ctx = Context(
        seed=seed,
        employees=employees,
        stopped=stopped,
        shift_days=shift_days,
        cutoff_year=shift_date(CUTOFF, shift_days).year,
        funds_through=None,
        not_after=not_after.isoformat() if not_after else None,
        chunk_size=chunk_size,
        provinces=provinces,
        province_codes=codes,
        province_table=province_table,
        district_tables=district_tables,
        employers=units,
        si_perm=permutation(10**8, rng),
        nid_perm=permutation(10**6, rng),
    )
    fill_pools(ctx, divisions)
    return ctx


def _check_arguments(
    divisions: dict[str, Province], province_codes: Sequence[str], employees: int, chunk_size: int
) -> None:
    unknown = [p for p in province_codes if p not in divisions]
    if unknown:
        raise ValueError(f"unknown province code(s): {', '.join(unknown)}")
    if not province_codes:
        raise ValueError("at least one province is needed")
    if employees >= 10**8:
        raise ValueError("at most 99,999,999 employees (SI codes have 8 digits after the province)")
    if math.ceil(employees / chunk_size) * NID_SLOTS_PER_CHUNK > 10**6:
        raise ValueError(f"at most {10**6 // NID_SLOTS_PER_CHUNK * chunk_size:,} employees per file set")


def _head_counts(employers: int, employees: int) -> tuple[int, bool]:
    """(stopped employees, whether one unit has exactly 2,682): ~90% participating, at least enough for the 2,682
    unit and one person per other unit."""
    stopped = round(employees * STOPPED_SHARE)
    big = employees >= BIG_UNIT_SIZE and employers >= 1
    if big:
        needed = BIG_UNIT_SIZE + max(0, employers - 1)
        stopped = min(stopped, max(0, employees - needed))
        if employers == 1:  # the one unit is the 2,682 unit: everyone else has stopped
            stopped = employees - BIG_UNIT_SIZE
    return stopped, big
