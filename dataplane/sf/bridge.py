"""An NSH-unaware reference SF: a plain L2 bump-in-the-wire between two interfaces.

Frames in on one interface go out of the other unchanged, both ways -- what a transparent
firewall or IDS in Tacker's ``sfc_encap: false`` mode looks like to the switch, which strips
NSH before it and classifies again what comes back. No parsing: it must pass whatever it gets.
"""

from __future__ import annotations

import select
import signal
import socket
from collections.abc import Callable

from dataplane.sf.loop import BUF_SIZE, Stats, Stop, _raise_stop


def serve_bridge(a: socket.socket, b: socket.socket, *, ready: Callable[[], None] | None = None,
                 stats: Stats | None = None) -> Stats:
    """Relay frames between ``a`` and ``b`` until SIGTERM/SIGINT (both sockets must ignore
    their own transmissions, see ``loop.open_socket``)."""
    stats = stats or Stats()
    buf = bytearray(BUF_SIZE)
    view = memoryview(buf)
    peers = {a.fileno(): (a, b), b.fileno(): (b, a)}
    poller = select.poll()
    for fd in peers:
        poller.register(fd, select.POLLIN)
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if ready is not None:
            ready()
        while True:
            for fd, _ in poller.poll():
                src, dst = peers[fd]
                while True:  # drain what is queued, then poll again
                    try:
                        n = src.recv_into(buf, BUF_SIZE, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    stats.received += 1
                    try:
                        dst.send(view[:n])
                        stats.sent += 1
                    except OSError:
                        stats.send_errors += 1
                        stats.dropped += 1
    except Stop:
        pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return stats
