"""The charts page (every chart as accessible inline SVG with the service's figures) and the backlog page
(overdue employers, SLA breaches, the review queue by reason and age, reconciliations), scoped as the dashboard."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from disburse.programs.calendar import VIETNAM_TZ
from disburse.reports.backlog import refresh, stored
from disburse.reports.dashboard import ageing, failures_by_reason
from disburse.reports.rollups import take_snapshots
from disburse.reports.service import Area
from disburse.verification import reasons
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, SOC_SON, sign_in
from tests.factories import (
    create_claim,
    create_duplicate_group,
    create_employee,
    create_employer,
    create_payment,
    create_user,
    nq116,
)


def _chart(html: str, chart_id: str) -> str:
    found = re.search(rf'<figure class="chart-figure" id="{chart_id}">(.*?)</figure>', html, re.S)
    assert found, chart_id
    return found.group(1)


@pytest.mark.parametrize(("locale", "title"), [("vi", "Biểu đồ: Toàn quốc"), ("en", "Charts: The whole country")])
def test_the_countrys_charts(client, country, db_session, monkeypatch, app, locale, title):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")
    program = nq116()
    take_snapshots(program.id, date(2021, 11, 1))
    take_snapshots(program.id, date(2021, 11, 2))
    failed = create_payment(create_claim("payment_pending"), "failed")
    refresh(program.id, date(2021, 11, 2))  # beat's backlog sweep
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    response = client.get("/dashboard/charts")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"<title>{title} · disburse</title>" in html
    assert html.count('<svg class="chart chart-wide" role="img"') == 4  # no decisions yet: throughput says so instead
    assert html.count('<svg class="chart chart-narrow" role="img"') == 4  # and each drawn for a phone too
    over_time = _chart(html, "completion-over-time")
    assert "01/11/2021" in over_time and "02/11/2021" in over_time
    assert ("46,1%" if locale == "vi" else "46.1%") in over_time  # 6 of 13 paid on both days (46,15 %, rounded down)
    by_area = _chart(html, "completion-by-area")
    assert "Thành phố Hà Nội" in by_area and "Thành phố Hồ Chí Minh" in by_area
    ages = ageing(program.id, Area())
    assert sum(bucket["claims"] for bucket in ages["buckets"]) == 2 + 1  # two in review, the failed payment's claim
    age_cells = re.findall(r'<td class="num">([^<]*)</td>', _chart(html, "ageing"))
    assert age_cells == [str(bucket["claims"]) for bucket in ages["buckets"]]
    moment = ages["computed_at"].astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S")
    as_of = "Số liệu lúc" if locale == "vi" else "Figures as of"
    assert f'<p class="muted" id="ageing-note">{as_of} {moment}</p>' in _chart(html, "ageing")
    failures = failures_by_reason(program.id, Area())
    assert failures and failed.failure_code == failures[0]["code"]
    assert failures[0]["label"][0 if locale == "vi" else 1] in _chart(html, "failures")
    assert ("Chưa có số liệu." if locale == "vi" else "No figures yet.") in _chart(html, "throughput")


def test_days_without_a_snapshot_are_a_gap_in_the_line_over_time(client, country, monkeypatch, app):
    """Snapshots on 01/11, 02/11 and 09/11 (none for the week between), the programme at 10/11: the axis has each of
    the 30 days in its place, the line stops after 02/11 (09/11 is a point alone), the table lists the three
    snapshots."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-10")
    for day in (1, 2, 9):
        take_snapshots(nq116().id, date(2021, 11, day))
    sign_in(client, create_user("admin", password=PASSWORD))
    over_time = _chart(client.get("/dashboard/charts").get_data(as_text=True), "completion-over-time")
    wide, narrow = over_time.split('<svg class="chart chart-narrow"')  # the computer's drawing, the phone's
    for drawing in (wide, narrow):
        xs = [float(x) for x in re.findall(r'<circle class="chart-point" cx="([0-9.]+)"', drawing)]
        step = (xs[1] - xs[0]) if len(xs) == 3 else 0
        assert step > 0 and round((xs[2] - xs[0]) / step) == 8  # 09/11 eight days after 01/11
        lines = re.findall(r'<polyline class="chart-line" points="([^"]*)"', drawing)
        assert [len(line.split()) for line in lines] == [2]  # 01/11–02/11; nothing drawn across the week
        labels = re.findall(
            r'<text class="chart-label" x="[0-9.]+" y="[0-9.]+" text-anchor="(?:middle|end)">([^<]*/[^<]*)</text>',
            drawing,
        )  # the days under the axis (the last one ends at the axis' end), not the percentages beside it
        assert labels[0] == "12/10/2021" and labels[-1] == "10/11/2021"  # the 30 days up to the programme's today
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td class="num">([^<]*)</td></tr>', over_time)
    assert rows == [("01/11/2021", "46,1%"), ("02/11/2021", "46,1%"), ("09/11/2021", "46,1%")]


