"""sdn.ofreply: raw flow-stats / group-desc replies decode exactly as os-ken's parse + ofcodec does.

Replies are built from our own flow-mod / group-mod encodings (sdn.ofcodec, which uses os-ken's
serializer for the rarer Nicira actions): an ofp_flow_stats entry carries the same match and
instructions as the flow mod, after a different fixed header.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import pytest
from os_ken.ofproto import nicira_ext, ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as ofpp
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from sdn import ofcodec, ofreply
from sdn.cookie import APP_MASK, APP_SHIFT, APP_TAG, Role, is_ours, make_cookie, make_group_id
from sdn.docfile import load_document
from sdn.openflow import (Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group, GroupEntry, Multipath,
                          NshTlv, Output, RegMove, Resubmit, SetField, make_match)
from sdn.osken_runtime import _TappedSocket
from sdn.render import compute_switch_states
from tests.unit.sdn import test_flows, test_ofcodec, test_unaware

DP = ProtocolDesc(ofp.OFP_VERSION)
OURS = APP_TAG << APP_SHIFT


# ---------------------------------------------------------------- building replies

def stats_entry(flow: Flow, seconds: int = 5) -> bytes:
    tail = ofcodec.encode_flow_mod(flow, "add", 1)[48:]  # match + instructions
    return struct.pack("!HBxIIHHHH4xQQQ", 48 + len(tail), flow.table, seconds, 77, flow.priority, 0, 0, 0,
                       flow.cookie, 123, 4567) + tail


def entry_with(match: bytes, instructions: bytes = b"", cookie: int = OURS) -> bytes:
    """A flow entry from raw OXM fields and instruction bytes."""
    m = struct.pack("!HH", ofp.OFPMT_OXM, 4 + len(match)) + match
    m += b"\0" * (-len(m) % 8)
    return struct.pack("!HBxIIHHHH4xQQQ", 48 + len(m) + len(instructions), 3, 1, 2, 9, 0, 0, 0,
                       cookie, 0, 0) + m + instructions


def reply(entries: list[bytes], mp_type: int = ofp.OFPMP_FLOW, more: bool = False, xid: int = 9) -> bytes:
    body = b"".join(entries)
    return (struct.pack("!BBHI", 4, ofp.OFPT_MULTIPART_REPLY, 16 + len(body), xid)
            + struct.pack("!HH4x", mp_type, int(more)) + body)


def replies(entries: list[bytes], per_message: int = 100) -> list[bytes]:
    """A multipart reply split as OVS splits it: every message but the last says "more"."""
    chunks = [entries[i:i + per_message] for i in range(0, len(entries), per_message)] or [[]]
    return [reply(c, more=i < len(chunks) - 1) for i, c in enumerate(chunks)]


def group_entry(group: GroupEntry) -> bytes:
    mod = ofcodec.encode_group_mod(group, "add", 1)  # header, command, type, pad, id, buckets
    return struct.pack("!HBxI", len(mod) - 8, ofcodec.GROUP_TYPES[group.group_type], group.group_id) + mod[16:]


def osken_flows(msg: bytes, only_ours: bool = False) -> list[Flow]:
    parsed = ofproto_parser.msg(DP, *ofproto_parser.header(msg), msg)
    return [ofcodec.decode_flow_stats(s) for s in parsed.body if not only_ours or is_ours(s.cookie)]


def osken_groups(msg: bytes, cookie: int) -> list[GroupEntry]:
    parsed = ofproto_parser.msg(DP, *ofproto_parser.header(msg), msg)
    return [ofcodec.decode_group_desc(d, cookie) for d in parsed.body]


def raw_flows(msg: bytes, cache: ofreply.ReplyCache | None = None, **kw) -> list[Flow]:
    return ofreply.decode_flow_reply(msg, cache or ofreply.ReplyCache(), **kw)[0]


def _paths_doc(n: int) -> str:
    paths = "".join(f"""
  - name: p{i}
    spi: {i + 1}
    hops: [fw, ids]
    classifiers: [{{name: c{i}, in_port: client, match: {{tcp_src: {1024 + i}, nw_dst: 10.9.{i}.0/24}}}}]"""
                    for i in range(n))
    return f"""
