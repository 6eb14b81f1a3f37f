"""The dashboard keeps its area: every sub-page linked from an area's page opens on that area (the monthly report
and the targets lost it: a national supervisor on Hà Nội's page got the national report and a select of every
district in the country), and every dashboard page answers an area outside the caller's scope with the same 404 as
an unknown one, through one check (the targets page answered 200 for another province, ignoring it)."""

from __future__ import annotations

import html as html_
import re
from datetime import date

import pytest

from disburse.payments.models import Reconciliation
from tests.dashboard.conftest import DONG_ANH, PASSWORD, SOC_SON, sign_in
from tests.dashboard.test_recoveries import _returned
from tests.factories import create_user

#: The links of an area's page to its other pages, by the words they say.
SUB_PAGES = ("Biểu đồ", "Tồn đọng", "Báo cáo tháng", "Mục tiêu hoàn thành chi trả", "Thu hồi")


def _sub_page_links(html: str) -> dict[str, str]:
    listed = html.split('aria-label="Các trang khác"', 1)[1].split("</ul>", 1)[0]
    return {words: html_.unescape(href) for href, words in re.findall(r'<a href="([^"]+)">([^<]+)</a>', listed)}


def _district_choices(html: str) -> list[str]:
    select = html.split('name="district"', 1)[1].split("</select>", 1)[0]
    return [code for code in re.findall(r'<option[^>]*value="([^"]*)"', select) if code]


