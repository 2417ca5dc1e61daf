from scapy.layers.inet import ICMP, IP

from dataplane.ping import build_echo, checksum, parse_reply


def test_echo_is_valid_icmp() -> None:
    raw = build_echo(0x1234, 7, b"abc")
    pkt = ICMP(raw)
    assert (pkt.type, pkt.id, pkt.seq) == (8, 0x1234, 7)
    assert checksum(raw) == 0  # a correct checksum sums to zero


def test_parse_reply() -> None:
    reply = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / ICMP(type=0, id=5, seq=9) / b"x")
    assert parse_reply(reply) == (5, 9)
    assert parse_reply(bytes(IP() / ICMP(type=8))) is None
    assert parse_reply(b"\x45") is None
