"""A fake OpenFlow switch that understands NSH: walks a SwitchState's tables for one packet.

For unit tests of the pure flow computation only; the proof that chains work is the
integration suite on real Open vSwitch.
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass, field, replace
from typing import Mapping

from sdn.openflow import (OFPP_NORMAL, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group, Multipath,
                      Output, RegMove, Resubmit, Sample, SetField, SwitchState)


@dataclass(frozen=True)
class Nsh:
    spi: int = 0
    si: int = 0
    ttl: int = 63
    c1: int = 0
    c2: int = 0
    c3: int = 0
    c4: int = 0


@dataclass(frozen=True)
class Packet:
    """Inner headers as OpenFlow match fields, plus an NSH layer when encapsulated."""

    fields: tuple[tuple[str, object], ...]
    nsh: Nsh | None = None
    outer_eth: bool = False
    reg0: int = 0

    def view(self, in_port: int) -> dict[str, object]:
        out = dict(self.fields)
        out["in_port"] = in_port
        if self.nsh is not None:
            out.update(eth_type=0x894F, nsh_mdtype=1, nsh_spi=self.nsh.spi, nsh_si=self.nsh.si,
                       nsh_c1=self.nsh.c1, nsh_c2=self.nsh.c2, nsh_c3=self.nsh.c3, nsh_c4=self.nsh.c4)
            for k in ("ip_proto", "ipv4_src", "ipv4_dst", "ipv6_src", "ipv6_dst", "tcp_dst", "tcp_src", "udp_dst",
                      "udp_src", "eth_src", "eth_dst"):
                out.pop(k, None)
        return out


def tcp(src="10.0.0.1", dst="10.0.0.2", sport=40000, dport=80, **l2: str) -> Packet:
    """TCP over IPv4 (IPv6 when the addresses are), ``l2``: eth_src / eth_dst."""
    v6 = ":" in src
    return Packet(tuple(sorted({"eth_type": 0x86DD if v6 else 0x0800, "ip_proto": 6, "ipv6_src" if v6 else "ipv4_src": src,
                                "ipv6_dst" if v6 else "ipv4_dst": dst, "tcp_src": sport, "tcp_dst": dport,
                                **l2}.items())))


def udp(src="10.0.0.1", dst="10.0.0.2", sport=40000, dport=53) -> Packet:
    return Packet((("eth_type", 0x0800), ("ip_proto", 17), ("ipv4_src", src), ("ipv4_dst", dst),
                   ("udp_src", sport), ("udp_dst", dport)))


@dataclass(frozen=True)
class Delivery:
    port: int  # OFPP_NORMAL for normal L2 delivery
    packet: Packet
    in_port: int  # the in_port the switch believes at output time


def _matches(flow: Flow, view: dict[str, object]) -> bool:
    for name, want in flow.match:
        have = view.get(name)
        if have is None:
            return False
        if isinstance(want, tuple):
            value, mask = want
            if name.startswith(("ipv4", "ipv6")):
                net = ipaddress.ip_network((value, bin(int(ipaddress.ip_address(mask))).count("1")), strict=False)
                if ipaddress.ip_address(str(have)) not in net:
                    return False
            elif (int(have) & mask) != (value & mask):
                return False
        elif have != want:
            return False
    return True


@dataclass
class FakeSwitch:
    state: SwitchState
    trace: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)  # sample() actions executed, in order

    def lookup(self, table: int, view: dict[str, object]) -> Flow | None:
        candidates = [f for f in self.state.flows if f.table == table and _matches(f, view)]
        if not candidates:
            return None
        top = max(f.priority for f in candidates)
        best = [f for f in candidates if f.priority == top]
        assert len(best) == 1, f"ambiguous flows at table {table} priority {top}: {best}"
        return best[0]

    def receive(self, in_port: int, packet: Packet, table: int = 0) -> list[Delivery]:
        out: list[Delivery] = []
        for _ in range(64):
            flow = self.lookup(table, packet.view(in_port))
            if flow is None:
                self.trace.append(f"table {table}: miss, drop")
                return out
            self.trace.append(f"table {table}: {flow.match}")
            packet, in_port, out = self._run(flow.actions, packet, in_port, out)
            if packet is None or flow.goto_table is None:
                return out
            table = flow.goto_table
        raise AssertionError("pipeline loop")

    def _run(self, actions, packet, in_port, out):
        for action in actions:
            if isinstance(action, EncapNsh):
                packet = replace(packet, nsh=Nsh())
            elif isinstance(action, EncapEthernet):
                packet = replace(packet, outer_eth=True)
            elif isinstance(action, Decap):
                packet = replace(packet, outer_eth=False) if packet.outer_eth else replace(packet, nsh=None)
            elif isinstance(action, DecNshTtl):
                packet = replace(packet, nsh=replace(packet.nsh, ttl=packet.nsh.ttl - 1))
                if packet.nsh.ttl <= 0:
                    return None, in_port, out
            elif isinstance(action, SetField):
                if action.field == "in_port":
                    in_port = int(action.value)
                elif action.field.startswith("nsh_"):
                    packet = replace(packet, nsh=replace(packet.nsh, **{action.field[4:]: action.value}))
                else:
                    packet = replace(packet, fields=tuple(sorted({**dict(packet.fields), action.field: action.value}.items())))
            elif isinstance(action, Output):
                out = out + [Delivery(action.port, packet, in_port)]
            elif isinstance(action, Group):
                group = next(g for g in self.state.groups if g.group_id == action.group_id)
                bucket = group.buckets[zlib.crc32(repr(sorted(packet.fields)).encode()) % len(group.buckets)]
                packet, in_port, out = self._run(bucket.actions, packet, in_port, out)
            elif isinstance(action, Multipath):
                packet = replace(packet, reg0=symmetric_l4_hash(packet) % action.buckets)
            elif isinstance(action, RegMove):
                mask = (1 << action.n_bits) - 1
                if (action.src, action.dst) == ("reg0", "nsh_c4"):
                    packet = replace(packet, nsh=replace(packet.nsh, c4=(packet.nsh.c4 & ~mask) | (packet.reg0 & mask)))
                elif (action.src, action.dst) == ("in_port", "nsh_c1"):
                    packet = replace(packet, nsh=replace(packet.nsh, c1=in_port & mask))
                else:
                    assert (action.src, action.dst) == ("nsh_c1", "in_port_nxm"), action
                    in_port = packet.nsh.c1 & mask
            elif isinstance(action, Resubmit):
                out = out + self.receive(in_port, packet, action.table)
            elif isinstance(action, Sample):
                self.samples.append(action)
            else:
                raise AssertionError(f"unknown action {action}")
        return packet, in_port, out


def symmetric_l4_hash(packet: Packet) -> int:
    """Like OVS's symmetric_l3l4+udp: addresses, protocol and TCP/UDP ports, the same value
    for both directions of a connection."""
    f = dict(packet.fields)
    ends = sorted([(str(f.get("ipv4_src")), f.get("tcp_src", f.get("udp_src", 0))),
                   (str(f.get("ipv4_dst")), f.get("tcp_dst", f.get("udp_dst", 0)))])
    return zlib.crc32(repr((ends, f.get("ip_proto"))).encode())


def run_chain(switch: FakeSwitch, in_port: int, packet: Packet, sf_ports: set[int],
              seen: list[tuple[int, Nsh | None]] | None = None, max_hops: int = 300,
              plain: Mapping[int, int] | None = None) -> list[Delivery]:
    """Inject a packet; every output to an SF port is 'processed' (SI-1) and sent back.

    ``plain`` maps each port of an NSH-unaware SF to the port it sends frames out of (a
    bump-in-the-wire: ``{a: b, b: a}``); what it gets is reflected there unchanged.
    """
    plain = plain or {}
    pending = [(in_port, packet)]
    finals: list[Delivery] = []
    for _ in range(max_hops):
        if not pending:
            return finals
        port, pkt = pending.pop(0)
        for d in switch.receive(port, pkt):
            if d.port in plain:
                if seen is not None:
                    seen.append((d.port, d.packet.nsh))
                pending.append((plain[d.port], d.packet))
            elif d.port in sf_ports:
                if seen is not None:
                    seen.append((d.port, d.packet.nsh))
                if d.packet.nsh is not None:
                    pending.append((d.port, replace(d.packet, nsh=replace(d.packet.nsh, si=d.packet.nsh.si - 1))))
            else:
                finals.append(d)
    raise AssertionError("chain did not finish")


__all__ = ["FakeSwitch", "Packet", "Nsh", "Delivery", "tcp", "udp", "run_chain", "OFPP_NORMAL"]
