"""Locust clients of ``bench/bench_pages.py``: one class per page, equal weights (``--users 20``: five each).

Each client signs in once with its role's account (the sign-in is not measured: it is named ``sign-in``), then asks
its page again and again, as a person would click through it. The accounts and the samples of claims, names and SI
codes come from the JSON file named by ``BENCH_PAGES_SAMPLES`` (written by bench_pages.py). Requests are named by
page (``queue``, ``case``, ``unit``, ``support``), so that locust's statistics are per page, not per URL.
"""

from __future__ import annotations

import json
import os
import random
import re
from typing import Any

from locust import HttpUser, between, task

SAMPLES: dict[str, Any] = json.loads(open(os.environ["BENCH_PAGES_SAMPLES"], encoding="utf-8").read())  # noqa: SIM115
PASSWORD = SAMPLES["password"]
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
_counter = {"n": 0, "ready": 0}


def _next_index() -> int:
    _counter["n"] += 1
    return _counter["n"]


class _Signed(HttpUser):
    """Signs in once; then its page once more as a warm-up. When the last client is ready, the statistics start
    again: the 20 sign-ins at once (argon2, on purpose slow) and each web worker's first pages are not measured."""

    abstract = True
    #: Seconds a client waits between two pages (BENCH_PAGES_THINK="low,high").
    wait_time = between(*(float(x) for x in os.environ.get("BENCH_PAGES_THINK", "0.1,0.5").split(",")))

    def sign_in(self, email: str) -> None:
        page = self.client.get("/login", name="sign-in")
        match = _CSRF.search(page.text)
        token = (match.group(1) or match.group(2)) if match else ""
        with self.client.post(
            "/login",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
            name="sign-in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in of {email} answered {response.status_code}")

    def ready(self) -> None:
        """Called at the end of each client's on_start: the last one resets the statistics."""
        _counter["ready"] += 1
        if _counter["ready"] == self.environment.runner.target_user_count:
            self.environment.runner.stats.reset_all()


class Caseworker(_Signed):
    """The work queue: a filter chosen as a caseworker would, then up to three "next" pages (keyset)."""

    def on_start(self) -> None:
        self.me = SAMPLES["caseworkers"][_next_index() % len(SAMPLES["caseworkers"])]
        self.sign_in(self.me["email"])
        self.queue()
        self.ready()

    def _filters(self) -> dict[str, str]:
        me = self.me
        choice = random.random()
        if choice < 0.35:
            return {}  # the default: needs_review, every reason
        if choice < 0.6 and me["reasons"]:
            return {"state": "needs_review", "reason": random.choice(me["reasons"])}
        if choice < 0.7:
            return {"state": "needs_review", "assigned": "none", "age": str(random.choice((0, 3, 5, 10)))}
        if choice < 0.8 and me["employers"]:
            return {"state": "needs_review", "employer": random.choice(me["employers"])}
        if choice < 0.9:
            return {"state": random.choice(("payment_failed", "awaiting_payment_details", "employer_overdue"))}
        return {"state": "needs_review", "track": "A"}

    @task
    def queue(self) -> None:
        response = self.client.get("/caseworker/queue", params=self._filters(), name="queue")
        for _ in range(random.randint(0, 3)):
            found = _NEXT.search(response.text or "")
            if not found:
                break
            response = self.client.get(found.group(1).replace("&amp;", "&"), name="queue")


class CaseReader(_Signed):
    """Case pages of different claims of the caseworker's district, in every state."""

    def on_start(self) -> None:
        self.me = SAMPLES["caseworkers"][_next_index() % len(SAMPLES["caseworkers"])]
        self.sign_in(self.me["email"])
        self.case()
        self.ready()

    @task
    def case(self) -> None:
        self.client.get(f"/caseworker/claims/{random.choice(self.me['claims'])}", name="case")


class Employer(_Signed):
    """The unit's status page: the first page, a later page, or a search by name (without diacritics, in part or
    whole) or SI code."""

    def on_start(self) -> None:
        self.unit = SAMPLES["unit"]
        self.sign_in(self.unit["email"])
        self.unit_status()
        self.ready()

    @task
    def unit_status(self) -> None:
        unit = self.unit
        choice = random.random()
        params: dict[str, str] = {}
        if choice < 0.3:
            pass
        elif choice < 0.5:
            params = {"page": str(random.randint(2, unit["pages"]))}
        elif choice < 0.85:
            params = {"q": random.choice(unit["names"])}
        else:
            params = {"q": random.choice(unit["si_codes"])}
        self.client.get(f"/employers/{unit['code']}", params=params, name="unit")


class SupportDesk(_Signed):
    """``GET /api/v1/employees/<si>/support`` for different people of Hà Nội (a supervisor's session)."""

    def on_start(self) -> None:
        self.sign_in(SAMPLES["supervisor"]["email"])
        self.support()
        self.ready()

    @task
    def support(self) -> None:
        si_code = random.choice(SAMPLES["si_codes"])
        with self.client.get(f"/api/v1/employees/{si_code}/support", name="support", catch_response=True) as response:
            if response.status_code == 404:  # a person without a claim: a fair answer, not a failure
                response.success()
