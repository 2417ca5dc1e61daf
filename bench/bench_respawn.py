"""kill -9 a respawn-monitored VDU's program N times; print how long until DEAD and until a new
program serves (new pid alive, VNF ACTIVE), interleaved with other stacks on the host.

Why: issue 12 saw two of 13 respawns stall for 10 s, both right after other stacks had run.
Each run uses one of five conditions, in turn: ``quiet``; ``after`` (another stack, a separate
process with its own prefix, VIM and store on the same bridge, instantiated and terminated
two VNFs just before the kill); ``other`` (that stack busy during the kill); ``same`` (the same
manager instantiating and terminating another VNF during the kill: it holds the operations'
lock while the respawn waits for it); ``exec`` (a program run in the VDU by ``runc exec``
during the kill: a dying PID-namespace init waits for it). ``--poll``: no exit watcher, only the
monitor's checks (the code issue 12 was seen with; use ``--delay 0``). A stall (no respawn
within ``--limit`` s) dumps the record, its last events and every thread's stack. Monitoring
policy as Tacker's tosca-vnfd-monitor sample (ping, respawn, monitoring_delay 45): the exit
watcher, not the ping, has to notice. Run as root: ``.venv/bin/python bench/bench_respawn.py [N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab  # noqa: E402
from dataplane.ovsdb import Ovsdb  # noqa: E402
from descriptors import load_vnfd  # noqa: E402
from vnfm.manager import VnfManager  # noqa: E402
from vnfm.model import Status as S  # noqa: E402
from vnfm.sqlstore import VnfSqlStore  # noqa: E402
from vnfm.vim import process  # noqa: E402
from vnfm.vim.local import LocalVim  # noqa: E402
from tests.integration.vnfm.conftest import vnfd_text  # noqa: E402

CONDITIONS = ("quiet", "after", "other", "same", "exec")


def vnfd(name: str, image: str, delay: float = 45):
    return load_vnfd(vnfd_text(name, image, "respawn",
                               monitor_parameters=f"monitoring_delay: {delay}, count: 3, interval: 1, timeout: 2"))


def other_stack(prefix: str, bridge: str, db_sock: str, state: str, image: str, count: int) -> int:
    """Child process: another deployment on the host (own prefix, VIM, store): up, then down."""
    vim = LocalVim(Ovsdb(db_sock), bridge, prefix, Path(state))
    m = VnfManager(vim, VnfSqlStore(f"sqlite:///{state}/vnfm.db", prefix), prefix=prefix)
    try:
        for i in range(count):
            m.instantiate(f"o{i}", vnfd(f"o{i}", image))
        for rec in m.list():
            m.terminate(rec.id)
    finally:
        m.close()
        vim.close()
    return 0


def up_down(m: VnfManager, image: str) -> None:
    """Another VNF on the same manager: instantiate holds the operations' lock for its seconds."""
    m.instantiate("x", vnfd("x", image))
    m.terminate("x")


def wait_respawn(m: VnfManager, name: str, old_pid: int, limit: float) -> tuple[float | None, float | None]:
    """(seconds to DEAD, seconds to a new live program with the VNF ACTIVE), None if not seen."""
    t0 = time.monotonic()
    dead = served = None
    while (now := time.monotonic()) - t0 < limit:
        rec = m.get(name)
        vdu = rec.vdus[0] if rec.vdus else None
        if dead is None and (rec.status != S.ACTIVE or (vdu is not None and vdu.dead)
                             or (vdu is not None and vdu.pid != old_pid)):
            dead = now - t0
        if (rec.status == S.ACTIVE and vdu is not None and vdu.pid != old_pid and not vdu.dead
                and vdu.pid and process.start_time(vdu.pid) is not None):
            served = now - t0
            break
        time.sleep(0.005)
    return dead, served


