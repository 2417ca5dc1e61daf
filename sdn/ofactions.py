"""Nicira NSH actions for os-ken, byte-exact with what OVS itself sends.

os-ken 4.x cannot build ``NXActionEncapNsh`` (NameError) and has no decap action, and both of
its encap classes share one subtype so parsing one back yields the wrong class. These classes
encode encap(nsh(md_type=1|2, tlv...)), encap(ethernet), decap() and dec_nsh_ttl exactly as OVS
3.1 does (see DESIGN.md), and ``register()`` installs them in os-ken's NXAction subtype table so
flow-stats replies decode to them.
"""

from __future__ import annotations

import struct

from os_ken.ofproto import ofproto_v1_3_parser as ofpp

NX_EXPERIMENTER = 0x00002320
NXAST_ENCAP = 46
NXAST_DECAP = 47
NXAST_DEC_NSH_TTL = 48
NXAST_SAMPLE = 29

PT_ETHERNET = 0x00000000
PT_NSH = 0x0001894F
PT_USE_NEXT_PROTO = 0x0000FFFE

# OVS encap property class/type for NSH (ofp-ed-props.h): class OFPPPC_NSH = 4.
_PROP_CLASS_NSH = 4
_PROP_NSH_MD_TYPE = 1
_PROP_NSH_TLV = 2

_HDR = struct.Struct("!HHIH")  # type, len, experimenter, subtype


def _pad8(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 8)


def encap_bytes(new_pkt_type: int, props: bytes = b"") -> bytes:
    """NXAST_RAW_ENCAP: header, hdr_size 0, new_pkt_type, then ED properties."""
    body = struct.pack("!HI", 0, new_pkt_type) + props
    length = 10 + len(body)
    assert length % 8 == 0
    return _HDR.pack(0xFFFF, length, NX_EXPERIMENTER, NXAST_ENCAP) + body


def nsh_props(md_type: int, tlvs: tuple[tuple[int, int, bytes], ...] = ()) -> bytes:
    """ED properties for encap(nsh(...)): md_type, then one property per MD2 TLV."""
    out = _pad8(struct.pack("!HBBB", _PROP_CLASS_NSH, _PROP_NSH_MD_TYPE, 5, md_type))
    for md_class, tlv_type, value in tlvs:
        padded = _pad8(value)  # OVS: the property length counts the value's padding
        out += struct.pack("!HBBHBB", _PROP_CLASS_NSH, _PROP_NSH_TLV, 8 + len(padded),
                           md_class, tlv_type, len(value)) + padded
    return out


def parse_nsh_props(buf: bytes) -> tuple[int, tuple[tuple[int, int, bytes], ...]]:
    """Inverse of nsh_props: (md_type, ((class, type, value), ...))."""
    md_type, tlvs, off = 1, [], 0
    while off + 4 <= len(buf):
        pclass, ptype, plen = struct.unpack_from("!HBB", buf, off)
        if plen < 4:
            break
        if pclass == _PROP_CLASS_NSH and ptype == _PROP_NSH_MD_TYPE:
            md_type = buf[off + 4]
        elif pclass == _PROP_CLASS_NSH and ptype == _PROP_NSH_TLV:
            md_class, tlv_type, tlv_len = struct.unpack_from("!HBB", buf, off + 4)
            tlvs.append((md_class, tlv_type, bytes(buf[off + 8:off + 8 + tlv_len])))
        off += plen + (-plen % 8)
    return md_type, tuple(tlvs)


class _FixedNXAction(ofpp.NXAction):
    """An NX action whose full wire form we build ourselves (os-ken adds only the header)."""

    _subtype = 0

    def body(self) -> bytes:  # bytes after the 10-byte NX header
        raise NotImplementedError

    def serialize_body(self) -> bytearray:
        return bytearray(self.body())


