"""The seed's employers: where each unit is, its sector, its head count (heavy-tailed, with one unit of exactly
2,682 employees), its name, tax code, address and contacts, and the lines of employers.csv."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from faker.providers.company.vi_VN import Provider as _ViCompany

from disburse.registry.seeding.calendar import UI_START, day_strings
from disburse.registry.seeding.common import ascii_slug, csv_field, generator, lookup_table
from disburse.registry.seeding.places import District, Province, postal_address

if TYPE_CHECKING:
    from disburse.registry.seeding.context import Context

#: ToTo Vietnam's head count in the news (2,399 of 2,682 employees paid): one seeded unit has exactly this many.
BIG_UNIT_SIZE = 2682
BIG_UNIT_DISTRICT = "017"  # Đông Anh (Thăng Long industrial park), Hà Nội

#: Employer sectors and their shares: mostly enterprises, a realistic minority of public bodies.
SECTOR_WEIGHTS = (
    ("enterprise", 0.885),
    ("public_autonomous", 0.035),
    ("public_budget", 0.045),
    ("state_agency", 0.02),
    ("political_org", 0.01),
    ("armed_forces", 0.005),
)
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
_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass
class Employers:
    unit_codes: list[str]
    province_codes: list[str]
    district_codes: list[str]
    sectors: list[str]
    sizes: list[int]
    #: ends[k] = number of participating employees of employers 0..k (for bisect from a row number).
    ends: list[int]
    big_index: int | None


def build_employers(
    seed: int,
    count: int,
    provinces: dict[str, Province],
    codes: Sequence[str],
    province_table: list[int],
    district_tables: dict[str, tuple[list[District], list[int]]],
    *,
    participating: int,
    big: bool,
) -> Employers:
    """Where each employer is, its sector and head count; with ``big``, one unit of exactly 2,682 employees."""
    erng = generator(seed, "employers")
    sectors = [s for s, _ in SECTOR_WEIGHTS]
    sector_table = lookup_table([w for _, w in SECTOR_WEIGHTS], 1000)
    unit_codes, emp_provinces, emp_districts, emp_sectors = [], [], [], []
    serial_by_province: dict[str, int] = {}
    for _ in range(count):
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
    sizes = _employer_sizes(erng, count, participating, big_index)
    ends, acc = [], 0
    for s in sizes:
        acc += s
        ends.append(acc)
    return Employers(unit_codes, emp_provinces, emp_districts, emp_sectors, sizes, ends, big_index)


def _tax_check_digit(nine: str) -> int | None:
    """The check digit of a Vietnamese tax code (mã số thuế), or None when the nine digits have none."""
    check = 10 - sum(int(c) * w for c, w in zip(nine, _TAX_WEIGHTS, strict=True)) % 11
    return None if check == 10 else check


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


def _employer_name(rng: random.Random, sector: str, district: District, province: Province) -> tuple[str, str]:
    """(name, e-mail domain) for a unit of ``sector``."""
    ward = rng.choice(district.wards)
    ward_short = ward.split(" ", 1)[1] if " " in ward else ward
    district_short = district.name.split(" ", 1)[1] if district.name.startswith(("Quận", "Huyện")) else district.name
    gov = ascii_slug(province.codename.replace("thanh_pho_", "").replace("tinh_", "")) + ".gov.vn"
    if sector == "enterprise":
        brand = f"{rng.choice(_BRAND_SYLLABLES)} {rng.choice(_BRAND_SYLLABLES)}"
        return f"{rng.choice(_ENTERPRISE_FORMS)} {rng.choice(_BUSINESS_LINES)} {brand}", ascii_slug(brand) + ".com.vn"
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


def employer_rows(ctx: Context) -> Iterator[str]:
    """The lines of employers.csv, one per employer, in the order :func:`build_employers` made them."""
    rng = generator(ctx.seed, "employer-rows")
    e = ctx.employers
    joined_days = [d for d in day_strings(UI_START, date(2021, 6, 30), ctx.shift_days) if d <= (ctx.not_after or d)]
    if not joined_days:
        raise ValueError(f"the programme clock ({ctx.not_after}) is before unemployment insurance began")
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
        address = csv_field(postal_address(rng, district, province))
        # Bigger units have taken part in UI for longer.
        joined = joined_days[int(len(joined_days) * rng.random() ** (1 + min(e.sizes[k], 3000) / 300))]
        email = f"nhansu.{unit.lower()}@{domain}"
        # Landlines have eleven digits: 0, the area code (24 for Hà Nội, 2xx elsewhere), the subscriber number.
        area = str(province.phone_code)
        phone = f"0{area}{rng.randrange(10 ** (10 - len(area))):0{10 - len(area)}d}"
        yield (
            f"{unit},{csv_field(name)},{tax_code},{e.sectors[k]},{province.code},{district.code},{address},"
            f"{joined},{email},{phone}\n"
        )
