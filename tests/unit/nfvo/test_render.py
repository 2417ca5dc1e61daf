"""Pure VNFFG rendering: chain and match parsing, SPI allocation, paths, reverse paths, errors."""

from __future__ import annotations

import zlib

import pytest

from nfvo.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import PathSpec, VnffgSpec
from nfvo.vnffg.render import Inventory, build_document, render_vnffg, spi_wants
from nfvo.vnffg.spec import classifier_spec, parse_chain, parse_match
from nfvo.vnffg.spi import allocate_spis
from sdn.document import Classifier, Destination, SfInstance, Switch, check_document
from sdn.match import parse_match as typed_match
from vnfm.model import CpRecord, VduRecord, VnfRecord


def mac(port: str) -> str:
    return "02:" + ":".join(f"{b:02x}" for b in zlib.crc32(port.encode()).to_bytes(4, "big")) + ":01"


def vnf(name: str, *, instances: int = 1, vnf_type: str | None = None, status: str = "ACTIVE") -> VnfRecord:
    vdus = tuple(VduRecord("VDU1", i, f"ns-{name}{i}", "img", None, (
        CpRecord("CP1", "VDU1", i, "mgmt", 0, True, "eth0", mac(f"{name}{i}m"), "", f"{name}{i}m", 1, "br"),
        CpRecord("CP2", "VDU1", i, "data", 1, False, "eth1", mac(f"{name}{i}d"), "", f"{name}{i}d", 2, "br"),
        CpRecord("CP3", "VDU1", i, "out", 2, False, "eth2", mac(f"{name}{i}o"), "", f"{name}{i}o", 3, "br")), None)
        for i in range(instances))
    return VnfRecord(f"id-{name}", name, "vnfd", status, "", vdus, 0.0, vnf_type)


INV = Inventory({v.name: v for v in (vnf("client"), vnf("server"), vnf("fw", instances=2, vnf_type="x.firewall"),
                                      vnf("ids", vnf_type="x.ids"), vnf("ids2", vnf_type="x.ids"),
                                      vnf("broken", status="ERROR"))},
                {"br": Switch("br", 7)})


def spec(chain: str, *, abstract: bool = False, symmetrical: bool = False, match: str = "") -> VnffgSpec:
    classifiers = (classifier_spec("web", parse_match(match)),) if match else ()
    return VnffgSpec((PathSpec("p", parse_chain(chain, abstract=abstract), classifiers, symmetrical),))


def test_chain_uses_first_data_cp_unless_named():
    out = render_vnffg("g", spec("fw,ids:CP3"), {"p": 5}, INV)
    (path,) = out.paths
    assert path.hops == ("fw:CP2", "ids:CP3") and path.spi == 5
    assert dict((f.name, f.instances) for f in out.functions)["fw:CP2"] == (SfInstance("br", "fw0d"),
                                                                             SfInstance("br", "fw1d"))


def test_symmetric_path_reverses_hops_swaps_match_and_enters_at_the_server():
    out = render_vnffg("g", spec("fw,ids", symmetrical=True, match="network_src_port_id=client,"
                                 "network_dst_port_id=server,tcp_dest=80,nw_src=10.0.0.1"), {"p": 5, "p~reverse": 6}, INV)
    fwd, rev = out.paths
    assert rev.name == "g/p/reverse" and rev.spi == 6 and rev.hops == fwd.hops[::-1]
    # forward: from the client, addressed to the server's CP (and ending there); reverse: from the
    # server, to the client's
    assert fwd.classifiers[0] == Classifier("g/p/web", "client0d", typed_match(
        {"tcp_dest": 80, "nw_src": "10.0.0.1", "eth_dst": mac("server0d")}), "br", destination=Destination("server0d", "br"))
    assert rev.classifiers[0].in_port == "server0d" and rev.classifiers[0].destination == Destination("client0d", "br")
    assert rev.classifiers[0].match == typed_match({"tcp_src": 80, "nw_dst": "10.0.0.1", "eth_dst": mac("client0d")})
    check_document(build_document(INV.switches, [out]))  # the controller accepts it


def test_network_src_port_id_picks_the_in_port_and_never_reaches_the_match():
    out = render_vnffg("g", spec("fw", match="network_src_port_id=ids:CP3,udp_dst=53"), {"p": 1}, INV)
    assert out.paths[0].classifiers[0].in_port == "ids0o"
    assert out.paths[0].classifiers[0].match == typed_match({"udp_dst": 53})


def test_without_a_source_port_the_classifier_takes_every_port_but_sf_ports():
    out = render_vnffg("g", spec("fw", match="tcp_dest=80,ip_proto=6"), {"p": 1}, INV)
    (clf,) = out.paths[0].classifiers
    assert clf.in_port == "" and clf.match == typed_match({"tcp_dst": 80})
    assert len(clf.matches) == 2  # TCP over IPv4 and over IPv6
    check_document(build_document(INV.switches, [out]))


