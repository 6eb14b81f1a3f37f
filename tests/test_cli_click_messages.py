"""Click's own words are said in both languages, Vietnamese first: its usage errors were English alone ("Error:
Missing option '--reason'.", "Invalid value for '--role': 'zzz' is not one of …", "'zzz' is not a valid integer
range.", "No such command …"), and so were its help's headings and ``--help``. They come from a catalog of click's
msgids (disburse/cli_messages/click.po), given click while ``disburse`` reads and runs a command line, and only then."""

from __future__ import annotations

import gettext

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask.cli import ScriptInfo

from disburse import cli
from disburse.cli import main

USAGE_ERRORS = [
    (["payments", "cash-withdraw", "PAY-1"], "Thiếu tùy chọn / Missing option '--reason'."),
    (["payments", "cash-paid"], "Thiếu tham số / Missing argument 'REFERENCE'."),
    (
        ["users", "create", "--email", "a@example.vn", "--role", "zzz"],
        "Giá trị của '--role' không hợp lệ / Invalid value for '--role': 'zzz' không phải là một trong",
    ),
    (
        ["payments", "batches", "--limit", "zzz"],
        "Giá trị của '--limit' không hợp lệ / Invalid value for '--limit': 'zzz' không phải là một số hợp lệ. / 'zzz' "
        "is not a valid integer range.",
    ),
    (
        ["payments", "batches", "--limit", "0"],
        "Invalid value for '--limit': 0 nằm ngoài khoảng 1<=x<=10000. / 0 is not in the range 1<=x<=10000.",
    ),
    (
        ["sandbox", "serve", "--port", "zzz"],
        "Invalid value for '--port': 'zzz' không phải là một số hợp lệ. / 'zzz' is not a valid integer.",
    ),
    (["zzz"], "Không có lệnh 'zzz'. / No such command 'zzz'."),
    (["payments", "zzz"], "Không có lệnh 'zzz'. / No such command 'zzz'."),
    (
        ["payments", "batches", "--limt", "3"],
        "Không có tùy chọn '--limt'. / No such option '--limt'. Có phải là '--limit'? / Did you mean '--limit'?",
    ),
    (
        ["seed", "--employers", "1", "--employees", "1", "--provinces", "01,00"],
        "Giá trị của '--provinces' không hợp lệ / Invalid value for '--provinces': không có mã tỉnh 00 (mã GSO 2021: "
        "01 đến 96) / unknown province code(s): 00",
    ),
    (["payments", "batches", "extra"], "Thừa tham số (extra) / Got unexpected extra argument (extra)"),
]


def _run(app, args: list[str]) -> click.testing.Result:
    return CliRunner().invoke(main, args, prog_name="disburse", obj=ScriptInfo(create_app=lambda: app))


@pytest.mark.parametrize(("args", "said"), USAGE_ERRORS, ids=[" ".join(args) for args, _ in USAGE_ERRORS])
def test_clicks_usage_errors_are_said_in_both_languages(app, args, said):
    result = _run(app, args)
    assert result.exit_code == 2, result.output
    assert "\nLỗi / Error: " in result.output and said in result.output, result.output
    assert "Xem hướng dẫn: '" in result.output and "' for help." in result.output, result.output


def test_help_still_answers_with_its_headings_in_both_languages(app):
    result = _run(app, ["payments", "batches", "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: disburse payments batches [OPTIONS]"), result.output
    assert "Tùy chọn / Options:" in result.output, result.output
    assert "Hiện hướng dẫn này rồi thoát. / Show this message and" in result.output, result.output
    assert "[mặc định / default: 50;" in result.output, result.output
    listed = _run(app, ["payments", "--help"])
    assert listed.exit_code == 0 and "Lệnh / Commands:" in listed.output, listed.output


def test_help_made_before_the_line_runs_is_said_in_both_languages_then_given_back(app):
    """Click makes a command's ``--help`` option once and keeps it, its help already said: one made outside a
    ``disburse`` line (another test's ``app.test_cli_runner()``, the help walk) was shown in English alone (in CI)."""
    before = app.test_cli_runner().invoke(args=["payments", "cash-list", "--help"]).output
    assert "Show this message and exit." in before and "Hiện hướng dẫn" not in before, before

    result = _run(app, ["payments", "cash-list", "--help"])
    assert result.exit_code == 0, result.output
    assert "Hiện hướng dẫn này rồi thoát. / Show this message and" in result.output, result.output

    after = app.test_cli_runner().invoke(args=["payments", "cash-list", "--help"]).output
    assert "Show this message and exit." in after and "Hiện hướng dẫn" not in after, after


def test_click_elsewhere_in_the_process_keeps_its_own_words(app):
    """Given back when the command line ends: a command of click's own, run after, is not ours to change."""
    assert _run(app, ["zzz"]).exit_code == 2

    @click.command()
    @click.option("--reason", required=True)
    def plain(reason: str) -> None:
        pass

    result = CliRunner().invoke(plain, [])
    assert result.exit_code == 2 and "Error: Missing option '--reason'." in result.output, result.output
    assert "Lỗi" not in result.output
    assert click.exceptions._ is gettext.gettext and click.types.ngettext is gettext.ngettext  # type: ignore[attr-defined]


def test_the_catalog_is_its_po_compiled():
    """The .mo the CLI reads says what the .po says (compile it after an edit: see the .po's first lines)."""
    with cli.CLICK_MESSAGES.with_suffix(".po").open("rb") as handle:
        source = read_po(handle)
    with cli.CLICK_MESSAGES.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    messages = [message for message in source if message.id]
    assert len(messages) > 40
    for message in messages:
        if isinstance(message.id, tuple):
            for n, string in ((1, message.string[0]), (2, message.string[1])):
                assert compiled.ngettext(message.id[0], message.id[1], n) == string, message.id
        else:
            assert compiled.gettext(message.id) == message.string, message.id
            vietnamese, _, english = message.string.partition(" / ")
            assert english and vietnamese != english, message.id
