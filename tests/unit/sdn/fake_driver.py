"""An in-memory SwitchDriver for unit tests of the controller's logic."""

from __future__ import annotations

from sdn.driver import ApplyError, SwitchEvent, SwitchInfo
from sdn.openflow import SwitchState
from sdn.sync import Plan, apply_plan_to_state


class FakeDriver:
    def __init__(self):
        self.tables: dict[int, SwitchState] = {}
        self.infos: dict[int, SwitchInfo] = {}
        self.callbacks = []
        self.applied: list[tuple[int, Plan]] = []
        self.refuse: set[int] = set()

    def connect(self, dpid: int, ports: dict[str, int], keep: bool = False) -> None:
        self.infos[dpid] = SwitchInfo(dpid, dict(ports))
        if not keep:
            self.tables.setdefault(dpid, SwitchState())
        self._emit(SwitchEvent("connected", dpid))

    def disconnect(self, dpid: int) -> None:
        self.infos.pop(dpid, None)
        self._emit(SwitchEvent("disconnected", dpid))

    def _emit(self, event):
        for cb in self.callbacks:
            cb(event)

    def switches(self):
        return dict(self.infos)

    def apply(self, dpid, plan, timeout=10.0):
        if dpid in self.refuse:
            raise ApplyError(f"switch {dpid:#x} refused the bundle")
        self.applied.append((dpid, plan))
        self.tables[dpid] = apply_plan_to_state(self.tables.get(dpid, SwitchState()), plan)

    def read_state(self, dpid, timeout=10.0):
        return self.tables.get(dpid, SwitchState())

    def subscribe(self, callback):
        self.callbacks.append(callback)
