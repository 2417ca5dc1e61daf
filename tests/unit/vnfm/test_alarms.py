"""Alarms (Aodh semantics) with a fake clock: operators, evaluations, aggregation, insufficient
data, cooldown and min/max; Tacker's three alarm samples compile; bad policies are named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from descriptors import DescriptorError, load_vnfd
from vnfm.alarmrunner import AlarmRunner
from vnfm.alarms import (ALARM, INSUFFICIENT, OK, ActionSpec, AlarmSpec, AlarmStatus, Sample, due_actions,
                         evaluate, period_values)
from vnfm.images import ImageCatalog
from vnfm.metrics import Metrics, Subject, UnavailableSource
from vnfm.model import VduRecord, VnfRecord
from vnfm.spec import compile_spec

SAMPLES = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnfd")
SPEC = AlarmSpec("hi", "pol", "cpu_util", "gt", 50.0, 10.0, 1, "mean", "VDU1", ("VDU1",),
                 (ActionSpec("respawn"),))


def samples(*pairs: tuple[float, float]) -> list[Sample]:
    return [Sample(t, v) for t, v in pairs]


@pytest.mark.parametrize("op,value,state", [("gt", 51, ALARM), ("gt", 50, OK), ("ge", 50, ALARM), ("lt", 49, ALARM),
                                            ("lt", 50, OK), ("le", 50, ALARM), ("eq", 50, ALARM), ("ne", 50, OK)])
def test_operators(op: str, value: float, state: str) -> None:
    status, moved = evaluate(replace(SPEC, operator=op), AlarmStatus(), samples((95, value)), 100.0)
    assert status.state == state and moved is not None and moved.old == INSUFFICIENT and moved.new == state


@pytest.mark.parametrize("agg,expect", [("mean", 40.0), ("max", 90.0), ("min", 10.0), ("sum", 120.0),
                                        ("count", 3.0), ("last", 20.0), ("median", 20.0)])
def test_aggregation_over_the_period(agg: str, expect: float) -> None:
    got = period_values(replace(SPEC, aggregation=agg), samples((91, 10), (92, 90), (99, 20), (80, 1000)), 100.0)
    assert got == [expect]   # the sample at 80 is outside the period


def test_insufficient_data_until_every_period_has_a_sample() -> None:
    spec = replace(SPEC, evaluations=3)
    status, moved = evaluate(spec, AlarmStatus(state=OK), samples((95, 99), (85, 99)), 100.0)
    assert status.state == INSUFFICIENT and moved and "2 of 3 periods" in moved.reason
    status, moved = evaluate(spec, status, samples((75, 99), (85, 99), (95, 99)), 100.0)
    assert status.state == ALARM and moved and moved.new == ALARM and status.value == 99


def test_state_changes_only_when_evaluations_consecutive_periods_agree() -> None:
    spec = replace(SPEC, evaluations=2)
    status = AlarmStatus(state=OK)
    status, moved = evaluate(spec, status, samples((85, 10), (95, 90)), 100.0)   # one high period of two
    assert status.state == OK and moved is None and status.value == 90
    status, moved = evaluate(spec, status, samples((95, 90), (105, 95)), 110.0)
    assert status.state == ALARM and moved is not None
    status, moved = evaluate(spec, status, samples((105, 95), (115, 5)), 120.0)   # one low: stays
    assert status.state == ALARM and moved is None


def test_mixed_periods_from_insufficient_data_follow_the_newest() -> None:
    status, _ = evaluate(replace(SPEC, evaluations=2), AlarmStatus(), samples((85, 90), (95, 10)), 100.0)
    assert status.state == OK


def test_actions_on_entering_alarm_and_scaling_repeats_after_cooldown() -> None:
    spec = replace(SPEC, actions=(ActionSpec("scaling", "SP1", "out"), ActionSpec("log")))
    status, moved = evaluate(spec, AlarmStatus(state=OK), samples((95, 99)), 100.0)
    last: dict[str, float] = {}
    acts = due_actions(spec, status, moved, 100.0, last.get, lambda p: 30.0)
    assert [a.kind for a in acts] == ["scaling", "log"]
    last["SP1"] = 100.0
    status, moved = evaluate(spec, status, samples((105, 99)), 110.0)
    assert moved is None and due_actions(spec, status, moved, 110.0, last.get, lambda p: 30.0) == []
    assert [a.kind for a in due_actions(spec, status, None, 130.0, last.get, lambda p: 30.0)] == ["scaling"]
    ok, moved = evaluate(spec, status, samples((135, 1)), 140.0)
    assert ok.state == OK and due_actions(spec, ok, moved, 200.0, last.get, lambda p: 30.0) == []


def test_tacker_alarm_samples_compile() -> None:
    cat = ImageCatalog()
    scale = compile_spec(load_vnfd(SAMPLES / "tosca-vnfd-alarm-scale.yaml"), cat)
    assert {(a.name, a.operator, a.threshold, a.actions) for a in scale.alarms} == {
        ("vdu_hcpu_usage_scaling_out", "gt", 80.0, (ActionSpec("scaling", "SP1", "out"),)),
        ("vdu_lcpu_usage_scaling_in", "lt", 10.0, (ActionSpec("scaling", "SP1", "in"),))}
    assert scale.alarms[0].vdus == ("VDU1",) and scale.alarms[0].group == "SG1" and scale.scaling[0].cooldown == 120
    respawn = compile_spec(load_vnfd(SAMPLES / "tosca-vnfd-alarm-respawn.yaml"), cat).alarms[0]
    assert (respawn.metric, respawn.granularity, respawn.aggregation, respawn.actions) == (
        "cpu_util", 300.0, "mean", (ActionSpec("respawn"),))
    multi = compile_spec(load_vnfd(SAMPLES / "tosca-vnfd-alarm-multi-actions.yaml"), cat).alarms[0]
    assert multi.actions == (ActionSpec("respawn"), ActionSpec("log"))


def _broken(old: str, new: str) -> str:
    text = (SAMPLES / "tosca-vnfd-alarm-scale.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old,new,field", [
    ("comparison_operator: gt", "comparison_operator: above", "condition.comparison_operator"),
    ("aggregation_method: mean", "aggregation_method: p99", "condition.aggregation_method"),
    ("granularity: 60", "granularity: soon", "condition.granularity"),
    ("evaluations: 1", "evaluations: 0", "condition.evaluations"),
    ("threshold: 80", "threshold: high", "condition.threshold"),
    ("metric: cpu_util", "metric: disk_iops", "metric"),
    ("metadata: SG1", "metadata: SG9", "metadata"),
    ("action: [SP1]", "action: [SP9]", "action"),
])
def test_bad_alarm_policies_are_refused_naming_policy_and_field(old: str, new: str, field: str) -> None:
    with pytest.raises(DescriptorError) as err:
        load_vnfd(_broken(old, new))
    text = str(err.value)
    assert "vdu_cpu_usage_monitoring_policy" in text and f"triggers.vdu_hcpu_usage_scaling_out.{field}" in text


def test_explicit_direction_and_webhook_actions() -> None:
    vnfd = load_vnfd(_broken("action: [SP1]", "action: [SP1-in, 'http://127.0.0.1:9/hook']"))
    spec = compile_spec(vnfd, ImageCatalog())
    assert spec.alarms[0].actions == (ActionSpec("scaling", "SP1", "in"), ActionSpec("webhook", "http://127.0.0.1:9/hook"))


def test_threshold_from_an_input() -> None:
    text = _broken("threshold: 80", "threshold: {get_input: hi}").replace(
        "topology_template:", "topology_template:\n  inputs:\n    hi: {type: integer}", 1)
    assert compile_spec(load_vnfd(text, {"hi": 70}), ImageCatalog()).alarms[0].threshold == 70


class FakeSource:
    metrics = frozenset({"cpu_util"})

    def __init__(self) -> None:
        self.value: float | None = 0.0

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        return self.value


class FakeHost:
    """The manager's side, in memory: scaling adds/removes VDU1 instances."""

    def __init__(self, spec) -> None:
        self.spec, self.notes, self.calls = spec, [], []
        self.rec = VnfRecord("v1", "vnf1", "d", "ACTIVE", "", (self._vdu(0),), 0.0, None)

    @staticmethod
    def _vdu(i: int) -> VduRecord:
        return VduRecord("VDU1", i, f"ns{i}", "cirros", 100 + i, (), None, key=f"k{i}")

    def armed(self):
        return [(self.rec, self.spec)]

    def scale(self, vnf: str, policy: str, direction: str):
        self.calls.append((policy, direction))
        n = len(self.rec.vdus) + (1 if direction == "out" else -1)
        self.rec = replace(self.rec, vdus=tuple(self._vdu(i) for i in range(n)))
        return self.rec

    def heal(self, vnf: str, vdu: str | None = None, *, instance: int | None = None):
        self.calls.append(("heal", vdu))
        return self.rec

    def note(self, vnf_id: str, reason: str) -> None:
        self.notes.append(reason)


