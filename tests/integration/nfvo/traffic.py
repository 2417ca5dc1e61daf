"""Measurable traffic between VNF namespaces, for proofs that a change did (not) interrupt a chain.

``UdpStream``: numbered datagrams at a fixed, modest rate from one namespace to another; the
receiver records every sequence number, so loss is exact and located (which numbers, hence
roughly when). Sender and receiver are separate processes (stdlib only) so the test process's
own load (controller, NFVO, gRPC) cannot make them miss packets.

Also: parsing ``ovs-ofctl dump-flows`` (to show flows were not re-installed) and reading the
counter SF's JSON reports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dataplane import netns
from tests.integration.nfvo.nfvcli import wait_for

SENDER = r"""
import signal, socket, sys, time
dst, port, rate, sports = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
socks = []
for _ in range(sports):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 0))
    socks.append(s)
pad = bytes(56)
seq = errors = 0
period = 1.0 / rate
start = time.monotonic()
while not stop:
    try:
        socks[seq % sports].sendto(seq.to_bytes(8, "big") + pad, (dst, port))
    except OSError:
        errors += 1
    seq += 1
    delay = start + seq * period - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    elif delay < -0.05:  # descheduled: resume the pace, do not burst to catch up
        start = time.monotonic() - seq * period
print(seq, errors, flush=True)
"""

RECEIVER = r"""
import json, os, signal, socket, sys, time
bind, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((bind, port))
s.settimeout(0.1)
seen = set()
last = 0.0

def write(final):
    doc = {"count": len(seen), "max": max(seen, default=-1)}
    if final:
        doc["seqs"] = sorted(seen)
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(out + ".tmp", out)

print("ready", flush=True)
while not stop:
    try:
        data = s.recv(2048)
        seen.add(int.from_bytes(data[:8], "big"))
    except (TimeoutError, socket.timeout):
        pass
    if time.monotonic() - last > 0.1:
        write(False)
        last = time.monotonic()
write(True)
"""


@dataclass(frozen=True)
class StreamResult:
    sent: int          # datagrams sent in the measured window
    received: int      # of those, how many arrived
    missing: tuple[tuple[int, int], ...]  # lost sequence ranges (inclusive)
    rate: float
    send_errors: int

    @property
    def lost(self) -> int:
        return self.sent - self.received

    def describe(self) -> str:
        spans = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.missing[:10])
        return (f"{self.lost} of {self.sent} datagrams lost at {self.rate:g}/s "
                f"(~{self.lost / self.rate:.2f} s){': ' + spans if spans else ''}")


class UdpStream:
    """Numbered UDP datagrams ``src_ns`` -> ``dst_ip:port`` (received in ``dst_ns``).

    ``sports`` source ports in turn, so a load-balanced hop sees several flows. Use as a
    context manager (both processes are always stopped); ``mark()`` starts the measured window
    (after warm-up: the first datagrams wait for ARP), ``stop()`` ends it and counts.
    """

    def __init__(self, src_ns: str, dst_ns: str, dst_ip: str, port: int, workdir: Path, *,
                 rate: float = 250.0, sports: int = 1):
        self.src_ns, self.dst_ns, self.dst_ip, self.port = src_ns, dst_ns, dst_ip, port
        self.rate, self.sports = rate, sports
        self.out = workdir / f"udp-{port}.json"
        self._sender: subprocess.Popen[str] | None = None
        self._receiver: subprocess.Popen[str] | None = None
        self._mark = 0

    def __enter__(self) -> "UdpStream":
        try:
            self._receiver = netns.run_in_netns(self.dst_ns, [sys.executable, "-c", RECEIVER, self.dst_ip,
                                                              str(self.port), str(self.out)],
                                                stdout=subprocess.PIPE, text=True)
            assert self._receiver.stdout is not None
            assert self._receiver.stdout.readline().strip() == "ready", "the UDP receiver did not start"
            self._sender = netns.run_in_netns(self.src_ns, [sys.executable, "-c", SENDER, self.dst_ip,
                                                            str(self.port), str(self.rate), str(self.sports)],
                                              stdout=subprocess.PIPE, text=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in (self._sender, self._receiver):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.communicate(timeout=5)

    def progress(self) -> tuple[int, int]:
        """(datagrams received so far, highest sequence number seen)."""
        try:
            doc = json.loads(self.out.read_text())
        except (OSError, ValueError):
            return 0, -1
        return int(doc["count"]), int(doc["max"])

    def wait_flowing(self, timeout: float = 10.0, more_than: int = 0) -> int:
        """Until datagrams arrive (beyond sequence ``more_than``); returns the highest seen."""
        top = wait_for(lambda: (m := self.progress()[1]) > more_than and m,
                       f"datagrams to {self.dst_ip}:{self.port} beyond #{more_than}", timeout)
        return int(top)

    def mark(self, timeout: float = 10.0) -> int:
        """Start the measured window at the newest datagram that arrived."""
        self._mark = self.wait_flowing(timeout)
        return self._mark

    def stop(self, drain: float = 3.0) -> StreamResult:
        assert self._sender is not None and self._receiver is not None
        self._sender.terminate()
        out, _ = self._sender.communicate(timeout=10)
        total, errors = (int(x) for x in out.split())
        deadline = time.monotonic() + drain  # let what is in flight arrive
        while self.progress()[1] < total - 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        self._receiver.terminate()
        self._receiver.communicate(timeout=10)
        seqs = [s for s in json.loads(self.out.read_text())["seqs"] if self._mark <= s < total]
        missing, expect = [], self._mark
        for s in seqs:
            if s > expect:
                missing.append((expect, s - 1))
            expect = s + 1
        if expect < total:
            missing.append((expect, total - 1))
        return StreamResult(total - self._mark, len(seqs), tuple(missing), self.rate, errors)


def stream_to_server(stack, port: int, workdir: Path, *, rate: float = 250.0, sports: int = 1) -> UdpStream:
    """A stream from the ``client`` host VNF to the ``server`` host VNF's data address."""
    client, server = stack.vnfm.get("client"), stack.vnfm.get("server")
    return UdpStream(client.vdus[0].namespace, server.vdus[0].namespace, server.cp("CP2").ip.split("/")[0],
                     port, workdir, rate=rate, sports=sports)


