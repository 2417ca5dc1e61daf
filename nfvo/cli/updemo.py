"""The chain demo of ``nfv up --demo``, driven only through the NFVO API (as a user would):
client and server hosts, firewall and counter VNFs, a symmetric chain for HTTP, real traffic,
and what the counter VNF saw per SPI/SI."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nfvo.cli.errors import CliError
from nfvo.cli.output import print_table

SAMPLES = Path(__file__).resolve().parents[2] / "descriptors" / "samples"
HTTP_PORT, BYPASS_PORT = 8080, 9090
_GET = ("import urllib.request\nok=0\nfor _ in range({n}):\n    try: ok+=urllib.request.urlopen("
        "'http://{ip}:{port}/',timeout=3).status==200\n    except Exception: pass\nprint(ok)")


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


def run_demo(state: dict, requests: int = 20) -> int:
    import grpc

    from nfvo.api.server import connect
    from nfvo.api.v1 import nfvo_pb2 as pb

    stub = connect(state["nfvo"])
    try:
        vnfds = {d.name for d in stub.ListDescriptors(pb.ListRequest(kind="VNFD")).descriptors}
        web = (SAMPLES / "host.yaml").read_text().replace("image: host", "image: http-server")
        for name, text in (("host", (SAMPLES / "host.yaml").read_text()), ("web-server", web),
                           ("firewall", (SAMPLES / "nsh-firewall.yaml").read_text()),
                           ("counter", (SAMPLES / "nsh-counter.yaml").read_text())):
            if name not in vnfds:
                stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name=name, template=text))
        _step("onboarded VNFDs: host, web-server, firewall, counter")
        vnfs = {v.name for v in stub.ListVnfs(pb.ListRequest()).vnfs}
        for name, vnfd in (("client", "host"), ("server", "web-server"), ("fw", "firewall"), ("cnt", "counter")):
            if name not in vnfs:
                vnf = stub.CreateVnf(pb.CreateVnfRequest(name=name, vnfd_name=vnfd), timeout=120)
                cps = ", ".join(f"{c.name} {c.ip or '-'}" for d in vnf.vdus for c in d.cps)
                _step(f"VNF {name} ({vnfd}) ACTIVE: {cps}")
        if "demo" not in {c.name for c in stub.ListVnffgs(pb.ListRequest()).vnffgs}:
            stub.CreateVnffg(pb.CreateVnffgRequest(name="demo", chain="fw,cnt", symmetrical=True), timeout=60)
            stub.CreateClassifier(pb.CreateClassifierRequest(name="http", chain="demo",
                                                             match=f"tcp_dst={HTTP_PORT},ip_proto=6"), timeout=60)
        chain = stub.GetVnffg(pb.GetRequest(name="demo"))
        path = chain.paths[0]
        _step(f"VNFFG demo {chain.status}: SPI {path.spi} {' → '.join(path.hops)}, reverse SPI {path.reverse_spi}; "
              f"classifier http (tcp_dst={HTTP_PORT}) on every port that is not an SF's")
        server_ip = stub.GetVnf(pb.GetRequest(name="server")).vdus[0].cps[-1].ip.split("/")[0]
        time.sleep(1.0)  # the web server VNF binds its port
        rows = []
        for port, expect in ((HTTP_PORT, "chained through fw → cnt, replies back through cnt → fw"),
                             (BYPASS_PORT, "not classified: no server there, refused directly")):
            reply = stub.ExecVnf(pb.ExecVnfRequest(name="client", argv=[
                sys.executable, "-c", _GET.format(n=requests, ip=server_ip, port=port)]), timeout=120)
            rows.append([f"HTTP GET :{port} x{requests}", f"{(reply.stdout.strip() or '0')}/{requests} answered", expect])
        _step("traffic sent from the client VNF")
        print_table("What the client saw", ["traffic", "result", "why"], rows)
    except grpc.RpcError as exc:
        raise CliError(f"demo failed: {exc.details()} ({exc.code().name})") from None
    time.sleep(1.5)
    reports = list(Path(state["ovs_run_dir"]).parent.rglob("counter.json"))
    data = json.loads(reports[0].read_text()) if reports else {"flows": []}
    totals: dict[tuple, list[int]] = {}
    for f in data.get("flows", []):
        key = (f["spi"], f["si"], f.get("proto", ""), f.get("src_port") if f.get("src_port") in (HTTP_PORT,)
               else f.get("dst_port"))
        entry = totals.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += int(f["packets"])
    print_table("What the counter VNF saw (per NSH SPI/SI)", ["SPI", "SI", "proto", "service port", "connections",
                                                             "packets"],
                [[str(k[0]), str(k[1]), str(k[2]), str(k[3]), str(v[0]), str(v[1])] for k, v in sorted(totals.items())])
    print(f"forward SPI {path.spi} reaches the counter at SI 254 (after the firewall); the reverse SPI "
          f"{path.reverse_spi} at SI 255 (first hop). The stack keeps running: `nfv down` stops it.")
    return 0
