"""The desired-state document: what an operator (or the NFVO) asks the controller for (pure).

One document is the whole desired SFC state: switches, service functions (their switch ports;
several instances allowed), service function paths (ordered hops plus classifiers) and,
optionally, the probes (sFlow/IPFIX) every switch with an OVSDB address exports. These
are typed values (``sdn.docmodel``, re-exported here); ``check_document`` checks one completely
before anything touches a switch, and every error names the element it is about, e.g.
``service_function_paths[web].classifiers[http].match.tcp_dst``. The values come from the
controller's gRPC API (``sdn.api.convert``), from a YAML/JSON file (``sdn.docfile``) or straight
from the NFVO's render.

NSH-unaware SFs (Tacker's ``sfc_encap: false``) are proxied by the switch: NSH comes off before
``port``; what returns on ``egress_port`` (default ``port``) is classified again by the path's
own classifiers (same matches, in_port = egress_port) and re-enters the path after that hop.
Hence the SF must leave the matched fields alone, and re-classification must be unambiguous:
one egress port may not re-classify an identical match for two paths (or twice for one path),
and a path through an unaware SF may not have identical matches on different in_ports, nor a
classifier bound to no port (the ingress port, restored at the path's end, could not be told
apart). A classifier bound to no port takes every port but SF ports, so an identical match at
the same priority on one port (another classifier) would make the switch choose: refused. A symmetric chain's reverse
path passes the same SF backwards: it names a twin SF whose instances swap ``port`` and
``egress_port`` -- the one case where SFs may share ports (both unaware, exactly swapped).

An unaware instance with a ``mac`` is an SF that routes (Tacker's one-armed VNF with IP forwarding
on): the proxy addresses frames to that MAC, as a router only accepts frames sent to it, and what
it sends back carries that MAC as source. Without one frames reach the SF as they are (a
bump-in-the-wire: a Linux bridge would take frames sent to its own port's MAC for itself).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Iterator, Mapping, Sequence

from dataplane.nsh import MAX_SPI  # the NSH header's 24-bit service path identifier (RFC 8300)
from sdn.balance import check_table
from sdn.docmodel import (DEFAULT_CLASSIFIER_PRIORITY, PROBABILITIES, SFLOW_SAMPLING, Classifier, CompiledMatch, Destination,
                          Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch)
from sdn.match import MatchError
from sdn.telemetry.observation import Role

__all__ = [  # the values live in sdn.docmodel; callers import them from here, with the checks
    "DEFAULT_CLASSIFIER_PRIORITY", "MAX_DPID", "MAX_HOPS", "MAX_HOST_ID", "MAX_PRIORITY", "MAX_SPI", "MAX_WEIGHT",
    "PROBABILITIES", "SFLOW_SAMPLING", "Classifier", "CompiledMatch", "Destination", "DocumentError", "Probes",
    "ServiceFunction", "ServicePath", "SfInstance", "SfcDocument", "Switch", "check_document", "check_probes",
    "overlay_switches", "reclassify_keys", "tunnel_ports", "with_paths",
]

MAX_HOPS = 254  # SI starts at 255; the path's end must still be representable
MAX_DPID = (1 << 64) - 1
MAX_HOST_ID = 4095  # 12 bits of NSH C1 (dataplane.nshcontext.INGRESS_HOST)
MAX_PRIORITY = 60000
MAX_WEIGHT = 1000

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
TARGET = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")
IPV4 = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
OVSDB_REMOTE = re.compile(r"^(unix:/\S+|(tcp|ssl):\S+:[0-9]{1,5})$")


class DocumentError(ValueError):
    """The document is malformed or inconsistent; ``element`` says where, ``message`` what."""

    def __init__(self, element: str, message: str):
        super().__init__(f"{element}: {message}" if element else message)
        self.element = element
        self.message = message


def check_document(doc: SfcDocument) -> SfcDocument:
    """``doc`` checked whole (classifier switches filled in), or DocumentError naming the element."""
    _check_switches(doc.switches)
    if doc.probes is not None:
        check_probes(doc.probes, doc.switches)
    _check_functions(doc.service_functions, {s.name for s in doc.switches}, overlay_switches(doc))
    index = _PathIndex(doc.service_functions, overlay_switches(doc), tunnel_ports(doc), {s.name: s for s in doc.switches})
    for fn in doc.service_functions:  # a tunnel port is never an SF's (nor a classifier's: _check_path)
        for j, inst in enumerate(fn.instances):
            if any((inst.switch, p) in index.tunnels for p in inst.ports):
                raise DocumentError(f"service_functions[{fn.name}].instances[{j}]", "a port of it is a tunnel port "
                                    f"of {inst.switch}")
    paths = []
    for i, path in enumerate(doc.paths):
        checked = _check_path(path, index, i)
        index.add(checked)
        paths.append(checked)
    return replace(doc, paths=tuple(paths))


def with_paths(doc: SfcDocument, upsert: Sequence[ServicePath], remove: Iterable[str] = ()) -> SfcDocument:
    """``doc`` (checked) with paths added/replaced and removed by name.

    Only the new paths are checked (against an index of the kept ones), so one more path on a
    document holding thousands costs one path's work.
    """
    remove = set(remove)
    missing = remove - {p.name for p in doc.paths}
    if missing:
        raise DocumentError(f"service_function_paths[{sorted(missing)[0]}]", "no such path")
    replaced = {p.name for p in upsert}
    kept = [p for p in doc.paths if p.name not in remove and p.name not in replaced]
    index = _PathIndex(doc.service_functions, overlay_switches(doc), tunnel_ports(doc), {s.name: s for s in doc.switches})
    for path in kept:
        index.add(path)
    added = []
    for i, path in enumerate(upsert):
        checked = _check_path(path, index, i)
        index.add(checked)
        added.append(checked)
    return replace(doc, paths=tuple(kept + added))


def _name(name: str, where: str) -> None:
    if not name.strip():
        raise DocumentError(f"{where}.name", "a non-empty string is required")


def _check_switches(switches: tuple[Switch, ...]) -> None:
    names: set[str] = set()
    dpids: dict[int, str] = {}
    hosts: dict[object, str] = {}
    for i, switch in enumerate(switches):
        _name(switch.name, f"switches[{i}]")
        where = f"switches[{switch.name}]"
        if not 1 <= switch.dpid <= MAX_DPID:
            raise DocumentError(f"{where}.dpid", f"must be an integer in 1..{MAX_DPID}, got {switch.dpid!r}")
        if switch.name in names:
            raise DocumentError(where, "duplicate switch name")
        if switch.dpid in dpids:
            raise DocumentError(f"{where}.dpid", f"dpid {switch.dpid:#x} is also switch {dpids[switch.dpid]}")
        if switch.ovsdb and not OVSDB_REMOTE.match(switch.ovsdb):
            raise DocumentError(f"{where}.ovsdb", "expected an OVSDB remote like unix:/run/openvswitch/db.sock "
                                f"or tcp:10.0.0.1:6640, got {switch.ovsdb!r}")
        _check_overlay(switch, where, hosts)
        for j, port in enumerate(switch.tunnel_ports):
            if not port or port == switch.gpe_port or port in switch.tunnel_ports[:j]:
                raise DocumentError(f"{where}.tunnel_ports[{j}]", f"{port!r} is empty, the GPE port or listed twice")
        names.add(switch.name)
        dpids[switch.dpid] = switch.name


def _check_overlay(switch: Switch, where: str, seen: dict[object, str]) -> None:
    """A switch's overlay fields: all or none, a host id and tunnel IP no other switch has."""
    given = [k for k in ("host_id", "tunnel_ip", "gpe_port") if getattr(switch, k)]
    if not given:
        return
    if len(given) < 3:
        missing = next(k for k in ("host_id", "tunnel_ip", "gpe_port") if k not in given)
        raise DocumentError(f"{where}.{missing}", "the overlay needs host_id, tunnel_ip and gpe_port together")
    if not 1 <= switch.host_id <= MAX_HOST_ID:
        raise DocumentError(f"{where}.host_id", f"must be an integer in 1..{MAX_HOST_ID}, got {switch.host_id!r}")
    if not IPV4.match(switch.tunnel_ip) or any(int(b) > 255 for b in switch.tunnel_ip.split(".")):
        raise DocumentError(f"{where}.tunnel_ip", f"expected an IPv4 address like 172.31.250.1, got {switch.tunnel_ip!r}")
    for key, value in (("host_id", switch.host_id), ("tunnel_ip", switch.tunnel_ip)):
        other = seen.setdefault((key, value), switch.name)
        if other != switch.name:
            raise DocumentError(f"{where}.{key}", f"{value} is also switch {other}'s")


