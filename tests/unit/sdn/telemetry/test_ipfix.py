"""IPFIX (RFC 7011) against scapy-built messages: templates, options templates, withdrawal and
refresh, variable-length and enterprise fields, per-exporter templates and held records."""

from __future__ import annotations

import struct

import pytest

from sdn.telemetry import ipfix
from sdn.telemetry.drops import Drop
from sdn.telemetry.elements import VMWARE
from sdn.telemetry.templates import Limits, TemplateCache
from tests.unit.sdn.telemetry.ipfix_encode import (flow_rows, fix_length, hand_message, hand_set, message,
                                                   options_template_set, template_set, varlen, withdrawal)

A, B = "192.0.2.1", "192.0.2.2"


def test_template_then_data_gives_named_fields():
    t = template_set()
    decoded = ipfix.decode(message(t, flow_rows(t, 3), export_time=1_700_000_123, domain=5), A, TemplateCache(), 0.0)
    assert decoded.drops == () and len(decoded.records) == 3
    rec = decoded.records[0]
    assert (rec.exporter, rec.domain_id, rec.export_time) == (A, 5, 1_700_000_123)
    assert rec.fields() == {
        "sourceIPv4Address": "10.0.0.1", "destinationIPv4Address": "10.0.0.2", "sourceTransportPort": 1000,
        "destinationTransportPort": 80, "protocolIdentifier": 6, "octetDeltaCount": 300, "packetDeltaCount": 3,
        "ingressInterface": 3, "flowStartDeltaMicroseconds": 5, "flowEndDeltaMicroseconds": 1}
    assert [r.get("sourceTransportPort") for r in decoded.records] == [1000, 1001, 1002]
    assert rec.get("noSuchElement", "x") == "x"


def test_options_template_and_its_data():
    cache = TemplateCache()
    data = hand_set(300, struct.pack("!IQQ", 5, 17, 42))
    decoded = ipfix.decode(message(options_template_set(), domain=5) , A, cache, 0.0)
    assert decoded.drops == ()
    t = cache.templates(A, 5)[300]
    assert t.options and t.scope_count == 1 and t.names == (
        "observationDomainId", "exportedMessageTotalCount", "exportedFlowRecordTotalCount")
    (rec,) = ipfix.decode(hand_message(data, domain=5), A, cache, 0.0).records
    assert rec.fields() == {"observationDomainId": 5, "exportedMessageTotalCount": 17, "exportedFlowRecordTotalCount": 42}


def test_variable_length_and_enterprise_fields():
    t = template_set(257, fields=((8, 4), (892, 0xFFFF, VMWARE), (898, 0xFFFF, VMWARE), (82, 0xFFFF), (12345, 2, 99)))
    cache = TemplateCache()
    assert ipfix.decode(message(t), A, cache, 0.0).drops == ()
    long_name = "x" * 300
    rows = [bytes([10, 0, 0, 9]) + varlen(b"\x00\x00\x00\x2a") + varlen(b"obs-1") + varlen(long_name.encode()) + b"\x12\x34",
            bytes([10, 0, 0, 8]) + varlen(b"") + varlen(b"o") + varlen(b"eth0") + b"\x00\x01"]
    decoded = ipfix.decode(hand_message(hand_set(257, b"".join(rows) + b"\0\0")), A, cache, 0.0)
    assert decoded.drops == ()
    first, second = (r.fields() for r in decoded.records)
    assert first == {"sourceIPv4Address": "10.0.0.9", "tunnelKey": b"\x00\x00\x00\x2a", "virtualObsID": "obs-1",
                     "interfaceName": long_name, "enterprise99.element12345": b"\x12\x34"}
    assert second["tunnelKey"] == b"" and second["interfaceName"] == "eth0"


