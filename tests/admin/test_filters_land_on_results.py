"""A list's filter lands on what it found: the form's action carries the anchor of the results (the table, or the words
that say nothing matched), as the caseworkers' queue, outreach and cash desk do; the jobs', batches', audit's,
users' and recoveries' filters sent the reader back to the page's top, above the form they had just used."""

from __future__ import annotations

import html
import re

import pytest

#: Each filtered list, a filter that matches nothing on an empty database, and the anchor its form sends to.
FILTERED_LISTS = [
    ("/jobs/", "state=failed", "jobs-results"),
    ("/admin/batches", "state=closed", "batches-results"),
    ("/admin/audit", "action=user.create", "audit-results"),
    ("/admin/users", "role=employer", "users-results"),
    ("/dashboard/recoveries", "state=closed", "recoveries-results"),
]


@pytest.mark.parametrize(("url", "query", "anchor"), FILTERED_LISTS)
def test_every_lists_filter_lands_on_its_results(admin_client, url, query, anchor):
    for asked in ("", query):  # the list as first opened, then filtered (here: nothing matches)
        page = admin_client.get(f"{url}?{asked}" if asked else url)
        assert page.status_code == 200, (url, asked)
        text = page.get_data(as_text=True)
        forms = re.findall(r'<form method="get" action="([^"]*)"', text)
        assert forms and all(html.unescape(action).endswith(f"#{anchor}") for action in forms), (url, forms)
        assert text.count(f'id="{anchor}"') == 1, (url, asked)
