"""``python -m dataplane.sf {forwarder,firewall,counter} --iface IFACE [...]``, or the
NSH-unaware ``python -m dataplane.sf bridge --iface A --egress-iface B`` (frames A <-> B).

Prints ``ready <iface> <mac>`` on stdout once the socket is bound (callers wait for it), logs
counters on stderr at exit, exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataplane.nsh import mac_str
from dataplane.sf import loop
from dataplane.sf.bridge import serve_bridge
from dataplane.sf.logic import Counter, Firewall, Handler, make_forwarder, parse_rule


def write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Readers never see a half-written report: write a temp file, then rename over."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m dataplane.sf",
                                 description="NSH-aware reference service functions (and an "
                                             "NSH-unaware bridge)")
    ap.add_argument("kind", choices=("forwarder", "firewall", "counter", "bridge"))
    ap.add_argument("--iface", required=True, help="interface to serve (inside the namespace)")
    ap.add_argument("--mac-mode", choices=("swap", "own"), default="swap",
                    help="swap outer MACs, or send from our own MAC back to the sender")
    ap.add_argument("--drop", action="append", default=[], metavar="RULE",
                    help="firewall: 'proto=tcp,dst_port=23', 'src=10.0.0.0/24'... (repeatable)")
    ap.add_argument("--report", type=Path, help="counter: JSON report file (atomic rewrite)")
    ap.add_argument("--egress-iface", help="bridge: the second interface (frames in on one go out the other)")
    ap.add_argument("--interval", type=float, default=0.5, help="counter: report period, s")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rules = tuple(parse_rule(r) for r in args.drop)
    except (ValueError, KeyError) as exc:
        print(f"bad --drop rule: {exc}", file=sys.stderr)
        return 2
    if args.kind != "firewall" and rules:
        print("--drop only applies to the firewall", file=sys.stderr)
        return 2
    if args.kind == "counter" and args.report is None:
        print("counter needs --report FILE", file=sys.stderr)
        return 2
    if (args.kind == "bridge") != (args.egress_iface is not None):
        print("--egress-iface is required by, and only applies to, the bridge", file=sys.stderr)
        return 2
    if args.kind == "bridge":
        return run_bridge(args.iface, args.egress_iface)
    try:
        sock = loop.open_socket(args.iface)
    except OSError as exc:
        print(f"cannot open {args.iface}: {exc}", file=sys.stderr)
        return 1
    with sock:
        mac = loop.own_mac(sock)
        own = mac if args.mac_mode == "own" else None
        handler: Handler
        tick: Callable[[], None] | None = None
        if args.kind == "forwarder":
            handler = make_forwarder(own)
        elif args.kind == "firewall":
            handler = Firewall(rules, own)
        else:
            counter = Counter(own)
            handler = counter
            report: Path = args.report

            def write_report() -> None:
                write_json_atomic(report, {"iface": args.iface, **counter.report()})

            tick = write_report

        def ready() -> None:
            if tick is not None:
                tick()
            print(f"ready {args.iface} {mac_str(mac)}", flush=True)

        try:
            stats = loop.serve(sock, handler, tick=tick, tick_interval=args.interval,
                               ready=ready)
        except OSError as exc:  # e.g. the interface or its namespace went away
            print(f"{args.kind} {args.iface}: {exc}", file=sys.stderr)
            return 1
    loop.log(f"{args.kind} {args.iface}: received={stats.received} sent={stats.sent} "
             f"dropped={stats.dropped} send_errors={stats.send_errors}")
    return 0


def run_bridge(iface: str, egress_iface: str) -> int:
    try:
        a = loop.open_socket(iface)
    except OSError as exc:
        print(f"cannot open {iface}: {exc}", file=sys.stderr)
        return 1
    with a:
        try:
            b = loop.open_socket(egress_iface)
        except OSError as exc:
            print(f"cannot open {egress_iface}: {exc}", file=sys.stderr)
            return 1
        with b:
            mac = loop.own_mac(a)
            try:
                stats = serve_bridge(a, b, ready=lambda: print(f"ready {iface} {mac_str(mac)}", flush=True))
            except OSError as exc:
                print(f"bridge {iface}<->{egress_iface}: {exc}", file=sys.stderr)
                return 1
    loop.log(f"bridge {iface}<->{egress_iface}: received={stats.received} sent={stats.sent} "
             f"dropped={stats.dropped} send_errors={stats.send_errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
