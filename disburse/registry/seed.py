"""Realistic synthetic registry files for ``disburse seed``, the demo and the benchmarks.

``write_csvs`` writes employers.csv, employees.csv and salary_funds.csv in exactly the import columns of the
architecture, so the data reaches the database through the same path as the agency's files.

What makes the data realistic (and useful to test against):
- 2021 administrative units (GSO codes) from ``vietnam-provinces`` 0.6.0, with ward names in the addresses;
  employers spread over districts, employees mostly living near their employer.
- Heavy-tailed employer sizes, from a few staff to a few thousand, and one unit of exactly 2,682 employees
  (ToTo Vietnam's head count in the news) in Đông Anh whenever there are that many employees.
- All six sectors; Vietnamese names built from Faker's ``vi_VN`` lists (plus common surnames and given names
  Faker lacks), family name first; mobile numbers on Vietnamese prefixes.
- 10-digit SI codes (unique) and 12-digit CCCD numbers laid out as the real ones are: province-of-birth code,
  gender/century digit, birth-year digits, six digits (unique except the deliberate possible duplicates: the
  same person under two SI codes, about 0.2% of rows).
- About 90% participating and 10% stopped, stopped inside and outside the 2020-01-01 … 2021-09-30 window;
  unused months in every tier (a few exactly on the tier boundaries) and never more than the person's age or
  the UI scheme (which started in January 2009) allows; pension decisions among older stopped workers;
  about 15% without bank details.
- Monthly UI salary funds 2021-10 … 2022-09 per employer, from its head count and an average insured salary.

Speed and memory: employees are generated in fixed-size chunks, each from its own seeded random generator,
with every per-row choice drawn from pools built once (Faker per row would take hours at 13 million rows).
A chunk depends only on (seed, chunk number), so the files are byte-identical for the same arguments however
many processes write them, and memory depends on the number of employers, never on the number of employees.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import multiprocessing
import os
import random
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import vietnam_provinces
from faker.providers.address.vi_VN import Provider as _ViAddress
from faker.providers.company.vi_VN import Provider as _ViCompany
from faker.providers.person.vi_VN import Provider as _ViPerson

from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from disburse.registry.imports.salary_funds import SALARY_FUND_COLUMNS

# The files are written in exactly the columns the importer reads (architecture.md, "Import columns").

#: ToTo Vietnam's head count in the news (2,399 of 2,682 employees paid): one seeded unit has exactly this many.
BIG_UNIT_SIZE = 2682
BIG_UNIT_DISTRICT = "017"  # Đông Anh (Thăng Long industrial park), Hà Nội
CUTOFF = date(2021, 9, 30)
STOP_WINDOW = (date(2020, 1, 1), date(2021, 9, 30))
#: The UI scheme started on 1 January 2009: nobody has more unused months than the months since then.
UI_START = date(2009, 1, 1)
REDUCTION_START = date(2021, 10, 1)
REDUCTION_MONTHS = 12
#: The 2021 region I minimum wage (Decree 90/2019): the floor of an insured salary in Hà Nội's urban districts.
REGION_I_MIN_WAGE = 4_420_000

STOPPED_SHARE = 0.10
STOPPED_IN_WINDOW_SHARE = 0.78
STOPPED_WITH_LAST_EMPLOYER_SHARE = 0.6
DUPLICATE_RATE = 0.002
MISSING_BANK_RATE = 0.15
MISSING_PHONE_RATE = 0.04
BLANK_GENDER_RATE = 0.003
FEMALE_SHARE = 0.52

#: Employer sectors and their shares: mostly enterprises, a realistic minority of public bodies.
SECTOR_WEIGHTS = (
    ("enterprise", 0.885),
    ("public_autonomous", 0.035),
    ("public_budget", 0.045),
    ("state_agency", 0.02),
    ("political_org", 0.01),
    ("armed_forces", 0.005),
)

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

#: Rough shares of the insured workforce by province (GSO code); the provinces not named weigh 0.35.
PROVINCE_WEIGHTS = {
    "79": 18.0,
    "01": 10.0,
    "74": 9.0,
    "75": 6.0,
    "31": 3.0,
    "27": 3.0,
    "80": 2.5,
    "24": 2.0,
    "48": 1.5,
    "30": 1.3,
    "38": 1.3,
    "22": 1.2,
    "26": 1.2,
    "33": 1.2,
    "19": 1.2,
    "77": 1.2,
    "72": 1.0,
    "40": 1.0,
    "82": 0.9,
    "36": 0.8,
    "35": 0.8,
    "34": 0.7,
    "37": 0.6,
    "92": 0.6,
    "56": 0.6,
}
#: Districts with large industrial parks weigh like urban districts.
INDUSTRIAL_DISTRICTS = frozenset({"017", "018", "250", "276", "280", "764", "761", "783", "256", "725", "726"})

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
_STREETS = (
    *("Trần Hưng Đạo", "Lê Lợi", "Hai Bà Trưng", "Lý Thường Kiệt", "Lê Duẩn", "Quang Trung", "Trần Phú"),
    *("Nguyễn Văn Cừ", "Lê Thánh Tông", "Hùng Vương", "Điện Biên Phủ", "Phan Đình Phùng", "Hoàng Hoa Thám"),
    *("Lạc Long Quân", "Âu Cơ", "Trường Chinh", "Giải Phóng", "Nguyễn Chí Thanh", "Láng Hạ", "Kim Mã"),
    *("Tôn Đức Thắng", "Nguyễn Lương Bằng", "Xuân Thủy", "Phạm Văn Đồng", "Võ Nguyên Giáp", "Ngô Quyền"),
    *("Lý Thái Tổ", "Trần Quốc Toản", "Bà Triệu", "Phan Chu Trinh", "Nguyễn Thị Minh Khai", "Cao Bá Quát"),
    *("Trần Nhân Tông", "Lê Hồng Phong", "Chu Văn An", "Nguyễn Văn Linh", "Tây Sơn", "Minh Khai", "Tam Trinh"),
)
_ALL_STREETS = (*_STREETS, *_ViAddress.streets[:3])
_BUSINESS_LINES = (
    *("Thương mại và Dịch vụ", "May mặc", "Xây dựng", "Cơ khí", "Điện tử", "Thực phẩm", "Vận tải"),
    *("Đầu tư và Phát triển", "Công nghệ", "Dệt may", "Da giày", "Nhựa", "Bao bì", "Logistics"),
    *("Xuất nhập khẩu", "Kỹ thuật", "Môi trường", "Du lịch", "Dược phẩm", "Nội thất", "Thép"),
    *("Linh kiện Điện tử", "Giải pháp Phần mềm", "Vật liệu Xây dựng", "Chế biến Nông sản", "Sứ vệ sinh"),
)
_BRAND_SYLLABLES = (
    *("Minh", "Phát", "Hưng", "Thịnh", "Thành", "Công", "Phú", "Gia", "An", "Khang", "Đại", "Hoàng"),
    *("Long", "Việt", "Tiến", "Hòa", "Bình", "Nam", "Tân", "Quang", "Đông", "Sao", "Mai", "Kim"),
    *("Thái", "Sơn", "Hải", "Vạn", "Lộc", "Trường", "Phúc", "Thăng", "Toàn", "Cầu", "Nhật", "Hồng"),
)
# Faker's legal forms, limited liability and joint-stock companies weighted up (partnerships are rare).
_ENTERPRISE_FORMS = (*_ViCompany.company_suffixes[:5], *("Công ty TNHH", "Công ty Cổ phần") * 3)


@dataclass(frozen=True)
class SeedFiles:
    """Paths of the three files and what they hold."""

    employers: Path
    employees: Path
    salary_funds: Path
    employer_count: int
    employee_count: int
    salary_fund_count: int
    participating: int
    stopped: int
    #: Unit code of the unit with exactly 2,682 employees (None when there are fewer employees than that).
    big_unit_code: str | None
    #: Employers per district code (demo users pick the busiest district).
    employers_by_district: dict[str, int] = field(default_factory=dict)


@dataclass
class _District:
    code: str
    name: str
    province_code: str
    wards: list[str]
    weight: float


@dataclass
class _Province:
    code: str
    name: str
    phone_code: int
    codename: str
    districts: list[_District]


def _load_divisions() -> dict[str, _Province]:
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    provinces: dict[str, _Province] = {}
    for p in data:
        pcode = f"{p['code']:02d}"
        districts = []
        for d in p["districts"]:
            dcode = f"{d['code']:03d}"
            name = d["name"]
            weight = 3.0 if name.startswith(("Quận", "Thành phố")) or dcode in INDUSTRIAL_DISTRICTS else 1.0
            if name.startswith("Thị xã"):
                weight = 1.5
            wards = [w["name"] for w in d.get("wards", [])] or [name]
            districts.append(_District(dcode, name, pcode, wards, weight))
        provinces[pcode] = _Province(pcode, p["name"], int(p["phone_code"]), p["codename"], districts)
    return provinces


def _rng(seed: int, purpose: str) -> random.Random:
    """An independent generator per purpose (and per chunk), so each part of the data is reproducible alone."""
    return random.Random(f"{seed}:{purpose}")  # noqa: S311 - synthetic data, reproducible on purpose


def province_codes() -> list[str]:
    """The 63 province codes of 2021 (GSO), for ``--provinces all``."""
    return sorted(_load_divisions())


@functools.lru_cache(maxsize=8192)
def _ascii(text: str) -> str:
    """'Thành phố Hà Nội' → 'thanhphohanoi' (for e-mail addresses)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _csv_field(text: str) -> str:
    """Quote a field the way csv.writer (QUOTE_MINIMAL) does."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _lookup_table(weights: Sequence[float], size: int) -> list[int]:
    """A table of ``size`` indexes in which index k appears in proportion to weights[k] (drawn with one
    getrandbits/random call instead of a cumulative search per row)."""
    total = float(sum(weights))
    table: list[int] = []
    acc = 0.0
    for k, w in enumerate(weights):
        acc += w
        upto = round(acc / total * size)
        table.extend([k] * (upto - len(table)))
    table.extend([len(weights) - 1] * (size - len(table)))
    return table


def _permutation(modulus: int, rng: random.Random) -> tuple[int, int]:
    """(a, b) such that x ↦ (a·x + b) mod modulus is a bijection on [0, modulus) (modulus a power of ten)."""
    while True:
        a = rng.randrange(modulus // 10, modulus)
        if a % 2 and a % 5:
            return a, rng.randrange(modulus)


_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def _tax_check_digit(nine: str) -> int | None:
    """The check digit of a Vietnamese tax code (mã số thuế), or None when the nine digits have none."""
    check = 10 - sum(int(c) * w for c, w in zip(nine, _TAX_WEIGHTS, strict=True)) % 11
    return None if check == 10 else check


def _day_strings(first: date, last: date, shift: int = 0) -> list[str]:
    return [(first + timedelta(days=k + shift)).isoformat() for k in range((last - first).days + 1)]


def shift_date(day: date, shift_days: int) -> date:
    """A date of the NQ116 calendar moved by ``shift_days`` (the demo moves the whole programme to today)."""
    return day + timedelta(days=shift_days)


def shift_month(first_of_month: date, shift_days: int) -> date:
    """A contribution month (its first day) moved with the calendar: the month that holds the moved day."""
    return shift_date(first_of_month, shift_days).replace(day=1)


def salary_fund_months(shift_days: int = 0) -> list[str]:
    """The twelve contribution months of the reduction, ``YYYY-MM`` (2021-10 … 2022-09 unshifted)."""
    start = shift_month(REDUCTION_START, shift_days)
    return [
        f"{start.year + (start.month - 1 + k) // 12}-{(start.month - 1 + k) % 12 + 1:02d}"
        for k in range(REDUCTION_MONTHS)
    ]


# ---------------------------------------------------------------------------------------------------------
# Employers


@dataclass
class _Employers:
    unit_codes: list[str]
    province_codes: list[str]
    district_codes: list[str]
    sectors: list[str]
    sizes: list[int]
    #: ends[k] = number of participating employees of employers 0..k (for bisect from a row number).
    ends: list[int]
    big_index: int | None


def _employer_sizes(rng: random.Random, count: int, total: int, big_index: int | None) -> list[int]:
    """Heavy-tailed (log-normal) head counts summing exactly to ``total``; employer ``big_index`` gets 2,682 and
    no other employer does."""
    sizes = [0] * count
    if count == 0:
        return sizes
    rest_count = count - (big_index is not None)
    rest_total = total - (BIG_UNIT_SIZE if big_index is not None else 0)
    others = [k for k in range(count) if k != big_index]
    if rest_count == 0:
        if big_index is not None:
            sizes[big_index] = BIG_UNIT_SIZE
        return sizes
    average = rest_total / rest_count
    cap = max(6000, math.ceil(average * 3))
    raw = [math.exp(rng.gauss(0.0, 1.35)) for _ in range(rest_count)]
    floor = 1 if rest_total >= rest_count else 0

    def scaled(factor: float) -> list[int]:
        return [min(cap, max(floor, round(r * factor))) for r in raw]

    lo, hi = 1e-9, 1e9
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if sum(scaled(mid)) < rest_total:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.0001:
            break
    values = scaled(hi)
    # Settle the rounding difference one person at a time on random employers that have room.
    diff = rest_total - sum(values)
    while diff:
        k = rng.randrange(rest_count)
        if diff > 0 and values[k] < cap:
            values[k] += 1
            diff -= 1
        elif diff < 0 and values[k] > floor:
            values[k] -= 1
            diff += 1
    for k, v in enumerate(values):
        if v == BIG_UNIT_SIZE:  # exactly one unit of 2,682: move one person to the smallest unit
            values[k] -= 1
            values[values.index(min(values))] += 1
    for k, v in zip(others, values, strict=True):
        sizes[k] = v
    if big_index is not None:
        sizes[big_index] = BIG_UNIT_SIZE
    return sizes


def _employer_name(rng: random.Random, sector: str, district: _District, province: _Province) -> tuple[str, str]:
    """(name, e-mail domain) for a unit of ``sector``."""
    ward = rng.choice(district.wards)
    ward_short = ward.split(" ", 1)[1] if " " in ward else ward
    district_short = district.name.split(" ", 1)[1] if district.name.startswith(("Quận", "Huyện")) else district.name
    gov = _ascii(province.codename.replace("thanh_pho_", "").replace("tinh_", "")) + ".gov.vn"
    if sector == "enterprise":
        brand = f"{rng.choice(_BRAND_SYLLABLES)} {rng.choice(_BRAND_SYLLABLES)}"
        return f"{rng.choice(_ENTERPRISE_FORMS)} {rng.choice(_BUSINESS_LINES)} {brand}", _ascii(brand) + ".com.vn"
    if sector == "public_autonomous":
        kind = rng.choice(
            (
                f"Bệnh viện Đa khoa {district_short}",
                f"Trung tâm Y tế {district.name}",
                f"Trường Cao đẳng Nghề {district_short}",
                f"Ban Quản lý dự án Đầu tư xây dựng {district.name}",
                f"Trung tâm Dịch vụ Nông nghiệp {district.name}",
                f"Nhà xuất bản {rng.choice(_BRAND_SYLLABLES)} {rng.choice(_BRAND_SYLLABLES)}",
            )
        )
        return kind, gov
    if sector == "public_budget":
        school = rng.choice(("Trường Mầm non", "Trường Tiểu học", "Trường THCS", "Trường THPT", "Trạm Y tế"))
        return f"{school} {ward_short}", gov
    if sector == "state_agency":
        return rng.choice(
            (
                f"Ủy ban nhân dân {ward}",
                f"Phòng Tài chính - Kế hoạch {district.name}",
                f"Chi cục Thuế {district.name}",
                f"Phòng Lao động - Thương binh và Xã hội {district.name}",
                f"Văn phòng HĐND và UBND {district.name}",
            )
        ), gov
    if sector == "political_org":
        return rng.choice(
            (
                f"Hội Liên hiệp Phụ nữ {district.name}",
                f"Liên đoàn Lao động {district.name}",
                f"Hội Nông dân {ward}",
                f"Ủy ban Mặt trận Tổ quốc Việt Nam {district.name}",
                f"Huyện đoàn {district_short}" if district.name.startswith("Huyện") else f"Quận đoàn {district_short}",
            )
        ), gov
    return rng.choice(
        (
            f"Ban Chỉ huy Quân sự {district.name}",
            f"Công an {district.name}",
            f"Trung đoàn {rng.randrange(1, 999)}",
            f"Đồn Công an {ward_short}",
        )
    ), "mod.gov.vn"


def _street_address(rng: random.Random, ward: str, south: bool) -> str:
    lanes = ("Hẻm",) if south else ("Ngõ", "Ngách")
    if ward.startswith("Xã"):
        return f"Thôn {rng.choice(('Đông', 'Tây', 'Nam', 'Bắc', 'Trung', 'Thượng', 'Hạ', str(rng.randrange(1, 12))))}"
    number = rng.choice(_ViAddress.vi_building_number_formats).replace("%", "{}").replace("#", "{}")
    digits = [str(rng.randrange(1, 10))] + [str(rng.randrange(10)) for _ in range(number.count("{}") - 1)]
    house = number.format(*digits)
    street = rng.choice(_ALL_STREETS)
    if rng.random() < 0.45:
        return f"Số {house} {rng.choice(lanes)} {rng.randrange(1, 400)} {street}"
    return f"Số {house} {'Đường' if south else rng.choice(('Phố', 'Đường'))} {street}"


def _address(rng: random.Random, district: _District, province: _Province) -> str:
    ward = rng.choice(district.wards)
    return f"{_street_address(rng, ward, int(province.code) >= 45)}, {ward}, {district.name}, {province.name}"


# ---------------------------------------------------------------------------------------------------------
# Shared state of one write: pools built once, employer arrays. Module-global so forked workers inherit it.


@dataclass
class _Context:
    seed: int
    employees: int
    stopped: int
    #: Days every date of the data is moved by (0: the historical calendar), and the moved cut-off's year.
    shift_days: int
    cutoff_year: int
    #: Salary funds stop at this month (``YYYY-MM``): a registry holds no fund for a month still to come.
    funds_through: str | None
    chunk_size: int
    provinces: dict[str, _Province]
    province_codes: list[str]
    province_table: list[int]
    district_tables: dict[str, tuple[list[_District], list[int]]]
    employers: _Employers
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


_CTX: _Context | None = None
#: Rows per employee chunk, and how many CCCD serials one chunk may use per (birth province, gender, year).
EMPLOYEE_CHUNK = 40_000
_NID_SLOTS_PER_CHUNK = 1000
_NAME_POOL_BITS = 14
_ADDRESS_POOL_SIZE = 256
_YEARS = range(1956, 2004)  # ages 18–65 on the cut-off date


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


def _build_context(
    seed: int, employers: int, employees: int, province_codes: Sequence[str], chunk_size: int, shift_days: int = 0
) -> _Context:
    divisions = _load_divisions()
    unknown = [p for p in province_codes if p not in divisions]
    if unknown:
        raise ValueError(f"unknown province code(s): {', '.join(unknown)}")
    if not province_codes:
        raise ValueError("at least one province is needed")
    if employees >= 10**8:
        raise ValueError("at most 99,999,999 employees (SI codes have 8 digits after the province)")
    if math.ceil(employees / chunk_size) * _NID_SLOTS_PER_CHUNK > 10**6:
        raise ValueError(f"at most {10**6 // _NID_SLOTS_PER_CHUNK * chunk_size:,} employees per file set")
    rng = _rng(seed, "context")
    provinces = {code: divisions[code] for code in province_codes}
    codes = list(province_codes)
    province_table = _lookup_table([PROVINCE_WEIGHTS.get(c, 0.35) for c in codes], 4096)
    district_tables = {
        code: (p.districts, _lookup_table([d.weight for d in p.districts], 1024)) for code, p in provinces.items()
    }

    # Head counts: ~90% participating, at least enough for the 2,682 unit and one person per other unit.
    stopped = round(employees * STOPPED_SHARE)
    big = employees >= BIG_UNIT_SIZE and employers >= 1
    if big:
        needed = BIG_UNIT_SIZE + max(0, employers - 1)
        stopped = min(stopped, max(0, employees - needed))
        if employers == 1:  # the one unit is the 2,682 unit: everyone else has stopped
            stopped = employees - BIG_UNIT_SIZE
    participating = employees - stopped

    erng = _rng(seed, "employers")
    sectors = [s for s, _ in SECTOR_WEIGHTS]
    sector_table = _lookup_table([w for _, w in SECTOR_WEIGHTS], 1000)
    unit_codes, emp_provinces, emp_districts, emp_sectors = [], [], [], []
    serial_by_province: dict[str, int] = {}
    for _ in range(employers):
        pcode = codes[province_table[erng.getrandbits(12)]]
        districts, table = district_tables[pcode]
        district = districts[table[erng.getrandbits(10)]]
        serial = serial_by_province.get(pcode, 0) + 1
        serial_by_province[pcode] = serial
        unit_codes.append(f"DN{pcode}{serial:06d}")
        emp_provinces.append(pcode)
        emp_districts.append(district.code)
        emp_sectors.append(sectors[sector_table[erng.randrange(1000)]])
    big_index: int | None = None
    if big:
        # The big unit is an enterprise in Đông Anh when Hà Nội is seeded, else in the first province's first
        # district.
        target = BIG_UNIT_DISTRICT if "01" in provinces else provinces[codes[0]].districts[0].code
        big_index = next((k for k, d in enumerate(emp_districts) if d == target), 0)
        emp_districts[big_index] = target
        emp_provinces[big_index] = next(c for c, p in provinces.items() if any(d.code == target for d in p.districts))
        emp_sectors[big_index] = "enterprise"
    sizes = _employer_sizes(erng, employers, participating if employers else 0, big_index)
    if not employers:
        participating, stopped = 0, employees
    ends, acc = [], 0
    for s in sizes:
        acc += s
        ends.append(acc)

    ctx = _Context(
        seed=seed,
        employees=employees,
        stopped=stopped,
        shift_days=shift_days,
        cutoff_year=shift_date(CUTOFF, shift_days).year,
        funds_through=None,
        chunk_size=chunk_size,
        provinces=provinces,
        province_codes=codes,
        province_table=province_table,
        district_tables=district_tables,
        employers=_Employers(unit_codes, emp_provinces, emp_districts, emp_sectors, sizes, ends, big_index),
        si_perm=_permutation(10**8, rng),
        nid_perm=_permutation(10**6, rng),
    )
    ctx.names_male = _build_name_pool(_rng(seed, "names:m"), _MIDDLE_MALE, _FIRST_MALE + _ViPerson.first_names_male)
    ctx.names_female = _build_name_pool(
        _rng(seed, "names:f"), _MIDDLE_FEMALE, _FIRST_FEMALE + _ViPerson.first_names_female
    )
    ctx.birth_provinces = [int(c) for c in sorted(divisions)]
    ctx.months_pool = _months_pool(_rng(seed, "months"))
    births_by_age: dict[int, list[tuple[int, str]]] = {}
    earliest, latest = date(1956, 10, 1), date(2003, 9, 30)
    brng = _rng(seed, "births")
    for min_age in range(18, 32):
        # Old enough to have been insured for the months (from age 18): born at least min_age + 1 years before.
        years = [y for y in _YEARS if 2021 - y - 1 >= min_age or (min_age == 18 and y == 2003)]
        table = _lookup_table([_year_weight(y) for y in years], 4096)
        pairs = []
        for k in table:
            y = years[k]
            first, last = max(earliest, date(y, 1, 1)), min(latest, date(y, 12, 31))
            born = shift_date(first + timedelta(days=brng.randrange((last - first).days + 1)), shift_days)
            pairs.append((born.year, born.isoformat()))
        births_by_age[min_age] = pairs
    ctx.births_by_months = [births_by_age[18 + (m + 11) // 12] for m in range(154)]
    bank_index = _lookup_table([w for _, w, _ in BANK_WEIGHTS], 1024)
    ctx.bank_table = [(BANK_WEIGHTS[k][0], 10 ** BANK_WEIGHTS[k][2], BANK_WEIGHTS[k][2]) for k in bank_index]
    ctx.pension_year = ctx.cutoff_year - 55

    def stops(first: date, last: date) -> list[tuple[str, int]]:
        days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
        return [(shift_date(d, shift_days).isoformat(), (d.year - 2009) * 12 + d.month) for d in days]

    ctx.in_window_stops = stops(*STOP_WINDOW)
    ctx.before_window_stops = stops(date(2016, 1, 1), STOP_WINDOW[0] - timedelta(days=1))
    ctx.boundary_stops = (ctx.in_window_stops[0], ctx.in_window_stops[-1], ctx.before_window_stops[-1])
    for code, (districts, table) in district_tables.items():
        ctx.district_code_tables[code] = [districts[k].code for k in table]
        for district in districts:
            arng = _rng(seed, f"addresses:{district.code}")
            ctx.address_pools[district.code] = [
                _csv_field(_address(arng, district, provinces[code])) for _ in range(_ADDRESS_POOL_SIZE)
            ]
    return ctx


def _months_pool(rng: random.Random) -> list[int]:
    """Unused months in every tier, a few exactly on the tier boundaries; at most 153 (January 2009 to
    September 2021)."""
    ranges: list[tuple[int, int]] = []
    for lo, hi, share in (*MONTH_TIERS, (132, 153, MONTH_TOP_TIER_SHARE)):
        ranges.extend([(lo, hi)] * round(share * 10000))
    for b in MONTH_BOUNDARIES:
        ranges.extend([(b, b)] * round(MONTH_BOUNDARY_SHARE * 10000 / len(MONTH_BOUNDARIES)))
    return [rng.randint(*rng.choice(ranges)) for _ in range(1 << 14)]


# ---------------------------------------------------------------------------------------------------------
# Writers


def _employer_rows(ctx: _Context) -> Iterator[str]:
    rng = _rng(ctx.seed, "employer-rows")
    e = ctx.employers
    joined_days = _day_strings(UI_START, date(2021, 6, 30), ctx.shift_days)
    districts = {d.code: d for p in ctx.provinces.values() for d in p.districts}
    tax_prefixes = {code: {"79": "03", "31": "02", "48": "04"}.get(code, code) for code in ctx.provinces}
    for k, unit in enumerate(e.unit_codes):
        province = ctx.provinces[e.province_codes[k]]
        district = districts[e.district_codes[k]]
        if k == e.big_index:
            name, domain = "Công ty TNHH Thiết bị Vệ sinh Thăng Long", "thietbivesinhthanglong.com.vn"
        else:
            name, domain = _employer_name(rng, e.sectors[k], district, province)
        # Tax code: two province digits, seven digits unique per employer, and the check digit.
        n = k
        while True:
            seven = (n * 7_654_321 + ctx.seed) % 10**7
            tax_prefix = tax_prefixes[province.code]
            check = _tax_check_digit(f"{tax_prefix}{seven:07d}")
            if check is not None:
                break
            n += len(e.unit_codes)
        tax_code = f"{tax_prefix}{seven:07d}{check}"
        address = _csv_field(_address(rng, district, province))
        # Bigger units have taken part in UI for longer.
        joined = joined_days[int(len(joined_days) * rng.random() ** (1 + min(e.sizes[k], 3000) / 300))]
        email = f"nhansu.{unit.lower()}@{domain}"
        # Landlines have eleven digits: 0, the area code (24 for Hà Nội, 2xx elsewhere), the subscriber number.
        area = str(province.phone_code)
        phone = f"0{area}{rng.randrange(10 ** (10 - len(area))):0{10 - len(area)}d}"
        yield (
            f"{unit},{_csv_field(name)},{tax_code},{e.sectors[k]},{province.code},{district.code},{address},"
            f"{joined},{email},{phone}\n"
        )


def _salary_fund_rows(ctx: _Context) -> Iterator[tuple[int, str]]:
    """Per employer: (rows, its monthly lines). The fund is participants × the unit's average insured salary
    (log-normal around 7.5 million VND for enterprises, 6.2 million for public bodies, never below the region I
    minimum wage), varying a little month to month, rounded to thousands of đồng."""
    rng = _rng(ctx.seed, "salary-funds")
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


def _employee_chunk(c: int) -> str:
    """Rows [c·chunk, (c+1)·chunk) of employees.csv; depends only on (seed, c) and the shared context.

    The hot loop of the national seed (13 million rows): every choice is one draw into a pool built once.
    """
    ctx = _CTX
    assert ctx is not None
    rng = _rng(ctx.seed, f"employees:{c}")
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
    nid_base = c * _NID_SLOTS_PER_CHUNK
    nid_per_bucket = _NID_SLOTS_PER_CHUNK
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
            if months > cap:
                months = cap
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


def write_csvs(
    out_dir: Path,
    *,
    employers: int,
    employees: int,
    seed: int = 0,
    provinces: Sequence[str] = ("01",),
    shift_days: int = 0,
    funds_through: date | None = None,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SeedFiles:
    """Write employers.csv, employees.csv and salary_funds.csv under ``out_dir`` (created if needed).

    ``shift_days`` moves every date (births, stops, UI joining, salary-fund months) by that many days, for a
    programme whose calendar is NQ116's moved the same way (the demo's). ``funds_through`` leaves out the salary
    funds of the months after that date's month (the demo's months still to come).

    The same arguments give byte-identical files, whatever ``workers`` is (processes that generate employee
    chunks in parallel; default: one per CPU, at most eight, for large files). ``progress(file, done, total)``
    is called as rows are written.
    """
    global _CTX
    if employers < 0 or employees < 0:
        raise ValueError("counts cannot be negative")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = _build_context(seed, employers, employees, list(provinces), EMPLOYEE_CHUNK, shift_days)
    ctx.funds_through = f"{funds_through:%Y-%m}" if funds_through else None
    _CTX = ctx
    try:
        paths = (out_dir / "employers.csv", out_dir / "employees.csv", out_dir / "salary_funds.csv")
        with paths[0].open("w", encoding="utf-8", newline="") as fh:
            fh.write(",".join(EMPLOYER_COLUMNS) + "\n")
            for n, line in enumerate(_employer_rows(ctx), 1):
                fh.write(line)
                if progress and n % 10_000 == 0:
                    progress("employers", n, employers)
        if progress:
            progress("employers", employers, employers)

        chunks = math.ceil(employees / ctx.chunk_size)
        if workers is None:
            workers = min(8, os.cpu_count() or 1) if employees >= 200_000 else 1
        with paths[1].open("w", encoding="utf-8", newline="") as fh:
            fh.write(",".join(EMPLOYEE_COLUMNS) + "\n")
            for c, text in enumerate(_map_chunks(chunks, workers)):
                fh.write(text)
                if progress:
                    progress("employees", min((c + 1) * ctx.chunk_size, employees), employees)

        funds = 0
        with paths[2].open("w", encoding="utf-8", newline="") as fh:
            fh.write(",".join(SALARY_FUND_COLUMNS) + "\n")
            for k, (rows, text) in enumerate(_salary_fund_rows(ctx)):
                fh.write(text)
                funds += rows
                if progress and k % 5_000 == 0:
                    progress("salary_funds", funds, employers * REDUCTION_MONTHS)
        if progress:
            progress("salary_funds", funds, funds)

        e = ctx.employers
        by_district: dict[str, int] = {}
        for d in e.district_codes:
            by_district[d] = by_district.get(d, 0) + 1
        return SeedFiles(
            employers=paths[0],
            employees=paths[1],
            salary_funds=paths[2],
            employer_count=employers,
            employee_count=employees,
            salary_fund_count=funds,
            participating=employees - ctx.stopped,
            stopped=ctx.stopped,
            big_unit_code=e.unit_codes[e.big_index] if e.big_index is not None else None,
            employers_by_district=by_district,
        )
    finally:
        _CTX = None


def _map_chunks(chunks: int, workers: int) -> Iterator[str]:
    """Employee chunks in order; with several workers, forked processes (they inherit the context) generate
    them ahead while this process writes."""
    if workers <= 1 or chunks <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for c in range(chunks):
            yield _employee_chunk(c)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        # A bounded window of chunks in flight, so memory stays flat even if the disk is slower than the CPUs.
        window = deque(pool.submit(_employee_chunk, c) for c in range(min(chunks, 2 * workers)))
        submitted = len(window)
        while window:
            text = window.popleft().result()
            if submitted < chunks:
                window.append(pool.submit(_employee_chunk, submitted))
                submitted += 1
            yield text