# ------------------------------------------------------------------------------- flow tables
@dataclass(frozen=True)
class FlowStat:
    cookie: int
    table: int
    rule: str       # priority + match: the flow's OpenFlow identity
    actions: str
    duration: float
    packets: int


_FIELD = re.compile(r"(\w+)=([^,\s]+)")


def dump_flows(ovs, bridge: str) -> dict[tuple[int, str], FlowStat]:
    """``ovs-ofctl dump-flows`` keyed by (table, priority+match)."""
    out: dict[tuple[int, str], FlowStat] = {}
    for line in ovs.ofctl("dump-flows", bridge).splitlines():
        line = line.strip()
        if not line.startswith("cookie="):
            continue
        head, _, actions = line.partition(" actions=")
        stats, _, rule = head.rpartition(", ")  # the match follows the last ", " of the stats
        fields = dict(_FIELD.findall(stats))
        rule = rule.strip()
        if " " in rule:  # e.g. "..., idle_age=3, priority=100,in_port=2"
            rule = rule.rsplit(" ", 1)[-1]
        flow = FlowStat(int(fields["cookie"], 16), int(fields.get("table", 0)), rule, actions,
                        float(fields["duration"].rstrip("s")), int(fields["n_packets"]))
        out[(flow.table, flow.rule)] = flow
    return out


def reinstalled(before: dict[tuple[int, str], FlowStat], after: dict[tuple[int, str], FlowStat],
                elapsed: float, slack: float = 0.5) -> list[str]:
    """Flows of ``before`` that are gone, changed, or younger than they should be (re-added)."""
    problems = []
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            problems.append(f"gone: table={key[0]} {key[1]}")
        elif (new.cookie, new.actions) != (old.cookie, old.actions):
            problems.append(f"changed: table={key[0]} {key[1]}: {old.actions} -> {new.actions}")
        elif new.duration < old.duration + elapsed - slack or new.packets < old.packets:
            problems.append(f"re-installed: table={key[0]} {key[1]}: duration {old.duration}s -> "
                            f"{new.duration}s over {elapsed:.1f}s, packets {old.packets} -> {new.packets}")
    return problems


def spi_flows(flows: dict[tuple[int, str], FlowStat], spi: int) -> dict[tuple[int, str], FlowStat]:
    """The flows a path owns (its SPI is in the cookie's low 24 bits)."""
    return {k: f for k, f in flows.items() if f.cookie >> 52 == 0x5FC and f.cookie & 0xFFFFFF == spi}


# ------------------------------------------------------------------------------- counter SF
def counter_packets(report: Path) -> dict[tuple[int, int], int]:
    """(SPI, SI) -> packets from a counter SF's report (empty if it has none yet)."""
    try:
        flows = json.loads(report.read_text()).get("flows", [])
    except (OSError, ValueError):
        return {}
    seen: dict[tuple[int, int], int] = {}
    for entry in flows:
        key = (int(entry["spi"]), int(entry["si"]))
        seen[key] = seen.get(key, 0) + int(entry["packets"])
    return seen
