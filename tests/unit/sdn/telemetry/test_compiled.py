"""The compiled record path (shapes found by run, values unpacked on demand) gives exactly what
walking each record field by field gives -- the generic decoder the collector had before it --
for scapy-built datagrams and OVS's own template with its variable-length interface names: every
length-octet form, runs and mixes of shapes, truncation, padding and more shapes than are kept."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdn.telemetry import ipfix, netflow9
from sdn.telemetry.drops import Drop
from sdn.telemetry.elements import VMWARE, converter, struct_code
from sdn.telemetry.templates import MAX_SHAPES, RUN, VARIABLE, Template, TemplateCache
from tests.unit.sdn.telemetry.ipfix_encode import (OVS_IPV4, flow_rows, hand_message, hand_set, message, template_set,
                                                   v9_packet)

A = "192.0.2.1"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def walk(template: Template, body: bytes) -> tuple[list[tuple[object, ...]], Drop | None]:
    """The generic path: one field after the other, a struct each (RFC 7011 §7 for variable ones)."""
    codes = [None if f.length == VARIABLE else struct.Struct("!" + struct_code(f.element, f.length))
             for f in template.fields]
    rows: list[tuple[object, ...]] = []
    off, n = 0, len(body)
    while n - off >= template.min_length:
        row: list[object] = []
        for code in codes:
            if code is not None:
                if off + code.size > n:
                    return rows, Drop.BAD_RECORD
                row.append(code.unpack_from(body, off)[0])
                off += code.size
                continue
            size = body[off] if off < n else 0
            off += 1
            if size == 255:
                size = body[off] << 8 | body[off + 1] if off + 2 <= n else n
                off += 2
            if off + size > n:
                return rows, Drop.BAD_RECORD
            row.append(bytes(body[off:off + size]))
            off += size
        rows.append(tuple(row))
    return rows, None


def by_name(template: Template, row: tuple[object, ...]) -> dict[str, object]:
    """A walked row by element name, each value through its element's converter."""
    out = {}
    for name, f, value in zip(template.names, template.fields, row, strict=True):
        conv = converter(f.element)
        out[name] = conv(value) if conv else value
    return out


def same_as_walk(cache: TemplateCache, template: Template, body: bytes, tid: int = 256) -> list:
    """Decode one data set of ``body`` through ipfix.decode; assert it is what the walk gives."""
    got = ipfix.decode(hand_message(hand_set(tid, body)), A, cache, 0.0)
    rows, drop = walk(template, body)
    assert [r.values for r in got.records] == rows
    assert got.drops == ((drop,) if drop else ())
    for record, row in zip(got.records, rows, strict=True):
        expected = by_name(template, row)
        assert record.fields() == expected
        assert {name: record.get(name) for name in template.names} == expected
        assert record.pick(template.names) == tuple(expected.values())          # the compiled picker too
        backwards = (*reversed(template.names), "noSuchField", template.names[0])
        assert record.pick(backwards) == tuple(expected.get(n) for n in backwards)
    return list(got.records)


def var(value: bytes, long: bool = False) -> bytes:
    """A variable-length value, in the 3-octet form (255, length) when ``long`` or 255+ octets."""
    if long or len(value) >= 255:
        return b"\xff" + struct.pack("!H", len(value)) + value
    return bytes([len(value)]) + value


def ovs_record(i: int, names: tuple[bytes, bytes, bytes, bytes], long: tuple[bool, ...] = (False,) * 4) -> bytes:
    out, k = [], 0
    for eid, length in OVS_IPV4:
        if length == VARIABLE:
            out.append(var(names[k], long[k]))
            k += 1
        else:
            out.append((i * 7919 + eid).to_bytes(8, "big")[-length:])
    return b"".join(out)


def ovs_cache() -> tuple[TemplateCache, Template]:
    cache = TemplateCache()
    assert ipfix.decode(message(template_set(256, OVS_IPV4)), A, cache, 0.0).drops == ()
    return cache, cache.templates(A, 1)[256]


NAMES = (b"", b"a", b"p7", b"p10", b"veth-a1b2c3d4", b"tap" * 30, b"x" * 300)


def test_scapy_flow_records_are_what_the_walk_gives():
    t = template_set()
    cache = TemplateCache()
    data = flow_rows(t, 5)
    decoded = ipfix.decode(message(t, data), A, cache, 0.0)
    template = cache.templates(A, 1)[256]
    body = bytes(data)[4:]
    assert [r.values for r in decoded.records] == walk(template, body)[0]
    same_as_walk(cache, template, body + b"\0\0\0")            # padding after the records


def test_netflow9_records_are_what_the_walk_gives():
    t = template_set(set_id=0)
    cache = TemplateCache()
    data = flow_rows(t, 4)
    decoded = netflow9.decode(v9_packet(t, data), A, cache, 0.0)
    template = cache.templates(A, 1)[256]
    assert len(decoded.records) == 4
    assert [r.values for r in decoded.records] == walk(template, bytes(data)[4:])[0]


