"""The chain demo of ``nfv up --demo``, driven only through the NFVO API (as a user would).

Part 1 is Tacker's own VNFFG scenario: Tacker's sample VNFDs unmodified (cirros VMs whose
user_data makes them IP forwarders, i.e. NSH-unaware routers), ``mychain`` through VNF2 then
VNF1 for TCP/80, then a client and a server on net0; real traffic, and each VNF's own forwarding
counter as proof. Part 2 is an NSH-aware chain (firewall and counter reference SFs) and what the
counter saw per SPI/SI.

On a stack of several compute hosts every VNF is placed by the scheduler (Nova's spreading by
free RAM), so part 1's two NSH-unaware routers usually land on different hosts: each is proxied
by its own host's SFF, NSH crosses between them in VXLAN-GPE; each VNF's host is shown.

``_pinned`` rewrites a VNFD's ``availability_zone`` (Tacker's samples say ``nova``) for a run
that wants a fixed layout."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nfvo.cli.errors import CliError
from nfvo.cli.output import print_table
from vnfm.vim.local import server_files

SAMPLES = Path(__file__).resolve().parents[2] / "descriptors" / "samples"
TACKER = SAMPLES / "tacker"
HTTP_PORT, BYPASS_PORT = 8080, 9090
TACKER_HTTP, TACKER_OTHER = 80, 2222
_GET = ("import urllib.request\nok=0\nfor _ in range({n}):\n    try: ok+=urllib.request.urlopen("
        "'http://{ip}:{port}/',timeout=3).status==200\n    except Exception: pass\nprint(ok)")
_WGET = "ok=0; for i in $(seq {n}); do timeout 5 wget -q -O /dev/null http://{ip}:{port}/ && ok=$((ok+1)); done; echo $ok"
_NC = "ok=0; for i in $(seq {n}); do echo x | nc -w 3 {ip} {port} | grep -q from && ok=$((ok+1)); done; echo $ok"


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


def run_demo(state: dict, requests: int = 20) -> int:
    import grpc

    from nfvo.api.server import connect

    stub = connect(state["nfvo"])
    try:
        _tacker_scenario(stub, requests, None)
        _nsh_chain(stub, state, requests)
    except grpc.RpcError as exc:
        raise CliError(f"demo failed: {exc.details()} ({exc.code().name})") from None
    return 0


def _onboard(stub, names_files) -> None:
    from nfvo.api.v1 import nfvo_pb2 as pb

    vnfds = {d.name for d in stub.ListDescriptors(pb.ListRequest(kind="VNFD")).descriptors}
    for name, text in names_files:
        if name not in vnfds:
            stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name=name, template=text))


def _pinned(text: str, zone: str | None) -> str:
    """``text`` with its VDUs in availability zone ``zone`` (None: as written)."""
    if zone is None:
        return text
    if "availability_zone:" in text:
        return "\n".join(line.split("availability_zone:")[0] + f"availability_zone: {zone}"
                         if line.strip().startswith("availability_zone:") else line for line in text.splitlines())
    return "\n".join(line + f"\n{line.split('image:')[0]}availability_zone: {zone}"
                     if line.strip().startswith("image:") else line for line in text.splitlines())


def _vnfs(stub, wanted) -> None:
    from nfvo.api.v1 import nfvo_pb2 as pb

    have = {v.name for v in stub.ListVnfs(pb.ListRequest()).vnfs}
    for name, vnfd in wanted:
        if name not in have:
            vnf = stub.CreateVnf(pb.CreateVnfRequest(name=name, vnfd_name=vnfd), timeout=120)
            cps = ", ".join(f"{c.name} {c.ip or '-'}" for d in vnf.vdus for c in d.cps)
            where = ", ".join(sorted({d.host for d in vnf.vdus if d.host}))
            _step(f"VNF {name} ({vnfd}) {vnf.status}{f' on {where}' if where else ''}: {cps}")


def _exec(stub, vnf: str, script: str) -> str:
    from nfvo.api.v1 import nfvo_pb2 as pb

    reply = stub.ExecVnf(pb.ExecVnfRequest(name=vnf, argv=["sh", "-c", script], timeout=120), timeout=150)
    return reply.stdout.strip()


def _forwarded(stub, vnf: str) -> int:
    """The VNF's own IP ForwDatagrams counter (/proc/net/snmp inside it)."""
    lines = [line.split() for line in _exec(stub, vnf, "cat /proc/net/snmp").splitlines() if line.startswith("Ip:")]
    return int(dict(zip(lines[0], lines[1], strict=False)).get("ForwDatagrams", 0)) if len(lines) >= 2 else 0


