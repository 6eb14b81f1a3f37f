"""What the claims' and the payments' set-based transitions share: run one guarded statement over an id list or
an id range and sort its answer into what moved and what did not (:mod:`disburse.claims.service`,
:mod:`disburse.payments.service`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from disburse.extensions import db


@dataclass
class BulkTransition:
    action: str
    #: Rows that moved, with the state each came from and went to.
    moved: list[tuple[int, str, str]] = field(default_factory=list)
    #: Rows asked for that did not move: id → their state (the action is not allowed from it), or None for an id
    #: that is not there (or, with ``skip_locked``, is being changed by another transaction right now).
    not_moved: dict[int, str | None] = field(default_factory=dict)

    @property
    def moved_ids(self) -> list[int]:
        return [row_id for row_id, _, _ in self.moved]


def run_bulk(
    template: str,
    transitions: Mapping[tuple[Any, Any], StrEnum],
    action: StrEnum,
    params: dict[str, Any],
    *,
    ids: Sequence[int] | None,
    id_range: tuple[int, int] | None,
    skip_locked: bool,
) -> BulkTransition:
    """Fill ``template``'s ``{selection}``, ``{pairs}`` (the machine's (from, to) pairs for ``action``, as a VALUES
    list of our own enum values) and ``{skip_locked}``; run it with ``params`` (``:data`` is bound as JSONB); flush
    first and expire loaded objects after, so that the session never shows a state the statement changed."""
    if (ids is None) == (id_range is None):
        raise ValueError("give either ids or id_range")
    pairs = ", ".join(f"('{s.value}', '{t.value}')" for (s, a), t in transitions.items() if a is action)
    statement = text(
        template.format(
            selection="id = ANY(:ids)" if ids is not None else "id BETWEEN :lo AND :hi",
            pairs=pairs,
            skip_locked="SKIP LOCKED" if skip_locked else "",
        )
    ).bindparams(bindparam("data", type_=JSONB))
    if ids is not None:
        params = {**params, "ids": list(ids)}
    else:
        assert id_range is not None
        params = {**params, "lo": id_range[0], "hi": id_range[1]}
    db.session.flush()
    rows = db.session.execute(statement, params).all()
    db.session.expire_all()
    result = BulkTransition(action.value)
    for row_id, state, to_state in rows:
        if to_state is None:
            result.not_moved[row_id] = state
        else:
            result.moved.append((row_id, state, to_state))
    if ids is not None:
        seen = {row[0] for row in rows}
        result.not_moved.update({row_id: None for row_id in ids if row_id not in seen})
    return result
