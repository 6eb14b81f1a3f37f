"""A file a command writes, in a folder that is not there: refused before any work (exit 2), the folder named in
both languages, and no folder made. ``payments cash-list --out /nonexistent/dir/cash.csv`` made /nonexistent/dir and
wrote the list there, and ``import … --errors`` did the same, unsaid: a mistyped path put the file where nobody
would look for it."""

from __future__ import annotations

import pytest

from disburse import spreadsheets
from disburse.spreadsheets import UnusableFile
from tests.test_output_paths import OUTPUTS, _employers, setting  # noqa: F401 - the fixture, used by name

#: beat's schedule file is its own state, not a file for anyone to read: its folder is made, as it was (a service's
#: ``--schedule /var/lib/disburse/celerybeat-schedule`` on a fresh machine).
FOR_PEOPLE = sorted(output for output in OUTPUTS if not output.startswith("beat "))


@pytest.mark.parametrize("output", FOR_PEOPLE)
def test_a_file_in_a_missing_folder_is_refused_naming_the_folder(app, setting, tmp_path, output):  # noqa: F811
    missing = tmp_path / "no-such-folder" / "below"
    out = missing / ("kept" if output == "seed out" else "out.csv")
    args = OUTPUTS[output](str(out), setting)
    before = _employers()
    result = app.test_cli_runner().invoke(args=args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2, result.output
    said = result.output
    assert f"thư mục '{missing}' không tồn tại" in said and f"the folder '{missing}' does not exist" in said, said
    assert not (tmp_path / "no-such-folder").exists()
    assert _employers() == before


def test_a_file_in_a_folder_that_is_there_is_written(tmp_path):
    spreadsheets.writable(tmp_path / "errors.csv", make_folder=False)  # checked, and no file left behind
    assert not (tmp_path / "errors.csv").exists()
    with pytest.raises(UnusableFile, match="does not exist"):
        spreadsheets.writable(tmp_path / "typo" / "errors.csv", make_folder=False)
    assert not (tmp_path / "typo").exists()
    # The system's own folders (a job's errors file in DISBURSE_EXPORT_DIR) are made as before.
    spreadsheets.writable(tmp_path / "exports" / "errors.csv")
    assert (tmp_path / "exports").is_dir() and not (tmp_path / "exports" / "errors.csv").exists()
    spreadsheets.writable_dir(tmp_path / "new")  # a new folder for seed's files, in one that is there
    assert (tmp_path / "new").is_dir()
    with pytest.raises(UnusableFile, match="does not exist"):
        spreadsheets.writable_dir(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
