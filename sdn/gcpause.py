"""Pausing Python's cyclic garbage collector over bulk work (a restart's load, render, read-back).

That work allocates millions of small, long-lived, acyclic values (documents, flows); while it
grows the heap the collector keeps rescanning all of it, which cost more than the work itself
(10,000 paths: render 1.3 s with the collector, 0.6 s without). Reference counting still frees
everything acyclic; cycles made meanwhile wait for the collector to resume at the end. Nested
and concurrent pauses (several switch workers) count: the collector resumes after the last one,
and only if it was running before the first.

A pause that allocated in bulk (``BULK`` objects or more) ends with ``gc.freeze()``: what it
built lives long (documents, flows), and resuming the collector over it would rescan it all at
once later (half a second for a 10,000-path restart, in whichever thread comes next). Frozen
objects are still freed by reference counting; only a cycle among them is never collected, a
small bounded cost paid per bulk pause, not per change.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False
BULK = 100_000  # allocations (net) during a pause that make it bulk work


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                if gc.get_count()[0] >= BULK:
                    gc.freeze()
                gc.enable()