def dump(m: VnfManager, name: str) -> None:
    rec = m.get(name)
    print(f"  STALL: {rec.status} ({rec.reason}) vdus={[(v.pid, v.dead) for v in rec.vdus]}")
    for e in m.events(name)[-6:]:
        print(f"    event {e.old} -> {e.new}: {e.reason}")
    for tid, frame in sys._current_frames().items():
        names = [t.name for t in threading.enumerate() if t.ident == tid]
        print(f"  thread {names}:\n" + "".join("    " + x for x in traceback.format_stack(frame)[-6:]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="?", type=int, default=24)
    ap.add_argument("--image", default="host", help="host: sh as init; nsh-forwarder: a Python SF")
    ap.add_argument("--delay", type=float, default=45, help="monitoring_delay (0: the ping runs too)")
    ap.add_argument("--poll", action="store_true", help="no exit watcher: the monitor's checks only")
    ap.add_argument("--limit", type=float, default=15.0)
    ap.add_argument("--other", nargs=5, metavar=("PREFIX", "BRIDGE", "DB", "STATE", "COUNT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.other:
        p, b, db, st, n = args.other
        return other_stack(p, b, db, st, args.image, int(n))
    if os.geteuid() != 0:
        print("bench_respawn needs root", file=sys.stderr)
        return 1
    netns.enter_private_netns()
    with OvsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        bridge = lab.bridge(fail_mode="standalone")
        prefix = lab.prefix + "a"
        vim = LocalVim(lab.db, bridge, prefix, Path(tmp) / "a")
        m = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp}/a.db", prefix), prefix=prefix,
                       watch_exits=not args.poll)

        def other(i: int) -> subprocess.Popen[bytes]:
            st = Path(tmp) / f"o{i}"
            st.mkdir()
            return subprocess.Popen([sys.executable, "-W", "ignore", __file__, "--image", args.image, "--other",
                                     f"{lab.prefix}o{i % 10}", bridge, lab.ovs.db_sock, str(st), "2"])

        rows: list[tuple[str, float | None, float | None]] = []
        try:
            m.instantiate("rs", vnfd("rs", args.image, args.delay))
            for i in range(args.runs):
                cond = CONDITIONS[i % len(CONDITIONS)]
                side: subprocess.Popen[bytes] | threading.Thread | None = None
                if cond == "after":
                    if other(i).wait() != 0:
                        print("  the other stack failed")
                elif cond == "other":
                    side = other(i)
                    time.sleep(0.3)   # it is creating its VNFs
                elif cond == "same":
                    side = threading.Thread(target=up_down, args=(m, args.image))
                    side.start()
                    time.sleep(0.05)   # it holds the operations' lock
                elif cond == "exec":   # a program run inside the VDU (its PID namespace) meanwhile
                    side = threading.Thread(target=m.exec, args=("rs", ["sleep", "3"]), kwargs={"timeout": 10})
                    side.start()
                    time.sleep(0.3)
                old = m.get("rs").vdus[0].pid
                assert old, "no program recorded"
                os.kill(old, 9)
                dead, served = wait_respawn(m, "rs", old, args.limit)
                print(f"run {i:2d} {cond:6s} dead {_ms(dead)} respawned {_ms(served)}", flush=True)
                if served is None:
                    dump(m, "rs")
                rows.append((cond, dead, served))
                if isinstance(side, threading.Thread):
                    side.join()
                elif side is not None:
                    side.wait()
                if served is None:   # let a late heal finish before the next run
                    wait_respawn(m, "rs", old, 30)
        finally:
            for rec in m.list():
                m.terminate(rec.id)
            m.close()
            vim.close()
        print(f"\n{'condition':>9} {'runs':>4} {'dead med':>9} {'dead max':>9} {'resp med':>9} "
              f"{'resp p90':>9} {'resp max':>9} {'stalls':>6}")
        for cond in (*CONDITIONS, "all"):
            sel = [r for r in rows if cond in ("all", r[0])]
            deads = sorted(r[1] for r in sel if r[1] is not None)
            resp = sorted(r[2] for r in sel if r[2] is not None)
            if not sel:
                continue
            print(f"{cond:>9} {len(sel):>4} {_ms(_med(deads))} {_ms(max(deads, default=None))} "
                  f"{_ms(_med(resp))} {_ms(resp[math.ceil(0.9 * len(resp)) - 1] if resp else None)} "
                  f"{_ms(max(resp, default=None))} {len(sel) - len(resp):>6}")
    return 0


def _med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _ms(x: float | None) -> str:
    return f"{'-':>7}  " if x is None else f"{x * 1e3:7.0f}ms"


if __name__ == "__main__":
    sys.exit(main())