switches: [{{name: s1, dpid: 1}}]
service_functions:
  - {{name: fw, instances: [{{switch: s1, port: fw0}}]}}
  - {{name: ids, instances: [{{switch: s1, port: ids0}}, {{switch: s1, port: ids1}}]}}
service_function_paths:{paths}
"""


RENDERED = {
    "aware": test_flows.state(),
    "every-field-multi-instance-unaware": compute_switch_states(
        load_document(test_flows.EVERY_FIELD_DOC), test_flows.EVERY_FIELD_PORTS)[1],
    "unaware-proxy": test_unaware.state(),
    "many-paths-multi-instance": compute_switch_states(load_document(_paths_doc(40)), test_flows.PORTS)[1],
}


# ---------------------------------------------------------------- flows

@pytest.mark.parametrize("name", sorted(RENDERED))
def test_rendered_flows_decode_as_osken_and_as_rendered(name):
    """What the diff needs: read back == computed, and == the os-ken path, flow for flow."""
    state = RENDERED[name]
    flows = sorted(state.flows, key=repr)
    msgs = replies([stats_entry(f) for f in flows])
    cache = ofreply.ReplyCache()
    raw = []
    for i, msg in enumerate(msgs):
        decoded, more = ofreply.decode_flow_reply(msg, cache, OURS, APP_MASK)
        assert more == (i < len(msgs) - 1)
        raw += decoded
    assert raw == [f for msg in msgs for f in osken_flows(msg)]
    assert frozenset(raw) == state.flows


def test_codec_fixture_flows_decode_as_osken():
    flows = test_ofcodec.FLOWS
    msg = reply([stats_entry(f) for f in flows])
    assert raw_flows(msg) == osken_flows(msg) == [ofcodec.canonical_flow(f) for f in flows]


def test_foreign_cookies_are_skipped_and_a_warm_cache_gives_the_same_flows():
    ours = sorted(RENDERED["every-field-multi-instance-unaware"].flows, key=repr)
    foreign = [Flow(f.table, f.priority, f.match, f.actions, f.goto_table, 0x1234) for f in ours[:10]]
    entries = []
    for i, f in enumerate(ours):
        entries += [stats_entry(f)] + ([stats_entry(foreign[i])] if i < len(foreign) else [])
    msg = reply(entries)
    cache = ofreply.ReplyCache()
    first = raw_flows(msg, cache, cookie=OURS, cookie_mask=APP_MASK)
    assert first == osken_flows(msg, only_ours=True) and set(first) == set(ours)
    assert raw_flows(msg, cache, cookie=OURS, cookie_mask=APP_MASK) == first
    assert cache.instructions and cache.shapes


def test_more_flag_and_multipart_split():
    flows = sorted(RENDERED["aware"].flows, key=repr)
    first, last = reply([stats_entry(f) for f in flows[:7]], more=True), reply([stats_entry(f) for f in flows[7:]])
    cache = ofreply.ReplyCache()
    a, more_a = ofreply.decode_flow_reply(first, cache)
    b, more_b = ofreply.decode_flow_reply(last, cache)
    assert (more_a, more_b) == (True, False) and a + b == flows_sorted_canonical(flows)
    assert ofreply.reply_header(first) == (9, ofp.OFPMP_FLOW, True)


def flows_sorted_canonical(flows):
    return [ofcodec.canonical_flow(f) for f in flows]


def _random_value(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


def _oxm(num, value: bytes, mask: bytes | None = None) -> bytes:
    buf = bytearray()
    ofp.oxm_serialize(num, value, mask, buf, 0)
    return bytes(buf)


ALL_FIELDS = [f for f in ofp.oxm_types if hasattr(f.type, "size")]


@pytest.mark.parametrize("masked", [False, True])
def test_every_oxm_field_os_ken_knows_decodes_as_os_ken(masked):
    """Table-driven: OpenFlow-basic, Nicira, NSH, packet-register and ONF fields alike, alone and
    in one big match (new classifier fields need no change here)."""
    rng = random.Random(7)
    fields = []
    for f in ALL_FIELDS:
        value = _random_value(rng, f.type.size)
        mask = _random_value(rng, f.type.size) if masked else None
        if mask is not None:
            value = bytes(v & m for v, m in zip(value, mask, strict=True))
        fields.append(_oxm(f.num, value, mask))
    entries = [entry_with(tlv) for tlv in fields] + [entry_with(b"".join(fields[:60]))]
    msg = reply(entries)
    assert raw_flows(msg) == osken_flows(msg)
    assert raw_flows(msg, ofreply.ReplyCache()) == raw_flows(msg, ofreply.ReplyCache())


def test_address_spellings_match_os_ken():
    rng = random.Random(3)
    names = ["ipv4_src", "eth_dst", "ipv6_src", "arp_sha", "ipv6_nd_target", "tun_ipv6_dst", "ct_label"]
    info = [ofp.oxm_get_field_info_by_name(n) for n in names]
    entries = [entry_with(b"".join(_oxm(num, _random_value(rng, t.size)) for num, t in info)) for _ in range(200)]
    entries.append(entry_with(b"".join(_oxm(num, b"\0" * t.size) for num, t in info)))
    msg = reply(entries)
    assert raw_flows(msg) == osken_flows(msg)


def test_a_known_layout_is_never_guessed_for_other_headers():
    spi = _oxm(ofp.oxm_get_field_info_by_name("nsh_spi")[0], b"\0\0\0\7")
    other_experimenter = spi[:4] + b"\x12\x34\x56\x78" + spi[8:]
    cache = ofreply.ReplyCache()
    assert raw_flows(reply([entry_with(spi)]), cache)[0].match == (("nsh_spi", 7),)
    with pytest.raises(ofreply.ReplyError, match="undecodable OXM field"):
        raw_flows(reply([entry_with(other_experimenter)]), cache)
    tcp = _oxm(ofp.oxm_get_field_info_by_name("tcp_dst")[0], b"\0\x50")
    udp = _oxm(ofp.oxm_get_field_info_by_name("udp_dst")[0], b"\0\x50")
    assert raw_flows(reply([entry_with(tcp), entry_with(udp)]), cache) == osken_flows(
        reply([entry_with(tcp), entry_with(udp)]))


def _set_field(num, value: bytes) -> bytes:
    tlv = _oxm(num, value)
    length = 4 + len(tlv) + (-(4 + len(tlv)) % 8)
    return struct.pack("!HH", ofp.OFPAT_SET_FIELD, length) + tlv + b"\0" * (length - 4 - len(tlv))


def _apply(*actions: bytes) -> bytes:
    acts = b"".join(actions)
    return struct.pack("!HH4x", ofp.OFPIT_APPLY_ACTIONS, 8 + len(acts)) + acts


def _osken_action(act) -> bytes:
    buf = bytearray()
    act.serialize(buf, 0)
    length = struct.unpack_from("!H", buf, 2)[0]
    return bytes(buf) + b"\0" * (length - len(buf))


def test_set_field_of_every_field_decodes_as_os_ken():
    rng = random.Random(11)
    entries = [entry_with(b"", _apply(_set_field(f.num, _random_value(rng, f.type.size)))) for f in ALL_FIELDS]
    msg = reply(entries)
    assert raw_flows(msg) == osken_flows(msg)


NX_ACTIONS = [
    ofpp.NXActionMultipath(fields=nicira_ext.NX_HASH_FIELDS_SYMMETRIC_L4, basis=0,
                           algorithm=nicira_ext.NX_MP_ALG_MODULO_N, max_link=7, arg=0,
                           ofs_nbits=nicira_ext.ofs_nbits(0, 2), dst="reg3"),
    ofpp.NXActionMultipath(fields=3, basis=50, algorithm=nicira_ext.NX_MP_ALG_HRW, max_link=31, arg=0,
                           ofs_nbits=nicira_ext.ofs_nbits(4, 8), dst="reg1"),
    ofpp.NXActionRegMove(src_field="reg0", dst_field="nsh_c4", n_bits=4, src_ofs=0, dst_ofs=0),
    ofpp.NXActionRegMove(src_field="nsh_spi", dst_field="reg7", n_bits=24, src_ofs=0, dst_ofs=8),
    ofpp.NXActionRegMove(src_field="eth_src_nxm", dst_field="eth_dst_nxm", n_bits=48),
    ofpp.NXActionResubmitTable(table_id=42),
]


@pytest.mark.parametrize("act", NX_ACTIONS, ids=lambda a: type(a).__name__)
def test_os_ken_serialized_nicira_actions_decode_as_os_ken(act):
    msg = reply([entry_with(_oxm(ofp.oxm_get_field_info_by_name("in_port")[0], b"\0\0\0\1"),
                            _apply(_osken_action(act)))])
    assert raw_flows(msg) == osken_flows(msg)


def test_every_action_kind_and_goto():
    acts = (Multipath(16), EncapNsh(2, (NshTlv(0x1000, 10, b"\x12\x34\x56\x78"), NshTlv(0x1001, 3, b"ab"))),
            EncapNsh(), SetField("nsh_spi", 7), SetField("in_port", 3), SetField("ipv4_dst", "10.0.0.9"),
            SetField("eth_src", "02:00:00:00:00:0a"), SetField("nsh_c4", 5), RegMove("reg0", "nsh_c4", 4),
            EncapEthernet(), Decap(), DecNshTtl(), Group(make_group_id(3)), Resubmit(30), Output(ofp.OFPP_IN_PORT))
    flow = Flow(10, 100, make_match(in_port=1), acts, goto_table=20, cookie=make_cookie(Role.HOP, 7))
    msg = reply([stats_entry(flow)])
    assert raw_flows(msg) == osken_flows(msg) == [ofcodec.canonical_flow(flow)]


# ---------------------------------------------------------------- groups

GROUPS = [GroupEntry(make_group_id(1), "select", (Bucket((DecNshTtl(), Output(3)), 1),
                                                  Bucket((DecNshTtl(), Output(4)), 5))),
          GroupEntry(make_group_id(2), "all", (Bucket((Output(1),)), Bucket((SetField("nsh_si", 9), Resubmit(20))))),
          GroupEntry(make_group_id(3), "indirect", (Bucket((Decap(), Decap(), Output(2))),)),
          GroupEntry(make_group_id(4), "ff", ()),
          GroupEntry(77, "select", (Bucket((Group(make_group_id(1)),), 2),))]


def test_groups_decode_as_os_ken_and_only_claimed_ones():
    msg = reply([group_entry(g) for g in GROUPS], mp_type=ofp.OFPMP_GROUP_DESC)
    groups, more = ofreply.decode_group_reply(msg, ofreply.ReplyCache(), lambda gid: 5)
    assert not more and groups == osken_groups(msg, 5)
    assert groups == [GroupEntry(g.group_id, g.group_type, g.buckets, 5) for g in GROUPS]
    mine, _ = ofreply.decode_group_reply(msg, ofreply.ReplyCache(), lambda gid: None if gid == 77 else 0)
    assert [g.group_id for g in mine] == [g.group_id for g in GROUPS[:4]]


# ---------------------------------------------------------------- garbage

def test_wrong_message_kinds_are_named():
    flows = reply([stats_entry(f) for f in test_ofcodec.FLOWS[:2]])
    with pytest.raises(ofreply.ReplyError, match="not OFPMP_FLOW"):
        ofreply.decode_flow_reply(reply([], mp_type=ofp.OFPMP_GROUP_DESC), ofreply.ReplyCache())
    with pytest.raises(ofreply.ReplyError, match="not OFPMP_GROUP_DESC"):
        ofreply.decode_group_reply(flows, ofreply.ReplyCache(), lambda gid: 0)
    with pytest.raises(ofreply.ReplyError, match="not an OpenFlow 1.3 multipart reply"):
        ofreply.decode_flow_reply(b"\x01" + flows[1:], ofreply.ReplyCache())
    with pytest.raises(ofreply.ReplyError, match="declares"):
        ofreply.decode_flow_reply(flows[:-3], ofreply.ReplyCache())
    with pytest.raises(ofreply.ReplyError, match="shorter than"):
        ofreply.decode_flow_reply(flows[:10], ofreply.ReplyCache())
    bad_instr = entry_with(b"", struct.pack("!HH4x", ofp.OFPIT_WRITE_ACTIONS, 8))
    with pytest.raises(ofreply.ReplyError, match="xid 9, byte 16: cannot decode instruction type 3"):
        ofreply.decode_flow_reply(reply([bad_instr]), ofreply.ReplyCache())


def _refit(msg: bytes) -> bytes:
    """``msg`` with its header length fixed, so only the body is wrong."""
    return msg[:2] + struct.pack("!H", len(msg)) + msg[4:]


def test_truncated_and_mutated_replies_raise_reply_error_and_never_hang():
    flows = sorted(RENDERED["every-field-multi-instance-unaware"].flows, key=repr)[:12]
    flow_entries = [stats_entry(f) for f in flows]
    group_entries = [group_entry(g) for g in GROUPS]
    rng = random.Random(5)
    started = time.monotonic()
    for entries, msg, decode in (
            (flow_entries, reply(flow_entries), lambda m: ofreply.decode_flow_reply(m, ofreply.ReplyCache())),
            (group_entries, reply(group_entries, mp_type=ofp.OFPMP_GROUP_DESC),
             lambda m: ofreply.decode_group_reply(m, ofreply.ReplyCache(), lambda g: 0))):
        ends = {16 + sum(len(e) for e in entries[:i]) for i in range(len(entries) + 1)}
        for cut in sorted(set(range(17, len(msg))) - ends):  # every truncation inside an entry
            with pytest.raises(ofreply.ReplyError):
                decode(_refit(msg[:cut]))
        for _ in range(1500):  # random byte damage: decoded or refused, nothing else
            data = bytearray(msg)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(16, len(data))] = rng.randrange(256)
            try:
                decode(bytes(data))
            except ofreply.ReplyError:
                pass
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------- the receive-path tap

def test_tap_hands_claimed_replies_over_and_passes_the_rest_byte_for_byte():
    a, b = socket.socketpair()
    try:
        tap = _TappedSocket(b)
        sink: list[bytes] = []
        tap.claim_replies(9, sink.append)
        claimed = [reply([stats_entry(f) for f in test_ofcodec.FLOWS[:3]], more=True),
                   reply([stats_entry(f) for f in test_ofcodec.FLOWS[3:]])]
        other = [ofcodec.encode_barrier(9), reply([], xid=10), struct.pack("!BBHI", 4, 3, 12, 9) + b"echo"]
        stream = other[0] + claimed[0] + other[1] + claimed[1] + other[2]

        def feed():
            rng = random.Random(1)
            i = 0
            while i < len(stream):  # arbitrary segment boundaries
                n = rng.randint(1, 300)
                a.sendall(stream[i:i + n])
                i += n
            a.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=feed)
        t.start()
        seen = bytearray()
        while chunk := tap.recv(8 if len(seen) % 2 else 4096):
            assert len(chunk) <= 4096
            seen += chunk
        t.join()
        assert bytes(seen) == b"".join(other)
        assert sink == claimed
        tap.release_replies(9)
        assert tap.fileno() == b.fileno()  # everything else is the socket's
    finally:
        a.close()
        b.close()
