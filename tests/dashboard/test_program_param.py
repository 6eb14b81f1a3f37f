"""The dashboard shows the configured programme alone: a ``program`` in the query string naming another one, or one
there is not, is a 404 saying which programme the pages show and that the API's /api/v1/progress?program= gives the
others, on every dashboard page; the programme's own code is that programme. Every page showed the configured
programme whatever was asked (?program=ZZZ too), as if it were the one asked for (found by the explorer)."""

from __future__ import annotations

import html
import re

import pytest

from disburse.extensions import db
from disburse.programs.models import Program
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.factories import create_user, nq116

#: Every dashboard page a national supervisor opens with a GET (a recovery's and a run's pages need their records:
#: the 404 comes before they are read, so an unknown one shows it as well).
PAGES = [
    "/dashboard/",
    "/dashboard/charts",
    "/dashboard/backlog",
    "/dashboard/backlog/overdue-units?format=csv",
    "/dashboard/export?format=csv",
    "/dashboard/monthly",
    "/dashboard/targets",
    "/dashboard/recoveries",
    "/dashboard/recoveries/export?format=csv",
    "/dashboard/recoveries/1",
    "/dashboard/reconciliations/1",
]


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _with(url: str, program: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}program={program}"


@pytest.fixture
def other_program(db_session) -> Program:
    """A second programme in the database, not the configured one."""
    configured = nq116()
    other = Program(
        **{
            column.key: getattr(configured, column.key)
            for column in Program.__table__.columns
            if column.key not in ("id", "code", "name_vi", "name_en")
        },
        code="KHAC01",
        name_vi="Chương trình khác",
        name_en="Another programme",
    )
    db.session.add(other)
    db.session.flush()
    return other


@pytest.mark.parametrize("url", PAGES)
def test_another_or_an_unknown_programme_is_a_404_naming_the_one_shown(client, other_program, url):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    for asked in ("KHAC01", "ZZZ"):
        response = client.get(_with(url, asked))
        assert response.status_code == 404, (url, asked)
        text = _text(response)
        assert f"Các trang tiến độ chỉ cho xem chương trình NQ116 ({nq116().name_vi}), không phải “{asked}”." in text
        assert "/api/v1/progress?program=" in text


def test_the_programme_shown_is_accepted_by_its_code(client, db_session):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    for asked in ("NQ116", "nq116", ""):
        assert client.get(f"/dashboard/?program={asked}").status_code == 200, asked
        assert client.get(f"/dashboard/charts?program={asked}").status_code == 200, asked


def test_the_page_is_in_english_and_the_value_asked_is_escaped(client, db_session):
    sign_in(client, create_user("supervisor", password=PASSWORD), "en")
    response = client.get("/dashboard/?program=%3Cb%3EX")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<b>X" not in page and "&lt;b&gt;X" in page
    assert nq116().name_en in _text(response)


def test_signed_out_and_refused_roles_are_answered_as_before(client, db_session):
    assert client.get("/dashboard/?program=ZZZ").status_code == 302  # sign in first
    sign_in(client, create_user("employer", password=PASSWORD))
    assert client.get("/dashboard/?program=ZZZ").status_code == 403
