"""The stack monitor's sFlow port map: (agent, ifIndex) -> port name from each switch's OVSDB,
only when the document names the agent by its IP (OVS picks one itself otherwise)."""

from __future__ import annotations

from dataclasses import replace

from nfvo.monitoring import in_ports_of
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
