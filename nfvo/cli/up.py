"""``nfv up`` / ``nfv down``: start and stop the all-in-one stack in the background (its
supervisor, ``nfvo.supervisor``, which starts and restarts OVS, the controller and the NFVO;
``--hosts N``: N compute hosts, each a namespace with its own OVS, ``nfvo.computehosts``);
``nfv up --demo`` then runs a chain demo through the NFVO API with real traffic. ``nfv down``
asks the supervisor to stop everything, then removes whatever of the stack is still there
(after a crash: ``nfvo.leftovers``) and lists it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from nfvo.allinone import add_monitor_options
from nfvo.cli.client import STATE_DIR
from nfvo.cli.errors import CliError
from nfvo.supervision import STATUS_FILE, read_status, stack_up, summary
from nfvo.supervisor import monitor_argv

MAX_HOSTS = 16     # on one machine: each host is an ovs-vswitchd polling its ports
SAMPLES = Path(__file__).resolve().parents[2] / "descriptors" / "samples"
UNIT_DIR = Path("/etc/systemd/system")
HTTP_PORT = 8080


def register(subparsers) -> None:
    up = subparsers.add_parser("up", help="start the all-in-one stack (OVS, controller, NFVO, local VIM); needs root")
    up.add_argument("--state-dir", type=Path, default=STATE_DIR)
    up.add_argument("--demo", action="store_true", help="then run the chain demo (client, server, 2 SFs, traffic)")
    up.add_argument("--timeout", type=float, default=90.0)
    up.add_argument("--systemd", action="store_true",
                    help="write a systemd unit running the supervisor (Restart=always) instead of starting it")
    up.add_argument("--unit-dir", type=Path, default=UNIT_DIR, help=f"where --systemd writes (default {UNIT_DIR})")
    up.add_argument("--hosts", type=int, default=1, metavar="N",
                    help="compute hosts compute1..N, each a namespace with its own OVS on one underlay (default 1: "
                    "the VIM's ports on one bridge of the stack's OVS)")
    add_monitor_options(up)
    up.set_defaults(func=cmd_up)
    down = subparsers.add_parser("down", help="stop the all-in-one stack and remove everything it made")
    down.add_argument("--state-dir", type=Path, default=STATE_DIR)
    down.add_argument("--timeout", type=float, default=120.0)
    down.set_defaults(func=cmd_down)


def _record(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / "stack.json").read_text())
    except (OSError, ValueError):
        return None


def _state(state_dir: Path) -> dict | None:
    """The running stack's record: its supervisor is alive and says every component is up."""
    state = _record(state_dir)
    if state is None or not _alive(state.get("pid", 0)):
        return None
    try:
        _, _, parts = read_status(json.loads((state_dir / STATUS_FILE).read_text()))
    except (OSError, ValueError):
        return None
    return state if stack_up(parts) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def unit_name(state_dir: Path) -> str:
    from nfvo.allinone import stack_prefix

    return f"nfvchain-{stack_prefix(state_dir)}.service"


def cmd_systemd(args) -> int:
    """Write the unit; systemd starts it (and restarts the supervisor if it dies)."""
    from nfvo.supervision import systemd_unit

    state_dir = args.state_dir.resolve()
    unit = args.unit_dir / unit_name(state_dir)
    args.unit_dir.mkdir(parents=True, exist_ok=True)
    hosts = getattr(args, "hosts", 1)
    argv = monitor_argv(args) + (["--hosts", str(hosts)] if hosts > 1 else [])
    unit.write_text(systemd_unit(sys.executable, str(state_dir), argv,
                                 str(Path(__file__).resolve().parents[2])))
    print(f"wrote {unit}: the supervisor of the stack in {state_dir}, Restart=always\n"
          f"start it: systemctl daemon-reload && systemctl enable --now {unit.name}\n"
          f"stop it: systemctl disable --now {unit.name}, then nfv down (removes what is left)")
    return 0


