"""Flow / GroupEntry values <-> OpenFlow 1.3 wire bytes (plus ONF bundle framing).

Why not os-ken's OFPFlowMod: building one costs ~115 us in Python, which caps installs at ~5k
flows/s while OVS takes 70k+/s inside a bundle. Flows come in few *shapes* (table, priority,
match field names, action kinds); each shape compiles once into a list of constant byte chunks
and value slots, so encoding a flow is a handful of ``int.to_bytes`` calls and one join.
Decoding goes the other way from os-ken's parsed flow-stats / group-desc objects (rare path).
"""

from __future__ import annotations

import socket
import struct
from functools import lru_cache
from typing import Any, Callable, Iterable

from os_ken.lib import type_desc
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as ofpp

from sdn import ofactions as nx
from os_ken.ofproto import nicira_ext, oxm_fields

from sdn.openflow import (Action, Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group,
                      GroupEntry, Multipath, NshTlv, Output, RegMove, Resubmit, Sample, SetField, OFPP_CONTROLLER)

OFP_VERSION = 4


def _register_packet_type() -> None:
    """OXM ``packet_type`` (OpenFlow basic field 44, OF1.5 but accepted by OVS in OF1.3), which
    os-ken's OF1.3 table lacks: NSH arriving bare over a ptap VXLAN-GPE port is matched by
    ``packet_type=(1,0x894f)`` (sdn.overlay). Registered once, before anything is encoded or
    parsed, so our encoder and os-ken's reply parser both know it."""
    if any(f.name == "packet_type" for f in ofp.oxm_types):
        return
    ofp.oxm_types.append(oxm_fields.OpenFlowBasic("packet_type", 44, type_desc.Int4))
    oxm_fields.generate(ofp.__name__)


_register_packet_type()
# OVS's symmetric_l4 leaves UDP ports out (every UDP flow between two hosts hashes alike);
# symmetric_l3l4+udp hashes IP addresses, protocol and TCP/UDP/SCTP ports, both ways alike.
# nicira-ext.h's NX_HASH_FIELDS_* as ovs-ofctl spells them (os-ken names only the first two)
HASH_FIELD_NAMES = {0: "eth_src", 1: "symmetric_l4", 2: "symmetric_l3l4", 3: "symmetric_l3l4+udp", 4: "nw_src",
                    5: "nw_dst", 6: "symmetric_l3"}
FLOW_COMMANDS = {"add": ofp.OFPFC_ADD, "modify": ofp.OFPFC_MODIFY,
                 "modify_strict": ofp.OFPFC_MODIFY_STRICT, "delete": ofp.OFPFC_DELETE,
                 "delete_strict": ofp.OFPFC_DELETE_STRICT}
GROUP_COMMANDS = {"add": ofp.OFPGC_ADD, "modify": ofp.OFPGC_MODIFY, "delete": ofp.OFPGC_DELETE}
GROUP_TYPES = {"all": ofp.OFPGT_ALL, "select": ofp.OFPGT_SELECT,
               "indirect": ofp.OFPGT_INDIRECT, "ff": ofp.OFPGT_FF}
GROUP_TYPE_NAMES = {v: k for k, v in GROUP_TYPES.items()}
BUNDLE_FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
ANY = 0xFFFFFFFF

_OFP_HEADER = struct.Struct("!BBHI")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


# ---------------------------------------------------------------- OXM fields

def _int_enc(size: int) -> Callable[[Any], bytes]:
    return lambda v: int(v).to_bytes(size, "big")


def _ipv4_enc(v: Any) -> bytes:
    return int(v).to_bytes(4, "big") if isinstance(v, int) else socket.inet_aton(v)


def _ipv6_enc(v: Any) -> bytes:
    return int(v).to_bytes(16, "big") if isinstance(v, int) else socket.inet_pton(socket.AF_INET6, v)


def _mac_enc(v: Any) -> bytes:
    return int(v).to_bytes(6, "big") if isinstance(v, int) else bytes.fromhex(v.replace(":", ""))