def _tacker_scenario(stub, requests: int, zone: str | None) -> None:
    from nfvo.api.v1 import nfvo_pb2 as pb

    _step("part 1: Tacker's VNFFG guide, Tacker's sample VNFDs unmodified" if zone is None else
          f"part 1: Tacker's VNFFG guide, Tacker's sample VNFDs pinned to {zone}")
    _onboard(stub, (("VNFD1", _pinned((TACKER / "tosca-vnffg-vnfd1.yaml").read_text(), zone)),
                    ("VNFD2", _pinned((TACKER / "tosca-vnffg-vnfd2.yaml").read_text(), zone)),
                    ("HOST", _pinned((SAMPLES / "cirros-host.yaml").read_text(), zone))))
    _vnfs(stub, (("VNF1", "VNFD1"), ("VNF2", "VNFD2")))
    if "mychain" not in {c.name for c in stub.ListVnffgs(pb.ListRequest()).vnffgs}:
        stub.CreateVnffg(pb.CreateVnffgRequest(name="mychain", chain="VNF2,VNF1", symmetrical=True), timeout=60)
        stub.CreateClassifier(pb.CreateClassifierRequest(name="myclass", chain="mychain",
                                                         match="tcp_dest=80,ip_proto=6"), timeout=60)
    chain = stub.GetVnffg(pb.GetRequest(name="mychain"))
    _step(f"VNFFG mychain {chain.status}: {' → '.join(chain.paths[0].hops)} (SPI {chain.paths[0].spi}), "
          f"classifier myclass: tcp_dest=80,ip_proto=6 from any port that is not a hop")
    _vnfs(stub, (("client", "HOST"), ("server", "HOST")))
    server = stub.GetVnf(pb.GetRequest(name="server"))
    ip = next(c.ip for d in server.vdus for c in d.cps if c.vl == "net0").split("/")[0]
    before = {v: _forwarded(stub, v) for v in ("VNF1", "VNF2")}
    rows = []
    for port, script, why in ((TACKER_HTTP, _WGET, "classified: through VNF2 → VNF1, replies VNF1 → VNF2"),
                              (TACKER_OTHER, _NC, "not classified: straight to the server")):
        answered = _exec(stub, "client", script.format(n=requests, ip=ip, port=port)) or "0"
        after = {v: _forwarded(stub, v) for v in ("VNF1", "VNF2")}
        rows.append([f"TCP/{port} x{requests}", f"{answered}/{requests}",
                     str(after["VNF2"] - before["VNF2"]), str(after["VNF1"] - before["VNF1"]), why])
        before = after
    print_table("client → server on net0", ["traffic", "answered", "VNF2 forwarded", "VNF1 forwarded", "why"], rows)


def _nsh_chain(stub, state: dict, requests: int) -> None:
    from nfvo.api.v1 import nfvo_pb2 as pb

    _step("part 2: an NSH-aware chain of reference SFs (firewall, counter)")
    web = (SAMPLES / "host.yaml").read_text().replace("image: host", "image: http-server")
    _onboard(stub, (("host", (SAMPLES / "host.yaml").read_text()), ("web-server", web),
                    ("firewall", (SAMPLES / "nsh-firewall.yaml").read_text()),
                    ("counter", (SAMPLES / "nsh-counter.yaml").read_text())))
    _vnfs(stub, (("web-client", "host"), ("web", "web-server"), ("fw", "firewall"), ("cnt", "counter")))
    if "demo" not in {c.name for c in stub.ListVnffgs(pb.ListRequest()).vnffgs}:
        stub.CreateVnffg(pb.CreateVnffgRequest(name="demo", chain="fw,cnt", symmetrical=True), timeout=60)
        stub.CreateClassifier(pb.CreateClassifierRequest(name="http", chain="demo",
                                                         match=f"tcp_dst={HTTP_PORT},ip_proto=6"), timeout=60)
    chain = stub.GetVnffg(pb.GetRequest(name="demo"))
    path = chain.paths[0]
    _step(f"VNFFG demo {chain.status}: SPI {path.spi} {' → '.join(path.hops)}, reverse SPI {path.reverse_spi}; "
          f"classifier http (tcp_dst={HTTP_PORT})")
    web_ip = stub.GetVnf(pb.GetRequest(name="web")).vdus[0].cps[-1].ip.split("/")[0]
    time.sleep(1.0)  # the web server VNF binds its port
    rows = []
    for port, expect in ((HTTP_PORT, "chained through fw → cnt, replies back through cnt → fw"),
                         (BYPASS_PORT, "not classified: no server there, refused directly")):
        reply = stub.ExecVnf(pb.ExecVnfRequest(name="web-client", argv=[
            sys.executable, "-c", _GET.format(n=requests, ip=web_ip, port=port)]), timeout=120)
        rows.append([f"HTTP GET :{port} x{requests}", f"{(reply.stdout.strip() or '0')}/{requests} answered", expect])
    print_table("What web-client saw", ["traffic", "result", "why"], rows)
    time.sleep(1.5)
    reports = server_files(Path(state["ovs_run_dir"]).parent / "vim", "counter.json")
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
