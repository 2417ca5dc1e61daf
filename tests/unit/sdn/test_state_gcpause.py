"""sdn.gcpause: the collector is off inside a pause, back after the last one (if it ran before),
and a pause that built a bulk of objects leaves them frozen (not rescanned)."""

from __future__ import annotations

import gc
import threading

from sdn.gcpause import BULK, gc_paused


def test_nested_and_concurrent_pauses_resume_after_the_last():
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        t.start()
        assert inside.wait(5)
    assert not gc.isenabled(), "the other thread's pause still runs"
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_bulk_work_ends_frozen_small_work_does_not():
    before = gc.get_freeze_count()
    try:
        with gc_paused():
            kept = [(i,) for i in range(10)]
        assert gc.get_freeze_count() == before
        with gc_paused():
            kept = [[i] for i in range(BULK + 1000)]
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.isenabled()
    finally:
        gc.unfreeze()
