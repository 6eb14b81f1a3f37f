"""How numbers, money and dates look to people: "2.100.000 ₫" and dd/mm/yyyy in Vietnamese, "VND 2,100,000" in
English (docs/glossary.md, "Message style")."""

from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_decimal
from flask import Flask, has_request_context
from flask_babel import get_locale


def _locale() -> str:
    if not has_request_context():  # commands and workers: Vietnamese, the programme's language
        return "vi"
    locale = get_locale()
    return str(locale) if locale else "vi"


def vnd(amount: int | None) -> str:
    if amount is None:
        return "—"
    locale = _locale()
    digits = format_decimal(amount, locale=locale)
    return f"VND {digits}" if locale == "en" else f"{digits} ₫"


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def percent(value: float | None) -> str:
    return "—" if value is None else number(value, 1) + "%"


def dmy(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d/%m/%Y")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(vnd=vnd, number=number, percent=percent, dmy=dmy)
