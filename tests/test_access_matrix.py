"""Every route × every role × an in-scope, an out-of-scope and an unknown record.

The routes come from app.url_map: a new route fails this test until ROUTES says how to call it and, if it takes a
record, how to make one of each kind. The rule it checks: in scope 200; out of scope the same 404 as unknown (the
API never tells whether a record the caller may not see exists); 403 only where the role may never use the route;
signed out, 401 from the API and the sign-in page from pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from disburse.auth.permissions import PERMISSION_ATTR
from disburse.auth.service import create_token
from disburse.reference.models import District
from tests.factories import create_employee, create_employer, create_user

ROLES = {
    "caseworker": {"district": "017"},  # Đông Anh, Hà Nội
    "employer": {},  # its unit is the in-scope person's employer (see _users)
    "supervisor": {"province": "01"},  # Hà Nội
    "national supervisor": {},
    "admin": {},
}
#: Roles that see every record: for them nothing is out of scope.
SEES_EVERYTHING = {"national supervisor", "admin"}
SIGNED_OUT = "signed out"


@dataclass
class Records:
    """One value per kind of record, for a route's URL."""

    in_scope: str
    out_of_scope: str
    unknown: str


@dataclass
class Route:
    #: The URL, given the record's value (routes without a record ignore it).
    url: Callable[[str | None], str]
    #: Routes without a record: the status signed in and signed out, per method.
    signed_in: dict[str, int] = field(default_factory=dict)
    signed_out: dict[str, int] = field(default_factory=dict)
    #: For routes with a record: how to make each kind (given the test's people), else None.
    records: Callable[[dict[str, Any]], Records] | None = None
    data: dict[str, str] = field(default_factory=dict)


def _people(people: dict[str, Any]) -> Records:
    return Records(people["in_scope"].si_code, people["out_of_scope"].si_code, "9999999999")


ROUTES: dict[str, Route] = {
    "home.index": Route(lambda _: "/", {"GET": 200}, {"GET": 200}),
    "auth.set_language": Route(lambda _: "/language/en?next=/", {"GET": 302}, {"GET": 302}),
    "auth.login": Route(
        lambda _: "/login",
        {"GET": 302, "POST": 302},  # already signed in: to the home page
        {"GET": 200, "POST": 400},  # the form; a wrong password
        data={"email": "nobody@bhxh.example.vn", "password": "sai-mat-khau-roi"},
    ),
    "auth.logout": Route(lambda _: "/logout", {"POST": 302}, {"POST": 302}),
    "static": Route(lambda _: "/static/disburse.css", {"GET": 200}, {"GET": 200}),
    "api.health": Route(lambda _: "/api/v1/health", {"GET": 200}, {"GET": 200}),
    "api.claims.employee_support": Route(lambda si: f"/api/v1/employees/{si}/support", records=_people),
}


@pytest.fixture
def people(db_session):
    in_scope = create_employee(employer_id=create_employer(district_code="017").id, district_code="017")
    elsewhere = db_session.scalar(select(District.code).where(District.province_code == "79").order_by(District.code))
    out_of_scope = create_employee(employer_id=create_employer(district_code=elsewhere).id, district_code=elsewhere)
    return {"in_scope": in_scope, "out_of_scope": out_of_scope}


def _user(role: str, people: dict[str, Any]):
    if role == "employer":
        return create_user("employer", employer_unit=people["in_scope"].employer.unit_code)
    return create_user(role.split()[-1], **ROLES[role])


def _client(app, role: str, people: dict[str, Any], auth: str):
    client = app.test_client()
    headers: dict[str, str] = {}
    if role != SIGNED_OUT:
        user = _user(role, people)
        if auth == "session":
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
        else:
            headers["Authorization"] = f"Bearer {create_token(user)}"
    return client, headers, (None if role == SIGNED_OUT else user.role)


def _forbidden(app, endpoint: str, role: str | None) -> bool:
    permission = getattr(app.view_functions[endpoint], PERMISSION_ATTR)
    return role is not None and permission.startswith("roles:") and role not in permission[6:].split(",")


def _expected_for_record(app, endpoint: str, url: str, role_name: str, role: str | None, kind: str) -> int:
    api = url.startswith("/api/")
    if role is None:
        return 401 if api else 302
    if _forbidden(app, endpoint, role):
        return 403
    if kind == "in_scope" or (kind == "out_of_scope" and role_name in SEES_EVERYTHING):
        return 200
    return 404


def _cases(app, people):
    """(endpoint, method, url, record kind or None, route) for every route in app.url_map."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), "add the new route to ROUTES (how to call it, its records)"
    for rule in app.url_map.iter_rules():
        route = ROUTES[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if route.records is None:
                yield rule.endpoint, method, route.url(None), None, route
                continue
            records = route.records(people)
            for kind in ("in_scope", "out_of_scope", "unknown"):
                yield rule.endpoint, method, route.url(getattr(records, kind)), kind, route


@pytest.mark.parametrize(
    ("role_name", "auth"), [(role, auth) for role in ROLES for auth in ("session", "token")] + [(SIGNED_OUT, "none")]
)
def test_route_role_record_matrix(app, client, people, role_name, auth):
    wrong = []
    bodies_404: dict[str, Any] = {}
    for endpoint, method, url, kind, route in _cases(app, people):
        if auth == "token" and not url.startswith("/api/"):
            continue  # tokens are for the API; pages use the session
        caller, headers, role = _client(app, role_name, people, auth)
        with caller.open(url, method=method, headers=headers, data=route.data or None) as response:
            if kind is None:
                expected = (route.signed_out if role is None else route.signed_in)[method]
            else:
                expected = _expected_for_record(app, endpoint, url, role_name, role, kind)
            if response.status_code != expected:
                wrong.append(f"{method} {url} ({kind}): {response.status_code}, expected {expected}")
            if role is None and not url.startswith("/api/") and expected == 302 and endpoint == "auth.logout":
                assert response.headers["Location"].startswith("/login?next=")  # pages send you to sign in
            if response.status_code == 404 and kind is not None:
                bodies_404[kind] = response.get_json()
    assert wrong == []
    if "out_of_scope" in bodies_404:  # indistinguishable from a record that does not exist
        assert bodies_404["out_of_scope"] == bodies_404["unknown"]
