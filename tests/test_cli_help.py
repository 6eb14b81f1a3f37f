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
