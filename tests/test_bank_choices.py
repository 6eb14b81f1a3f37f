"""The bank fields' choices (Form 02 in the browser, the caseworker's correction, the person's public page): each bank
by the name people call it, first and in that order, so that a select's type-ahead finds it ("Vietcom" chose
Vietbank and "Agri" An Bình when the list went by code) and a phone's narrow select still shows which bank it is."""

from __future__ import annotations

from disburse.reference.service import bank_choices, bank_key


def _typed(choices: list[tuple[str, str]], prefix: str) -> str:
    """What a select's type-ahead picks: the first option whose text starts with what was typed."""
    return next(code for code, label in choices if label.lower().startswith(prefix.lower()))


def test_banks_are_offered_by_the_names_people_call_them(app, db_session):
    with app.test_request_context():
        choices = bank_choices()
    assert choices[0][0] == ""  # "choose a bank" first
    banks = choices[1:]
    labels = dict(banks)
    assert labels["VCB"] == "Vietcombank · Ngân hàng TMCP Ngoại thương Việt Nam · VCB"
    assert labels["VBA"].startswith("Agribank · Ngân hàng Nông nghiệp")
    assert labels["SHBVN"] == "Shinhan Việt Nam · Ngân hàng TNHH MTV Shinhan Việt Nam · SHBVN"  # no brand: its name
    names = [bank_key(label.split(" · ", 1)[0]) for _, label in banks]
    assert names == sorted(names)
    for typed, code in (("Vietcom", "VCB"), ("Vietin", "ICB"), ("Agri", "VBA"), ("Sacom", "STB"), ("MB", "MB")):
        assert _typed(banks, typed) == code, typed
