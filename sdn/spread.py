"""An SF whose instances sit on several SFFs (compute hosts): what each switch holds for it (pure).

Why the same slot table as on one switch: the classifier's C4 flow hash picks an instance by the
SF's table (``sdn.balance``, planned by the controller with minimal moves, weights honoured,
weight 0 draining), so scaling an SF that spans hosts moves only the connections it must, as on
one switch; a modulo over a few C4 buckets would move most of them. Each switch that needs the
SF's table gets it once, shared by every path through the SF (a scale-out rewrites the tables,
never the paths): slot ``C4 & (size - 1)`` goes to the instance holding it when that instance is
on this switch (as ``sdn.render``: its port, through the proxy for an NSH-unaware one), else
tunnelled to the SFF holding it (``tunnel_to`` its tunnel IP, one flow per aligned block of the
slots that SFF holds), where the same table finds the slot local.

Which switches: those holding instances (NSH arriving over the overlay for the SF's SI meets the
table there) and each previous stop of a path through it -- the switches of the hop before it,
or its classifiers' when it is the first hop -- which hand its SI on (``balance_switches``). What
arrived from the GPE port is never tunnelled on by a table (a flow above the remote slots drops
it): two switches holding tables of different versions for a moment (a controller update reaches
them one after the other) would otherwise bounce a packet between them forever.

The SF's ports, on the switch of each instance: NSH-aware, admission (NSH from it to next-hop,
anything else dropped); NSH-unaware, as on one switch (``sdn.steering.unaware_port_state``: to
reclassify, the proxy's flow to a router's MAC), re-classified there by ``sdn.overlay``.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Hashable, Iterable, Mapping

from sdn.balance import blocks, table_of
from sdn.document import DocumentError, ServiceFunction, ServicePath, SfcDocument
from sdn.openflow import Action, Decap, Flow, Output, SetField, SwitchState, make_match
from sdn.pipeline import BALANCE
from sdn.steering import (PRIO_HOP, balance_number, checked, sf_port_flows, slot_flow, to_instance,
                          unaware_port_state)
from sdn.cookie import Role, make_cookie

Memo = Callable[[Hashable, Callable[[], SwitchState]], SwitchState]
LocalSlots = tuple[tuple[int, bool, str, tuple[tuple[int, int], ...]], ...]  # port, unaware, MAC, C4 value/masks
RemoteSlots = tuple[tuple[str, tuple[tuple[int, int], ...]], ...]  # tunnel IP of the SFF, C4 value/masks
PRIO_FROM_PEER = PRIO_HOP - 1  # from the GPE port, not local: dropped, above the remote slots
PRIO_REMOTE = PRIO_HOP - 2


def spans_switches(fn: ServiceFunction) -> bool:
    """Whether an SF's instances sit on several switches (its ports and table are then rendered here)."""
    return any(i.switch != fn.instances[0].switch for i in fn.instances)


def balance_switches(doc: SfcDocument) -> dict[str, frozenset[str]]:
    """Per SF spanning switches, the switches that hold its table: its instances' and every
    previous stop of a path through it. One pass over the paths, none without such an SF."""
    spread = {f.name: f for f in doc.service_functions if spans_switches(f)}
    if not spread:
        return {}
    names = frozenset(spread)
    switches = {f.name: frozenset(i.switch for i in f.instances) for f in doc.service_functions}
    need = {name: set(switches[name]) for name in spread}
    after: set[tuple[str, str]] = set()  # (previous hop, spread hop): the union once per pair, not per path
    for path in doc.paths:  # (every whole render walks it, per switch: kept lean)
        hops = path.hops
        if names.isdisjoint(hops):
            continue
        if hops[0] in names:
            first = need[hops[0]]
            for c in path.classifiers:
                first.add(c.switch)
        for pair in zip(hops, hops[1:], strict=False):
            if pair[1] in names:
                after.add(pair)
    for previous, hop in after:
        need[hop] |= switches[previous]
    return {name: frozenset(s) for name, s in need.items()}


def balance_switches_after(doc: SfcDocument, switch: str, fresh: Iterable[ServicePath], held: set[str], left: set[str]
                           ) -> dict[str, frozenset[str]]:
    """``balance_switches(doc)`` as far as ``switch`` goes, after a change of paths (``fresh``:
    their versions in ``doc``): ``held`` the SFs whose table the switch held before, ``left`` those
    a changed path's previous version handed on from here. Costs the changed paths, not every
    path, unless a table may have to go (its last path left): then the paths are walked until
    one still needs it."""
    switches = {f.name: frozenset(i.switch for i in f.instances) for f in doc.service_functions}
    spread = [f.name for f in doc.service_functions if spans_switches(f)]
    fresh = tuple(fresh)
    out = {}
    for name in spread:
        if (switch in switches[name] or any(_hands_on(p, name, switch, switches) for p in fresh)
                or name in held and (name not in left or any(_hands_on(p, name, switch, switches) for p in doc.paths))):
            out[name] = frozenset({switch})
    return out


