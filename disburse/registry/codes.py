"""The unit code (*mã đơn vị*, an employer's code at the social security office, e.g. ``DN01000017``): the one rule
every reader of a unit code follows: the registry import, the forms' filters, the API, and the scope check that
every unit page's ``/employers/<unit_code>`` goes through (:func:`disburse.auth.scopes.visible_unit`).

Letters and digits (ASCII), and ``.`` ``_`` ``-`` inside, 20 characters at most, starting with a letter or a digit:
what a URL's path segment carries as it is. A ``/`` would split the path (the unit's pages could never be opened), and
a code of dots alone (``.``, ``..``) is a path's way to say "here" or "up". The import refuses any other code row by
row, so that no unit the pages cannot show is ever registered.
"""

from __future__ import annotations

import re
import string

#: The longest unit code.
UNIT_CODE_MAX = 20
#: The characters a unit code may hold; its first one is a letter or a digit (:data:`UNIT_CODE_FIRST`).
UNIT_CODE_CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase + "._-"
UNIT_CODE_FIRST = string.digits + string.ascii_uppercase + string.ascii_lowercase
#: The rule as a regular expression (for ``fullmatch``; JSON Schema's ``pattern`` wraps it in ``^…$``).
UNIT_CODE_PATTERN = rf"[0-9A-Za-z][0-9A-Za-z._-]{{0,{UNIT_CODE_MAX - 1}}}"
UNIT_CODE = re.compile(UNIT_CODE_PATTERN)
#: What the rule says, for people: (Vietnamese, English).
UNIT_CODE_WORDS = (
    "Mã đơn vị chỉ gồm chữ, số và . _ -, bắt đầu bằng chữ hoặc số, tối đa 20 ký tự.",
    "A unit code has only letters, digits and . _ -, starts with a letter or a digit, at most 20 characters.",
)


def is_unit_code(value: str) -> bool:
    return UNIT_CODE.fullmatch(value) is not None
