"""Alarms through the NFVO: ListAlarms/GetAlarm, ``nfv alarm list|show`` (table and JSON),
lookups by id, trigger and VNF/TRIGGER, and state changes on the Watch stream as VNF events.
A bad alarm policy is refused at onboarding, naming the policy and the field."""

from __future__ import annotations

import json
import queue
from pathlib import Path

import grpc
import pytest

from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.main import main
from tests.unit.nfvo.conftest import BRIDGE, DPID
from vnfm.metrics import Metrics, Subject

SAMPLES = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnfd")


class Busy:
    metrics = frozenset({"cpu_util"})

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        return 97.0


@pytest.fixture
def alarmed(cli):
    stub, stack = cli
    stub.CreateVim(pb.CreateVimRequest(name="local", bridge=BRIDGE, dpid=DPID))
    for name in ("scale", "respawn"):
        stub.CreateDescriptor(pb.CreateDescriptorRequest(
            kind="VNFD", name=name, template=(SAMPLES / f"tosca-vnfd-alarm-{name}.yaml").read_text()))
    stub.CreateVnf(pb.CreateVnfRequest(name="sg", vnfd_name="scale"))
    stub.CreateVnf(pb.CreateVnfRequest(name="rs1", vnfd_name="respawn"))
    stub.CreateVnf(pb.CreateVnfRequest(name="rs2", vnfd_name="respawn"))
    return stub, stack


def test_list_and_get(alarmed, capsys, monkeypatch):
    stub, stack = alarmed
    monkeypatch.setenv("COLUMNS", "250")
    alarms = stub.ListAlarms(pb.ListAlarmsRequest()).alarms
    assert sorted((a.vnf_name, a.name) for a in alarms) == [
        ("rs1", "vdu_hcpu_usage_respawning"), ("rs2", "vdu_hcpu_usage_respawning"),
        ("sg", "vdu_hcpu_usage_scaling_out"), ("sg", "vdu_lcpu_usage_scaling_in")]
    assert {a.state for a in alarms} == {"insufficient data"}
    out = stub.GetAlarm(pb.GetRequest(name="vdu_hcpu_usage_scaling_out"))
    assert (out.comparison_operator, out.threshold, out.granularity, out.metadata, list(out.vdus)) == (
        "gt", 80.0, 60.0, "SG1", ["VDU1"])
    assert [(x.kind, x.target, x.direction) for x in out.actions] == [("scaling", "SP1", "out")]
    assert stub.GetAlarm(pb.GetRequest(name=out.id)).name == out.name
    assert stub.GetAlarm(pb.GetRequest(name="rs2/vdu_hcpu_usage_respawning")).vnf_name == "rs2"
    with pytest.raises(grpc.RpcError) as err:
        stub.GetAlarm(pb.GetRequest(name="vdu_hcpu_usage_respawning"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "rs1, rs2" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub.GetAlarm(pb.GetRequest(name="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(stub.ListAlarms(pb.ListAlarmsRequest(vnf="sg")).alarms) == 2
    assert main(["alarm", "list", "--vnf", "sg", "-f", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {"vdu_hcpu_usage_scaling_out", "vdu_lcpu_usage_scaling_in"}
    assert main(["alarm", "list"]) == 0
    assert "mean(cpu_util) gt 80" in capsys.readouterr().out


def test_state_change_is_a_vnf_event_and_history(alarmed, capsys):
    stub, stack = alarmed
    runner = stack.vnfm._alarms            # monitor=False here: the test steps it with a fake clock
    runner.metrics = Metrics(Busy())
    events = stack.nfvo.bus.subscribe()
    t = 10_000.0
    for _ in range(3):
        runner.step(t)
        t += 60.0
    seen = []
    while True:
        try:
            seen.append(events.get_nowait())
        except queue.Empty:
            break
    assert any(e.kind == "VNF" and e.name == "sg" and "alarm vdu_hcpu_usage_scaling_out: insufficient data -> alarm"
               in e.reason for e in seen), [e.reason for e in seen]
    assert main(["alarm", "show", "sg/vdu_hcpu_usage_scaling_out", "-f", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "alarm" and shown["value"] == 97.0 and shown["history"][0]["new"] == "alarm"
    assert main(["alarm", "show", "sg/vdu_hcpu_usage_scaling_out"]) == 0
    assert "History" in capsys.readouterr().out


def test_bad_alarm_policy_refused_at_onboarding(cli):
    stub, _ = cli
    text = (SAMPLES / "tosca-vnfd-alarm-respawn.yaml").read_text().replace("comparison_operator: gt",
                                                                           "comparison_operator: bigger")
    with pytest.raises(grpc.RpcError) as err:
        stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="bad", template=text))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "vdu1_cpu_usage_monitoring_policy" in err.value.details()
    assert "triggers.vdu_hcpu_usage_respawning.condition.comparison_operator" in err.value.details()
