"""Completion percentages are rounded down, never to the nearest: nothing reads "100,0%" while anyone is unpaid, and a
missed target never reads "còn thiếu 0,0%", on the dashboard's summary, tables and charts, its spreadsheets, the
monthly report, the API and the home page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from disburse.dashboard.exports import percent_cell
from disburse.dashboard.views import against_target, behind_by
from disburse.formatting import percent, tenths_down
from disburse.reports.dashboard import figures_of, gap_bp, set_target
from disburse.reports.rollups import take_snapshots
from disburse.reports.service import percent_of
from tests.dashboard.conftest import DONG_ANH, PASSWORD, SOC_SON, sign_in
from tests.factories import create_employer, create_user, nq116


def _value(shown: str) -> Fraction:
    """ "99,9%" → 99.9 (Vietnamese: a comma for the decimal point; no grouping below 1.000)."""
    return Fraction(shown.removesuffix("%").replace(",", "."))


@settings(max_examples=500, deadline=None)
@given(
    eligible=st.integers(1, 20_000_000),
    short=st.integers(0, 2_000),
    target_bp=st.integers(0, 10_000),
    data=st.data(),
)
def test_a_percentage_shown_never_rounds_up_and_a_missed_target_is_never_behind_by_nothing(
    app, eligible, short, target_bp, data
):
    """Over paid / eligible / target (paid often a few short of all, where rounding to the nearest read 100,0%):
    every place a completion percentage is shown or exported cuts it to a tenth (at most the exact figure, less than
    a tenth under it, 100 only when all are paid); a target missed by any fraction says how far behind in figures
    that add up to it with what is shown, a target reached says so."""
    paid = data.draw(st.sampled_from([max(eligible - short, 0), min(short, eligible)]) | st.integers(0, eligible))
    exact = Fraction(100 * paid, eligible)
    figures = figures_of({"paid": (paid, paid * 1_000, 0, 0), "approved": (eligible - paid, 0, 0, 0)})
    with app.test_request_context("/"):  # Vietnamese, as the pages are first
        shown = {
            "summary, tables, bar chart": percent(figures["percent_paid"]),
            "completion over time": percent(figures["percent_paid_bp"] / 100),
            "home page, a unit's pages": percent(percent_of(paid, eligible)),
        }
        for where, written in shown.items():
            assert re.fullmatch(r"[0-9]{1,3},[0-9]%", written), where
            assert _value(written) <= exact < _value(written) + Fraction(1, 10), where
            assert (written == "100,0%") == (paid == eligible), where
        on_page = _value(shown["summary, tables, bar chart"])
        assert Fraction(str(percent_cell(figures["percent_paid"]))) == on_page  # the spreadsheets
        assert Fraction(str(tenths_down(figures["percent_paid"]))) == on_page  # the progress bars
        api = Fraction(str(percent_of(paid, eligible)))  # the API: two decimals, rounded down too
        assert api <= exact < api + Fraction(1, 100) and (api == 100) == (paid == eligible)
        gap = gap_bp(target_bp, figures["percent_paid_bp"])
        assert (gap > 0) == (exact < Fraction(target_bp, 100))  # "còn thiếu …" only when missed, else "đã đạt"
        completion, target = against_target(figures["percent_paid"], target_bp).split(" / ")
        assert _value(completion) == on_page and _value(target) == Fraction(target_bp, 100)
        if gap > 0:
            behind = _value(behind_by(target_bp, figures["percent_paid_bp"]))
            assert behind > 0 and on_page + behind == Fraction(target_bp, 100)


def _rollups(db_session, program_id: int, unit, paid: int, unpaid: int) -> None:
    """A Hà Nội unit's claims as the rollups hold them (``claim_counters``, ``district_counters``,
    ``province_counters``): thousands of people paid or approved, without making each claim (the pages read only the
    rollups)."""
    for state, n in (("paid", paid), ("approved", unpaid)):
        values = {"p": program_id, "d": unit.district_code, "e": unit.id, "s": state, "n": n, "a": n * 2_100_000}
        for statement in (
            """INSERT INTO claim_counters (program_id, district_code, employer_id, state, claims, amount_vnd)
               VALUES (:p, :d, :e, :s, :n, :a)""",
            # Other tests' committed claims, removed since, leave their groups' rows at zero: add to them.
            """INSERT INTO district_counters (program_id, district_code, state, claims, amount_vnd)
               VALUES (:p, :d, :s, :n, :a) ON CONFLICT (program_id, district_code, state)
               DO UPDATE SET claims = district_counters.claims + :n,
                             amount_vnd = district_counters.amount_vnd + :a""",
            """INSERT INTO province_counters (program_id, province_code, state, claims, amount_vnd)
               VALUES (:p, '01', :s, :n, :a) ON CONFLICT (program_id, province_code, state)
               DO UPDATE SET claims = province_counters.claims + :n,
                             amount_vnd = province_counters.amount_vnd + :a""",
        ):
            db_session.execute(text(statement), values)


def _cells(html: str, marker: str) -> str:
    return html.split(marker, 1)[1]


def test_a_few_people_unpaid_of_thousands_never_read_as_done_on_any_page(app, client, db_session, monkeypatch):
    """Đông Anh: 9.996 of 10.000 paid (99,96 %); Sóc Sơn: 1.999 of 2.500 (79,96 %) against an 80 % target; Hà Nội and
    the country: 11.995 of 12.500 (95,96 %). Rounded to the nearest these read 100,0%, "80,0% / 80% (còn thiếu
    0,0%)" and 96,0%."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")
    program = nq116()
    _rollups(db_session, program.id, create_employer(district_code=DONG_ANH, name="Công ty Gần Xong"), 9_996, 4)
    _rollups(db_session, program.id, create_employer(district_code=SOC_SON, name="Công ty Sóc Sơn"), 1_999, 501)
    set_target(program.id, SOC_SON, date(2021, 11, 30), 8_000, user_id=None)
    take_snapshots(program.id, date(2021, 11, 2))
    sign_in(client, create_user("supervisor", password=PASSWORD))

    district = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    assert 'data-figure="percent_paid">99,9%<' in district and "100,0%" not in district
    assert "Công ty Gần Xong" in _cells(district, 'id="dashboard-table"') and 'value="99.9"' in district
    behind = client.get(f"/dashboard/?district={SOC_SON}").get_data(as_text=True)
    target = _cells(behind, 'id="target"').split("</p>", 1)[0]
    assert "79,9% / 80%" in target and "(còn thiếu 0,1%)" in target
    province = client.get("/dashboard/?province=01").get_data(as_text=True)
    assert 'data-figure="percent_paid">95,9%<' in province
    table = _cells(province, 'id="dashboard-table"')
    assert "99,9%" in table and "79,9% / 80%" in table and "100,0%" not in table
    chart = _cells(province, 'id="completion-by-area"').split("</figure>", 1)[0]
    assert "99,9%" in chart and "79,9%" in chart and "100,0%" not in chart
    charts = client.get(f"/dashboard/charts?district={DONG_ANH}").get_data(as_text=True)
    over_time = _cells(charts, 'id="completion-over-time"').split("</figure>", 1)[0]
    assert "99,9%" in over_time and '<td class="num">99,9%</td>' in over_time

    export = client.get("/dashboard/export?province=01&format=csv").get_data(as_text=True).lstrip("\ufeff")
    rows = {row[0]: row for row in csv.reader(io.StringIO(export))}
    assert (rows[DONG_ANH][2], rows[SOC_SON][2]) == ("99.9", "79.9")  # after the code and the name, as on the page
    monthly = client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True)
    assert "95,9%" in _cells(monthly, 'id="monthly"') and "96,0%" not in monthly
    progress = client.get(f"/api/v1/progress?district={DONG_ANH}").get_json()
    assert progress["percent_paid"] == 99.96
    home = client.get("/").get_data(as_text=True)
    assert "95,9%" in home and "96,0%" not in home
