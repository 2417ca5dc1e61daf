"""Attribution of plain flows (outside exporters, sFlow samples of plain frames) to paths."""

from __future__ import annotations

from dataplane.packet import FiveTuple
from sdn.match import parse_match
from sdn.telemetry.attribution import Attribution, Attributor, matches
from sdn.telemetry.catalogue import catalogue_of, split_name
from sdn.telemetry.observation import Role
from tests.unit.sdn.telemetry.chain_doc import MAIL, WEB, WEB_REVERSE, document


def test_catalogue_names_chains_paths_and_hops():
    cat = catalogue_of(document())
    web, rev, mail = cat.get(WEB), cat.get(WEB_REVERSE), cat.get(MAIL)
    assert (web.vnffg, web.path, web.switch, web.end_si) == ("web", "http", "br0", 253)
    assert [(h.si, h.name) for h in web.hops] == [(255, "fw"), (254, "ids")]
    assert (rev.vnffg, rev.path) == ("web", "http/reverse") and rev.hop(255).name == "ids"
    assert (mail.vnffg, mail.path) == ("mail", "mail")
    assert mail.hops[0].nsh_aware is False and mail.hops[0].egress_ports == ("nat-out",)
    assert web.hop(253) is None and web.hop(256) is None and cat.get(99) is None
    assert split_name("a/b/c") == ("a", "b/c") and split_name("x/") == ("x/", "x/")


def test_honoured_fields():
    m = parse_match({"ip_src": "192.0.2.0/25", "ip_dst": "10.0.0.0/24", "tcp_dst": "80-90", "tcp_src": 1234})
    assert matches(m, FiveTuple(6, "192.0.2.5", "10.0.0.9", 1234, 85))
    assert not matches(m, FiveTuple(6, "192.0.2.200", "10.0.0.9", 1234, 85))      # ip_src
    assert not matches(m, FiveTuple(6, "192.0.2.5", "10.0.1.9", 1234, 85))       # ip_dst
    assert not matches(m, FiveTuple(17, "192.0.2.5", "10.0.0.9", 1234, 85))      # ip_proto (TCP implied)
    assert not matches(m, FiveTuple(6, "192.0.2.5", "10.0.0.9", 1234, 91))       # dst_port range
    assert not matches(m, FiveTuple(6, "192.0.2.5", "10.0.0.9", 1235, 85))       # src_port
    assert not matches(m, FiveTuple(6, "2001:db8::1", "2001:db8::2", 1234, 85))  # family
    v6 = parse_match({"eth_type": 0x86DD, "ip_proto": 17})
    assert matches(v6, FiveTuple(17, "2001:db8::1", "2001:db8::2", 1, 2))
    assert not matches(v6, FiveTuple(17, "10.0.0.1", "10.0.0.2", 1, 2))           # eth_type
    assert not matches(parse_match({"ip_proto": 1}), FiveTuple(6, "bogus", "10.0.0.1"))


def test_attribution_by_classifier_priority_and_in_port():
    att = Attributor.of(catalogue_of(document()))
    assert att.attribute(FiveTuple(6, "192.0.2.1", "10.0.0.5", 40000, 80)) == Attribution(WEB, 255, Role.CLASSIFY,
                                                                                          "web/http/c")
    assert att.attribute(FiveTuple(6, "10.0.0.5", "192.0.2.1", 80, 40000)).spi == WEB_REVERSE
    assert att.attribute(FiveTuple(17, "192.0.2.1", "10.0.0.5", 1, 5050)).classifier == "mail/c"
    assert att.attribute(FiveTuple(6, "192.0.2.1", "10.9.9.9", 1, 80)).classifier == "mail/dscp"  # DSCP unchecked
    assert att.attribute(FiveTuple(17, "192.0.2.1", "10.0.0.5", 1, 53)) is None
    assert att.unchecked == (("mail/dscp", ("ip_dscp",)),)
    # with the port it came in on: the entry only on the classifier's in_port ...
    assert att.attribute(FiveTuple(6, "192.0.2.1", "10.0.0.5", 40000, 80), in_port="server") is None
    assert att.attribute(FiveTuple(6, "192.0.2.1", "10.0.0.5", 40000, 80), in_port="client").spi == WEB
    # ... and the way back from an NSH-unaware hop is that hop's out point
    assert att.attribute(FiveTuple(17, "192.0.2.1", "10.0.0.5", 1, 5050), in_port="nat-out") == Attribution(
        MAIL, 255, Role.HOP_OUT, "mail/c")


def test_a_portless_classifier_admits_any_port_but_an_unaware_hops_way_back():
    from dataclasses import replace

    doc = document()
    mail = next(p for p in doc.paths if p.name == "mail")
    portless = replace(doc, paths=(replace(mail, classifiers=(replace(mail.classifiers[0], in_port=""),)),))
    att = Attributor.of(catalogue_of(portless))
    udp = FiveTuple(17, "192.0.2.1", "10.0.0.5", 1, 5050)
    assert att.attribute(udp, in_port="anywhere") == Attribution(MAIL, 255, Role.CLASSIFY, "mail/c")
    assert att.attribute(udp) == Attribution(MAIL, 255, Role.CLASSIFY, "mail/c")
    assert att.attribute(udp, in_port="nat-out") == Attribution(MAIL, 255, Role.HOP_OUT, "mail/c")
