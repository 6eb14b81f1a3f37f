"""The seed's employees: who they are, where they work and live, their UI status, unused months and bank, and
the lines of employees.csv.

Every per-row choice is one draw into a pool built once per write (:func:`fill_pools`): Faker per row would take
hours at 13 million rows. Rows are generated in chunks (:func:`employee_chunk`), each from its own seeded
generator, so a chunk depends only on (seed, chunk number).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from faker.providers.person.vi_VN import Provider as _ViPerson

from disburse.registry.seeding.calendar import STOP_WINDOW, shift_date
from disburse.registry.seeding.common import csv_field, generator, lookup_table
from disburse.registry.seeding.places import Province, postal_address

if TYPE_CHECKING:
    from disburse.registry.seeding.context import Context

STOPPED_SHARE = 0.10
STOPPED_IN_WINDOW_SHARE = 0.78
STOPPED_WITH_LAST_EMPLOYER_SHARE = 0.6
DUPLICATE_RATE = 0.002
MISSING_BANK_RATE = 0.15
MISSING_PHONE_RATE = 0.04
BLANK_GENDER_RATE = 0.003
FEMALE_SHARE = 0.52

#: Unused-month tiers (inclusive ranges) and their shares; the rest goes to the exact tier boundaries.
MONTH_TIERS = ((0, 0, 0.01), (1, 11, 0.20), (12, 59, 0.38), (60, 83, 0.14), (84, 107, 0.11), (108, 131, 0.08))
MONTH_TOP_TIER_SHARE = 0.07  # ≥ 132, up to the months since January 2009
MONTH_BOUNDARIES = (11, 12, 59, 60, 83, 84, 107, 108, 131, 132)
MONTH_BOUNDARY_SHARE = 0.01

#: Bank short codes (migration 0002's list) with rough shares of payroll accounts and account-number lengths.
BANK_WEIGHTS = (
    ("VBA", 16, 13),
    ("VCB", 15, 13),
    ("BIDV", 14, 14),
    ("ICB", 12, 12),
    ("TCB", 9, 14),
    ("MB", 8, 13),
    ("ACB", 5, 9),
    ("VPB", 5, 9),
    ("TPB", 3, 11),
    ("STB", 3, 12),
    ("HDB", 2, 15),
    ("VIB", 2, 15),
    ("SHB", 2, 12),
    ("EIB", 1, 13),
    ("MSB", 1, 14),
    ("OCB", 1, 13),
    ("SEAB", 1, 13),
    ("LPB", 1, 12),
    ("NAB", 0.5, 12),
    ("ABB", 0.5, 13),
    ("BAB", 0.5, 12),
    ("KLB", 0.5, 11),
    ("NCB", 0.5, 12),
    ("PVCB", 0.5, 12),
    ("SCB", 0.5, 13),
    ("SHBVN", 0.5, 12),
    ("WVN", 0.3, 12),
    ("UOB", 0.2, 10),
    ("VBSP", 0.5, 14),
)

#: Mobile prefixes in use since the 2018 renumbering (Viettel, MobiFone, VinaPhone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = (
    *("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"),
    *("070", "076", "077", "078", "079", "089", "090", "093"),
    *("081", "082", "083", "084", "085", "088", "091", "094"),
    *("052", "056", "058", "092"),
    *("059", "099"),
)

# Faker's vi_VN lists are short (ten surnames); these add the common names they lack. Shares of surnames follow
# the usual estimates (Nguyễn about a third of the population).
_SURNAME_WEIGHTS = {
    "Nguyễn": 31.5,
    "Trần": 10.9,
    "Lê": 9.5,
    "Phạm": 7.0,
    "Hoàng": 3.0,
    "Huỳnh": 2.1,
    "Phan": 4.5,
    "Vũ": 2.0,
    "Võ": 1.9,
    "Đặng": 2.1,
    "Bùi": 2.0,
    "Đỗ": 1.4,
    "Hồ": 1.3,
    "Ngô": 1.3,
    "Dương": 1.0,
    "Lý": 0.5,
    "Đinh": 0.8,
    "Trịnh": 0.6,
    "Đào": 0.6,
    "Lương": 0.5,
    "Mai": 0.5,
    "Cao": 0.4,
    "Tạ": 0.3,
    "Lưu": 0.3,
    "Chu": 0.3,
    "Hà": 0.4,
    "Tô": 0.3,
    "Đoàn": 0.5,
    "Vương": 0.2,
    "Kiều": 0.2,
    "Thái": 0.2,
    "Triệu": 0.2,
    "Lâm": 0.3,
    "Quách": 0.1,
    "Khúc": 0.05,
}
_MIDDLE_MALE: tuple[str, ...] = (
    "Văn",
    "Đức",
    "Quang",
    "Minh",
    "Hữu",
    "Thế",
    "Tuấn",
    "Xuân",
    "Công",
    "Ngọc",
    "Thanh",
    "Mạnh",
)
_MIDDLE_MALE += ("Trọng", "Duy", "Tiến", "Bá", "Đình", "Hoàng", "Anh", "Việt", "Quốc", "Trung", "Gia", "Hải")
_MIDDLE_FEMALE: tuple[str, ...] = (
    "Thị",
    "Thu",
    "Ngọc",
    "Thanh",
    "Minh",
    "Phương",
    "Hồng",
    "Thùy",
    "Bích",
    "Kim",
    "Diệu",
)
_MIDDLE_FEMALE += ("Mai", "Khánh", "Hoài", "Lan", "Thảo", "Quỳnh", "Hải", "Bảo", "Tuyết", "Hoàng", "Vân")
_FIRST_MALE: tuple[str, ...] = (
    "Hùng",
    "Dũng",
    "Tuấn",
    "Long",
    "Sơn",
    "Cường",
    "Thắng",
    "Đức",
    "Việt",
    "Khánh",
    "Phong",
)
_FIRST_MALE += ("Quân", "Hiếu", "Kiên", "Bình", "Toàn", "Lộc", "Đạt", "Khải", "Hậu", "Thịnh", "Tài", "Tâm")
_FIRST_MALE += ("Nghĩa", "Hòa", "Thái", "Lâm", "Phú", "Tiến", "Hải", "Hưng", "Duy", "Vinh", "Công", "Lực")
_FIRST_FEMALE: tuple[str, ...] = (
    "Hoa",
    "Trang",
    "Hằng",
    "Thủy",
    "Huyền",
    "Nga",
    "Hà",
    "Phương",
    "Dung",
    "Oanh",
    "Nhung",
)
_FIRST_FEMALE += ("Liên", "Loan", "Hạnh", "Giang", "Hiền", "Quỳnh", "Anh", "Ly", "Vy", "Nhi", "Thu", "Thơ")
_FIRST_FEMALE += ("Tâm", "Trâm", "Uyên", "Hiên", "Nhàn", "Lý", "Thúy", "Tuyết", "Hậu", "Minh", "My", "Ngân")

#: How many CCCD serials one chunk may use per (birth province, gender, year).
NID_SLOTS_PER_CHUNK = 1000
_NAME_POOL_BITS = 14
_ADDRESS_POOL_SIZE = 256
_YEARS = range(1956, 2004)  # ages 18–65 on the cut-off date


def fill_pools(ctx: Context, divisions: dict[str, Province]) -> None:
    """The pools the employee rows draw from, each from its own seeded generator."""
    seed, shift_days = ctx.seed, ctx.shift_days
    ctx.names_male = _build_name_pool(
        generator(seed, "names:m"), _MIDDLE_MALE, _FIRST_MALE + _ViPerson.first_names_male
    )
    ctx.names_female = _build_name_pool(
        generator(seed, "names:f"), _MIDDLE_FEMALE, _FIRST_FEMALE + _ViPerson.first_names_female
    )
    ctx.birth_provinces = [int(c) for c in sorted(divisions)]
    ctx.months_pool = _months_pool(generator(seed, "months"))
    ctx.births_by_months = _births_by_months(seed, shift_days)
    bank_index = lookup_table([w for _, w, _ in BANK_WEIGHTS], 1024)
    ctx.bank_table = [(BANK_WEIGHTS[k][0], 10 ** BANK_WEIGHTS[k][2], BANK_WEIGHTS[k][2]) for k in bank_index]
    ctx.pension_year = ctx.cutoff_year - 55
    ctx.in_window_stops = _up_to(_stops(*STOP_WINDOW, shift_days), ctx.not_after)
    ctx.before_window_stops = _up_to(
        _stops(date(2016, 1, 1), STOP_WINDOW[0] - timedelta(days=1), shift_days), ctx.not_after
    )
    if not ctx.before_window_stops:
        raise ValueError(f"the programme clock ({ctx.not_after}) is too early for a registry of stopped employees")
    if not ctx.in_window_stops:  # a clock before the stop window: nobody can have stopped inside it yet
        ctx.in_window_stops = ctx.before_window_stops
    ctx.boundary_stops = (ctx.in_window_stops[0], ctx.in_window_stops[-1], ctx.before_window_stops[-1])
    for code, (districts, table) in ctx.district_tables.items():
        ctx.district_code_tables[code] = [districts[k].code for k in table]
        for district in districts:
            arng = generator(seed, f"addresses:{district.code}")
            ctx.address_pools[district.code] = [
                csv_field(postal_address(arng, district, ctx.provinces[code])) for _ in range(_ADDRESS_POOL_SIZE)
            ]


def _build_name_pool(rng: random.Random, middles: Sequence[str], firsts: Sequence[str]) -> list[str]:
    surnames = list(_SURNAME_WEIGHTS) + [s for s in _ViPerson.last_names if s not in _SURNAME_WEIGHTS]
    weights = [_SURNAME_WEIGHTS.get(s, 0.3) for s in surnames]
    pool = []
    for _ in range(1 << _NAME_POOL_BITS):
        surname = rng.choices(surnames, weights)[0]
        middle = rng.choice(middles)
        if rng.random() < 0.12:  # a second middle name ("Nguyễn Thị Thu Hà")
            middle = f"{middle} {rng.choice(middles)}"
        pool.append(f"{surname} {middle} {rng.choice(firsts)}")
    return pool


def _year_weight(year: int) -> float:
    age = 2021 - year
    # The insured workforce peaks in the late twenties and thins out after fifty.
    return math.exp(-(((age - 31) / 10.5) ** 2)) + (0.15 if age < 60 else 0.05)


def _months_pool(rng: random.Random) -> list[int]:
    """Unused months in every tier, a few exactly on the tier boundaries; at most 153 (January 2009 to
    September 2021)."""
    ranges: list[tuple[int, int]] = []
    for lo, hi, share in (*MONTH_TIERS, (132, 153, MONTH_TOP_TIER_SHARE)):
        ranges.extend([(lo, hi)] * round(share * 10000))
    for b in MONTH_BOUNDARIES:
        ranges.extend([(b, b)] * round(MONTH_BOUNDARY_SHARE * 10000 / len(MONTH_BOUNDARIES)))
    return [rng.randint(*rng.choice(ranges)) for _ in range(1 << 14)]


def _births_by_months(seed: int, shift_days: int) -> list[list[tuple[int, str]]]:
    """For each possible count of unused months, 4,096 (year of birth, date of birth) pairs old enough for it."""
    births_by_age: dict[int, list[tuple[int, str]]] = {}
    earliest, latest = date(1956, 10, 1), date(2003, 9, 30)
    brng = generator(seed, "births")
    for min_age in range(18, 32):
        # Old enough to have been insured for the months (from age 18): born at least min_age + 1 years before.
        years = [y for y in _YEARS if 2021 - y - 1 >= min_age or (min_age == 18 and y == 2003)]
        table = lookup_table([_year_weight(y) for y in years], 4096)
        pairs = []
        for k in table:
            y = years[k]
            first, last = max(earliest, date(y, 1, 1)), min(latest, date(y, 12, 31))
            born = shift_date(first + timedelta(days=brng.randrange((last - first).days + 1)), shift_days)
            pairs.append((born.year, born.isoformat()))
        births_by_age[min_age] = pairs
    return [births_by_age[18 + (m + 11) // 12] for m in range(154)]


def _up_to(stops: list[tuple[str, int]], not_after: str | None) -> list[tuple[str, int]]:
    return stops if not_after is None else [stop for stop in stops if stop[0] <= not_after]


def _stops(first: date, last: date, shift_days: int) -> list[tuple[str, int]]:
    """Stop dates from ``first`` to ``last`` (shifted), each with the most unused months one can have when
    stopping then (the months since January 2009)."""
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return [(shift_date(d, shift_days).isoformat(), (d.year - 2009) * 12 + d.month) for d in days]


def employee_chunk(ctx: Context, c: int) -> str:
    """Rows [c·chunk, (c+1)·chunk) of employees.csv; depends only on (seed, c) and the shared context.

    The hot loop of the national seed (13 million rows): every choice is one draw into a pool built once.
    """
    rng = generator(ctx.seed, f"employees:{c}")
    rand = rng.random
    bits = rng.getrandbits
    M, S = ctx.employees, ctx.stopped
    start, end = c * ctx.chunk_size, min((c + 1) * ctx.chunk_size, M)
    e = ctx.employers
    ends, unit_codes, emp_provinces, emp_districts = e.ends, e.unit_codes, e.province_codes, e.district_codes
    n_employers = len(unit_codes)
    si_a, si_b = ctx.si_perm
    nid_a, nid_b = ctx.nid_perm
    names_m, names_f = ctx.names_male, ctx.names_female
    months_pool, births_by_months = ctx.months_pool, ctx.births_by_months
    bank_table = ctx.bank_table
    in_window, before_window, boundary_stops = ctx.in_window_stops, ctx.before_window_stops, ctx.boundary_stops
    n_in, n_before = len(in_window), len(before_window)
    cutoff_year, pension_year = ctx.cutoff_year, ctx.pension_year
    birth_provinces = ctx.birth_provinces
    n_birth = len(birth_provinces)
    codes, province_table = ctx.province_codes, ctx.province_table
    district_codes, address_pools = ctx.district_code_tables, ctx.address_pools
    mobile = MOBILE_PREFIXES[:32]
    nid_base = c * NID_SLOTS_PER_CHUNK
    nid_per_bucket = NID_SLOTS_PER_CHUNK
    #: (birth province, gender/century, year) → [serials used in this chunk, the first six CCCD digits]
    nid_slots: dict[int, list[Any]] = {}
    recent: list[tuple[str, str, str, str, int]] = []
    out: list[str] = []
    append = out.append
    employer_k = -1
    next_end = 0
    unit = pcode = home_district = ""

    # Stopped rows are spread evenly (Bresenham): row i is stopped when ⌊(i+1)·S/M⌋ > ⌊i·S/M⌋, so the number of
    # stopped rows before any row, and with it the participating row's employer, is known without the earlier
    # chunks.
    stopped_before, remainder = divmod(start * S, M) if M else (0, 0)
    for i in range(start, end):
        remainder += S
        if remainder >= M:
            remainder -= M
            stopped_before += 1
            status = "stopped"
            if n_employers and rand() < STOPPED_WITH_LAST_EMPLOYER_SHARE:
                k = bits(40) % n_employers
                row_unit, row_pcode, row_home = unit_codes[k], emp_provinces[k], emp_districts[k]
            else:
                row_unit = ""
                row_pcode = codes[province_table[bits(12)]]
                row_home = district_codes[row_pcode][bits(10)]
        else:
            status = "participating"
            p = i - stopped_before
            if p >= next_end:
                employer_k = bisect.bisect_right(ends, p)
                next_end = ends[employer_k]
                unit, pcode, home_district = (
                    unit_codes[employer_k],
                    emp_provinces[employer_k],
                    emp_districts[employer_k],
                )
            row_unit, row_pcode, row_home = unit, pcode, home_district
        # Where the person lives: often the employer's district, otherwise elsewhere in the province.
        dcode = row_home if rand() < 0.55 else district_codes[row_pcode][bits(10)]
        address = address_pools[dcode][bits(8)]
        months = months_pool[bits(14)]

        if recent and rand() < DUPLICATE_RATE:
            # The same person under a second SI code (possibly on a second employer's list).
            name, dob, gender, nid, year = recent[bits(9) % len(recent)]
            months = max(0, min(months, (cutoff_year - year - 19) * 12 + 9))
        else:
            r = rand()
            female = r < FEMALE_SHARE
            gender = ("female" if female else "male") if r < 1 - BLANK_GENDER_RATE else ""
            name = names_f[bits(14)] if female else names_m[bits(14)]
            year, dob = births_by_months[months][bits(12)]
            birth_province = int(row_pcode) if rand() < 0.7 else birth_provinces[bits(16) % n_birth]
            gdigit = (0 if year < 2000 else 2) + female
            while True:
                bucket = birth_province * 1000 + gdigit * 100 + year % 100
                slot = nid_slots.get(bucket)
                if slot is None:
                    slot = nid_slots[bucket] = [0, f"{birth_province:03d}{gdigit}{year % 100:02d}"]
                used = slot[0]
                if used < nid_per_bucket:
                    slot[0] = used + 1
                    break
                birth_province = birth_provinces[bits(16) % n_birth]
            # A bijection on six digits, shifted per bucket so serials do not repeat across buckets.
            nid = slot[1] + str(((nid_base + used) * nid_a + nid_b + bucket * 7919) % 1_000_000).zfill(6)
            if not i & 3:  # remember some people, to repeat one now and then as a possible duplicate
                if len(recent) < 512:
                    recent.append((name, dob, gender, nid, year))
                else:
                    recent[bits(9)] = (name, dob, gender, nid, year)

        if status == "stopped":
            r = rand()
            if r < 0.006:
                stop, cap = boundary_stops[bits(8) % 3]
            elif r < STOPPED_IN_WINDOW_SHARE:
                stop, cap = in_window[int(rand() * n_in)]
            else:
                stop, cap = before_window[int(rand() * n_before)]
            # Months cannot exceed the time between January 2009 and the stop.
            months = min(months, cap)
            pension = "yes" if year <= pension_year and rand() < 0.35 else "no"
        else:
            stop = ""
            pension = "no"
        phone = "" if rand() < MISSING_PHONE_RATE else mobile[bits(5)] + str(bits(24) % 10_000_000).zfill(7)
        if rand() < MISSING_BANK_RATE:
            bank = account = ""
        else:
            bank, modulus, length = bank_table[bits(10)]
            account = str(bits(50) % modulus).zfill(length)
        si = row_pcode + str((i * si_a + si_b) % 100_000_000).zfill(8)
        append(
            f"{si},{nid},{name},{dob},{gender},{phone},{row_pcode},"
            f"{dcode},{address},{row_unit},{status},{stop},{months},{pension},{bank},{account}\n"
        )
    return "".join(out)
