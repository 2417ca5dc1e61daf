"""A fan-out of lifecycle events to any number of watchers (the API's Watch stream)."""

from __future__ import annotations

import queue
import threading

from nfvo.model import Event

MAX_BACKLOG = 10000


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[queue.Queue[Event]] = []

    def subscribe(self) -> queue.Queue[Event]:
        q: queue.Queue[Event] = queue.Queue(MAX_BACKLOG)
        with self._lock:
            self._queues.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[Event]) -> None:
        with self._lock:
            if q in self._queues:
                self._queues.remove(q)

    def publish(self, event: Event) -> None:
        with self._lock:
            targets = list(self._queues)
        for q in targets:
            try:
                q.put_nowait(event)
            except queue.Full:  # a stuck watcher loses events rather than stalling lifecycles
                pass
