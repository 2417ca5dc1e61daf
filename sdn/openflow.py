"""Flow entries as plain values: what the pure core computes and the OpenFlow shell encodes.

A Flow is identified on a switch by (table, priority, match), as OpenFlow itself does;
actions and cookie are its content. Match field names and value spellings are os-ken's
``OFPMatch`` keyword arguments (``in_port``, ``eth_type``, ``ipv4_src``, ``tcp_dst``,
``nsh_spi``, ``nsh_si``, ``nsh_c1`` ...); a masked value is a ``(value, mask)`` tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

MatchValue = Union[int, str, tuple]

OFPP_IN_PORT = 0xFFFFFFF8
OFPP_NORMAL = 0xFFFFFFFA
OFPP_CONTROLLER = 0xFFFFFFFD


@dataclass(frozen=True)
class Output:
    port: int


@dataclass(frozen=True)
class SetField:
    field: str
    value: MatchValue


@dataclass(frozen=True)
class NshTlv:
    """One MD type 2 context TLV (RFC 8300 section 2.5.1)."""

    md_class: int
    tlv_type: int
    value: bytes


@dataclass(frozen=True)
class EncapNsh:
    """OVS ``encap(nsh(md_type=N[,tlv(...)]))``: wraps the packet in an NSH header."""

    md_type: int = 1
    tlvs: tuple[NshTlv, ...] = ()


@dataclass(frozen=True)
class EncapEthernet:
    """OVS ``encap(ethernet)``: adds an outer Ethernet header (ethertype 0x894f over NSH)."""


@dataclass(frozen=True)
class Decap:
    """OVS ``decap()``: removes the outermost header (outer Ethernet, then NSH)."""


@dataclass(frozen=True)
class DecNshTtl:
    """OVS ``dec_nsh_ttl``: loop protection; drops the packet when the TTL reaches 0."""


@dataclass(frozen=True)
class Group:
    group_id: int


@dataclass(frozen=True)
class Resubmit:
    """Nicira ``resubmit(,table)`` (usable inside group buckets, unlike goto_table)."""

    table: int


@dataclass(frozen=True)
class Multipath:
    """Nicira ``multipath(symmetric_l3l4+udp, 0, modulo_n, buckets-1, 0, dst[0..n_bits-1])``.

    A hash of the L4 5-tuple that is the same in both directions of a connection, written to a
    register: taken before encap(nsh), it spreads flows over SF instances and keeps each
    connection (both ways) on one instance.
    """

    buckets: int
    dst: str = "reg0"
    n_bits: int = 4
    hash_fields: int = 3  # NX_HASH_FIELDS_SYMMETRIC_L3L4_UDP; read back as found, so older flows differ


@dataclass(frozen=True)
class RegMove:
    """Nicira ``move:src[src_ofs..]->dst[dst_ofs..]`` over ``n_bits`` bits."""

    src: str
    dst: str
    n_bits: int
    src_ofs: int = 0
    dst_ofs: int = 0


@dataclass(frozen=True)
class Sample:
    """Nicira ``sample(probability, collector_set_id, obs_domain_id, obs_point_id)``: OVS sends
    one in ``65535 / probability`` packets to the IPFIX exporter of that Flow_Sample_Collector_Set,
    tagged with the observation ids (``sdn.telemetry.observation`` says what they encode)."""

    probability: int
    collector_set_id: int
    obs_domain_id: int
    obs_point_id: int


Action = Union[Output, SetField, EncapNsh, EncapEthernet, Decap, DecNshTtl, Group, Resubmit, Multipath, RegMove,
               Sample]


def make_match(**fields: MatchValue) -> tuple[tuple[str, MatchValue], ...]:
    """A canonical (sorted) match, so equal matches compare and hash equal."""
    return tuple(sorted(fields.items()))


@dataclass(frozen=True)
class Flow:
    table: int
    priority: int
    match: tuple[tuple[str, MatchValue], ...]
    actions: tuple[Action, ...] = ()
    goto_table: int | None = None
    cookie: int = 0

    @property
    def key(self) -> tuple:
        """OpenFlow's identity of a flow entry within one switch."""
        return (self.table, self.priority, self.match)

    def match_dict(self) -> dict[str, MatchValue]:
        return dict(self.match)


@dataclass(frozen=True)
class Bucket:
    actions: tuple[Action, ...]
    weight: int = 0


@dataclass(frozen=True)
class GroupEntry:
    """An OpenFlow group (select for SF instances, with symmetric L4 hashing by OVS default)."""

    group_id: int
    group_type: str  # "select" | "all" | "indirect" | "ff"
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)
    cookie: int = 0


@dataclass(frozen=True)
class SwitchState:
    """Everything one datapath should hold that nfvchain owns."""

    flows: frozenset[Flow] = frozenset()
    groups: frozenset[GroupEntry] = frozenset()