def _monthly_places(html: str) -> list[str]:
    body = html.split('id="monthly"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th scope=\"row\">(.*?)</th>", body, re.S)]


@pytest.fixture
def november(app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-11-02")


@pytest.mark.parametrize(
    ("query", "name", "districts", "places"),
    [
        ("province=01", "Thành phố Hà Nội", None, ["Huyện Sóc Sơn", "Huyện Đông Anh"]),
        (f"district={DONG_ANH}", "Huyện Đông Anh", [DONG_ANH], ["Huyện Đông Anh"]),
    ],
)
def test_every_sub_page_of_an_area_opens_on_that_area(client, country, november, query, name, districts, places):
    sign_in(client, create_user("supervisor", password=PASSWORD))  # national: the country by default
    links = _sub_page_links(client.get(f"/dashboard/?{query}").get_data(as_text=True))
    assert set(links) == set(SUB_PAGES)
    for words, link in links.items():
        assert link.endswith(f"?{query}"), (words, link)
        page = client.get(link)
        assert page.status_code == 200, (words, link)
        assert name in page.get_data(as_text=True), (words, link)
    # The monthly report of the area: Hà Nội's by district, or Đông Anh's own row.
    assert _monthly_places(client.get(links["Báo cáo tháng"]).get_data(as_text=True)) == places
    # The targets of the area's districts: Hà Nội's, not the country's some 700; Đông Anh alone, chosen already.
    targets = client.get(links["Mục tiêu hoàn thành chi trả"]).get_data(as_text=True)
    if districts is None:
        chosen = _district_choices(targets)
        assert SOC_SON in chosen and DONG_ANH in chosen and all(code < "300" for code in chosen), chosen
    else:
        assert _district_choices(targets) == districts and f'<option selected value="{DONG_ANH}">' in targets
    assert f'action="/dashboard/targets?{query}"' in targets
    back = html_.unescape(re.search(r'<p class="back">.*?</p>', targets, re.S).group(0))
    assert f'href="/dashboard/?{query}"' in back


def test_a_target_set_on_an_areas_page_comes_back_to_it(client, country, november):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    url = f"/dashboard/targets?district={DONG_ANH}"
    saved = client.post(url, data={"district": DONG_ANH, "target_date": "30/11/2021", "percent": "80"})
    assert saved.status_code == 302 and saved.headers["Location"] == url
    refused = client.post(url, data={"district": SOC_SON, "target_date": "30/11/2021", "percent": "80"})
    assert refused.status_code == 400  # another district than the area's is no choice here


def _dashboard_urls(app, recovery_id: int, run_id: int) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL without a query string) of every dashboard route, its records in Hà Nội's scope."""
    records = {"recovery_id": recovery_id, "reconciliation_id": run_id}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard."):
            continue
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **{name: records[name] for name in rule.arguments})
        found.extend((rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


@pytest.mark.parametrize("other", ["province=02", "district=760", "province=99", "province=01&district=760"])
def test_every_dashboard_page_answers_an_area_outside_the_callers_scope_with_404(
    app, client, country, november, db_session, other
):
    """Hà Nội's supervisor asks each dashboard page, each method, for another province, a district of another, an
    unknown one, or a district that is not in the province named: 404, whatever the page (its records are Hà Nội's).
    The same pages asked for Hà Nội answer (the pages' own rules: a form's errors, a download, a redirect)."""
    run = Reconciliation(provider="sandbox", day=date(2021, 11, 1), matched=3, differences=0, details=[])
    db_session.add(run)
    db_session.flush()
    recovery = _returned(DONG_ANH)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    routes = _dashboard_urls(app, recovery.id, run.id)
    assert {"dashboard.targets", "dashboard.monthly", "dashboard.recoveries_file"} <= {e for e, _, _ in routes}
    wrong = []
    for _endpoint, method, url in routes:
        for query, outside in ((other, True), ("province=01", False)):
            if not outside and method == "POST":
                continue  # a post in scope does what it does (tests of each page)
            answer = client.open(f"{url}?{query}&format=csv", method=method)
            if (answer.status_code == 404) is not outside:
                wrong.append(f"{method} {url}?{query}: {answer.status_code}")
    assert wrong == []


def test_a_caseworker_asking_for_another_district_gets_404_and_a_page_of_another_role_403(client, country):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    assert client.get(f"/dashboard/charts?district={SOC_SON}").status_code == 404
    assert client.get(f"/dashboard/charts?district={DONG_ANH}").status_code == 200
    # The role comes first: a page the caseworker may never open says so, whatever the area asked for.
    assert client.get(f"/dashboard/targets?district={SOC_SON}").status_code == 403
    assert client.get("/dashboard/monthly?province=79").status_code == 403


@pytest.mark.parametrize("query", ["province=01", f"district={DONG_ANH}"])
def test_a_recovery_moved_on_from_an_areas_list_comes_back_to_that_list(client, db_session, query):
    """A national supervisor on Hà Nội's (Đông Anh's) recoveries opens one and records it closed out: the recovery
    page's link, its back link and the list it returns to after the move keep the area (they went to the country's
    list, the supervisor's own, dropping the area they were working in)."""
    recovery = _returned(DONG_ANH)
    sign_in(client, create_user("supervisor", password=PASSWORD))  # national: the country by default
    listing = client.get(f"/dashboard/recoveries?{query}").get_data(as_text=True)
    url = f"/dashboard/recoveries/{recovery.id}?{query}"
    assert f'href="{html_.escape(url)}"' in listing
    page = client.get(url).get_data(as_text=True)
    back = html_.unescape(re.search(r'<p class="back">.*?</p>', page, re.S).group(0))
    assert f'href="/dashboard/recoveries?{query}"' in back
    data = {"to_state": "written_off", "note": "Người đã mất", "confirmed": "1"}
    done = client.post(url, data=data)
    assert done.status_code == 302
    assert done.headers["Location"] == f"/dashboard/recoveries?{query}&state=written_off"
    assert f"Khoản số {recovery.id}" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_a_recovery_opened_without_an_area_returns_to_the_callers_own_list(client, db_session):
    """From the case page (no area named) the recovery page's lists are the caller's own area's, as every dashboard
    page's; an area written wrong is named (400), one outside the caller's scope is the 404 of every dashboard page."""
    recovery = _returned(DONG_ANH)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    url = f"/dashboard/recoveries/{recovery.id}"
    assert 'href="/dashboard/recoveries?province=01"' in client.get(url).get_data(as_text=True)
    done = client.post(url, data={"to_state": "written_off", "note": "Người đã mất", "confirmed": "1"})
    assert done.headers["Location"] == "/dashboard/recoveries?province=01&state=written_off"
    assert client.get(f"{url}?district=17x").status_code == 400  # "17" is 017 (its zero put back)
    assert client.get(f"{url}?province=79").status_code == 404
