"""The queue in each of its orders (the "sort" choice and the sortable columns' headers): the rows in that order on
the page, page after page and back through the keyset (ties broken by the claim's number), the headers real links
that keep the filters, ``aria-sort`` on the column sorted by, and a sort that is not one of the page's choices said
on its field like any other filter."""

from __future__ import annotations

import html as html_
import re
from dataclasses import replace
from datetime import date

import pytest

from disburse.casework import views
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.formatting import vietnamese_name_key
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user, nq116

DONG_ANH = "017"

#: The people of the queue: (name, unit, unused months (the amount's tier), the day the office received the claim).
#: Names in Vietnamese order by the given name (Anh, Ánh, Ba, Dung, Đức: á after a, đ after d, unlike byte order);
#: two claims share a unit, two a day received and two an amount, so ties are broken by the claim's number.
PEOPLE = [
    ("Nguyễn Văn Đức", "QS0000002", 24, date(2021, 10, 4)),
    ("Trần Thị Dung", "QS0000001", 60, date(2021, 10, 1)),
    ("Lê Văn Anh", "QS0000003", 6, date(2021, 10, 4)),
    ("Phạm Thị Ánh", "QS0000001", 100, date(2021, 9, 20)),
    ("Hoàng Văn Ba", None, 24, date(2021, 10, 12)),
]


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


@pytest.fixture
def claims(caseworker) -> list[Claim]:
    units = {code: create_employer(unit_code=code, district_code=DONG_ANH) for code in ("QS0000001", "QS0000002")}
    units["QS0000003"] = create_employer(unit_code="QS0000003", district_code=DONG_ANH)
    made = []
    for name, unit, months, received in PEOPLE:
        if unit is None:  # a Form 04 claim of a person whose unit is not known to the registry
            person = create_employee(
                full_name=name,
                district_code=DONG_ANH,
                unused_months=months,
                ui_status="stopped",
                ui_stopped_on=date(2021, 6, 30),
                employer_id=None,
            )
            claim = create_claim(
                "needs_review", employee=person, track="B", applied_on=received, reasons=["zero_months"]
            )
        else:
            person = create_employee(
                full_name=name, district_code=DONG_ANH, unused_months=months, employer_id=units[unit].id
            )
            claim = create_claim("needs_review", employee=person, reasons=["zero_months"])
            claim.confirmed_on = received
        made.append(claim)
    db.session.flush()
    return made


def _expected(claims: list[Claim], sort: str) -> list[int]:
    """The order ``sort`` names, worked out here in Python from the rows made (not from the query under test)."""
    people = {claim.id: person for claim, person in zip(claims, PEOPLE, strict=True)}
    keys = {
        "id": lambda c: (c.id,),
        "received": lambda c: (people[c.id][3], c.id),
        "amount": lambda c: (c.amount_vnd, c.id),
        "name": lambda c: (vietnamese_name_key(people[c.id][0]), c.id),
        "unit": lambda c: (people[c.id][1] or "", c.id),
    }
    ordered = sorted(claims, key=keys[sort.removeprefix("-")], reverse=sort.startswith("-"))
    return [claim.id for claim in ordered]


def _listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/caseworker/claims/(\d+)"', page)]


def test_the_people_made_for_these_tests_tie_where_they_should(claims):
    """The rows test what they mean to: two amounts equal and the others apart, the names' Vietnamese order not the
    given names' byte order (which puts Ánh after Dung)."""
    amounts = sorted(claim.amount_vnd for claim in claims)
    assert len(set(amounts)) == len(amounts) - 1
    names = [name for name, *_ in PEOPLE]
    assert sorted(names, key=vietnamese_name_key) != sorted(names, key=lambda name: name.split()[-1])


@pytest.mark.parametrize("sort", list(views.QUEUE_SORTS))
def test_the_page_lists_the_claims_in_each_order(client, caseworker, claims, sort):
    sign_in(client, caseworker)
    response = client.get(f"/caseworker/queue?sort={sort}")
    assert response.status_code == 200
    assert _listed(response.get_data(as_text=True)) == _expected(claims, sort)


def test_the_names_go_the_vietnamese_way(client, caseworker, claims):
    """Written out once by hand: given names Anh, Ánh, Ba, Dung, Đức."""
    sign_in(client, caseworker)
    page = client.get("/caseworker/queue?sort=name").get_data(as_text=True)
    by_id = {claim.id: name for claim, (name, *_) in zip(claims, PEOPLE, strict=True)}
    assert [by_id[i] for i in _listed(page)] == [
        "Lê Văn Anh",
        "Phạm Thị Ánh",
        "Hoàng Văn Ba",
        "Trần Thị Dung",
        "Nguyễn Văn Đức",
    ]


@pytest.mark.parametrize("sort", list(views.QUEUE_SORTS))
def test_pages_of_two_go_on_and_back_in_each_order(caseworker, claims, sort):
    """Two claims a page, forwards to the end and back to the start by the pages' own keys: every claim once, in
    the order, across the ties."""

    def page(**keys: int) -> review.QueuePage:
        query = review.QueueQuery(program_id=nq116().id, district=DONG_ANH, limit=2, sort=sort, **keys)
        return review.list_claims(caseworker, query)

    expected = _expected(claims, sort)
    pages = [page()]
    assert pages[0].previous_before is None
    while pages[-1].next_after is not None:
        pages.append(page(after=pages[-1].next_after))
    assert [row["id"] for p in pages for row in p.rows] == expected
    assert [len(p.rows) for p in pages] == [2, 2, 1]
    assert all(p.previous_before == p.rows[0]["id"] for p in pages[1:])  # each page after the first has one before
    back = page(before=pages[-1].previous_before)
    assert [row["id"] for row in back.rows] == expected[2:4]
    assert [row["id"] for row in page(before=back.previous_before).rows] == expected[:2]