def test_a_variable_length_field_past_its_set_is_a_bad_record():
    t = template_set(257, fields=((8, 4), (82, 0xFFFF)))
    cache = TemplateCache()
    ipfix.decode(message(t), A, cache, 0.0)
    body = bytes([10, 0, 0, 1]) + varlen(b"ok") + bytes([10, 0, 0, 2]) + b"\x09abc"
    decoded = ipfix.decode(hand_message(hand_set(257, body)), A, cache, 0.0)
    assert len(decoded.records) == 1 and decoded.drops == (Drop.BAD_RECORD,)


def test_reduced_size_encoding():
    t = template_set(258, fields=((1, 4), (2, 3), (8, 4)))     # octetDeltaCount in 4, packetDeltaCount in 3
    cache = TemplateCache()
    ipfix.decode(message(t), A, cache, 0.0)
    (rec,) = ipfix.decode(hand_message(hand_set(258, struct.pack("!I", 7) + b"\0\1\0" + bytes(4))), A, cache, 0.0).records
    assert rec.fields()["octetDeltaCount"] == 7 and rec.fields()["packetDeltaCount"] == 256


def test_withdrawal_refresh_and_withdraw_all():
    cache = TemplateCache()
    t = template_set()
    ipfix.decode(message(t, options_template_set()), A, cache, 0.0)
    ipfix.decode(hand_message(withdrawal(256)), A, cache, 1.0)
    assert set(cache.templates(A, 1)) == {300}
    ipfix.decode(message(template_set(256, fields=((8, 4),))), A, cache, 2.0)          # redefined, smaller
    (rec,) = ipfix.decode(hand_message(hand_set(256, bytes([1, 2, 3, 4]))), A, cache, 2.0).records
    assert rec.fields() == {"sourceIPv4Address": "1.2.3.4"}
    ipfix.decode(hand_message(withdrawal(3, set_id=3)), A, cache, 3.0)               # all options templates
    assert set(cache.templates(A, 1)) == {256}
    ipfix.decode(hand_message(withdrawal(2)), A, cache, 3.0)                          # all templates
    assert cache.templates(A, 1) == {}


def test_templates_are_per_exporter_and_per_domain():
    cache = TemplateCache()
    ipfix.decode(message(template_set(), domain=1), A, cache, 0.0)
    ipfix.decode(message(template_set(256, fields=((8, 4),)), domain=2), A, cache, 0.0)
    ipfix.decode(message(template_set(256, fields=((12, 4),)), domain=1), B, cache, 0.0)
    assert len(cache.templates(A, 1)[256].fields) == 10
    assert cache.templates(A, 2)[256].names == ("sourceIPv4Address",)
    assert cache.templates(B, 1)[256].names == ("destinationIPv4Address",)
    # B's withdrawal of "its" 256 leaves A's alone
    ipfix.decode(hand_message(withdrawal(2)), B, cache, 0.0)
    assert 256 in cache.templates(A, 1) and cache.templates(B, 1) == {}


def test_records_before_their_template_are_held_then_decoded():
    cache = TemplateCache()
    t = template_set()
    early = ipfix.decode(message(flow_rows(t, 4)), A, cache, 0.0)
    assert early.records == () and early.drops == ()
    late = ipfix.decode(message(t, flow_rows(t, 2, first_port=2000)), A, cache, 1.0)
    assert late.drops == ()
    assert sorted(r.get("sourceTransportPort") for r in late.records) == [1000, 1001, 1002, 1003, 2000, 2001]


def test_held_records_expire_and_overflow_counted():
    cache = TemplateCache(Limits(max_held=2, held_age=5.0))
    t = template_set()
    for now in (0.0, 1.0, 2.0):
        decoded = ipfix.decode(message(flow_rows(t, 1)), A, cache, now)
    assert decoded.drops == (Drop.PENDING_OVERFLOW,)
    assert cache.expire(10.0) == [(A, Drop.UNKNOWN_TEMPLATE_EXPIRED)] * 2
    assert ipfix.decode(message(t), A, cache, 11.0).records == ()      # nothing left to release


