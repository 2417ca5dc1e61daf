"""Load balancing keeps connections: scaling a hop out or in moves only the connections it must.

64 long-lived TCP connections cross a symmetric chain through a scalable counter VNF (it keeps
per-connection counts, one report per instance). From the reports, each connection's carrier in
a window is the instance whose count of it grew. Proof: scaled out from 2 to 3 instances, no
connection moves between the two that stay and the new one gets about a third; scaled back in,
only the leaving instance's connections move; both directions of each connection always cross
the same instance; no connection breaks and no segment is retransmitted into a void (the
client's sends never fail).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, ok, onboard_hosts, wait_for
from tests.integration.nfvo.test_rerender import generation, report

pytestmark = pytest.mark.integration

PORT = 5201
CONNECTIONS = 64
PERIOD = 0.1  # s between writes on each connection

SERVER = r"""
import selectors, signal, socket, sys
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
listener = socket.create_server((sys.argv[1], int(sys.argv[2])), backlog=256)
listener.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ)
print("ready", flush=True)
closed = 0
while not stop:
    for key, _ in sel.select(0.2):
        if key.fileobj is listener:
            conn, _ = listener.accept()
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
            continue
        try:
            data = key.fileobj.recv(65536)
        except OSError:
            data = b""
        if data:
            key.fileobj.send(data[:8])  # a short answer: the reverse path carries data too
        else:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            closed += 1
print(closed, flush=True)
"""

CLIENTS = r"""
import json, signal, socket, sys, time
dst, port, n, period = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
socks = [socket.create_connection((dst, port), timeout=10) for _ in range(n)]
print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
errors = 0
while not stop:
    for s in socks:
        try:
            s.sendall(b"x" * 64)
            s.recv(64)
        except OSError:
            errors += 1
    time.sleep(period)
print(errors, flush=True)
"""


class Connections:
    """CONNECTIONS TCP connections client -> server, each writing and reading every PERIOD."""

    def __init__(self, stack):
        client, server = stack.vnfm.get("client"), stack.vnfm.get("server")
        self.ip = server.cp("CP2").ip.split("/")[0]
        self.client_ns, self.server_ns = client.vdus[0].namespace, server.vdus[0].namespace
        self.server: subprocess.Popen[str] | None = None
        self.clients: subprocess.Popen[str] | None = None
        self.sports: list[int] = []

    def __enter__(self) -> "Connections":
        try:
            self.server = netns.run_in_netns(self.server_ns, [sys.executable, "-c", SERVER, self.ip, str(PORT)],
                                             stdout=subprocess.PIPE, text=True)
            assert self.server.stdout is not None and self.server.stdout.readline().strip() == "ready"
            self.clients = netns.run_in_netns(self.client_ns, [sys.executable, "-c", CLIENTS, self.ip, str(PORT),
                                                               str(CONNECTIONS), str(PERIOD)],
                                              stdout=subprocess.PIPE, text=True)
            assert self.clients.stdout is not None
            line = self.clients.stdout.readline()
            assert line, "the TCP clients could not connect through the chain"
            self.sports = json.loads(line)
        except BaseException:
            self.__exit__()
            raise
        return self

    def stop(self) -> int:
        """Stop the clients; the number of failed writes/reads (a broken connection fails them)."""
        assert self.clients is not None and self.clients.stdout is not None
        self.clients.terminate()
        out, _ = self.clients.communicate(timeout=10)
        return int(out.split()[-1])

    def __exit__(self, *exc: object) -> None:
        for proc in (self.clients, self.server):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.communicate(timeout=5)


def per_connection(stack, instances: list[int], spis: tuple[int, int]) -> dict[tuple[int, int, int], int]:
    """(instance, direction 0/1, client port) -> packets counted, from every instance's report."""
    counts: dict[tuple[int, int, int], int] = {}
    for instance in instances:
        try:
            flows = json.loads(report(stack, "cnt", instance).read_text()).get("flows", [])
        except (OSError, ValueError):
            continue
        for f in flows:
            if f.get("proto") not in ("tcp", 6) or f.get("si") != 255 or f["spi"] not in spis:
                continue
            way = spis.index(f["spi"])
            sport = f["src_port"] if way == 0 else f["dst_port"]
            counts[(instance, way, sport)] = counts.get((instance, way, sport), 0) + int(f["packets"])
    return counts


