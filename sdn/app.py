"""The os-ken application that implements ``SwitchDriver`` for real Open vSwitch bridges.

One plan = one ONF bundle (atomic, ordered): group adds/modifies, flow adds/modifies/deletes,
group deletes, commit, barrier. Messages are pre-encoded bytes (sdn.ofcodec), sent in large
chunks straight onto the datapath's send queue, so OVS can work while we encode. Replies are
matched by xid on os-ken's event thread and hand results to the waiting caller via
``threading.Event`` (os-ken's hub.Event cannot time out in native mode). Subscriber callbacks
run on their own thread, so a callback may call ``apply()`` without deadlocking os-ken.
Flow-stats and group-desc replies skip os-ken's parser: the runtime's socket tap
(sdn.osken_runtime) hands their bytes over by xid and sdn.ofreply decodes them (~15x faster).
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3 as ofp

from sdn import ofcodec, ofreply
from sdn.cookie import APP_MASK, APP_SHIFT, APP_TAG, is_our_group, is_ours
from sdn.driver import ApplyError, SwitchEvent, SwitchInfo
from sdn.openflow import SwitchState
from sdn.sync import Plan

LOG = logging.getLogger(__name__)
_CHUNK = 256  # messages per socket write: small enough that OVS works while we encode
_ONF_ERRORS = {getattr(ofp, n): n[len("ONFERR_ET_"):] for n in dir(ofp) if n.startswith("ONFERR_ET_")}
_ALL_STATES = [MAIN_DISPATCHER, DEAD_DISPATCHER]


@dataclass
class _Pending:
    """One request in flight: the xid range it owns, what the switch said, when it is done."""

    lo: int
    hi: int
    done: threading.Event = field(default_factory=threading.Event)
    errors: list[Any] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)
    lost: bool = False
    inbox: queue.SimpleQueue[bytes | None] | None = None  # raw replies (sdn.ofreply); None = an error or loss

    def wake(self) -> None:
        self.done.set()
        if self.inbox is not None:
            self.inbox.put(None)


class _Conn:
    def __init__(self, dp: Any) -> None:
        self.dp = dp
        self.ports = {p.name.decode(errors="replace"): no for no, p in (dp.ports or {}).items()
                      if no <= ofp.OFPP_MAX}
        self.pending: dict[int, _Pending] = {}
        self.xids = itertools.count(0x40000000)
        self.bundles = itertools.count(1)
        self.apply_lock = threading.Lock()
        self.last_seen = time.monotonic()
        self.group_cookies: dict[int, int] = {}


class NfvSwitchApp(app_manager.OSKenApp):
    """SwitchDriver over os-ken: connected datapaths by dpid, bundles, state read-back."""

    OFP_VERSIONS = [ofp.OFP_VERSION]

    def __init__(self, *args: Any, echo_interval: float = 2.0, echo_timeout: float = 6.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listen_port = 0
        self._lock = threading.RLock()
        self._conns: dict[int, _Conn] = {}
        self._group_cookies: dict[int, dict[int, int]] = {}  # survives reconnects
        self._reply_caches: dict[int, ofreply.ReplyCache] = {}  # decoded action lists, per switch
        self._callbacks: list[Callable[[SwitchEvent], None]] = []
        self._events: queue.Queue[SwitchEvent | None] = queue.Queue()
        self._stopping = threading.Event()
        self._echo_interval, self._echo_timeout = echo_interval, echo_timeout
        self._threads = [threading.Thread(target=self._dispatch_loop, name="sdn-events", daemon=True),
                         threading.Thread(target=self._monitor_loop, name="sdn-echo", daemon=True)]

    # ------------------------------------------------------------ lifecycle

    def start(self):
        for t in self._threads:
            t.start()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()
        self._events.put(None)
        for t in self._threads:
            if t.is_alive():
                t.join(5.0)
        super().stop()

    # ------------------------------------------------------------ SwitchDriver

    def switches(self) -> dict[int, SwitchInfo]:
        with self._lock:
            return {dpid: SwitchInfo(dpid, dict(c.ports), f"{c.dp.address[0]}:{c.dp.address[1]}")
                    for dpid, c in self._conns.items()}

    def subscribe(self, callback: Callable[[SwitchEvent], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def disconnect(self, dpid: int) -> bool:
        with self._lock:
            conn = self._conns.pop(dpid, None)   # its DEAD_DISPATCHER event then finds it gone
        if conn is None:
            return False
        LOG.warning("switch %#x disconnected on request (known dead)", dpid)
        self._fail_pending(conn)
        self._close(conn.dp)
        self._events.put(SwitchEvent("disconnected", dpid))
        return True

    def apply(self, dpid: int, plan: Plan, timeout: float = 10.0) -> None:
        if plan.empty:
            return
        conn = self._conn(dpid)
        with conn.apply_lock:
            bundle = next(conn.bundles)
            items: list[tuple[str, str, Any]] = (
                [("group", "add", g) for g in plan.add_groups]
                + [("group", "modify", g) for g in plan.modify_groups]
                + [("flow", "add", f) for f in plan.add_flows]
                # ADD replaces an entry with the same table/priority/match atomically and, unlike
                # MODIFY_STRICT (which OVS applies without touching the cookie), sets its cookie.
                + [("flow", "add", f) for f in plan.modify_flows]
                + [("flow", "delete_strict", f) for f in plan.delete_flows]
                + [("group", "delete", g) for g in plan.delete_groups])
            open_xid = next(conn.xids)
            first = next(conn.xids)
            for _ in range(len(items) - 1):
                next(conn.xids)
            added_xid, commit_xid, done_xid = next(conn.xids), next(conn.xids), next(conn.xids)
            deadline = time.monotonic() + timeout
            # Phase 1: open + adds + barrier. OVS refuses a malformed add on its own and would
            # still commit the rest, so we commit only once the barrier shows no refusal.
            try:
                pending = self._exchange(conn, self._bundle_msgs(bundle, items, open_xid, first,
                                                                 added_xid), open_xid, added_xid,
                                         deadline, len(items))
            except ApplyError:
                self._discard(conn, bundle, commit_xid)
                raise
            if not pending.errors:  # Phase 2: commit (checks group references etc.) + barrier
                pending = self._exchange(conn, [
                    ofcodec.encode_bundle_ctrl(commit_xid, bundle, ofp.ONF_BCT_COMMIT_REQUEST),
                    ofcodec.encode_barrier(done_xid)], open_xid, done_xid, deadline, len(items))
            else:
                self._discard(conn, bundle, commit_xid)
            if pending.errors:
                raise ApplyError(self._describe_errors(dpid, pending.errors, items, first),
                                 self._culprits(pending.errors, items, first),
                                 any(e.type == ofp.OFPET_FLOW_MOD_FAILED and e.code == ofp.OFPFMFC_TABLE_FULL
                                     for e in pending.errors))
            cookies = self._group_cookies.setdefault(dpid, {})
            for g in plan.add_groups + plan.modify_groups:
                cookies[g.group_id] = g.cookie
            for g in plan.delete_groups:
                cookies.pop(g.group_id, None)

    def read_state(self, dpid: int, timeout: float = 10.0, *, raw: bool = True) -> SwitchState:
        """Our flows and groups on ``dpid``. The replies are decoded from their bytes
        (sdn.ofreply) when the connection can hand them over (sdn.osken_runtime); ``raw=False``
        or another runtime takes os-ken's parser (kept for comparison: same result, ~10x slower).
        Times out on ``timeout`` of silence, not on total duration."""
        conn = self._conn(dpid)
        if not raw or not hasattr(conn.dp.socket, "claim_replies"):
            return self._read_state_osken(conn, dpid, timeout)
        cache = self._reply_caches.setdefault(dpid, ofreply.ReplyCache())
        known = self._group_cookies.get(dpid, {})

        def cookie_of(gid: int) -> int | None:
            return known.get(gid, 0) if is_our_group(gid) or gid in known else None

        flows_req, groups_req = self._stats_requests(conn)
        try:
            flows = self._raw_replies(conn, flows_req, timeout, lambda msg: ofreply.decode_flow_reply(
                msg, cache, APP_TAG << APP_SHIFT, APP_MASK))
            groups = self._raw_replies(conn, groups_req, timeout,
                                       lambda msg: ofreply.decode_group_reply(msg, cache, cookie_of))
        except ofreply.ReplyError as e:
            raise ApplyError(f"switch {dpid:#x} sent an unreadable reply: {e}") from None
        return SwitchState(frozenset(flows), frozenset(groups))

    @staticmethod
    def _stats_requests(conn: _Conn) -> tuple[Any, Any]:
        dp, parser = conn.dp, conn.dp.ofproto_parser
        return (parser.OFPFlowStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY,
                                           APP_TAG << APP_SHIFT, APP_MASK, parser.OFPMatch()),
                parser.OFPGroupDescStatsRequest(dp, 0))

    def _raw_replies(self, conn: _Conn, req: Any, timeout: float,
                     decode: Callable[[bytes], tuple[list, bool]]) -> list:
        """Send a stats request; decode its replies (on this thread, while later ones arrive)."""
        xid = req.xid = next(conn.xids)
        pending = self._register(conn, xid, xid)
        inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        pending.inbox = inbox
        conn.dp.socket.claim_replies(xid, inbox.put)
        out: list = []
        try:
            conn.dp.send_msg(req)
            while True:
                try:
                    msg = inbox.get(timeout=timeout)
                except queue.Empty:
                    raise ApplyError(f"switch {conn.dp.id:#x}: no stats reply within {timeout:g}s") from None
                if msg is None:
                    break
                items, more = decode(msg)
                out += items
                if not more:
                    break
        finally:
            conn.dp.socket.release_replies(xid)
            self._unregister(conn, xid)
        if pending.lost:
            raise ApplyError(f"switch {conn.dp.id:#x} disconnected while reading its state")
        if pending.errors:
            raise ApplyError(self._describe_errors(conn.dp.id, pending.errors, [], 0))
        return out

    def _read_state_osken(self, conn: _Conn, dpid: int, timeout: float) -> SwitchState:
        """read_state through os-ken's parser (one object per flow, match field and action)."""
        results = []
        for req in self._stats_requests(conn):
            xid = next(conn.xids)
            req.xid = xid
            pending = self._register(conn, xid, xid)
            try:
                conn.dp.send_msg(req)
                seen = -1  # big tables take seconds (os-ken parses ~15k flows/s): time out on
                while not pending.done.wait(timeout):  # silence, not on total duration
                    if len(pending.replies) == seen:
                        raise ApplyError(f"switch {dpid:#x}: no stats reply within {timeout:g}s")
                    seen = len(pending.replies)
            finally:
                self._unregister(conn, xid)
            if pending.lost:
                raise ApplyError(f"switch {dpid:#x} disconnected while reading its state")
            if pending.errors:
                raise ApplyError(self._describe_errors(dpid, pending.errors, [], 0))
            results.append([entry for msg in pending.replies for entry in msg.body])
        flows = frozenset(ofcodec.decode_flow_stats(s) for s in results[0] if is_ours(s.cookie))
        # OF1.3 groups have no cookie: ours carry the group-id tag (sdn.cookie) or were
        # installed by this process, which remembers the cookie it was given.
        known = self._group_cookies.get(dpid, {})
        groups = frozenset(ofcodec.decode_group_desc(d, known.get(d.group_id, 0))
                           for d in results[1] if is_our_group(d.group_id) or d.group_id in known)
        return SwitchState(flows, groups)

    # ------------------------------------------------------------ sending

    def _conn(self, dpid: int) -> _Conn:
        with self._lock:
            conn = self._conns.get(dpid)
        if conn is None:
            raise ApplyError(f"switch {dpid:#x} is not connected")
        return conn

    def _send(self, conn: _Conn, msgs: list[bytes]) -> None:
        if not conn.dp.send(b"".join(msgs)):
            raise ApplyError(f"switch {conn.dp.id:#x}: connection is closing")

    def _discard(self, conn: _Conn, bundle: int, xid: int) -> None:
        try:
            self._send(conn, [ofcodec.encode_bundle_ctrl(xid, bundle, ofp.ONF_BCT_DISCARD_REQUEST)])
        except ApplyError:
            pass  # connection gone: OVS drops open bundles with it

    def _bundle_msgs(self, bundle: int, items: list, open_xid: int, first: int,
                     barrier_xid: int) -> Iterator[bytes]:
        """open, one bundle-add per item (its xid = first + index), barrier; encoded lazily."""
        add = ofcodec.encode_bundle_add
        yield ofcodec.encode_bundle_ctrl(open_xid, bundle, ofp.ONF_BCT_OPEN_REQUEST)
        for i, (kind, command, value) in enumerate(items):
            if kind == "group":
                yield add(ofcodec.encode_group_mod(value, command, first + i), bundle)
            else:
                yield add(ofcodec.flow_mod_encoder(value, command)(value, first + i), bundle)
        yield ofcodec.encode_barrier(barrier_xid)

    def _exchange(self, conn: _Conn, msgs: Iterable[bytes], lo: int, hi: int,
                  deadline: float, size: int) -> _Pending:
        """Send ``msgs`` (the last one a barrier with xid ``hi``) in chunks, wait for its reply;
        errors with an xid in lo..hi are collected on the returned _Pending."""
        pending = self._register(conn, lo, hi)
        try:
            chunk: list[bytes] = []
            for msg in msgs:
                chunk.append(msg)
                if len(chunk) >= _CHUNK:
                    self._send(conn, chunk)
                    chunk = []
            self._send(conn, chunk)
            if not pending.done.wait(max(0.0, deadline - time.monotonic())):
                raise ApplyError(f"switch {conn.dp.id:#x}: no acknowledgement in time for a "
                                 f"bundle of {size} changes")
        finally:
            self._unregister(conn, hi)
        if pending.lost:
            raise ApplyError(f"switch {conn.dp.id:#x} disconnected before acknowledging the bundle")
        return pending

    # ------------------------------------------------------------ reply routing

    def _register(self, conn: _Conn, lo: int, hi: int) -> _Pending:
        pending = _Pending(lo, hi)
        with self._lock:
            conn.pending[hi] = pending
        return pending

    def _unregister(self, conn: _Conn, key: int) -> None:
        with self._lock:
            conn.pending.pop(key, None)

    def _route(self, msg: Any) -> _Pending | None:
        with self._lock:
            conn = self._conns.get(msg.datapath.id)
            if conn is None or conn.dp is not msg.datapath:
                return None
            conn.last_seen = time.monotonic()
            pending = conn.pending.get(msg.xid)
            if pending is None:
                pending = next((p for p in conn.pending.values() if p.lo <= msg.xid <= p.hi), None)
            return pending

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _on_barrier(self, ev: Any) -> None:
        pending = self._route(ev.msg)
        if pending is not None and ev.msg.xid == pending.hi:
            pending.done.set()

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def _on_error(self, ev: Any) -> None:
        pending = self._route(ev.msg)
        if pending is None:
            LOG.warning("unsolicited OpenFlow error from %s: %s", ev.msg.datapath.id,
                        _error_name(ev.msg))
            return
        pending.errors.append(ev.msg)
        if pending.lo == pending.hi:  # a stats request: the error is the answer
            pending.wake()

    @set_ev_cls([ofp_event.EventOFPFlowStatsReply, ofp_event.EventOFPGroupDescStatsReply],
                MAIN_DISPATCHER)
    def _on_stats(self, ev: Any) -> None:
        pending = self._route(ev.msg)
        if pending is not None:
            pending.replies.append(ev.msg)
            if not ev.msg.flags & ofp.OFPMPF_REPLY_MORE:
                pending.done.set()

    @set_ev_cls(ofp_event.EventOFPEchoReply, MAIN_DISPATCHER)
    def _on_echo(self, ev: Any) -> None:
        self._route(ev.msg)

    # ------------------------------------------------------------ switch lifecycle

    @set_ev_cls(ofp_event.EventOFPStateChange, _ALL_STATES)
    def _on_state(self, ev: Any) -> None:
        dp = ev.datapath
        if dp.id is None:
            return
        if ev.state == MAIN_DISPATCHER:
            with self._lock:
                old = self._conns.get(dp.id)
                self._conns[dp.id] = _Conn(dp)
            if old is not None:
                self._fail_pending(old)
                self._close(old.dp)
            self._events.put(SwitchEvent("connected", dp.id))
        elif ev.state == DEAD_DISPATCHER:
            with self._lock:
                conn = self._conns.get(dp.id)
                if conn is None or conn.dp is not dp:
                    return  # an older connection of a switch that already reconnected
                del self._conns[dp.id]
            self._fail_pending(conn)
            self._events.put(SwitchEvent("disconnected", dp.id))

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _on_port_status(self, ev: Any) -> None:
        msg = ev.msg
        with self._lock:
            conn = self._conns.get(msg.datapath.id)
            if conn is None or conn.dp is not msg.datapath:
                return
            name = msg.desc.name.decode(errors="replace")
            before = dict(conn.ports)
            if msg.reason == ofp.OFPPR_DELETE:
                conn.ports.pop(name, None)
            elif msg.desc.port_no <= ofp.OFPP_MAX:
                conn.ports[name] = msg.desc.port_no
            changed = before != conn.ports
        if changed:
            self._events.put(SwitchEvent("ports", msg.datapath.id))

    def _fail_pending(self, conn: _Conn) -> None:
        with self._lock:
            waiting = list(conn.pending.values())
        for p in waiting:
            p.lost = True
            p.wake()

    @staticmethod
    def _close(dp: Any) -> None:
        try:
            dp.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------ background threads

    def _dispatch_loop(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            with self._lock:
                callbacks = list(self._callbacks)
            for cb in callbacks:
                try:
                    cb(event)
                except Exception:
                    LOG.exception("switch event callback failed for %s", event)

    def _monitor_loop(self) -> None:
        """Echo each switch; one silent past echo_timeout is dropped (twice that while busy with
        us: a long read's replies bypass ``_route``; but a dead switch that a worker keeps asking
        is always busy, and must go too)."""
        while not self._stopping.wait(self._echo_interval):
            now = time.monotonic()
            with self._lock:
                conns = list(self._conns.values())
            for conn in conns:
                with self._lock:
                    busy = bool(conn.pending)
                if now - conn.last_seen > self._echo_timeout * (2 if busy else 1):
                    LOG.warning("switch %#x silent for %.1fs: closing", conn.dp.id,
                                now - conn.last_seen)
                    self._close(conn.dp)
                else:
                    try:
                        conn.dp.send_msg(conn.dp.ofproto_parser.OFPEchoRequest(conn.dp))
                    except Exception:
                        self._close(conn.dp)

    # ------------------------------------------------------------ errors

    @staticmethod
    def _culprits(errors: list[Any], items: list, first: int) -> tuple[Any, ...]:
        """The flows and groups the errors name (by the xid of the bundled message they quote)."""
        out = []
        for err in errors:
            data = bytes(err.data or b"")
            if len(data) >= 8:
                (xid,) = struct.unpack_from("!I", data, 4)
                if 0 <= xid - first < len(items):
                    out.append(items[xid - first][2])
        return tuple(out)

    @staticmethod
    def _describe_errors(dpid: int, errors: list[Any], items: list, first: int) -> str:
        lines = []
        for err in errors:
            culprit = ""
            data = bytes(err.data or b"")
            if len(data) >= 8:
                (xid,) = struct.unpack_from("!I", data, 4)
                if 0 <= xid - first < len(items):
                    kind, command, value = items[xid - first]
                    text = (ofcodec.ofctl_text(value) if kind == "flow"
                            else ofcodec.ofctl_group_text(value))
                    culprit = f" in {kind} {command}: {text}"
            lines.append(_error_name(err) + culprit)
        culprits = [line for line in lines if " in " in line] or lines
        return f"switch {dpid:#x} refused the change: " + "; ".join(culprits)


def _error_name(err: Any) -> str:
    if err.type == ofp.OFPET_EXPERIMENTER:
        name = _ONF_ERRORS.get(getattr(err, "exp_type", -1), f"exp_type {getattr(err, 'exp_type', '?')}")
        return f"experimenter error {name}"
    try:
        return f"{ofp.ofp_error_type_to_str(err.type)}/{ofp.ofp_error_code_to_str(err.type, err.code)}"
    except Exception:
        return f"error type {err.type} code {err.code}"
