"""sFlow samples attributed by the port they came in on, with OVS's own datagrams: a chain
through an NSH-aware forwarder and an NSH-unaware bump-in-the-wire (which gives the traffic
back plain, with the 5-tuple it entered with), and a second host sending traffic the classifier's
5-tuple fields admit on a port the classifier does not. Every packet sampled (1 in 1): with the
input ifIndex mapped to port names (OVSDB's ``ifindex``), the path's entry counts exactly the
client's packets, the bump's way back is its hop-out point, the other host's packets are
unmatched; without the mapping the entry counts the bump's return and the other host too."""

from __future__ import annotations

import pytest

from sdn.document import Classifier, Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch, check_document
from sdn.match import parse_match
from sdn.telemetry.attribution import PortMap
from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.collector import Delivery, Protocol
from sdn.telemetry.figures import Source
from sdn.telemetry.metrics import Telemetry
from sdn.telemetry.sflow import FlowSample
from tests.integration.sdn.chain_lab import new_dpid, running_controller
from tests.integration.sdn.probe_lab import Sink, start_collector, wait_until
from tests.integration.sdn.test_unaware import second_port

pytestmark = pytest.mark.integration

SPI, PINGS, OTHER_PINGS, AGENT = 43, 20, 7, "127.0.0.1"


def test_sflow_samples_are_attributed_by_their_input_port(lab, ovs, ovsdb, request):
    sink, mapped, unmapped = Sink(), Telemetry(), Telemetry()

    def deliver(delivery: Delivery) -> None:
        for consumer in (sink, mapped, unmapped):
            consumer(delivery)

    col, targets = start_collector(request, deliver, (Protocol.SFLOW,))
    with running_controller() as controller:
        dpid = new_dpid()
        bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
        client = lab.host(bridge, "10.83.0.1/24")
        server = lab.host(bridge, "10.83.0.2/24")
        other = lab.host(bridge, "10.83.0.3/24")
        f1 = lab.host(bridge, "10.97.0.1/24")
        bump = lab.host(bridge, "10.97.0.2/24")
        bump_out, _ofport = second_port(lab, request, bump)
        controller.wait_for_switch(dpid, {h.port for h in (client, server, other, f1, bump)} | {bump_out})
        lab.sf(f1, "forwarder")
        lab.sf(bump, "bridge", "--egress-iface", "eth1")
        doc = check_document(SfcDocument(
            (Switch("sff", dpid, ovs.db_sock),),
            (ServiceFunction("f1", (SfInstance("sff", f1.port),)),
             ServiceFunction("bump", (SfInstance("sff", bump.port, bump_out),), nsh_aware=False)),
            (ServicePath("ping/icmp", SPI, ("f1", "bump"),
                         (Classifier("icmp", client.port, parse_match({"ip_proto": 1, "ip_dst": server.ip})),)),),
            Probes(sflow_targets=(targets[Protocol.SFLOW],), sflow_sampling=1, sflow_polling=1, sflow_agent=AGENT)))
        ifindex = ovsdb.ifindexes(bridge)
        assert {client.port, other.port, f1.port, bump.port, bump_out} <= set(ifindex), ifindex
        mapped.set_catalogue(catalogue_of(doc), PortMap.of({(AGENT, i): name for name, i in ifindex.items()}))
        unmapped.set_catalogue(catalogue_of(doc))
        controller.controller.apply_document(doc)
        assert controller.controller.settle(15.0)

        assert client.ping(server.ip, count=PINGS, timeout=2.0)
        assert other.ping(server.ip, count=OTHER_PINGS, timeout=2.0)   # not classified: straight to the server

        def icmp_samples(src: str) -> list[FlowSample]:
            return [s for s in sink.records(Protocol.SFLOW) if isinstance(s, FlowSample)
                    and any(h.frame is not None and h.frame.nsh is None and h.frame.flow is not None
                            and h.frame.flow.proto == 1 and h.frame.flow.src == src for h in s.headers)]

        wait_until(lambda: len(icmp_samples(other.ip)) >= OTHER_PINGS and len(icmp_samples(client.ip)) >= 2 * PINGS,
                   what="sFlow samples of every ping")
        snap = wait_until(lambda: (lambda s: s if s.path(SPI).hops[1].out is not None
                                   and s.path(SPI).hops[1].out.packets >= PINGS else None)(mapped.snapshot(120.0)),
                          what="the bump's way back sampled")

    # OVS's sFlow says the port by the ifIndex OVSDB shows: the client's requests in on its port,
    # the other host's on its own, the bump's return on its egress port
    inputs = {s.input.value for s in icmp_samples(client.ip)}
    assert {ifindex[client.port], ifindex[bump_out]} <= inputs <= {ifindex[client.port], ifindex[bump_out],
                                                                   ifindex[server.port]}, (inputs, ifindex)
    assert {s.input.value for s in icmp_samples(other.ip)} <= {ifindex[other.port], ifindex[server.port]}
    assert all(s.input.format == 0 and s.agent.address == AGENT for s in icmp_samples(client.ip))

    path = snap.path(SPI)
    assert path.entered.packets == PINGS and path.entered.source is Source.SAMPLES, path.entered
    fw, bmp = path.hops
    assert (fw.name, fw.into.packets, fw.out.packets) == ("f1", PINGS, PINGS), fw
    assert (bmp.name, bmp.into.packets, bmp.out.packets) == ("bump", PINGS, PINGS), bmp
    assert fw.loss.packets == 0 and bmp.loss.packets == 0
    assert {t.flow.src for t in path.top} == {client.ip}
    unmatched = mapped.totals()[1][Source.SAMPLES][0]
    assert unmatched >= OTHER_PINGS + PINGS          # the other host's requests, every echo reply

    # without the ports, the plain frames back from the bump and the other host's count as entries
    # (a window holds whole ended buckets only: wait for the last samples' bucket to end)
    blind = wait_until(lambda: (lambda p: p if p.entered.packets >= 2 * PINGS + OTHER_PINGS else None)(
        unmapped.snapshot(120.0).path(SPI)), what="every blind entry counted")
    assert blind.entered.packets == 2 * PINGS + OTHER_PINGS, blind.entered
    assert col.drops().total == 0, col.drops()
