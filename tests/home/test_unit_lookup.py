"""The home page's unit look-up: the code in any case goes straight to the unit; a part of the code, or a part of
the name with or without diacritics however spaced (the registry's name search), lists the units (code, name,
district), each a link to its page, at most 20 with how many matched; nothing found says so and what to try. Only
units within the caller's scope are ever found. (It found units by their exact code only.)"""

from __future__ import annotations

import html
import re

import pytest

from disburse.auth.scopes import can_see, unit_scope
from disburse.home import service as home_service
from disburse.home.service import UNITS_LISTED
from disburse.registry.models import unit_by_code
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_employer, create_user

DONG_ANH, SOC_SON, QUAN_1 = "017", "016", "760"


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _listed(response) -> list[str]:
    """The codes of the units listed, each checked to be a link to its page."""
    body = response.get_data(as_text=True)
    if 'id="units"' not in body:
        return []
    rows = body.split('id="units"', 1)[1].split("</tbody>", 1)[0]
    links = re.findall(r'<a href="/employers/([^"]+)">([^<]+)</a>', rows)
    assert all(href == code for href, code in links)
    return [code for _, code in links]


@pytest.fixture
def units(db_session):
    return {
        "dong_anh": create_employer(
            unit_code="DN01000123", name="Công ty Cổ phần Dệt May Đông Anh", district_code=DONG_ANH
        ),
        "soc_son": create_employer(unit_code="DN01000456", name="Công ty TNHH Cơ khí Sóc Sơn", district_code=SOC_SON),
        "quan_1": create_employer(unit_code="DN79000001", name="Công ty Dệt  May Sài Gòn", district_code=QUAN_1),
    }


def test_the_home_page_sends_its_look_up_to_the_units_found(client, units):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    page = client.get("/").get_data(as_text=True)
    assert 'action="/units#units-found"' in page and 'name="unit"' in page


@pytest.mark.parametrize("typed", ["dệt may", "det may", "DỆT   MAY", " Det May Dong ", "dệt may đông anh"])
def test_a_part_of_the_name_with_or_without_diacritics_lists_the_unit(client, units, typed):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    found = client.get("/units", query_string={"unit": typed})
    assert found.status_code == 200
    assert _listed(found) == ["DN01000123"]  # Sài Gòn's Dệt May is another district's: never listed
    assert "Công ty Cổ phần Dệt May Đông Anh" in _text(found) and "Huyện Đông Anh" in _text(found)


def test_the_code_in_any_case_goes_straight_to_the_unit_and_a_part_of_it_lists_units(client, units):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    for typed in ("DN01000123", "dn01000123", " Dn01000123 "):
        straight = client.get("/units", query_string={"unit": typed})
        assert straight.status_code == 302 and straight.headers["Location"] == "/employers/DN01000123", typed
    assert _listed(client.get("/units", query_string={"unit": "dn0100"})) == ["DN01000123", "DN01000456"]
    assert _listed(client.get("/units", query_string={"unit": "000456"})) == ["DN01000456"]
    # Hà Nội's supervisor: Quận 1's unit is not found, by its code or its name, as one that does not exist.
    other = client.get("/units", query_string={"unit": "DN79000001"})
    assert other.status_code == 200 and _listed(other) == []
    assert "Không có đơn vị nào trong phạm vi của bạn có mã hoặc tên chứa “DN79000001”." in _text(other)
    assert _listed(client.get("/units", query_string={"unit": "sai gon"})) == []


@pytest.mark.parametrize(
    ("role", "scope", "expected"),
    [
        ("supervisor", {}, ["DN01000123", "DN79000001"]),
        ("admin", {}, ["DN01000123", "DN79000001"]),
        ("supervisor", {"province": "79"}, ["DN79000001"]),
        ("caseworker", {"district": QUAN_1}, ["DN79000001"]),
        ("employer", {"employer_unit": "DN01000123"}, ["DN01000123"]),
    ],
)
def test_each_role_finds_the_units_of_its_scope_only(client, units, role, scope, expected):
    user = create_user(role, password=PASSWORD, **scope)
    sign_in(client, user)
    listed = _listed(client.get("/units", query_string={"unit": "det may"}))
    assert listed == expected
    assert all(can_see(user, unit_scope(unit_by_code(code))) for code in listed)


def test_nothing_found_says_so_and_what_to_try(app, client, units):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    found = client.get("/units", query_string={"unit": "Xí nghiệp Không Có"})
    assert found.status_code == 200 and _listed(found) == []
    text = _text(found)
    assert "Không tìm thấy đơn vị nào" in text
    assert "Không có đơn vị nào trong phạm vi của bạn có mã hoặc tên chứa “Xí nghiệp Không Có”." in text
    assert "mã đơn vị đầy đủ (ví dụ DN01000001)" in text and "có dấu hay không dấu" in text
    english = app.test_client()
    sign_in(english, create_user("caseworker", district=DONG_ANH, password=PASSWORD), "en")
    text = _text(english.get("/units", query_string={"unit": "Xí nghiệp Không Có"}))
    assert "No unit within your scope has a code or name containing “Xí nghiệp Không Có”." in text
    assert "“det may” finds “Dệt May”" in text


def test_too_many_matches_are_capped_with_how_many_matched(client, units, monkeypatch):
    for n in range(UNITS_LISTED + 5):
        create_employer(unit_code=f"HTX0170{n:04d}", name=f"Hợp tác xã Nông nghiệp Thử {n}", district_code=DONG_ANH)
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    found = client.get("/units", query_string={"unit": "hop tac xa"})
    assert _listed(found) == [f"HTX0170{n:04d}" for n in range(UNITS_LISTED)]
    assert f"Có {UNITS_LISTED + 5} đơn vị khớp; dưới đây là {UNITS_LISTED} đơn vị đầu theo mã." in _text(found)
    few = client.get("/units", query_string={"unit": "Thử 2"})  # 2, 20-24: six
    assert len(_listed(few)) == 6 and "Có 6 đơn vị khớp." in _text(few)
    # Past the count's cap (1,000 in use: here 10) the page says "more than", the list as before.
    monkeypatch.setattr(home_service, "MATCHES_COUNTED", 10)
    capped = client.get("/units", query_string={"unit": "hop tac xa"})
    assert len(_listed(capped)) == UNITS_LISTED
    assert f"Có hơn 10 đơn vị khớp; dưới đây là {UNITS_LISTED} đơn vị đầu theo mã." in _text(capped)


def test_a_blank_or_overlong_look_up_is_named_on_its_field(client, units):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    for typed, words in (("", "Hãy nhập mã đơn vị hoặc vài chữ trong tên đơn vị."), ("x" * 101, "Tối đa")):
        refused = client.get("/units", query_string={"unit": typed})
        assert refused.status_code == 400 and words in _text(refused)
        assert 'href="#unit"' in refused.get_data(as_text=True)  # the error summary links the field
    assert client.get("/units").status_code == 200  # the form alone


def test_likes_wildcards_typed_are_letters(client, units):
    """ "%" and "_" typed are looked for as such, not as any text: "Dệt%Gòn" finds nothing (it found every unit)."""
    create_employer(unit_code="DN01000777", name="Công ty 100% Vốn Thử", district_code=DONG_ANH)
    sign_in(client, create_user("supervisor", password=PASSWORD))
    assert _listed(client.get("/units", query_string={"unit": "Dệt%Gòn"})) == []
    assert _listed(client.get("/units", query_string={"unit": "_"})) == []
    assert _listed(client.get("/units", query_string={"unit": "100% von"})) == ["DN01000777"]
