"""Each dashboard file is named for what it holds, on 'Tệp của tôi', the admins' list and its job's page, and its
page goes back to the page it was asked from: the recoveries' and the overdue units' files were both called
"Tệp tiến độ chi trả" (Payment progress file) and went back to the payment progress page (found by the explorer)."""

from __future__ import annotations

import re

import pytest

from disburse.extensions import db
from disburse.jobs import service as jobs
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _back(response) -> str:
    found = re.search(r'<p class="back"><a href="([^"]*)">([^<]*)</a></p>\s*<h1', response.get_data(as_text=True))
    assert found
    return f"{found.group(1).replace('&amp;', '&')} {found.group(2)}"


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            {
                "recoveries": ("Tệp danh sách khoản thu hồi", "Về danh sách khoản thu hồi"),
                "overdue": ("Tệp đơn vị quá hạn xác nhận danh sách", "Về trang tồn đọng"),
                "progress": ("Tệp tiến độ chi trả", "Về trang tiến độ chi trả"),
            },
        ),
        (
            "en",
            {
                "recoveries": ("Recoveries file", "Back to the recoveries"),
                "overdue": ("Overdue units file", "Back to the backlog"),
                "progress": ("Payment progress file", "Back to payment progress"),
            },
        ),
    ],
)
def test_each_dashboard_file_says_what_it_holds_and_goes_back_where_it_was_asked(client, db_session, locale, words):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)

    def job(**params):
        return jobs.create_job("export.dashboard", {"format": "xlsx", **params}, created_by=supervisor.id)

    recoveries = job(province="01", district=None, table="recoveries", state="owed", filename="thu-hoi.xlsx")
    overdue = job(province="01", district="017", table="overdue_units", filename="don-vi-qua-han.xlsx")
    units = job(province="01", district=None, table="units", sort="percent_paid", descending=True, filename="t.xlsx")
    areas = job(province="01", district=None, table="areas", sort="code", descending=False, filename="a.xlsx")
    older = job(province="01", district="017", filename="cu.xlsx")  # a job of before the table was recorded
    db.session.flush()
    sign_in(client, supervisor, locale)

    listed = _text(client.get("/jobs/mine"))
    recoveries_label, recoveries_back = words["recoveries"]
    overdue_label, overdue_back = words["overdue"]
    progress_label, progress_back = words["progress"]
    assert f"{recoveries_label} thu-hoi.xlsx" in listed
    assert f"{overdue_label} don-vi-qua-han.xlsx" in listed
    assert f"{progress_label} t.xlsx" in listed and f"{progress_label} cu.xlsx" in listed

    shown = client.get(f"/jobs/{recoveries.id}")
    assert f": {recoveries_label}</h1>" in shown.get_data(as_text=True)
    assert _back(shown) == f"/dashboard/recoveries?province=01&state=owed {recoveries_back}"
    shown = client.get(f"/jobs/{overdue.id}")
    assert f": {overdue_label}</h1>" in shown.get_data(as_text=True)
    assert _back(shown) == f"/dashboard/backlog?district=017 {overdue_back}"
    # The progress table as it was shown: its table and order, or the page as most open it.
    assert _back(client.get(f"/jobs/{units.id}")) == (
        f"/dashboard/?province=01&table=units&sort=percent_paid&order=desc {progress_back}"
    )
    assert _back(client.get(f"/jobs/{areas.id}")) == f"/dashboard/?province=01 {progress_back}"
    assert _back(client.get(f"/jobs/{older.id}")) == f"/dashboard/?district=017 {progress_back}"


def test_the_admins_list_names_each_file_too(client, db_session):
    admin = create_user("admin", password=PASSWORD)
    jobs.create_job("export.dashboard", {"province": "01", "table": "recoveries", "format": "csv"}, created_by=admin.id)
    jobs.create_job("export.dashboard", {"province": "01", "table": "overdue_units", "format": "csv"})
    db.session.flush()
    sign_in(client, admin)
    listed = _text(client.get("/jobs/"))
    assert "Tệp danh sách khoản thu hồi" in listed and "Tệp đơn vị quá hạn xác nhận danh sách" in listed
    # The filter names the kind, whatever file it made.
    assert "Tệp tải từ trang tiến độ chi trả" in listed
