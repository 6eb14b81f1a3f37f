"""The queue's filters say every mistake of one look at once, each on its field, what was typed kept: a unit or
district that does not exist is checked with the filters' shapes, not only once they are right."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user

#: A wrong value per filter, and what the page says of it (vi, en).
_WRONG = {
    "age": ("-3", "Số ngày làm việc từ 0 đến 999.", "Give a number of working days from 0 to 999."),
    "employer": (
        "zzz",
        "Không có đơn vị mã zzz trong phạm vi của bạn.",
        "There is no unit with code zzz in your scope.",
    ),
    "district": (
        "999",
        "Không có quận/huyện mã 999 trong phạm vi của bạn.",
        "There is no district with code 999 in your scope.",
    ),
    "track": ("C", "Hãy chọn một trong các lựa chọn có trên trang.", "Choose one of the options on the page."),
    "sort": ("oldest", "Hãy chọn một trong các lựa chọn có trên trang.", "Choose one of the options on the page."),
}


def _fields_in_error(page: str) -> set[str]:
    """The fields the error summary links to."""
    return set(re.findall(r'<a href="#([a-z_]+)">', page)) & set(_WRONG)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_wrong_filter_is_said_at_once(client, db_session, locale):
    """Any set of wrong filters: each is said, on its field, on the first look; what was typed is kept."""
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)

    @settings(max_examples=10, deadline=None)
    @given(wrong=st.sets(st.sampled_from(sorted(_WRONG)), min_size=1))
    def check(wrong: set[str]) -> None:
        query = "&".join(f"{name}={_WRONG[name][0]}" for name in sorted(wrong))
        response = client.get(f"/caseworker/queue?{query}")
        page = response.get_data(as_text=True)
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
        assert response.status_code == 422
        assert _fields_in_error(page) == wrong
        for name in wrong:
            value, vi, en = _WRONG[name]
            assert (vi if locale == "vi" else en) in text, (name, query)
            if name not in ("track", "sort"):  # a select keeps its options; a text box what was typed
                assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"', page), name

    check()


def test_the_reviews_case(client, db_session):
    """``?age=-3&employer=zzz``: both errors on the first look, in both languages."""
    caseworker = create_user("caseworker", password=PASSWORD)
    for locale, age, unit in (
        ("vi", "Số ngày làm việc từ 0 đến 999.", "Không có đơn vị mã zzz trong phạm vi của bạn."),
        ("en", "Give a number of working days from 0 to 999.", "There is no unit with code zzz in your scope."),
    ):
        sign_in(client, caseworker, locale)
        response = client.get("/caseworker/queue?age=-3&employer=zzz")
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))
        assert response.status_code == 422
        assert text.count(age) == 2 and text.count(unit) == 2  # in the summary and beside the field
