"""The pure core: legal state changes, VIM names, MAC/IP allocation, instance plans, garbage.

Nothing here does I/O or reads a clock; the manager passes ``now`` and current records in.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from vnfm.errors import InvalidRequest, InvalidState
from vnfm.model import CpRecord, Network, VduRecord, VnfEvent, VnfRecord, Status as S
from vnfm.spec import ScalingSpec, VduSpec, VnfSpec

TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.PENDING_CREATE: frozenset({S.ACTIVE, S.ERROR}),
    S.ACTIVE: frozenset({S.DEAD, S.PENDING_HEAL, S.PENDING_SCALE_OUT, S.PENDING_SCALE_IN,
                         S.PENDING_DELETE}),
    S.DEAD: frozenset({S.ACTIVE, S.PENDING_HEAL, S.PENDING_DELETE}),
    S.ERROR: frozenset({S.PENDING_DELETE, S.PENDING_HEAL}),
    S.PENDING_HEAL: frozenset({S.ACTIVE, S.ERROR}),
    S.PENDING_SCALE_OUT: frozenset({S.ACTIVE, S.ERROR}),
    S.PENDING_SCALE_IN: frozenset({S.ACTIVE, S.ERROR}),
    S.PENDING_DELETE: frozenset({S.DELETED, S.ERROR}),
}
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MAC_OUI = "fa:16:3e"   # Neutron's: recognisable in captures
VLAN_FIRST = 100


def transition(rec: VnfRecord, new: str, reason: str, now: float,
               changed_cps: Iterable[str] = (), **changes: object) -> tuple[VnfRecord, VnfEvent]:
    """The record in state ``new`` and the event saying so; InvalidState if not allowed."""
    if new not in TRANSITIONS.get(rec.status, frozenset()):
        raise InvalidState(f"VNF {rec.name} is {rec.status}; cannot go to {new}")
    updated = replace(rec, status=new, reason=reason, updated_at=now, **changes)  # type: ignore[arg-type]
    return updated, VnfEvent(now, rec.id, rec.name, rec.status, new, reason, tuple(changed_cps))


def require(rec: VnfRecord, op: str, allowed: Iterable[str]) -> None:
    if rec.status not in allowed:
        raise InvalidState(f"cannot {op} VNF {rec.name}: it is {rec.status}")


# -- names ------------------------------------------------------------------------------------
def b36(n: int, width: int = 1) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = B36[r] + out
    if n:
        raise InvalidRequest(f"number too large for {width} base-36 characters")
    return out


def allocate_code(used: Iterable[str]) -> str:
    """Lowest free 3-character code (46656 live VNFs per deployment)."""
    taken = set(used)
    for n in range(36 ** 3):
        if (code := b36(n, 3)) not in taken:
            return code
    raise InvalidRequest("no free VNF code left in this deployment")


def server_key(prefix: str, code: str, vdu_index: int, instance: int) -> str:
    """The VIM name of one VDU instance; its namespace, cgroup, volume and ports derive from it."""
    return f"{prefix}{code}{b36(vdu_index)}{b36(instance)}"


def port_name(key: str, cp_index: int) -> str:
    return f"{key}{b36(cp_index)}"


def max_prefix_len() -> int:
    return 15 - 6   # IFNAMSIZ-1 minus code(3) + vdu(1) + instance(1) + cp(1)


# -- networks and addresses --------------------------------------------------------------------
def plan_networks(names: Iterable[str], existing: Mapping[str, Network], pool: str,
                  wanted_cidrs: Mapping[str, str]) -> dict[str, Network]:
    """New Network rows for names not yet known: next free VLAN tag and /24 from ``pool``."""
    out: dict[str, Network] = {}
    vlans = {n.vlan for n in existing.values()}
    cidrs = {n.cidr for n in existing.values()}
    subnets = ipaddress.ip_network(pool).subnets(new_prefix=24)
    for name in sorted(set(names) - set(existing)):
        vlan = next(v for v in range(VLAN_FIRST, 4095) if v not in vlans)
        cidr = wanted_cidrs.get(name) or next(str(s) for s in subnets if str(s) not in cidrs)
        vlans.add(vlan)
        cidrs.add(cidr)
        out[name] = Network(name, vlan, str(ipaddress.ip_network(cidr, strict=False)))
    return out


def probe_ip(net: Network) -> str:
    """The monitor's own address in a network: its last host address."""
    hosts = ipaddress.ip_network(net.cidr).num_addresses
    return str(ipaddress.ip_network(net.cidr)[hosts - 2]) if hosts > 4 else ""


def dhcp_ip(net: Network) -> str:
    """The network's DHCP server address (as Neutron's DHCP port): the one below the monitor's."""
    hosts = ipaddress.ip_network(net.cidr).num_addresses
    return str(ipaddress.ip_network(net.cidr)[hosts - 3]) if hosts > 4 else ""


def allocate_ip(net: Network, used: set[str], wanted: str | None) -> str:
    """``wanted`` (checked) or the lowest free address from .2 (the .1 gateway, the monitor's
    last address and the DHCP server's below it are reserved); returns "a.b.c.d/len"."""
    subnet = ipaddress.ip_network(net.cidr)
    if wanted:
        addr = ipaddress.ip_interface(wanted if "/" in wanted else f"{wanted}/{subnet.prefixlen}")
        if addr.ip not in subnet:
            raise InvalidRequest(f"address {wanted} is not in {net.name}'s subnet {net.cidr}")
        if str(addr.ip) in used or str(addr.ip) == dhcp_ip(net):
            raise InvalidRequest(f"address {addr.ip} is already used on {net.name}")
        return f"{addr.ip}/{subnet.prefixlen}"
    reserved = {probe_ip(net), dhcp_ip(net)}
    for n, ip in enumerate(subnet.hosts()):
        if n >= 1 and str(ip) not in used and str(ip) not in reserved:
            return f"{ip}/{subnet.prefixlen}"
    raise InvalidRequest(f"network {net.name} ({net.cidr}) has no free address")


