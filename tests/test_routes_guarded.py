"""Every route declares who may use it (notifications-admin's rule): an unguarded route fails this test."""

from __future__ import annotations

from disburse.auth.permissions import PERMISSION_ATTR


def test_every_route_declares_its_permission(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not getattr(view, PERMISSION_ATTR, None):
            unguarded.append(f"{rule.rule} ({rule.endpoint})")
    assert unguarded == []
