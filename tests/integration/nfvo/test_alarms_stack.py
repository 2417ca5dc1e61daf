"""Alarms through the whole stack, as a user meets them: Tacker's three alarm samples onboard as
written; a CPU-burning VDU under ``tosca-vnfd-alarm-respawn.yaml`` (granularity shortened to 1 s)
is respawned; ``nfv alarm list|show -f json`` show the state, value and history; the state change
arrives on the NFVO's ``Watch`` stream as a VNF event."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from nfvo.api.server import connect
from nfvo.api.v1 import nfvo_pb2 as pb
from tests.integration.nfvo.nfvcli import ok, wait_for

pytestmark = pytest.mark.integration
SAMPLES = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnfd")
TRIGGER = "vdu_hcpu_usage_respawning"


def test_respawn_alarm_through_the_stack(monitored_nfvo_stack, capsys, tmp_path):
    stack = monitored_nfvo_stack
    ok(capsys, f"nfv vim register local --bridge {stack.bridge} --dpid {stack.dpid:#x}")
    for name in ("respawn", "scale", "multi-actions"):
        ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / f'tosca-vnfd-alarm-{name}.yaml'} {name}")
    short = tmp_path / "respawn-1s.yaml"
    short.write_text((SAMPLES / "tosca-vnfd-alarm-respawn.yaml").read_text().replace("granularity: 300",
                                                                                     "granularity: 1"))
    ok(capsys, f"nfv vnfd-create --vnfd-file {short} respawn1s")
    events: list = []
    stream = connect(stack.address).Watch(pb.WatchRequest(kinds=["VNF"], name="rs"))

    def read() -> None:
        try:
            events.extend(stream)
        except grpc.RpcError as exc:   # cancelled at the end
            assert exc.code() == grpc.StatusCode.CANCELLED

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ok(capsys, "nfv vnf create --vnfd-name respawn1s rs")
        old_pid = ok(capsys, "nfv vnf show rs -f json")["vdus"][0]["pid"]
        wait_for(lambda: ok(capsys, f"nfv alarm show rs/{TRIGGER} -f json")["state"] == "ok", "alarm ok", 20)
        ok(capsys, "nfv vnf exec rs -- sh -c 'while :; do :; done </dev/null >/dev/null 2>&1 &'")
        wait_for(lambda: ok(capsys, "nfv vnf show rs -f json")["vdus"][0]["pid"] not in (old_pid, 0)
                 and ok(capsys, "nfv vnf show rs -f json")["status"] == "ACTIVE", "respawn", 40)
        shown = wait_for(lambda: (lambda a: a if a["state"] == "ok" and len(a["history"]) >= 3 else None)(
            ok(capsys, f"nfv alarm show rs/{TRIGGER} -f json")), "alarm ok after the respawn", 20)
        changes = [(h["old"], h["new"]) for h in shown["history"]]
        # The respawned container is a new cgroup: its CPU rate needs two readings, so when the
        # first evaluation after the respawn comes before the second one, that period truly has no
        # data and the alarm says so (Aodh's rule) before it reads ok.
        assert changes[:3] == [("insufficient data", "ok"), ("ok", "alarm"), ("alarm", "ok")] or \
            changes[:4] == [("insufficient data", "ok"), ("ok", "alarm"), ("alarm", "insufficient data"),
                            ("insufficient data", "ok")], changes
        assert shown["history"][1]["value"] > 50 and shown["threshold"] == 50 and shown["granularity"] == 1
        listed = ok(capsys, "nfv alarm list -f json")
        assert [(a["vnf_name"], a["name"]) for a in listed] == [("rs", TRIGGER)]
        wait_for(lambda: any(f"alarm {TRIGGER}: ok -> alarm" in e.reason for e in events), "the Watch event", 10)
        assert any(e.reason.startswith("healed: ") for e in events)
    finally:
        stream.cancel()
        reader.join(5)
