"""The dashboard tests' country: NQ116 claims in three districts of two provinces, and a month of reduction."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from disburse.reports.rollups import refresh_reduction_totals
from tests.conftest import PASSWORD, downloaded_name, sign_in  # noqa: F401 - this package's tests import them from here
from tests.factories import create_claim, create_employee, create_employer, nq116

DONG_ANH, SOC_SON, QUAN_1 = "017", "016", "760"


@pytest.fixture
def country(db_session):
    """NQ116 claims at two units of Đông Anh, one of Sóc Sơn (Hà Nội) and one of Quận 1 (Hồ Chí Minh City), and a
    month of reduction for the first Đông Anh unit."""
    units = {
        "near": create_employer(district_code=DONG_ANH, name="Công ty Gần"),
        "slow": create_employer(district_code=DONG_ANH, name="Công ty Chậm"),
        "north": create_employer(district_code=SOC_SON, name="Công ty Bắc"),
        "far": create_employer(district_code=QUAN_1, name="Công ty Xa"),
    }
    states = {
        "near": ("paid", "paid", "paid", "approved", "needs_review", "rejected"),
        "slow": ("paid", "listed", "listed", "awaiting_payment_details", "declined"),
        "north": ("paid", "needs_review"),
        "far": ("paid", "listed"),
    }
    for key, unit_states in states.items():
        unit = units[key]
        for state in unit_states:
            create_claim(state, employee=create_employee(employer_id=unit.id, district_code=unit.district_code))
    db_session.execute(
        text(
            "INSERT INTO reductions (program_id, employer_id, month, ui_salary_fund_vnd, ui_participants,"
            " normal_rate_bp, reduced_rate_bp, amount_vnd) VALUES (:p, :e, :m, 100000000, 12, 100, 0, 1000000)"
        ),
        {"p": nq116().id, "e": units["near"].id, "m": date(2021, 10, 1)},
    )
    refresh_reduction_totals(nq116().id)  # as the reductions' booking does after writing them
    return units
