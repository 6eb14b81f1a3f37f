"""Where people and units are: the 2021 administrative units (GSO codes) from ``vietnam-provinces``, how much
of the insured workforce each holds, and street addresses with real ward names."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import vietnam_provinces
from faker.providers.address.vi_VN import Provider as _ViAddress

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
_STREETS = (
    *("Trần Hưng Đạo", "Lê Lợi", "Hai Bà Trưng", "Lý Thường Kiệt", "Lê Duẩn", "Quang Trung", "Trần Phú"),
    *("Nguyễn Văn Cừ", "Lê Thánh Tông", "Hùng Vương", "Điện Biên Phủ", "Phan Đình Phùng", "Hoàng Hoa Thám"),
    *("Lạc Long Quân", "Âu Cơ", "Trường Chinh", "Giải Phóng", "Nguyễn Chí Thanh", "Láng Hạ", "Kim Mã"),
    *("Tôn Đức Thắng", "Nguyễn Lương Bằng", "Xuân Thủy", "Phạm Văn Đồng", "Võ Nguyên Giáp", "Ngô Quyền"),
    *("Lý Thái Tổ", "Trần Quốc Toản", "Bà Triệu", "Phan Chu Trinh", "Nguyễn Thị Minh Khai", "Cao Bá Quát"),
    *("Trần Nhân Tông", "Lê Hồng Phong", "Chu Văn An", "Nguyễn Văn Linh", "Tây Sơn", "Minh Khai", "Tam Trinh"),
)
_ALL_STREETS = (*_STREETS, *_ViAddress.streets[:3])


@dataclass
class District:
    code: str
    name: str
    province_code: str
    wards: list[str]
    weight: float


@dataclass
class Province:
    code: str
    name: str
    phone_code: int
    codename: str
    districts: list[District]


def load_divisions() -> dict[str, Province]:
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    provinces: dict[str, Province] = {}
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
            districts.append(District(dcode, name, pcode, wards, weight))
        provinces[pcode] = Province(pcode, p["name"], int(p["phone_code"]), p["codename"], districts)
    return provinces


def province_codes() -> list[str]:
    """The 63 province codes of 2021 (GSO), for ``--provinces all``."""
    return sorted(load_divisions())


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


def postal_address(rng: random.Random, district: District, province: Province) -> str:
    ward = rng.choice(district.wards)
    return f"{_street_address(rng, ward, int(province.code) >= 45)}, {ward}, {district.name}, {province.name}"
