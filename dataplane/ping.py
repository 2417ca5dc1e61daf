"""Minimal ICMP echo (raw socket), for hosts and images without the ``ping`` binary.

Run inside a namespace: ``python -m dataplane.ping 10.0.0.2 -c 3 -W 2``; exit 0 when every echo
was answered. The pure parts (build/parse) are separate so monitoring code can reuse them.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def build_echo(ident: int, seq: int, payload: bytes = b"nfvchain-ping") -> bytes:
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(head + payload), ident, seq) + payload


def parse_reply(packet: bytes) -> tuple[int, int] | None:
    """(ident, seq) of an ICMP echo reply inside an IPv4 packet, else None."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 8 or packet[ihl] != 0:
        return None
    _, _, _, ident, seq = struct.unpack("!BBHHH", packet[ihl:ihl + 8])
    return ident, seq


def ping(dst: str, count: int = 1, timeout: float = 1.0, interval: float = 0.2) -> int:
    """Send ``count`` echoes; return how many were answered within ``timeout`` each."""
    ident = os.getpid() & 0xFFFF
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        for seq in range(count):
            if seq:
                time.sleep(interval)
            sock.sendto(build_echo(ident, seq), (dst, 0))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                pkt, (src, _) = sock.recvfrom(65535)
                if src == dst and parse_reply(pkt) == (ident, seq):
                    answered += 1
                    break
    return answered


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dataplane.ping")
    ap.add_argument("dst")
    ap.add_argument("-c", "--count", type=int, default=1)
    ap.add_argument("-W", "--timeout", type=float, default=1.0)
    ap.add_argument("-i", "--interval", type=float, default=0.2)
    args = ap.parse_args(argv)
    got = ping(args.dst, args.count, args.timeout, args.interval)
    print(f"{got}/{args.count} replies from {args.dst}")
    return 0 if got == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
