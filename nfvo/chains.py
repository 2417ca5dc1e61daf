"""Keeps the controller's desired state equal to the rendered VNFFGs (the imperative shell).

Fast path: a change whose service functions the controller already knows goes out as one
``UpsertPaths`` (only that chain's paths; other chains untouched, so hitless). Anything that
adds or changes service functions, or a restart, goes out as a whole ``ApplyDocument``. Both
return after every switch acknowledged: the returned generation is when the chain is live.
Both carry typed values (``sdn.document``), never text; the switches are the VIMs' SFFs
as ``nfvo.vnffg.sffs`` makes them (a changed one, e.g. a host's new tunnel port: a whole apply).
A whole document is checked locally before it is sent; a path upsert is checked by the
controller (against its whole document, atomically): either way a bad path changes nothing and the error names the element.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable, Mapping

from nfvo.errors import InvalidArgument
from nfvo.protocols import SdnPort
from nfvo.vnffg.render import RenderedChain, SfDef, build_document, merge_functions
from sdn.document import DocumentError, Probes, SfcDocument, Switch, check_document
from sdn.pathstatus import PathStatus

log = logging.getLogger(__name__)
DocumentHook = Callable[[SfcDocument], None]


class ChainEngine:
    def __init__(self, sdn: SdnPort, on_document: DocumentHook | None = None):
        self._sdn = sdn
        self.on_document = on_document   # told the controller's document after each apply (e.g. telemetry)
        self.probes: Probes | None = None  # sFlow/IPFIX on the bridges ``ovsdb`` names (set_probes)
        self.ovsdb: dict[str, str] = {}  # switch -> OVSDB remote, for switches whose VIM says none
        self._lock = threading.RLock()
        self._chains: dict[str, RenderedChain] = {}
        self._functions: dict[str, SfDef] = {}
        self._switches: dict[str, Switch] = {}  # as last applied whole
        self.generation = 0

    @property
    def chains(self) -> Mapping[str, RenderedChain]:
        return dict(self._chains)

    def commit(self, name: str, rendered: RenderedChain | None, switches: Mapping[str, Switch]) -> int:
        """Make ``rendered`` the state of chain ``name`` (None removes it); returns the generation."""
        with self._lock:
            chains = dict(self._chains)
            old = chains.pop(name, None)
            if rendered is not None:
                chains[name] = rendered
            if rendered is not None and not self._known(rendered, switches):
                return self._apply_all(chains, switches)
            new_names = set(rendered.path_names) if rendered else set()
            remove = [p for p in (old.path_names if old else ()) if p not in new_names]
            paths = list(rendered.paths) if rendered else []
            if not paths and not remove:
                self._chains = chains
                return self.generation
            # The controller checks the paths against its whole document (same element names)
            # and changes nothing if they are bad; checking here too would double the O(chains) cost.
            self.generation = self._sdn.upsert_paths(paths, remove)
            self._chains = chains
            if self.on_document is not None:
                self._tell(lambda: build_document({**self._switches, **switches}, chains.values(), self.probes,
                                                  self.ovsdb))
            return self.generation

    def path_status(self, names: Iterable[str] = ()) -> Mapping[str, PathStatus]:
        """What the controller says of each path now (``names``; none: all)."""
        return self._sdn.path_status(list(names))

    def controller_serving(self) -> bool:
        """The controller's own health (SERVING: a switch is connected); raises Unavailable."""
        return self._sdn.serving()

    def serves_any(self, vnfs: Iterable[str]) -> bool:
        """Whether the controller holds a service function on a CP of one of ``vnfs``."""
        wanted = set(vnfs)
        return any(fn.vnfs & wanted for fn in self._functions.values())

    def resync(self, chains: Mapping[str, RenderedChain], switches: Mapping[str, Switch]) -> int:
        """The whole desired state at once (start-up, VNF heal/scale/terminate)."""
        with self._lock:
            return self._apply_all(dict(chains), switches)

    def _known(self, rendered: RenderedChain, switches: Mapping[str, Switch]) -> bool:
        return all(self._functions.get(fn.name) == fn for fn in rendered.functions) and \
            all(self._switches.get(s) == switches.get(s) for s in rendered.switches)

    def _apply_all(self, chains: dict[str, RenderedChain], switches: Mapping[str, Switch]) -> int:
        try:
            document = check_document(build_document(switches, chains.values(), self.probes, self.ovsdb))
        except DocumentError as exc:
            raise InvalidArgument(exc.message, exc.element) from None
        self.generation = self._sdn.apply_document(document)
        self._chains = chains
        self._functions = merge_functions(chains.values())
        self._switches = dict(switches)
        self._tell(lambda: document)
        return self.generation

    def _tell(self, document: Callable[[], SfcDocument]) -> None:
        """The hook sees what the controller now holds; its failure never undoes an apply."""
        if self.on_document is None:
            return
        try:
            self.on_document(document())
        except Exception:  # noqa: BLE001 - an observer must not break the chains
            log.exception("document hook failed")
