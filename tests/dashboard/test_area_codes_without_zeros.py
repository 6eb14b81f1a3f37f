"""A province's or district's code typed without its leading zeros ("1", "17") is that area on every page, form and
API call, as it is for the commands and the registry import: the dashboard said "Mã tỉnh gồm đúng 2 chữ số", the
API answered 422, the admin's form refused "17", while `disburse users create --district 17` took it."""

from __future__ import annotations

import re

import pytest

from disburse.auth.service import create_token
from disburse.reference.service import area_code
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_user


@pytest.mark.parametrize(
    ("typed", "width", "read"),
    [("1", 2, "01"), ("17", 3, "017"), (" 7 ", 3, "007"), ("017", 3, "017"), ("", 3, ""), ("1a", 3, "1a")],
)
def test_an_area_code_gets_its_leading_zeros_back(typed, width, read):
    assert area_code(typed, width) == read
    assert area_code(None, width) is None


def _figures(page: str) -> str:
    """The page's main part, but for the language switch's way back (the address as it was typed) and the time the
    figures were read (two requests a second apart said 21:47:59 and 21:48:00, in the CI rehearsal)."""
    main = re.sub(r"\b\d{2}:\d{2}:\d{2}\b", "hh:mm:ss", page.split("<main", 1)[1])
    return re.sub(r'<input type="hidden" name="next" value="[^"]*">|\s+', " ", main)


def test_the_dashboard_and_the_api_read_an_area_without_its_zeros(client, country, db_session):
    supervisor = create_user("supervisor", password=PASSWORD)
    sign_in(client, supervisor)
    client.get("/")  # the sign-in's message shown, on neither page compared
    for short, full in (("province=1", "province=01"), ("district=17", f"district={DONG_ANH}")):
        typed, written = client.get(f"/dashboard/?{short}"), client.get(f"/dashboard/?{full}")
        assert typed.status_code == written.status_code == 200, short
        assert _figures(typed.get_data(as_text=True)) == _figures(written.get_data(as_text=True))
    bearer = {"Authorization": f"Bearer {create_token(supervisor)}"}
    for path in ("/api/v1/progress?district=17", "/api/v1/claims?district=17"):
        typed = client.get(path, headers=bearer)
        written = client.get(path.replace("=17", f"={DONG_ANH}"), headers=bearer)
        assert typed.status_code == written.status_code == 200, (path, typed.get_json())
        assert typed.get_json() == written.get_json()
