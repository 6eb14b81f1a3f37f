"""Regression fixture: the seed files' exact bytes for fixed arguments.

The hashes were computed with the single-module seed (disburse/registry/seed.py, before it was split into
``disburse.registry.seeding``); the same arguments must keep giving the same bytes, whatever the code's layout and
however many processes write the employee chunks.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from disburse.registry.seeding.files import write_csvs

CASES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "small": (
        {"employers": 40, "employees": 5000},
        {
            "employers": "8625ef547625320b40211bc260ec476bf82da827635a04abeefdabf0709065a2",
            "employees": "c9eaf38e54e6e8a435f26fadf917dad9e80fb0e830361d5cf8a5f02cf6b9cee6",
            "salary_funds": "8605fff537808f587fca87264a3e8b0463c9e7589f6054ca14bd83f53ef04f95",
        },
    ),
    # Two employee chunks written by two processes, two provinces, a shifted calendar, funds up to a month.
    "two_chunks_shifted": (
        {
            "employers": 300,
            "employees": 45_000,
            "seed": 7,
            "provinces": ("01", "79"),
            "shift_days": 365,
            "funds_through": date(2023, 3, 1),
            "workers": 2,
        },
        {
            "employers": "60f77232f8b12bc56c0088eed34365c444224312e3d4e1f6d883119721112041",
            "employees": "b9eebad9c9d39d2626cbd98a4f28dffbcdbf72c55a925b689df188f467373f08",
            "salary_funds": "b0efe90a7c2733d0158a6075c459fb348409e46fac82bd291f3c704027b948d0",
        },
    ),
    "one_unit": (
        {"employers": 1, "employees": 3000, "seed": 2},
        {
            "employers": "397433d1a2377784926540d7051646d8fad9ff2f50e3b6c2d1b2869fe8eb00c7",
            "employees": "74da1a38d9b36b232a5c72ebd7ccae5606c7b35de7d71e7f8f2587e4948b2679",
            "salary_funds": "643a8474f6b5f511b9813c9fc0ce6ff035211ebd46cadad3ff9505e8d5165247",
        },
    ),
    "no_employers": (
        {"employers": 0, "employees": 50, "seed": 4},
        {
            "employers": "de38ded6a2cf20d026edaf60474e12526c831c5df5cc052bddee2bd185288d73",
            "employees": "58707884ddc5fd583f3c6e8b924bf5f89c52c00fec43f0fab65969247babd1a0",
            "salary_funds": "f41d33ebdd74fe2b55c8b5828cb96b86a9aa10cb355f1d1970d3f83676c77c72",
        },
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_seed_files_keep_their_bytes(tmp_path: Path, case: str) -> None:
    arguments, expected = CASES[case]
    files = write_csvs(tmp_path, **arguments)
    for name, digest in expected.items():
        assert hashlib.sha256(getattr(files, name).read_bytes()).hexdigest() == digest, name
