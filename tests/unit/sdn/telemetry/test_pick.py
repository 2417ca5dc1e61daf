"""DataRecord.pick (a picker compiled per shape and names) returns what get() does, field by
field, for any names in any order; and the Attributor's remembered answers are its rules'."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.packet import FiveTuple
from sdn.telemetry import ipfix
from sdn.telemetry.attribution import MEMO, Attributor
from sdn.telemetry.elements import VMWARE
from sdn.telemetry.layout import pick_each
from sdn.telemetry.templates import MAX_SHAPES, TemplateCache
from tests.unit.sdn.telemetry.ipfix_encode import hand_message, hand_set, message, template_set
from tests.unit.sdn.telemetry.test_compiled import A, ovs_cache, ovs_record, var
from sdn.telemetry.catalogue import catalogue_of
from tests.unit.sdn.telemetry.chain_doc import document

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# IPv4 and IPv6 addresses, a MAC, a 3-octet (reduced-size) counter, a string, enterprise and
# variable-length ones, a repeated element
FIELDS = ((8, 4), (27, 16), (56, 6), (1, 3), (82, 5), (892, 0xFFFF, VMWARE), (12345, 2, 99), (2, 8), (1, 8),
          (12, 4), (83, 0xFFFF))


def _records(names: list[bytes]):
    cache = TemplateCache()
    assert ipfix.decode(message(template_set(300, FIELDS)), A, cache, 0.0).drops == ()
    template = cache.templates(A, 1)[300]
    rows = b"".join(bytes([10, 0, 0, i % 256]) + bytes(range(16)) + bytes(range(6)) + b"\0\1\2" + b"eth0\0"
                    + var(n) + b"\x12\x34" + (i * 77).to_bytes(8, "big") + (i * 3).to_bytes(8, "big")
                    + bytes([192, 0, 2, i % 256]) + var(n[::-1], long=i % 2 == 1) for i, n in enumerate(names))
    got = ipfix.decode(hand_message(hand_set(300, rows)), A, cache, 0.0)
    assert got.drops == () and len(got.records) == len(names)
    return template, got.records


@FAST
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8),
       st.lists(st.sampled_from(("noSuchField", "sourceIPv4Address", "octetDeltaCount[1]", "interfaceDescription",
                                 "destinationIPv4Address", "packetDeltaCount", "octetDeltaCount")), max_size=6))
def test_pick_is_get_for_any_names_in_any_order(values, extra):
    template, records = _records(values)
    names = (*template.names, *extra)
    for order in (names, tuple(reversed(names)), tuple(extra)):
        want = [tuple(r.get(n) for n in order) for r in records]
        assert [r.pick(order) for r in records] == want
        assert pick_each(records, order) == want


def test_pick_of_nothing_known_and_of_no_names():
    _, records = _records([b"a"])
    assert records[0].pick(("x", "y")) == (None, None)
    assert records[0].pick(()) == ()


def test_shapes_past_the_kept_ones_pick_the_same_without_compiling():
    cache, template = ovs_cache()
    body = b"".join(ovs_record(i, (b"n" * i, b"", b"", b"d" * (i % 3))) for i in range(MAX_SHAPES + 5))
    records = ipfix.decode(hand_message(hand_set(256, body)), A, cache, 0.0).records
    names = ("sourceIPv4Address", "interfaceName", "packetDeltaCount", "interfaceName[1]")
    assert [r.pick(names) for r in records] == [tuple(r.get(n) for n in names) for r in records]
    transient = [r[2] for r in records if not r[2].kept]
    assert transient and all(not s.picks for s in transient)


def test_attribution_is_remembered_per_flow_and_port_and_bounded():
    attributor = Attributor.of(catalogue_of(document()))
    fresh = Attributor.of(catalogue_of(document()))
    flows = [FiveTuple(6, f"10.0.0.{i % 250}", "10.9.9.9", 1000 + i, 80) for i in range(300)]
    for flow in flows * 2:
        for port in (None, "p1", "nope"):
            assert attributor.attribute(flow, port) == fresh._match(flow, port)
    assert len(attributor._memo) == 900
    for i in range(MEMO + 10):
        attributor.attribute(FiveTuple(17, "10.0.0.1", "10.0.0.2", i % 65536, i // 65536))
    assert len(attributor._memo) <= MEMO
