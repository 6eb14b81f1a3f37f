"""reference data: 2021 provinces and districts, banks, the built-in NQ116 program

Revision ID: 0002
Revises: 0001
"""

import json
from datetime import date

import sqlalchemy as sa
import vietnam_provinces
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# VietQR / NAPAS short codes and bank identification numbers.
BANKS = [
    ("VCB", "970436", "Ngân hàng TMCP Ngoại thương Việt Nam (Vietcombank)"),
    ("BIDV", "970418", "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam (BIDV)"),
    ("ICB", "970415", "Ngân hàng TMCP Công thương Việt Nam (VietinBank)"),
    ("VBA", "970405", "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam (Agribank)"),
    ("TCB", "970407", "Ngân hàng TMCP Kỹ thương Việt Nam (Techcombank)"),
    ("MB", "970422", "Ngân hàng TMCP Quân đội (MB)"),
    ("ACB", "970416", "Ngân hàng TMCP Á Châu (ACB)"),
    ("VPB", "970432", "Ngân hàng TMCP Việt Nam Thịnh Vượng (VPBank)"),
    ("TPB", "970423", "Ngân hàng TMCP Tiên Phong (TPBank)"),
    ("STB", "970403", "Ngân hàng TMCP Sài Gòn Thương Tín (Sacombank)"),
    ("HDB", "970437", "Ngân hàng TMCP Phát triển TP. Hồ Chí Minh (HDBank)"),
    ("VIB", "970441", "Ngân hàng TMCP Quốc tế Việt Nam (VIB)"),
    ("SHB", "970443", "Ngân hàng TMCP Sài Gòn - Hà Nội (SHB)"),
    ("EIB", "970431", "Ngân hàng TMCP Xuất Nhập khẩu Việt Nam (Eximbank)"),
    ("MSB", "970426", "Ngân hàng TMCP Hàng Hải Việt Nam (MSB)"),
    ("OCB", "970448", "Ngân hàng TMCP Phương Đông (OCB)"),
    ("SCB", "970429", "Ngân hàng TMCP Sài Gòn (SCB)"),
    ("SEAB", "970440", "Ngân hàng TMCP Đông Nam Á (SeABank)"),
    ("LPB", "970449", "Ngân hàng TMCP Bưu điện Liên Việt (LienVietPostBank)"),
    ("NAB", "970428", "Ngân hàng TMCP Nam Á (Nam A Bank)"),
    ("ABB", "970425", "Ngân hàng TMCP An Bình (ABBANK)"),
    ("BAB", "970409", "Ngân hàng TMCP Bắc Á (Bac A Bank)"),
    ("VCCB", "970454", "Ngân hàng TMCP Bản Việt (Viet Capital Bank)"),
    ("PGB", "970430", "Ngân hàng TMCP Xăng dầu Petrolimex (PG Bank)"),
    ("KLB", "970452", "Ngân hàng TMCP Kiên Long (KienlongBank)"),
    ("NCB", "970419", "Ngân hàng TMCP Quốc Dân (NCB)"),
    ("VAB", "970427", "Ngân hàng TMCP Việt Á (VietABank)"),
    ("SGICB", "970400", "Ngân hàng TMCP Sài Gòn Công Thương (Saigonbank)"),
    ("BVB", "970438", "Ngân hàng TMCP Bảo Việt (BaoViet Bank)"),
    ("VIETBANK", "970433", "Ngân hàng TMCP Việt Nam Thương Tín (Vietbank)"),
    ("PVCB", "970412", "Ngân hàng TMCP Đại Chúng Việt Nam (PVcomBank)"),
    ("OCEANBANK", "970414", "Ngân hàng TM TNHH MTV Đại Dương (OceanBank)"),
    ("GPB", "970408", "Ngân hàng TM TNHH MTV Dầu Khí Toàn Cầu (GPBank)"),
    ("CBB", "970444", "Ngân hàng TM TNHH MTV Xây dựng Việt Nam (CB)"),
    ("SHBVN", "970424", "Ngân hàng TNHH MTV Shinhan Việt Nam"),
    ("WVN", "970457", "Ngân hàng TNHH MTV Woori Việt Nam"),
    ("VRB", "970421", "Ngân hàng Liên doanh Việt - Nga (VRB)"),
    ("UOB", "970458", "Ngân hàng United Overseas Việt Nam (UOB)"),
    ("SCVN", "970410", "Ngân hàng TNHH MTV Standard Chartered Việt Nam"),
    ("PBVN", "970439", "Ngân hàng TNHH MTV Public Việt Nam"),
    ("HLBVN", "970442", "Ngân hàng TNHH MTV Hong Leong Việt Nam"),
    ("IVB", "970434", "Ngân hàng TNHH Indovina (IVB)"),
    ("CIMB", "422589", "Ngân hàng TNHH MTV CIMB Việt Nam"),
    ("VBSP", "999888", "Ngân hàng Chính sách Xã hội (VBSP)"),
]

