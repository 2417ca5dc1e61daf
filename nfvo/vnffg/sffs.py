"""The SFFs the NFVO renders chains onto: one controller ``Switch`` per compute host (pure).

Where a switch comes from: each VIM host (``Vim.hosts()``: ``ComputeHostInfo``) names its SFF
(``switch``, the document's name for it: the host's name on a multi-host VIM, the bridge on a
single-host one), its dpid and OVSDB remote, and, on the overlay, its host id, underlay address,
VXLAN-GPE port and the tunnel ports carrying virtual links to other hosts. A VIM record the hosts
do not describe (registered with a bridge no host names, e.g. before its VIM reported hosts)
keeps what it was registered with: its bridge and dpid, a switch of its own. A host that says no
dpid takes its VIM record's (a single-host VIM's bridge is registered with one); one with neither
is left out, so a chain that needs it is refused naming its switch (render: "belongs to no
registered VIM").

A host that is down (failed, its OVS not answering) is no SFF: its switch is left out, so chains
render on the others (an evacuation moves its VNFs away first).

The values are the controller's own ``sdn.document.Switch`` (what ``build_document`` emits),
so they are built once here and passed on as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

from nfvo.errors import FailedPrecondition
from nfvo.model import VimRecord
from sdn.document import Classifier, Destination, Switch
from vnfm.vim.base import ComputeHostInfo


def vim_switches(vims: Sequence[VimRecord], hosts: Iterable[ComputeHostInfo] = ()) -> dict[str, Switch]:
    """Switch name -> its ``Switch``: every host's SFF, then every VIM record no host describes."""
    registered = {v.bridge: v.dpid for v in vims}
    out: dict[str, Switch] = {}
    covered: set[str] = set()
    for h in hosts:
        if not h.switch:
            continue
        covered |= {h.switch, h.bridge}
        if not h.up:
            continue    # a down host's SFF leaves the overlay: chains render without it (and its classifiers)
        dpid = h.dpid or registered.get(h.switch, 0)
        if dpid:
            out[h.switch] = Switch(h.switch, dpid, h.ovsdb, h.host_id, h.underlay_ip, h.gpe_port, tuple(h.tunnel_ports))
    for bridge, dpid in registered.items():
        if bridge not in covered:
            out.setdefault(bridge, Switch(bridge, dpid))
    return out


def off_overlay(switch: Switch) -> str:
    """Why a path cannot cross from or to ``switch`` ("" if it can)."""
    if switch.on_overlay:
        return ""
    missing = [k for k, v in (("host id", switch.host_id), ("tunnel IP", switch.tunnel_ip),
                              ("GPE port", switch.gpe_port)) if not v]
    return f"{switch.name} has no {', '.join(missing)} (its VIM puts no overlay between hosts)"


def check_known(switches: Iterable[str], known: Mapping[str, Switch], where: str) -> None:
    unknown = sorted(set(switches) - set(known))
    if unknown:
        raise FailedPrecondition(f"switch {', '.join(unknown)} belongs to no registered VIM", where)


@dataclass(frozen=True)
class UnawareHop:
    """An NSH-unaware hop as check_crossing sees it: its index, name, its instances' switches and
    whether it routes (its instances have a MAC the switch addresses frames to)."""

    index: int
    name: str
    switches: frozenset[str]
    routes: bool


def check_crossing(hop_switches: Iterable[str], classifiers: Sequence[Classifier], unaware: Sequence[UnawareHop],
                   switches: Mapping[str, Switch], where: str) -> None:
    """A path whose classifiers and hops are on several switches is carried between them by the
    controller's overlay (VXLAN-GPE + NSH): every switch involved must be on it. An NSH-unaware
    hop (``unaware``) is proxied by the switch of each of its instances, which re-classifies what
    that instance sends back there. One that does not route (a bump in the wire, whose frames keep
    the client's addresses) leaves only the classified port to say where traffic entered: on one
    host, the path's classified ports must be on it too; on several, every classifier needs a
    destination (its CP: the path ends there whichever instance served it). FailedPrecondition
    naming the switches and why, or the hop."""
    classifier_switches = {c.switch for c in classifiers}
    names = sorted(set(hop_switches) | classifier_switches)
    check_known(names, switches, f"{where}.classifiers")
    if len(names) < 2:
        return
    why = [w for w in (off_overlay(switches[n]) for n in names) if w]
    if why:
        raise FailedPrecondition(f"the path's classifiers and hops are on several switches ({', '.join(names)}), and "
                                 f"only switches on the overlay carry a path between them: {'; '.join(why)}", where)
    for hop in unaware:
        own = sorted(hop.switches)
        if hop.routes:
            continue
        blind = sorted(c.name for c in classifiers if c.destination is None)
        if len(own) > 1 and blind:
            raise FailedPrecondition(f"hop {hop.name} is NSH-unaware, does not route (a bump in the wire) and has "
                                     f"instances on several hosts ({', '.join(own)}): after it only the classified "
                                     f"port tells where traffic entered, known on one host only, and classifier "
                                     f"{blind[0]} names no destination (give it network_dst_port_id, or pin the "
                                     "VNFs to one host)", f"{where}.hops[{hop.index}]")
        away = sorted(classifier_switches - set(own))
        if len(own) == 1 and away:
            raise FailedPrecondition(f"hop {hop.name} is NSH-unaware and does not route (a bump in the wire): after "
                                     f"it only the classified port tells where traffic entered, so the path's "
                                     f"classified ports must be on its host {own[0]} (some are on {', '.join(away)})",
                                     f"{where}.hops[{hop.index}]")


def with_destination(classifiers: tuple[Classifier, ...], destination: Destination | None, switches: Mapping[str, Switch],
                     hop_switches: frozenset[str], sf_ports: frozenset[tuple[str, str]]) -> tuple[Classifier, ...]:
    """``classifiers`` ending at ``destination`` (their traffic's CP: the path ends on its host, out
    of its port) when the controller can carry the path there -- its switch known, and the path's
    only switch or every switch involved on the overlay; else as they are (the path ends where it
    was classified and NORMAL delivers, over the virtual link's tunnel if need be)."""
    if destination is None or destination.switch not in switches or (destination.switch, destination.port) in sf_ports:
        return classifiers
    involved = hop_switches | {c.switch for c in classifiers} | {destination.switch}
    if len(involved) > 1 and not all(n in switches and switches[n].on_overlay for n in involved):
        return classifiers
    return tuple(c if (c.switch, c.in_port) == (destination.switch, destination.port) else replace(c, destination=destination)
                 for c in classifiers)