def test_templates_age_out_after_their_lifetime():
    cache = TemplateCache(Limits(template_lifetime=60.0))
    t = template_set()
    ipfix.decode(message(t), A, cache, 0.0)
    assert len(ipfix.decode(message(flow_rows(t, 1)), A, cache, 59.0).records) == 1
    assert ipfix.decode(message(flow_rows(t, 1)), A, cache, 61.0).records == ()      # held now
    assert len(ipfix.decode(message(t), A, cache, 62.0).records) == 1                 # refresh releases it


def test_domain_and_template_limits_refuse_newcomers_only():
    cache = TemplateCache(Limits(max_domains=1, max_templates=1))
    ipfix.decode(message(template_set()), A, cache, 0.0)
    assert ipfix.decode(message(template_set()), B, cache, 0.0).drops == (Drop.DOMAIN_LIMIT,)
    assert ipfix.decode(message(template_set(257)), A, cache, 0.0).drops == (Drop.TEMPLATE_LIMIT,)
    assert set(cache.templates(A, 1)) == {256}


def test_a_malformed_template_set_changes_nothing():
    cache = TemplateCache()
    ipfix.decode(message(template_set()), A, cache, 0.0)
    good = struct.pack("!HHHH", 256, 1, 8, 4)
    bad = struct.pack("!HHHH", 257, 3, 8, 4)                        # says 3 fields, has 1
    decoded = ipfix.decode(hand_message(hand_set(2, good + bad)), A, cache, 0.0)
    assert decoded.drops == (Drop.BAD_TEMPLATE,)
    assert len(cache.templates(A, 1)[256].fields) == 10


@pytest.mark.parametrize(("data", "reason"), [
    (b"\0\x0a\0\x10", Drop.TRUNCATED),
    (struct.pack("!HHIII", 9, 16, 0, 0, 0), Drop.BAD_VERSION),
    (struct.pack("!HHIII", 10, 40, 0, 0, 0), Drop.TRUNCATED),
    (struct.pack("!HHIII", 10, 12, 0, 0, 0), Drop.BAD_LENGTH),
    (struct.pack("!HHIII", 10, 16, 0, 0, 0) + b"\0" * 4, Drop.BAD_LENGTH),
])
def test_a_lying_message_header_drops_the_datagram(data, reason):
    assert ipfix.decode(data, A, TemplateCache(), 0.0).drops == (reason,)


def test_bad_set_length_and_reserved_set_ids():
    cache = TemplateCache()
    lying = fix_length(hand_message(struct.pack("!HH", 256, 400) + b"\0" * 8))
    assert ipfix.decode(lying, A, cache, 0.0).drops == (Drop.BAD_SET_LENGTH,)
    reserved = hand_message(hand_set(5, b"\0" * 4), hand_set(2, struct.pack("!HHHH", 256, 1, 8, 4)))
    decoded = ipfix.decode(reserved, A, cache, 0.0)
    assert decoded.drops == (Drop.RESERVED_SET_ID,) and 256 in cache.templates(A, 1)


def test_a_resent_template_set_is_compiled_once_and_still_refreshes():
    """Exporters resend the same template set every few messages: it is parsed once (the same
    frozen templates come back), and each resend still refreshes the template's lifetime."""
    cache = TemplateCache(Limits(template_lifetime=60.0))
    t = template_set()
    ipfix.decode(message(t), A, cache, 0.0)
    first = cache.templates(A, 1)[256]
    ipfix.decode(message(t), B, cache, 50.0)                        # another exporter, same bytes
    ipfix.decode(message(t), A, cache, 50.0)                        # A's refresh
    assert cache.templates(A, 1)[256] is first and cache.templates(B, 1)[256] is first
    assert len(ipfix.decode(message(flow_rows(t, 1)), A, cache, 100.0).records) == 1   # alive: refreshed at 50
    ipfix.decode(message(template_set(256, fields=((8, 4),))), A, cache, 101.0)        # redefined: other bytes
    assert cache.templates(A, 1)[256].names == ("sourceIPv4Address",)
    assert cache.templates(B, 1)[256] is first                                          # B's own is untouched
