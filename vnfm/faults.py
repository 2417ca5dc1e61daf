"""Fault injection for the crash tests: ``crash_point(name)`` ends the process at once
(``os._exit(137)``, as ``kill -9`` would: no cleanup, no flush) when asked to, else does nothing.

Asked by ``NFV_CRASH_AT=<name>`` (every time the point is reached) or, for a supervised process
that must not crash again after its restart, by ``NFV_CRASH_FILE=<path>``: the file names the
point, and is removed just before the crash (one shot). Here, not in ``nfvo``, so the VNFM's
points can use it too (nfvo sits above vnfm).
"""

from __future__ import annotations

import os
import sys


def crash_point(name: str) -> None:
    """Die here if this point is the one asked for; a no-op otherwise (two dict lookups)."""
    if os.environ.get("NFV_CRASH_AT") == name:
        _die(name)
    path = os.environ.get("NFV_CRASH_FILE")
    if not path:
        return
    try:
        with open(path) as f:
            wanted = f.read().strip()
    except OSError:
        return
    if wanted == name:
        os.unlink(path)
        _die(name)


def _die(name: str) -> None:
    sys.stderr.write(f"crash point {name}: exiting with 137\n")
    sys.stderr.flush()
    os._exit(137)