def check_probes(probes: Probes, switches: Sequence[Switch] = ()) -> Probes:
    """``probes`` itself, or DocumentError naming the bad setting (``switches``: the document's,
    each switch with an OVSDB address needs a tunnel_ip for ``sflow_agent_tunnel_ip``)."""
    if probes.sflow_agent_tunnel_ip:
        if probes.sflow_agent:
            raise DocumentError("probes.sflow_agent", "must be empty with sflow_agent_tunnel_ip (each switch's "
                                f"agent is its tunnel_ip), got {probes.sflow_agent!r}")
        missing = next((s.name for s in switches if s.ovsdb and not s.tunnel_ip), None)
        if missing is not None:
            raise DocumentError("probes.sflow_agent_tunnel_ip", f"switch {missing} has an ovsdb address but no "
                                "tunnel_ip to be its sFlow agent")
    for key in ("ipfix_targets", "sflow_targets"):
        for i, target in enumerate(getattr(probes, key)):
            m = TARGET.match(target)
            if m is None or not 1 <= int(m.group(2)) <= 65535:
                raise DocumentError(f"probes.{key}[{i}]", f"expected host:port, got {target!r}")
    if probes.probability not in PROBABILITIES:
        raise DocumentError("probes.probability", "must be 65535 >> k for k in 0..15 (one in 2**k packets), "
                            f"got {probes.probability!r}")
    if not 0 <= probes.collector_set_base <= 0xFFFFFFFF - len(Role):
        raise DocumentError("probes.collector_set_base", f"must be an integer in 0..{0xFFFFFFFF - len(Role)} "
                            f"(one set per role from it), got {probes.collector_set_base!r}")
    for key, low, high in (("ipfix_cache_active_timeout", 0, 4200), ("sflow_sampling", 1, 0xFFFFFFFF),
                           ("sflow_polling", 0, 0xFFFFFFFF), ("sflow_header", 1, 0xFFFF)):
        value = getattr(probes, key)
        if not isinstance(value, int) or not low <= value <= high:
            raise DocumentError(f"probes.{key}", f"must be an integer in {low}..{high}, got {value!r}")
    return probes


