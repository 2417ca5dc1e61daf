"""IPFIX / NetFlow v9 messages from scapy's layers (the independent encoder), plus the few
pieces scapy cannot make (variable-length values, withdrawals), built by hand per RFC 7011."""

from __future__ import annotations

import struct

from scapy.all import raw
from scapy.layers.netflow import (GetNetflowRecordV9, NetflowDataflowsetV9, NetflowFlowsetV9, NetflowHeader,
                                  NetflowHeaderV9, NetflowHeaderV10, NetflowOptionsFlowset10,
                                  NetflowOptionsFlowsetOptionV9, NetflowOptionsFlowsetScopeV9,
                                  NetflowOptionsFlowsetV9, NetflowTemplateFieldV9, NetflowTemplateV9)

# what an OVS 3.1 bridge exports for IPv4 flows (subset of its template), as (id, length)
FLOW_FIELDS = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (10, 4), (158, 4), (159, 4))

# (element id, length) of OVS 3.1's whole IPv4 ingress+egress template (id 293 when recorded from
# a real bridge, tests/integration/sdn/test_telemetry.py): interfaceName and interfaceDescription
# (82, 83) of the in and out port are variable-length
OVS_IPV4 = ((138, 4), (61, 1), (56, 6), (80, 6), (256, 2), (240, 1), (10, 4), (368, 4), (82, 0xFFFF), (83, 0xFFFF),
            (14, 4), (369, 4), (82, 0xFFFF), (83, 0xFFFF), (60, 1), (192, 1), (4, 1), (195, 1), (196, 1), (5, 1),
            (8, 4), (12, 4), (176, 1), (177, 1), (158, 4), (159, 4), (133, 8), (135, 8), (2, 8), (86, 8), (354, 8),
            (355, 8), (356, 8), (357, 8), (358, 8), (19, 8), (174, 8), (352, 8), (353, 8), (136, 1), (132, 8),
            (134, 8), (1, 8), (85, 8), (198, 8), (199, 8), (25, 8), (26, 8), (20, 8), (175, 8))


def template_set(template_id: int = 256, fields=FLOW_FIELDS, set_id: int = 2) -> NetflowFlowsetV9:
    specs = []
    for f in fields:
        eid, length, *pen = f
        specs.append(NetflowTemplateFieldV9(fieldType=eid, fieldLength=length, enterpriseBit=1, enterpriseNumber=pen[0])
                     if pen else NetflowTemplateFieldV9(fieldType=eid, fieldLength=length))
    return NetflowFlowsetV9(flowSetID=set_id, templates=[NetflowTemplateV9(templateID=template_id, template_fields=specs)])


def flow_rows(tset: NetflowFlowsetV9, n: int, *, template_id: int = 256, first_port: int = 1000,
              packets: int = 3) -> NetflowDataflowsetV9:
    record = GetNetflowRecordV9(tset)
    rows = [record(IPV4_SRC_ADDR="10.0.0.1", IPV4_DST_ADDR="10.0.0.2", L4_SRC_PORT=first_port + i, L4_DST_PORT=80,
                   PROTOCOL=6, IN_BYTES=packets * 100, IN_PKTS=packets, INPUT_SNMP=3,
                   flowStartDeltaMicroseconds=5, flowEndDeltaMicroseconds=1) for i in range(n)]
    return NetflowDataflowsetV9(templateID=template_id, records=rows)


def options_template_set(template_id: int = 300) -> NetflowOptionsFlowset10:
    """Scope observationDomainId; options exportedMessageTotalCount, exportedFlowRecordTotalCount.
    ``pad`` is given because scapy's own padding of this set cuts the option fields off."""
    return NetflowOptionsFlowset10(flowSetID=3, templateID=template_id, field_count=3, scope_field_count=1, pad=b"\0\0",
                                   scopes=[NetflowOptionsFlowsetScopeV9(scopeFieldType=149, scopeFieldlength=4)],
                                   options=[NetflowOptionsFlowsetOptionV9(optionFieldType=41, optionFieldlength=8),
                                            NetflowOptionsFlowsetOptionV9(optionFieldType=42, optionFieldlength=8)])


def message(*sets, domain: int = 1, export_time: int = 1_700_000_000, seq: int = 0) -> bytes:
    """An IPFIX message; the length field is rewritten because scapy 2.5-2.8's IPFIX header
    counts the message 2 bytes short (it leaves out the version field)."""
    pkt = NetflowHeader(version=10) / NetflowHeaderV10(ExportTime=export_time, flowSequence=seq,
                                                       ObservationDomainID=domain)
    for s in sets:
        pkt = pkt / s
    return fix_length(raw(pkt))


def fix_length(data: bytes) -> bytes:
    return data[:2] + struct.pack("!H", len(data)) + data[4:]


def hand_message(*sets: bytes, domain: int = 1, export_time: int = 1_700_000_000) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, 0, domain) + body


def hand_set(set_id: int, body: bytes) -> bytes:
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def withdrawal(template_id: int, set_id: int = 2) -> bytes:
    return hand_set(set_id, struct.pack("!HH", template_id, 0))


def varlen(value: bytes) -> bytes:
    """RFC 7011 §7: one length octet, or 255 and two more for 255 bytes or longer."""
    return (bytes([len(value)]) if len(value) < 255 else b"\xff" + struct.pack("!H", len(value))) + value


def v9_packet(*flowsets, source_id: int = 1, unix_secs: int = 1_700_000_000) -> bytes:
    pkt = NetflowHeader(version=9) / NetflowHeaderV9(unixSecs=unix_secs, SourceID=source_id)
    for s in flowsets:
        pkt = pkt / s
    return raw(pkt)


def v9_options_template(template_id: int = 260) -> NetflowOptionsFlowsetV9:
    """Scope: interface (2, 4 bytes); options: SAMPLING_INTERVAL (34), SAMPLING_ALGORITHM (35)."""
    return NetflowOptionsFlowsetV9(templateID=template_id, option_scope_length=4, option_field_length=8,
                                   scopes=[NetflowOptionsFlowsetScopeV9(scopeFieldType=2, scopeFieldlength=4)],
                                   options=[NetflowOptionsFlowsetOptionV9(optionFieldType=34, optionFieldlength=4),
                                            NetflowOptionsFlowsetOptionV9(optionFieldType=35, optionFieldlength=1)])
