"""The VNFM as chains see it: VDU instances being drained are left out.

Why: scaling in (or terminating a VNF an abstract hop balances over) removes a VDU instance's
ports. If the chains through it were re-rendered only afterwards, every connection hashed to that
instance would be lost until then. The NFVO first marks the instances as draining and re-renders
(the controller moves their connections to the instances that stay, in one bundle), then lets the
VNFM remove them. Every render in between, whatever triggers it, sees the same view, so no
concurrent re-render brings them back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from nfvo.protocols import Vnfm
from vnfm.model import VnfRecord


class DrainingVnfm:
    """Wraps a ``Vnfm``: ``list``/``get`` omit draining VDU instances; all else passes through."""

    def __init__(self, vnfm: Vnfm):
        self._vnfm = vnfm
        self._lock = threading.Lock()
        self._draining: dict[str, frozenset[tuple[str, int]]] = {}  # VNF id -> (VDU, instance)

    @contextmanager
    def draining(self, vnf_id: str, instances: Iterable[tuple[str, int]]) -> Iterator[None]:
        with self._lock:
            self._draining[vnf_id] = frozenset(instances)
        try:
            yield
        finally:
            with self._lock:
                self._draining.pop(vnf_id, None)

    def list(self) -> list[VnfRecord]:
        """VNFs with their draining instances left out; a VNF draining entirely is left out."""
        return [view for v in self._vnfm.list() if (view := self._view(v)).vdus or not v.vdus]

    def get(self, name_or_id: str) -> VnfRecord:
        return self._view(self._vnfm.get(name_or_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vnfm, name)

    def _view(self, vnf: VnfRecord) -> VnfRecord:
        gone = self._draining.get(vnf.id)
        if not gone:
            return vnf
        return replace(vnf, vdus=tuple(v for v in vnf.vdus if (v.name, v.instance) not in gone))
