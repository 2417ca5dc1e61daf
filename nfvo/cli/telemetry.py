"""``nfv vnffg stats``, ``nfv exporter list`` and ``nfv status``: what the stack's collectors see.

``vnffg stats NAME`` prints per path and per hop the packets into / out of each service
function, the loss between them and where each figure comes from (probe and flows are exact,
samples estimated); ``--watch`` redraws it in place every interval (as JSON: one object a line).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import yaml

from nfvo.cli.client import _dump, call, common_options, show_list, stub, to_dict
from nfvo.cli.crud import Commands, name_arg, name_of, pb
from nfvo.cli.errors import CliError


def _count(c: dict[str, Any] | None) -> str:
    if not c:
        return "-"
    mark = "" if c.get("exact") else "~"
    return f"{mark}{int(c['packets'])} pkt / {mark}{int(c['bytes'])} B"


def _flows(c: dict[str, Any] | None) -> str:
    return str(c["flows"]) if c and c.get("flows") is not None else "-"


def _loss(h: dict[str, Any]) -> str:
    loss = h.get("loss")
    if not loss:
        return "-"
    margin = float(loss.get("margin") or 0)
    spread = f" ±{margin:.1%}" if margin else ""   # an estimate's ~95% half-width (hop loss margin)
    return f"{'' if loss.get('exact') else '~'}{int(loss['packets'])} ({float(loss['ratio']):.1%}{spread})"


def stats_view(data: dict[str, Any]):
    """The table of one VnffgStats (as a dict): a row per path entry, hop and path end."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    when = time.strftime("%H:%M:%S", time.localtime(float(data.get("time", 0))))
    exact = "exact" if data.get("exact") else "estimated (~)"
    head = Text(f"VNFFG {data['name']}: {int(data.get('packets', 0))} packets, {int(data.get('bytes', 0))} bytes "
                f"entered over {float(data['window']):g} s ({exact}) at {when}")
    table = Table(title_justify="left")
    for column in ("path", "SPI", "SI", "hop", "into", "out", "flows", "loss", "source"):
        table.add_column(column)
    for p in data.get("paths", []):
        entered = p.get("entered")
        table.add_row(p["name"], str(p["spi"]), "", "(classified)", _count(entered), "", _flows(entered), "",
                      (entered or {}).get("source", "-"))
        for h in p.get("hops", []):
            source = "/".join(sorted({c["source"] for c in (h.get("into"), h.get("out")) if c})) or "-"
            table.add_row("", "", str(h["si"]), h["name"], _count(h.get("into")), _count(h.get("out")),
                          _flows(h.get("into") or h.get("out")), _loss(h), source)
        delivered = p.get("delivered")
        table.add_row("", "", "", "(delivered)", "", _count(delivered), _flows(delivered), "",
                      (delivered or {}).get("source", "-"))
    if not data.get("paths"):
        table.add_row("-", "-", "-", "no figures yet (no traffic seen)", "", "", "", "", "")
    return Group(head, table)


def _stats_setup(p: argparse.ArgumentParser) -> None:
    name_arg(p, "VNFFG")
    p.add_argument("--window", type=float, default=10.0, help="seconds of figures (default 10, at most 300)")
    p.add_argument("--watch", action="store_true", help="redraw every --interval seconds until Ctrl-C")
    p.add_argument("--interval", type=float, default=1.0)


def _stats(args: argparse.Namespace) -> int:
    request = pb().VnffgStatsRequest(name=name_of(args), window=args.window, interval=args.interval)
    if not args.watch:
        data = to_dict(call(args, "GetVnffgStats", request))
        if args.format != "table":
            _dump(args, data)
        else:
            from rich.console import Console

            Console().print(stats_view(data))
        return 0
    call(args, "GetVnffgStats", request)          # a bad name fails here, with the usual message
    try:
        stream = stub(args).WatchVnffgStats(request)
        if args.format != "table":
            for message in stream:   # JSON: one object a line; YAML: one document each
                text = json.dumps(to_dict(message)) if args.format == "json" else \
                    "---\n" + yaml.safe_dump(to_dict(message), sort_keys=False).rstrip()
                print(text, flush=True)
            return 0
        from rich.console import Console
        from rich.live import Live

        with Live(console=Console(), auto_refresh=False, screen=False,
                  redirect_stdout=False, transient=not os.isatty(1)) as live:
            for message in stream:
                live.update(stats_view(to_dict(message)), refresh=True)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # grpc.RpcError
        details = exc.details() if hasattr(exc, "details") else str(exc)
        raise CliError(f"watching {name_of(args)} ended: {details}") from None
    return 0


def stats_commands() -> Commands:
    """Added to the ``vnffg`` group (``nfv vnffg stats`` / ``nfv vnffg-stats``)."""
    return {"stats": ("per-path, per-hop traffic figures of a VNFFG (--watch: live)", _stats_setup, _stats)}


def _ago(seconds: float) -> str:
    if not seconds:
        return "never"
    return f"{max(time.time() - seconds, 0):.1f} s ago"


