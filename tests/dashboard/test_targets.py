"""Completion targets: a supervisor sets one per district and date (CSRF-protected form); the dashboard shows
progress against it ("50,0% / 80%"); an invalid value is said beside its field in both languages and saves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from disburse.reports.models import CompletionTarget
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, sign_in
from tests.factories import create_user


def _targets(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(CompletionTarget))


def test_a_supervisor_sets_a_target_and_the_dashboard_shows_progress_against_it(client, country, db_session):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    page = client.get("/dashboard/targets")
    assert page.status_code == 200 and "Huyện Đông Anh (017)" in page.get_data(as_text=True)
    assert "Quận 1 (760)" not in page.get_data(as_text=True)  # another province's district is no choice
    saved = client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": "30/11/2021", "percent": "80"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/dashboard/targets"
    listed = client.get("/dashboard/targets").get_data(as_text=True)
    assert "Đã đặt mục tiêu 80% cho Huyện Đông Anh đến ngày 30/11/2021." in listed
    assert "30/11/2021" in listed and "44,4% / 80%" in listed  # Đông Anh: 4 of 9 eligible paid
    # The same district and date again replaces the target.
    client.post("/dashboard/targets", data={"district": DONG_ANH, "target_date": "30/11/2021", "percent": "74,5"})
    assert _targets(db_session) == 1
    province = client.get("/dashboard/?sort=target_gap&order=desc").get_data(as_text=True)
    assert "44,4% / 74,5%" in province and 'aria-sort="descending"' in province
    district = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    assert 'id="target"' in district and "44,4% / 74,5%" in district and "còn thiếu 30,1%" in district


@pytest.mark.parametrize(
    ("fields", "field", "vi", "en"),
    [
        ({"percent": "120"}, "percent", "Tỷ lệ cần đạt từ 0 đến 100%.", "The target is between 0 and 100%."),
        ({"percent": "tám mươi"}, "percent", "Ghi tỷ lệ từ 0 đến 100", "Write a percentage from 0 to 100"),
        ({"percent": ""}, "percent", "Hãy ghi tỷ lệ cần đạt.", "Enter the target percentage."),
        (
            {"target_date": "31/02/2021"},
            "target_date",
            "Ngày 31/02/2021 không có trong lịch",
            "31/02/2021 is not a date",
        ),
        ({"district": QUAN_1}, "district", "Hãy chọn một trong các lựa chọn", "Choose one of the options"),
        ({"district": ""}, "district", "Hãy chọn quận/huyện.", "Choose a district."),
    ],
)
@pytest.mark.parametrize("locale", ["vi", "en"])
def test_invalid_targets_are_said_beside_their_field(client, country, db_session, fields, field, vi, en, locale):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    data = {"district": DONG_ANH, "target_date": "30/11/2021", "percent": "80", **fields}
    response = client.post("/dashboard/targets", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = html.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert (vi if locale == "vi" else en) in error
    assert f'aria-describedby="{field}-hint {field}-error"' in html or f'aria-describedby="{field}-error"' in html
    assert _targets(db_session) == 0


@pytest.mark.parametrize("role", ["caseworker", "employer"])
def test_only_supervisors_and_admins_set_targets(client, db_session, role):
    sign_in(client, create_user(role, password=PASSWORD))
    assert client.get("/dashboard/targets").status_code == 403
    assert client.post("/dashboard/targets", data={"district": DONG_ANH}).status_code == 403
