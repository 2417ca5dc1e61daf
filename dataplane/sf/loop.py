"""The imperative shell of a reference SF: one AF_PACKET socket, a preallocated buffer, a loop.

Why this shape: per packet the loop does recv_into + one handler call + send on a memoryview
slice -- no allocation, no parsing in the forwarder. SIGTERM/SIGINT raise :class:`Stop` out of
the blocking recv; periodic work (counter reports) runs from a SIGALRM interval timer, so the
hot path never polls a clock or a timeout.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from dataplane.sf.logic import Handler

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
BUF_SIZE = 65536


class Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler to leave the loop."""


@dataclass
class Stats:
    received: int = 0
    sent: int = 0
    dropped: int = 0
    send_errors: int = 0


def open_socket(iface: str, rcvbuf: int = 4 << 20) -> socket.socket:
    """Raw socket on ``iface`` that does not see its own transmissions."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, rcvbuf)
        sock.bind((iface, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def own_mac(sock: socket.socket) -> bytes:
    return bytes(sock.getsockname()[4])


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signum)


def serve(sock: socket.socket, handler: Handler, *, tick: Callable[[], None] | None = None,
          tick_interval: float = 0.5, stats: Stats | None = None,
          ready: Callable[[], None] | None = None) -> Stats:
    """Run until SIGTERM/SIGINT; ``tick`` runs every ``tick_interval`` s and once at the end."""
    stats = stats or Stats()
    buf = bytearray(BUF_SIZE)
    view = memoryview(buf)
    recv_into, send = sock.recv_into, sock.send
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    if tick is not None:
        signal.signal(signal.SIGALRM, lambda s, f: tick())
        signal.setitimer(signal.ITIMER_REAL, tick_interval, tick_interval)
    received = sent = 0
    try:
        if ready is not None:
            ready()
        while True:
            n = recv_into(buf)
            received += 1
            if handler(buf, n):
                try:
                    send(view[:n])
                    sent += 1
                except OSError:
                    stats.send_errors += 1
    except Stop:
        pass
    finally:
        if tick is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
        for s, h in old.items():
            signal.signal(s, h)
        stats.received += received
        stats.sent += sent
        stats.dropped += received - sent
        if tick is not None:
            tick()
    return stats


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