def _check_functions(functions: tuple[ServiceFunction, ...], switches: set[str],
                     overlay: frozenset[str] = frozenset()) -> None:
    names: set[str] = set()
    used_ports: dict[tuple[str, str], tuple[str, bool, tuple[str, str], str]] = {}  # -> (SF, aware, (in, out), mac)
    for i, fn in enumerate(functions):
        _name(fn.name, f"service_functions[{i}]")
        where = f"service_functions[{fn.name}]"
        if fn.name in names:
            raise DocumentError(where, "duplicate service function name")
        names.add(fn.name)
        if not fn.instances:
            raise DocumentError(f"{where}.instances", "at least one instance is required")
        for j, inst in enumerate(fn.instances):
            iwhere = f"{where}.instances[{j}]"
            if inst.switch not in switches:
                raise DocumentError(f"{iwhere}.switch", f"unknown switch {inst.switch!r}")
            if not inst.port:
                raise DocumentError(f"{iwhere}.port", "a port name is required")
            if fn.nsh_aware and inst.egress_port:
                raise DocumentError(f"{iwhere}.egress_port", "only NSH-unaware SFs (nsh_aware: false) "
                                    "return traffic on another port")
            if inst.mac and fn.nsh_aware:
                raise DocumentError(f"{iwhere}.mac", "only NSH-unaware SFs (nsh_aware: false) get frames "
                                    "addressed to them")
            if inst.mac and not MAC.match(inst.mac):
                raise DocumentError(f"{iwhere}.mac", f"expected a MAC address like 02:00:00:00:00:01, got {inst.mac!r}")
            pair = (inst.port, inst.egress)
            for key, port in zip(("port", "egress_port"), inst.ports, strict=False):  # 1 or 2 ports
                other = used_ports.get((inst.switch, port))
                twin = other is not None and not fn.nsh_aware and not other[1] and other[2] == pair[::-1] \
                    and other[0] != fn.name and other[3] == inst.mac
                if other is not None and not twin:
                    raise DocumentError(f"{iwhere}.{key}", f"port {port} on {inst.switch} is already used by "
                                        f"{other[0]} (only NSH-unaware SFs with swapped port and "
                                        "egress_port, and the same mac, may share ports)")
            for port in inst.ports:
                used_ports[(inst.switch, port)] = (fn.name, fn.nsh_aware, pair, inst.mac)
        off = next((i for i in fn.instances if i.switch not in overlay), None)
        if off is not None and any(inst.switch != off.switch for inst in fn.instances):  # (unaware: each proxied by its own)
            raise DocumentError(f"{where}.instances", "instances of one SF on several switches must each be on the "
                                f"overlay (host_id, tunnel_ip, gpe_port): {off.switch} is not")
        _check_balance(fn, where)


