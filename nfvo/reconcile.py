"""The intent journal and start-up reconciliation (the shell around ``nfvo.intents``).

Every multi-step NFVO operation runs inside ``Journal.intent``: the intent row is written to the
NFVO's store before the first step, its step updated as it goes (each step also a named
``crash_point`` for the crash tests), and removed when the operation returns or raises (an
operation that raises has undone its own work). ``reconcile`` runs at start, before the stored
chains are handed to the controller: each intent a crash left is rolled forward or back
(``nfvo.intents.decide``), logged and published as an event of its resource.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator

from nfvo.events import EventBus
from nfvo.intents import KIND, Decision, Facts, Intent, decide_all
from nfvo.model import Event, NsRecord
from nfvo.protocols import Store, Vnfm
from vnfm.faults import crash_point

if TYPE_CHECKING:
    from nfvo.vnffg.manager import VnffgManager

log = logging.getLogger(__name__)


@dataclass
class OpenIntent:
    """An intent being carried out: ``step`` records progress (and is a crash point)."""

    journal: Journal
    intent: Intent

    def step(self, step: str, **payload: Any) -> None:
        self.intent = replace(self.intent, step=step, payload={**self.intent.payload, **payload})
        self.journal.store.update(KIND, self.intent.id, self.intent.to_dict())
        crash_point(f"{self.intent.operation}.{step}")

    def close(self) -> None:
        """The operation returned or raised (and undid itself): nothing left to reconcile."""
        self.journal.store.delete(KIND, self.intent.id)

    @contextmanager
    def closing(self) -> Iterator[OpenIntent]:
        """``close`` when the block returns or raises an error; not when the process is going
        (SystemExit, KeyboardInterrupt: the operation did not undo itself, the next start does)."""
        try:
            yield self
        except Exception:
            self.close()
            raise
        self.close()


class Journal:
    def __init__(self, store: Store, now: Callable[[], float], new_id: Callable[[], str]):
        self.store, self._now, self._new_id = store, now, new_id

    def begin(self, operation: str, name: str, **payload: Any) -> OpenIntent:
        """Record the intent (step ``started``); the caller must ``close`` it (see ``intent``)."""
        intent = Intent(self._new_id(), operation, name, "started", self._now(), payload)
        self.store.insert(KIND, intent.id, intent.id, intent.to_dict())
        crash_point(f"{operation}.started")
        return OpenIntent(self, intent)

    @contextmanager
    def intent(self, operation: str, name: str, **payload: Any) -> Iterator[OpenIntent]:
        """``begin``, then ``closing``."""
        with self.begin(operation, name, **payload).closing() as handle:
            yield handle

    def open(self) -> list[Intent]:
        return [Intent.from_dict(b) for b in self.store.list(KIND)]


def reconcile(journal: Journal, vnfm: Vnfm, vnffgs: VnffgManager, bus: EventBus,
              now: Callable[[], float]) -> list[Decision]:
    """Finish or undo every operation a crash interrupted; returns what was decided."""
    intents = journal.open()
    if not intents:
        return []
    facts = Facts({v.name: str(v.status) for v in vnfm.list()}, {r.name: r.updated_at for r in vnffgs.list()},
                  frozenset(str(b["name"]) for b in journal.store.list("NS")))
    decisions = decide_all(intents, facts)
    for decision in decisions:
        problems = _apply(decision, journal.store, vnfm, vnffgs)
        reason = decision.reason + (f" (but: {'; '.join(problems)})" if problems else "")
        intent = decision.intent
        (log.error if problems else log.warning)("after a restart: %s", reason)
        bus.publish(Event(now(), intent.kind, "", intent.name, f"INTERRUPTED {intent.operation}",
                          decision.verdict, reason))
        if not problems:  # else tried again at the next start
            journal.store.delete(KIND, intent.id)
    return decisions


def _apply(decision: Decision, store: Store, vnfm: Vnfm, vnffgs: VnffgManager) -> list[str]:
    """VNFFG rows first (the controller has no chain yet at start: only rows go), then VNFs."""
    problems = []
    for name in decision.delete_vnffgs:
        try:
            vnffgs.delete(name)
        except Exception as exc:  # noqa: BLE001 - report, keep going
            problems.append(f"VNFFG {name}: {exc}")
    for name in decision.terminate_vnfs:
        try:
            vnfm.terminate(name)
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ != "NotFound":
                problems.append(f"VNF {name}: {exc}")
    ns = store.get("NS", decision.intent.name)
    if decision.delete_ns and ns is not None and not problems:
        store.delete("NS", str(ns["id"]))
    if decision.write_ns is not None and not problems:
        record = NsRecord.from_dict(dict(decision.write_ns))
        store.insert("NS", record.id, record.name, record.to_dict())
    return problems
