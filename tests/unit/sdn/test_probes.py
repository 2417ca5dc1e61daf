"""Probes in the desired state: sample() actions at each observation point of a path (classify,
into each hop, back from an NSH-unaware hop, the path's end), nothing without probes; the Sample
action's wire form both ways (ofcodec, os-ken, ofreply) and as OVS reads it; the document's
probe settings checked and carried by the file form and the API; the keeper that brings each
switch's OVSDB to them, with a fake OVSDB (the real one: tests/integration/sdn/test_probes.py)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import replace

import pytest
from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as ofpp
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from dataplane.ovsdb import NotFound, OvsdbError
from sdn import ofcodec, ofreply
from sdn.api.convert import document_message, document_value
from sdn.cookie import APP_MASK, APP_SHIFT, APP_TAG
from sdn.docfile import document_dict, load_document, parse_document
from sdn.document import DocumentError, Probes, Switch, check_document
from sdn.ofactions import sample_bytes
from sdn.openflow import Flow, Output, Sample, make_match
from sdn.probes import ProbeKeeper, ensure_settings, probe_targets
from sdn.render import FlowCache, compute_owned_states, compute_switch_states, merge, update_owned_states
from sdn.telemetry.observation import Role, decode
from tests.unit.sdn import test_flows, test_unaware
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp
from tests.unit.sdn.test_ofreply import replies, stats_entry

PROBES = Probes(ipfix_targets=("127.0.0.1:4739",), collector_set_base=10, probability=65535 >> 2,
                sflow_targets=("127.0.0.1:6343",))
DP = ProtocolDesc(ofp.OFP_VERSION)


def probed(doc_text: str, probes: Probes = PROBES):
    doc = load_document(doc_text)
    return check_document(replace(doc, probes=probes))


def points(samples: list[Sample]) -> list[tuple[Role, int, int]]:
    out = []
    for s in samples:
        p = decode(s.obs_domain_id, s.obs_point_id)
        assert p is not None and p.rate_log2 == 2 and p.switch == 1
        assert s.probability == 65535 >> 2 and s.collector_set_id == 10 + int(p.role) - 1
        out.append((p.role, p.spi, p.si))
    return out


# ---------------------------------------------------------------- render

def test_no_probes_render_exactly_as_before_and_sflow_only_adds_no_samples():
    plain = compute_switch_states(load_document(test_unaware.DOC), test_unaware.PORTS)[1]
    assert plain == test_unaware.state()
    assert not any(isinstance(a, Sample) for f in plain.flows for a in f.actions)
    sflow_only = Probes(sflow_targets=("127.0.0.1:6343",))
    assert compute_switch_states(probed(test_unaware.DOC, sflow_only), test_unaware.PORTS)[1] == plain


def test_every_observation_point_of_a_path_samples_once_in_order():
    st = compute_switch_states(probed(test_unaware.DOC), test_unaware.PORTS)[1]
    switch = FakeSwitch(st)
    finals = run_chain(switch, 1, tcp(dport=80), test_unaware.AWARE, plain=test_unaware.BUMP)
    assert len(finals) == 1 and finals[0].packet.nsh is None
    assert points(switch.samples) == [(Role.CLASSIFY, 7, 255), (Role.HOP_IN, 7, 255), (Role.HOP_IN, 7, 254),
                                      (Role.HOP_OUT, 7, 254), (Role.HOP_IN, 7, 253), (Role.END, 7, 252)]
    # sample() comes first: before encap (the record has the 5-tuple) and before any decap
    for flow in st.flows:
        kinds = [type(a) for a in flow.actions]
        if Sample in kinds:
            assert kinds.index(Sample) == 0 and kinds.count(Sample) == 1


def test_multi_instance_hops_sample_on_every_bucket_flow():
    st = compute_switch_states(probed(test_flows.EVERY_FIELD_DOC), test_flows.EVERY_FIELD_PORTS)[1]
    hop_in = {((f.match_dict()["nsh_spi"], f.match_dict()["nsh_si"]), f.actions[0]) for f in st.flows
              if f.table == 20 and f.actions and isinstance(f.actions[0], Sample)}
    by_si: dict[tuple, set] = {}
    for si, sample in hop_in:
        by_si.setdefault(si, set()).add(sample)
    assert all(len(s) == 1 for s in by_si.values())  # one observation point per hop, whatever the instance
    assert len(by_si) == 3 + 1 + 2  # every-field: 3 hops + end; from-anywhere: 1 hop + end
    plain = compute_switch_states(load_document(test_flows.EVERY_FIELD_DOC), test_flows.EVERY_FIELD_PORTS)[1]
    assert len(st.flows) == len(plain.flows)  # samples are added to flows, never new flows


def test_changed_probes_rerender_and_upserts_keep_them():
    cache = FlowCache()
    doc = probed(test_flows.DOC)
    owned = compute_owned_states(doc, test_flows.PORTS, cache)
    other = replace(doc, probes=replace(PROBES, collector_set_base=20))
    assert merge(compute_owned_states(other, test_flows.PORTS, cache)[1]) != merge(owned[1])
    again = update_owned_states(doc, test_flows.PORTS, owned, {doc.paths[0].name}, cache)
    assert merge(again[1]) == merge(owned[1])


# ---------------------------------------------------------------- wire form

SAMPLE = Sample(65535, 7, 0x4E210001, 7 << 8 | 255)
FLOW = Flow(20, 100, make_match(eth_type=0x894F, nsh_spi=7, nsh_si=255), (SAMPLE, Output(3)),
            cookie=APP_TAG << APP_SHIFT)


def test_sample_bytes_are_nx_action_sample_as_osken_builds_it():
    built = ofpp.NXActionSample(probability=65535, collector_set_id=7, obs_domain_id=0x4E210001,
                                obs_point_id=7 << 8 | 255)
    buf = bytearray()
    built.serialize(buf, 0)
    assert bytes(buf) == sample_bytes(65535, 7, 0x4E210001, 7 << 8 | 255)
    assert sample_bytes(1, 2, 3, 4).hex() == "ffff001800002320001d0001000000020000000300000004"


def test_sample_round_trips_through_osken_and_the_raw_reply_decoder():
    msg = ofcodec.encode_flow_mod(FLOW, "add", 1)
    parsed = ofproto_parser.msg(DP, *ofproto_parser.header(msg), msg)
    assert ofcodec.decode_action(parsed.instructions[0].actions[0]) == SAMPLE
    st = compute_switch_states(probed(test_unaware.DOC), test_unaware.PORTS)[1]
    flows = sorted(st.flows, key=repr)
    raw = [f for m in replies([stats_entry(f) for f in flows])
           for f in ofreply.decode_flow_reply(m, ofreply.ReplyCache(), APP_TAG << APP_SHIFT, APP_MASK)[0]]
    assert frozenset(raw) == st.flows


@pytest.mark.skipif(shutil.which("ovs-ofctl") is None, reason="ovs-ofctl not installed")
def test_ovs_reads_our_sample_bytes_as_our_ofctl_text():
    text = ofcodec.ofctl_text(FLOW)
    assert "sample(probability=65535,collector_set_id=7,obs_domain_id=1310785537,obs_point_id=2047)" in text
    ours = subprocess.run(["ovs-ofctl", "ofp-print", ofcodec.encode_flow_mod(FLOW, "add", 1).hex()],
                          capture_output=True, text=True, check=True).stdout.split(":", 1)[1].strip()
    theirs = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "parse-flow", text], capture_output=True, text=True,
                            check=True).stdout
    assert next(ln for ln in theirs.splitlines() if "OFPT_FLOW_MOD" in ln).split(":", 1)[1].strip() == ours


# ---------------------------------------------------------------- document, file, API

@pytest.mark.parametrize("change, element", [
    ({"probability": 1000}, "probes.probability"),
    ({"ipfix_targets": ("nohost",)}, "probes.ipfix_targets[0]"),
    ({"sflow_targets": ("h:70000",)}, "probes.sflow_targets[0]"),
    ({"collector_set_base": 0xFFFFFFFF}, "probes.collector_set_base"),
    ({"sflow_sampling": 0}, "probes.sflow_sampling"),
])
def test_bad_probe_settings_name_the_setting(change, element):
    with pytest.raises(DocumentError) as err:
        check_document(replace(load_document(test_flows.DOC), probes=replace(PROBES, **change)))
    assert err.value.element == element


def test_bad_ovsdb_address_names_the_switch():
    doc = load_document(test_flows.DOC)
    with pytest.raises(DocumentError) as err:
        check_document(replace(doc, switches=(Switch("s1", 1, "/run/db.sock"),)))
    assert err.value.element == "switches[s1].ovsdb"


def test_probes_and_ovsdb_survive_the_file_form_and_the_api():
    doc = check_document(replace(probed(test_flows.DOC), switches=(Switch("s1", 1, "unix:/run/x/db.sock"),)))
    assert parse_document(document_dict(doc)) == doc
    assert check_document(document_value(document_message(doc))) == doc
    plain = load_document(test_flows.DOC)
    assert "probes" not in document_dict(plain) and document_value(document_message(plain)).probes is None
    text = ("switches: [{name: s1, dpid: 1, ovsdb: 'unix:/r/db.sock'}]\n"
            "probes: {ipfix_targets: ['10.0.0.1:4739'], probability: 32767}\n")
    loaded = load_document(text)
    assert loaded.probes == Probes(ipfix_targets=("10.0.0.1:4739",), probability=32767)
    assert loaded.switches[0].ovsdb == "unix:/r/db.sock"
    with pytest.raises(DocumentError) as err:
        load_document("probes: {sflow_rate: 5}")
    assert err.value.element == "probes.sflow_rate"


HOSTS = (Switch("s1", 1, "unix:/s1.sock", 1, "172.31.250.1", "gpe0"),
         Switch("s2", 2, "unix:/s2.sock", 2, "172.31.250.2", "gpe0"), Switch("plain", 3))


def test_each_compute_host_gets_its_own_underlay_address_as_sflow_agent():
    probes = replace(PROBES, sflow_agent_tunnel_ip=True)
    doc = check_document(replace(probed(test_flows.DOC, probes), switches=HOSTS))
    targets = probe_targets(doc)
    assert sorted(targets) == [1, 2]                   # no OVSDB, no probes
    assert {d: t.probes.sflow_agent for d, t in targets.items()} == {1: "172.31.250.1", 2: "172.31.250.2"}
    assert all(t.probes == replace(PROBES, sflow_agent=t.probes.sflow_agent) for t in targets.values())
    assert ensure_settings(targets[2].probes)["agent"] == "172.31.250.2"
    assert probes.agent_of(HOSTS[0]) == "172.31.250.1" and PROBES.agent_of(HOSTS[0]) == ""
    assert parse_document(document_dict(doc)) == doc                   # the file form and the API carry it
    assert check_document(document_value(document_message(doc))) == doc
    plain = check_document(replace(probed(test_flows.DOC), switches=HOSTS))
    assert probe_targets(plain)[1].probes == PROBES                    # one agent setting for all


@pytest.mark.parametrize("change, switches, element", [
    ({"sflow_agent": "10.0.0.1"}, HOSTS, "probes.sflow_agent"),
    ({}, (Switch("s1", 1, "unix:/c.sock"),), "probes.sflow_agent_tunnel_ip"),
])
def test_per_switch_agents_need_tunnel_ips_and_no_fixed_agent(change, switches, element):
    probes = replace(PROBES, sflow_agent_tunnel_ip=True, **change)
    with pytest.raises(DocumentError) as err:
        check_document(replace(probed(test_flows.DOC, probes), switches=switches))
    assert err.value.element == element and (element != "probes.sflow_agent_tunnel_ip" or "s1" in str(err.value))
    with pytest.raises(DocumentError) as err:
        load_document("probes: {sflow_agent_tunnel_ip: 1}")
    assert err.value.element == "probes.sflow_agent_tunnel_ip"


# ---------------------------------------------------------------- the keeper

class FakeDb:
    def __init__(self, log: list, bridges: dict[int, str]) -> None:
        self.log, self.bridges = log, bridges

    def bridge_of(self, dpid: int) -> str:
        if dpid not in self.bridges:
            raise NotFound(f"no bridge with datapath id {dpid:#x}")
        return self.bridges[dpid]

    def ensure_probes(self, bridge: str, **settings) -> None:
        self.log.append((bridge, settings))

    def close(self) -> None:
        pass


def test_keeper_ensures_removes_and_reports_unreachable_ovsdb():
    log: list = []
    lock = threading.Lock()
    down = {"unix:/down.sock"}

    def connect(remote: str):
        with lock:
            if remote in down:
                raise OvsdbError(f"cannot connect to {remote}: No such file or directory")
        return FakeDb(log, {1: "br1", 2: "br2"})

    keeper = ProbeKeeper(connect, retry=0.05)
    try:
        base = probed(test_flows.DOC)
        doc = replace(base, switches=(Switch("s1", 1, "unix:/up.sock"), Switch("s2", 2, "unix:/down.sock")))
        keeper.submit(doc)
        assert keeper.settle(5)
        assert log == [("br1", ensure_settings(PROBES))] and ensure_settings(PROBES)["collector_set_ids"] == [10, 11, 12, 13]
        assert "unix:/down.sock" in keeper.error(2) and keeper.error(1) == ""
        keeper.submit(doc)  # the same document: nothing again for the switch that has it
        assert keeper.settle(5) and len(log) == 1
        with lock:
            down.clear()
        for _ in range(100):  # retried with a back-off
            if keeper.error(2) == "":
                break
            threading.Event().wait(0.05)
        assert keeper.error(2) == "" and log[-1] == ("br2", ensure_settings(PROBES))
        keeper.recheck(1)  # the switch reconnected: its probes are ensured again
        assert keeper.settle(5) and log[-1] == ("br1", ensure_settings(PROBES))
        keeper.submit(replace(doc, probes=None))  # probes dropped: ours removed
        assert keeper.settle(5) and sorted(log[-2:], key=lambda e: e[0]) == [("br1", {}), ("br2", {})]
        keeper.submit(replace(doc, switches=(Switch("s1", 1, "unix:/up.sock"),), probes=PROBES))
        assert keeper.settle(5)
        keeper.submit(replace(doc, switches=(), probes=PROBES))  # switch dropped: its probes go
        assert keeper.settle(5) and log[-1] == ("br1", {})
    finally:
        keeper.stop()


def test_unreachable_ovsdb_shows_in_get_state_and_the_document_keeps_its_probes(tmp_path):
    from sdn.api.server import connect, serve
    from sdn.api.v1 import sfc_pb2
    from sdn.controller import SfcController
    from tests.unit.sdn.fake_driver import FakeDriver

    driver = FakeDriver()
    driver.connect(1, test_flows.PORTS[1])
    controller = SfcController(driver, probes=ProbeKeeper(retry=5.0))
    server, port = serve(controller, "127.0.0.1:0")
    try:
        stub = connect(f"127.0.0.1:{port}")
        remote = f"unix:{tmp_path}/absent.sock"
        doc = replace(probed(test_flows.DOC), switches=(Switch("s1", 1, remote),))
        stub.ApplyDocument(sfc_pb2.ApplyDocumentRequest(document=document_message(doc)))
        assert controller.settle(10)
        state = stub.GetState(sfc_pb2.GetStateRequest())
        (switch,) = state.switches
        assert remote in switch.probes_error and switch.error == "" and switch.flows > 0
        assert document_value(state.document) == doc
    finally:
        server.stop(None)
        controller.stop()
