"""``nfv up`` / ``nfv down``: start and stop the all-in-one stack (``nfvo.allinone``) in the
background; ``nfv up --demo`` then runs a chain demo through the NFVO API with real traffic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nfvo.allinone import add_monitor_options
from nfvo.cli.client import STATE_DIR
from nfvo.cli.errors import CliError

SAMPLES = Path(__file__).resolve().parents[2] / "descriptors" / "samples"
HTTP_PORT = 8080


def register(subparsers) -> None:
    up = subparsers.add_parser("up", help="start the all-in-one stack (OVS, controller, NFVO, local VIM); needs root")
    up.add_argument("--state-dir", type=Path, default=STATE_DIR)
    up.add_argument("--demo", action="store_true", help="then run the chain demo (client, server, 2 SFs, traffic)")
    up.add_argument("--timeout", type=float, default=90.0)
    add_monitor_options(up)
    up.set_defaults(func=cmd_up)
    down = subparsers.add_parser("down", help="stop the all-in-one stack and remove everything it made")
    down.add_argument("--state-dir", type=Path, default=STATE_DIR)
    down.add_argument("--timeout", type=float, default=60.0)
    down.set_defaults(func=cmd_down)


def _state(state_dir: Path) -> dict | None:
    try:
        state = json.loads((state_dir / "stack.json").read_text())
    except (OSError, ValueError):
        return None
    return state if _alive(state.get("pid", 0)) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def cmd_up(args) -> int:
    if os.geteuid() != 0:
        raise CliError("the all-in-one needs root (network namespaces, Open vSwitch)")
    state = _state(args.state_dir)
    if state is None:
        state = _start(args.state_dir, args.timeout, _monitor_argv(args))
        print(f"nfvchain is up: NFVO {state['nfvo']}, bridge {state['bridge']} (dpid {state['dpid']:#x}), "
              f"local VIM registered as default")
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


def _monitor_argv(args) -> list[str]:
    """The collector/metrics options given to ``nfv up``, passed on to the stack's process."""
    argv = []
    for option in ("sflow_port", "ipfix_port", "netflow_port", "metrics_address", "sflow_sampling", "ipfix_sampling"):
        value = getattr(args, option, None)
        if value is not None:
            argv += [f"--{option.replace('_', '-')}", str(value)]
    return argv + (["--strict-ports"] if getattr(args, "strict_ports", False) else [])


def _start(state_dir: Path, timeout: float, extra: list[str] | None = None) -> dict:
    log_file = state_dir.with_name(state_dir.name + ".log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nfvo.allinone", "--state-dir", str(state_dir),
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
    try:
        state = json.loads((args.state_dir / "stack.json").read_text())
    except (OSError, ValueError):
        print("nfvchain is not running")
        return 0
    pid = int(state.get("pid", 0))
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + args.timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            raise CliError(f"the stack (pid {pid}) did not stop within {args.timeout:.0f} s; killed it")
    args.state_dir.with_name(args.state_dir.name + ".log").unlink(missing_ok=True)
    print("nfvchain is down: VNFs terminated, controller and OVS stopped, state removed")
    return 0
