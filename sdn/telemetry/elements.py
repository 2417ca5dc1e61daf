"""IPFIX information elements: names and abstract data types (IANA registry, RFC 7012), plus
the VMware enterprise elements Open vSwitch exports, and how a field's bytes become a value.

Records are unpacked to raw values first (ints for 1/2/4/8-byte numbers, bytes otherwise) and
only turned into addresses, strings and so on by :func:`converter` when a consumer asks, which
keeps decoding fast. Reduced-size encoding (RFC 7011 §6.2) is honoured: any length works.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass
from socket import inet_ntoa
from typing import cast

VMWARE = 6876                      # PEN of the enterprise elements OVS exports (tunnels, virtual obs id)


@dataclass(frozen=True, slots=True)
class Element:
    name: str
    type: str                      # RFC 7012 abstract data type, e.g. "unsigned64", "ipv4Address"


_U8, _U16, _U32, _U64 = "unsigned8", "unsigned16", "unsigned32", "unsigned64"
_V4, _V6, _MAC, _STR, _OCT = "ipv4Address", "ipv6Address", "macAddress", "string", "octetArray"
_S, _MS, _US, _NS = "dateTimeSeconds", "dateTimeMilliseconds", "dateTimeMicroseconds", "dateTimeNanoseconds"

_IANA_ROWS: tuple[tuple[int, str, str], ...] = (
    (1, "octetDeltaCount", _U64), (2, "packetDeltaCount", _U64), (3, "deltaFlowCount", _U64),
    (4, "protocolIdentifier", _U8), (5, "ipClassOfService", _U8), (6, "tcpControlBits", _U16),
    (7, "sourceTransportPort", _U16), (8, "sourceIPv4Address", _V4), (9, "sourceIPv4PrefixLength", _U8),
    (10, "ingressInterface", _U32), (11, "destinationTransportPort", _U16), (12, "destinationIPv4Address", _V4),
    (13, "destinationIPv4PrefixLength", _U8), (14, "egressInterface", _U32), (15, "ipNextHopIPv4Address", _V4),
    (16, "bgpSourceAsNumber", _U32), (17, "bgpDestinationAsNumber", _U32), (18, "bgpNextHopIPv4Address", _V4),
    (19, "postMCastPacketDeltaCount", _U64), (20, "postMCastOctetDeltaCount", _U64),
    (21, "flowEndSysUpTime", _U32), (22, "flowStartSysUpTime", _U32), (23, "postOctetDeltaCount", _U64),
    (24, "postPacketDeltaCount", _U64), (25, "minimumIpTotalLength", _U64), (26, "maximumIpTotalLength", _U64),
    (27, "sourceIPv6Address", _V6), (28, "destinationIPv6Address", _V6), (29, "sourceIPv6PrefixLength", _U8),
    (30, "destinationIPv6PrefixLength", _U8), (31, "flowLabelIPv6", _U32), (32, "icmpTypeCodeIPv4", _U16),
    (33, "igmpType", _U8), (34, "samplingInterval", _U32), (35, "samplingAlgorithm", _U8),
    (36, "flowActiveTimeout", _U16), (37, "flowIdleTimeout", _U16), (38, "engineType", _U8), (39, "engineId", _U8),
    (40, "exportedOctetTotalCount", _U64), (41, "exportedMessageTotalCount", _U64),
    (42, "exportedFlowRecordTotalCount", _U64), (43, "ipv4RouterSc", _V4), (44, "sourceIPv4Prefix", _V4),
    (45, "destinationIPv4Prefix", _V4), (46, "mplsTopLabelType", _U8), (47, "mplsTopLabelIPv4Address", _V4),
    (48, "samplerId", _U8), (49, "samplerMode", _U8), (50, "samplerRandomInterval", _U32), (51, "classId", _U8),
    (52, "minimumTTL", _U8), (53, "maximumTTL", _U8), (54, "fragmentIdentification", _U32),
    (55, "postIpClassOfService", _U8), (56, "sourceMacAddress", _MAC), (57, "postDestinationMacAddress", _MAC),
    (58, "vlanId", _U16), (59, "postVlanId", _U16), (60, "ipVersion", _U8), (61, "flowDirection", _U8),
    (62, "ipNextHopIPv6Address", _V6), (63, "bgpNextHopIPv6Address", _V6), (64, "ipv6ExtensionHeaders", _U32),
    (70, "mplsTopLabelStackSection", _OCT), *((70 + i, f"mplsLabelStackSection{i + 1}", _OCT) for i in range(1, 10)),
    (80, "destinationMacAddress", _MAC), (81, "postSourceMacAddress", _MAC), (82, "interfaceName", _STR),
    (83, "interfaceDescription", _STR), (84, "samplerName", _STR), (85, "octetTotalCount", _U64),
    (86, "packetTotalCount", _U64), (87, "flagsAndSamplerId", _U32), (88, "fragmentOffset", _U16),
    (89, "forwardingStatus", _U32), (90, "mplsVpnRouteDistinguisher", _OCT), (91, "mplsTopLabelPrefixLength", _U8),
    (92, "srcTrafficIndex", _U32), (93, "dstTrafficIndex", _U32), (94, "applicationDescription", _STR),
    (95, "applicationId", _OCT), (96, "applicationName", _STR), (98, "postIpDiffServCodePoint", _U8),
    (99, "multicastReplicationFactor", _U32), (100, "className", _STR), (101, "classificationEngineId", _U8),
    (102, "layer2packetSectionOffset", _U16), (103, "layer2packetSectionSize", _U16),
    (104, "layer2packetSectionData", _OCT), (128, "bgpNextAdjacentAsNumber", _U32),
    (129, "bgpPrevAdjacentAsNumber", _U32), (130, "exporterIPv4Address", _V4), (131, "exporterIPv6Address", _V6),
    (132, "droppedOctetDeltaCount", _U64), (133, "droppedPacketDeltaCount", _U64),
    (134, "droppedOctetTotalCount", _U64), (135, "droppedPacketTotalCount", _U64), (136, "flowEndReason", _U8),
    (137, "commonPropertiesId", _U64), (138, "observationPointId", _U64), (139, "icmpTypeCodeIPv6", _U16),
    (140, "mplsTopLabelIPv6Address", _V6), (141, "lineCardId", _U32), (142, "portId", _U32),
    (143, "meteringProcessId", _U32), (144, "exportingProcessId", _U32), (145, "templateId", _U16),
    (146, "wlanChannelId", _U8), (147, "wlanSSID", _STR), (148, "flowId", _U64), (149, "observationDomainId", _U32),
    (150, "flowStartSeconds", _S), (151, "flowEndSeconds", _S), (152, "flowStartMilliseconds", _MS),
    (153, "flowEndMilliseconds", _MS), (154, "flowStartMicroseconds", _US), (155, "flowEndMicroseconds", _US),
    (156, "flowStartNanoseconds", _NS), (157, "flowEndNanoseconds", _NS), (158, "flowStartDeltaMicroseconds", _U32),
    (159, "flowEndDeltaMicroseconds", _U32), (160, "systemInitTimeMilliseconds", _MS),
    (161, "flowDurationMilliseconds", _U32), (162, "flowDurationMicroseconds", _U32),
    (163, "observedFlowTotalCount", _U64), (164, "ignoredPacketTotalCount", _U64),
    (165, "ignoredOctetTotalCount", _U64), (166, "notSentFlowTotalCount", _U64),
    (167, "notSentPacketTotalCount", _U64), (168, "notSentOctetTotalCount", _U64),
    (169, "destinationIPv6Prefix", _V6), (170, "sourceIPv6Prefix", _V6), (171, "postOctetTotalCount", _U64),
    (172, "postPacketTotalCount", _U64), (173, "flowKeyIndicator", _U64), (174, "postMCastPacketTotalCount", _U64),
    (175, "postMCastOctetTotalCount", _U64), (176, "icmpTypeIPv4", _U8), (177, "icmpCodeIPv4", _U8),
    (178, "icmpTypeIPv6", _U8), (179, "icmpCodeIPv6", _U8), (180, "udpSourcePort", _U16),
    (181, "udpDestinationPort", _U16), (182, "tcpSourcePort", _U16), (183, "tcpDestinationPort", _U16),
    (184, "tcpSequenceNumber", _U32), (185, "tcpAcknowledgementNumber", _U32), (186, "tcpWindowSize", _U16),
    (187, "tcpUrgentPointer", _U16), (188, "tcpHeaderLength", _U8), (189, "ipHeaderLength", _U8),
    (190, "totalLengthIPv4", _U16), (191, "payloadLengthIPv6", _U16), (192, "ipTTL", _U8),
    (193, "nextHeaderIPv6", _U8), (194, "mplsPayloadLength", _U32), (195, "ipDiffServCodePoint", _U8),
    (196, "ipPrecedence", _U8), (197, "fragmentFlags", _U8), (198, "octetDeltaSumOfSquares", _U64),
    (199, "octetTotalSumOfSquares", _U64), (200, "mplsTopLabelTTL", _U8), (201, "mplsLabelStackLength", _U32),
    (202, "mplsLabelStackDepth", _U32), (203, "mplsTopLabelExp", _U8), (204, "ipPayloadLength", _U32),
    (205, "udpMessageLength", _U16), (206, "isMulticast", _U8), (207, "ipv4IHL", _U8), (208, "ipv4Options", _U32),
    (209, "tcpOptions", _U64), (210, "paddingOctets", _OCT), (211, "collectorIPv4Address", _V4),
    (212, "collectorIPv6Address", _V6), (213, "exportInterface", _U32), (214, "exportProtocolVersion", _U8),
    (215, "exportTransportProtocol", _U8), (216, "collectorTransportPort", _U16),
    (217, "exporterTransportPort", _U16), (218, "tcpSynTotalCount", _U64), (219, "tcpFinTotalCount", _U64),
    (220, "tcpRstTotalCount", _U64), (221, "tcpPshTotalCount", _U64), (222, "tcpAckTotalCount", _U64),
    (223, "tcpUrgTotalCount", _U64), (224, "ipTotalLength", _U64), (225, "postNATSourceIPv4Address", _V4),
    (226, "postNATDestinationIPv4Address", _V4), (227, "postNAPTSourceTransportPort", _U16),
    (228, "postNAPTDestinationTransportPort", _U16), (229, "natOriginatingAddressRealm", _U8),
    (230, "natEvent", _U8), (231, "initiatorOctets", _U64), (232, "responderOctets", _U64),
    (233, "firewallEvent", _U8), (234, "ingressVRFID", _U32), (235, "egressVRFID", _U32), (236, "VRFname", _STR),
    (237, "postMplsTopLabelExp", _U8), (238, "tcpWindowScale", _U16), (239, "biflowDirection", _U8),
    (240, "ethernetHeaderLength", _U8), (241, "ethernetPayloadLength", _U16), (242, "ethernetTotalLength", _U16),
    (243, "dot1qVlanId", _U16), (244, "dot1qPriority", _U8), (245, "dot1qCustomerVlanId", _U16),
    (246, "dot1qCustomerPriority", _U8), (247, "metroEvcId", _STR), (248, "metroEvcType", _U8),
    (249, "pseudoWireId", _U32), (250, "pseudoWireType", _U16), (251, "pseudoWireControlWord", _U32),
    (252, "ingressPhysicalInterface", _U32), (253, "egressPhysicalInterface", _U32),
    (254, "postDot1qVlanId", _U16), (255, "postDot1qCustomerVlanId", _U16), (256, "ethernetType", _U16),
    (257, "postIpPrecedence", _U8), (258, "collectionTimeMilliseconds", _MS), (259, "exportSctpStreamId", _U16),
    (260, "maxExportSeconds", _S), (261, "maxFlowEndSeconds", _S), (262, "messageMD5Checksum", _OCT),
    (263, "messageScope", _U8), (264, "minExportSeconds", _S), (265, "minFlowStartSeconds", _S),
    (266, "opaqueOctets", _OCT), (267, "sessionScope", _U8), (268, "maxFlowEndMicroseconds", _US),
    (269, "maxFlowEndMilliseconds", _MS), (270, "maxFlowEndNanoseconds", _NS), (271, "minFlowStartMicroseconds", _US),
    (272, "minFlowStartMilliseconds", _MS), (273, "minFlowStartNanoseconds", _NS),
    (274, "collectorCertificate", _OCT), (275, "exporterCertificate", _OCT), (276, "dataRecordsReliability", "boolean"),
    (277, "observationPointType", _U8), (278, "newConnectionDeltaCount", _U32),
    (279, "connectionSumDurationSeconds", _U64), (280, "connectionTransactionId", _U64),
    (281, "postNATSourceIPv6Address", _V6), (282, "postNATDestinationIPv6Address", _V6), (283, "natPoolId", _U32),
    (284, "natPoolName", _STR), (285, "anonymizationFlags", _U16), (286, "anonymizationTechnique", _U16),
    (287, "informationElementIndex", _U16), (300, "observationDomainName", _STR),
    (301, "selectionSequenceId", _U64), (302, "selectorId", _U64), (303, "informationElementId", _U16),
    (304, "selectorAlgorithm", _U16), (305, "samplingPacketInterval", _U32), (306, "samplingPacketSpace", _U32),
    (307, "samplingTimeInterval", _U32), (308, "samplingTimeSpace", _U32), (309, "samplingSize", _U32),
    (310, "samplingPopulation", _U32), (311, "samplingProbability", "float64"), (312, "dataLinkFrameSize", _U16),
    (313, "ipHeaderPacketSection", _OCT), (314, "ipPayloadPacketSection", _OCT),
    (315, "dataLinkFrameSection", _OCT), (318, "selectorIdTotalPktsObserved", _U64),
    (319, "selectorIdTotalPktsSelected", _U64), (322, "observationTimeSeconds", _S),
    (323, "observationTimeMilliseconds", _MS), (324, "observationTimeMicroseconds", _US),
    (325, "observationTimeNanoseconds", _NS), (346, "privateEnterpriseNumber", _U32),
    (351, "layer2SegmentId", _U64), (352, "layer2OctetDeltaCount", _U64), (353, "layer2OctetTotalCount", _U64),
    (354, "ingressUnicastPacketTotalCount", _U64), (355, "ingressMulticastPacketTotalCount", _U64),
    (356, "ingressBroadcastPacketTotalCount", _U64), (357, "egressUnicastPacketTotalCount", _U64),
    (358, "egressBroadcastPacketTotalCount", _U64), (368, "ingressInterfaceType", _U32),
    (369, "egressInterfaceType", _U32), (405, "originalObservationDomainId", _U32),
    (406, "intermediateProcessId", _U32), (407, "ignoredDataRecordTotalCount", _U64),
    (408, "dataLinkFrameType", _U16), (430, "layer2FrameDeltaCount", _U64), (431, "layer2FrameTotalCount", _U64),
)

# ofproto/ipfix-entities.def in Open vSwitch: tunnel keys and the virtual observation id
_VMWARE_ROWS: tuple[tuple[int, str, str], ...] = (
    (891, "tunnelType", _U8), (892, "tunnelKey", _OCT), (893, "tunnelSourceIPv4Address", _V4),
    (894, "tunnelDestinationIPv4Address", _V4), (895, "tunnelProtocolIdentifier", _U8),
    (896, "tunnelSourceTransportPort", _U16), (897, "tunnelDestinationTransportPort", _U16),
    (898, "virtualObsID", _STR),
)

IANA: dict[int, Element] = {i: Element(name, t) for i, name, t in _IANA_ROWS}
ENTERPRISE: dict[tuple[int, int], Element] = {(VMWARE, i): Element(name, t) for i, name, t in _VMWARE_ROWS}


def element(element_id: int, enterprise: int = 0) -> Element:
    """The element a field specifier names; unknown ones get a stable placeholder name."""
    if enterprise == 0:
        return IANA.get(element_id) or Element(f"element{element_id}", _OCT)
    return ENTERPRISE.get((enterprise, element_id)) or Element(f"enterprise{enterprise}.element{element_id}", _OCT)


Convert = Callable[[object], object]


def struct_code(el: Element, length: int) -> str:
    """The struct format code a fixed-length field unpacks with: a number where it is one."""
    t = el.type
    if t.startswith("unsigned") or t.startswith("dateTime") or t == "boolean":
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}.get(length)
    elif t.startswith("signed"):
        code = {1: "b", 2: "h", 4: "i", 8: "q"}.get(length)
    elif t.startswith("float"):
        code = {4: "f", 8: "d"}.get(length)
    else:
        code = None
    return code or f"{length}s"


def _addr4(v: object) -> object:
    return "%d.%d.%d.%d" % tuple(v) if isinstance(v, bytes) and len(v) == 4 else v


def _addr6(v: object) -> object:
    return str(ipaddress.IPv6Address(v)) if isinstance(v, bytes) and len(v) == 16 else v


def _mac(v: object) -> object:
    return v.hex(":") if isinstance(v, bytes) else v


def _text(v: object) -> object:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _boolean(v: object) -> object:
    return v == 1 if isinstance(v, int) else v


def _number(v: object) -> object:
    """Reduced-size or odd-length unsigned fields arrive as bytes."""
    return int.from_bytes(v, "big") if isinstance(v, bytes) else v


def _signed(v: object) -> object:
    return int.from_bytes(v, "big", signed=True) if isinstance(v, bytes) else v


def _float(v: object) -> object:
    if isinstance(v, bytes):
        return struct.unpack("!f", v)[0] if len(v) == 4 else struct.unpack("!d", v)[0] if len(v) == 8 else v
    return v


_CONVERT: dict[str, Convert] = {_V4: _addr4, _V6: _addr6, _MAC: _mac, _STR: _text, "boolean": _boolean}


def converter(el: Element) -> Convert | None:
    """How a raw unpacked value becomes the element's value (None: it already is)."""
    t = el.type
    if t in _CONVERT:
        return _CONVERT[t]
    if t.startswith("unsigned") or t.startswith("dateTime"):
        return _number
    if t.startswith("signed"):
        return _signed
    if t.startswith("float"):
        return _float
    return None


def value_converter(el: Element, length: int) -> Convert | None:
    """:func:`converter` for a field of ``length`` octets, None also when its struct code
    already unpacks the value (a 1, 2, 4 or 8-byte number): no call per record for those."""
    conv = converter(el)
    if conv in (_number, _signed, _float) and not struct_code(el, length).endswith("s"):
        return None
    if conv is _addr4 and length == 4:
        return cast(Convert, inet_ntoa)    # always 4 bytes here; C, a third of _addr4's time
    return conv