def _exporters(args: argparse.Namespace) -> int:
    reply = call(args, "ListExporters", pb().ListRequest())
    show_list(args, reply.exporters, "Exporters",
              ["address", "switch", "protocol", "datagrams", "records", "drops", "last seen"],
              lambda e: [e["address"], e.get("switch") or "-", e["protocol"], str(e["datagrams"]), str(e["records"]),
                         str(e["drops"]) + (f" ({', '.join(f'{k}={v}' for k, v in e['drops_by_reason'].items())})"
                                            if e.get("drops_by_reason") else ""), _ago(float(e["last_seen"]))])
    return 0


def _local_status() -> tuple[int, list[dict[str, Any]]] | None:
    """The supervisor's status file of the stack ``nfv up`` started here (None if there is none):
    its pid and the supervised components, true even while the NFVO itself is down."""
    from nfvo.cli.client import STATE_DIR
    from nfvo.cli.up import _alive
    from nfvo.supervision import STATUS_FILE, format_uptime, read_status

    try:
        pid, started, parts = read_status(json.loads((STATE_DIR / STATUS_FILE).read_text()))
    except (OSError, ValueError):
        return None
    now = time.time()
    alive = _alive(pid)
    rows = [{"name": "supervisor", "state": "up" if alive else "dead", "addresses": [str(STATE_DIR)],
             "detail": "nfv up's process: starts and restarts the others", "pid": pid,
             "uptime": format_uptime(now - started) if alive else "-", "restarts": 0}]
    for c in parts:   # the file may be stale (a frozen or dead supervisor): a dead pid is dead whatever it says
        state = c.state if c.state != "up" or _alive(c.pid) else "dead"
        rows.append({"name": c.name, "state": state if alive else f"{state} (unsupervised)", "addresses": [],
                     "detail": f"last: {c.last_exit}" if c.last_exit else "", "pid": c.pid,
                     "uptime": format_uptime(c.uptime(now)) if state == "up" else "-", "restarts": c.restarts})
    return pid, rows


def _status(args: argparse.Namespace) -> int:
    from nfvo.cli.client import STATE_FILE, default_address

    args.nfvo = args.nfvo or default_address()
    try:
        here = json.loads(STATE_FILE.read_text()).get("nfvo") == args.nfvo
    except (OSError, ValueError):
        here = False
    local = _local_status() if here else None   # another NFVO than the local stack's: only what it says
    nfvo_up = local is not None and any(r["name"] == "nfvo" and r["state"].startswith("up") for r in local[1])
    if local is not None and not nfvo_up:
        args.timeout = min(args.timeout, 3.0)   # the NFVO is known to be down: do not wait for it
    try:
        data = to_dict(call(args, "GetStatus", pb().StatusRequest()))
    except CliError:
        if local is None:
            raise
        data = {"components": [], "metrics_url": ""}
    components = data.get("components", [])
    if local is not None:   # the supervisor's figures, the NFVO's addresses and details
        served = {c["name"]: c for c in components}
        rows = []
        for row in local[1]:
            got = served.pop(row["name"], {})
            rows.append({**row, "addresses": got.get("addresses") or row["addresses"],
                         "detail": got.get("detail") or row["detail"]})   # the NFVO's names the last exit too
        components = rows + list(served.values())
        if not data.get("components"):
            components.append({"name": "nfvo-api", "state": "unreachable", "addresses": [], "detail":
                               "collectors and metrics not listed while the NFVO is down"})
    from nfvo.supervision import format_uptime

    now = time.time()
    for c in components:   # what the API says of a supervised process: its uptime from its start
        if "uptime" not in c and float(c.get("started") or 0) > 0 and str(c.get("state", "")).startswith("up"):
            c["uptime"] = format_uptime(now - float(c["started"]))
    data["components"] = components
    if args.format != "table":
        _dump(args, data)
        return 0
    from nfvo.cli.output import print_table

    print_table("nfvchain", ["component", "state", "pid", "uptime", "restarts", "addresses", "detail"],
                [[c["name"], c["state"], str(c.get("pid") or "-"), c.get("uptime", "-"),
                  str(c["restarts"]) if "restarts" in c and c.get("pid") else "-", "\n".join(c["addresses"]), c["detail"]]
                 for c in components])
    if data.get("metrics_url"):
        print(f"metrics: {data['metrics_url']}")
    return 0


def register(subparsers) -> None:
    parent = common_options()
    group = subparsers.add_parser("exporter", help="flow exporters the collectors hear (sFlow, IPFIX, NetFlow v9)")
    actions = group.add_subparsers(dest="exporter_command", metavar="ACTION", required=True)
    for sub, name in ((actions, "list"), (subparsers, "exporter-list")):
        sub.add_parser(name, help="list exporters", parents=[parent]).set_defaults(func=_exporters)
    status = subparsers.add_parser("status", help="the stack's components and their addresses", parents=[parent])
    status.set_defaults(func=_status)