def cmd_up(args) -> int:
    if os.geteuid() != 0:
        raise CliError("the all-in-one needs root (network namespaces, Open vSwitch)")
    hosts = getattr(args, "hosts", 1)
    if not 1 <= hosts <= MAX_HOSTS:
        raise CliError(f"--hosts {hosts}: a stack has 1..{MAX_HOSTS} compute hosts")
    if getattr(args, "systemd", False):
        return cmd_systemd(args)
    record = _record(args.state_dir)
    state = record if record is not None and _alive(record.get("pid", 0)) else None
    resumed = ""
    if state is None and record is not None:
        from dataplane import netns
        from nfvo.supervisor import stack_netns

        if not netns.netns_exists(stack_netns(args.state_dir.resolve())):
            raise CliError(f"{args.state_dir} holds a stack whose supervisor (pid {record.get('pid')}) is gone, and "
                           "so is its network namespace: nfv down removes what is left of it")
        if len(record.get("hosts") or ()) > 1:   # its compute hosts come back as they were (rack.json)
            hosts = len(record["hosts"])
        resumed = f" again (its supervisor, pid {record.get('pid')}, had died; the VDUs and stores are kept)"
    if state is None:
        extra = monitor_argv(args) + (["--hosts", str(hosts)] if hosts > 1 else [])
        state = _start(args.state_dir, args.timeout, extra)
        where = (f"compute hosts {', '.join(state['hosts'])} (nfv host list)" if len(state.get("hosts") or ()) > 1
                 else f"bridge {state['bridge']} (dpid {state['dpid']:#x})")
        print(f"nfvchain is up{resumed}: NFVO {state['nfvo']}, {where}, local VIM registered as default")
        collectors = ", ".join(f"{proto} udp/{port}" for proto, (_, port) in state.get("collectors", {}).items())
        if collectors:
            print(f"collectors: {collectors}; metrics: {state.get('metrics') or 'none'} (nfv status)")
    else:
        print(f"nfvchain is already up: NFVO {state['nfvo']}")
    os.environ["NFV_NFVO_ADDRESS"] = state["nfvo"]
    if args.demo:
        from nfvo.cli.updemo import run_demo

        return run_demo(state)
    print("try: nfv vnf descriptor list; nfv vim list; nfv down stops everything")
    return 0


def _start(state_dir: Path, timeout: float, extra: list[str] | None = None) -> dict:
    log_file = state_dir.with_name(state_dir.name + ".log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a") as out:   # a resumed stack: its predecessor's last words stay
        proc = subprocess.Popen([sys.executable, "-m", "nfvo.supervisor", "--state-dir", str(state_dir),
                                 *(extra or [])],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text().strip().splitlines()[-5:]
            raise CliError(f"the stack did not start (exit {proc.returncode}): {' | '.join(tail) or 'no output'}")
        state = _state(state_dir)
        if state is not None:
            return state
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    raise CliError(f"the stack did not come up within {timeout:.0f} s (log: {log_file})")


def cmd_down(args) -> int:
    """Stop the supervisor (it stops the rest in order), then sweep: after a crash the sweep is
    what removes the stack; either way the output names everything found."""
    from nfvo.allinone import stack_prefix
    from nfvo.leftovers import sweep

    state_dir = args.state_dir.resolve()
    record = _record(state_dir) or {}
    pid = int(record.get("pid", 0))
    stopped = ""
    unit = UNIT_DIR / unit_name(state_dir)
    if unit.exists() and shutil.which("systemctl"):   # else systemd would start it again (Restart=always)
        subprocess.run(["systemctl", "stop", unit.name], capture_output=True, check=False, timeout=args.timeout)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + args.timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped = f"the supervisor (pid {pid}) stopped the NFVO (terminating the VNFs), the controller and OVS" \
            if not _alive(pid) else f"the supervisor (pid {pid}) did not stop within {args.timeout:.0f} s"
    found = sweep(state_dir, record.get("prefix") or stack_prefix(state_dir))
    if not stopped and not found:
        print("nfvchain is not running; nothing of it found")
        return 0
    if stopped:
        print(f"nfvchain is down: {stopped}")
    else:
        print(f"nfvchain was not running{f' (its supervisor, pid {pid}, is gone)' if pid else ''}")
    lines = summary([f for f in found if f.kind != "directory"])
    if lines:
        print("found and removed " + ("what it left behind" if stopped else "what was left of it") + ":")
        for line in lines:
            print(f"  {line}")
    for f in found:
        if f.kind == "directory":
            print(f"removed {f.what}")
    return 0
