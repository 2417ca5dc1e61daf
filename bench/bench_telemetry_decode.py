"""IPFIX and sFlow decode rate on one core (records/s) from a capture, against ``tshark -r``
decoding the same capture in the same run.

    .venv/bin/python bench/bench_telemetry_decode.py [--messages N] [--cpu C] [--rounds R]

The capture is written by scapy (Ether/IPv4/UDP around the payloads) into a temp pcap:
  ipfix-ovs   OVS 3.1's IPv4 flow template (the 50 fields a bridge exports, as recorded from a
              real bridge in tests/integration/sdn/test_telemetry.py, four of them
              variable-length interface names/descriptions), 7 records a message
  ipfix-5t    a compact 5-tuple + counters template (softflowd-like), 30 records a message
  sflow       8 flow samples a datagram, raw headers Ethernet + NSH MD1 + Ethernet + IPv4/TCP

Both sides do the same job on the same capture, pinned to the same CPU, and are timed the same
way: CPU seconds (user + system), best of ``--rounds`` runs taken in turns, so load from other
processes falls on both alike. Ours: the UDP payloads taken out of the pcap (in memory; tshark
reads it from the page cache), ``decode`` per datagram (templates included, every record found
and its lengths checked) and then the very fields tshark prints, as values: packetDeltaCount and
sourceIPv4Address (a dotted string) of every IPFIX record (read together,
``layout.pick_each``: ``DataRecord.pick`` of each); sampling rate, SPI, source address and
port of every sFlow sample. tshark's: ``tshark -n -r FILE -T fields -e <those fields>``, its
output counted to check it decoded every record, and its start-up (the best run over a 1-packet
capture) subtracted. That is the ratio the goal is on. tshark's generic per-packet work (frame,
Ethernet, IPv4, UDP, a line out) weighs more than our fixed-offset pcap walk, so a second
ratio is printed against its dissector alone: the same run less one with the protocol disabled
(``--disable-protocol cflow|sflow``). Goal (issue 11): >= 200,000 IPFIX
records/s and >= 5x tshark on OVS's template.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scapy.all import UDP, Ether, IP, PcapWriter, raw  # noqa: E402
from scapy.contrib.nsh import NSH  # noqa: E402
from scapy.layers.inet import TCP  # noqa: E402

from sdn.telemetry import ipfix, sflow  # noqa: E402
from sdn.telemetry.layout import pick_each  # noqa: E402
from sdn.telemetry.templates import TemplateCache  # noqa: E402
from tests.unit.sdn.telemetry import sflow_encode as enc  # noqa: E402
from tests.unit.sdn.telemetry.ipfix_encode import OVS_IPV4  # noqa: E402

PRINTED = ("packetDeltaCount", "sourceIPv4Address")    # what tshark prints of an IPFIX record
FIVE_TUPLE = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8))


def _value(eid: int, length: int, i: int) -> bytes:
    if length == 0xFFFF:
        name = f"p{i % 50}".encode()
        return bytes([len(name)]) + name
    if eid == 8:
        return bytes([10, 0, i >> 8 & 0xFF, i & 0xFF])
    if eid == 12:
        return bytes([10, 1, 0, 1])
    return (i * 7 + eid).to_bytes(8, "big")[-length:]


def _template_set(tid: int, fields) -> bytes:
    body = struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", e, n) for e, n in fields)
    return struct.pack("!HH", 2, 4 + len(body)) + body


def _message(sets: bytes, seq: int, domain: int = 1) -> bytes:
    return struct.pack("!HHIII", 10, 16 + len(sets), 1_700_000_000 + seq, seq, domain) + sets


def ipfix_messages(fields, per_message: int, count: int, tid: int = 256) -> tuple[list[bytes], int]:
    """A template message, then ``count`` data messages of ``per_message`` records."""
    out = [_message(_template_set(tid, fields), 0)]
    for m in range(count):
        rows = b"".join(b"".join(_value(e, n, m * per_message + r) for e, n in fields) for r in range(per_message))
        out.append(_message(struct.pack("!HH", tid, 4 + len(rows)) + rows, m + 1))
    return out, count * per_message


def sflow_datagrams(per_datagram: int, count: int) -> tuple[list[bytes], int]:
    frames = [raw(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                  / NSH(spi=100 + i, si=255 - i % 4, mdtype=1, nextproto=3, context_header=bytes(16))
                  / Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:04")
                  / IP(src=f"10.0.{i}.1", dst="10.1.0.1") / TCP(sport=1000 + i, dport=80) / (b"x" * 200))
              for i in range(per_datagram)]
    out = [enc.datagram([enc.flow_sample([enc.raw_header(f)], seq=d * per_datagram + i) for i, f in enumerate(frames)],
                        seq=d) for d in range(count)]
    return out, count * per_datagram


def write_pcap(path: Path, payloads: list[bytes], dport: int) -> None:
    with PcapWriter(str(path), sync=False) as w:
        head = Ether(src="02:00:00:00:00:aa", dst="02:00:00:00:00:bb") / IP(src="192.0.2.1", dst="192.0.2.2")
        for p in payloads:
            w.write(head / UDP(sport=50000, dport=dport) / p)


def read_payloads(capture: bytes) -> list[bytes]:
    """UDP payloads of an Ether/IPv4/UDP pcap (what the collector's socket would hand over)."""
    off, out = 24, []
    record = struct.Struct("<8xI4x").unpack_from           # pcap record header: included length
    while off + 16 <= len(capture):
        incl = record(capture, off)[0]
        frame = off + 16
        out.append(capture[frame + 14 + (capture[frame + 14] & 0x0F) * 4 + 8:frame + incl])
        off = frame + incl
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(kind: str, capture: bytes) -> tuple[float, int]:
    """(CPU seconds, records) of taking the payloads out of the capture, decoding them and
    reading what tshark prints."""
    records = 0
    start = _cpu()
    payloads = read_payloads(capture)
    if kind == "sflow":
        for p in payloads:
            for s in sflow.decode(p).records:
                for h in s.headers:
                    flow = h.frame.flow
                    _ = s.sampling_rate, h.frame.nsh.spi, flow.src, flow.src_port
                    records += 1
    else:
        cache = TemplateCache()
        for p in payloads:
            for _values in pick_each(ipfix.decode(p, "192.0.2.1", cache, 0.0).records, PRINTED):
                records += 1
    return _cpu() - start, records


def tshark(path: Path, fields: list[str], cpu: int, *extra: str) -> tuple[float, int]:
    """(CPU seconds, values of the first field printed) of ``tshark -r`` on one CPU."""
    argv = ["taskset", "-c", str(cpu), "tshark", "-n", "-r", str(path), *extra, "-T", "fields",
            *[a for f in fields for a in ("-e", f)]]
    start = _children_cpu()
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    seconds = _children_cpu() - start
    return seconds, sum(len(line.split("\t")[0].split(",")) for line in out.splitlines() if line.split("\t")[0])


@dataclass(frozen=True)
class Timing:
    records: int
    ours: float                    # CPU seconds
    startup: float = 0.0           # tshark on a 1-packet capture
    whole: float | None = None     # tshark on the capture, start-up subtracted
    dissector: float | None = None  # and its per-packet work besides the protocol's dissector too


def measure(kind: str, capture: bytes, pcap: Path, one: Path, fields: list[str], cpu: int, rounds: int,
            with_tshark: bool) -> Timing:
    """Best of ``rounds`` of each, the sides taking turns so that load from elsewhere falls on
    both alike. tshark's per-packet work besides the dissector (pcap, frame, Ethernet, IP, UDP,
    a line out) is what it takes with the dissector disabled on the same capture."""
    best: dict[str, float] = {}
    records = 0

    def keep(key: str, seconds: float) -> None:
        best[key] = min(best.get(key, float("inf")), seconds)

    protocol = "sflow" if kind == "sflow" else "cflow"
    for _ in range(rounds):
        seconds, records = ours(kind, capture)
        keep("ours", seconds)
        if with_tshark:
            seconds, values = tshark(pcap, fields, cpu)
            assert values == records, (pcap.name, "tshark decoded", values, "of", records)
            keep("tshark", seconds)
            keep("startup", tshark(one, fields, cpu)[0])
            keep("baseline", tshark(pcap, ["udp.srcport"], cpu, "--disable-protocol", protocol)[0])
    if not with_tshark:
        return Timing(records, best["ours"])
    return Timing(records, best["ours"], best["startup"], max(best["tshark"] - best["startup"], 1e-6),
                  max(best["tshark"] - best["baseline"], 1e-6))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000, help="data messages per workload")
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.cpu})
    have_tshark = shutil.which("tshark") is not None
    workloads = {
        "ipfix-ovs": (ipfix_messages(OVS_IPV4, 7, args.messages), 4739, ["cflow.packets", "cflow.srcaddr"]),
        "ipfix-5t": (ipfix_messages(FIVE_TUPLE, 30, args.messages), 4739, ["cflow.packets", "cflow.srcaddr"]),
        "sflow": (sflow_datagrams(8, args.messages // 2), 6343, ["sflow.flow_sample.sampling_rate", "nsh.spi",
                                                                 "ip.src", "tcp.srcport"]),
    }
    missed = []
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmp:
        for name, ((payloads, expect), port, fields) in workloads.items():
            pcap, one = Path(tmp) / f"{name}.pcap", Path(tmp) / f"{name}-1.pcap"
            write_pcap(pcap, payloads, port)
            write_pcap(one, payloads[:1], port)
            capture = pcap.read_bytes()
            t = measure(name.split("-")[0], capture, pcap, one, fields, args.cpu, args.rounds, have_tshark)
            assert t.records == expect, (name, t.records, expect)
            rate = t.records / t.ours
            line = f"{name:10s} {len(payloads):6d} datagrams {t.records:7d} records  ours {rate:10,.0f}/s"
            if t.whole is not None and t.dissector is not None:
                whole, dissector = t.records / t.whole, t.records / t.dissector
                line += (f"  tshark {whole:8,.0f}/s (start-up {t.startup:.2f}s off) ratio {rate / whole:4.1f}x"
                         f"  | its dissector alone {dissector:8,.0f}/s ratio {rate / dissector:4.1f}x")
                if name == "ipfix-ovs" and rate / whole < 5:
                    missed.append(f"{name} < 5x")
            if name.startswith("ipfix") and rate < 200_000:
                missed.append(f"{name} < 200,000/s")
            print(line, flush=True)
    if not have_tshark:
        print("tshark not installed: no ratio (apt-get install tshark)")
    print("goal (>= 200,000 IPFIX records/s, >= 5x tshark on OVS's template):",
          f"NOT met ({', '.join(missed)})" if missed else "met")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
