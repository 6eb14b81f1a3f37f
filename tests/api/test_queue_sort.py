"""GET /api/v1/claims?sort=: the queue in each order the caseworkers' queue page has (id, received, amount, name,
unit, each either way), page after page through the cursor the answer gives, every claim exactly once; an order it
does not have, or a cursor made for another order, is a 422 naming the parameter in the caller's language. Real
PostgreSQL, the real route and token."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from disburse.auth.service import create_token
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.formatting import vietnamese_name_key
from disburse.verification.review import QUEUE_SORTS
from tests.factories import create_claim, create_employee, create_employer, create_user

DONG_ANH = "017"
#: Every order the queue page has, either way.
SORTS = [order for name in QUEUE_SORTS for order in (name, f"-{name}")]

#: (name, unit, unused months (the amount's tier), the day the office received the claim). Ties on every key but
#: the id: two people of the same name, two of the same given name, units, days and amounts shared; a Form 04 claim
#: without a unit (first by unit).
PEOPLE = [
    ("Nguyễn Văn Đức", "QA0000002", 24, date(2021, 10, 4)),
    ("Trần Thị Dung", "QA0000001", 60, date(2021, 10, 1)),
    ("Lê Văn Anh", "QA0000003", 6, date(2021, 10, 4)),
    ("Phạm Thị Ánh", "QA0000001", 100, date(2021, 9, 20)),
    ("Hoàng Văn Ba", None, 24, date(2021, 10, 12)),
    ("Lê Văn Anh", "QA0000002", 24, date(2021, 9, 20)),
    ("Đỗ Thị Anh", "QA0000003", 60, date(2021, 10, 1)),
    ("Bùi Văn Đức", "QA0000001", 6, date(2021, 10, 12)),
]


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH)


@pytest.fixture
def claims(caseworker) -> list[Claim]:
    units = {
        code: create_employer(unit_code=code, district_code=DONG_ANH)
        for code in ("QA0000001", "QA0000002", "QA0000003")
    }
    made = []
    for name, unit, months, received in PEOPLE:
        if unit is None:
            person = create_employee(
                full_name=name,
                district_code=DONG_ANH,
                unused_months=months,
                ui_status="stopped",
                ui_stopped_on=date(2021, 6, 30),
                employer_id=None,
            )
            claim = create_claim("needs_review", employee=person, track="B", applied_on=received)
        else:
            person = create_employee(
                full_name=name, district_code=DONG_ANH, unused_months=months, employer_id=units[unit].id
            )
            claim = create_claim("needs_review", employee=person)
            claim.confirmed_on = received
        made.append(claim)
    # Another district's claim: never listed to this caseworker, whatever the order.
    create_claim("needs_review", employee=create_employee(district_code="018"), district_code="018")
    db.session.flush()
    return made


def _expected(claims: list[Claim], sort: str) -> list[int]:
    """The order ``sort`` names, worked out here in Python from the rows made (not by the query under test)."""
    people = {claim.id: person for claim, person in zip(claims, PEOPLE, strict=True)}
    keys: dict[str, Any] = {
        "id": lambda c: (c.id,),
        "received": lambda c: (people[c.id][3], c.id),
        "amount": lambda c: (c.amount_vnd, c.id),
        "name": lambda c: (vietnamese_name_key(people[c.id][0]), c.id),
        "unit": lambda c: (people[c.id][1] or "", c.id),
    }
    ordered = sorted(claims, key=keys[sort.removeprefix("-")], reverse=sort.startswith("-"))
    return [claim.id for claim in ordered]


def _get(client, user, query: str, language: str = "en") -> Any:
    return client.get(
        f"/api/v1/claims?{query}",
        headers={"Authorization": f"Bearer {create_token(user)}", "Accept-Language": language},
    )


def test_the_rows_tie_where_they_should(claims):
    """Each order has ties for the id to break (the keyset's last column)."""
    assert len({c.amount_vnd for c in claims}) < len(claims)
    assert len({name for name, *_ in PEOPLE}) < len(PEOPLE)
    assert len({unit for _, unit, *_ in PEOPLE}) < len(PEOPLE)
    assert len({received for *_, received in PEOPLE}) < len(PEOPLE)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 3])
