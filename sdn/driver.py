"""The port between the controller's logic and the switches it programs.

``sdn.controller`` (desired state, generations, re-sync) talks only to this Protocol; the os-ken
application implements it for real switches and tests implement it with a fake flow table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

from sdn.openflow import Flow, GroupEntry, SwitchState
from sdn.sync import Plan


class ApplyError(Exception):
    """A switch refused or did not acknowledge a change; the message says which and why.

    ``refused``: the flows and groups the switch named in its errors (empty when it named none,
    or did not answer), so the caller can leave out just their owners and send the rest again;
    ``table_full``: the refusal was for room (any flow of that table could have been the one)."""

    def __init__(self, message: str, refused: tuple[Flow | GroupEntry, ...] = (), table_full: bool = False):
        super().__init__(message)
        self.refused = refused
        self.table_full = table_full


@dataclass(frozen=True)
class SwitchInfo:
    dpid: int
    ports: Mapping[str, int] = field(default_factory=dict)  # OVS port name -> OpenFlow port number
    address: str = ""


@dataclass(frozen=True)
class SwitchEvent:
    kind: str  # "connected" | "disconnected" | "ports"
    dpid: int


class SwitchDriver(Protocol):
    def switches(self) -> dict[int, SwitchInfo]:
        """The switches connected now."""

    def apply(self, dpid: int, plan: Plan, timeout: float = 10.0) -> None:
        """Apply ``plan`` atomically (one bundle) and return once the switch acknowledged it.

        Raises ApplyError (naming the switch and the refused flow) on refusal or time-out; a
        refused bundle changes nothing on the switch.
        """

    def read_state(self, dpid: int, timeout: float = 10.0) -> SwitchState:
        """The flows and groups carrying our cookie tag that the switch holds now."""

    def subscribe(self, callback: Callable[[SwitchEvent], None]) -> None:
        """Call ``callback`` on every connect, disconnect and port change."""

    def disconnect(self, dpid: int) -> bool:
        """Drop the switch's connection now (it is known dead), failing what waits on it, as its
        echo timeout would later; whether it was connected."""
