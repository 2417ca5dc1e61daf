"""The stack monitor's sFlow port map: (agent, ifIndex) -> port name from each switch's OVSDB,
only when the document names the agent by its IP (OVS picks one itself otherwise)."""

from __future__ import annotations

from dataclasses import replace

from nfvo.monitoring import agents_of, in_ports_of
from sdn.document import Probes, SfcDocument, Switch


def test_in_ports_of_maps_every_switch_with_an_ovsdb_for_the_documents_agent():
    doc = SfcDocument((Switch("a", 1, "unix:/a.sock"), Switch("b", 2, "unix:/b.sock"), Switch("c", 3)),
                      probes=Probes(sflow_targets=("127.0.0.1:6343",), sflow_agent="127.0.0.1"))
    seen = []

    def read(remote: str, dpid: int) -> dict[str, int]:
        seen.append((remote, dpid))
        return {"a": {"client": 5, "fw": 6}, "b": {"server": 7}}[remote[6]]

    assert in_ports_of(doc, read) == {("127.0.0.1", 5): "client", ("127.0.0.1", 6): "fw", ("127.0.0.1", 7): "server"}
    assert seen == [("unix:/a.sock", 1), ("unix:/b.sock", 2)]          # no OVSDB, nothing to read
    assert in_ports_of(replace(doc, probes=replace(doc.probes, sflow_agent="eth0")), read) == {}
    assert in_ports_of(replace(doc, probes=None), read) == {}


def test_compute_hosts_ifindexes_are_told_apart_by_each_hosts_agent():
    """Every host's OVS numbers its ports from the same few ifIndexes: keyed by the host's own
    agent address (its tunnel IP), the same ifIndex on two hosts is two ports."""
    hosts = (Switch("compute1", 1, "unix:/c1.sock", 1, "172.31.250.1", "gpe0"),
             Switch("compute2", 2, "unix:/c2.sock", 2, "172.31.250.2", "gpe0"))
    doc = SfcDocument(hosts, probes=Probes(sflow_targets=("172.31.250.254:6343",), sflow_agent_tunnel_ip=True))

    def read(remote: str, dpid: int) -> dict[str, int]:
        return {1: {"client": 5, "sf3": 6}, 2: {"sf1": 5}}[dpid]

    assert in_ports_of(doc, read) == {("172.31.250.1", 5): "client", ("172.31.250.1", 6): "sf3",
                                      ("172.31.250.2", 5): "sf1"}
    assert agents_of(doc) == {"172.31.250.1": "compute1", "172.31.250.2": "compute2"}
    one_agent = replace(doc, probes=Probes(sflow_agent="127.0.0.1"))   # one OVS: one agent for all
    assert agents_of(one_agent) == {"127.0.0.1": "compute1"} and agents_of(replace(doc, probes=None)) == {}
