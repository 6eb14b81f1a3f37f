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

from disburse.auth.models import User
from disburse.bulk import no_jit
from disburse.extensions import db

#: Who acts: a user, a user's id, or None for the system (rules, sweepers, providers).
Actor = User | int | None


def actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else actor


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


_REPLICA = text("SET LOCAL session_replication_role = replica")
_ORIGIN = text("SET LOCAL session_replication_role = origin")


def _may_skip(tables: Sequence[str]) -> bool:
    from disburse.bulk import may_skip_reference_triggers, session_connection

    return may_skip_reference_triggers(session_connection(), *tables)


def execute_skipping_fk_triggers(statement: Any, params: dict[str, Any], tables: Sequence[str]) -> list[Any]:
    """Run ``statement`` and return its rows, under ``session_replication_role = replica`` when ``tables`` are
    named, the role may (:func:`disburse.bulk.may_skip_reference_triggers`) and the actor is the system
    (``:actor_id`` NULL) or a user whose row :func:`lock_actor` has just locked: for statements whose every other
    reference is to a row the same statement locked, read or wrote (see :func:`run_bulk`); the per-row foreign-key
    checks would only repeat what it holds. JIT is off for the rest of the transaction (:func:`disburse.bulk.no_jit`):
    a bulk statement's estimate is high enough to be compiled every time, for nothing its index probes gain from."""
    no_jit()
    replica = bool(tables) and _may_skip(tables) and lock_actor(params.get("actor_id"))
    if replica:
        db.session.execute(_REPLICA)
    rows = list(db.session.execute(statement, params).all())
    if replica:
        db.session.execute(_ORIGIN)
    return rows


_LOCK_ACTOR = text("SELECT id FROM users WHERE id = :actor_id FOR KEY SHARE")


def lock_actor(actor: int | None) -> bool:
    """What the events' per-row foreign-key check on ``actor_id`` gives, once for the whole statement (every event
    of a bulk transition has the same actor): the user's row locked ``FOR KEY SHARE`` until the commit, so that it
    cannot be deleted under the events. True for the system (no actor) and for a user who exists; False for an id
    that is not a user's, whose statement then runs with the checks and fails as it always did."""
    return actor is None or db.session.execute(_LOCK_ACTOR, {"actor_id": actor}).first() is not None


def run_bulk(
    template: str,
    transitions: Mapping[tuple[Any, Any], StrEnum],
    action: StrEnum,
    params: dict[str, Any],
    *,
    ids: Sequence[int] | None,
    id_range: tuple[int, int] | None,
    skip_locked: bool,
    skip_fk_triggers: Sequence[str] = (),
) -> BulkTransition:
    """Fill ``template``'s ``{selection}``, ``{pairs}`` (the machine's (from, to) pairs for ``action``, as a VALUES
    list of our own enum values) and ``{skip_locked}``; run it with ``params`` (``:data`` is bound as JSONB); flush
    first and expire loaded objects after, so that the session never shows a state the statement changed.

    ``skip_fk_triggers`` (the table and its events table) runs the statement under ``session_replication_role =
    replica`` when the role may (:func:`disburse.bulk.may_skip_reference_triggers`), as ``follow_paths_many`` does:
    each event's row is one this very statement locked and updated, the update changes no referencing column, and
    the one actor is the system or a user locked once (:func:`lock_actor`), so the per-row foreign-key checks would
    only repeat what the statement already holds. Triggers that must fire are ``ENABLE ALWAYS``."""
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
    rows = execute_skipping_fk_triggers(statement, params, skip_fk_triggers)
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


@dataclass(frozen=True)
class PathStep:
    """One step a record takes along a path: the record is in ``start`` when the statement runs; this step is the
    ``step``-th (from 1) and moves it ``from_state`` → ``to_state`` by ``action``; ``last`` marks the final step."""

    path: int
    start: str
    step: int
    action: str
    from_state: str
    to_state: str
    last: bool


def path_steps(transitions: Mapping[tuple[Any, Any], StrEnum], paths: Sequence[Sequence[StrEnum]]) -> list[PathStep]:
    """The steps each state takes along each path (a sequence of actions), read from the machine's ``transitions``.

    A record follows the longest suffix of the path that the machine allows from its state: with the path
    (start_verification, approve), a confirmed claim takes both steps and a claim already ``verifying`` takes the
    approval only. States from which no suffix can be walked are absent (their records do not move).
    """
    steps: list[PathStep] = []
    for number, actions in enumerate(paths):
        placed: set[Any] = set()
        for first in range(len(actions)):
            for (state, action), _ in transitions.items():
                if action is not actions[first] or state in placed:
                    continue
                walk = _walk(transitions, state, actions[first:])
                if walk is None:
                    continue
                placed.add(state)
                for index, (from_state, act, to_state) in enumerate(walk, start=1):
                    steps.append(
                        PathStep(
                            number, state.value, index, act.value, from_state.value, to_state.value, index == len(walk)
                        )
                    )
    return steps


def _walk(
    transitions: Mapping[tuple[Any, Any], StrEnum], state: Any, actions: Sequence[StrEnum]
) -> list[tuple[Any, StrEnum, Any]] | None:
    walk = []
    for action in actions:
        to_state = transitions.get((state, action))
        if to_state is None:
            return None
        walk.append((state, action, to_state))
        state = to_state
    return walk


def steps_values(steps: Sequence[PathStep]) -> str:
    """``steps`` as the rows of a SQL ``VALUES`` list: (path, start, step, action, from_state, to_state, last). Only
    our own enum values are inlined, never input."""
    return ", ".join(
        f"({s.path}, '{s.start}', {s.step}, '{s.action}', '{s.from_state}', '{s.to_state}', {str(s.last).lower()})"
        for s in steps
    )