def _check_balance(fn: ServiceFunction, where: str) -> None:
    """Instance weights in range; slots, if planned, a table ``sdn.balance`` can use."""
    for j, inst in enumerate(fn.instances):
        if not isinstance(inst.weight, int) or not 0 <= inst.weight <= MAX_WEIGHT:
            raise DocumentError(f"{where}.instances[{j}].weight", f"must be an integer in 0..{MAX_WEIGHT} "
                                f"(0: draining), got {inst.weight!r}")
    if any(inst.slots for inst in fn.instances):
        problem = check_table([inst.slots for inst in fn.instances])
        if problem:
            raise DocumentError(f"{where}.instances", f"slots: {problem}")


class _PathIndex:
    """What later paths are checked against: SPIs, classifier names, exact matches and
    re-classification keys (after NSH-unaware SFs) in use."""

    def __init__(self, functions: tuple[ServiceFunction, ...], overlay: frozenset[str] = frozenset(),
                 tunnels: frozenset[tuple[str, str]] = frozenset(), switches: Mapping[str, Switch] | None = None):
        self.by_fn = {f.name: f for f in functions}
        self.switches = switches  # by name (None: not checked, for callers that index paths only)
        self.overlay = overlay  # switches a path may cross to (Switch.on_overlay)
        self.tunnels = tunnels  # (switch, port) of every VL tunnel port
        self.sf_ports = {(inst.switch, p) for f in functions for inst in f.instances for p in inst.ports}
        self.names: set[str] = set()
        self.spis: dict[int, str] = {}
        self.classifiers: dict[str, str] = {}
        self.matches: dict[tuple, dict[str, str]] = {}  # (switch, priority, match) -> in_port -> owner
        self.reclassify: dict[tuple, str] = {}

    def add(self, path: ServicePath) -> None:
        self.names.add(path.name)
        self.spis[path.spi] = path.name
        for c in path.classifiers:
            self.classifiers[c.name] = path.name
            for m in c.matches:
                self.matches.setdefault((c.switch, c.priority, m), {})[c.in_port] = f"{path.name}/{c.name}"
        for key, _, c in reclassify_keys(path, self.by_fn):
            self.reclassify[key] = f"{path.name}/{c.name}"


def overlay_switches(doc: SfcDocument) -> frozenset[str]:
    return frozenset(s.name for s in doc.switches if s.on_overlay)


def tunnel_ports(doc: SfcDocument) -> frozenset[tuple[str, str]]:
    return frozenset((s.name, p) for s in doc.switches for p in s.tunnel_ports)


def _crossing(path: ServicePath, by_fn: Mapping[str, ServiceFunction], overlay: frozenset[str],
              where: str) -> frozenset[str] | None:
    """The SFFs of a path that crosses switches (None if its hops share one): each on the overlay;
    an NSH-unaware hop that does not route (a bump in the wire, no MAC) on its classifiers' switch:
    its proxy re-classifies there, and only there is the port they are bound to known for C1
    (sdn.overlay); with instances on several switches, only with a destination for every
    classifier; a router's frames carry its MAC, so the path then ends on its host instead."""
    switches = {i.switch for h in path.hops for i in by_fn[h].instances}
    first = by_fn[path.hops[0]].instances[0].switch
    classifier_switches = {c.switch for c in path.classifiers if c.switch} | {
        c.destination.switch or c.switch or first for c in path.classifiers if c.destination is not None}
    if len(switches | classifier_switches) == 1:
        return None
    for j, hop in enumerate(path.hops):
        fn = by_fn[hop]
        if fn.instances[0].switch not in overlay:  # (an SF across switches is all on the overlay: checked)
            sffs = ", ".join(sorted(switches | classifier_switches))
            raise DocumentError(f"{where}.hops[{j}]", f"the path crosses SFFs ({sffs}), but switch "
                                f"{fn.instances[0].switch} of {hop} is not on the overlay (host_id, tunnel_ip, gpe_port)")
        own = fn.instances[0].switch
        hosts = sorted({i.switch for i in fn.instances})
        blind = next((c for c in path.classifiers if c.destination is None), None)  # (a bump's C1 after it: its port)
        if len(hosts) > 1 and not fn.nsh_aware and any(not i.mac for i in fn.instances) and blind is not None:
            raise DocumentError(f"{where}.hops[{j}]", f"NSH-unaware SF {hop} does not route (no mac) and has instances on "
                                f"several switches ({', '.join(hosts)}): after it only the classifier's port tells where "
                                f"traffic entered, known on one host only; give classifier {blind.name} a destination "
                                "(network_dst_port_id) or keep the SF's instances on one switch")
        away = next((c for c in path.classifiers if (c.switch or first) != own), None)
        if away is not None and not fn.nsh_aware and any(not i.mac for i in fn.instances) and len(hosts) == 1:
            raise DocumentError(f"{where}.hops[{j}]", f"NSH-unaware SF {hop} does not route (no mac): after it only the "
                                f"classifier's port tells where traffic entered, so its classifiers must be on its "
                                f"switch {own} (classifier {away.name} is on {away.switch or first})")
    return frozenset(switches | classifier_switches)