def test_a_districts_charts_and_another_districts(client, country):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    html = client.get("/dashboard/charts").get_data(as_text=True)
    assert "Biểu đồ: Huyện Đông Anh" in html and 'id="completion-by-area"' not in html
    assert client.get("/dashboard/charts?district=760").status_code == 404
    assert client.get("/dashboard/charts?district=7600").status_code == 400


def test_the_backlog_of_a_province(client, country, db_session):
    late = create_employer(district_code=DONG_ANH, name="Công ty Trễ Hạn")
    for _ in range(2):
        create_claim(
            "employer_overdue",
            employee=create_employee(employer_id=late.id, district_code=DONG_ANH),
            review_due_on=date(2021, 10, 20),
        )
    create_duplicate_group("needs_review")
    refresh(nq116().id, date(2021, 11, 2))  # beat's backlog sweep
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    response = client.get("/dashboard/backlog")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tồn đọng: Thành phố Hà Nội" in html
    moment = stored(nq116().id, Area("01")).computed_at.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S")
    assert f'<p class="muted" id="sla-as-of">Số liệu lúc {moment}</p>' in html
    assert f'<p class="muted" id="queue-as-of">Số liệu lúc {moment}</p>' in html
    overdue = html.split('id="overdue-employers"', 1)[1].split("</table>", 1)[0]
    assert "Công ty Trễ Hạn" in overdue and f'href="/employers/{late.unit_code}"' in overdue
    assert re.search(r'<td class="num">2</td>', overdue)
    assert "<td>Huyện Đông Anh</td>" in overdue and "<td>017</td>" not in overdue  # the district by name
    by_reason = html.split('id="queue-by-reason"', 1)[1].split("</table>", 1)[0]
    assert f'{reasons.label("possible_duplicate")[0]}</td><td class="num">2</td>' in by_reason
    # The note that the reasons can add up to more than the claims comes with two reasons or more, not under one
    # (nor under an empty table).
    shown = 'id="queue-by-reason-note"' in html
    assert shown == (by_reason.count("<tr><td>") > 1)
    create_claim("needs_review", district_code=DONG_ANH, reasons=["zero_months", "possible_duplicate"])
    refresh(nq116().id, date(2021, 11, 2))
    assert 'id="queue-by-reason-note"' in client.get("/dashboard/backlog").get_data(as_text=True)
    by_age = html.split('id="queue-by-age"', 1)[1].split("</table>", 1)[0]
    assert "0–5" in by_age and "&gt; 20" in by_age
    assert client.get("/dashboard/backlog?province=79").status_code == 404


@pytest.mark.parametrize(
    ("role", "scope", "sees"),
    [
        ("caseworker", {"district": DONG_ANH}, False),
        ("supervisor", {"province": "01"}, True),
        ("supervisor", {}, True),
        ("admin", {}, True),
    ],
)
def test_reconciliation_runs_are_for_supervisors_and_admins_only(client, db_session, role, scope, sees):
    """A run holds the whole country's differences (payment references, amounts, claims): a district's caseworker
    neither opens one (403, as any page their role may never use) nor finds the runs listed on the backlog page."""
    from disburse.payments.models import Reconciliation

    run = Reconciliation(provider="sandbox", day=date(2021, 11, 1), matched=3, differences=1, details=[])
    db_session.add(run)
    db_session.flush()
    sign_in(client, create_user(role, password=PASSWORD, **scope))
    backlog = client.get(f"/dashboard/backlog?district={DONG_ANH}")
    html = backlog.get_data(as_text=True)
    assert backlog.status_code == 200
    assert ('id="reconciliations"' in html) is sees and ('id="reconciliation-title"' in html) is sees
    assert (f'href="/dashboard/reconciliations/{run.id}"' in html) is sees
    assert client.get(f"/dashboard/reconciliations/{run.id}").status_code == (200 if sees else 403)


