"""Whatever text reaches an API route's path or query string, the answer is JSON in the API's shape and never a 500:
NUL, newlines, very long strings, percent-encodings that are not UTF-8. Input that can never be a valid value is a
422 naming the field.

The routes come from app.url_map; QUERY_PARAMETERS says which query parameters each reads (a new API route fails
the test until it is listed there)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disburse.auth.service import create_token
from disburse.extensions import limiter
from tests.factories import create_claim, create_employee, create_user

#: endpoint → the query-string parameters it reads.
QUERY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "api.health": (),
    "api.claims.employee_support": ("program",),
    "api.casework.lookup_people": ("program",),
    "api.forms.confirmations": ("program",),
    "api.forms.adjustments": ("program",),
    "api.forms.application": ("program",),
    "api.review.list_claims": (
        "state",
        "district",
        "employer",
        "reason",
        "assigned",
        "sort",
        "after",
        "limit",
        "program",
    ),
    "api.review.claim_detail": (),
    "api.review.claim_notice": (),
    "api.review.assign_next": (),
    "api.review.assign": (),
    "api.review.release": (),
    "api.review.log_contact": (),
    "api.review.request_info": (),
    "api.review.approve": (),
    "api.review.reject": (),
    "api.review.decline": (),
    "api.review.resolve_duplicate": (),
    "api.review.notice_batch": (),
    "api.casework.payment_details": (),
    "api.casework.record_phone": (),
    "api.casework.dismiss_offer": (),
    "api.casework.offer_cash": (),
    "api.casework.cash_receipt": (),
    "api.casework.withdraw_cash": (),
    "api.providers.provider_event": (),
    "api.reports.unit_progress": ("program",),
    "api.reports.progress": ("province", "district", "program"),
    "api.openapi_document": (),
}
#: Endpoints whose success is not JSON (the refusal notice is an HTML letter); their errors are JSON all the same.
NOT_JSON_ON_SUCCESS = {"api.review.claim_notice"}

#: Text as people and programs send it, and as they should not: any Unicode, NUL and newlines, digits with a
#: newline after them, very long strings.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("0123456789\x00\n\r\t %/?#&=.\\"), max_size=20),
    st.from_regex(r"[0-9]{10}\n?", fullmatch=True),
    st.text(alphabet="0123456789", min_size=200, max_size=5000),
)
#: Raw bytes, percent-encoded as they are (most are not UTF-8).
RAW = st.binary(max_size=30).map(lambda raw: "".join(f"%{byte:02X}" for byte in raw))


def _encoded(value: str | None, raw: str | None) -> str:
    return raw if raw is not None else quote(value or "", safe="")


@pytest.fixture
def token(db_session):
    return create_token(create_user("admin"))


def _api_routes(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert {rule.endpoint for rule in rules} == set(QUERY_PARAMETERS), "list the new route's query parameters"
    return rules


def _check(response, endpoint=""):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code < 300 and endpoint in NOT_JSON_ON_SUCCESS:
        return None
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code >= 400:
        assert set(body) == {"error", "message", "fields"}
        assert isinstance(body["error"], str) and isinstance(body["message"], str)
        assert isinstance(body["fields"], dict)
    return body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_text_in_any_api_parameter_is_never_a_500(app, client, token, data):
    limiter.reset()  # many requests from one address and token: the limits are tested elsewhere
    for rule in _api_routes(app):
        if not rule.arguments and not QUERY_PARAMETERS[rule.endpoint]:
            continue  # nothing to vary (the health check, which waits half a second for workers each time)
        path = rule.rule
        for name in rule.arguments:
            raw = data.draw(st.none() | RAW, label=f"{name} raw")
            value = data.draw(TEXT, label=name) if raw is None else None
            path = path.replace(f"<{name}>", _encoded(value, raw) or "x")
        query = []
        for name in QUERY_PARAMETERS[rule.endpoint]:
            raw = data.draw(st.none() | RAW, label=f"{name} raw")
            value = data.draw(TEXT, label=name) if raw is None else None
            query.append(f"{name}={_encoded(value, raw)}")
        url = path + ("?" + "&".join(query) if query else "")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            body = {} if method == "POST" else None  # the bodies have their own tests; here, path and query
            response = client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
            _check(response, rule.endpoint)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("program=%00", "program"),
        ("program=NQ116%0A", "program"),
        ("program=" + "N" * 300, "program"),
        ("program=%FF%FE", "program"),
        ("program=NQ%20116", "program"),
    ],
)
def test_a_program_that_cannot_exist_is_422_with_the_field(client, token, db_session, query, field):
    person = create_employee()
    response = client.get(
        f"/api/v1/employees/{person.si_code}/support?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    body = _check(response)
    assert response.status_code == 422 and body["error"] == "invalid" and field in body["fields"]


@pytest.mark.parametrize("si_code", ["0100000001%0A", "%000100000001", "01000000%FF", "0100000001%20", "1" * 300])
def test_an_si_code_that_cannot_exist_is_422_with_the_field(client, token, si_code):
    response = client.get(f"/api/v1/employees/{si_code}/support", headers={"Authorization": f"Bearer {token}"})
    body = _check(response)
    assert response.status_code == 422 and "si_code" in body["fields"]


@pytest.mark.parametrize("si_code", ["%FF%FE", "0100000001%0A"])
def test_characters_no_code_could_hold_are_named_as_such_not_counted(client, token, si_code):
    """Bytes that are not UTF-8 decode to U+FFFD: the answer says the value holds characters that are not allowed,
    never that "%FF%FE" is an SI code of 2 characters."""
    response = client.get(
        f"/api/v1/employees/{si_code}/support",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert _check(response)["fields"]["si_code"] == "The value contains characters that are not allowed."


@pytest.mark.parametrize("unit_code", ["DN01%0A000001", "%FF", "DN01000001%00", "D" * 201])
def test_a_unit_code_that_cannot_exist_is_422_not_404(client, token, unit_code):
    """Every path value, whatever the route checks itself: one that can never be valid is the client's mistake
    (422, naming it), not a record that is missing (404)."""
    response = client.get(f"/api/v1/employers/{unit_code}/progress", headers={"Authorization": f"Bearer {token}"})
    body = _check(response)
    assert response.status_code == 422 and "unit_code" in body["fields"], body


def test_a_valid_looking_but_unknown_si_code_is_404(client, token):
    response = client.get("/api/v1/employees/9999999999/support", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and _check(response)["error"] == "not_found"


def test_input_the_database_refuses_is_a_422_even_where_a_check_was_missed(client, token, db_session, monkeypatch):
    """The net under the views' own checks: a route that forgot one still answers 422 naming the field."""
    import disburse.api.schemas
    from disburse.claims.api import SupportQuery

    def no_checks(spec):  # a schema that forgot a check: the query's values as they came
        return {"query": SupportQuery.model_construct(**request.args.to_dict())}, {}

    monkeypatch.setattr(disburse.api.schemas, "validated", no_checks)
    person = create_employee()
    response = client.get(
        f"/api/v1/employees/{person.si_code}/support?program=NQ%00116",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    body = _check(response)
    assert response.status_code == 422
    assert body["fields"] == {"program": "The value contains characters that are not allowed."}


def test_a_body_nested_deeper_than_python_parses_is_never_a_500(app, client, token):
    """100,000 "[" then as many "]": the routes said 422, but with an Idempotency-Key (its request hash read the body)
    and at an unknown API URL (its 404 looks for unreadable input) the parser's RecursionError was a 500."""
    limiter.reset()
    deep = "[" * 100_000 + "]" * 100_000
    urls = ["/api/v1/nothing-here"]
    for rule in _api_routes(app):
        if "POST" in (rule.methods or set()):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", "1")
            urls.append(path)
    for n, url in enumerate(urls):
        for key in (None, f"deep-{n}"):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if key:
                headers["Idempotency-Key"] = key
            _check(client.post(url, data=deep, headers=headers))


def _body_routes(app):
    """(URL with every path value 1, body model) of every API route that reads a JSON body."""
    from disburse.api.openapi import PREFIX, operations
    from disburse.api.schemas import spec_of

    for _method, path, rule in operations(app):
        spec = spec_of(app.view_functions[rule.endpoint])
        if spec is not None and spec.body is not None:
            yield PREFIX + re.sub(r"\{[^}]+\}", "1", path), spec.body


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_every_required_body_field_left_out_or_blank_is_said_to_be_required(app, client, token, blank):
    """{} was answered "A district code has exactly 3 digits", "Take between 1 and 50 claims", and on Form 04
    "Date of birth: «» is not a date": a field's own words are for a value given wrong; one not given, or given
    blank, is said to be required, in the same words on every route and in both languages."""
    routes = list(_body_routes(app))
    assert len(routes) > 10
    assert "/api/v1/applications" in dict(routes)
    for url, model in routes:
        required = [name for name, info in model.model_fields.items() if info.is_required()]
        if not required:
            continue
        body = {} if blank is None else dict.fromkeys(required, blank)
        for language, words in (("en", "This field is required."), ("vi", "Trường này là bắt buộc.")):
            limiter.reset()
            answer = client.post(
                url, json=body, headers={"Authorization": f"Bearer {token}", "Accept-Language": language}
            )
            fields = _check(answer)["fields"]
            assert answer.status_code == 422, url
            assert {name: fields.get(name) for name in required} == dict.fromkeys(required, words), url


def test_a_list_given_as_text_is_said_to_be_a_list_and_a_long_one_its_length(client, token, db_session):
    claim = create_claim("needs_review")
    url = f"/api/v1/claims/{claim.id}/approve"
    for language, words in (("en", "Must be a list (JSON [...])."), ("vi", "Phải là một danh sách (JSON [...]).")):
        answer = client.post(
            url,
            json={"checked": "zero_months"},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
        )
        assert answer.status_code == 422 and answer.get_json()["fields"] == {"checked": words}
    many = ["zero_months"] * 40
    answer = client.post(
        url, json={"checked": many}, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    )
    assert answer.status_code == 422 and re.fullmatch(
        r"At most \d+ items \(this has 40\)\.", answer.get_json()["fields"]["checked"]
    )


def test_the_apis_district_messages_say_quan_huyen(client, token):
    """The product says "quận/huyện" for a district everywhere; the queue's assign-next and the notices said "huyện"."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "vi"}
    unscoped = client.post("/api/v1/claims/assign-next", json={"count": 1}, headers=headers)  # an admin names none
    assert unscoped.get_json()["fields"] == {"district": "Cần ghi mã quận/huyện (3 chữ số)."}
    malformed = client.post("/api/v1/notices/batches", json={"district": "17a", "date": "2021-10-20"}, headers=headers)
    assert malformed.get_json()["fields"] == {"district": "Mã quận/huyện gồm đúng 3 chữ số (ví dụ 017)."}
    root = Path(__file__).parents[2]
    said = [
        f"{path.relative_to(root)}:{number}"
        for folder, pattern in (("disburse", "*.py"), ("templates", "*.html"))
        for path in sorted((root / folder).rglob(pattern))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?i)mã huyện", line)
    ]
    assert not said


@pytest.mark.parametrize("wordless", ["...", " — . — ", "-\n-"])
def test_every_required_text_that_says_nothing_is_said_to_be_required(app, client, token, wordless):
    """A reason printed on a notice, a note kept on a record: the pages refuse a text of dots or dashes alone as
    blank (disburse.forms.free_text), and the API took "..." as a rejection's reason. Every required text field of
    every body (a str with the control-character rule) given text without a letter or digit is said to be required,
    as a blank one is."""
    from disburse.api.schemas import CONTROL_MSG

    checked = []
    for url, model in _body_routes(app):
        texts = [
            name
            for name, info in model.model_fields.items()
            if info.is_required() and info.annotation is str and CONTROL_MSG in info.metadata
        ]
        if not texts:
            continue
        limiter.reset()
        answer = client.post(
            url,
            json=dict.fromkeys(texts, wordless),
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        assert answer.status_code == 422, url
        fields = _check(answer)["fields"]
        assert {name: fields.get(name) for name in texts} == dict.fromkeys(texts, "This field is required."), url
        checked += texts
    assert {"reason_text", "note", "reason", "bank_code"} <= set(checked), checked
