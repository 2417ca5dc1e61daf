"""Whether a service path carries traffic as desired, as the controller reports it (pure values).

Its own module so that the NFVO can map it to VNFFG status without importing the controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PathState(StrEnum):
    """Whether a service path carries traffic as the document says, on its switch, now."""

    ACTIVE = "ACTIVE"      # the switch holds the path's flows of the latest document
    DEGRADED = "DEGRADED"  # it holds them, less an SF instance or classifier whose port is missing
    PENDING = "PENDING"    # the switch has not acknowledged them yet (or a push failed: retried)
    DOWN = "DOWN"          # not installed: switch not connected, an SF has no port, or flows refused


@dataclass(frozen=True)
class PathStatus:
    name: str
    switch: str
    state: PathState
    reason: str = ""  # names the element: the port, the switch, the refused flow
