"""The desired-state document as a file (YAML or JSON; JSON is YAML) → checked typed values (pure).

The boundary where an operator's text is parsed, once: shapes and types here, operator match
spellings through ``sdn.match.parse_match``, consistency in ``sdn.document.check_document``.
``nfv sfc apply FILE`` uses it to build the controller's typed request. Format::

    switches:
      - {name: sff1, dpid: 0x1, ovsdb: "unix:/run/openvswitch/db.sock"}   # ovsdb: where probes are set
      # on the overlay (paths across SFFs, sdn.overlay): all three, or none
      - {name: compute2, dpid: 0xc0000000000002, host_id: 2, tunnel_ip: 172.31.250.2, gpe_port: gpe0,
         tunnel_ports: [vxl-compute1]}   # VL tunnels to other hosts: never classified here
    probes:                         # optional: sFlow + IPFIX on every switch with an ovsdb address
      ipfix_targets: ["127.0.0.1:4739"]
      collector_set_base: 1         # Flow_Sample_Collector_Set ids 1..4 (one per role)
      probability: 65535            # 65535 >> k: one in 2**k packets
      sflow_targets: ["127.0.0.1:6343"]
      sflow_sampling: 400           # OVS's default
      sflow_polling: 10
    service_functions:
      - name: fw
        instances: [{switch: sff1, port: fw0}, {switch: sff1, port: fw1, weight: 2}]  # weight 0: draining
      - name: bump                  # NSH-unaware: gets plain frames on port, returns them on egress_port
        nsh_aware: false
        instances: [{switch: sff1, port: bumpA, egress_port: bumpB}]
      - name: router                # NSH-unaware, one-armed, routes: frames go to it addressed to its MAC
        nsh_aware: false
        instances: [{switch: sff1, port: r0, mac: "02:00:00:00:00:01"}]
    service_function_paths:
      - name: web
        spi: 7
        hops: [fw, bump, ids]
        classifiers:
          - {name: http, switch: sff1, in_port: client, match: {tcp_dst: 80},
             destination: {switch: sff1, port: server}}   # the path ends there: out of that port
          - {name: dns, match: {udp_dst: 53}}   # no in_port: from every port that is not an SF's
"""

from __future__ import annotations

from typing import Any, Mapping

import yaml

from sdn.document import (DEFAULT_CLASSIFIER_PRIORITY, MAX_DPID, MAX_HOST_ID, MAX_PRIORITY, MAX_SPI, Classifier,
                          Destination, DocumentError, Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch,
                          check_document)
from sdn.match import L4_NAMES, ClassifierMatch, MatchError, parse_match

TOP_LEVEL = {"switches", "service_functions", "service_function_paths", "probes", "apiVersion", "kind"}
PROBE_INTS = ("collector_set_base", "probability", "ipfix_cache_active_timeout", "sflow_sampling", "sflow_polling",
              "sflow_header")
PROBE_LISTS = ("ipfix_targets", "sflow_targets")


