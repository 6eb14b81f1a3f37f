"""``disburse import employers|employees|salary-funds FILE`` (built in the registry-import work)."""

from flask.cli import AppGroup

import_cli = AppGroup("import", help="Import registry files (CSV or XLSX).")
