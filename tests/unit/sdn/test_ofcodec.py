"""ofcodec/ofactions: exact NSH bytes, agreement with os-ken and with OVS's own parser."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as ofpp
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from sdn import ofactions as nx
from sdn import ofcodec
from sdn.openflow import (Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group, GroupEntry, Multipath,
                      NshTlv, Output, Resubmit, SetField, make_match, OFPP_NORMAL)

DESIGN_HEX = {  # DESIGN.md: the encodings OVS itself sends
    "encap_nsh_md1": "ffff 0018 0000 2320 002e 0000 0001 894f 0004 0105 0100 0000",
    "encap_ethernet": "ffff 0010 0000 2320 002e 0000 0000 0000",
    "decap": "ffff 0010 0000 2320 002f 0000 0000 fffe",
    "dec_nsh_ttl": "ffff 0010 0000 2320 0030 0000 0000 0000",
}
DP = ProtocolDesc(ofp.OFP_VERSION)

CLASSIFIER = Flow(10, 100, make_match(in_port=1, eth_type=0x800, ip_proto=6, ipv4_src="10.0.0.1",
                                      ipv4_dst=("10.1.0.0", "255.255.0.0"), tcp_dst=80),
                  (EncapNsh(), SetField("nsh_spi", 7), SetField("nsh_si", 255), EncapEthernet()),
                  goto_table=20, cookie=0x5FC1000000000007)
HOP = Flow(20, 100, make_match(eth_type=0x894F, nsh_spi=7, nsh_si=255),
           (DecNshTtl(), Group(5)), cookie=0x5FC2000000000007)
EGRESS = Flow(30, 100, make_match(eth_type=0x894F, nsh_spi=7, nsh_si=254),
              (Decap(), Decap(), Output(2)), cookie=0x5FC3000000000007)
MD2 = Flow(10, 90, make_match(in_port=3),
           (EncapNsh(2, (NshTlv(0x1000, 10, bytes.fromhex("12345678")),)),
            SetField("nsh_c1", 0xABC), EncapEthernet(), Resubmit(20)), cookie=1)
FLOWS = [CLASSIFIER, HOP, EGRESS, MD2,
         Flow(0, 1, make_match(eth_src="02:00:00:00:00:01", vlan_vid=0x1005, eth_type=0x86DD,
                               ipv6_dst="fd00::1", ip_proto=17, udp_dst=(0x1000, 0xF000)),
              (Output(OFPP_NORMAL),), cookie=2),
         Flow(0, 0, (), ()),
         Flow(40, 10, make_match(in_port=4), (SetField("in_port", 9), Resubmit(41)), cookie=3)]

needs_ovs = pytest.mark.skipif(shutil.which("ovs-ofctl") is None, reason="ovs-ofctl not installed")


def _hex(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def _action_bytes(act) -> bytes:
    buf = bytearray()
    act.serialize(buf, 0)
    return bytes(buf)


def _parse(data: bytes):
    version, msg_type, length, xid = ofproto_parser.header(data)
    return ofproto_parser.msg(DP, version, msg_type, length, xid, data)


def test_nsh_action_constants_match_ovs_bytes():
    assert nx.ENCAP_NSH_MD1 == _hex(DESIGN_HEX["encap_nsh_md1"])
    assert nx.ENCAP_ETHERNET == _hex(DESIGN_HEX["encap_ethernet"])
    assert nx.DECAP == _hex(DESIGN_HEX["decap"])
    assert nx.DEC_NSH_TTL == _hex(DESIGN_HEX["dec_nsh_ttl"])


def test_osken_action_classes_serialize_to_ovs_bytes():
    assert _action_bytes(nx.NXActionEncap()) == _hex(DESIGN_HEX["encap_nsh_md1"])
    assert _action_bytes(nx.NXActionEncap(nx.PT_ETHERNET)) == _hex(DESIGN_HEX["encap_ethernet"])
    assert _action_bytes(nx.NXActionDecap()) == _hex(DESIGN_HEX["decap"])
    assert _action_bytes(nx.NXActionDecNshTtlExact()) == _hex(DESIGN_HEX["dec_nsh_ttl"])


def test_md2_tlv_property_counts_value_padding():
    data = _action_bytes(nx.NXActionEncap(md_type=2, tlvs=((0x1000, 10, b"\x12\x34\x56\x78"),)))
    # md_type property (len 5 + 3 pad), then TLV property: len 8 + padded value (8)
    assert data[16:24] == _hex("0004 0105 0200 0000")
    assert data[24:] == _hex("0004 0210 1000 0a04 1234 5678 0000 0000")


@pytest.mark.parametrize("key", sorted(DESIGN_HEX))
def test_osken_parses_nsh_actions_back(key):
    act = ofpp.OFPAction.parser(_hex(DESIGN_HEX[key]), 0)
    want = {"encap_nsh_md1": EncapNsh(), "encap_ethernet": EncapEthernet(),
            "decap": Decap(), "dec_nsh_ttl": DecNshTtl()}[key]
    assert ofcodec.decode_action(act) == want


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"t{f.table}p{f.priority}")
def test_flow_mod_round_trips_through_osken_parser(flow):
    msg = _parse(ofcodec.encode_flow_mod(flow, "add", xid=77))
    assert isinstance(msg, ofpp.OFPFlowMod) and msg.xid == 77
    assert msg.command == ofp.OFPFC_ADD
    assert ofcodec.decode_flow_stats(msg) == ofcodec.canonical_flow(flow)


def test_template_reuse_patches_values_only():
    a = Flow(1, 5, make_match(in_port=1, eth_type=0x800, ipv4_src="10.0.0.1"), (Output(2),), cookie=3)
    b = Flow(1, 5, make_match(in_port=9, eth_type=0x800, ipv4_src="10.9.9.9"), (Output(7),), cookie=4)
    assert ofcodec.flow_mod_encoder(a, "add") is ofcodec.flow_mod_encoder(b, "add")
    for f in (a, b):
        ref = ofpp.OFPFlowMod(DP, cookie=f.cookie, table_id=1, command=ofp.OFPFC_ADD, priority=5,
                              out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                              match=ofpp.OFPMatch(**dict(f.match)), instructions=[
                                  ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [
                                      ofpp.OFPActionOutput(f.actions[0].port, 0)])])
        ref.set_xid(11)
        ref.serialize()
        assert ofcodec.encode_flow_mod(f, "add", 11) == bytes(ref.buf)


def test_delete_strict_and_modify_strict_commands():
    d = _parse(ofcodec.encode_flow_mod(HOP, "delete_strict", 1))
    assert d.command == ofp.OFPFC_DELETE_STRICT and d.instructions == []
    assert d.out_port == ofp.OFPP_ANY and d.out_group == ofp.OFPG_ANY
    m = _parse(ofcodec.encode_flow_mod(HOP, "modify_strict", 1))
    assert m.command == ofp.OFPFC_MODIFY_STRICT and ofcodec.decode_flow_stats(m) == HOP


def test_match_fields_in_oxm_order_for_prerequisites():
    f = Flow(0, 1, make_match(arp_op=1, eth_type=0x806, in_port=1), ())
    msg = _parse(ofcodec.encode_flow_mod(f, "add"))
    assert [k for k, _ in msg.match._fields2] == ["in_port", "eth_type", "arp_op"]


def test_group_mod_round_trip():
    g = GroupEntry(5, "select", (Bucket((Output(1),), 1), Bucket((DecNshTtl(), Output(2)), 3)), 9)
    data = ofcodec.encode_group_mod(g, "add", 3)
    command, gtype, gid = struct.unpack_from("!HBxI", data, 8)
    assert (command, gtype, gid) == (ofp.OFPGC_ADD, ofp.OFPGT_SELECT, 5)
    # os-ken has no GroupMod parser; a group-desc entry has the same tail (type, id, buckets)
    desc = ofpp.OFPGroupDescStats.parser(struct.pack("!HBxI", len(data) - 8, gtype, gid)
                                         + data[16:], 0)
    assert ofcodec.decode_group_desc(desc, cookie=9) == g
    assert len(ofcodec.encode_group_mod(g, "delete", 4)) == 16


def test_bundle_framing_matches_osken():
    flags = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
    ref = ofpp.ONFBundleCtrlMsg(DP, 3, ofp.ONF_BCT_COMMIT_REQUEST, flags, [])
    ref.set_xid(10)
    ref.serialize()
    assert ofcodec.encode_bundle_ctrl(10, 3, ofp.ONF_BCT_COMMIT_REQUEST) == bytes(ref.buf)
    inner = ofcodec.encode_flow_mod(EGRESS, "add", 12)
    fm = _parse(inner)
    ref = ofpp.ONFBundleAddMsg(DP, 3, flags, fm, [])
    ref.set_xid(12)
    ref.serialize()
    assert ofcodec.encode_bundle_add(inner, 3) == bytes(ref.buf)
    assert ofcodec.encode_barrier(5) == bytes.fromhex("0414000800000005")


def test_canonical_match_spells_values_as_switch_reports_them():
    m = ofcodec.canonical_match(make_match(ipv4_dst="10.1.2.3/16", tcp_dst=(80, 0xFFFF),
                                           ipv4_src=("10.0.0.1", "255.255.255.255")))
    assert m == (("ipv4_dst", ("10.1.0.0", "255.255.0.0")), ("ipv4_src", "10.0.0.1"),
                 ("tcp_dst", 80))


def test_ofctl_text():
    assert ofcodec.ofctl_text(EGRESS) == (
        "table=30,priority=100,cookie=0x5fc3000000000007,dl_type=35151,nsh_si=254,"
        "nsh_spi=7,actions=decap(),decap(),output:2")
    assert ofcodec.ofctl_text(Flow(0, 0, ())).endswith("actions=drop")


def _ofp_print(data: bytes) -> str:
    out = subprocess.run(["ovs-ofctl", "ofp-print", data.hex()], capture_output=True, text=True,
                         check=True).stdout
    return out.split(":", 1)[1].strip()


@needs_ovs
@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"t{f.table}p{f.priority}")
def test_ovs_decodes_our_bytes_as_it_parses_our_text(flow):
    """OVS's own parser agrees: our wire bytes == ofctl_text(flow) as ovs-ofctl encodes it."""
    ours = _ofp_print(ofcodec.encode_flow_mod(flow, "add", 1))
    assert "decode error" not in ours
    theirs = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "parse-flow",
                             ofcodec.ofctl_text(flow)], capture_output=True, text=True)
    assert theirs.returncode == 0, theirs.stderr
    line = next(ln for ln in theirs.stdout.splitlines() if "OFPT_FLOW_MOD" in ln)
    assert line.split(":", 1)[1].strip() == ours