def load_document(text: str, source: str = "document") -> SfcDocument:
    """Parse YAML or JSON text into a checked document."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DocumentError(source, f"not valid YAML/JSON{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_document(data or {})


def parse_document(data: Any) -> SfcDocument:
    """A decoded YAML/JSON mapping → a checked document."""
    if not isinstance(data, Mapping):
        raise DocumentError("", f"the document must be a mapping, not {type(data).__name__}")
    unknown = set(data) - TOP_LEVEL
    if unknown:
        raise DocumentError(sorted(map(str, unknown))[0], "unknown top-level key")
    switches = tuple(_switch(item, i) for i, item in enumerate(_list(data, "switches")))
    functions = tuple(_function(item, i) for i, item in enumerate(_list(data, "service_functions")))
    paths = tuple(_path(item, i) for i, item in enumerate(_list(data, "service_function_paths")))
    probes = _probes(data["probes"]) if data.get("probes") is not None else None
    return check_document(SfcDocument(switches, functions, paths, probes))


def parse_paths(items: Any) -> tuple[ServicePath, ...]:
    """``service_function_paths`` entries → path values, to check with ``with_paths``."""
    if not isinstance(items, list):
        raise DocumentError("service_function_paths", f"must be a list, not {type(items).__name__}")
    return tuple(_path(item, i) for i, item in enumerate(items))


def _list(data: Mapping, key: str, where: str = "") -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise DocumentError(f"{where}{key}", f"must be a list, not {type(value).__name__}")
    return value


def _entry(item: Any, where: str, allowed: set[str]) -> Mapping:
    if not isinstance(item, Mapping):
        raise DocumentError(where, f"must be a mapping, not {type(item).__name__}")
    unknown = set(item) - allowed
    if unknown:
        raise DocumentError(f"{where}.{sorted(map(str, unknown))[0]}", "unknown key")
    return item


def _name(item: Mapping, where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DocumentError(f"{where}.name", "a non-empty string is required")
    return name


def _int(item: Mapping, key: str, where: str, low: int, high: int) -> int:
    value = item.get(key)
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            pass
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DocumentError(f"{where}.{key}", f"must be an integer in {low}..{high}, got {value!r}")
    return value


def _text(item: Mapping, key: str, where: str, message: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or not value:
        raise DocumentError(f"{where}.{key}", message)
    return value


def _switch(item: Any, i: int) -> Switch:
    item = _entry(item, f"switches[{i}]", {"name", "dpid", "ovsdb", "host_id", "tunnel_ip", "gpe_port",
                                               "tunnel_ports"})
    name = _name(item, f"switches[{i}]")
    where = f"switches[{name}]"
    ovsdb = _text(item, "ovsdb", where, "must be an OVSDB remote like unix:/run/openvswitch/db.sock") \
        if "ovsdb" in item else ""
    host_id = _int(item, "host_id", where, 1, MAX_HOST_ID) if "host_id" in item else 0
    tunnel_ip = _text(item, "tunnel_ip", where, "must be an IPv4 address like 172.31.250.1") if "tunnel_ip" in item else ""
    gpe_port = _text(item, "gpe_port", where, "must be a port name like gpe0") if "gpe_port" in item else ""
    tunnels = _list(item, "tunnel_ports", f"{where}.")
    if not all(isinstance(t, str) for t in tunnels):
        raise DocumentError(f"{where}.tunnel_ports", "must be a list of port names")
    return Switch(name, _int(item, "dpid", where, 1, MAX_DPID), ovsdb, host_id, tunnel_ip, gpe_port, tuple(tunnels))


def _probes(item: Any) -> Probes:
    item = _entry(item, "probes", {*PROBE_INTS, *PROBE_LISTS, "sflow_agent", "sflow_agent_tunnel_ip"})
    values: dict[str, Any] = {k: _int(item, k, "probes", 0, 0xFFFFFFFF) for k in PROBE_INTS if k in item}
    for key in PROBE_LISTS:
        targets = _list(item, key, "probes.")
        for j, target in enumerate(targets):
            if not isinstance(target, str):
                raise DocumentError(f"probes.{key}[{j}]", f"expected host:port, got {target!r}")
        values[key] = tuple(targets)
    if "sflow_agent" in item:
        values["sflow_agent"] = _text(item, "sflow_agent", "probes", "must be an IP address or interface name")
    if "sflow_agent_tunnel_ip" in item:
        if not isinstance(item["sflow_agent_tunnel_ip"], bool):
            raise DocumentError("probes.sflow_agent_tunnel_ip", "must be true or false")
        values["sflow_agent_tunnel_ip"] = item["sflow_agent_tunnel_ip"]
    return Probes(**values)


def _function(item: Any, i: int) -> ServiceFunction:
    item = _entry(item, f"service_functions[{i}]", {"name", "instances", "nsh_aware"})
    name = _name(item, f"service_functions[{i}]")
    where = f"service_functions[{name}]"
    aware = item.get("nsh_aware", True)
    if not isinstance(aware, bool):
        raise DocumentError(f"{where}.nsh_aware", f"must be true or false, not {aware!r}")
    instances = []
    for j, raw in enumerate(_list(item, "instances", f"{where}.")):
        iwhere = f"{where}.instances[{j}]"
        raw = _entry(raw, iwhere, {"switch", "port", "egress_port", "mac", "weight", "slots"})
        switch = raw.get("switch")
        if not isinstance(switch, str):
            raise DocumentError(f"{iwhere}.switch", f"unknown switch {switch!r}")
        port = _text(raw, "port", iwhere, "a port name is required")
        egress = _text(raw, "egress_port", iwhere, "a port name is required", port)
        mac = raw.get("mac", "")
        if not isinstance(mac, str):  # YAML 1.1 reads some unquoted MACs as numbers
            raise DocumentError(f"{iwhere}.mac", f"expected a quoted MAC address, got {mac!r}")
        weight, slots = raw.get("weight", 1), raw.get("slots", [])
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise DocumentError(f"{iwhere}.weight", f"must be an integer (0: draining), got {weight!r}")
        if not isinstance(slots, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in slots):
            raise DocumentError(f"{iwhere}.slots", f"must be a list of slot numbers, got {slots!r}")
        instances.append(SfInstance(switch, port, "" if egress == port else egress, mac.lower(), weight, tuple(slots)))
    return ServiceFunction(name, tuple(instances), aware)


def _path(item: Any, i: int) -> ServicePath:
    where = f"service_function_paths[{i}]"
    item = _entry(item, where, {"name", "spi", "hops", "classifiers"})
    name = _name(item, where)
    where = f"service_function_paths[{name}]"
    spi = _int(item, "spi", where, 1, MAX_SPI)
    hops = _list(item, "hops", f"{where}.")
    for j, hop in enumerate(hops):
        if not isinstance(hop, str):
            raise DocumentError(f"{where}.hops[{j}]", f"unknown service function {hop!r}")
    classifiers = tuple(_classifier(raw, j, where) for j, raw in enumerate(_list(item, "classifiers", f"{where}.")))
    return ServicePath(name, spi, tuple(hops), classifiers)


def _classifier(raw: Any, j: int, path_where: str) -> Classifier:
    cwhere = f"{path_where}.classifiers[{j}]"
    raw = _entry(raw, cwhere, {"name", "switch", "in_port", "match", "priority", "destination"})
    name = _name(raw, cwhere)
    cwhere = f"{path_where}.classifiers[{name}]"
    switch = raw.get("switch", "")
    if not isinstance(switch, str):
        raise DocumentError(f"{cwhere}.switch", f"must be a switch name, not {switch!r}")
    in_port = _text(raw, "in_port", cwhere, "must be a port name (leave it out for every port that is not an SF's)") \
        if "in_port" in raw else ""
    match = raw.get("match", {}) or {}
    if not isinstance(match, Mapping):
        raise DocumentError(f"{cwhere}.match", "must be a mapping of field: value")
    try:
        parsed = parse_match(match)
    except MatchError as exc:
        raise DocumentError(f"{cwhere}.match.{exc.field}", exc.message) from None
    priority = _int(raw, "priority", cwhere, 1, MAX_PRIORITY) if "priority" in raw else DEFAULT_CLASSIFIER_PRIORITY
    return Classifier(name, in_port, parsed, switch, priority, _destination(raw, cwhere) if "destination" in raw else None)


def _destination(raw: Mapping[str, Any], cwhere: str) -> Destination:
    where = f"{cwhere}.destination"
    item = _entry(raw["destination"], where, {"switch", "port"})
    port = _text(item, "port", where, "must be a port name")
    switch = item.get("switch", "")
    if not isinstance(switch, str):
        raise DocumentError(f"{where}.switch", f"must be a switch name, not {switch!r}")
    return Destination(port, switch)


SWITCH_EXTRAS = ("ovsdb", "host_id", "tunnel_ip", "gpe_port")  # written when set


def document_dict(doc: SfcDocument) -> dict[str, Any]:
    """The document in this file format (what ``nfv sfc show -f yaml`` prints; it applies again)."""
    return {
        "switches": [{"name": s.name, "dpid": s.dpid, **{k: getattr(s, k) for k in SWITCH_EXTRAS if getattr(s, k)},
                      **({"tunnel_ports": list(s.tunnel_ports)} if s.tunnel_ports else {})} for s in doc.switches],
        **({"probes": probes_dict(doc.probes)} if doc.probes is not None else {}),
        "service_functions": [
            {"name": f.name, **({} if f.nsh_aware else {"nsh_aware": False}), "instances": [
                {"switch": i.switch, "port": i.port, **({"egress_port": i.egress_port} if i.egress_port else {}),
                 **({"mac": i.mac} if i.mac else {}), **({"weight": i.weight} if i.weight != 1 else {}),
                 **({"slots": list(i.slots)} if i.slots else {})} for i in f.instances]} for f in doc.service_functions],
        "service_function_paths": [
            {"name": p.name, "spi": p.spi, "hops": list(p.hops), "classifiers": [
                {"name": c.name, "switch": c.switch, **({"in_port": c.in_port} if c.in_port else {}),
                 "priority": c.priority, "match": match_dict(c.match),
                 **({"destination": {"switch": c.destination.switch, "port": c.destination.port}}
                    if c.destination is not None else {})} for c in p.classifiers]} for p in doc.paths],
    }


def probes_dict(probes: Probes) -> dict[str, Any]:
    out: dict[str, Any] = {k: list(getattr(probes, k)) for k in PROBE_LISTS}
    out.update({k: getattr(probes, k) for k in PROBE_INTS})
    return {**out, **({"sflow_agent": probes.sflow_agent} if probes.sflow_agent else {}),
            **({"sflow_agent_tunnel_ip": True} if probes.sflow_agent_tunnel_ip else {})}


def match_dict(match: ClassifierMatch) -> dict[str, Any]:
    """Canonical spellings: ports by protocol (``tcp_dst: 80``, ``udp_src: 1000-1999``)."""
    l4 = L4_NAMES.get(match.ip_proto or 6, "tp")
    out: dict[str, Any] = {}
    for key, value in match.items():
        if key in ("src_port", "dst_port"):
            low, high = value  # type: ignore[misc]
            out[f"{l4}_{key[:3]}"] = low if low == high else f"{low}-{high}"
        else:
            out[key] = str(value) if key in ("ip_src", "ip_dst", "arp_spa", "arp_tpa", "ipv6_nd_target") else value
    return out