def test_a_sort_outside_the_choices_is_refused_by_the_service(caseworker):
    with pytest.raises(review.Invalid) as refused:
        review.list_claims(caseworker, review.QueueQuery(program_id=nq116().id, sort="full_name; drop table claims"))
    assert set(refused.value.fields) == {"sort"}


def _headers(page: str) -> dict[str, tuple[str | None, str]]:
    """Each sortable header of the rows' table, by its words as read (a narrow column's are joined by no-break
    spaces): its aria-sort and its link."""
    head = page.split('<table class="queue"', 1)[1].split("</thead>", 1)[0]
    found = re.findall(
        r'<th scope="col"[^>]*?(?: aria-sort="(\w+)")?>\s*<a href="([^"]+)" class="sort">([^<]+)</a>', head
    )
    return {
        html_.unescape(label).replace("\xa0", " ").strip(): (aria or None, html_.unescape(href))
        for aria, href, label in found
    }


def test_the_headers_are_links_with_aria_sort_on_the_sorted_column(client, caseworker, claims):
    sign_in(client, caseworker)
    unit = "QS0000001"
    page = client.get(f"/caseworker/queue?state=needs_review&employer={unit}&sort=received").get_data(as_text=True)
    headers = _headers(page)
    assert set(headers) == {"Số hồ sơ", "Họ và tên", "Mã đơn vị", "Số ngày làm việc", "Mức hỗ trợ"}
    # Waiting longest first: the ages go down. Its link reads it the other way; the others ask for their first order.
    assert headers["Số ngày làm việc"][0] == "descending"
    assert [aria for aria, _ in headers.values()].count(None) == 4
    wanted = {
        "Số hồ sơ": "id",
        "Họ và tên": "name",
        "Mã đơn vị": "unit",
        "Số ngày làm việc": "-received",
        "Mức hỗ trợ": "-amount",
    }
    for label, (_, href) in headers.items():
        assert f"sort={wanted[label]}&" in href.split("#")[0] + "&", (label, href)
        assert f"employer={unit}" in href and "state=needs_review" in href, href  # the filters kept
        assert "after=" not in href and "before=" not in href  # a new order starts from its first page
    highest = client.get(headers["Mức hỗ trợ"][1]).get_data(as_text=True)
    assert _headers(highest)["Mức hỗ trợ"][0] == "descending"
    assert _listed(highest) == [i for i in _expected(claims, "-amount") if i in _listed(page)]


def test_the_order_is_kept_from_page_to_page_and_by_the_filters(client, caseworker, claims, monkeypatch):
    monkeypatch.setattr(views, "PAGE", 2)
    sign_in(client, caseworker)
    page = client.get("/caseworker/queue?sort=-amount").get_data(as_text=True)
    following = html_.unescape(re.search(r'<a href="([^"]+)" rel="next"', page).group(1))  # type: ignore[union-attr]
    assert "sort=-amount" in following
    assert _listed(client.get(following).get_data(as_text=True)) == _expected(claims, "-amount")[2:4]
    # The filter form sends the order chosen with the filters; a reason's count keeps it too.
    assert re.search(r'<option selected value="-amount">|<option value="-amount" selected>', page)
    reason_link = re.search(r'href="(/caseworker/queue\?[^"]*reason=zero_months[^"]*)"', page)
    assert reason_link is not None and "sort=-amount" in html_.unescape(reason_link.group(1))


@pytest.mark.parametrize(
    ("locale", "said"),
    [("vi", "Hãy chọn một trong các lựa chọn có trên trang."), ("en", "Choose one of the options on the page.")],
)
def test_a_sort_not_on_the_page_is_said_on_its_field(client, caseworker, claims, locale, said):
    sign_in(client, caseworker, locale)
    response = client.get("/caseworker/queue?sort=oldest")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<a href="#sort">' in page and said in html_.unescape(page)
    assert _listed(page) == []


def test_a_name_of_spaces_alone_does_not_stop_the_pages_by_name(caseworker, claims):
    """Its given name was NULL, and the keyset's comparison with NULL is NULL: with such a claim as the cursor, the
    next page was empty. It sorts as an empty name, first, and the pages go on past it."""
    nameless = create_claim(
        "needs_review",
        employee=create_employee(full_name="   ", district_code=DONG_ANH, employer_id=claims[0].employer_id),
        reasons=["zero_months"],
    )
    db.session.flush()
    query = review.QueueQuery(program_id=nq116().id, district=DONG_ANH, limit=1, sort="name")
    first = review.list_claims(caseworker, query)
    assert [row["id"] for row in first.rows] == [nameless.id] and first.next_after == nameless.id
    rest = review.list_claims(caseworker, replace(query, limit=10, after=nameless.id))
    assert [row["id"] for row in rest.rows] == _expected(claims, "name")


def test_a_cursor_outside_the_callers_scope_leaves_nothing_beyond_it(caseworker, claims):
    """The cursor's amount (or name) was read whoever could see its claim: a caseworker paging with another
    district's claim as the cursor learnt how its amount compared with theirs. Such a cursor is as one naming no
    claim."""
    elsewhere = create_claim(
        "needs_review", employee=create_employee(district_code="018"), district_code="018", reasons=["zero_months"]
    )
    db.session.flush()
    query = review.QueueQuery(program_id=nq116().id, district=DONG_ANH, limit=10, sort="amount", after=elsewhere.id)
    assert review.list_claims(caseworker, query).rows == []
