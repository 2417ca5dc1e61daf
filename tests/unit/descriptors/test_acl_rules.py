"""Every aclType field means what it says on the data plane or is refused at onboarding, naming
the field: contradictions, tenant_id, symmetrical classifiers that read the same both ways and
port-less classifiers on paths through NSH-unaware VNFs never get past ``load_vnffgd``."""

from __future__ import annotations

import copy

import pytest

import descriptors as d
from descriptors.acl import ACL_TO_MATCH, LOCATION_FIELDS
from nfvo.vnffg.spec import acl_classifier
from tests.unit.descriptors.test_errors import VNFFGD, _errors, _one, _vnffgd

MAC = "02:00:00:00:00:01"
# one valid classifier per aclType field (with what it cannot stand without) and the OpenFlow
# field (os-ken's name) that proves it reached the compiled match
EVERY_FIELD = {
    "eth_type": ({"eth_type": "0x88cc"}, "eth_type"),
    "eth_src": ({"eth_src": MAC}, "eth_src"),
    "eth_dst": ({"eth_dst": MAC}, "eth_dst"),
    "vlan_id": ({"vlan_id": 10}, "vlan_vid"),
    "vlan_pcp": ({"vlan_id": 10, "vlan_pcp": 5}, "vlan_pcp"),
    "mpls_label": ({"mpls_label": 100}, "mpls_label"),
    "mpls_tc": ({"mpls_tc": 3}, "mpls_tc"),
    "ip_dscp": ({"ip_dscp": 46}, "ip_dscp"),
    "ip_ecn": ({"ip_ecn": 1}, "ip_ecn"),
    "ip_src_prefix": ({"ip_src_prefix": "10.0.0.0/24"}, "ipv4_src"),
    "ip_dst_prefix": ({"ip_dst_prefix": "10.0.1.1/32"}, "ipv4_dst"),
    "ip_proto": ({"ip_proto": 47}, "ip_proto"),
    "destination_port_range": ({"ip_proto": 17, "destination_port_range": "53-53"}, "udp_dst"),
    "source_port_range": ({"ip_proto": 132, "source_port_range": "1000-1999"}, "sctp_src"),
    "icmpv4_type": ({"icmpv4_type": 8}, "icmpv4_type"),
    "icmpv4_code": ({"icmpv4_type": 3, "icmpv4_code": 1}, "icmpv4_code"),
    "arp_op": ({"arp_op": 2}, "arp_op"),
    "arp_spa": ({"arp_spa": "10.0.0.1"}, "arp_spa"),
    "arp_tpa": ({"arp_tpa": "10.0.0.0/24"}, "arp_tpa"),
    "arp_sha": ({"arp_sha": MAC}, "arp_sha"),
    "arp_tha": ({"arp_tha": MAC}, "arp_tha"),
    "ipv6_src": ({"ipv6_src": "2001:db8::/64"}, "ipv6_src"),
    "ipv6_dst": ({"ipv6_dst": "2001:db8::1"}, "ipv6_dst"),
    "ipv6_flabel": ({"ipv6_flabel": 12345}, "ipv6_flabel"),
    "icmpv6_type": ({"icmpv6_type": 128}, "icmpv6_type"),
    "icmpv6_code": ({"icmpv6_type": 1, "icmpv6_code": 4}, "icmpv6_code"),
    "ipv6_nd_target": ({"ipv6_nd_target": "2001:db8::1"}, "ipv6_nd_target"),
    "ipv6_nd_sll": ({"ipv6_nd_sll": MAC}, "ipv6_nd_sll"),
    "ipv6_nd_tll": ({"ipv6_nd_tll": MAC}, "ipv6_nd_tll"),
}


def _tcp_path(acl: dict):
    """The demo VNFFGD with ``acl`` as the (aware, one-way) tcp_path's first classifier."""
    def mutate(topo):
        topo["node_templates"]["tcp_path"]["properties"]["policy"]["criteria"][0]["classifier"] = acl
    return _vnffgd(mutate)


def _load(data):
    import yaml
    return d.load_vnffgd(yaml.safe_dump(data, sort_keys=False), file="ok.yaml")


def test_the_table_covers_every_acl_field_but_the_location_ones():
    assert set(EVERY_FIELD) == set(ACL_TO_MATCH) == set(d.ACL_FIELDS) - set(LOCATION_FIELDS)