def allocate_mac(seed: str, used: set[str], wanted: str | None) -> str:
    """``wanted`` or a deterministic fa:16:3e:xx:xx:xx from ``seed``, avoiding ``used``."""
    if wanted:
        mac = wanted.lower()
        if mac in used:
            raise InvalidRequest(f"MAC {mac} is already used")
        return mac
    for salt in range(1000):
        h = hashlib.sha256(f"{seed}/{salt}".encode()).digest()
        mac = f"{MAC_OUI}:{h[0]:02x}:{h[1]:02x}:{h[2]:02x}"
        if mac not in used:
            return mac
    raise InvalidRequest("no free MAC")


# -- instances ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class VduPlan:
    """One VDU instance to create: its record before the VIM fills pid/ofports."""

    spec: VduSpec
    record: VduRecord


def plan_vdu(*, prefix: str, rec: VnfRecord, spec: VduSpec, instance: int,
             networks: Mapping[str, Network], used_ips: dict[str, set[str]],
             used_macs: set[str], bridge: str, keep: VduRecord | None = None) -> VduPlan:
    """Names, MACs and addresses for one VDU instance; ``keep`` (heal) reuses its identities.
    Scaled instances (> 0) take addresses from the network, never the VNFD's fixed ones."""
    key = server_key(prefix, rec.code, spec.index, instance)
    cps = []
    for n, cp in enumerate(spec.cps):
        net = networks[cp.network]
        old = next((c for c in keep.cps if c.name == cp.name), None) if keep else None
        if old is not None:
            mac, ip, ofport = old.mac, old.ip, old.ofport
        else:
            ips = used_ips.setdefault(net.name, set())
            ip = allocate_ip(net, ips, cp.ip if instance == 0 else None)
            mac = allocate_mac(f"{key}/{cp.name}/{rec.id}", used_macs,
                               cp.mac if instance == 0 else None)
            ips.add(ip.split("/")[0])
            used_macs.add(mac)
            ofport = 0
        cps.append(CpRecord(cp.name, spec.name, instance, net.name, cp.order, cp.management,
                            cp.iface, mac, ip, port_name(key, n), ofport, bridge, net.vlan))
    return VduPlan(spec, VduRecord(spec.name, instance, key, spec.image, None, tuple(cps),
                                   None, key, "", spec.nsh_aware))


def used_addresses(records: Iterable[VnfRecord]) -> tuple[dict[str, set[str]], set[str]]:
    ips: dict[str, set[str]] = {}
    macs: set[str] = set()
    for rec in records:
        for cp in rec.cps:
            if cp.ip:
                ips.setdefault(cp.vl, set()).add(cp.ip.split("/")[0])
            macs.add(cp.mac)
    return ips, macs


def plan_scale(rec: VnfRecord, policy: ScalingSpec, direction: str) -> list[tuple[str, int]]:
    """(vdu, instance) pairs to add ("out") or remove ("in"), or InvalidRequest past min/max."""
    if direction not in ("out", "in"):
        raise InvalidRequest(f"scale direction must be 'out' or 'in', not {direction!r}")
    out: list[tuple[str, int]] = []
    for vdu in policy.targets:
        have = sorted(v.instance for v in rec.vdus if v.name == vdu)
        if direction == "out":
            if len(have) + policy.increment > policy.max:
                raise InvalidRequest(f"scaling {rec.name} out by {policy.increment} would exceed "
                                     f"max_instances {policy.max} of {policy.name} ({vdu} has "
                                     f"{len(have)})")
            free = [i for i in range(36) if i not in have]
            out += [(vdu, i) for i in free[:policy.increment]]
        else:
            if len(have) - policy.increment < policy.min:
                raise InvalidRequest(f"scaling {rec.name} in by {policy.increment} would go below "
                                     f"min_instances {policy.min} of {policy.name} ({vdu} has "
                                     f"{len(have)})")
            out += [(vdu, i) for i in sorted(have, reverse=True)[:policy.increment]]
    return out


def update_problem(old: VnfSpec, new: VnfSpec) -> str:
    """Why ``new`` cannot replace ``old`` in place ("" if it can): an update recreates VDUs
    keeping their ports, so VDUs, their CPs and the networks those join must stay the same."""
    shape = lambda spec: {v.name: [(c.name, c.network) for c in v.cps] for v in spec.vdus}  # noqa: E731
    before, after = shape(old), shape(new)
    if set(before) != set(after):
        return f"the VDUs change ({', '.join(sorted(before))} -> {', '.join(sorted(after))})"
    for vdu, cps in sorted(before.items()):
        if cps != after[vdu]:
            return (f"VDU {vdu}'s connection points change ({', '.join(f'{c}@{n}' for c, n in cps)} -> "
                    f"{', '.join(f'{c}@{n}' for c, n in after[vdu])})")
    return ""


def initial_instances(spec: VnfSpec) -> list[tuple[VduSpec, int]]:
    return [(v, i) for v in spec.vdus for i in range(spec.default_instances(v.name))]


def garbage(prefix: str, existing_keys: Iterable[str], records: Iterable[VnfRecord]) -> list[str]:
    """VIM server keys present but owned by no record (a crash between create and commit)."""
    owned = {v.key for r in records for v in r.vdus}
    return sorted(k for k in existing_keys if k.startswith(prefix) and k not in owned)
