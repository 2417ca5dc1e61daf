"""An independent sFlow v5 encoder for the tests, written from sflow_version_5.txt (scapy has
no sFlow): XDR, big endian, every opaque padded to 4 bytes."""

from __future__ import annotations

import ipaddress
import struct


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def record(fmt: int, body: bytes, enterprise: int = 0) -> bytes:
    return struct.pack("!II", enterprise << 12 | fmt, len(body)) + body


def raw_header(frame: bytes, *, frame_length: int | None = None, stripped: int = 4, protocol: int = 1,
               cut: int = 128) -> bytes:
    """Flow record 1: the first ``cut`` bytes of ``frame``."""
    header = frame[:cut]
    length = len(frame) + stripped if frame_length is None else frame_length
    return record(1, struct.pack("!IIII", protocol, length, stripped, len(header)) + _pad(header))


def flow_sample(records: list[bytes], *, seq: int = 1, source: tuple[int, int] = (0, 3), rate: int = 64,
                pool: int = 640, drops: int = 0, inp: int = 3, out: int = 4) -> bytes:
    body = struct.pack("!IIIIIIII", seq, source[0] << 24 | source[1], rate, pool, drops, inp, out, len(records))
    return record(1, body + b"".join(records))


def flow_sample_expanded(records: list[bytes], *, seq: int = 1, source: tuple[int, int] = (0, 70000),
                         rate: int = 64, pool: int = 640, drops: int = 0, inp: tuple[int, int] = (0, 70001),
                         out: tuple[int, int] = (2, 3)) -> bytes:
    body = struct.pack("!IIIIIIIIIII", seq, *source, rate, pool, drops, *inp, *out, len(records))
    return record(3, body + b"".join(records))


def generic_counters(if_index: int, in_octets: int, out_octets: int, *, speed: int = 10_000_000_000) -> bytes:
    body = struct.pack("!IIQIIQIIIIIIQIIIIII", if_index, 6, speed, 1, 3, in_octets, 10, 1, 2, 0, 0, 0,
                       out_octets, 11, 1, 2, 0, 0, 0)
    return record(1, body)


def counter_sample(records: list[bytes], *, seq: int = 1, source: tuple[int, int] = (0, 3),
                   expanded: bool = False) -> bytes:
    if expanded:
        return record(4, struct.pack("!IIII", seq, *source, len(records)) + b"".join(records))
    return record(2, struct.pack("!III", seq, source[0] << 24 | source[1], len(records)) + b"".join(records))


def datagram(samples: list[bytes], *, agent: str = "192.0.2.1", sub_agent: int = 0, seq: int = 1,
             uptime: int = 1000, version: int = 5) -> bytes:
    addr = ipaddress.ip_address(agent)
    head = struct.pack("!II", version, 1 if addr.version == 4 else 2) + addr.packed
    return head + struct.pack("!IIII", sub_agent, seq, uptime, len(samples)) + b"".join(samples)
