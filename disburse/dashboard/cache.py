"""The dashboard's figures as rendered, shared by every viewer of an area for ``DISBURSE_DASHBOARD_CACHE_S``
seconds.

Reading an area's figures from the rollups and writing them out as a page's summary, chart and table takes some
10 ms of a web process's CPU at national size; twenty supervisors looking at the country would pay it twenty times
for the same figures while the workers need the same CPUs. Instead the first view of an area renders them and Redis
keeps that HTML for a few seconds for every web process and node; the page says when its figures were read. The
key names everything the HTML depends on (the database, programme, area, table and its order, language, the
programme's day); nothing in it depends on who looks (the header, with the user's name, links and form token, is
rendered for each request). When Redis cannot answer, the figures are read for that request as if nothing were kept.

What Redis holds is signed (HMAC-SHA256 with ``SECRET_KEY`` over the key and the HTML): the same Redis carries the
workers' tasks, and HTML that anyone with access to it wrote must never reach a supervisor's browser as ours. A
fragment larger than :data:`MAX_BYTES` is not kept (the caller keeps only the pages' default tables).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

import redis
from flask import current_app
from markupsafe import Markup

from disburse.extensions import redis_client, redis_client_options

log = logging.getLogger(__name__)

PREFIX = "disburse:dashboard:"
#: The largest fragment kept (the country's table of provinces is about 60 KB).
MAX_BYTES = 256 * 1024
_SIGNATURE = 32  # bytes of HMAC-SHA256


def shared_fragment(key: str, render: Callable[[], str]) -> Markup:
    """The HTML ``render`` returns, from Redis when a view of the last ``DISBURSE_DASHBOARD_CACHE_S`` seconds
    rendered it under ``key`` (the caller's key must name everything the HTML depends on)."""
    seconds = current_app.config["DISBURSE_DASHBOARD_CACHE_S"]
    if not seconds:
        return Markup(render())  # noqa: S704 - our own template's output, escaped by Jinja
    name = PREFIX + _database() + ":" + key
    try:
        kept = _client().get(name)
    except redis.RedisError as exc:
        log.warning("dashboard cache unavailable (%s); reading the figures", type(exc).__name__)
        return Markup(render())  # noqa: S704 - as above
    if isinstance(kept, bytes):
        signature, body = kept[:_SIGNATURE], kept[_SIGNATURE:]
        if hmac.compare_digest(signature, _sign(name, body)):
            return Markup(body.decode())  # noqa: S704 - HTML this module stored and signed
        log.warning("dashboard cache: a fragment with a wrong signature under %s was ignored", name)
    html = render()
    body = html.encode()
    if len(body) <= MAX_BYTES:
        try:
            _client().set(name, _sign(name, body) + body, ex=seconds)
        except redis.RedisError as exc:
            log.warning("dashboard cache unavailable (%s); figures not kept", type(exc).__name__)
    return Markup(html)  # noqa: S704 - as above


def _sign(name: str, body: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, name.encode() + b"\0" + body, hashlib.sha256).digest()


def _database() -> str:
    """Which database the figures come from (two apps on one Redis, e.g. two test runs, never share figures)."""
    return hashlib.sha256(str(current_app.config["DATABASE_URL"]).encode()).hexdigest()[:12]


def _client() -> redis.Redis:
    client = current_app.extensions.get("disburse_dashboard_cache")
    if client is None:
        client = redis_client(current_app.config, **redis_client_options(current_app.config))
        current_app.extensions["disburse_dashboard_cache"] = client
    return client