@needs_ovs
def test_ovs_prints_nsh_actions_as_expected():
    assert _ofp_print(ofcodec.encode_flow_mod(CLASSIFIER, "add", 1)).endswith(
        "actions=encap(nsh(md_type=1)),set_field:0x7->nsh_spi,set_field:255->nsh_si,"
        "encap(ethernet),goto_table:20")
    assert "actions=decap(),decap(),output:2" in _ofp_print(ofcodec.encode_flow_mod(EGRESS))
    assert "encap(nsh(md_type=2,tlv(0x1000,10,0x12345678)))" in _ofp_print(
        ofcodec.encode_flow_mod(MD2))
    g = GroupEntry(5, "select", (Bucket((Output(1),), 1), Bucket((Output(2),), 1)))
    assert _ofp_print(ofcodec.encode_group_mod(g, "add")) == (
        "ADD group_id=5,type=select,bucket=actions=output:1,bucket=actions=output:2")


def test_multipath_hash_fields_are_read_back_so_older_flows_differ():
    """Flows installed with another hash (symmetric_l4 before UDP was spread) must not look like
    ours after a restart, or the controller would never replace them."""
    ours = Flow(10, 100, make_match(in_port=1), (Multipath(16),), cookie=0x5FC0000000000001)
    older = Flow(10, 100, make_match(in_port=1), (Multipath(16, hash_fields=1),), cookie=0x5FC0000000000001)
    assert ofcodec.decode_flow_stats(_parse(ofcodec.encode_flow_mod(ours, "add"))) == ofcodec.canonical_flow(ours)
    read_back = ofcodec.decode_flow_stats(_parse(ofcodec.encode_flow_mod(older, "add")))
    assert read_back == ofcodec.canonical_flow(older) != ofcodec.canonical_flow(ours)
    assert "multipath(symmetric_l4," in ofcodec.ofctl_actions(older.actions)