@lru_cache(maxsize=None)
def _field(name: str) -> tuple[bytes, bytes, Callable[[Any], bytes]]:
    """(unmasked OXM header, masked OXM header, value encoder) for an os-ken field name."""
    num, t = ofp.oxm_get_field_info_by_name(name)
    size = t.size
    plain, masked = bytearray(), bytearray()
    ofp.oxm_serialize(num, b"\0" * size, None, plain, 0)
    ofp.oxm_serialize(num, b"\0" * size, b"\xff" * size, masked, 0)
    enc = {type_desc.IPv4Addr: _ipv4_enc, type_desc.IPv6Addr: _ipv6_enc,
           type_desc.MacAddr: _mac_enc}.get(t) or (
        _int_enc(size) if isinstance(t, type_desc.IntDescr) else t.from_user)
    return bytes(plain[:-size]), bytes(masked[:-2 * size]), enc


@lru_cache(maxsize=None)
def _rank(name: str) -> int:
    """OXM order (os-ken's field table order): prerequisites before the fields needing them,
    which OVS checks field by field while parsing (arp_op before eth_type is refused)."""
    return next(i for i, f in enumerate(ofp.oxm_types) if f.name == name)


def _is_masked(value: Any) -> bool:
    return isinstance(value, tuple) or (isinstance(value, str) and "/" in value)


def _oxm(name: str, value: Any) -> bytes:
    plain, masked, enc = _field(name)
    if not _is_masked(value):
        return plain + enc(value)
    if isinstance(value, str):  # CIDR "10.0.0.0/24": os-ken's own parser knows it
        _num, v, m = ofp.oxm_from_user(name, value)
        return masked + bytes(v) + bytes(m)
    return masked + enc(value[0]) + enc(value[1])


# ---------------------------------------------------------------- actions

def _action_bytes(action: Action) -> bytes:
    if isinstance(action, Output):
        max_len = ofp.OFPCML_NO_BUFFER if action.port == OFPP_CONTROLLER else 0
        return struct.pack("!HHIH6x", ofp.OFPAT_OUTPUT, 16, action.port, max_len)
    if isinstance(action, Group):
        return struct.pack("!HHI", ofp.OFPAT_GROUP, 8, action.group_id)
    if isinstance(action, SetField) and action.field == "in_port":
        # OVS refuses set_field on OXM_OF_IN_PORT (OFPBAC_BAD_SET_ARGUMENT) but takes the
        # 16-bit NXM_OF_IN_PORT, which is what ovs-ofctl itself sends for set_field:N->in_port.
        return struct.pack("!HHIH6x", ofp.OFPAT_SET_FIELD, 16, 0x00000002,
                           int(action.value))  # type: ignore[arg-type]
    if isinstance(action, SetField):
        tlv = _oxm(action.field, action.value)
        length = 4 + len(tlv)
        pad = -length % 8
        return struct.pack("!HH", ofp.OFPAT_SET_FIELD, length + pad) + tlv + b"\0" * pad
    if isinstance(action, Resubmit):
        return struct.pack("!HHIHHB3x", 0xFFFF, 16, nx.NX_EXPERIMENTER, 14, 0xFFF8, action.table)
    if isinstance(action, EncapNsh):
        if action.md_type == 1 and not action.tlvs:
            return nx.ENCAP_NSH_MD1
        tlvs = tuple((t.md_class, t.tlv_type, t.value) for t in action.tlvs)
        return nx.encap_bytes(nx.PT_NSH, nx.nsh_props(action.md_type, tlvs))
    if isinstance(action, EncapEthernet):
        return nx.ENCAP_ETHERNET
    if isinstance(action, Decap):
        return nx.DECAP
    if isinstance(action, DecNshTtl):
        return nx.DEC_NSH_TTL
    if isinstance(action, (Multipath, RegMove)):
        return _nx_bytes(action)
    if isinstance(action, Sample):
        return nx.sample_bytes(action.probability, action.collector_set_id, action.obs_domain_id, action.obs_point_id)
    raise TypeError(f"unsupported action {action!r}")


