"""A VNFFG hop + VNF records → the controller's service function (pure; ``nfvo.vnffg.render``
places them on paths).

A hop's instances are the CP on every VDU instance of every VNF it names, so a scaled VNF or an
abstract hop over several VNFs (``vnf_type``) becomes one load-balanced hop (the controller hashes
connections symmetrically over its instances, ``VNF1:CP+VNF3:CP``): what a hop is made of stays
structured in ``SfDef.members``, its name is only a name.

NSH-unaware hops become controller SFs with ``nsh_aware: false``: those the VNFFGD says
``sfc_encap: false``, and those it says nothing of whose VNFs' VDUs run software that does not
parse NSH (the image says; ``VduRecord.nsh_aware``). The VNF's ingress CP is the SF's ``port``,
its egress CP the ``egress_port`` (see ``unaware_cps``), named ``VNF:IN>OUT``. A symmetric
path's reverse passes the VNF backwards through its twin ``VNF:OUT>IN`` (ports swapped), the one
case the controller lets two SFs share ports. A one-armed unaware hop (``VNF:CP>CP``, Tacker's
port pair naming one CP) routes what it gets back out of the same port, so its instances carry
their CP's MAC: the switch addresses frames to it (a router drops frames not sent to it). A
two-armed one is taken for a bump-in-the-wire and gets frames as they are (a Linux bridge would
keep frames sent to its own port's MAC for itself).

Dead instances (``VduRecord.dead``: the VIM saw the program exit, or its monitor gave up on it)
are left out of their hop, so a load-balanced hop keeps only the live ones. A hop with none left
follows the VNFFG's failure policy until one is back: ``fail-closed`` (the default) renders it as
before, so its traffic goes on into the dead ports and is dropped; ``fail-open`` renders the path
without it (a path left with no hop is not rendered at all: its traffic is forwarded as if it were
not classified, straight to where it is addressed), as OVN's network functions offer. Either way
the reason is returned with the hop (``RenderedChain.degraded``: the NFVO's DEGRADED).
Instances draining (``Inventory.draining``) stay in their hop with weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import FAIL_OPEN, HopSpec
from sdn.document import ServiceFunction, SfInstance, Switch
from vnfm.model import CpRecord, Status, VnfRecord


@dataclass(frozen=True)
class Inventory:
    """What a render looks at: VNF records by name and the VIMs' switches (``nfvo.vnffg.sffs``)."""

    vnfs: Mapping[str, VnfRecord]
    switches: Mapping[str, Switch]  # switch name -> the controller's entry for it
    # (VNF, VDU, instance) draining before they go: weight 0, no new connections, ports still
    # admitted so what is inside them goes on (``nfvo.draining``)
    draining: frozenset[tuple[str, str, int]] = frozenset()


@dataclass(frozen=True)
class SfMember:
    """One VNF's part of a hop: the CP traffic enters by and, NSH-unaware, the one it leaves by."""

    vnf: str
    cp: str
    egress_cp: str = ""  # NSH-unaware only

    @property
    def label(self) -> str:
        return f"{self.vnf}:{self.cp}>{self.egress_cp}" if self.egress_cp else f"{self.vnf}:{self.cp}"


@dataclass(frozen=True)
class SfDef:
    """A hop as the controller's service function, with what it is made of."""

    members: tuple[SfMember, ...]
    instances: tuple[SfInstance, ...]
    nsh_aware: bool = True

    @property
    def name(self) -> str:
        return "+".join(m.label for m in self.members)

    @property
    def vnfs(self) -> frozenset[str]:
        return frozenset(m.vnf for m in self.members)

    def reversed(self) -> SfDef:
        """The twin a symmetric path's reverse passes: ingress and egress swapped."""
        if self.nsh_aware:
            return self
        return SfDef(tuple(SfMember(m.vnf, m.egress_cp, m.cp) for m in self.members),
                     tuple(SfInstance(i.switch, i.egress, "" if i.egress == i.port else i.port, i.mac, i.weight)
                           for i in self.instances), False)

    @property
    def one_armed(self) -> bool:
        """NSH-unaware, in and out by one CP: it must route (or proxy) what it gets."""
        return not self.nsh_aware and all(m.cp == m.egress_cp for m in self.members)

    def function(self) -> ServiceFunction:
        return ServiceFunction(self.name, self.instances, self.nsh_aware)