def test_network_dst_port_id_narrows_to_traffic_addressed_to_that_cp():
    out = render_vnffg("g", spec("fw", match="network_dst_port_id=server,tcp_dst=80"), {"p": 1}, INV)
    (clf,) = out.paths[0].classifiers
    assert clf.in_port == "" and clf.match.eth_dst == mac("server0d")
    with pytest.raises(InvalidArgument, match="MAC is unknown") as err:  # a bare OVS port has no known MAC
        render_vnffg("g", spec("fw", match="network_dst_port_id=someport,tcp_dst=80"), {"p": 1}, INV)
    assert err.value.field == "vnffg[g].p.classifiers[web].network_dst_port_id"
    with pytest.raises(InvalidArgument, match="no packet is addressed to both"):
        render_vnffg("g", spec("fw", match="network_dst_port_id=server,eth_dst=02:00:00:00:00:09"), {"p": 1}, INV)


def test_network_name_binds_the_classifier_to_every_cp_on_that_virtual_link():
    out = render_vnffg("g", spec("fw", match="network_name=data,udp_dst=53"), {"p": 1}, INV)
    ports = {c.in_port for c in out.paths[0].classifiers}
    # every ACTIVE VNF's CP2 is on "data", except the path's own SF ports (fw's)
    assert ports == {"client0d", "server0d", "ids0d", "ids20d"}
    assert {c.name for c in out.paths[0].classifiers} == {f"g/p/web@{p}" for p in ports}
    check_document(build_document(INV.switches, [out]))
    with pytest.raises(InvalidArgument, match="different virtual links"):
        render_vnffg("g", spec("fw", match="network_name=data,network_id=out"), {"p": 1}, INV)


@pytest.mark.parametrize("match", ["ip_proto=6", "tcp_dst=80,tcp_src=80", "ip_src=10.0.0.0/8,ip_dst=10.0.0.0/8",
                                   "network_name=data,ip_proto=17"])
def test_a_symmetric_classifier_that_reads_the_same_both_ways_is_refused(match):
    with pytest.raises(InvalidArgument, match="reads the same in both directions") as err:
        render_vnffg("g", spec("fw", symmetrical=True, match=match), {"p": 1, "p~reverse": 2}, INV)
    assert err.value.field == "vnffg[g].p.classifiers[web]"


def test_tenant_id_is_refused_until_tenancy_exists():
    with pytest.raises(InvalidArgument, match="no tenants") as err:
        classifier_spec("web", parse_match("tenant_id=abc,tcp_dst=80"))
    assert err.value.field == "match.tenant_id"


def test_abstract_hop_load_balances_every_active_vnf_of_the_type():
    out = render_vnffg("g", spec("firewall,ids", abstract=True), {"p": 1}, INV)
    assert out.paths[0].hops == ("fw:CP2", "ids:CP2+ids2:CP2")
    assert out.vnfs == {"fw", "ids", "ids2"}


@pytest.mark.parametrize("chain,error,text", [
    ("nope", NotFound, "no VNF 'nope'"),
    ("broken", FailedPrecondition, "ERROR, not ACTIVE"),
    ("fw:CP1", InvalidArgument, "management CP"),
    ("fw:CP7", InvalidArgument, "has no CP 'CP7'"),
])
def test_render_errors_name_the_hop(chain, error, text):
    with pytest.raises(error, match=text) as err:
        render_vnffg("g", spec(chain), {"p": 1}, INV)
    assert err.value.field == "vnffg[g].p.hops[0]"


@pytest.mark.parametrize("text", ["", "a,,b", " , ", "a,a", "bad name"])
def test_bad_chains(text):
    with pytest.raises(InvalidArgument):
        parse_chain(text)


@pytest.mark.parametrize("text", ["", "tcp_dst", "=80", "tcp_dst=", "a=1,a=2", "Bad=1", "x=" + "9" * 300])
def test_bad_matches(text):
    with pytest.raises(InvalidArgument):
        parse_match(text)


def test_swap_is_an_involution_on_paired_fields():
    match = typed_match({"ip_src_prefix": "10.0.0.0/24", "destination_port_range": "80-90", "ip_proto": 6})
    assert match.reversed() != match and match.reversed().reversed() == match


def test_spi_allocation_is_stable_and_honours_requests():
    wants = spi_wants(spec("fw", symmetrical=True))
    first = allocate_spis(wants, {}, {1: "other"})
    assert first == {"p": 2, "p~reverse": 3}
    assert allocate_spis(wants, first, {1: "other", 4: "x"}) == first  # kept across updates
    assert allocate_spis([("p", 9)], {}, {}) == {"p": 9}
    with pytest.raises(AlreadyExists, match="SPI 1 is already used by other"):
        allocate_spis([("p", 1)], {}, {1: "other"})
    with pytest.raises(InvalidArgument):
        allocate_spis([("p", 1 << 24)], {}, {})
    # a requested SPI wins over a previous allocation that now collides with it
    assert allocate_spis([("a", None), ("b", 2)], {"a": 2}, {}) == {"a": 1, "b": 2}