@lru_cache(maxsize=1024)
def _nx_bytes(action: Multipath | RegMove) -> bytes:
    """Rare, value-free Nicira actions: let os-ken build them once per distinct value."""
    if isinstance(action, Multipath):
        built = ofpp.NXActionMultipath(
            fields=action.hash_fields, basis=0, algorithm=nicira_ext.NX_MP_ALG_MODULO_N,
            max_link=action.buckets - 1, arg=0, ofs_nbits=nicira_ext.ofs_nbits(0, action.n_bits - 1),
            dst=action.dst)
    else:
        built = ofpp.NXActionRegMove(src_field=action.src, dst_field=action.dst, n_bits=action.n_bits,
                                     src_ofs=action.src_ofs, dst_ofs=action.dst_ofs)
    buf = bytearray()
    built.serialize(buf, 0)
    length = struct.unpack_from("!H", buf, 2)[0]  # os-ken declares the padded length but may not pad
    return bytes(buf) + b"\0" * (length - len(buf))


_VALUE_FREE = {EncapEthernet: nx.ENCAP_ETHERNET, Decap: nx.DECAP, DecNshTtl: nx.DEC_NSH_TTL}


# ---------------------------------------------------------------- flow mods

_FM_BODY = struct.Struct("!QQBBHHHIIIH2x")  # cookie .. pad, after the ofp header


def _compile(command: int, table: int, priority: int, goto: int | None,
             fields: tuple[tuple[str, bool], ...], actions: tuple) -> Callable[[Flow, int], bytes]:
    """An encoder for one flow shape: constant chunks precomputed, values patched in."""
    tail = _FM_BODY.pack(0, 0, table, command, 0, 0, priority, ofp.OFP_NO_BUFFER, ANY, ANY, 0)[8:]
    order = sorted(range(len(fields)), key=lambda i: _rank(fields[i][0]))
    field_fns: list[tuple[int, str, bytes, Callable[[Any], bytes], bool]] = []
    for i in order:
        name, masked = fields[i]
        plain, masked_hdr, enc = _field(name)
        field_fns.append((i, name, masked_hdr if masked else plain, enc, masked))
    match_len = 4 + sum(len(h) + len(enc_zero(n)) * (2 if m else 1)
                        for _i, n, h, _e, m in field_fns)
    match_head = struct.pack("!HH", ofp.OFPMT_OXM, match_len)
    match_pad = b"\0" * (-match_len % 8)
    with_instr = command not in (ofp.OFPFC_DELETE, ofp.OFPFC_DELETE_STRICT)
    goto_bytes = struct.pack("!HHB3x", ofp.OFPIT_GOTO_TABLE, 8, goto) if goto is not None else b""
    const_actions = {i: _VALUE_FREE[a] for i, a in enumerate(actions) if a in _VALUE_FREE}
    header = _OFP_HEADER.pack

    def encode(flow: Flow, xid: int) -> bytes:
        parts: list[bytes] = [_U64.pack(flow.cookie), tail, match_head]
        match: Any = flow.match
        for i, name, hdr, enc, masked in field_fns:
            value = match[i][1]
            if not masked:
                parts += (hdr, enc(value))
            elif isinstance(value, str):
                parts.append(_oxm(name, value))
            else:
                parts += (hdr, enc(value[0]), enc(value[1]))
        parts.append(match_pad)
        if with_instr:
            if flow.actions:
                acts = b"".join(const_actions.get(i) or _action_bytes(a)
                                for i, a in enumerate(flow.actions))
                parts += (struct.pack("!HH4x", ofp.OFPIT_APPLY_ACTIONS, 8 + len(acts)), acts)
            parts.append(goto_bytes)
        body = b"".join(parts)
        return header(OFP_VERSION, ofp.OFPT_FLOW_MOD, 8 + len(body), xid) + body

    return encode


def enc_zero(name: str) -> bytes:
    return b"\0" * ofp.oxm_get_field_info_by_name(name)[1].size


_ENCODERS: dict[tuple, Callable[[Flow, int], bytes]] = {}