def test_runner_scales_out_to_max_then_in_to_min_with_cooldown() -> None:
    text = (SAMPLES / "tosca-vnfd-alarm-scale.yaml").read_text().replace("granularity: 60", "granularity: 1") \
        .replace("cooldown: 120", "cooldown: 3")
    host, src = FakeHost(compile_spec(load_vnfd(text), ImageCatalog())), FakeSource()
    runner = AlarmRunner(host, Metrics(src, UnavailableSource()))
    t = 1000.0
    src.value = 95.0
    for _ in range(40):           # 10 s at 4 ticks a second
        runner.step(t)
        t += 0.25
    assert host.calls == [("SP1", "out"), ("SP1", "out")]   # 1 -> 3 = max, 3 s apart at least
    assert "skipped" in " ".join(host.notes) or len(host.rec.vdus) == 3
    views = {v.spec.name: v for v in runner.views()}
    assert views["vdu_hcpu_usage_scaling_out"].status.state == ALARM
    assert views["vdu_hcpu_usage_scaling_out"].status.value == 95.0
    src.value = 2.0
    for _ in range(40):
        runner.step(t)
        t += 0.25
    assert host.calls[2:] == [("SP1", "in"), ("SP1", "in")] and len(host.rec.vdus) == 1
    hist = views["vdu_hcpu_usage_scaling_out"].history
    assert hist and hist[0].old == INSUFFICIENT and hist[0].new == ALARM
    assert any("alarm vdu_lcpu_usage_scaling_in: ok -> alarm" in n for n in host.notes)


