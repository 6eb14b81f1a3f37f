"""The state diagrams in docs/architecture.md say they are "exactly as TRANSITIONS": each edge of each diagram is a
transition of its machine, and each transition is an edge (the claim's diagram once lacked the six ways into
``applied``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from disburse.claims import states as claim_states
from disburse.payments import states as payment_states

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _diagram(machine: str) -> set[tuple[str, str, str]]:
    """The (from, action, to) edges of the diagram the document says is exactly ``machine``'s TRANSITIONS."""
    text = ARCHITECTURE.read_text()
    start = text.index(f"exactly as `TRANSITIONS` in `{machine}`")
    body = text[start:].split("```mermaid", 1)[1].split("```", 1)[0]
    return {(a, action, b) for a, b, action in re.findall(r"^\s*(\w+) --> (\w+) : (\w+)\s*$", body, re.M)}


@pytest.mark.parametrize(
    ("machine", "transitions"),
    [
        ("disburse/claims/states.py", claim_states.TRANSITIONS),
        ("disburse/payments/states.py", payment_states.TRANSITIONS),
    ],
)
def test_the_documented_diagram_is_the_machine(machine, transitions):
    edges = {(state.value, action.value, to.value) for (state, action), to in transitions.items()}
    assert _diagram(machine) == edges