def flow_mod_encoder(flow: Flow, command: str) -> Callable[[Flow, int], bytes]:
    """The cached encoder for ``flow``'s shape: command, table, priority, goto, match field
    names (and which are masked), action kinds (and set_field targets). The key is built with
    plain comprehensions because it is computed once per flow on the hot path."""
    match = tuple([(n, True) if v.__class__ is tuple or (v.__class__ is str and "/" in v)
                   else n for n, v in flow.match])
    acts = tuple([(a.field, a.value.__class__ is tuple or (a.value.__class__ is str and "/" in a.value))
                  if a.__class__ is SetField else a.__class__ for a in flow.actions])
    key = (command, flow.table, flow.priority, flow.goto_table, match, acts)
    enc = _ENCODERS.get(key)
    if enc is None:
        if len(_ENCODERS) > 65536:  # unbounded shapes would be a bug upstream; stay bounded
            _ENCODERS.clear()
        enc = _ENCODERS[key] = _compile(
            FLOW_COMMANDS[command], flow.table, flow.priority, flow.goto_table,
            tuple((m, False) if isinstance(m, str) else m for m in match), acts)
    return enc


def encode_flow_mod(flow: Flow, command: str = "add", xid: int = 0) -> bytes:
    """One OFPT_FLOW_MOD; ``command`` in add | modify_strict | delete_strict (| modify | delete)."""
    return flow_mod_encoder(flow, command)(flow, xid)


# ---------------------------------------------------------------- groups, bundles, barrier

def encode_group_mod(group: GroupEntry, command: str = "add", xid: int = 0) -> bytes:
    """One OFPT_GROUP_MOD (OF1.3 groups carry no cookie; the driver remembers it)."""
    buckets = b""
    if command != "delete":
        for b in group.buckets:
            acts = b"".join(_action_bytes(a) for a in b.actions)
            buckets += struct.pack("!HHII4x", 16 + len(acts), b.weight, ANY, ANY) + acts
    body = struct.pack("!HBxI", GROUP_COMMANDS[command], GROUP_TYPES[group.group_type],
                       group.group_id) + buckets
    return _OFP_HEADER.pack(OFP_VERSION, ofp.OFPT_GROUP_MOD, 8 + len(body), xid) + body


def encode_barrier(xid: int) -> bytes:
    return _OFP_HEADER.pack(OFP_VERSION, ofp.OFPT_BARRIER_REQUEST, 8, xid)


def encode_bundle_ctrl(xid: int, bundle_id: int, ctrl_type: int,
                       flags: int = BUNDLE_FLAGS) -> bytes:
    """ONF bundle control (EXT-230 in OF1.3): open / commit / discard request."""
    return (_OFP_HEADER.pack(OFP_VERSION, ofp.OFPT_EXPERIMENTER, 24, xid)
            + struct.pack("!IIIHH", ofp_common_onf(), ofp.ONF_ET_BUNDLE_CONTROL, bundle_id,
                          ctrl_type, flags))


def encode_bundle_add(inner: bytes, bundle_id: int, flags: int = BUNDLE_FLAGS) -> bytes:
    """Wrap one message in an ONF bundle-add; the outer xid must equal the inner one."""
    xid = _U32.unpack_from(inner, 4)[0]
    return (_OFP_HEADER.pack(OFP_VERSION, ofp.OFPT_EXPERIMENTER, 24 + len(inner), xid)
            + struct.pack("!III2xH", ofp_common_onf(), ofp.ONF_ET_BUNDLE_ADD_MESSAGE,
                          bundle_id, flags) + inner)


def ofp_common_onf() -> int:
    return 0x4F4E4600


# ---------------------------------------------------------------- decoding

