"""A VNFFG's status from what the controller says of its paths (pure).

Status is the truth: a chain is ACTIVE only while every path it has is held, as rendered, by
the switch it is on (the controller's path status). A path that is down (its switch is not
connected, an SF has no port, the switch refused its flows) or only partly installed (an
instance or classifier port missing, not acknowledged yet) makes the chain DEGRADED, saying
which path and why; when every path is down the chain carries nothing: ERROR. Both go back to
ACTIVE by themselves once the controller reports the paths held again (the status watch).
The controller's part of a reason starts with ``CONTROLLER``, so the watch knows an ERROR it set
from one a failed change left (which only a new change clears).
"""

from __future__ import annotations

from typing import Mapping

from nfvo.vnffg.render import RenderedChain
from sdn.pathstatus import PathState, PathStatus
from vnfm.model import Status

CONTROLLER = "controller: "


def chain_status(chain: RenderedChain, paths: Mapping[str, PathStatus]) -> tuple[Status, str]:
    """(status, reason) of ``chain`` given the controller's ``paths`` by name (a path it does not
    report counts as held: the change that adds it is still under way under the NFVO's lock)."""
    down: list[str] = []
    partial: list[str] = []
    for name in chain.path_names:
        state = paths.get(name)
        if state is None or state.state == PathState.ACTIVE:
            continue
        (down if state.state == PathState.DOWN else partial).append(f"path {name} {state.state.lower()}: {state.reason}")
    if down and len(down) == len(chain.path_names):
        return Status.ERROR, CONTROLLER + "; ".join(down)
    problems = [*chain.degraded, *([CONTROLLER + "; ".join(down + partial)] if down or partial else [])]
    if problems:
        return Status.DEGRADED, "; ".join(problems)
    return Status.ACTIVE, ""


def watched(status: str, reason: str) -> bool:
    """Whether the status watch may change a record in this state (not one a change is under
    way on, nor an ERROR a failed change left)."""
    return status in (Status.ACTIVE, Status.DEGRADED) or (status == Status.ERROR and reason.startswith(CONTROLLER))