class NXActionEncap(_FixedNXAction):
    """encap(nsh(md_type=1|2[,tlv...])) or encap(ethernet), by new_pkt_type."""

    _subtype = NXAST_ENCAP

    def __init__(self, new_pkt_type: int = PT_NSH, md_type: int = 1,
                 tlvs: tuple = (), type_=None, len_=None, vendor=None, subtype=None):
        super().__init__()
        self.new_pkt_type = new_pkt_type
        self.md_type = md_type
        self.tlvs = tuple(tlvs)

    def body(self) -> bytes:
        props = nsh_props(self.md_type, self.tlvs) if self.new_pkt_type == PT_NSH else b""
        return encap_bytes(self.new_pkt_type, props)[10:]

    @classmethod
    def parser(cls, buf):
        _hdr_size, new_pkt_type = struct.unpack_from("!HI", buf, 0)
        md_type, tlvs = parse_nsh_props(bytes(buf[6:])) if new_pkt_type == PT_NSH else (1, ())
        return cls(new_pkt_type, md_type, tlvs)


class NXActionDecap(_FixedNXAction):
    """decap(): pops the outermost header; new_pkt_type 0xfffe = follow next protocol."""

    _subtype = NXAST_DECAP

    def __init__(self, new_pkt_type: int = PT_USE_NEXT_PROTO,
                 type_=None, len_=None, vendor=None, subtype=None):
        super().__init__()
        self.new_pkt_type = new_pkt_type

    def body(self) -> bytes:
        return struct.pack("!2xI", self.new_pkt_type)

    @classmethod
    def parser(cls, buf):
        (new_pkt_type,) = struct.unpack_from("!2xI", buf, 0)
        return cls(new_pkt_type)


class NXActionDecNshTtlExact(_FixedNXAction):
    """dec_nsh_ttl (os-ken's own class works; ours keeps all NSH actions in one place)."""

    _subtype = NXAST_DEC_NSH_TTL

    def __init__(self, type_=None, len_=None, vendor=None, subtype=None):
        super().__init__()

    def body(self) -> bytes:
        return b"\0" * 6

    @classmethod
    def parser(cls, buf):
        return cls()


_SAMPLE = struct.Struct("!HIII")  # probability, collector_set_id, obs_domain_id, obs_point_id


def sample_bytes(probability: int, collector_set_id: int, obs_domain_id: int, obs_point_id: int) -> bytes:
    """NXAST_SAMPLE (nx_action_sample, 24 bytes): what OVS 3.1 sends for a sample() without a
    sampling port or direction (those take NXAST_SAMPLE2/3)."""
    return _HDR.pack(0xFFFF, 24, NX_EXPERIMENTER, NXAST_SAMPLE) + _SAMPLE.pack(
        probability, collector_set_id, obs_domain_id, obs_point_id)


def parse_sample(buf: bytes, off: int) -> tuple[int, int, int, int]:
    """Inverse of sample_bytes from the body (after the 10-byte NX header) at ``off``."""
    return _SAMPLE.unpack_from(buf, off)


ENCAP_NSH_MD1 = encap_bytes(PT_NSH, nsh_props(1))
ENCAP_ETHERNET = encap_bytes(PT_ETHERNET)
DECAP = _HDR.pack(0xFFFF, 16, NX_EXPERIMENTER, NXAST_DECAP) + struct.pack("!2xI", PT_USE_NEXT_PROTO)
DEC_NSH_TTL = _HDR.pack(0xFFFF, 16, NX_EXPERIMENTER, NXAST_DEC_NSH_TTL) + b"\0" * 6


def register() -> None:
    """Make os-ken's NXAction parser decode subtypes 46/47/48 with our classes (idempotent)."""
    for cls in (NXActionEncap, NXActionDecap, NXActionDecNshTtlExact):
        cls.__module__ = ofpp.__name__  # os-ken's stringify looks classes up in ofpp
        setattr(ofpp, cls.__name__, cls)
        ofpp.NXAction._subtypes[cls._subtype] = cls


register()