def decode_action(act: Any) -> Action:
    """An os-ken action object (as parsed from a reply) -> our Action value."""
    if isinstance(act, ofpp.OFPActionOutput):
        return Output(act.port)
    if isinstance(act, ofpp.OFPActionGroup):
        return Group(act.group_id)
    if isinstance(act, ofpp.OFPActionSetField):  # in_port goes out as NXM_OF_IN_PORT (above)
        return SetField("in_port" if act.key == "in_port_nxm" else act.key, act.value)
    if isinstance(act, ofpp.NXActionResubmitTable):
        return Resubmit(act.table_id)
    if isinstance(act, nx.NXActionEncap):
        if act.new_pkt_type == nx.PT_ETHERNET:
            return EncapEthernet()
        return EncapNsh(act.md_type, tuple(NshTlv(c, t, v) for c, t, v in act.tlvs))
    if isinstance(act, nx.NXActionDecap):
        return Decap()
    if isinstance(act, (nx.NXActionDecNshTtlExact, ofpp.NXActionDecNshTtl)):
        return DecNshTtl()
    if isinstance(act, ofpp.NXActionMultipath):
        ours = act.algorithm == nicira_ext.NX_MP_ALG_MODULO_N and act.basis == 0 and act.arg == 0
        return Multipath(act.max_link + 1, act.dst, (act.ofs_nbits & 0x3F) + 1, act.fields if ours else -1)
    if isinstance(act, ofpp.NXActionRegMove):
        return RegMove(act.src_field, act.dst_field, act.n_bits, act.src_ofs, act.dst_ofs)
    if isinstance(act, ofpp.NXActionSample):
        return Sample(act.probability, act.collector_set_id, act.obs_domain_id, act.obs_point_id)
    raise ValueError(f"cannot decode action {act!r}")


def decode_flow_stats(stats: Any) -> Flow:
    """An os-ken OFPFlowStats (one entry of a flow-stats reply) -> Flow."""
    actions: list[Action] = []
    goto = None
    for inst in stats.instructions:
        if isinstance(inst, ofpp.OFPInstructionGotoTable):
            goto = inst.table_id
        elif isinstance(inst, ofpp.OFPInstructionActions) and inst.type == ofp.OFPIT_APPLY_ACTIONS:
            actions += [decode_action(a) for a in inst.actions]
        else:
            raise ValueError(f"cannot decode instruction {inst!r}")
    match = tuple(sorted((k, v) for k, v in stats.match._fields2))
    return Flow(stats.table_id, stats.priority, match, tuple(actions), goto, stats.cookie)


def decode_group_desc(desc: Any, cookie: int = 0) -> GroupEntry:
    """An os-ken OFPGroupDescStats -> GroupEntry (cookie supplied by the caller)."""
    buckets = tuple(Bucket(tuple(decode_action(a) for a in b.actions), b.weight)
                    for b in desc.buckets)
    return GroupEntry(desc.group_id, GROUP_TYPE_NAMES[desc.type], buckets, cookie)