@pytest.mark.parametrize("takes_late", [True, False])
def test_the_overdue_units_are_counted_through_the_index_of_the_unconfirmed(db_session, takes_late):
    """The backlog's overdue units read only the people still unconfirmed past the deadline, however large the
    registry: the statement's rule lies within the partial index's predicate, so the planner can use it (were they
    to drift apart, it could not, and every page view would scan the claims); before and after the adjustment
    deadline (in review only because the unit was late counts only before it)."""
    from disburse.reports import dashboard

    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    rule = dashboard.unconfirmed_sql(takes_late)
    plan = "\n".join(
        db_session.execute(
            text(f"EXPLAIN SELECT count(*) FROM claims c WHERE c.program_id = 1 AND {rule}"),
            {"today": date(2021, 11, 2)},
        ).scalars()
    )
    assert "ix_claims_unconfirmed" in plan, plan


@pytest.mark.parametrize(
    ("locale", "message", "as_of"),
    [
        ("vi", "Số liệu đang được tính lần đầu; vui lòng xem lại sau vài phút.", "Số liệu lúc"),
        (
            "en",
            "The figures are being computed for the first time; please look again in a few minutes.",
            "Figures as of",
        ),
    ],
)
def test_before_the_first_backlog_sweep_the_pages_say_the_figures_are_being_computed(
    client, country, db_session, locale, message, as_of
):
    program = nq116()
    db_session.execute(text("DELETE FROM backlog_sweeps WHERE program_id = :p"), {"p": program.id})
    db_session.execute(text("DELETE FROM backlog_counters WHERE program_id = :p"), {"p": program.id})
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    charts = client.get("/dashboard/charts").get_data(as_text=True)
    assert message in _chart(charts, "ageing") and as_of not in _chart(charts, "ageing")
    backlog = client.get("/dashboard/backlog?province=01").get_data(as_text=True)
    assert backlog.count(message) == 2  # the SLA breaches and the review queue; the overdue units are read live
    assert 'id="queue-by-reason"' not in backlog and 'id="overdue-title"' in backlog
    refresh(program.id, date(2021, 11, 2))
    backlog = client.get("/dashboard/backlog?province=01").get_data(as_text=True)
    assert message not in backlog and backlog.count(f"{as_of} ") == 2 and 'id="queue-by-reason"' in backlog


@pytest.mark.parametrize("path", ["/dashboard/charts", "/dashboard/backlog"])
def test_employers_may_not_open_charts_or_backlog(client, db_session, path):
    sign_in(client, create_user("employer", password=PASSWORD))
    assert client.get(path).status_code == 403


