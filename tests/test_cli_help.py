"""Every command of ours is listed in both languages, Vietnamese first, whole (a listing cut a group's words off at
"…", and most of the payments commands were listed in English only). Flask's own commands (db, routes, run, shell,
limiter) keep their words."""

from __future__ import annotations

import re

import click
from flask.cli import ScriptInfo

from disburse.cli import main

FLASKS = {"db", "limiter", "routes", "run", "shell"}
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I)


def _ours(group: click.Group, ctx: click.Context, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or (not prefix and name in FLASKS):
            continue
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_ours(command, ctx, f"{prefix}{name} "))
    return found


def test_every_command_is_listed_in_vietnamese_then_english_whole(app):
    # Closed as it ends: FlaskGroup's get_command pushes the app's context onto the click context's resources, and an
    # unclosed one left it pushed for the tests after (their requests shared its ``g``, Flask-Babel's locale with it).
    with click.Context(main, obj=ScriptInfo(create_app=lambda: app)) as ctx:
        commands = _ours(main, ctx)
    assert len(commands) > 30
    for name, command in commands:
        listed = command.get_short_help_str(limit=45)  # what click shows in a group's listing at 80 columns
        vietnamese, _, english = listed.partition(" / ")
        assert english and VIETNAMESE.search(vietnamese) and not VIETNAMESE.search(english), (name, listed)
        assert not listed.endswith("..."), (name, listed)


def _vietnamese_then_english(text: str) -> bool:
    """``text`` is said in Vietnamese, then in English: "Vietnamese / English" on one paragraph, or its first
    paragraph Vietnamese and its last English. The English may quote a Vietnamese word ("Không nhận hỗ trợ", "Hà
    Nội"), so it is English when few of its letters are Vietnamese ones; the Vietnamese has many (a word in three or
    four has one)."""
    paragraphs = [paragraph for paragraph in text.split("\n\n") if paragraph.strip()]
    if not paragraphs:
        return False
    if len(paragraphs) == 1:
        vietnamese, _, english = text.partition(" / ")
    else:
        vietnamese, english = paragraphs[0], paragraphs[-1]

    def share(part: str) -> float:
        letters = sum(character.isalpha() for character in part)
        return len(VIETNAMESE.findall(part)) / letters if letters else 0.0

    return share(vietnamese) > 0.08 and bool(english.strip()) and share(english) < 0.08


def test_every_commands_help_and_options_are_in_vietnamese_then_english(app):
    """`disburse payments reconcile --help` said "Compare our payments of a day with the provider's statement…" and
    its options in English alone: of 27 commands, only the imports said what they do in Vietnamese, and no option.
    Every command of ours says it in both, Vietnamese first, and so does every option (its arguments are named in
    the usage line)."""
    with click.Context(main, obj=ScriptInfo(create_app=lambda: app)) as ctx:
        commands = _ours(main, ctx)
    assert len(commands) > 30
    unsaid = []
    for name, command in [("disburse", main), *commands]:  # the group's own options are Flask's, said as ours
        if not _vietnamese_then_english(command.help or ""):
            unsaid.append((name, command.help))
        for param in command.params:
            if isinstance(param, click.Option) and not _vietnamese_then_english(param.help or ""):
                unsaid.append((f"{name} {param.opts[0]}", param.help))
    assert not unsaid, "\n".join(f"{where}: {said!r}" for where, said in unsaid)