def canonical_match(match: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """A match spelled the way a switch reports it back (masks applied, all-ones masks
    dropped, addresses as strings), so desired and read-back flows compare equal."""
    out = []
    for name, value in match:
        n, v, m = ofp.oxm_from_user(name, value)
        if m is not None and all(b == 0xFF for b in m):
            m = None
        if m is not None:
            v = bytes(x & y for x, y in zip(v, m, strict=False))
        out.append(ofp.oxm_to_user(n, v, m))
    return tuple(sorted(out))


def canonical_flow(flow: Flow) -> Flow:
    acts = tuple(SetField(a.field, canonical_match([(a.field, a.value)])[0][1])
                 if isinstance(a, SetField) else a for a in flow.actions)
    return Flow(flow.table, flow.priority, canonical_match(flow.match), acts,
                flow.goto_table, flow.cookie)


# ---------------------------------------------------------------- ovs-ofctl text

_OFCTL_FIELD = {"ipv4_src": "nw_src", "ipv4_dst": "nw_dst", "ip_proto": "nw_proto",
                "eth_type": "dl_type", "eth_src": "dl_src", "eth_dst": "dl_dst",
                "icmpv4_type": "icmp_type", "icmpv4_code": "icmp_code", "ipv6_flabel": "ipv6_label",
                "ipv6_nd_target": "nd_target", "ipv6_nd_sll": "nd_sll", "ipv6_nd_tll": "nd_tll"}
_OFCTL_PORT = {0xFFFFFFF8: "in_port", 0xFFFFFFFA: "NORMAL", 0xFFFFFFFB: "FLOOD",
               0xFFFFFFFC: "ALL", 0xFFFFFFFD: "CONTROLLER:65535", 0xFFFFFFFE: "LOCAL"}


def _ofctl_value(value: Any) -> str:
    if isinstance(value, tuple):
        v, m = value
        return f"{v:#x}/{m:#x}" if isinstance(v, int) else f"{v}/{m}"
    return str(value)


def _ofctl_action(a: Action) -> str:
    if isinstance(a, Output):
        return _OFCTL_PORT.get(a.port, f"output:{a.port}")
    if isinstance(a, Group):
        return f"group:{a.group_id}"
    if isinstance(a, SetField):
        return f"set_field:{_ofctl_value(a.value)}->{_OFCTL_FIELD.get(a.field, a.field)}"
    if isinstance(a, Resubmit):
        return f"resubmit(,{a.table})"
    if isinstance(a, EncapNsh):
        tlvs = "".join(f",tlv({t.md_class:#x},{t.tlv_type},0x{t.value.hex()})" for t in a.tlvs)
        return f"encap(nsh(md_type={a.md_type}{tlvs}))"
    if isinstance(a, EncapEthernet):
        return "encap(ethernet)"
    if isinstance(a, Decap):
        return "decap()"
    if isinstance(a, DecNshTtl):
        return "dec_nsh_ttl"
    if isinstance(a, Multipath):
        fields = HASH_FIELD_NAMES.get(a.hash_fields, str(a.hash_fields))
        return f"multipath({fields},0,modulo_n,{a.buckets},0,{_ofctl_reg(a.dst)}[0..{a.n_bits - 1}])"
    if isinstance(a, RegMove):
        return (f"move:{_ofctl_reg(a.src)}[{a.src_ofs}..{a.src_ofs + a.n_bits - 1}]->"
                f"{_ofctl_reg(a.dst)}[{a.dst_ofs}..{a.dst_ofs + a.n_bits - 1}]")
    if isinstance(a, Sample):
        return (f"sample(probability={a.probability},collector_set_id={a.collector_set_id},"
                f"obs_domain_id={a.obs_domain_id},obs_point_id={a.obs_point_id})")
    raise TypeError(f"unsupported action {a!r}")


_OFCTL_MOVE_FIELD = {"in_port": "in_port_oxm",  # os-ken: in_port is the 32-bit OXM, in_port_nxm the
                     "in_port_nxm": "in_port"}    # 16-bit NXM_OF_IN_PORT; ovs-ofctl names them the other way


def _ofctl_reg(name: str) -> str:
    if name in _OFCTL_MOVE_FIELD:
        return _OFCTL_MOVE_FIELD[name]
    return f"NXM_NX_REG{name[3:]}" if name.startswith("reg") else name


def ofctl_actions(actions: Iterable[Action], goto_table: int | None = None) -> str:
    parts = [_ofctl_action(a) for a in actions]
    if goto_table is not None:
        parts.append(f"goto_table:{goto_table}")
    return ",".join(parts) or "drop"


def ofctl_text(flow: Flow) -> str:
    """``flow`` in ``ovs-ofctl -O OpenFlow13 add-flow`` syntax (also one line of add-flows)."""
    match = "".join(f",{_OFCTL_FIELD.get(k, k)}={_ofctl_value(v)}" for k, v in flow.match)
    return (f"table={flow.table},priority={flow.priority},cookie={flow.cookie:#x}{match},"
            f"actions={ofctl_actions(flow.actions, flow.goto_table)}")


def ofctl_group_text(group: GroupEntry) -> str:
    """``group`` in ``ovs-ofctl -O OpenFlow13 add-group`` syntax."""
    buckets = "".join(f",bucket=weight:{b.weight},actions={ofctl_actions(b.actions)}"
                      if group.group_type == "select" else
                      f",bucket=actions={ofctl_actions(b.actions)}" for b in group.buckets)
    return f"group_id={group.group_id},type={group.group_type}{buckets}"
