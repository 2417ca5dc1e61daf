"""The one record codec: round trips of every shape records use, and documents the old
hand-written nfvo codec stored still load."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from nfvo.model import ClassifierSpec, HopSpec, NsRecord, PathSpec, VimRecord, VnffgRecord, VnffgSpec
from sdn.match import MATCH_FIELDS, ClassifierMatch
from vnfm.codec import from_json, to_json
from vnfm.model import Status


@dataclass(frozen=True)
class Typed:
    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    addr: ipaddress.IPv4Address | None
    ports: tuple[int, int] | int
    status: Status
    values: tuple[tuple[str, str | int | tuple[int, int] | ipaddress.IPv4Network], ...] = ()
    note: str | None = None


def roundtrip(tp, value):
    return from_json(tp, json.loads(json.dumps(to_json(value))))


def test_ip_networks_port_ranges_enums_and_unions_round_trip() -> None:
    value = Typed(ipaddress.ip_network("2001:db8::/32"), ipaddress.IPv4Address("10.0.0.1"), (1000, 2000),
                  Status.ACTIVE, (("ip_dst", ipaddress.IPv4Network("10.1.0.0/16")), ("tcp_dst", (80, 90)),
                                  ("ip_proto", 6), ("eth_type", "0x0800")))
    back = roundtrip(Typed, value)
    assert back == value
    assert isinstance(back.status, Status) and isinstance(back.net, ipaddress.IPv6Network)
    assert roundtrip(Typed, Typed(ipaddress.IPv4Network("10.0.0.0/8"), None, 22, Status.ERROR)).ports == 22


def test_documents_of_the_old_nfvo_codec_load() -> None:
    """What ``asdict`` + ``json.dumps`` stored (lists for tuples, fields added later absent)."""
    vnffg = {"id": "i", "name": "g", "status": "ACTIVE", "reason": "", "created_at": 1.0, "updated_at": 2.0,
             "generation": 3, "vim": "local", "spis": [["p", 7]],
             "spec": {"vnffgd": "d", "description": "", "vnf_mapping": [["VNFD1", "fw1"]],
                      "paths": [{"name": "p", "symmetrical": True, "path_id": None,
                                 "hops": [{"vnfs": ["fw1"], "cp": "CP1", "vnf_type": "", "sfc_encap": True}],
                                 "classifiers": [{"name": "c", "match": [["ip_proto", 6], ["ip_dst", "10.0.0.0/24"]],
                                                  "parsed": {**dict.fromkeys(MATCH_FIELDS), "ip_proto": 6,
                                                             "ip_dst": "10.0.0.0/24"},
                                                  "ingress": "", "egress": ""}]}]}}
    record = VnffgRecord.from_dict(vnffg)
    typed = ClassifierMatch(ip_proto=6, ip_dst=ipaddress.ip_network("10.0.0.0/24"))
    assert record.spec == VnffgSpec((PathSpec("p", (HopSpec(("fw1",), "CP1", "", True),),
                                              (ClassifierSpec("c", (("ip_proto", 6), ("ip_dst", "10.0.0.0/24")), typed),),
                                              True),), "d", (("VNFD1", "fw1"),))
    assert record.spi("p") == 7
    assert record.spec.failure_policy == "fail-closed"  # the default for chains stored before it was said
    assert json.loads(json.dumps(record.to_dict())) == {**vnffg, "spec": {**vnffg["spec"], "failure_policy": "fail-closed",
                                                                         "paths": [
        {**vnffg["spec"]["paths"][0], "hops": [{**vnffg["spec"]["paths"][0]["hops"][0], "egress_cp": ""}]}]}}
    ns = NsRecord.from_dict({"id": "n", "name": "ns", "nsd_name": "d", "status": "ERROR", "reason": "r",
                             "vnfs": [["VNF1", "ns-VNF1"]], "vnffgs": ["ns-g"], "created_at": 1.0})
    assert ns.vnfs == (("VNF1", "ns-VNF1"),) and ns.description == ""
    vim = VimRecord("v", "local", "local", "br", 1, True)
    assert VimRecord.from_dict(json.loads(json.dumps(vim.to_dict()))) == vim
