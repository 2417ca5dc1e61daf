"""``nfv demo``: the all-in-one — a private OVS, the SDN controller, hosts and SFs, a chain.

Everything runs in a private network namespace of this process (so it can't collide with any
other OVS on the host) and is removed on exit, also on failure or Ctrl-C.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from nfvo.cli.errors import CliError
from nfvo.cli.output import print_table

HTTP_PORT, BLOCKED_PORT, UDP_PORT, BYPASS_PORT = 8080, 2323, 5353, 9090


def register(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="run the all-in-one demo (needs root): OVS, controller, a chain, traffic")
    demo.add_argument("--requests", type=int, default=20, help="HTTP requests sent through the chain")
    demo.add_argument("--keep", action="store_true", help="wait for Enter before tearing down")
    demo.set_defaults(func=cmd_demo)


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


def start_controller_process() -> tuple[subprocess.Popen, int, str]:
    """nfv-sdn in its own process on free ports; returns (process, openflow port, grpc address)."""
    proc = subprocess.Popen([sys.executable, "-m", "sdn.launcher", "--openflow", "127.0.0.1:0",
                             "--grpc", "127.0.0.1:0", "--log-level", "WARNING", "--state-file", ""],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("nfv-sdn ready"):
        proc.kill()
        raise CliError(f"the SDN controller did not start: {line.strip() or 'no output'}")
    words = line.split()
    openflow, grpc_address = words[words.index("openflow") + 1], words[words.index("grpc") + 1]
    return proc, int(openflow.rsplit(":", 1)[1]), grpc_address


def cmd_demo(args) -> int:
    import os

    if os.geteuid() != 0:
        raise CliError("the demo needs root (network namespaces, Open vSwitch)")
    from dataplane import netns
    from dataplane.lab import OvsLab, stop_process

    netns.enter_private_netns()
    workdir = Path(tempfile.mkdtemp(prefix="nfv-demo-"))
    controller = None
    with OvsLab() as lab:
        try:
            _step(f"private Open vSwitch running in {lab.ovs.run_dir}")
            controller, of_port, grpc_address = start_controller_process()
            _step(f"SDN controller up: OpenFlow 127.0.0.1:{of_port}, gRPC {grpc_address}")
            dpid = 0xD3
            bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{of_port}")
            client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
            server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
            sfs = {name: lab.host(bridge, f"10.99.0.{i + 1}/24") for i, name in enumerate(("firewall", "counter", "forwarder"))}
            _step(f"bridge {bridge} (dpid {dpid:#x}): client {client.ip}, server {server.ip}, SFs {', '.join(sfs)}")
            report = workdir / "counter.json"
            lab.sf(sfs["firewall"], "firewall", "--drop", f"proto=tcp,dst_port={BLOCKED_PORT}")
            lab.sf(sfs["counter"], "counter", "--report", str(report))
            lab.sf(sfs["forwarder"], "forwarder")
            for port in (HTTP_PORT, BLOCKED_PORT, BYPASS_PORT):
                lab.track(server.popen([sys.executable, "-m", "http.server", str(port), "--bind", server.ip],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            lab.track(server.popen([sys.executable, "-c", _UDP_SINK.format(ip=server.ip, port=UDP_PORT)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            document = _document(dpid, client.port, {n: h.port for n, h in sfs.items()})
            doc_file = workdir / "chain.yaml"
            doc_file.write_text(yaml.safe_dump(document, sort_keys=False))
            _wait_for_ports(grpc_address, doc_file)
            _step("nfv sfc show")
            subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller", grpc_address, "show"], check=False)
            outcome = _traffic(client, server, args.requests)
            time.sleep(1.0)
            _report(outcome, report)
            if args.keep:
                input("press Enter to tear everything down ")
        finally:
            if controller is not None:
                stop_process(controller)
            _step("torn down: controller stopped, namespaces, ports, bridge and OVS removed")
    return 0


def _document(dpid: int, client_port: str, sf_ports: dict[str, str]) -> dict:
    return {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [{"name": n, "instances": [{"switch": "sff1", "port": p}]} for n, p in sf_ports.items()],
        "service_function_paths": [
            {"name": "web", "spi": 100, "hops": ["firewall", "counter", "forwarder"], "classifiers": [
                {"name": "http", "in_port": client_port, "match": {"ip_proto": 6, "tcp_dst": HTTP_PORT}},
                {"name": "telnet-ish", "in_port": client_port, "match": {"tcp_dst": BLOCKED_PORT}}]},
            {"name": "dns", "spi": 200, "hops": ["forwarder", "counter"], "classifiers": [
                {"name": "udp-5353", "in_port": client_port, "match": {"udp_dst": UDP_PORT}}]},
        ],
    }


def _wait_for_ports(grpc_address: str, doc_file: Path, timeout: float = 20.0) -> None:
    """Apply the document; the switch may still be connecting, so retry until it is there."""
    deadline = time.monotonic() + timeout
    while True:
        res = subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller", grpc_address,
                              "apply", str(doc_file)], capture_output=True, text=True)
        if res.returncode == 0:
            _step(f"nfv sfc apply {doc_file.name}: {res.stdout.strip()}")
            return
        if time.monotonic() > deadline:
            raise CliError(f"applying the demo chain failed: {res.stderr.strip()}")
        time.sleep(0.3)


_UDP_SINK = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('{ip}',{port}))\n"
             "while True: s.recvfrom(4096)")
_HTTP_GET = ("import urllib.request,sys\nok=0\nfor _ in range({n}):\n"
             "    try: ok+=urllib.request.urlopen('{url}',timeout=2).status==200\n"
             "    except Exception: pass\nprint(ok)")
_UDP_SEND = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
             "for i in range({n}): s.sendto(b'query %d' % i, ('{ip}',{port}))")


def _traffic(client, server, requests: int) -> list[list[str]]:
    _step(f"traffic from {client.ip}: HTTP :{HTTP_PORT} (chained), :{BLOCKED_PORT} (chained, firewall drops), "
          f":{BYPASS_PORT} (not classified), UDP :{UDP_PORT} (chained)")
    rows = []
    for port, count, expect in ((HTTP_PORT, requests, "all"), (BLOCKED_PORT, 2, "none"), (BYPASS_PORT, 3, "all")):
        res = client.exec([sys.executable, "-c", _HTTP_GET.format(n=count, url=f"http://{server.ip}:{port}/")],
                          check=False, timeout=60)
        ok = int((res.stdout or "0").strip() or 0)
        rows.append([f"HTTP to :{port}", f"{ok}/{count} answered", "yes" if (ok == count) == (expect == "all") else "NO"])
    client.exec([sys.executable, "-c", _UDP_SEND.format(n=10, ip=server.ip, port=UDP_PORT)], check=False)
    return rows


def _report(outcome: list[list[str]], report: Path) -> None:
    print_table("What the client saw", ["traffic", "result", "as expected"], outcome)
    data = json.loads(report.read_text()) if report.exists() else {"flows": []}
    rows = [[str(f["spi"]), str(f["si"]), str(f.get("proto", "")), f"{f.get('src', '')}:{f.get('src_port', '')}",
             f"{f.get('dst', '')}:{f.get('dst_port', '')}", str(f["packets"])] for f in data.get("flows", [])]
    print_table("What the counter SF saw (NSH SPI/SI and the inner 5-tuple)",
                ["SPI", "SI", "proto", "source", "destination", "packets"], rows)
    print("SPI 100 reaches the counter at SI 254 (after the firewall); SPI 200 at SI 254 (after the forwarder).")
