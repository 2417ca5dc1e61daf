"""An in-memory SwitchDriver for unit tests of the controller's logic.

``hold(dpid)`` makes that switch's ``apply`` block (a frozen switch) until ``release(dpid)``
or the caller's timeout, which then fails like a missing barrier reply.
"""

from __future__ import annotations

import threading

from sdn.driver import ApplyError, SwitchEvent, SwitchInfo
from sdn.openflow import SwitchState
from sdn.sync import KeyedFlows, Plan, apply_plan_to_state


class FakeDriver:
    def __init__(self):
        self.tables: dict[int, SwitchState] = {}
        self.infos: dict[int, SwitchInfo] = {}
        self.callbacks = []
        self.applied: list[tuple[int, Plan]] = []
        self.refuse: set[int] = set()
        self.refuse_flow = lambda flow: False  # a flow OVS would refuse: the whole bundle is, naming it
        self.flow_limit: dict[int, int] = {}  # table -> most flows it takes (OVS's overflow_policy=refuse)
        self._memos: dict[int, KeyedFlows] = {}  # per switch: keeps apply_plan_to_state O(changes)
        self._gates: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def connect(self, dpid: int, ports: dict[str, int], keep: bool = False) -> None:
        self.infos[dpid] = SwitchInfo(dpid, dict(ports))
        if not keep:
            self.tables.setdefault(dpid, SwitchState())
        self._emit(SwitchEvent("connected", dpid))

    def disconnect(self, dpid: int) -> bool:
        """The switch gone (its connection dropped): a held ``apply`` fails at once."""
        was = self.infos.pop(dpid, None) is not None
        self.release(dpid)
        self._emit(SwitchEvent("disconnected", dpid))
        return was

    def hold(self, dpid: int) -> None:
        self._gates[dpid] = threading.Event()

    def release(self, dpid: int) -> None:
        gate = self._gates.pop(dpid, None)
        if gate is not None:
            gate.set()

    def _emit(self, event):
        for cb in self.callbacks:
            cb(event)

    def switches(self):
        return dict(self.infos)

    def apply(self, dpid, plan, timeout=10.0):
        gate = self._gates.get(dpid)
        if gate is not None and not gate.wait(timeout):
            raise ApplyError(f"switch {dpid:#x}: no acknowledgement in time")
        if dpid in self.refuse:
            raise ApplyError(f"switch {dpid:#x} refused the bundle")
        bad = tuple(f for f in plan.add_flows + plan.modify_flows if self.refuse_flow(f))
        if bad:
            raise ApplyError(f"switch {dpid:#x} refused the change: OFPFMFC_TABLE_FULL in flow add", bad[:1])
        if dpid not in self.infos:
            raise ApplyError(f"switch {dpid:#x} is not connected")
        with self._lock:
            after = apply_plan_to_state(self.tables.get(dpid, SwitchState()), plan) if self.flow_limit else None
            for table, limit in self.flow_limit.items():
                assert after is not None
                added = [f for f in plan.add_flows if f.table == table]
                if added and sum(f.table == table for f in after.flows) > limit:  # like OVS: the last add fails
                    raise ApplyError(f"switch {dpid:#x} refused the change: OFPFMFC_TABLE_FULL in flow add",
                                     (added[-1],), table_full=True)
            self.applied.append((dpid, plan))
            memo = self._memos.setdefault(dpid, KeyedFlows())
            self.tables[dpid] = apply_plan_to_state(self.tables.get(dpid, SwitchState()), plan, memo)

    def read_state(self, dpid, timeout=10.0):
        if dpid not in self.infos:
            raise ApplyError(f"switch {dpid:#x} is not connected")
        return self.tables.get(dpid, SwitchState())

    def subscribe(self, callback):
        self.callbacks.append(callback)
