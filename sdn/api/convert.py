"""Protobuf messages ↔ ``sdn.document`` values: the controller API's one boundary.

A request is parsed once, here, into typed values; ``check_document``/``with_paths`` then check
them as a whole. The same messages are the controller's persisted state (``sdn.state``) and what
``GetState`` returns, so there is one codec for the document.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from sdn.api.v1 import sfc_pb2 as pb
from sdn.document import (DEFAULT_CLASSIFIER_PRIORITY, Classifier, Destination, DocumentError, Probes, ServiceFunction,
                          ServicePath, SfcDocument, SfInstance, Switch)
from sdn.match import ClassifierMatch, Network

_OPTIONAL_INTS = ("eth_type", "vlan_vid", "vlan_pcp", "mpls_label", "mpls_tc", "mpls_bos", "ip_proto", "ip_dscp",
                  "ip_ecn", "ipv6_flabel", "icmpv4_type", "icmpv4_code", "icmpv6_type", "icmpv6_code", "arp_op")
_MACS = ("eth_src", "eth_dst", "arp_sha", "arp_tha", "ipv6_nd_sll", "ipv6_nd_tll")
_PREFIXES = ("ip_src", "ip_dst", "arp_spa", "arp_tpa")
_PROBE_INTS = ("collector_set_base", "probability", "ipfix_cache_active_timeout", "sflow_sampling", "sflow_polling",
               "sflow_header")


# ----------------------------------------------------------------- values -> messages

def document_message(doc: SfcDocument) -> pb.Document:
    msg = pb.Document(switches=[pb.Switch(name=s.name, dpid=s.dpid, ovsdb=s.ovsdb, host_id=s.host_id,
                                                      tunnel_ip=s.tunnel_ip, gpe_port=s.gpe_port,
                                          tunnel_ports=list(s.tunnel_ports)) for s in doc.switches],
                      service_functions=[function_message(f) for f in doc.service_functions],
                      service_function_paths=[path_message(p) for p in doc.paths])
    if doc.probes is not None:
        msg.probes.CopyFrom(probes_message(doc.probes))
    return msg


def probes_message(probes: Probes) -> pb.Probes:
    return pb.Probes(ipfix_targets=list(probes.ipfix_targets), sflow_targets=list(probes.sflow_targets),
                     sflow_agent=probes.sflow_agent, sflow_agent_tunnel_ip=probes.sflow_agent_tunnel_ip,
                     **{k: getattr(probes, k) for k in _PROBE_INTS})


def function_message(fn: ServiceFunction) -> pb.ServiceFunction:
    return pb.ServiceFunction(name=fn.name, nsh_unaware=not fn.nsh_aware, instances=[
        pb.SfInstance(switch=i.switch, port=i.port, egress_port=i.egress_port, mac=_mac_bytes(i.mac),
                      weight=i.weight, slots=list(i.slots))
        for i in fn.instances])


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def path_message(path: ServicePath) -> pb.ServicePath:
    return pb.ServicePath(name=path.name, spi=path.spi, hops=list(path.hops), classifiers=[
        pb.Classifier(name=c.name, switch=c.switch, in_port=c.in_port, match=match_message(c.match),
                      priority=c.priority, destination=None if c.destination is None else
                      pb.Destination(switch=c.destination.switch, port=c.destination.port))
        for c in path.classifiers])


def match_message(match: ClassifierMatch) -> pb.Match:
    msg = pb.Match(**{k: getattr(match, k) for k in _OPTIONAL_INTS if getattr(match, k) is not None})
    for key in _MACS:
        if getattr(match, key) is not None:
            setattr(msg, key, bytes.fromhex(getattr(match, key).replace(":", "")))
    if match.ipv6_nd_target is not None:
        msg.ipv6_nd_target = match.ipv6_nd_target.packed
    for key in _PREFIXES:
        net = getattr(match, key)
        if net is not None:
            getattr(msg, key).CopyFrom(pb.IpPrefix(address=net.network_address.packed, prefix_length=net.prefixlen))
    for key in ("src_port", "dst_port"):
        span = getattr(match, key)
        if span is not None:
            getattr(msg, key).CopyFrom(pb.PortRange(low=span[0], high=span[1]))
    return msg


# ----------------------------------------------------------------- messages -> values

def document_value(msg: pb.Document) -> SfcDocument:
    """Unchecked values (``check_document`` checks them); DocumentError for what cannot be one."""
    return SfcDocument(tuple(Switch(s.name, s.dpid, s.ovsdb, s.host_id, s.tunnel_ip, s.gpe_port, tuple(s.tunnel_ports))
                             for s in msg.switches),
                       tuple(function_value(f) for f in msg.service_functions),
                       paths_value(msg.service_function_paths),
                       probes_value(msg.probes) if msg.HasField("probes") else None)


def probes_value(msg: pb.Probes) -> Probes:
    return Probes(ipfix_targets=tuple(msg.ipfix_targets), sflow_targets=tuple(msg.sflow_targets),
                  sflow_agent=msg.sflow_agent, sflow_agent_tunnel_ip=msg.sflow_agent_tunnel_ip,
                  **{k: getattr(msg, k) for k in _PROBE_INTS if msg.HasField(k)})


def function_value(msg: pb.ServiceFunction) -> ServiceFunction:
    return ServiceFunction(msg.name, tuple(
        SfInstance(i.switch, i.port, "" if i.egress_port == i.port else i.egress_port,
                   _mac_text(i.mac, f"service_functions[{msg.name}].instances[{j}].mac"),
                   i.weight if i.HasField("weight") else 1, tuple(i.slots))
        for j, i in enumerate(msg.instances)), not msg.nsh_unaware)


def paths_value(msgs: Iterable[pb.ServicePath]) -> tuple[ServicePath, ...]:
    return tuple(ServicePath(p.name, p.spi, tuple(p.hops), tuple(
        Classifier(c.name, c.in_port, match_value(c.match, f"service_function_paths[{p.name}].classifiers[{c.name}]"
                                                  ".match"),
                   c.switch, c.priority or DEFAULT_CLASSIFIER_PRIORITY,
                   Destination(c.destination.port, c.destination.switch) if c.HasField("destination") else None)
        for c in p.classifiers)) for p in msgs)


def _mac_text(raw: bytes, where: str) -> str:
    if raw and len(raw) != 6:
        raise DocumentError(where, f"a MAC address has 6 bytes, not {len(raw)}")
    return ":".join(f"{b:02x}" for b in raw)


def match_value(msg: pb.Match, where: str) -> ClassifierMatch:
    values: dict[str, object] = {k: getattr(msg, k) for k in _OPTIONAL_INTS if msg.HasField(k)}
    for key in _MACS:
        raw = getattr(msg, key)
        if raw:
            values[key] = _mac_text(raw, f"{where}.{key}")
    if msg.ipv6_nd_target:
        if len(msg.ipv6_nd_target) != 16:
            raise DocumentError(f"{where}.ipv6_nd_target", f"an IPv6 address has 16 bytes, not {len(msg.ipv6_nd_target)}")
        values["ipv6_nd_target"] = ipaddress.IPv6Address(msg.ipv6_nd_target)
    for key in _PREFIXES:
        if msg.HasField(key):
            values[key] = _prefix(getattr(msg, key), f"{where}.{key}")
            if key.startswith("arp_") and values[key].version != 4:  # type: ignore[union-attr]
                raise DocumentError(f"{where}.{key}", "ARP addresses are IPv4 (4 bytes)")
    for key in ("src_port", "dst_port"):
        if msg.HasField(key):
            span = getattr(msg, key)
            if not span.low <= span.high <= 0xFFFF:
                raise DocumentError(f"{where}.{key}", f"port range {span.low}-{span.high} is not within 0-65535 "
                                    "or runs backwards")
            values[key] = (span.low, span.high)
    return ClassifierMatch(**values)  # type: ignore[arg-type]


def _prefix(msg: pb.IpPrefix, where: str) -> Network:
    if len(msg.address) not in (4, 16):
        raise DocumentError(where, f"an IP address has 4 or 16 bytes, not {len(msg.address)}")
    try:
        return ipaddress.ip_network((msg.address, msg.prefix_length), strict=False)
    except ValueError as exc:
        raise DocumentError(where, str(exc)) from None
