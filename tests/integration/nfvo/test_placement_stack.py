"""Placement on the real single-host stack through the ``nfv`` CLI: ``availability_zone`` naming
the local VIM's one host (compute1) places the VDU there and ``nfv vnf show`` says so; a zone
no host is in is refused naming the VDU and why the host was rejected, and nothing is left (no
namespace, no VNF row, no OVS port)."""

from __future__ import annotations

import pytest

from tests.integration.nfvo.nfvcli import Snapshot, fails, namespaces, ok, snapshot

pytestmark = pytest.mark.integration

PINNED = """\
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {template_name: pinned}
topology_template:
  inputs:
    zone: {type: string, default: nova}
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      capabilities:
        nfv_compute: {properties: {num_cpus: 1, mem_size: 64 MB, disk_size: 1 GB}}
      properties: {image: host, mgmt_driver: noop, availability_zone: {get_input: zone}}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {order: 0}
      requirements: [{virtualLink: {node: VL1}}, {virtualBinding: {node: VDU1}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {network_name: net_pin, vendor: nfvchain}
"""


def ports(ovs, stack) -> set[str]:
    return {p for p in ovs.vsctl("list-ports", stack.bridge).split() if p.startswith(stack.vnfm.prefix)}


def test_availability_zone_on_the_local_vim(nfvo_stack, ovs, tmp_path, capsys):
    vnfd, here, nowhere = tmp_path / "pinned.yaml", tmp_path / "here.yaml", tmp_path / "nowhere.yaml"
    vnfd.write_text(PINNED)
    here.write_text("zone: compute1\n")
    nowhere.write_text("zone: compute9\n")
    ok(capsys, f"nfv vim register local --bridge {nfvo_stack.bridge} --dpid {nfvo_stack.dpid:#x}")
    ok(capsys, f"nfv vnfd-create --vnfd-file {vnfd} pinned")

    ok(capsys, f"nfv vnf create --vnfd-name pinned --param-file {here} p1")
    shown = ok(capsys, "nfv vnf show p1 -f json")
    assert shown["status"] == "ACTIVE" and [v["host"] for v in shown["vdus"]] == ["compute1"]
    assert '"host": "compute1"' in ok(capsys, "nfv vnf show p1")   # the table's VDU line names it too
    assert shown["vdus"][0]["cps"][0]["bridge"] == nfvo_stack.bridge

    before: Snapshot = snapshot(capsys, nfvo_stack, ovs)
    before_ports = ports(ovs, nfvo_stack)
    assert shown["vdus"][0]["namespace"] in before.namespaces and before_ports   # p1's (and its network's DHCP)
    fails(capsys, f"nfv vnf create --vnfd-name pinned --param-file {nowhere} p9",
          "No valid host was found for VDU VDU1", "compute1: AvailabilityZoneFilter: not in availability zone "
          "'compute9'", "zones: compute1", "INVALID_ARGUMENT")
    after = snapshot(capsys, nfvo_stack, ovs)
    assert after.records == before.records and [v["name"] for v in after.records["vnf"]] == ["p1"]
    assert namespaces(nfvo_stack) == before.namespaces and ports(ovs, nfvo_stack) == before_ports
    assert after.flows == before.flows
    ok(capsys, "nfv vnf delete p1")
