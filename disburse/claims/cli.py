"""``disburse lists build`` (built in the registry-import work)."""

from flask.cli import AppGroup

lists_cli = AppGroup("lists", help="Form 01 lists and employer reductions.")
