"""Bad documents fail whole, naming the element."""

from __future__ import annotations

import pytest

from sdn.docfile import load_document
from sdn.document import DocumentError
from sdn.match import compile_match, parse_match, port_range_masks

BASE = """
switches: [{name: s1, dpid: 1}]
service_functions:
  - {name: fw, instances: [{switch: s1, port: fw0}]}
service_function_paths:
  - {name: web, spi: 7, hops: [fw], classifiers: [{name: http, in_port: c, match: {tcp_dst: 80}}]}
"""


def test_valid_document_parses():
    doc = load_document(BASE)
    assert doc.paths[0].spi == 7 and doc.paths[0].end_si == 254


@pytest.mark.parametrize("mutation, element", [
    (("spi: 7", "spi: 0"), "service_function_paths[web].spi"),
    (("spi: 7", "spi: 16777216"), "service_function_paths[web].spi"),
    (("hops: [fw]", "hops: [fw, nope]"), "service_function_paths[web].hops[1]"),
    (("hops: [fw]", "hops: []"), "service_function_paths[web].hops"),
    (("tcp_dst: 80", "tcp_dst: 90-80"), "service_function_paths[web].classifiers[http].match.tcp_dst"),
    (("tcp_dst: 80", "tcp_dst: abc"), "service_function_paths[web].classifiers[http].match.tcp_dst"),
    (("tcp_dst: 80", "nw_src: 10.0.0.300"), "service_function_paths[web].classifiers[http].match.nw_src"),
    (("tcp_dst: 80", "bogus: 1"), "service_function_paths[web].classifiers[http].match.bogus"),
    (("in_port: c", "in_port: fw0"), "service_function_paths[web].classifiers[http].in_port"),
    (("{switch: s1, port: fw0}", "{switch: s2, port: fw0}"), "service_functions[fw].instances[0].switch"),
    (("dpid: 1", "dpid: -1"), "switches[s1].dpid"),
])
def test_errors_name_the_element(mutation, element):
    with pytest.raises(DocumentError) as err:
        load_document(BASE.replace(*mutation))
    assert err.value.element == element, str(err.value)


def test_duplicate_spi_is_refused():
    doc = BASE + "  - {name: web2, spi: 7, hops: [fw]}\n"
    with pytest.raises(DocumentError, match=r"service_function_paths\[web2\].spi: SPI 7 is already used by path web"):
        load_document(doc)


def test_duplicate_classifier_name_and_identical_match_are_refused():
    dup = BASE + "  - {name: w2, spi: 8, hops: [fw], classifiers: [{name: http, in_port: c, match: {tcp_dst: 81}}]}\n"
    with pytest.raises(DocumentError, match="duplicate classifier"):
        load_document(dup)
    same = BASE + "  - {name: w2, spi: 8, hops: [fw], classifiers: [{name: h2, in_port: c, match: {tp_dst: 80}}]}\n"
    with pytest.raises(DocumentError, match="identical to classifier web/http"):
        load_document(same)


def test_malformed_yaml_says_where():
    with pytest.raises(DocumentError, match="line 3"):
        load_document("switches:\n  - {name: [\n")


def test_not_a_mapping():
    with pytest.raises(DocumentError):
        load_document("- 1\n- 2\n")


def test_port_range_masks_cover_exactly():
    for low, high in [(80, 80), (1000, 1999), (0, 65535), (1, 65534), (32768, 60999)]:
        covered = set()
        for value, mask in port_range_masks(low, high):
            size = (~mask & 0xFFFF) + 1
            covered |= set(range(value, value + size))
        assert covered == set(range(low, high + 1))


def test_match_aliases_and_prerequisites():
    assert compile_match(parse_match({"tcp_dest": 80, "ip_proto": 6})) == compile_match(parse_match({"tp_dst": 80}))
    v4, v6 = compile_match(parse_match({"udp_dst": 53}))  # no address says which IP: both
    assert dict(v4) == {"eth_type": 0x0800, "ip_proto": 17, "udp_dst": 53}
    assert dict(v6) == {"eth_type": 0x86DD, "ip_proto": 17, "udp_dst": 53}
    (m,) = compile_match(parse_match({"ip_dst_prefix": "2001:db8::/32", "destination_port_range": "443-443"}))
    assert dict(m)["eth_type"] == 0x86DD and dict(m)["tcp_dst"] == 443
    assert len(compile_match(parse_match({"destination_port_range": "1000-1999"}))) == 2 * 7
