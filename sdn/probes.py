"""Probes on every switch: the document's sFlow/IPFIX settings, kept in each bridge's OVSDB.

Why a thread of its own: OVSDB is another connection than OpenFlow, and an unreachable OVSDB
must hold up neither the switch's flows nor other switches. Level-triggered like the flows: the
controller hands over each new document (``submit``); the keeper brings every switch with an
``ovsdb`` address to the document's probes (or removes ours when the document has none, or drops
the switch), and retries what failed with a back-off. The bridge is found by its datapath id.
Each switch gets the document's probes resolved for it (``Probes.for_switch``: with
``sflow_agent_tunnel_ip`` its agent is its own underlay address).
What each switch has (or the error reaching it) is an immutable ``ProbeView`` read without a lock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from dataplane.ovsdb import Ovsdb, OvsdbError
from sdn.document import Probes, SfcDocument
from sdn.telemetry.observation import collector_set_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeTarget:
    """What one switch's OVSDB should hold of our probes (``probes`` None: none of ours)."""

    remote: str
    dpid: int
    probes: Probes | None


@dataclass(frozen=True)
class ProbeView:
    applied: ProbeTarget | None = None  # last brought about
    error: str = ""


def probe_targets(doc: SfcDocument) -> dict[int, ProbeTarget]:
    """Per dpid of a switch with an ``ovsdb`` address: what its OVSDB should hold (pure)."""
    probes = doc.probes
    return {s.dpid: ProbeTarget(s.ovsdb, s.dpid, None if probes is None else probes.for_switch(s))
            for s in doc.switches if s.ovsdb}


def ensure_settings(probes: Probes | None) -> dict[str, Any]:
    """The ``Ovsdb.ensure_probes`` keyword arguments for ``probes`` (None: remove ours)."""
    if probes is None:
        return {}
    return {"sflow_targets": probes.sflow_targets, "sampling": probes.sflow_sampling, "polling": probes.sflow_polling,
            "header": probes.sflow_header, "agent": probes.sflow_agent, "ipfix_targets": probes.ipfix_targets,
            "collector_set_ids": sorted(collector_set_ids(probes.collector_set_base).values()),
            "cache_active_timeout": probes.ipfix_cache_active_timeout}


class ProbeKeeper:
    """Keeps every switch's probes on the latest document's; thread-safe."""

    def __init__(self, connect: Callable[[str], Ovsdb] = lambda remote: Ovsdb(remote, timeout=5.0), *,
                 retry: float = 1.0, max_retry: float = 30.0) -> None:
        self._connect = connect
        self._retry_min, self._retry_max, self._retry = retry, max_retry, retry
        self._cond = threading.Condition()
        self._wanted: dict[int, ProbeTarget] = {}
        self._seq = self._done = 0
        self._busy = self._stopping = False
        self._dbs: dict[str, Ovsdb] = {}  # keeper thread only
        self.views: Mapping[int, ProbeView] = {}  # replaced, never mutated
        self._thread = threading.Thread(target=self._run, name="sfc-probes", daemon=True)
        self._thread.start()

    def submit(self, doc: SfcDocument) -> None:
        """Bring every switch to ``doc``'s probes from now on (returns at once)."""
        targets = probe_targets(doc)
        with self._cond:
            for dpid, view in self.views.items():  # a switch dropped from the document: ours go
                if dpid not in targets and view.applied is not None and view.applied.probes is not None:
                    targets[dpid] = ProbeTarget(view.applied.remote, dpid, None)
            if targets == self._wanted:
                return
            self._wanted = targets
            self._seq += 1
            self._cond.notify_all()

    def recheck(self, dpid: int) -> None:
        """Ensure ``dpid``'s probes again (it reconnected: its bridge may have been made anew)."""
        with self._cond:
            view = self.views.get(dpid)
            if view is None or dpid not in self._wanted:
                return
            self.views = {**self.views, dpid: ProbeView(None, view.error)}
            self._seq += 1
            self._cond.notify_all()

    def error(self, dpid: int) -> str:
        view = self.views.get(dpid)
        return view.error if view is not None else ""

    def settle(self, timeout: float) -> bool:
        """Wait until the latest document's probes were attempted everywhere."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopping or (self._done == self._seq and not self._busy), timeout)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        failed = False
        while True:
            with self._cond:
                while not self._stopping and self._done == self._seq:
                    if failed:
                        if not self._cond.wait(self._retry):
                            self._retry = min(self._retry * 2, self._retry_max)
                            break
                    else:
                        self._cond.wait()
                if self._stopping:
                    break
                wanted, seq, self._busy = dict(self._wanted), self._seq, True
            failed = self._converge(wanted)
            with self._cond:
                self._done, self._busy = seq, False
                if not failed:
                    self._retry = self._retry_min
                self._cond.notify_all()
        for db in self._dbs.values():
            db.close()

    def _converge(self, wanted: Mapping[int, ProbeTarget]) -> bool:
        updates: dict[int, ProbeView] = {}
        failed = False
        for dpid, target in wanted.items():
            view = self.views.get(dpid, ProbeView())
            if view.applied == target and not view.error:
                continue
            try:
                db = self._dbs.get(target.remote) or self._dbs.setdefault(target.remote, self._connect(target.remote))
                db.ensure_probes(db.bridge_of(dpid), **ensure_settings(target.probes))
                updates[dpid] = ProbeView(target)
            except (OvsdbError, OSError) as exc:
                failed = True
                stale = self._dbs.pop(target.remote, None)
                if stale is not None:
                    stale.close()
                updates[dpid] = ProbeView(view.applied, f"probes on switch {dpid:#x} via {target.remote}: {exc}")
                log.warning("%s", updates[dpid].error)
        with self._cond:  # merged under the lock: a recheck() meanwhile keeps its reset
            views = {**self.views, **updates}
            self.views = {dpid: v for dpid, v in views.items() if dpid in self._wanted or dpid in wanted}
        return failed
