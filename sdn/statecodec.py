"""Checked documents and rendered flows as plain nested tuples, for the state file's fast path (pure).

Why not the API's protobuf: turning those messages back into values re-parses every prefix and
the values must then be checked and compiled again (~2 s for 10,000 paths); these tuples carry
the checked document with each classifier's compiled matches and the flows rendered from it, so
a restart rebuilds the very values it saved. They hold only ``marshal``'s types (tuples, ints,
strings, bytes, None), never code; ``sdn.state`` checksums them and keeps them only while the
code that checked and rendered them is unchanged. Decoding raises ``CodecError`` (or a
TypeError/ValueError/IndexError from a value of the wrong shape), and the caller then takes
the slow path.

Field order follows each dataclass's declaration (``dataclasses.fields``): a class that gains a
field changes the code fingerprint, so older tuples are never read into it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import fields
from typing import Any, Callable

from sdn.document import Classifier, Destination, Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch
from sdn.match import ClassifierMatch
from sdn.openflow import (Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group, GroupEntry, Multipath, NshTlv,
                          Output, RegMove, Resubmit, Sample, SetField, SwitchState)
from sdn.render import Owned


class CodecError(ValueError):
    """Tuples that are not what ``encode_*`` writes."""


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_MATCH_FIELDS = _names(ClassifierMatch)
_NETWORKS = frozenset({"ip_src", "ip_dst", "arp_spa", "arp_tpa"})
_ADDRESS = "ipv6_nd_target"
_ACTIONS: tuple[type, ...] = (Output, SetField, EncapNsh, EncapEthernet, Decap, DecNshTtl, Group, Resubmit, Multipath,
                              RegMove, Sample)
_ACTION_TAG = {cls: i for i, cls in enumerate(_ACTIONS)}
_ACTION_FIELDS = {cls: _names(cls) for cls in _ACTIONS}


def _plain(obj: Any) -> tuple:
    """A dataclass of plain fields (strings, numbers, tuples of them) as its field values."""
    return tuple(getattr(obj, name) for name in _names(type(obj)))


# ----------------------------------------------------------------- documents

def encode_path(path: ServicePath) -> tuple:
    """One checked path, its classifiers' compiled matches included."""
    return (path.name, path.spi, path.hops, tuple(
        (c.name, c.in_port, _encode_match(c.match), c.switch, c.priority, c.matches,
         None if c.destination is None else _plain(c.destination)) for c in path.classifiers))


def encode_document(doc: SfcDocument, path_memo: Callable[[ServicePath], tuple] = encode_path) -> tuple:
    """``doc`` (checked); ``path_memo`` encodes one path (a caller's memo, so a save after a
    one-path change encodes one path)."""
    return (tuple(_plain(s) for s in doc.switches),
            tuple((f.name, tuple(_plain(i) for i in f.instances), f.nsh_aware) for f in doc.service_functions),
            tuple(path_memo(p) for p in doc.paths),
            None if doc.probes is None else _plain(doc.probes))


def decode_document(data: tuple) -> SfcDocument:
    """What encode_document wrote, compiled matches already in place (no re-check needed)."""
    switches, functions, paths, probes = data
    networks: dict[tuple, Any] = {}  # equal prefixes become one object (most classifiers share some)
    return SfcDocument(
        tuple(Switch(*s) for s in switches),
        tuple(ServiceFunction(name, tuple(SfInstance(*i) for i in instances), aware)
              for name, instances, aware in functions),
        tuple(ServicePath(name, spi, tuple(hops), tuple(_classifier(c, networks) for c in classifiers))
              for name, spi, hops, classifiers in paths),
        None if probes is None else Probes(*probes))


def _classifier(data: tuple, networks: dict[tuple, Any]) -> Classifier:
    name, in_port, match, switch, priority, compiled, destination = data
    c = Classifier(name, in_port, _decode_match(match, networks), switch, priority,
                   None if destination is None else Destination(*destination))
    if not isinstance(compiled, tuple) or not all(isinstance(m, tuple) for m in compiled):
        raise CodecError(f"classifier {name}: compiled matches are not tuples")
    c.__dict__["matches"] = compiled  # the cached_property's slot: compile_match's result as saved
    return c