# (min_months, amount_vnd): Resolution 116, Article 1(1)(c).
NQ116_TIERS = [(0, 1_800_000), (12, 2_100_000), (60, 2_400_000), (84, 2_650_000), (108, 2_900_000), (132, 3_300_000)]


def _divisions() -> tuple[list[dict], list[dict]]:
    """The 63 provinces and 696 districts of 2021, GSO codes, from vietnam-provinces 0.6.0."""
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    provinces = [{"code": f"{p['code']:02d}", "name": p["name"]} for p in data]
    districts = [
        {"code": f"{d['code']:03d}", "province_code": f"{p['code']:02d}", "name": d["name"]}
        for p in data
        for d in p["districts"]
    ]
    return provinces, districts


def upgrade():
    meta = sa.MetaData()
    provinces = sa.Table("provinces", meta, autoload_with=op.get_bind())
    districts = sa.Table("districts", meta, autoload_with=op.get_bind())
    banks = sa.Table("banks", meta, autoload_with=op.get_bind())
    programs = sa.Table("programs", meta, autoload_with=op.get_bind())
    tiers = sa.Table("amount_tiers", meta, autoload_with=op.get_bind())

    province_rows, district_rows = _divisions()
    op.bulk_insert(provinces, province_rows)
    op.bulk_insert(districts, district_rows)
    op.bulk_insert(banks, [{"code": c, "bin": b, "name": n} for c, b, n in BANKS])

    program_id = (
        op.get_bind()
        .execute(
            programs.insert()
            .values(
                code="NQ116",
                name_vi="Hỗ trợ người lao động và người sử dụng lao động bị ảnh hưởng bởi đại dịch COVID-19 "
                "từ Quỹ bảo hiểm thất nghiệp (Nghị quyết 116/NQ-CP)",
                name_en="Support for employees and employers affected by COVID-19 from the unemployment-insurance fund "
                "(Resolution 116/NQ-CP)",
                cutoff_date=date(2021, 9, 30),
                stop_window_start=date(2020, 1, 1),
                stop_window_end=date(2021, 9, 30),
                months_counted_to=date(2021, 9, 30),
                max_months=600,
                excluded_sectors=["public_budget", "state_agency", "political_org", "armed_forces"],
                list_deadline=date(2021, 10, 20),
                employer_review_wd=5,
                adjustment_deadline=date(2021, 11, 10),
                payment_after_confirmation_wd=10,
                payment_after_adjustment_days=20,
                track_a_fallback_after=date(2021, 11, 30),
                application_deadline=date(2021, 12, 20),
                application_payment_wd=10,
                payment_deadline=date(2021, 12, 31),
                extension_until=date(2022, 9, 10),
                reduction_start_month=date(2021, 10, 1),
                reduction_months=12,
                normal_rate_bp=100,
                reduced_rate_bp=0,
                max_payment_failures=3,
            )
            .returning(programs.c.id)
        )
        .scalar_one()
    )
    op.bulk_insert(tiers, [{"program_id": program_id, "min_months": m, "amount_vnd": a} for m, a in NQ116_TIERS])


def downgrade():
    op.execute("DELETE FROM amount_tiers WHERE program_id = (SELECT id FROM programs WHERE code = 'NQ116')")
    op.execute("DELETE FROM programs WHERE code = 'NQ116'")
    op.execute("DELETE FROM banks")
    op.execute("DELETE FROM districts")
    op.execute("DELETE FROM provinces")
