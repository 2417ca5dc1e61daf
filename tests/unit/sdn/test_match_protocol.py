"""A port field spelled tcp_/udp_/sctp_ names its protocol: it is never compiled into a match on
another protocol's ports (``udp_dst=53,ip_proto=6`` used to match TCP port 53)."""

from __future__ import annotations

import pytest

from sdn.match import MatchError, compile_match, parse_match


@pytest.mark.parametrize("raw, field", [({"udp_dst": 53, "ip_proto": 6}, "udp_dst"),
                                        ({"tcp_dst": 80, "ip_proto": "udp"}, "tcp_dst"),
                                        ({"udp_dst": 53, "tcp_src": 1}, "tcp_src")])
def test_contradicting_protocol_is_refused_naming_the_field(raw, field):
    with pytest.raises(MatchError) as refused:
        compile_match(parse_match(raw))
    assert refused.value.field == field


@pytest.mark.parametrize("raw, proto, key", [({"sctp_dst": 80}, 132, "sctp_dst"), ({"udp_dst": 53}, 17, "udp_dst"),
                                             ({"tp_dst": 80, "ip_proto": 17}, 17, "udp_dst"),
                                             ({"destination_port_range": "80-80"}, 6, "tcp_dst")])
def test_port_spelling_picks_the_protocol(raw, proto, key):
    v4, v6 = compile_match(parse_match(raw))  # over IPv4 and over IPv6
    for match in (v4, v6):
        assert dict(match)["ip_proto"] == proto and key in dict(match)
    assert {dict(v4)["eth_type"], dict(v6)["eth_type"]} == {0x0800, 0x86DD}


@pytest.mark.parametrize("key", ["ip_src", "nw_src", "ipv4_src", "ip_src_prefix", "source_ip_prefix"])
def test_every_source_address_spelling_compiles_alike(key):
    assert compile_match(parse_match({key: "10.0.0.0/24"})) == compile_match(parse_match({"ipv4_src": "10.0.0.0/24"}))
