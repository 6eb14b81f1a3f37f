"""Money, numbers and dates as people read them, in a request (its language) and outside one (commands, workers:
Vietnamese)."""

from __future__ import annotations

from datetime import date

from disburse.formatting import dmy, number, percent, vnd


def test_outside_a_request_the_figures_are_vietnamese(app):
    with app.app_context():
        assert (vnd(2_100_000), number(1234567), percent(89.44), dmy(date(2021, 10, 2))) == (
            "2.100.000 ₫",
            "1.234.567",
            "89,4%",
            "02/10/2021",
        )


def test_in_an_english_request_the_figures_are_english(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        from flask import session

        session["locale"] = "en"
        assert (vnd(2_100_000), number(1234567)) == ("VND 2,100,000", "1,234,567")


def test_a_message_in_both_languages_names_each_language(app):
    with app.app_context():
        assert (vnd(2_100_000, "vi"), vnd(2_100_000, "en"), vnd(None, "en")) == ("2.100.000 ₫", "VND 2,100,000", "—")
