from __future__ import annotations


def test_health_without_workers_is_degraded_but_up(app, database_url, redis_url):
    # A fresh app whose broker no worker listens to: database and Redis are fine, workers are not.
    client = app.test_client()
    response = client.get("/api/v1/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    assert set(body) == {"status", "database", "redis", "workers"}
    assert body["status"] in {"ok", "degraded"}
    assert body["status"] == ("ok" if body["workers"]["count"] else "degraded")