def test_ovs_template_runs_mixes_and_long_forms():
    cache, template = ovs_cache()
    one = (b"sf1-in", b"sf1-in", b"sf1-out", b"sf1-out")
    same_as_walk(cache, template, b"".join(ovs_record(i, one) for i in range(7)))            # one run
    mixed = [(b"p7", b"p7", b"p8", b""), (b"p10", b"p10", b"p9", b"x"), one]
    same_as_walk(cache, template, b"".join(ovs_record(i, mixed[i // 3 % 3]) for i in range(9)))  # runs of 3
    same_as_walk(cache, template, b"".join(ovs_record(i, mixed[i % 3]) for i in range(9)))   # every record other
    same_as_walk(cache, template, b"".join(ovs_record(i, one, (i % 2 == 0, False, True, False)) for i in range(5)))
    records = same_as_walk(cache, template, ovs_record(3, (b"x" * 300, b"", b"eth0", b"y" * 70)))
    assert records[0].get("interfaceName") == "x" * 300 and records[0].get("interfaceName[1]") == "eth0"
    assert records[0].get("sourceIPv4Address") == "%d.%d.%d.%d" % tuple((3 * 7919 + 8).to_bytes(4, "big"))


def test_runs_longer_than_a_slice_and_ending_in_a_cut_record():
    cache, template = ovs_cache()
    one = (b"br0", b"br0", b"veth1", b"veth1")
    body = b"".join(ovs_record(i, one) for i in range(3 * RUN + 5))
    assert len(same_as_walk(cache, template, body)) == 3 * RUN + 5
    cut = body + ovs_record(9, one)[:60]                      # a last record cut inside its first name
    assert len(same_as_walk(cache, template, cut)) == 3 * RUN + 5


def test_a_set_that_is_one_run_but_for_one_record_is_not_taken_as_one_run():
    """The one-struct confirmation of a whole set (every length octet of every record at once)
    must see a single record whose names differ, wherever it is and whichever name it is."""
    cache, template = ovs_cache()
    one = (b"br0", b"br0", b"veth1", b"veth1")
    same_as_walk(cache, template, b"".join(ovs_record(i, one) for i in range(7)))     # the template's last shape
    for odd in range(7):
        for k in range(4):
            names = tuple(b"eth10" if j == k else n for j, n in enumerate(one))
            rows = [ovs_record(i, names if i == odd else one) for i in range(7)]     # type: ignore[arg-type]
            assert len(same_as_walk(cache, template, b"".join(rows))) == 7


def test_more_shapes_than_are_kept_still_decode_and_the_cache_stays_bounded():
    cache, template = ovs_cache()
    body = b"".join(ovs_record(i, (b"n" * i, b"", b"", b"d" * (i % 3))) for i in range(MAX_SHAPES + 20))
    same_as_walk(cache, template, body)
    assert len(template.layout.shapes) == MAX_SHAPES


def test_held_records_are_decoded_the_same_when_their_template_comes():
    cache = TemplateCache()
    body = b"".join(ovs_record(i, (b"a", b"bb", b"", b"ccc")) for i in range(4))
    assert ipfix.decode(hand_message(hand_set(256, body)), A, cache, 0.0).records == ()
    released = ipfix.decode(message(template_set(256, OVS_IPV4)), A, cache, 1.0)
    template = cache.templates(A, 1)[256]
    assert [r.values for r in released.records] == walk(template, body)[0]


def test_records_are_equal_by_value_not_by_where_they_sat():
    cache, _ = ovs_cache()
    names = (b"a", b"b", b"c", b"d")
    first = ipfix.decode(hand_message(hand_set(256, ovs_record(1, names) + ovs_record(2, names))), A, cache, 0.0).records
    second = ipfix.decode(hand_message(hand_set(256, ovs_record(2, names))), A, cache, 0.0).records
    assert first[1] == second[0] and hash(first[1]) == hash(second[0])
    assert first[0] != second[0]


def test_every_element_type_converts_as_its_element_says():
    fields = ((1, 3), (4, 1), (6, 2), (8, 4), (27, 16), (56, 6), (82, 5), (152, 8), (276, 1), (311, 8), (311, 4),
              (210, 3), (892, 0xFFFF, VMWARE), (12345, 2, 99), (1, 8))
    cache = TemplateCache()
    assert ipfix.decode(message(template_set(300, fields)), A, cache, 0.0).drops == ()
    template = cache.templates(A, 1)[300]
    row = (b"\x00\x01\x02" + b"\x06" + b"\x00\x12" + bytes([10, 0, 0, 1]) + bytes(range(16)) + bytes(range(6))
           + b"eth0\0" + struct.pack("!Q", 1_700_000_000_123) + b"\x01" + struct.pack("!d", 0.5)
           + struct.pack("!f", 0.25) + b"pad" + var(b"\x00\x2a") + b"\x12\x34" + struct.pack("!Q", 2**64 - 1))
    (record,) = same_as_walk(cache, template, row * 1, tid=300)
    assert record.get("protocolIdentifier") == 6 and record.get("octetDeltaCount") == 258
    assert record.get("dataRecordsReliability") is True and record.get("octetDeltaCount[1]") == 2**64 - 1


short_or_long = st.tuples(st.sampled_from(NAMES), st.booleans())


@FAST
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 3), st.lists(short_or_long, min_size=4, max_size=4)),
                                   min_size=1, max_size=6),
                          st.integers(0, 40), st.booleans()), min_size=1, max_size=4))
def test_any_sets_of_ovs_records_are_what_the_walk_gives(sets):
    """Sets after sets in one template (the last set's shape is tried first), each a list of
    (shape-run length, names), then cut short or padded."""
    cache, template = ovs_cache()
    i = 0
    for runs, tail, cut in sets:
        records = []
        for count, names in runs:
            for _ in range(count + 1):
                records.append(ovs_record(i, tuple(n for n, _ in names), tuple(lg for _, lg in names)))
                i += 1
        body = b"".join(records)
        body = body[:max(len(body) - tail, 0)] if cut else body + b"\0" * (tail % 4)
        if body:
            same_as_walk(cache, template, body)