def carriers(stack, conns: Connections, instances: list[int], spis: tuple[int, int], window: float = 2.5
             ) -> dict[int, int]:
    """Client port -> the instance that carried it (both directions) during the next ``window``."""
    time.sleep(1.2)  # a report written before now may still hold counts from before
    before = per_connection(stack, instances, spis)
    time.sleep(window)
    after = per_connection(stack, instances, spis)
    out: dict[int, int] = {}
    for sport in conns.sports:
        for way in (0, 1):
            grew = {i for i in instances if after.get((i, way, sport), 0) > before.get((i, way, sport), 0)}
            assert len(grew) == 1, f"connection :{sport} direction {way} crossed instances {sorted(grew)} in one window"
            (carrier,) = grew
            assert out.setdefault(sport, carrier) == carrier, f"connection :{sport}: its two directions " \
                "crossed different instances"
    return out


def scale(capsys, stack, direction: str, instances: int) -> None:
    before = generation(ok(capsys, "nfv vnffg-show A -f json"))
    ok(capsys, f"nfv vnf scale --scaling-policy-name SP1 --scaling-type {direction} cnt")
    wait_for(lambda: (c := ok(capsys, "nfv vnffg-show A -f json"))["status"] == "ACTIVE" and generation(c) > before,
             f"chain A re-rendered after scaling {direction}")
    assert len(stack.vnfm.get("cnt").vdus) == instances


def test_scaling_moves_only_the_connections_it_must(nfvo_stack, capsys):
    stack = nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter-scalable.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnffg-create --name A --chain cnt --symmetrical")
    ok(capsys, f"nfv vnffg-classifier-create --name a-tcp --chain A --match tcp_dst={PORT},ip_proto=6")
    chain = ok(capsys, "nfv vnffg-show A -f json")
    assert chain["status"] == "ACTIVE", chain
    (path,) = chain["paths"]
    spis = (int(path["spi"]), int(path["reverse_spi"]))
    scale(capsys, stack, "out", 2)
    with Connections(stack) as conns:
        two = carriers(stack, conns, [0, 1], spis)
        scale(capsys, stack, "out", 3)
        three = carriers(stack, conns, [0, 1, 2], spis)
        between = sum(1 for p in conns.sports if three[p] != two[p] and three[p] != 2)
        stayed = sum(1 for p in conns.sports if three[p] == two[p])
        to_new = sum(1 for p in conns.sports if three[p] == 2)
        scale(capsys, stack, "in", 2)
        back = carriers(stack, conns, [0, 1], spis)
        kept = sum(1 for p in conns.sports if three[p] != 2 and back[p] == three[p])
        moved_staying = sum(1 for p in conns.sports if three[p] != 2 and back[p] != three[p])
        errors = conns.stop()
    print(f"\n{CONNECTIONS} TCP connections over 2 instances {dict(sorted(Counter(two.values()).items()))}; "
          f"scaled out to 3: {stayed} stayed, {between} moved between staying instances, {to_new} moved to the "
          f"new one {dict(sorted(Counter(three.values()).items()))}; scaled in: {kept} of {CONNECTIONS - to_new} on "
          f"staying instances kept, {moved_staying} moved, {to_new} from the leaving one spread "
          f"{dict(sorted(Counter(back[p] for p in conns.sports if three[p] == 2).items()))}; "
          f"{errors} failed writes/reads")
    assert between == 0 and moved_staying == 0
    assert CONNECTIONS // 8 <= to_new <= CONNECTIONS * 5 // 8, three  # ~a third (10 or 11 of 32 slots)
    assert set(two.values()) == {0, 1} and set(back.values()) <= {0, 1}
    assert errors == 0
