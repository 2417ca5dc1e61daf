"""The VNFM as chains see it: VDU instances about to go drain first, then are left out.

Why: scaling in (or terminating a VNF an abstract hop balances over) removes a VDU instance's
ports. If the chains through it were re-rendered only afterwards, every connection hashed to that
instance would be lost until then; and if one re-render both moved its connections and dropped
its ports, the packets inside the SF at that moment would be lost (its port no longer admitted).
So the NFVO goes in two steps: first the instances drain (``draining_instances``: the render gives
them weight 0, the controller moves their connections to the instances that stay and keeps their
ports admitted), then, after ``DRAIN_GRACE`` (what was inside them is out by then), ``gone()``
leaves them out of the view, a second re-render drops their ports and the VNFM removes them.
Every render in between, whatever triggers it, sees the same view, so no concurrent re-render
brings them back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from nfvo.protocols import Vnfm
from vnfm.model import VnfRecord

DRAIN_GRACE = 0.2  # s between moving an instance's connections away and dropping its ports


class DrainingVnfm:
    """Wraps a ``Vnfm``: ``list``/``get`` omit instances that are gone; ``draining_instances``
    names those still draining; all else passes through."""

    def __init__(self, vnfm: Vnfm):
        self._vnfm = vnfm
        self._lock = threading.Lock()
        self._draining: dict[str, frozenset[tuple[str, int]]] = {}  # VNF id -> (VDU, instance)
        self._gone: dict[str, frozenset[tuple[str, int]]] = {}

    @contextmanager
    def draining(self, vnf_id: str, instances: Iterable[tuple[str, int]]) -> Iterator[Callable[[], None]]:
        """While inside, the instances drain; calling the yielded function leaves them out."""
        chosen = frozenset(instances)
        with self._lock:
            self._draining[vnf_id] = chosen

        def gone() -> None:
            with self._lock:
                self._draining.pop(vnf_id, None)
                self._gone[vnf_id] = chosen

        try:
            yield gone
        finally:
            with self._lock:
                self._draining.pop(vnf_id, None)
                self._gone.pop(vnf_id, None)

    def draining_instances(self) -> frozenset[tuple[str, str, int]]:
        """(VNF name, VDU, instance) draining now: chains give them no new connections."""
        with self._lock:
            draining = dict(self._draining)
        if not draining:
            return frozenset()
        names = {v.id: v.name for v in self._vnfm.list() if v.id in draining}
        return frozenset((names[vid], vdu, i) for vid, chosen in draining.items() if vid in names for vdu, i in chosen)

    def list(self) -> list[VnfRecord]:
        """VNFs with their gone instances left out; a VNF gone entirely is left out."""
        return [view for v in self._vnfm.list() if (view := self._view(v)).vdus or not v.vdus]

    def get(self, name_or_id: str) -> VnfRecord:
        return self._view(self._vnfm.get(name_or_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vnfm, name)

    def _view(self, vnf: VnfRecord) -> VnfRecord:
        gone = self._gone.get(vnf.id)
        if not gone:
            return vnf
        return replace(vnf, vdus=tuple(v for v in vnf.vdus if (v.name, v.instance) not in gone))
