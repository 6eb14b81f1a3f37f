"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document with every API route and nothing else, built from the
schemas that validate the requests; every route, called on real data, answers what the document says, every
documented property present.

SAMPLES says how to call each route (method and the document's path): a new API route fails
test_every_route_has_a_sample_call until it is listed there."""

from __future__ import annotations

import ast
import inspect
import json
import re
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from standardwebhooks.webhooks import Webhook

from disburse.api.errors import _HTTP_MESSAGES
from disburse.api.openapi import PREFIX, build, operations
from disburse.api.schemas import spec_of
from disburse.auth.service import create_token
from disburse.claims.models import Claim
from disburse.extensions import db, limiter
from disburse.registry.models import Employee, Employer
from tests.conftest import PASSWORD, sign_in
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_duplicate_group,
    create_employee,
    create_employer,
    create_offer,
    create_payment,
    create_user,
)
from tests.sandbox_bank import SECRET

DONG_ANH = "017"


@pytest.fixture(scope="module")
def document(app):
    doc = build(app)
    validate_openapi(doc)  # raises with the first problem
    return doc


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["DISBURSE_TODAY"] = "2021-10-25"  # inside the employers' review window: the forms are open
    yield
    app.config["DISBURSE_TODAY"] = None


@dataclass
class Call:
    client: Any
    app: Any
    headers: dict[str, str]

    def get(self, url: str) -> Any:
        return self.client.get(PREFIX + url, headers=self.headers)

    def post(self, url: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(PREFIX + url, json=body, headers={**self.headers, **headers})


def _si(claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _unit(claim) -> str:
    return db.session.get(Employer, claim.employer_id).unit_code


def _review_claim():
    """A claim in needs_review in Đông Anh, one of a duplicate pair: every review action applies to it."""
    return create_duplicate_group("needs_review", employer_id=create_employer(district_code=DONG_ANH).id)[0]


def _support(call: Call) -> Any:
    payment = create_payment(state="paid")  # a claim and a payment: their objects are there, not null
    return call.get(f"/employees/{_si(db.session.get(Claim, payment.claim_id))}/support")


def _confirmations(call: Call) -> Any:
    claim = create_claim("listed")
    return call.post(f"/employers/{_unit(claim)}/confirmations", {"rows": [{"si_code": _si(claim), "decline": True}]})


def _adjustments(call: Call) -> Any:
    claim = create_claim("listed")
    rows = [{"si_code": _si(claim), "action": "remove", "reason": "Nghỉ việc"}]
    return call.post(f"/employers/{_unit(claim)}/adjustments", {"rows": rows})


def _application(call: Call) -> Any:
    call.app.config["DISBURSE_TODAY"] = "2021-12-01"
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40)
    body = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "1988-02-03",
        "phone": "0912345678",
        "address": "Thôn Đoài, Đông Anh, Hà Nội",
        "status": "stopped",
        "unit_code": "TA0000001",
        "unused_months": 40,
        "payout": "bank",
        "bank_code": "VCB",
        "bank_account": "0011001234567",
    }
    return call.post("/applications", body)


def _people_lookup(call: Call) -> Any:
    paid = create_payment(create_claim("paid"), state="paid")
    claim = db.session.get(Claim, paid.claim_id)
    person = db.session.get(Employee, claim.employee_id)
    without = create_employee()
    return call.post("/people/lookup", {"codes": [person.si_code, "0199999999", without.national_id]})


def _claim_list(call: Call) -> Any:
    _review_claim()
    return call.get(f"/claims?district={DONG_ANH}&state=needs_review&limit=5")


def _claim_detail(call: Call) -> Any:
    claim = _review_claim()
    assert call.post(f"/claims/{claim.id}/assign", {}).status_code == 200  # assigned_to is an object, not null
    assert call.post(f"/claims/{claim.id}/contacts", {"channel": "phone", "outcome": "reached"}).status_code == 200
    return call.get(f"/claims/{claim.id}")


def _notice(call: Call) -> Any:
    claim = _review_claim()
    body = {"reason_code": "not_employed_on_cutoff", "reason_text": "Đã nghỉ việc từ tháng 08/2021."}
    assert call.post(f"/claims/{claim.id}/reject", body).status_code == 200
    return call.get(f"/claims/{claim.id}/notice")


def _action(path: str, body: dict[str, Any], *, alone: bool = False) -> Callable[[Call], Any]:
    """``alone``: a claim without a duplicate (one with an undecided duplicate is not approved)."""

    def sample(call: Call) -> Any:
        claim = create_claim("needs_review", district_code=DONG_ANH) if alone else _review_claim()
        return call.post(f"/claims/{claim.id}/{path}", {k: claim.id if v == "SELF" else v for k, v in body.items()})

    return sample


def _assign_next(call: Call) -> Any:
    _review_claim()
    return call.post("/claims/assign-next", {"count": 1, "district": DONG_ANH})


def _provider_event(call: Call) -> Any:
    payment = create_payment(state="sent")
    item = {"reference_id": payment.provider_reference, "status": "succ", "amount": str(payment.amount_vnd)}
    body = json.dumps(
        {
            "signature": None,
            "header": {"version": "1.0.0", "message_id": "m", "action": "on-disburse", "status": "succ"},
            "message": {"transaction_id": "T-1", "correlation_id": "c", "disbursements_status": [item]},
        }
    )
    event_id, moment = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(event_id, moment, body),
        "content-type": "application/json",
    }
    return call.client.post(PREFIX + "/providers/sandbox/events", data=body, headers=headers)


def _unit_progress(call: Call) -> Any:
    claim = create_claim("paid")
    return call.get(f"/employers/{_unit(claim)}/progress")


def _area_progress(call: Call) -> Any:
    create_claim("paid", employee=create_employee(district_code=DONG_ANH))
    return call.get("/progress?province=01")


def _awaiting_details() -> Claim:
    return create_claim("awaiting_payment_details", district_code=DONG_ANH)


def _dismiss_offer(call: Call) -> Any:
    claim = _awaiting_details()
    offered = create_offer(claim)
    return call.post(f"/claims/{claim.id}/offer-dismiss", {"offer_id": offered.id, "reason": "Không phải của họ."})


def _cash_action(path: str, body: dict[str, Any]) -> Callable[[Call], Any]:
    def sample(call: Call) -> Any:
        call.app.config["DISBURSE_TODAY"] = "2021-11-15"  # a day the programme pays
        claim_id = create_cash_payment(employee=create_employee(district_code=DONG_ANH)).claim_id
        return call.post(f"/claims/{claim_id}/{path}", body)

    return sample


#: (method, path in the document) → how to call it on real data, as an admin (who sees everything).
SAMPLES: dict[tuple[str, str], Callable[[Call], Any]] = {
    ("GET", "/health"): lambda call: call.get("/health"),
    ("GET", "/openapi.json"): lambda call: call.get("/openapi.json"),
    ("GET", "/employees/{si_code}/support"): _support,
    ("POST", "/people/lookup"): _people_lookup,
    ("POST", "/employers/{unit_code}/confirmations"): _confirmations,
    ("POST", "/employers/{unit_code}/adjustments"): _adjustments,
    ("POST", "/applications"): _application,
    ("GET", "/claims"): _claim_list,
    ("GET", "/claims/{claim_id}"): _claim_detail,
    ("GET", "/claims/{claim_id}/notice"): _notice,
    ("POST", "/claims/assign-next"): _assign_next,
    ("POST", "/claims/{claim_id}/assign"): _action("assign", {}),
    ("POST", "/claims/{claim_id}/release"): _action("release", {}),
    ("POST", "/claims/{claim_id}/contacts"): _action(
        "contacts", {"channel": "phone", "outcome": "reached", "note": "Đã gọi."}
    ),
    ("POST", "/claims/{claim_id}/information-requests"): _action(
        "information-requests", {"addressee": "person", "note": "Nộp bản sao sổ BHXH.", "due_on": "2021-11-20"}
    ),
    ("POST", "/claims/{claim_id}/approve"): _action("approve", {"note": "Đã xác minh."}, alone=True),
    ("POST", "/claims/{claim_id}/reject"): _action(
        "reject", {"reason_code": "not_employed_on_cutoff", "reason_text": "Đã nghỉ việc từ 08/2021."}
    ),
    ("POST", "/claims/{claim_id}/decline"): _action(
        "decline", {"note": "Đơn đề nghị không nhận hỗ trợ ngày 12/10/2021."}
    ),
    ("POST", "/claims/{claim_id}/resolve-duplicate"): _action("resolve-duplicate", {"keep": "SELF"}),
    ("POST", "/claims/{claim_id}/payment-details"): lambda call: call.post(
        f"/claims/{_awaiting_details().id}/payment-details", {"bank_code": "BIDV", "bank_account": "1234567890"}
    ),
    ("POST", "/claims/{claim_id}/phone"): _action("phone", {"phone": "0987654321", "id_card_seen": True}),
    ("POST", "/claims/{claim_id}/offer-dismiss"): _dismiss_offer,
    ("POST", "/claims/{claim_id}/cash"): lambda call: call.post(
        f"/claims/{_awaiting_details().id}/cash", {"reason": "Không có tài khoản ngân hàng."}
    ),
    ("POST", "/claims/{claim_id}/cash-receipt"): _cash_action("cash-receipt", {"receipt_number": "AA/21E 0000123"}),
    ("POST", "/claims/{claim_id}/cash-withdraw"): _cash_action("cash-withdraw", {"reason": "Xin nhận qua ngân hàng."}),
    ("POST", "/notices/batches"): lambda call: call.post(
        "/notices/batches", {"district": DONG_ANH, "date": "2021-10-22"}
    ),
    ("POST", "/providers/{name}/events"): _provider_event,
    ("GET", "/employers/{unit_code}/progress"): _unit_progress,
    ("GET", "/progress"): _area_progress,
}


# --------------------------------------------------------------------------------------------- the document


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": PREFIX}]  # relative: the document names no host


def test_every_api_route_is_in_the_document_and_nothing_else(app, document):
    in_app = {(method, path) for method, path, _ in operations(app)}
    rules = {
        (m, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for m in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(in_app) == len(rules) > 20
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert documented == in_app


def test_every_route_has_a_sample_call(document):
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    missing = sorted(documented - set(SAMPLES))
    assert not missing, f"add a sample call to SAMPLES in {__file__} for: {missing}"
    assert not set(SAMPLES) - documented, "SAMPLES names a route the document does not have"


def test_the_route_table_in_docs_api_md_agrees_with_the_document(document):
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (GET|POST) \| `/api/v1([^`]*)` \|", text, re.MULTILINE)
    in_docs = {(method, re.sub(r"<([^>]+)>", r"{\1}", path).replace("{id}", "{claim_id}")) for method, path in table}
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert in_docs == documented, f"docs/api.md lacks {documented - in_docs}, has extra {in_docs - documented}"


def test_every_post_takes_an_idempotency_key_and_guarded_routes_say_who(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            refs = [p.get("$ref") for p in operation.get("parameters", [])]
            if method == "post" and path != "/providers/{name}/events":  # callbacks: de-duplicated by webhook-id
                assert "#/components/parameters/IdempotencyKey" in refs, path
            if operation.get("security") != []:  # signed in (or signed by the provider)
                assert "401" in operation["responses"], (method, path)
            if path not in ("/health", "/providers/{name}/events"):  # never rate-limited
                assert "429" in operation["responses"], (method, path)
            for name in [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]:
                assert "{" + name + "}" in path


def test_the_request_schemas_are_the_ones_that_validate(app, document):
    """The document's body schema for an action is the model the route checks with, field for field."""
    from disburse.verification.api import RejectBody

    schema = document["components"]["schemas"]["RejectBody"]
    assert schema == RejectBody.model_json_schema(ref_template="#/components/schemas/{model}")
    operation = document["paths"]["/claims/{claim_id}/reject"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RejectBody"
    }


def test_it_is_served_publicly_and_built_once_per_process(app, client, document):
    first = client.get(PREFIX + "/openapi.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.get_json() == json.loads(json.dumps(document))
    from disburse.api.openapi import document as cached

    assert cached(app) is cached(app)


# ------------------------------------------------------------------------------------------------ the answers


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _missing(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> Iterator[str]:
    """Every documented property absent from ``value``, however deep (anyOf: the branch that is not null)."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        if value is None:
            return
        for option in schema["anyOf"]:
            if option.get("type") != "null":
                yield from _missing(document, option, value, where)
        return
    if isinstance(value, dict):
        for name, inner in schema.get("properties", {}).items():
            if name not in value:
                yield f"{where}.{name}"
            else:
                yield from _missing(document, inner, value[name], f"{where}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _missing(document, schema["items"], item, f"{where}[{index}]")


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The document's components beside the schema, so that "#/components/schemas/…" resolves.
    return Draft202012Validator({**schema, "components": document["components"]})


@pytest.mark.parametrize(("method", "path"), sorted(SAMPLES), ids=lambda part: part)
def test_each_route_answers_what_the_document_says(app, client, db_session, document, method, path):
    admin = create_user("admin")
    call = Call(client, app, {"Authorization": f"Bearer {create_token(admin)}", "Accept-Language": "en"})
    response = SAMPLES[(method, path)](call)
    operation = document["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered {status}, not documented"
    assert response.status_code < 300, (method, path, response.get_data(as_text=True)[:500])
    (media_type, content), *_ = operation["responses"][status]["content"].items()
    assert response.mimetype == media_type, (method, path)
    if media_type != "application/json":
        assert response.get_data(as_text=True).strip()
        return
    body = response.get_json()
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(document, content["schema"]).iter_errors(body)
    ]
    assert not errors, f"{method} {path}: {errors}"
    missing = list(_missing(document, content["schema"], body, "body"))
    assert not missing, f"{method} {path} does not return the documented {missing}"


def test_every_success_schema_requires_each_property_it_documents(document):
    """So that validating an answer checks that each documented field is there (null where there is nothing)."""
    seen: set[str] = set()

    def walk(schema: dict[str, Any], where: str) -> Iterator[str]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return
            seen.add(name)
            schema = document["components"]["schemas"][name]
            where = name
        for name, inner in schema.get("properties", {}).items():
            if name not in schema.get("required", ()):
                yield f"{where}.{name}"
            yield from walk(inner, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from walk(schema[key], where)
        for option in schema.get("anyOf", ()):
            yield from walk(option, where)

    optional = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    optional += walk(response["content"]["application/json"]["schema"], f"{method} {path}")
    assert not optional


# ------------------------------------------------------------------------------------------- bad input, 422


@pytest.mark.parametrize(
    ("body", "field", "english", "vietnamese"),
    [
        ({"note": "ok", "extra": 1}, "extra", "This field is not accepted.", "Trường này không được nhận."),
        ({"note": 5}, "note", "Must be text.", "Phải là một đoạn văn bản."),
    ],
)
def test_an_unknown_field_or_a_wrong_type_is_the_422_envelope_in_both_languages(
    client, db_session, document, body, field, english, vietnamese
):
    claim = _review_claim()
    token = create_token(create_user("admin"))
    answers = {}
    for language in ("en", "vi"):
        response = client.post(
            f"{PREFIX}/claims/{claim.id}/approve",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
        )
        assert response.status_code == 422
        schema = document["paths"]["/claims/{claim_id}/approve"]["post"]["responses"]["422"]["content"]
        assert not list(_validator(document, schema["application/json"]["schema"]).iter_errors(response.get_json()))
        answers[language] = response.get_json()
    assert answers["en"]["error"] == answers["vi"]["error"] == "invalid"
    assert answers["en"]["fields"] == {field: english} and answers["vi"]["fields"] == {field: vietnamese}
    assert db.session.get(Claim, claim.id).state == "needs_review"  # nothing changed


GIVEN_TWICE_EN = "This field is given more than once; give it once."


def test_a_key_given_twice_deep_in_a_body_is_named_where_it_sits_and_nothing_changes(client, db_session):
    """A parser would keep the last value: the unit meant one of the two, and which cannot be told."""
    claim = create_claim("listed")
    token = create_token(create_user("admin"))
    si_code = db.session.get(Employee, claim.employee_id).si_code
    body = f'{{"rows": [{{"si_code": "{si_code}", "decline": true, "decline": false}}]}}'
    response = client.post(
        f"{PREFIX}/employers/{_unit(claim)}/confirmations",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"rows.0.decline": GIVEN_TWICE_EN}
    assert db.session.get(Claim, claim.id).state == "listed"


def test_a_form_row_of_the_wrong_shape_names_the_row_and_field(client, db_session):
    claim = create_claim("listed")
    token = create_token(create_user("admin"))
    response = client.post(
        f"{PREFIX}/employers/{_unit(claim)}/confirmations",
        json={"rows": [{"si_code": 100012345, "bank": "VCB"}]},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "rows.0.si_code": "Must be text.",
        "rows.0.bank": "This field is not accepted.",
    }


# ------------------------------------------------------------------------------------- every status documented


def _any_url(path: str, query: str) -> str:
    """The route's URL with every path value 1: the refusals tested here come before any record is read."""
    return PREFIX + re.sub(r"\{[^}]+\}", "1", path) + query


@pytest.mark.parametrize(("method", "path"), sorted(SAMPLES), ids=lambda part: part)
def test_a_route_refusing_a_request_answers_a_status_its_document_lists(
    app, client, db_session, document, method, path
):
    """Derived from the route, not listed by hand: a query parameter it does not take (422, but where any query is
    passed over), a value no route takes (422), a write signed in by the session cookie that is not JSON (400),
    no user at all (401 where one is needed), a query parameter or a body's key given twice (422, never read as one
    of its values). Each answer's status is in the document, with the API's error shape."""
    limiter.reset()
    rule = next(rule for m, p, rule in operations(app) if (m, p) == (method, path))
    spec = spec_of(app.view_functions[rule.endpoint])
    assert spec is not None
    responses = document["paths"][path][method.lower()]["responses"]
    admin = create_user("admin", password=PASSWORD)
    bearer = {"Authorization": f"Bearer {create_token(admin)}", "Accept-Language": "en"}
    body = {} if method == "POST" else None
    answers = []
    unknown = client.open(_any_url(path, "?zz=1"), method=method, json=body, headers=bearer)
    if not spec.any_query:
        assert unknown.status_code == 422 and unknown.get_json()["fields"]["zz"] == "This field is not accepted."
    answers.append(unknown)
    control = client.open(_any_url(path, "?zz=%01"), method=method, json=body, headers=bearer)
    assert control.status_code == 422 and "zz" in control.get_json()["fields"]
    answers.append(control)
    if spec.query is not None:
        name = next(iter(spec.query.model_fields))
        twice = client.open(_any_url(path, f"?{name}=1&{name}=1"), method=method, json=body, headers=bearer)
        assert twice.status_code == 422 and twice.get_json()["fields"][name] == GIVEN_TWICE_EN
        answers.append(twice)
    if spec.body is not None:
        repeated = '{"zz": 1, "zz": 1}'
        twice = client.open(
            _any_url(path, ""), method=method, data=repeated, content_type="application/json", headers=bearer
        )
        assert twice.status_code == 422 and twice.get_json()["fields"] == {"zz": GIVEN_TWICE_EN}
        answers.append(twice)
    answers.append(client.open(_any_url(path, ""), method=method, json=body))  # nobody
    if method == "POST":
        sign_in(client, admin)
        form = client.open(
            _any_url(path, ""), method=method, data="x=1", content_type="application/x-www-form-urlencoded"
        )
        assert form.status_code == 400 and form.get_json()["error"] == "bad_request"
        answers.append(form)
    for answer in answers:
        assert str(answer.status_code) in responses, f"{method} {path} answered {answer.status_code}, not documented"
        if answer.status_code >= 400:
            assert set(answer.get_json()) >= {"error", "message", "fields"}


def _named(module: types.ModuleType, node: ast.expr) -> Any:
    """What a name (``Conflict``) or a module's attribute (``review.approve``, ``reasons.OTHER``) is in ``module``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return vars(module).get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return getattr(vars(module).get(node.value.id), node.attr, None)
    return None


def _class_code(cls: type) -> str:
    """A ReviewError class's code: the one its ``__init__`` gives (``NotRejected``), else its own."""
    given = [
        k.value.value
        for k in ast.walk(ast.parse(inspect.getsource(cls)))
        if isinstance(k, ast.keyword) and k.arg == "code" and isinstance(k.value, ast.Constant)
    ]
    return next(iter(given), cls.code)  # type: ignore[attr-defined]


def _calls(module: types.ModuleType, node: ast.AST) -> Iterator[ast.Call]:
    """Every call under ``node``, but in the body of a ``try`` that catches a ReviewError (it is not raised)."""
    from disburse.verification.review import ReviewError

    children = list(ast.iter_child_nodes(node))
    if isinstance(node, ast.Try):
        caught = [_named(module, h.type) for h in node.handlers if h.type is not None]
        if any(isinstance(c, type) and issubclass(c, ReviewError) for c in caught):
            children = [*node.handlers, *node.orelse, *node.finalbody]
    if isinstance(node, ast.Call):
        yield node
    for child in children:
        yield from _calls(module, child)


def _direct(module: types.ModuleType, function: ast.FunctionDef, analysed: set[str]) -> tuple[set[Any], set[Any]]:
    """The (status, code) pairs ``function`` raises or answers itself, and the analysed functions it calls."""
    from disburse.verification.review import ReviewError

    pairs: set[tuple[int, str]] = set()
    called: set[Any] = set()
    for call in _calls(module, function):
        made = _named(module, call.func)
        if isinstance(made, type) and issubclass(made, ReviewError):
            given = [_named(module, k.value) for k in call.keywords if k.arg == "code"]
            pairs.add((made.status, given[0] if given else _class_code(made)))
        elif getattr(made, "__name__", "") == "api_error" and all(isinstance(a, ast.Constant) for a in call.args[:2]):
            pairs.add((_named(module, call.args[0]), _named(module, call.args[1])))
        elif callable(made) and getattr(made, "__module__", None) in analysed:
            called.add(made)
    return pairs, called


def _raised(view_module: types.ModuleType, modules: tuple[types.ModuleType, ...]) -> dict[str, set[tuple[int, str]]]:
    """For every function of ``view_module``: the (status, code) of each ReviewError it can raise, itself or
    through the functions of ``modules`` it calls (read from their source: a ``code=`` given where one is made, else
    the class's own), and of each ``api_error(status, "code", …)`` it answers."""
    analysed = {m.__name__ for m in (view_module, *modules)}
    direct = {
        vars(module)[node.name]: _direct(module, node, analysed)
        for module in (view_module, *modules)
        for node in ast.parse(inspect.getsource(module)).body
        if isinstance(node, ast.FunctionDef)
    }

    def closure(function: Any, seen: set[Any]) -> set[tuple[int, str]]:
        if function in seen or function not in direct:
            return set()
        seen.add(function)
        pairs, called = direct[function]
        return pairs.union(*(closure(c, seen) for c in called))

    return {f.__name__: closure(f, set()) for f in direct if f.__module__ == view_module.__name__}


#: Codes the source reaches that the API never answers: (view, code) → why.
_NEVER_FROM_THE_API = {
    ("assign_next", "taken_already"): "only with held=, which the caseworkers' page passes and the API never does",
}


def test_every_error_code_a_review_route_raises_is_named_under_its_status(app, document):
    """approve answered 409 duplicates_undecided and changed_since, which its document did not name: every code
    the review API's views can raise (derived from the services' source) is named in the description of its
    status, but a status's own code (not_found for 404, invalid for 422, …)."""
    from disburse.verification import api, notices, review

    raised = _raised(api, (review, notices))
    operation_ids = {
        rule.endpoint: document["paths"][path][method.lower()]
        for method, path, rule in operations(app)
        if rule.endpoint.startswith("api.review.")
    }
    assert len(operation_ids) > 10
    unnamed = []
    for endpoint, operation in operation_ids.items():
        view = endpoint.rsplit(".", 1)[-1]
        for status, code in sorted(raised[view]):
            if code == _HTTP_MESSAGES[status][0] or (view, code) in _NEVER_FROM_THE_API:
                continue
            response = operation["responses"].get(str(status))
            if response is None or code not in response["description"]:
                unnamed.append(f"{endpoint}: {status} {code}")
    assert not unnamed
    assert ("approve", "duplicates_undecided") in {(v, c) for v, pairs in raised.items() for _, c in pairs}