def _encode_match(match: ClassifierMatch) -> tuple:
    return tuple(v if v is None or (k not in _NETWORKS and k != _ADDRESS) else _encode_ip(v)
                 for k, v in zip(_MATCH_FIELDS, _plain(match), strict=True))


def _encode_ip(value: Any) -> tuple[int, int, int]:
    """(version, address as an integer, prefix length; -1 for an address)."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value.version, int(value.network_address), value.prefixlen
    return value.version, int(value), -1


def _decode_ip(data: tuple[int, int, int]) -> Any:
    version, number, length = data
    if length < 0:
        return ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number)
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return cls(number) if length == (32 if version == 4 else 128) else cls((number, length))


def _decode_match(data: tuple, networks: dict[tuple, Any]) -> ClassifierMatch:
    if len(data) != len(_MATCH_FIELDS):
        raise CodecError(f"a match of {len(data)} fields, not {len(_MATCH_FIELDS)}")
    values = list(data)
    for i, key in enumerate(_MATCH_FIELDS):
        raw = values[i]
        if raw is None or (key not in _NETWORKS and key != _ADDRESS):
            continue
        value = networks.get(raw)
        if value is None:
            value = networks[raw] = _decode_ip(raw)
        if (key == _ADDRESS) != isinstance(value, ipaddress.IPv6Address):
            raise CodecError(f"match field {key}: {value!r} is not of its kind")
        values[i] = value
    return ClassifierMatch(*values)


# ----------------------------------------------------------------- rendered flows

def encode_state(state: SwitchState) -> tuple:
    """One owner's part of a switch: its flows and groups."""
    return (tuple((f.table, f.priority, f.match, _encode_actions(f.actions), f.goto_table, f.cookie) for f in state.flows),
            tuple((g.group_id, g.group_type, tuple((_encode_actions(b.actions), b.weight) for b in g.buckets), g.cookie)
                  for g in state.groups))


def _encode_actions(actions: tuple) -> tuple:
    out = []
    for a in actions:
        values = _plain(a)
        if isinstance(a, EncapNsh):
            values = (a.md_type, tuple(_plain(t) for t in a.tlvs))
        out.append((_ACTION_TAG[type(a)], *values))
    return tuple(out)


class StateDecoder:
    """Decodes owners' parts, sharing equal action lists between them (as rendering does)."""

    def __init__(self) -> None:
        self._lists: dict[tuple, tuple] = {}
        self._actions: dict[tuple, Any] = {}

    def owned(self, parts: tuple) -> Owned:
        return {owner: self.state(part) for owner, part in parts}

    def state(self, data: tuple) -> SwitchState:
        flows, groups = data
        actions, flow = self.actions, Flow
        return SwitchState(
            frozenset([flow(t, p, tuple(m), actions(a), g, c) for t, p, m, a, g, c in flows]),
            frozenset(GroupEntry(gid, kind, tuple(Bucket(actions(a), w) for a, w in buckets), cookie)
                      for gid, kind, buckets, cookie in groups))

    def actions(self, data: tuple) -> tuple:
        hit = self._lists.get(data)
        if hit is None:
            hit = self._lists[data] = tuple(self.action(a) for a in data)
        return hit

    def action(self, data: tuple) -> Any:
        hit = self._actions.get(data)
        if hit is None:
            hit = self._actions[data] = _action(data)
        return hit


def _action(data: tuple) -> Any:
    cls = _ACTIONS[data[0]]
    if cls is EncapNsh:
        md_type, tlvs = data[1:]
        return EncapNsh(md_type, tuple(NshTlv(*t) for t in tlvs))
    if len(data) - 1 != len(_ACTION_FIELDS[cls]):
        raise CodecError(f"{cls.__name__} with {len(data) - 1} fields")
    return cls(*data[1:])