def type_matches(vnf_type: str | None, wanted: str) -> bool:
    """``firewall`` matches ``tosca.nodes.nfv.VNF.firewall`` (the last dotted part) or the full type."""
    if not vnf_type:
        return False
    return vnf_type == wanted or vnf_type.rsplit(".", 1)[-1].lower() == wanted.lower()


# A VNF in these states is (still) a hop's: its instances not known dead serve. DEAD: one or
# more of its VDUs died; PENDING_HEAL: being healed (what died is marked dead, the rest serves).
SERVING = (Status.ACTIVE, Status.DEAD, Status.PENDING_HEAL)


def hop_vnfs(hop: HopSpec, inv: Inventory, where: str) -> tuple[VnfRecord, ...]:
    if hop.vnf_type:
        found = tuple(v for _, v in sorted(inv.vnfs.items())
                      if type_matches(v.vnf_type, hop.vnf_type) and v.status in (Status.ACTIVE, Status.DEAD))
        if not found:
            raise FailedPrecondition(f"no ACTIVE VNF of type {hop.vnf_type!r}", where)
        return found
    out = []
    for name in hop.vnfs:
        vnf = inv.vnfs.get(name)
        if vnf is None:
            raise NotFound(f"no VNF {name!r}", where)
        if vnf.status not in SERVING:
            raise FailedPrecondition(f"VNF {name} is {vnf.status}, not ACTIVE", where)
        out.append(vnf)
    return tuple(out)


def first_data_cp(vnf: VnfRecord) -> CpRecord | None:
    """The CP chained traffic enters by default: non-management, lowest order (instance 0)."""
    cps = [c for c in vnf.cps if not c.management and c.instance == 0]
    return min(cps, key=lambda c: (c.order, c.name)) if cps else None


def hop_cps(vnf: VnfRecord, cp: str, where: str) -> tuple[CpRecord, ...]:
    """The hop's CP on every VDU instance of ``vnf``."""
    if not cp:
        first = first_data_cp(vnf)
        if first is None:
            raise FailedPrecondition(f"VNF {vnf.name} has no data (non-management) CP", where)
        cp = first.name
    found = tuple(c for c in vnf.cps if c.name == cp)
    if not found:
        names = ", ".join(sorted({c.name for c in vnf.cps}))
        raise InvalidArgument(f"VNF {vnf.name} has no CP {cp!r} (has {names})", where)
    if found[0].management:
        raise InvalidArgument(f"{vnf.name}:{cp} is a management CP", where)
    return found


def unaware_cps(vnf: VnfRecord, hop: HopSpec, where: str) -> tuple[str, str]:
    """Ingress and egress CP of an NSH-unaware hop: as given (a VNFFGD names the VNF twice in
    a row), else ``cp`` (or the first data CP) both ways: Tacker's port pair for a hop naming
    one CP is ingress = egress (a one-armed SF)."""
    ingress = hop_cps(vnf, hop.cp, where)[0].name
    return ingress, hop_cps(vnf, hop.egress_cp or ingress, where)[0].name


def vnf_nsh_aware(vnf: VnfRecord, cp: str, where: str) -> bool:
    """Whether the software behind ``vnf``'s hop CP parses NSH: every VDU instance holding it."""
    holders = {(c.vdu, c.instance) for c in hop_cps(vnf, cp, where)}
    return all(v.nsh_aware for v in vnf.vdus if (v.name, v.instance) in holders)


