"""NFVO speed: vnffg-create → ACTIVE on a stack holding 1,000 chains, and API read throughput.

    .venv/bin/python bench/bench_nfvo.py [--chains 1000] [--rounds 50] [--clients 8] [--seconds 5]

Stack (one process, like the all-in-one's NFVO): VnfManager on the fake VIM, the real SDN
controller core behind its own gRPC API on an in-memory switch (so the figure is orchestration
cost, not OVS's), the NFVO behind its gRPC API. Create: ``CreateVnffg`` (3 hops) +
``CreateClassifier`` through the API, each returning only once the controller acknowledged;
baseline: the controller alone applying the same path with one ``UpsertPaths``. Reads: 8 client
processes alternating ``GetVnffg`` (show) and ``ListVnfs`` (list). Goals (issue 5): median create
under 100 ms; at least 2,000 reads/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SAMPLES = Path(__file__).resolve().parents[1] / "descriptors" / "samples"


def build_stack(tmp: Path):
    from nfvo.api.server import serve as serve_nfvo
    from nfvo.sdnclient import GrpcSdn
    from nfvo.service import NfvoService
    from nfvo.sqlstore import SqlStore
    from sdn.api.server import serve as serve_sdn
    from sdn.controller import SfcController
    from tests.unit.nfvo.conftest import BRIDGE, DPID, VimSwitch
    from vnfm.manager import VnfManager
    from vnfm.sqlstore import VnfSqlStore
    from vnfm.vim.fake import FakeVim

    vim = FakeVim(prefix="bn", bridge=BRIDGE)
    driver = VimSwitch(vim)
    driver.connect(DPID, {})
    controller = SfcController(driver)
    sdn_server, sdn_port = serve_sdn(controller, "127.0.0.1:0")
    vnfm = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp / 'vnfm.db'}", "bn"), prefix="bn", monitor=False)
    service = NfvoService(SqlStore(f"sqlite:///{tmp / 'nfvo.db'}"), vnfm, GrpcSdn(f"127.0.0.1:{sdn_port}"))
    service.catalog.register_vim("local", bridge=BRIDGE, dpid=DPID, ingress_port="client", egress_port="server")
    for name, file in (("host", "host.yaml"), ("fw", "nsh-firewall.yaml"), ("counter", "nsh-counter.yaml")):
        service.catalog.create_descriptor("VNFD", name, (SAMPLES / file).read_text())
    for name, vnfd in (("client", "host"), ("server", "host"), ("fw1", "fw"), ("cnt1", "counter"), ("fw2", "fw")):
        service.create_vnf(name, vnfd)
    server, port = serve_nfvo(service, "127.0.0.1:0", max_workers=16)
    return service, controller, f"127.0.0.1:{port}", f"127.0.0.1:{sdn_port}", (server, sdn_server, vnfm)


def bench_create(address: str, sdn_address: str, chains: int, rounds: int) -> tuple[float, float]:
    from nfvo.api.server import connect
    from nfvo.api.v1 import nfvo_pb2 as pb
    from sdn.api.server import connect as connect_sdn
    from sdn.api.v1 import sfc_pb2

    stub = connect(address)
    for i in range(chains):
        stub.CreateVnffg(pb.CreateVnffgRequest(name=f"c{i}", chain="fw1,cnt1,fw2"))
        stub.CreateClassifier(pb.CreateClassifierRequest(name=f"k{i}", chain=f"c{i}", match=f"tcp_dst={1024 + i}"))
    times = []
    for r in range(rounds):
        start = time.perf_counter()
        stub.CreateVnffg(pb.CreateVnffgRequest(name=f"b{r}", chain="fw1,cnt1,fw2"))
        reply = stub.CreateClassifier(pb.CreateClassifierRequest(name=f"bk{r}", chain=f"b{r}",
                                                                 match=f"tcp_dst={30000 + r}"))
        times.append(time.perf_counter() - start)
        assert reply.status == "ACTIVE"
    sdn = connect_sdn(sdn_address)
    client_port = sdn.GetState(sfc_pb2.GetStateRequest()).document.service_function_paths[0].classifiers[0].in_port
    base = []
    for r in range(rounds):
        path = sfc_pb2.ServicePath(name=f"base{r}", spi=900000 + r, hops=["fw1:CP2", "cnt1:CP2", "fw2:CP2"],
                                   classifiers=[sfc_pb2.Classifier(name=f"base{r}", in_port=client_port,
                                                                   match=sfc_pb2.Match(dst_port=sfc_pb2.PortRange(
                                                                       low=40000 + r, high=40000 + r)))])
        start = time.perf_counter()
        sdn.UpsertPaths(sfc_pb2.UpsertPathsRequest(paths=[path]))
        base.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, statistics.median(base) * 1000


def _reader(address: str, names: list[str], seconds: float, out) -> None:
    from nfvo.api.server import connect
    from nfvo.api.v1 import nfvo_pb2 as pb

    stub = connect(address)
    stub.ListVnfs(pb.ListRequest())
    count, i, deadline = 0, 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if i % 2:
            stub.ListVnfs(pb.ListRequest())
        else:
            stub.GetVnffg(pb.GetRequest(name=names[i % len(names)]))
        i += 1
        count += 1
    out.put(count)


def bench_reads(address: str, names: list[str], clients: int, seconds: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reader, args=(address, names, seconds, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    import logging
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-nfvo-") as tmp:
        service, controller, address, sdn_address, keep = build_stack(Path(tmp))
        started = time.perf_counter()
        create_ms, base_ms = bench_create(address, sdn_address, args.chains, args.rounds)
        setup = time.perf_counter() - started
        print(f"vnffg-create (3 hops) + classifier → ACTIVE, {args.chains} chains present: median {create_ms:.1f} ms "
              f"over {args.rounds}; controller alone (UpsertPaths of the same path): {base_ms:.1f} ms; "
              f"ratio {create_ms / base_ms:.2f}x  (goal < 100 ms)  [{setup:.0f} s incl. set-up]")
        names = [f"c{i}" for i in range(min(args.chains, 200))] or ["b0"]
        rate = bench_reads(address, names, args.clients, args.seconds)
        print(f"API reads (GetVnffg / ListVnfs alternating), {args.clients} client processes: {rate:,.0f} req/s "
              f"on {os.cpu_count()} CPUs  (goal >= 2,000)")
        keep[0].stop(None)
        keep[1].stop(None)
        keep[2].close()
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