def _hands_on(path: ServicePath, name: str, switch: str, switches: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``switch`` is a previous stop of SF ``name`` on ``path``."""
    for i, hop in enumerate(path.hops):
        if hop == name and (switch in switches[path.hops[i - 1]] if i else any(c.switch == switch for c in path.classifiers)):
            return True
    return False


def spread_owned(doc: SfcDocument, switch: str, ports: Mapping[str, int], gpe: int, memo: Memo,
                 tables: Mapping[str, frozenset[str]]) -> dict[str, SwitchState]:
    """The owners of SFs spanning switches on ``switch``: "sf:NAME" (an NSH-aware SF's local
    ports), "unaware:PORT" (an NSH-unaware one's), "balance:NAME" (its table, where ``tables``,
    from ``balance_switches``, says)."""
    owned: dict[str, SwitchState] = {}
    for fn in doc.service_functions:
        if not spans_switches(fn):
            continue
        where = f"service_functions[{fn.name}]"
        local = [(j, inst) for j, inst in enumerate(fn.instances) if inst.switch == switch]
        if fn.nsh_aware and local:
            numbers = tuple(port_of(ports, i.port, f"{where}.instances[{j}].port", switch) for j, i in local)
            owned[f"sf:{fn.name}"] = memo(("sf", numbers), partial(_admission_state, numbers))
        for j, inst in local if not fn.nsh_aware else ():
            inst_in = port_of(ports, inst.port, f"{where}.instances[{j}].port", switch)
            inst_out = port_of(ports, inst.egress, f"{where}.instances[{j}].{'egress_port' if inst.egress_port else 'port'}",
                               switch)
            for number in {inst_in, inst_out}:  # keyed by port, as sdn.render: a symmetric chain's twin shares them
                mac = inst.mac if number == inst_in else ""
                owned[f"unaware:{number}"] = memo(("unaware", number, inst_in == inst_out, mac),
                                                  partial(unaware_port_state, number, inst_in == inst_out, mac))
        if switch in tables.get(fn.name, ()):
            key = _table_key(doc, fn, switch, ports)
            owned[f"balance:{fn.name}"] = memo(("overlay-balance", gpe, *key), partial(_balance_state, gpe, *key))
    return owned


def _table_key(doc: SfcDocument, fn: ServiceFunction, switch: str, ports: Mapping[str, int]
               ) -> tuple[int, LocalSlots, RemoteSlots]:
    """(balancing id, this switch's instances and their slot blocks, every other SFF holding
    instances and the blocks of all the slots its instances hold)."""
    table = table_of([i.weight for i in fn.instances], [i.slots for i in fn.instances])
    local: list[tuple[int, bool, str, tuple[tuple[int, int], ...]]] = []
    away: dict[str, list[int]] = {}
    for j, inst in enumerate(fn.instances):
        if inst.switch == switch:
            port = port_of(ports, inst.port, f"service_functions[{fn.name}].instances[{j}].port", switch)
            local.append((port, not fn.nsh_aware, inst.mac, tuple(blocks(table.slots[j], table.size))))
        else:
            away.setdefault(inst.switch, []).extend(table.slots[j])
    remote = tuple((doc.switch(name).tunnel_ip, tuple(blocks(sorted(slots), table.size)))
                   for name, slots in sorted(away.items()) if slots)
    return balance_number(fn.name), tuple(local), remote


def _balance_state(gpe: int, number: int, local: LocalSlots, remote: RemoteSlots) -> SwitchState:
    return SwitchState(balance_flows(number, gpe, local, remote))


def balance_flows(number: int, gpe: int, local: LocalSlots, remote: RemoteSlots) -> frozenset[Flow]:
    """SF ``number``'s table on one switch: local slots to their instance, what came from a peer
    and is not local dropped, the remaining slots to the SFF holding them."""
    flows = {slot_flow(number, value, mask, to_instance(port, unaware, mac))
             for port, unaware, mac, pairs in local for value, mask in pairs}
    flows |= {slot_flow(number, value, mask, tunnel_to(ip, gpe), PRIO_REMOTE) for ip, pairs in remote
              for value, mask in pairs}
    flows.add(Flow(BALANCE, PRIO_FROM_PEER, make_match(in_port=gpe, reg2=number), (), cookie=make_cookie(Role.PIPELINE)))
    return checked(flows)


def _admission_state(ports: tuple[int, ...]) -> SwitchState:
    return SwitchState(sf_admission_flows(ports))


def sf_admission_flows(ports: tuple[int, ...]) -> frozenset[Flow]:
    """sdn.steering.sf_port_flows per local port of an SF across switches: NSH from it goes to
    next-hop, anything else from it is dropped."""
    return frozenset().union(*(sf_port_flows(p) for p in ports))


def tunnel_to(peer_ip: str, gpe_port: int) -> tuple[Action, ...]:
    """NSH to the SFF at ``peer_ip``: outer Ethernet off (bare NSH into the ptap port), VNI 0."""
    return Decap(), SetField("tunnel_id", 0), SetField("tun_ipv4_dst", peer_ip), Output(gpe_port)


def port_of(ports: Mapping[str, int], name: str, element: str, switch: str) -> int:
    """OpenFlow port number of port ``name`` on ``switch`` (sdn.render's, sdn.overlay's and ours);
    DocumentError naming ``element`` when the switch has no such port."""
    number = ports.get(name)
    if number is None:
        raise DocumentError(element, f"switch {switch} has no port {name!r}")
    return number