def reclassify_keys(path: ServicePath, by_fn: Mapping[str, ServiceFunction]
                    ) -> Iterator[tuple[tuple, int, Classifier]]:
    """(switch, egress port, priority, match), hop index, classifier: one per flow that
    re-classifies traffic coming back from an NSH-unaware hop of ``path``."""
    for j, hop in enumerate(path.hops):
        fn = by_fn[hop]
        if fn.nsh_aware:
            continue
        for inst in fn.instances:
            for c in path.classifiers:
                for m in c.matches:
                    yield (inst.switch, inst.egress, c.priority, m), j, c


def _check_reclassify(path: ServicePath, where: str, index: _PathIndex) -> None:
    local: dict[tuple, tuple[int, Classifier]] = {}
    for key, j, c in reclassify_keys(path, index.by_fn):
        cwhere = f"{where}.classifiers[{c.name}].match"
        hop, port = path.hops[j], key[1]
        if key in index.reclassify:
            raise DocumentError(cwhere, f"traffic back from NSH-unaware SF {hop} on port {port} would be "
                                f"re-classified identically for classifier {index.reclassify[key]}")
        if key in local:
            other_j, other = local[key]
            if other_j != j:
                raise DocumentError(f"{where}.hops[{j}]", f"port {port} returns traffic of hop "
                                    f"{other_j} too: NSH-unaware hops cannot be told apart")
            if all(i.mac for i in index.by_fn[hop].instances) and other.destination == c.destination:
                continue  # a router sends it with its own MAC: re-classified alike, C1 = its port, one flow
            if other.destination != c.destination:
                raise DocumentError(cwhere, f"identical to classifier {other.name}, which has another destination: "
                                    f"after NSH-unaware SF {hop} the two cannot be told apart")
            raise DocumentError(cwhere, f"identical to classifier {other.name} on in_port {other.in_port}: "
                                f"after NSH-unaware SF {hop} the ingress port cannot be told apart")
        local[key] = (j, c)


