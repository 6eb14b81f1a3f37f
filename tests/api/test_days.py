"""Every date field of every API body and query string takes a day as its error message says it may be written:
dd/mm/yyyy (the day and month with one digit or two) or YYYY-MM-DD. The fields are found by walking every API
route's declared models, so that a new date field that is a plain ``date`` (ISO only, while "Must be a date as
dd/mm/yyyy or YYYY-MM-DD." is what it answers) fails here."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from disburse.api.schemas import field_errors, spec_of
from disburse.auth.service import create_token
from tests.factories import create_employee, create_user

#: The date fields there are today (route, where, field): the walk must find at least these.
KNOWN = {
    ("/api/v1/applications", "body", "date_of_birth"),
    ("/api/v1/claims/<int:claim_id>/information-requests", "body", "due_on"),
    ("/api/v1/notices/batches", "body", "date"),
}


def _holds_date(annotation: Any) -> bool:
    if annotation is date:
        return True
    return any(_holds_date(arg) for arg in typing.get_args(annotation))


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _date_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[tuple[str, FieldInfo]]:
    """Every field of ``model`` and the models it holds whose type is (or includes) a date, by its name."""
    for name, info in model.model_fields.items():
        if _holds_date(info.annotation):
            yield name, info
        for inner in _models(info.annotation):
            if inner not in seen:
                seen.add(inner)
                yield from ((f"{name}.{sub}", sub_info) for sub, sub_info in _date_fields(inner, seen))


def _all_date_fields(app) -> list[tuple[str, str, str, type[BaseModel], FieldInfo]]:
    found = []
    for rule in app.url_map.iter_rules():
        spec = spec_of(app.view_functions[rule.endpoint])
        if spec is None:
            continue
        for where in ("path", "query", "body"):
            model = getattr(spec, where)
            if model is not None:
                found += [(rule.rule, where, name, model, info) for name, info in _date_fields(model, {model})]
    return found


#: The ways a day is written that the messages promise, and how a person writes the same day.
WRITTEN = (
    lambda day: f"{day:%d/%m/%Y}",
    lambda day: f"{day.day}/{day.month}/{day.year}",
    lambda day: day.isoformat(),
)


def test_the_walk_finds_every_date_field(app):
    found = {(route, where, name) for route, where, name, _, _ in _all_date_fields(app)}
    assert found >= KNOWN


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), way=st.sampled_from(WRITTEN))
def test_every_date_field_takes_both_ways_of_writing_a_day(app, day, way):
    text = way(day)
    for route, where, name, model, info in _all_date_fields(app):
        # The field's own type, as strict as its model reads it (a body as JSON, a query string as text).
        field_type = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        adapter: TypeAdapter[Any] = TypeAdapter(field_type)
        if where == "body":
            parsed = adapter.validate_json(json.dumps(text), strict=True)
        else:
            parsed = adapter.validate_python(text, strict=True)
        assert parsed == day, (route, name, text)
        # And through the whole model, as the route validates it: nothing said about this field.
        if "." not in name:
            try:
                if where == "body":
                    model.model_validate_json(json.dumps({name: text}))
                else:
                    model.model_validate({name: text})
            except ValidationError as exc:
                assert name not in field_errors(model, exc), (route, name, text)


@pytest.mark.parametrize("written", ["1978-11-02", "02/11/1978", "2/11/1978"])
def test_form_04_takes_the_date_of_birth_as_people_write_it(app, client, db_session, written):
    """The explorer's case: 02/11/1978 was a 422 "Must be a date as dd/mm/yyyy or YYYY-MM-DD." while the ISO day
    passed."""
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    try:
        person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40)
        user = create_user("caseworker", district="001")
        body = {
            "si_code": person.si_code,
            "national_id": person.national_id,
            "full_name": person.full_name,
            "date_of_birth": written,
            "phone": "0912345678",
            "address": "Thôn Đoài, Đông Anh, Hà Nội",
            "status": "stopped",
            "unit_code": "TA0000001",
            "unused_months": 40,
            "payout": "cash",
        }
        headers = {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": "en"}
        response = client.post("/api/v1/applications", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
    finally:
        app.config["DISBURSE_TODAY"] = None


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("31/02/1990", "not in the calendar"),
        ("02/11/78", "two-digit year"),
        ("11/31/1978", "puts the month first"),
        ("1978/11/02", "is not a date"),
    ],
)
def test_a_date_of_birth_written_wrong_says_why(app, client, db_session, written, words):
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    try:
        user = create_user("caseworker", district="001")
        headers = {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": "en"}
        response = client.post("/api/v1/applications", json={"date_of_birth": written}, headers=headers)
        assert response.status_code == 422
        assert words in response.get_json()["fields"]["date_of_birth"]
    finally:
        app.config["DISBURSE_TODAY"] = None


def test_the_document_says_a_day_may_be_written_either_way(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    birth = schemas["ApplicationBody"]["properties"]["date_of_birth"]
    assert birth["type"] == "string" and "format" not in birth
    assert "dd/mm/yyyy" in birth["description"]
    notice_day = schemas["NoticeBatchBody"]["properties"]["date"]
    assert notice_day["pattern"] == birth["pattern"]
