"""Idempotency-Key on the API's POSTs: a retry with the same key gets the first answer and changes nothing; the same
key with another request is a 422; while the first still runs, a 409; a key is the caller's own; a 5xx is not
kept. Real PostgreSQL; the keys are committed (a concurrent retry must see them) and removed after each test."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from sqlalchemy import func, select, text

from disburse.api.idempotency import purge
from disburse.auth.service import create_token
from disburse.claims.models import ClaimEvent
from disburse.extensions import db
from tests.factories import create_claim, create_user


@pytest.fixture
def caller(app, db_session):
    user = create_user("admin")
    yield user, {"Authorization": f"Bearer {create_token(user)}"}
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM idempotency_keys WHERE caller = :c"), {"c": f"user:{user.id}"})


def _contacts(db_session, claim_id: int) -> int:
    return db_session.scalar(
        select(func.count()).where(ClaimEvent.claim_id == claim_id, ClaimEvent.action == "contact")
    )


def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(client, db_session, caller):
    _, auth = caller
    claim = create_claim("needs_review")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"channel": "phone", "outcome": "reached", "note": "Đã gọi"}

    first = client.post(f"/api/v1/claims/{claim.id}/contacts", json=body, headers={**auth, **key})
    again = client.post(f"/api/v1/claims/{claim.id}/contacts", json=body, headers={**auth, **key})

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert _contacts(db_session, claim.id) == 1
    fresh = client.post(
        f"/api/v1/claims/{claim.id}/contacts", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert fresh.status_code == 200 and _contacts(db_session, claim.id) == 2
    assert client.post(f"/api/v1/claims/{claim.id}/contacts", json=body, headers=auth).status_code == 200  # no key
    assert _contacts(db_session, claim.id) == 3
    # The same request serialised again (other spaces, another key order) is the same request: replayed.
    respaced = client.post(
        f"/api/v1/claims/{claim.id}/contacts",
        data='{ "note": "Đã gọi",  "outcome": "reached", "channel": "phone" }',
        headers={**auth, **key, "Content-Type": "application/json"},
    )
    assert respaced.status_code == 200 and respaced.headers["Idempotent-Replayed"] == "true"
    assert _contacts(db_session, claim.id) == 3


def test_the_same_key_with_another_request_is_a_422(client, db_session, caller):
    _, auth = caller
    claim = create_claim("needs_review")
    key = {"Idempotency-Key": "retry-" + uuid.uuid4().hex}
    url = f"/api/v1/claims/{claim.id}/contacts"
    client.post(url, json={"channel": "phone", "outcome": "reached"}, headers={**auth, **key})

    other_body = client.post(url, json={"channel": "phone", "outcome": "no_answer"}, headers={**auth, **key})
    other_path = client.post(
        f"/api/v1/claims/{create_claim('needs_review').id}/contacts",
        json={"channel": "phone", "outcome": "reached"},
        headers={**auth, **key},
    )

    other_query = client.post(
        f"{url}?program=NQ116", json={"channel": "phone", "outcome": "reached"}, headers={**auth, **key}
    )

    for response in (other_body, other_path, other_query):
        assert response.status_code == 422 and response.get_json()["error"] == "idempotency_key_reused"
    assert _contacts(db_session, claim.id) == 1


def test_a_body_giving_a_key_twice_is_never_taken_for_the_body_without_the_first(client, db_session, caller):
    """Parsed, ``{"outcome": "x", "outcome": "reached"}`` reads as ``{"outcome": "reached"}``: hashed so, the refusal
    of the first would be replayed to the corrected retry, and the first would get the answer of a success."""
    _, auth = caller
    claim = create_claim("needs_review")
    url, json_type = f"/api/v1/claims/{claim.id}/contacts", {"Content-Type": "application/json"}
    twice = '{"channel": "phone", "outcome": "no_answer", "outcome": "reached"}'
    key = {"Idempotency-Key": uuid.uuid4().hex}
    refused = client.post(url, data=twice, headers={**auth, **key, **json_type})
    assert refused.status_code == 422 and "outcome" in refused.get_json()["fields"]
    corrected = client.post(url, json={"channel": "phone", "outcome": "reached"}, headers={**auth, **key})
    assert corrected.status_code == 422 and corrected.get_json()["error"] == "idempotency_key_reused"  # not replayed
    key = {"Idempotency-Key": uuid.uuid4().hex}
    done = client.post(url, json={"channel": "phone", "outcome": "reached"}, headers={**auth, **key})
    assert done.status_code == 200 and _contacts(db_session, claim.id) == 1
    again = client.post(url, data=twice, headers={**auth, **key, **json_type})
    assert again.status_code == 422 and "Idempotent-Replayed" not in again.headers  # not the success's answer
    assert _contacts(db_session, claim.id) == 1


def test_a_refusal_is_replayed_too_and_a_bad_key_is_named(client, db_session, caller):
    _, auth = caller
    key = {"Idempotency-Key": uuid.uuid4().hex}
    missing = client.post("/api/v1/claims/999999999/contacts", json={}, headers={**auth, **key})
    assert client.post("/api/v1/claims/999999999/contacts", json={}, headers={**auth, **key}).get_json() == (
        missing.get_json()
    )
    for bad in ("", "has space", "x" * 256, "ключ"):
        response = client.post("/api/v1/claims/1/contacts", json={}, headers={**auth, "Idempotency-Key": bad})
        assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["fields"]


def test_while_the_first_request_runs_a_retry_gets_409(client, db_session, caller):
    user, auth = caller
    claim = create_claim("needs_review")
    url = f"/api/v1/claims/{claim.id}/contacts"
    raw = json.dumps({"channel": "phone", "outcome": "reached"}).encode()
    canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()  # what is hashed
    with db.engine.begin() as conn:  # the first request with this key and body, still running elsewhere
        conn.execute(
            text("INSERT INTO idempotency_keys (caller, key, request_hash) VALUES (:c, 'running-key', :h)"),
            {"c": f"user:{user.id}", "h": hashlib.sha256(f"POST {url}\n".encode() + canonical).hexdigest()},
        )

    response = client.post(
        url, data=raw, content_type="application/json", headers={**auth, "Idempotency-Key": "running-key"}
    )

    assert response.status_code == 409 and response.get_json()["error"] == "in_progress"
    assert _contacts(db_session, claim.id) == 0


def _left_running(user, url: str, body: dict, key: str, seconds_ago: float) -> None:
    """The key's row as a request of ``body`` to ``url`` leaves it when its web worker is killed mid-request (the
    timeout, out of memory): no answer, taken ``seconds_ago``; its transaction was rolled back."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                """INSERT INTO idempotency_keys (caller, key, request_hash, created_at)
                   VALUES (:c, :k, :h, now() - make_interval(secs => :ago))"""
            ),
            {
                "c": f"user:{user.id}",
                "k": key,
                "h": hashlib.sha256(f"POST {url}\n".encode() + canonical).hexdigest(),
                "ago": seconds_ago,
            },
        )


def test_a_key_left_running_by_a_killed_worker_is_taken_again_after_the_request_timeout(
    app, client, db_session, caller
):
    user, auth = caller
    lease = app.config["DISBURSE_WEB_TIMEOUT_S"]
    claim = create_claim("needs_review")
    url = f"/api/v1/claims/{claim.id}/contacts"
    body = {"channel": "phone", "outcome": "reached"}

    _left_running(user, url, body, "recent-key", lease - 5)  # may still be running: it is not retried
    response = client.post(url, json=body, headers={**auth, "Idempotency-Key": "recent-key"})
    assert response.status_code == 409 and response.get_json()["error"] == "in_progress"
    assert _contacts(db_session, claim.id) == 0

    _left_running(user, url, body, "stale-key", lease + 1)  # its worker was killed: the retry runs, once
    first = client.post(url, json=body, headers={**auth, "Idempotency-Key": "stale-key"})
    again = client.post(url, json=body, headers={**auth, "Idempotency-Key": "stale-key"})
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _contacts(db_session, claim.id) == 1

    _left_running(user, url, body, "other-key", lease + 1)  # a stale key is still not another request's
    other = client.post(url, json={**body, "note": "khác"}, headers={**auth, "Idempotency-Key": "other-key"})
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    assert _contacts(db_session, claim.id) == 1


def test_keys_are_the_callers_own(client, db_session, caller):
    _, auth = caller
    other = create_user("admin")
    other_auth = {"Authorization": f"Bearer {create_token(other)}"}
    claim = create_claim("needs_review")
    key = {"Idempotency-Key": "shared-" + uuid.uuid4().hex}
    body = {"channel": "phone", "outcome": "reached"}
    try:
        client.post(f"/api/v1/claims/{claim.id}/contacts", json=body, headers={**auth, **key})
        client.post(f"/api/v1/claims/{claim.id}/contacts", json=body, headers={**other_auth, **key})
        assert _contacts(db_session, claim.id) == 2
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM idempotency_keys WHERE caller = :c"), {"c": f"user:{other.id}"})


def test_keys_older_than_a_day_are_purged(db_session, caller):
    from datetime import UTC, datetime, timedelta

    user, _ = caller
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (caller, key, request_hash, created_at) VALUES"
                " (:c, 'old', 'h', now() - interval '25 hours'), (:c, 'new', 'h', now())"
            ),
            {"c": f"user:{user.id}"},
        )
    assert purge(datetime.now(UTC) + timedelta(seconds=1)) >= 1
    with db.engine.connect() as conn:
        left = conn.execute(
            text("SELECT key FROM idempotency_keys WHERE caller = :c"), {"c": f"user:{user.id}"}
        ).scalars()
        assert set(left) == {"new"}
