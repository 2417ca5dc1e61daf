"""Run os-ken in-process on native threads, without osken-manager and without eventlet.

Why our own serving loop instead of os-ken's OpenFlowController: in native mode its listener
cannot be stopped or bound to an ephemeral port, and a closed connection never reaches
DEAD_DISPATCHER (the per-switch send thread blocks forever, so the "switch left" event never
arrives and the thread leaks). Here each connection's thread tears its Datapath down itself:
shut the socket, mark it DEAD (observers get EventOFPStateChange), wake and join the sender.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Any, Callable

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import controller as osken_controller  # registers os-ken's options
from os_ken.controller import ofp_handler
from os_ken.controller.handler import DEAD_DISPATCHER
from os_ken.lib import hub

from sdn.app import NfvSwitchApp

LOG = logging.getLogger(__name__)
_ACTIVE = threading.Lock()  # os-ken's service registry is process-global: one runtime at a time


class _Handshaker(ofp_handler.OFPHandler):
    """os-ken's hello/features/port-desc handshake, minus its own (unstoppable) listener."""

    def start(self):
        return super(ofp_handler.OFPHandler, self).start()


class _TappedSocket:
    """A switch's socket as os-ken's Datapath reads it, minus the multipart replies claimed by xid.

    Why: os-ken parses every reply into objects, which made reading back a big switch take
    seconds; read-back wants the bytes (sdn.ofreply). recv() reads the real socket in large
    chunks, frames OpenFlow messages, hands each OFPT_MULTIPART_REPLY whose xid was claimed to
    its sink (on this connection's receive thread; a sink must be quick, e.g. a queue put) and
    passes everything else on to os-ken byte for byte. Sending and the rest go to the socket.
    """

    _READ = 1 << 18

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._rx = bytearray()
        self._out = bytearray()
        self._sinks: dict[int, Callable[[bytes], None]] = {}

    def claim_replies(self, xid: int, sink: Callable[[bytes], None]) -> None:
        self._sinks[xid] = sink

    def release_replies(self, xid: int) -> None:
        self._sinks.pop(xid, None)

    def recv(self, size: int) -> bytes:
        while not self._out:
            data = self._sock.recv(self._READ)  # a timeout propagates: os-ken retries
            if not data:
                return b""
            self._rx += data
            self._frame()
        out = bytes(self._out[:size])
        del self._out[:size]
        return out

    def _frame(self) -> None:
        rx, off = self._rx, 0
        while len(rx) - off >= 8:
            _version, msg_type, length, xid = _OFP_HEADER.unpack_from(rx, off)
            length = max(length, 8)  # what os-ken itself does with a bogus length
            if len(rx) - off < length:
                break
            sink = self._sinks.get(xid) if msg_type == _OFPT_MULTIPART_REPLY else None
            if sink is None:
                self._out += rx[off:off + length]
            else:
                try:
                    sink(bytes(rx[off:off + length]))
                except Exception:
                    LOG.exception("reply sink for xid %#x failed", xid)
            off += length
        del rx[:off]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


_OFP_HEADER = struct.Struct("!BBHI")
_OFPT_MULTIPART_REPLY = 19


def _ensure_conf() -> None:
    try:
        _ = cfg.CONF.socket_timeout  # registered by an earlier start?
    except cfg.NoSuchOptError:
        cfg.CONF(args=[], project="os_ken")


class _Server:
    """Accept loop plus one thread per switch connection; everything joinable."""

    def __init__(self, host: str, port: int, listening: socket.socket | None = None) -> None:
        if listening is not None:   # held by whoever restarts us: our copy is closed at stop, theirs stays
            self.sock = listening.dup()
        else:
            self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: dict[threading.Thread, socket.socket] = {}
        self.thread = threading.Thread(target=self._accept_loop, name="ofp-accept", daemon=True)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._serve, args=(conn, addr), daemon=True,
                                 name=f"ofp-conn-{addr[0]}:{addr[1]}")
            with self._lock:
                if self._stop.is_set():
                    conn.close()
                    break
                self._conns[t] = conn
            t.start()

    def _serve(self, conn: socket.socket, addr) -> None:
        dp = None
        try:
            dp = osken_controller.Datapath(_TappedSocket(conn), addr)
            sender = hub.spawn(dp._send_loop)
            dp.send_msg(dp.ofproto_parser.OFPHello(dp))
            try:
                dp._recv_loop()  # returns on EOF / error; its decorator closes the socket
            finally:
                _shutdown(conn)
                dp.set_state(DEAD_DISPATCHER)  # the event native os-ken never delivers
                if dp.send_q is not None:
                    try:
                        dp.send_q.put_nowait((b"", True))  # wake the sender so it can exit
                    except Exception:
                        pass
                sender.join(5.0)
        except Exception:
            LOG.exception("switch connection %s failed", addr)
        finally:
            _shutdown(conn)
            conn.close()
            with self._lock:
                self._conns.pop(threading.current_thread(), None)

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        self.thread.join(5.0)
        with self._lock:
            items = list(self._conns.items())
        for _t, conn in items:
            _shutdown(conn)
        for t, _conn in items:
            t.join(10.0)


def _shutdown(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def start_controller(listen_host: str = "127.0.0.1", listen_port: int = 6653, *,
                     echo_interval: float = 2.0, echo_timeout: float = 6.0,
                     listening: socket.socket | None = None,
                     ) -> tuple[NfvSwitchApp, Callable[[], None]]:
    """Start the OpenFlow listener and the os-ken apps; returns (driver, stop).

    ``listen_port=0`` picks a free port (read it back from ``driver.listen_port``). ``stop()``
    closes every switch connection and joins every thread it started. ``listening``: a bound
    socket kept open across controller restarts by the process that restarts it (socket
    activation): a switch that retries while no controller runs connects into its backlog at
    once instead of backing off (OVS waits 1, 2, 4 s between retries, ``max_backoff`` or not),
    and the next controller accepts it as soon as it starts.
    """
    if not _ACTIVE.acquire(blocking=False):
        raise RuntimeError("an os-ken runtime is already running in this process")
    try:
        _ensure_conf()
        manager = app_manager.AppManager()
        handshaker = manager.instantiate(_Handshaker)
        app = manager.instantiate(NfvSwitchApp, echo_interval=echo_interval,
                                  echo_timeout=echo_timeout)
        handshaker.start()
        app.start()
        server = _Server(listen_host, listen_port, listening)
    except BaseException:
        _ACTIVE.release()
        raise
    app.listen_port = server.port
    server.thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        try:
            server.stop()
            manager.close()  # stops the apps' event threads (and our monitor/dispatcher)
        finally:
            _ACTIVE.release()

    return app, stop
