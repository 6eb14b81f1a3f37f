"""``OPTIONS`` on every API route: ``204 No Content`` with the route's methods in ``Allow``, no body and so no type
(Flask's own answer was a 200 with an empty body typed text/html), with the headers every answer carries."""

from __future__ import annotations

import re


def test_options_on_every_api_route_says_its_methods_and_nothing_else(app, client):
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        answer = client.open(url, method="OPTIONS")
        assert answer.status_code == 204, (url, answer.status_code)
        assert "Content-Type" not in answer.headers and answer.get_data() == b"", url
        allowed = {method.strip() for method in answer.headers["Allow"].split(",")}
        assert allowed == set(rule.methods or ()), url
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Content-Type-Options"] == "nosniff"
        seen += 1
    assert seen > 20


def test_an_unknown_api_url_is_still_the_apis_404(client):
    answer = client.open("/api/v1/nothing-here", method="OPTIONS")
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