def hop_encap(hop: HopSpec, vnfs: tuple[VnfRecord, ...], where: str) -> bool:
    """The VNFFGD's ``sfc_encap`` if it says, else what the hop's VNFs run (all alike)."""
    if hop.sfc_encap is not None:
        return hop.sfc_encap
    aware = {v.name: vnf_nsh_aware(v, hop.cp, where) for v in vnfs}
    if len(set(aware.values())) > 1:
        raise FailedPrecondition("the hop balances over NSH-aware VNFs (" + ", ".join(n for n, a in aware.items() if a)
                                 + ") and NSH-unaware ones (" + ", ".join(n for n, a in aware.items() if not a)
                                 + "); say sfc_encap or split the hop", where)
    return next(iter(aware.values()))


def dead_instances(vnf: VnfRecord) -> set[tuple[str, int]]:
    """(VDU, instance) pairs known dead; a DEAD VNF that names none (a record from before VDUs
    said so) is dead as a whole."""
    dead = {(v.name, v.instance) for v in vnf.vdus if v.dead}
    if not dead and vnf.status == Status.DEAD:
        return {(v.name, v.instance) for v in vnf.vdus}
    return dead


def render_hop(hop: HopSpec, inv: Inventory, where: str, policy: str = "") -> tuple[SfDef | None, str]:
    """The hop's SF over its live instances, and what is wrong with it ("" if nothing): with no
    live instance, all of them (``fail-closed``: traffic dropped in the dead ports) or None
    (``fail-open``: bypass the hop)."""
    vnfs = hop_vnfs(hop, inv, where)
    encap = hop_encap(hop, vnfs, where)
    entries: list[tuple[SfMember, SfInstance, bool]] = []  # (member, instance, live)
    for vnf in vnfs:
        dead = dead_instances(vnf)

        def weight(c: CpRecord, name: str = vnf.name) -> int:
            return 0 if (name, c.vdu, c.instance) in inv.draining else 1

        if encap:
            cps = hop_cps(vnf, hop.cp, where)
            member = SfMember(vnf.name, cps[0].name)
            entries.extend((member, SfInstance(c.bridge, c.ovs_port, weight=weight(c)), (c.vdu, c.instance) not in dead)
                           for c in sorted(cps, key=lambda c: c.instance))
            continue
        cp_in, cp_out = unaware_cps(vnf, hop, where)
        member = SfMember(vnf.name, cp_in, cp_out)
        outs = {c.instance: c for c in hop_cps(vnf, cp_out, where)}
        for c in sorted(hop_cps(vnf, cp_in, where), key=lambda c: c.instance):
            out = outs.get(c.instance)
            if out is None or out.bridge != c.bridge:
                raise FailedPrecondition(f"{vnf.name}:{cp_out} of VDU instance {c.instance} is not on "
                                         f"switch {c.bridge}", where)
            one_armed = out.ovs_port == c.ovs_port  # it routes: frames go to it addressed to its CP's MAC
            entries.append((member, SfInstance(c.bridge, c.ovs_port, "" if one_armed else out.ovs_port,
                                               c.mac.lower() if one_armed else "", weight(c)),
                            (c.vdu, c.instance) not in dead))
    live = [e for e in entries if e[2]]
    lost, label = len(entries) - len(live), hop.label()
    if live and not lost:
        return _sf(entries, encap), ""
    if live:
        return _sf(live, encap), f"hop {label}: {lost} of {len(entries)} instances dead"
    why = ", ".join(f"VNF {v.name} {v.status}" for v in vnfs)
    if policy == FAIL_OPEN:
        return None, f"hop {label} bypassed (fail-open): {why}"
    return _sf(entries, encap), f"hop {label}: every instance dead ({why}), its traffic is dropped (fail-closed)"


def _sf(entries: list[tuple[SfMember, SfInstance, bool]], encap: bool) -> SfDef:
    members = tuple(dict.fromkeys(m for m, _, _ in entries))
    return SfDef(members, tuple(i for _, i, _ in entries), encap)