def test_runner_webhook_failure_is_an_event() -> None:
    text = _broken("action: [SP1]", "action: ['http://127.0.0.1:9/hook']").replace("granularity: 60", "granularity: 1")
    host, src = FakeHost(compile_spec(load_vnfd(text), ImageCatalog())), FakeSource()
    posted = []

    def post(url: str, body: bytes) -> None:
        posted.append((url, body))
        raise OSError("connection refused")

    runner = AlarmRunner(host, Metrics(src), post=post)
    src.value = 99.0
    for i in range(6):
        runner.step(2000.0 + i * 0.5)
    assert len(posted) == 1 and b'"current": "alarm"' in posted[0][1]
    assert any("webhook" in n and "failed" in n and "connection refused" in n for n in host.notes)


def test_multi_actions_respawn_and_log_once_per_alarm() -> None:
    text = (SAMPLES / "tosca-vnfd-alarm-multi-actions.yaml").read_text().replace("granularity: 600", "granularity: 1")
    host, src = FakeHost(compile_spec(load_vnfd(text), ImageCatalog())), FakeSource()
    runner = AlarmRunner(host, Metrics(src))
    src.value = 99.0
    for i in range(12):
        runner.step(3000.0 + i * 0.5)
    assert host.calls == [("heal", "VDU1")]   # on entering alarm, not again while it stays
    assert any("vdu_hcpu_usage_respawning (vdu1_cpu_usage_monitoring_policy) log:" in n for n in host.notes)


def test_webhook_posts_the_alarm_to_a_real_http_server() -> None:
    import http.server
    import json
    import threading

    got: list[tuple[str, dict]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:   # noqa: N802 (the stdlib's name)
            got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/alarm"
        text = _broken("action: [SP1]", f"action: ['{url}']").replace("granularity: 60", "granularity: 1")
        host, src = FakeHost(compile_spec(load_vnfd(text), ImageCatalog())), FakeSource()
        runner = AlarmRunner(host, Metrics(src))
        src.value = 99.0
        for i in range(4):
            runner.step(4000.0 + i * 0.5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert len(got) == 1 and got[0][0] == "/alarm"
    body = got[0][1]
    assert (body["alarm_name"], body["vnf_name"], body["current"], body["value"], body["threshold"]) == (
        "vdu_hcpu_usage_scaling_out", "vnf1", "alarm", 99.0, 80.0)
    assert any(f"webhook {url} notified" in n for n in host.notes)


def test_a_vnf_being_healed_or_scaled_keeps_its_alarm_state_unevaluated() -> None:
    text = (SAMPLES / "tosca-vnfd-alarm-respawn.yaml").read_text().replace("granularity: 300", "granularity: 1")
    host, src = FakeHost(compile_spec(load_vnfd(text), ImageCatalog())), FakeSource()
    runner = AlarmRunner(host, Metrics(src))
    src.value = 5.0
    for i in range(4):
        runner.step(5000.0 + i * 0.5)
    before = runner.views()[0]
    assert before.status.state == OK and len(before.history) == 1
    host.rec = replace(host.rec, status="PENDING_HEAL")
    src.value = 99.0
    for i in range(4, 10):
        runner.step(5000.0 + i * 0.5)
    during = runner.views()[0]
    assert during.status.state == OK and during.history == before.history and host.calls == []


def test_chain_metrics_route_to_a_plugged_source_else_insufficient_data() -> None:
    class HopLoss:
        metrics = frozenset({"hop.loss"})

        def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
            return 12.5 if subject.key == "k0" else None

    subject = Subject("k0", None)
    assert Metrics(HopLoss(), UnavailableSource()).read("hop.loss", subject, 1.0, 10.0) == 12.5
    assert Metrics().read("hop.loss", subject, 1.0, 10.0) is None        # not wired yet: no sample
    assert Metrics().read("chain.packets_rate", subject, 1.0, 10.0) is None
    text = _broken("metric: cpu_util", "metric: hop.loss").replace("granularity: 60", "granularity: 1")
    host = FakeHost(compile_spec(load_vnfd(text), ImageCatalog()))
    runner = AlarmRunner(host, Metrics())
    for i in range(6):
        runner.step(6000.0 + i * 0.5)
    by = {v.spec.name: v for v in runner.views()}
    assert by["vdu_hcpu_usage_scaling_out"].status.state == INSUFFICIENT and host.calls == []
