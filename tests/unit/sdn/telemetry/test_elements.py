"""Information element names agree with an independent table (scapy's, where it uses the IANA
spelling) and every element OVS 3.1 exports has its name."""

from __future__ import annotations

from scapy.layers.netflow import NetflowV910TemplateFieldTypes

from sdn.telemetry.elements import IANA, VMWARE, element

# ofproto/ipfix-entities.def (OVS 3.1): IANA elements in its flow and exporter-statistics templates
OVS_EXPORTS = (1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 25, 26, 27, 28, 31, 32, 40, 41, 42, 52, 53, 56, 58, 60, 61, 80,
               85, 86, 136, 138, 139, 144, 149, 158, 159, 164, 165, 176, 177, 178, 179, 192, 195, 198, 199,
               218, 219, 220, 221, 222, 223, 243, 244, 256, 352, 353)


# scapy keeps pre-RFC 5102 spellings here (collectorInterface...); IANA says exportInterface...
SCAPY_OLD_NAMES = {213, 214, 215}


def test_names_agree_with_scapys_iana_spellings():
    checked = 0
    for eid, name in NetflowV910TemplateFieldTypes.items():
        if eid in IANA and eid not in SCAPY_OLD_NAMES and name[:1].islower() and " " not in name:
            assert IANA[eid].name.lower() == name.lower(), eid
            checked += 1
    assert checked > 100


def test_elements_ovs_exports_are_named():
    missing = [eid for eid in OVS_EXPORTS if eid not in IANA]
    assert not missing
    assert element(891, VMWARE).name == "tunnelType" and element(898, VMWARE).name == "virtualObsID"
    assert element(5000).name == "element5000" and element(1, 42).name == "enterprise42.element1"