def _check_path(path: ServicePath, index: _PathIndex, position: int) -> ServicePath:
    by_fn, sf_ports = index.by_fn, index.sf_ports
    _name(path.name, f"service_function_paths[{position}]")
    where = f"service_function_paths[{path.name}]"
    if path.name in index.names:
        raise DocumentError(where, "duplicate path name")
    if not 1 <= path.spi <= MAX_SPI:
        raise DocumentError(f"{where}.spi", f"must be an integer in 1..{MAX_SPI}, got {path.spi!r}")
    if path.spi in index.spis:
        raise DocumentError(f"{where}.spi", f"SPI {path.spi} is already used by path {index.spis[path.spi]}")
    if not path.hops:
        raise DocumentError(f"{where}.hops", "at least one hop is required")
    if len(path.hops) > MAX_HOPS:
        raise DocumentError(f"{where}.hops", f"{len(path.hops)} hops exceed the {MAX_HOPS} the SI can count")
    for j, hop in enumerate(path.hops):
        if hop not in by_fn:
            raise DocumentError(f"{where}.hops[{j}]", f"unknown service function {hop!r}")
    path_switch = by_fn[path.hops[0]].instances[0].switch  # classifiers default to the first SFF
    for c in path.classifiers:  # before the crossing check, which lists the switches
        if c.destination is not None and c.destination.switch and index.switches is not None \
                and c.destination.switch not in index.switches:
            raise DocumentError(f"{where}.classifiers[{c.name}].destination.switch",
                                f"unknown switch {c.destination.switch!r}")
    crossing = _crossing(path, by_fn, index.overlay, where)
    classifiers: list[Classifier] = []
    local_matches: dict[tuple, dict[str, str]] = {}
    for j, c in enumerate(path.classifiers):
        _name(c.name, f"{where}.classifiers[{j}]")
        cwhere = f"{where}.classifiers[{c.name}]"
        if c.name in index.classifiers or any(other.name == c.name for other in classifiers):
            owner = index.classifiers.get(c.name, path.name)
            raise DocumentError(cwhere, f"duplicate classifier name (also in path {owner})")
        switch = c.switch or path_switch
        if switch != path_switch and (crossing is None or switch not in index.overlay):
            raise DocumentError(f"{cwhere}.switch", f"must be the path's switch {path_switch!r}"
                                if crossing is None else f"{switch!r} is not a switch on the overlay "
                                "(host_id, tunnel_ip, gpe_port)")
        bridging = next((h for h in path.hops if not by_fn[h].nsh_aware
                         and any(not i.mac for i in by_fn[h].instances)), None)
        if not c.in_port and bridging is not None:
            raise DocumentError(f"{cwhere}.in_port", f"the path passes NSH-unaware SF {bridging}, which does not "
                                "route (no mac): a classifier bound to no port cannot be told apart after it "
                                "(name the port traffic enters by)")
        if (switch, c.in_port) in sf_ports or (switch, c.in_port) in index.tunnels:
            raise DocumentError(f"{cwhere}.in_port", f"port {c.in_port} is a service function port" if (switch, c.in_port)
                                in sf_ports else f"port {c.in_port} is a tunnel port: classified on its own host")
        if not 1 <= c.priority <= MAX_PRIORITY:
            raise DocumentError(f"{cwhere}.priority", f"must be an integer in 1..{MAX_PRIORITY}, got {c.priority!r}")
        try:
            compiled = c.matches
        except MatchError as exc:
            raise DocumentError(f"{cwhere}.match.{exc.field}", exc.message) from None
        for m in compiled:
            key = (switch, c.priority, m)
            for owners in (index.matches.get(key, {}), local_matches.get(key, {})):
                clash = owners.get(c.in_port) or owners.get("") or (next(iter(owners.values()), None)
                                                                    if not c.in_port else None)
                if clash:
                    why = "" if c.in_port in owners else " at the same priority (one of them, bound to no port, " \
                        "takes the other's port too)"
                    raise DocumentError(f"{cwhere}.match", f"identical to classifier {clash}{why}")
            local_matches.setdefault(key, {})[c.in_port] = f"{path.name}/{c.name}"
        if c.destination is not None:
            c = replace(c, destination=_check_destination(c, switch, crossing is not None, index, f"{cwhere}.destination"))
        classifiers.append(c if c.switch == switch else replace(c, switch=switch))
    checked = replace(path, classifiers=tuple(classifiers))
    _check_reclassify(checked, where, index)
    return checked


def _check_destination(c: Classifier, switch: str, crossing: bool, index: _PathIndex, where: str) -> Destination:
    """A classifier's destination (its switch filled in): a named port on a known switch, that is no
    SF's, tunnel's or the GPE port, nor the port the traffic enters by; off the path's switch only
    on the overlay (the end SI is carried there)."""
    dest = c.destination
    assert dest is not None
    dest = dest if dest.switch else replace(dest, switch=switch)
    known = index.switches
    if not dest.port:
        raise DocumentError(f"{where}.port", "a port name is required")
    if (dest.switch, dest.port) in index.sf_ports or (dest.switch, dest.port) in index.tunnels or (
            known is not None and dest.port == known[dest.switch].gpe_port):
        raise DocumentError(f"{where}.port", f"port {dest.port} on {dest.switch} is a service function's or tunnel "
                            "port: a destination is where traffic leaves the chain")
    if (dest.switch, dest.port) == (switch, c.in_port):
        raise DocumentError(f"{where}.port", f"port {dest.port} is the classifier's in_port: traffic would go back "
                            "where it came from")
    if crossing and dest.switch not in index.overlay:
        raise DocumentError(f"{where}.switch", f"{dest.switch!r} is not a switch on the overlay (host_id, tunnel_ip, "
                            "gpe_port): the path crosses SFFs")
    return dest