@pytest.mark.parametrize("field", sorted(EVERY_FIELD))
def test_every_acl_field_reaches_the_compiled_match(field):
    acl, of_field = EVERY_FIELD[field]
    clf = next(p for p in _load(_tcp_path(acl)).paths if p.name == "tcp_path").classifiers[0]
    compiled = acl_classifier(clf.name, clf.match, "x").parsed
    from sdn.match import compile_match
    matches = compile_match(compiled)
    assert matches and all(of_field in dict(m) for m in matches), matches


@pytest.mark.parametrize("acl, field, text", [
    ({"vlan_pcp": 3}, "vlan_pcp", "needs vlan_id"),
    ({"icmpv4_type": 8, "ipv6_src": "2001:db8::/64"}, "ipv6_src", "IPv6 only, but icmpv4_type is IPv4"),
    ({"icmpv6_type": 128, "ip_src_prefix": "10.0.0.0/8"}, "ip_src_prefix", "IPv4 only, but icmpv6_type is IPv6"),
    ({"ipv6_flabel": 1, "ip_dst_prefix": "10.0.0.1"}, "ip_dst_prefix", "IPv4 only, but ipv6_flabel is IPv6"),
    ({"eth_type": "arp", "ip_proto": 6}, "ip_proto", "eth_type is 0x0806"),
    ({"eth_type": "ipv4", "ipv6_dst": "2001:db8::1"}, "ipv6_dst", "IPv6 only, but eth_type=2048 is IPv4"),
    ({"ip_proto": 1, "icmpv6_type": 128}, "icmpv6_type", "ip_proto=1 is IPv4"),
    ({"ip_proto": 6, "icmpv4_type": 8}, "icmpv4_type", "needs ip_proto 1"),
    ({"ip_proto": 47, "destination_port_range": "80-80"}, "destination_port_range", "TCP, UDP or SCTP"),
    ({"icmpv4_type": 8, "source_port_range": "80-80"}, "source_port_range", "icmpv4_type is ICMP"),
    ({"arp_op": 1, "ip_proto": 6}, "arp_op", "no packet has both"),
    ({"mpls_label": 16, "ip_dscp": 1}, "mpls_label", "no packet has both"),
    ({"mpls_label": 16, "eth_type": "ipv4"}, "mpls_label", "eth_type is 0x0800"),
    ({"ipv6_nd_sll": MAC, "icmpv6_type": 136}, "ipv6_nd_sll", "needs icmpv6_type 135"),
    ({"ipv6_nd_target": "2001:db8::1", "icmpv6_type": 128}, "ipv6_nd_target", "135 or 136"),
    ({"ipv6_nd_sll": MAC, "ipv6_nd_tll": MAC}, "ipv6_nd_tll", "not both"),
    ({"ip_src_prefix": "10.0.0.0/8", "ipv6_src": "2001:db8::/32"}, "ipv6_src", "given twice"),
    ({"tenant_id": "t1", "ip_proto": 6}, "tenant_id", "no tenants"),
])
def test_contradictions_are_refused_at_onboarding_naming_the_field(acl, field, text):
    _one(_errors(d.load_vnffgd, _tcp_path(acl)), "tcp_path", field, text)


def test_a_symmetrical_path_must_tell_its_directions_apart():
    def mutate(topo):
        props = topo["node_templates"]["tcp_path"]["properties"]
        props["symmetrical"] = True
        props["policy"]["criteria"][0]["classifier"] = {"ip_proto": 6}
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "tcp_path", "policy.criteria[tcp_low]", "reads the same in both")
    ok = copy.deepcopy(_vnffgd(mutate))
    ok["topology_template"]["node_templates"]["tcp_path"]["properties"]["policy"]["criteria"][0]["classifier"] = {
        "ip_proto": 6, "destination_port_range": "80-80"}
    assert _load(ok)  # tcp_dst=80 one way, tcp_src=80 the other


@pytest.mark.parametrize("drop, key", [("network_src_port_id", "network_src_port_id"),
                                       ("network_dst_port_id", "network_dst_port_id")])
def test_a_path_through_an_nsh_unaware_vnf_needs_the_ports(drop, key):
    def mutate(topo):
        topo["node_templates"]["web_path"]["properties"]["policy"]["criteria"][0]["classifier"].pop(drop)
    issue = _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", "policy.criteria[web]", "NSH-unaware")
    assert key in issue.message


def test_the_demo_vnffgd_itself_is_fine():
    assert _load(copy.deepcopy(VNFFGD)).paths
