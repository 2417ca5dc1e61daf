"""The stack monitor's port map against a real OVSDB: ``PortIndex`` reads the ifIndexes of the
document's switches (found by datapath id) and tells them keyed by the document's sFlow agent,
again when a port comes back under its name with a new ifIndex (a respawned VDU)."""

from __future__ import annotations

import queue
import socket

import pytest

from dataplane import netns
from nfvo.monitoring import PortIndex
from sdn.document import Probes, SfcDocument, Switch
from tests.integration.sdn.chain_lab import new_dpid

pytestmark = pytest.mark.integration
AGENT = "127.0.0.1"


def test_port_index_follows_the_switches_ifindexes(lab, ovs, ovsdb):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid)
    host = lab.host(bridge, "10.84.0.1/24")
    told: queue.Queue = queue.Queue()
    index = PortIndex(told.put, every=0.2)
    index.start()
    try:
        index.submit(SfcDocument((Switch("sff", dpid, ovs.db_sock),),
                                 probes=Probes(sflow_targets=("127.0.0.1:6343",), sflow_agent=AGENT)))
        first = told.get(timeout=10)
        assert first == {(AGENT, ovsdb.ifindexes(bridge)[host.port]): host.port}
        assert first == {(AGENT, socket.if_nametoindex(host.port)): host.port}   # the kernel's, as vswitchd says
        # the port comes back under its name on a new device: a new ifIndex, told again
        lab.db.delete_port(bridge, host.port)
        netns.delete_link(host.port)
        netns.create_veth(host.ns, "eth9", host.port)
        lab.db.ensure_port(bridge, host.port)

        def renewed():
            while True:
                got = told.get(timeout=10)
                if got and got != first:
                    return got
        assert renewed() == {(AGENT, ovsdb.ifindexes(bridge)[host.port]): host.port}
    finally:
        index.close()