def test_each_order_pages_through_every_claim_exactly_once(client, caseworker, claims, sort, limit):
    listed: list[int] = []
    after: Any = None
    pages = 0
    while True:
        query = f"sort={sort}&limit={limit}" + (f"&after={after}" if after is not None else "")
        response = _get(client, caseworker, query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert page["sort"] == sort
        listed += [row["id"] for row in page["claims"]]
        pages += 1
        assert pages <= len(claims) + 1, "the pages do not end"
        if page["next_after"] is None:
            break
        after = page["next_after"]
        # In id order the cursor is the id, as it always was; in another, the order goes with it.
        assert after == listed[-1] if sort == "id" else after == f"{sort}.{listed[-1]}"
    assert listed == _expected(claims, sort)
    assert len(listed) == len(set(listed)) == len(claims)


def test_no_sort_is_the_id_order(client, caseworker, claims):
    page = _get(client, caseworker, "limit=100").get_json()
    assert page["sort"] == "id" and [row["id"] for row in page["claims"]] == _expected(claims, "id")


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "vi",
            "Không sắp xếp được theo “oldest”. Chọn một trong: id, received, amount, name, unit; thêm “-” ở trước để "
            "đảo chiều (ví dụ -amount).",
        ),
        (
            "en",
            "The queue cannot be sorted by “oldest”. Choose one of: id, received, amount, name, unit; put “-” before "
            "it for the other way (for example -amount).",
        ),
    ],
)
def test_an_order_the_queue_does_not_have_is_named_in_the_callers_language(client, caseworker, claims, language, said):
    response = _get(client, caseworker, "sort=oldest", language)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid" and body["fields"] == {"sort": said}


@pytest.mark.parametrize("sort", ["full_name", "amount;drop", "--amount", "Amount", "-"])
def test_no_other_value_is_an_order(client, caseworker, claims, sort):
    response = _get(client, caseworker, f"sort={sort}")
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"sort"}


@pytest.mark.parametrize(
    ("made_in", "read_in"),
    [("amount", "name"), ("amount", "-amount"), ("id", "received"), ("-unit", "id"), ("name", "-id")],
)
def test_a_cursor_made_in_one_order_is_refused_in_another(client, caseworker, claims, made_in, read_in):
    """The claims after claim 41 by amount are not the next page of a list by name: such a page would skip some
    claims and repeat others. The cursor says its order, and another order refuses it, naming after."""
    first = _get(client, caseworker, f"sort={made_in}&limit=2").get_json()
    cursor = first["next_after"]
    assert cursor is not None
    for language, words in (("en", "belongs to the order"), ("vi", "là của thứ tự sắp xếp")):
        response = _get(client, caseworker, f"sort={read_in}&limit=2&after={cursor}", language)
        assert response.status_code == 422
        body = response.get_json()
        assert body["error"] == "invalid" and set(body["fields"]) == {"after"}
        assert words in body["fields"]["after"] and f"“{made_in}”" in body["fields"]["after"]
    # In its own order it goes on.
    assert _get(client, caseworker, f"sort={made_in}&limit=2&after={cursor}").status_code == 200


@pytest.mark.parametrize("after", ["amount.", "amount.x", "amount.-3", "oldest.3", "amount.99999999999999999999"])
def test_a_cursor_that_is_none_is_named(client, caseworker, claims, after):
    response = _get(client, caseworker, f"sort=amount&after={after}")
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"after"}


def test_a_cursor_past_the_largest_id_is_named(client, caseworker, claims):
    response = _get(client, caseworker, f"sort=amount&after=amount.{2**63}")
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"after"}


def test_a_cursor_of_a_claim_outside_the_callers_scope_leaves_nothing_beyond_it(client, caseworker, claims):
    """As on the queue page: its amount is not read for a caller who may not see the claim."""
    elsewhere = db.session.scalar(db.select(Claim.id).where(Claim.district_code == "018"))
    page = _get(client, caseworker, f"sort=amount&after=amount.{elsewhere}").get_json()
    assert page["claims"] == [] and page["next_after"] is None


def test_the_document_lists_the_orders_and_the_cursor(client):
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/claims"]["get"]["parameters"]}
    assert sorted(parameters["sort"]["schema"]["enum"]) == sorted(SORTS)
    assert "-amount.41" in parameters["after"]["description"]
