"""NetFlow v9 (RFC 3954) against scapy's NetflowV9 layers, on the shared template machinery."""

from __future__ import annotations

import struct

from scapy.layers.netflow import NetflowDataflowsetV9, NetflowRecordV9

from sdn.telemetry import ipfix, netflow9
from sdn.telemetry.drops import Drop
from sdn.telemetry.templates import TemplateCache
from tests.unit.sdn.telemetry.ipfix_encode import flow_rows, message, template_set, v9_options_template, v9_packet

A = "198.51.100.7"


def test_template_and_data_flowsets():
    t = template_set(set_id=0)
    cache = TemplateCache()
    decoded = netflow9.decode(v9_packet(t, flow_rows(t, 5), source_id=9, unix_secs=1_700_000_001), A, cache, 0.0)
    assert decoded.drops == () and len(decoded.records) == 5
    rec = decoded.records[4]
    assert (rec.exporter, rec.domain_id, rec.export_time) == (A, 9, 1_700_000_001)
    f = rec.fields()
    assert (f["sourceIPv4Address"], f["sourceTransportPort"], f["packetDeltaCount"], f["octetDeltaCount"]) == (
        "10.0.0.1", 1004, 3, 300)


def test_options_template_with_scope():
    cache = TemplateCache()
    assert netflow9.decode(v9_packet(v9_options_template()), A, cache, 0.0).drops == ()
    t = cache.templates(A, 1)[260]
    assert t.scope_count == 1 and t.names == ("scopeInterface", "samplingInterval", "samplingAlgorithm")
    data = NetflowDataflowsetV9(templateID=260, records=[NetflowRecordV9(fieldValue=struct.pack("!IIB", 3, 64, 2))])
    (rec,) = netflow9.decode(v9_packet(data), A, cache, 0.0).records
    assert rec.fields() == {"scopeInterface": 3, "samplingInterval": 64, "samplingAlgorithm": 2}


def test_data_before_template_is_held():
    t = template_set(set_id=0)
    cache = TemplateCache()
    assert netflow9.decode(v9_packet(flow_rows(t, 2)), A, cache, 0.0).records == ()
    assert len(netflow9.decode(v9_packet(t), A, cache, 1.0).records) == 2


def test_source_ids_and_protocols_do_not_share_templates():
    v9, v10 = TemplateCache(), TemplateCache()
    netflow9.decode(v9_packet(template_set(256, fields=((8, 4),), set_id=0), source_id=1), A, v9, 0.0)
    netflow9.decode(v9_packet(template_set(256, fields=((12, 4),), set_id=0), source_id=2), A, v9, 0.0)
    ipfix.decode(message(template_set(256, fields=((7, 2),)), domain=1), A, v10, 0.0)
    assert v9.templates(A, 1)[256].names == ("sourceIPv4Address",)
    assert v9.templates(A, 2)[256].names == ("destinationIPv4Address",)
    assert v10.templates(A, 1)[256].names == ("sourceTransportPort",)


def test_hostile_packets():
    cache = TemplateCache()
    assert netflow9.decode(b"\0\x09", A, cache, 0.0).drops == (Drop.TRUNCATED,)
    assert netflow9.decode(struct.pack("!HHIIII", 5, 0, 0, 0, 0, 0), A, cache, 0.0).drops == (Drop.BAD_VERSION,)
    head = struct.pack("!HHIIII", 9, 1, 0, 0, 0, 1)
    no_fields = struct.pack("!HHHH", 0, 8, 256, 0)                  # v9 has no withdrawal
    assert netflow9.decode(head + no_fields, A, cache, 0.0).drops == (Drop.BAD_TEMPLATE,)
    varlen = struct.pack("!HHHHHH", 0, 12, 256, 1, 82, 0xFFFF)       # v9 has no variable length
    assert netflow9.decode(head + varlen, A, cache, 0.0).drops == (Drop.BAD_TEMPLATE,)
    lying = struct.pack("!HH", 256, 200) + b"\0" * 8
    assert netflow9.decode(head + lying, A, cache, 0.0).drops == (Drop.BAD_SET_LENGTH,)
    assert cache.templates(A, 1) == {}