def _paid_in(district: str):
    unit = create_employer(district_code=district)
    claim = create_claim("payment_pending", employee=create_employee(employer_id=unit.id, district_code=district))
    return create_payment(claim, "paid")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_province_supervisor_sees_only_the_reconciliation_lines_of_their_provinces_claims(client, db_session, locale):
    """A run compares a provider's whole statement: a Hà Nội supervisor sees its differences of Hà Nội's claims only
    (not Hồ Chí Minh City's, nor a reference that is none of our payments), and is told how many are not shown; the
    backlog counts their lines. A national supervisor sees every line."""
    from disburse.payments.models import Reconciliation

    near, north, far = _paid_in(DONG_ANH), _paid_in(SOC_SON), _paid_in(QUAN_1)

    def line(kind: str, reference: str, ours: int | None, theirs: int | None) -> dict:
        return {"kind": kind, "entry": "settlement", "reference": reference, "ours_vnd": ours, "theirs_vnd": theirs}

    details = [
        line("amount_differs", far.provider_reference, far.amount_vnd, 1_000),
        line("ours_only", near.provider_reference, near.amount_vnd, None),
        line("ours_only", north.provider_reference, north.amount_vnd, None),
        line("theirs_only", "NOT-OURS-1", None, 5_000_000),
    ]
    run = Reconciliation(provider="sandbox", day=date(2021, 11, 1), matched=7, differences=4, details=details)
    elsewhere = Reconciliation(
        provider="sandbox", day=date(2021, 11, 2), matched=9, differences=2, details=[details[0], details[3]]
    )
    db_session.add_all([run, elsewhere])
    db_session.flush()
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)

    page = client.get(f"/dashboard/reconciliations/{run.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    table = html.split('id="differences"', 1)[1].split("</table>", 1)[0]
    assert near.provider_reference in table and north.provider_reference in table
    assert (
        f'href="/caseworker/claims/{near.claim_id}"' in table and f'href="/caseworker/claims/{north.claim_id}"' in table
    )
    assert far.provider_reference not in html and f"/caseworker/claims/{far.claim_id}" not in html
    assert "NOT-OURS-1" not in html and "5.000.000" not in html and "5,000,000" not in html
    note = html.split('id="scope-note">', 1)[1].split("</p>", 1)[0]
    if locale == "vi":
        assert "chỉ hiện chênh lệch của các hồ sơ thuộc Thành phố Hà Nội; 2 chênh lệch ngoài địa bàn" in note
    else:
        assert "only the differences of claims in Thành phố Hà Nội; 2 differences outside your area" in note
    assert '<dd id="differences-in-scope">2</dd>' in html

    # A run whose every difference is in the area says nothing of the others ("0 differences outside … are not shown").
    all_here = Reconciliation(provider="sandbox", day=date(2021, 11, 3), matched=9, differences=1, details=[details[1]])
    db_session.add(all_here)
    db_session.flush()
    note = client.get(f"/dashboard/reconciliations/{all_here.id}").get_data(as_text=True)
    note = note.split('id="scope-note">', 1)[1].split("</p>", 1)[0]
    assert ("Thành phố Hà Nội." if locale == "vi" else "claims in Thành phố Hà Nội.") in note
    assert not re.search("ngoài địa bàn|outside your area", note)

    none_here = client.get(f"/dashboard/reconciliations/{elsewhere.id}").get_data(as_text=True)
    assert far.provider_reference not in none_here and "NOT-OURS-1" not in none_here
    assert 'id="differences"' not in none_here
    assert (
        "Không có chênh lệch nào của hồ sơ thuộc Thành phố Hà Nội." if locale == "vi" else "No differences of claims in"
    ) in none_here

    backlog = client.get("/dashboard/backlog").get_data(as_text=True)
    rows = backlog.split('id="reconciliations"', 1)[1].split("</table>", 1)[0]
    assert 'id="reconciliation-scope"' in backlog
    cells = {
        day: re.findall(r'<td class="num[^"]*">(\d+)', row)
        for day, row in re.findall(r">(\d\d/\d\d/\d{4})</a>(.*?)</tr>", rows, re.S)
    }
    assert cells["01/11/2021"] == ["7", "4", "2"] and cells["02/11/2021"] == ["9", "2", "0"]  # matched, all, theirs

    client.post("/logout")
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    national = client.get(f"/dashboard/reconciliations/{run.id}").get_data(as_text=True)
    assert all(d["reference"] in national for d in details) and 'id="scope-note"' not in national
    assert f'href="/caseworker/claims/{far.claim_id}"' in national
    backlog = client.get("/dashboard/backlog").get_data(as_text=True)
    assert 'id="reconciliation-scope"' not in backlog


@pytest.mark.parametrize(
    ("locale", "title", "note"),
    [
        ("vi", "Số lần chi trả không thành công, theo lý do (từ đầu chương trình)", "không phải số hồ sơ"),
        ("en", "Failed payment attempts by reason, since the programme began", "not claims"),
    ],
)
def test_the_failures_chart_says_it_counts_attempts_not_the_tables_claims(client, country, locale, title, note):
    """A first user read the chart's 840 failed attempts against the progress table's 0 claims in "payment failed":
    the chart says it counts attempts over the programme, and that the table's column counts claims."""
    create_payment(create_claim("payment_pending"), "failed")
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    html = client.get("/dashboard/charts").get_data(as_text=True)
    chart = _chart(html, "failures")
    assert '<svg class="chart chart-wide" role="img"' in chart  # the failed attempt is drawn
    assert f'<figcaption id="failures-caption">{title}</figcaption>' in chart
    assert f'<title id="failures-title">{title}</title>' in chart
    said = re.search(r'<p class="muted" id="failures-note">([^<]*)</p>', chart)
    assert said and note in said.group(1)
    assert ("Chi trả không thành công" if locale == "vi" else "Payment failed") in said.group(1)
