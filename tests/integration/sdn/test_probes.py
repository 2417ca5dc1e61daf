"""Probes on a controller-managed switch: the document asks for sFlow and IPFIX, the controller
configures them through the bridge's OVSDB and its flows carry sample() actions. ICMP through a
chain of an NSH-aware forwarder and an NSH-unaware bump-in-the-wire then yields IPFIX records
whose observation ids name the path, hops and roles (hop-out too: re-classification), with
per-point packet counts equal to the sampled flows' n_packets; sFlow samples carry NSH; a second
apply changes nothing, the read-back equals the rendered flows, and dropping the probes
from the document removes the OVSDB rows and the sample() actions."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from sdn.document import Classifier, Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch, check_document
from sdn.match import parse_match
from sdn.ofactions import sample_bytes
from sdn.openflow import Sample
from sdn.render import merge
from sdn.sync import plan_changes
from sdn.telemetry.collector import Protocol
from sdn.telemetry.observation import Role, collector_set_ids, decode
from sdn.telemetry.sflow import FlowSample
from tests.integration.sdn.chain_lab import new_dpid, running_controller
from tests.integration.sdn.probe_lab import Sink, start_collector, wait_until
from tests.integration.sdn.test_unaware import second_port

pytestmark = pytest.mark.integration

SPI, BASE, PINGS = 41, 100, 20
SAMPLE = re.compile(r"n_packets=(\d+),.*obs_domain_id=(\d+),obs_point_id=(\d+)")


def sampled_flows(ovs, bridge: str) -> dict[tuple[int, int], int]:
    """(obs_domain_id, obs_point_id) -> n_packets summed over the flows sampling there."""
    out: dict[tuple[int, int], int] = {}
    for line in ovs.ofctl("-O", "OpenFlow13", "dump-flows", bridge).splitlines():
        m = SAMPLE.search(line)
        if m:
            key = (int(m.group(2)), int(m.group(3)))
            out[key] = out.get(key, 0) + int(m.group(1))
    return out


def test_controller_turns_probes_on_and_off(lab, ovs, ovsdb, request):
    sink = Sink()
    col, targets = start_collector(request, sink)
    with running_controller() as controller:
        dpid = new_dpid()
        bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
        client = lab.host(bridge, "10.81.0.1/24")
        server = lab.host(bridge, "10.81.0.2/24")
        f1 = lab.host(bridge, "10.98.0.1/24")
        bump = lab.host(bridge, "10.98.0.2/24")
        bump_out, _ofport = second_port(lab, request, bump)
        controller.wait_for_switch(dpid, {h.port for h in (client, server, f1, bump)} | {bump_out})
        lab.sf(f1, "forwarder")
        lab.sf(bump, "bridge", "--egress-iface", "eth1")
        probes = Probes(ipfix_targets=(targets[Protocol.IPFIX],), collector_set_base=BASE,
                        sflow_targets=(targets[Protocol.SFLOW],), sflow_sampling=1,
                        sflow_polling=1, sflow_agent="127.0.0.1")
        doc = check_document(SfcDocument(
            (Switch("sff", dpid, ovs.db_sock),),
            (ServiceFunction("f1", (SfInstance("sff", f1.port),)),
             ServiceFunction("bump", (SfInstance("sff", bump.port, bump_out),), nsh_aware=False)),
            (ServicePath("ping", SPI, ("f1", "bump"),
                         (Classifier("icmp", client.port, parse_match({"ip_proto": 1, "ip_src": client.ip})),)),),
            probes))
        controller.controller.apply_document(doc)
        assert controller.controller.settle(15.0)
        assert ovsdb.probes(bridge) == ([probes.sflow_targets[0]], sorted(collector_set_ids(BASE).values()))
        assert all(s.probes_error == "" for s in controller.controller.status())

        assert client.ping(server.ip, count=PINGS, timeout=2.0)
        wait_until(lambda: len(sampled_flows(ovs, bridge)) == 5 and min(sampled_flows(ovs, bridge).values()) >= PINGS,
                   what="the sampled flows' n_packets")
        flows = sampled_flows(ovs, bridge)
        points = {(p.role, p.spi, p.si) for k in flows if (p := decode(*k)) is not None}
        assert points == {(Role.CLASSIFY, SPI, 255), (Role.HOP_IN, SPI, 255), (Role.HOP_IN, SPI, 254),
                          (Role.HOP_OUT, SPI, 254), (Role.END, SPI, 253)}

        def counted() -> dict[tuple[int, int], int]:
            out: dict[tuple[int, int], int] = {}
            for r in sink.records(Protocol.IPFIX):
                point = r.get("observationPointId")
                if point is not None and not r.template.options:
                    out[(r.domain_id, point)] = out.get((r.domain_id, point), 0) + r.get("packetDeltaCount", 0)
            return out

        wait_until(lambda: counted() == sampled_flows(ovs, bridge), what=f"IPFIX counts equal to {flows}")
        print(f"per-point IPFIX packets == n_packets: {counted()}")
        for (domain, _point) in counted():
            p = decode(domain, _point)
            assert p is not None and p.exact and p.switch == dpid & 0xFFFF

        def nsh_samples() -> list:
            return [h.frame.nsh for s in sink.records(Protocol.SFLOW) if isinstance(s, FlowSample)
                    for h in s.headers if h.frame is not None and h.frame.nsh is not None]

        seen = wait_until(nsh_samples, what="sFlow samples with NSH")
        assert {(n.spi, n.si) for n in seen} <= {(SPI, 255), (SPI, 254)}  # to and from f1 (the bump gets none)
        assert col.drops().total == 0, col.drops()

        # the same document again: nothing to change; the switch reads back exactly what was rendered
        again = controller.controller.apply_document(doc)
        assert again.changes == {dpid: 0}
        installed = controller.driver.read_state(dpid)
        desired = merge(controller.controller._targets()[dpid].owned)
        assert plan_changes(installed, desired).empty
        assert installed.flows == desired.flows
        # OVS encodes sample() (on dump-flows, from its own parsed form) byte for byte as we do
        ovs_samples = {raw: a for raw, a in controller.driver._reply_caches[dpid].actions.items() if isinstance(a, Sample)}
        assert len(ovs_samples) == 5
        for raw, a in ovs_samples.items():
            assert bytes(raw) == sample_bytes(a.probability, a.collector_set_id, a.obs_domain_id, a.obs_point_id)

        # probes dropped from the document: the rows go, and so do the sample() actions
        off = controller.controller.apply_document(replace(doc, probes=None))
        assert off.changes[dpid] > 0
        assert controller.controller.settle(15.0)
        assert ovsdb.probes(bridge) == ([], [])
        assert ovs.vsctl("--bare", "--columns=sflow", "list", "Bridge", bridge).strip() == ""
        assert "sample(" not in ovs.ofctl("-O", "OpenFlow13", "dump-flows", bridge)
        assert client.ping(server.ip, count=2, timeout=2.0)


def test_unreachable_ovsdb_is_reported_in_the_switch_status(lab, ovs, tmp_path):
    with running_controller() as controller:
        dpid = new_dpid()
        bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
        controller.wait_for_switch(dpid)
        missing = f"unix:{tmp_path}/no-such.sock"
        doc = SfcDocument((Switch("sff", dpid, missing),), probes=Probes(ipfix_targets=("127.0.0.1:4739",)))
        controller.controller.apply_document(doc)
        controller.controller.settle(15.0)
        (status,) = [s for s in controller.controller.status() if s.dpid == dpid]
        assert missing in status.probes_error and status.error == ""
        assert bridge


def test_ensure_probes_is_idempotent_and_leaves_other_rows_alone(lab, ovs, ovsdb, request):
    bridge = lab.bridge()
    other = ovs.vsctl("--", "--id=@br", "get", "Bridge", bridge, "--", "--id=@ip", "create", "IPFIX",
                      'targets="127.0.0.1:9"', "--", "create", "Flow_Sample_Collector_Set", "id=5", "bridge=@br",
                      "ipfix=@ip").split()[-1]
    request.addfinalizer(lambda: ovs.vsctl("destroy", "Flow_Sample_Collector_Set", other))
    settings = dict(sflow_targets=["127.0.0.1:6343"], sampling=32, polling=5, ipfix_targets=["127.0.0.1:4739"],
                    collector_set_ids=[1, 2, 3, 4], cache_active_timeout=1)
    ovsdb.ensure_probes(bridge, **settings)

    def rows() -> str:
        return ovs.vsctl("--columns=_uuid,id,ipfix", "list", "Flow_Sample_Collector_Set") + \
            ovs.vsctl("--columns=_uuid,targets,sampling,polling", "list", "sFlow")

    before = rows()
    ovsdb.ensure_probes(bridge, **settings)  # nothing to change: the very same rows
    assert rows() == before
    assert ovsdb.probes(bridge) == (["127.0.0.1:6343"], [1, 2, 3, 4])
    ovsdb.ensure_probes(bridge)  # ours go, the foreign set stays
    assert ovsdb.probes(bridge) == ([], [])
    br = ovs.vsctl("get", "Bridge", bridge, "_uuid").strip()
    assert ovs.vsctl("--bare", "--columns=_uuid", "find", "Flow_Sample_Collector_Set", f"bridge={br}").split() == [other]
    assert ovs.vsctl("--bare", "--columns=sflow", "list", "Bridge", bridge).strip() == ""
