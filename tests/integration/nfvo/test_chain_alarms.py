"""An alarm on a chain's own figures, through the all-in-one as a user meets it: a VNFD whose
Alarming trigger watches ``chain.packets_rate`` (packets per second entering the chains through
its VDU, from the stack's IPFIX probes) is a hop of a chain; real UDP through the chain, a
trickle first (ok), then a burst (alarm: the ``log`` action and a webhook to an HTTP server of
ours run), then the trickle again (ok). ``nfv alarm show -f json`` tells the states, values and
history; the webhook's POST carries the alarm as Tacker's/Aodh's do."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.integration.nfvo.test_telemetry_stack import nfv, nfv_json, until

pytestmark = pytest.mark.integration
SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
TRIGGER, THRESHOLD, PORT = "chain_busy", 100, 5000
TRICKLE, BURST = (0.1, 240), (0.002, 30)   # (seconds between datagrams, seconds sent): ~10 pps, some 300 pps

ALARM_POLICY = """
  policies:
    - {policy}:
        type: tosca.policies.tacker.Alarming
        triggers:
          {trigger}:
            event_type:
              type: tosca.events.resource.utilization
              implementation: ceilometer
            metric: {metric}
            condition:
              threshold: {threshold}
              constraint: {metric} greater_than {threshold}
              granularity: {granularity}
              evaluations: {evaluations}
              aggregation_method: mean
              comparison_operator: gt
              resource_type: instance
            metadata: VDU1
            action: [log, "{webhook}"]
"""



def alarm_policy(policy: str, trigger: str, metric: str, threshold: float, webhook: str, *,
                 granularity: int = 2, evaluations: int = 2) -> str:
    """A VNFD's Alarming policy: ``metric`` over ``threshold`` (mean over ``granularity`` s,
    ``evaluations`` periods in a row) -> log and POST to ``webhook``."""
    return ALARM_POLICY.format(policy=policy, trigger=trigger, metric=metric, threshold=threshold,
                               granularity=granularity, evaluations=evaluations, webhook=webhook)


WEBHOOK_SERVER = """
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(body.decode(), flush=True)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

SENDER = ("{python} -c 'import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
          "end = time.time() + {seconds}\nwhile time.time() < end:\n    s.sendto(b\"x\" * 64, (\"{ip}\", {port}))\n"
          "    time.sleep({gap})' </dev/null >/dev/null 2>&1 &")


@pytest.fixture
def stack(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200", "NFV_IPFIX_SAMPLING": "1"}  # exact entries
    env.pop("NFV_NFVO_ADDRESS", None)
    try:
        up = nfv("up", env=env)
        assert up.returncode == 0, up.stderr + up.stdout
        yield env, json.loads((state / "stack.json").read_text())
    finally:
        down = nfv("down", env=env, timeout=90)
        assert down.returncode == 0, down.stderr


@pytest.fixture
def webhook(stack):
    """An HTTP server inside the stack's network namespace (where the alarm runner posts from):
    (its URL, a queue of the JSON bodies posted)."""
    _, state = stack
    proc = subprocess.Popen(["nsenter", f"--net=/proc/{state['pid']}/ns/net", sys.executable, "-c", WEBHOOK_SERVER],
                            stdout=subprocess.PIPE, text=True)
    posted: queue.Queue = queue.Queue()
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        reader = threading.Thread(target=lambda: [posted.put(json.loads(line)) for line in proc.stdout], daemon=True)
        reader.start()
        yield f"http://127.0.0.1:{port}/alarm", posted
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _drain(q: queue.Queue) -> list[str]:
    out = []
    while not q.empty():
        out.append(q.get())
    return out


def send(env: dict, client: str, ip: str, gap: float, seconds: float) -> None:
    """UDP to ``ip``:PORT from the client VNF, in the background for ``seconds``."""
    script = SENDER.format(python=sys.executable, seconds=seconds, ip=ip, port=PORT, gap=gap)
    done = nfv("vnf", "exec", client, "--", "sh", "-c", script, env=env, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout


def test_an_alarm_on_the_chains_packet_rate_acts_on_real_traffic(stack, webhook, tmp_path):
    env, _ = stack
    url, posted = webhook
    vnfd = tmp_path / "busy-counter.yaml"
    vnfd.write_text((SAMPLES / "nsh-counter.yaml").read_text()
                    + alarm_policy("chain_traffic", TRIGGER, "chain.packets_rate", THRESHOLD, url))
    for name, path in (("host", SAMPLES / "host.yaml"), ("busy-counter", vnfd)):
        done = nfv("vnfd-create", "--vnfd-file", str(path), name, env=env, timeout=60)
        assert done.returncode == 0, done.stderr + done.stdout
    for name, vnfd_name in (("client", "host"), ("server", "host"), ("cnt", "busy-counter")):
        nfv_json("vnf", "create", "--vnfd-name", vnfd_name, name, env=env)
    nfv_json("vnffg", "create", "busy", "--chain", "cnt", env=env)
    nfv_json("vnffg-classifier-create", "--name", "udp", "--chain", "busy", "--match",
             f"udp_dst={PORT},ip_proto=17", env=env)
    server_ip = nfv_json("vnf", "show", "server", env=env)["vdus"][0]["cps"][-1]["ip"].split("/")[0]
    alarm = f"cnt/{TRIGGER}"

    def state(wanted: str):
        shown = nfv_json("alarm", "show", alarm, env=env)
        return shown if shown["state"] == wanted else None

    shown = nfv_json("alarm", "show", alarm, env=env)
    assert shown["state"] == "insufficient data" and shown["metric"] == "chain.packets_rate", shown

    send(env, "client", server_ip, *TRICKLE)
    quiet = until("the alarm ok under a trickle", lambda: state("ok"), timeout=60)
    assert 0 < quiet["value"] < THRESHOLD, quiet
    assert posted.empty()

    watch = subprocess.Popen([sys.executable, "-m", "nfvo.cli.main", "watch", "VNF", "--name", "cnt", "-f", "json"],
                             stdout=subprocess.PIPE, text=True, env=env)
    events: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [events.put(line) for line in watch.stdout or ()], daemon=True).start()
    try:
        send(env, "client", server_ip, *BURST)
        busy = until("the alarm on under a burst", lambda: state("alarm"), timeout=BURST[1])
        assert busy["value"] > THRESHOLD, busy
        body = posted.get(timeout=10)
        assert (body["alarm_name"], body["vnf_name"], body["previous"], body["current"]) == (TRIGGER, "cnt", "ok",
                                                                                                "alarm")
        assert body["value"] > THRESHOLD and body["threshold"] == THRESHOLD
        seen: list[str] = []
        until("the log action's event on nfv watch", lambda: seen.extend(_drain(events)) or any(
            f"alarm {TRIGGER} (chain_traffic) log:" in line for line in seen), timeout=10)
        assert any(f"alarm {TRIGGER}: ok -> alarm" in line for line in seen), seen
    finally:
        watch.terminate()
        watch.wait(timeout=10)

    again = until("the alarm ok once the burst stopped", lambda: state("ok"), timeout=BURST[1] + 60)
    assert [(h["old"], h["new"]) for h in again["history"]] == [
        ("insufficient data", "ok"), ("ok", "alarm"), ("alarm", "ok")], again["history"]
    assert again["value"] < THRESHOLD
    assert posted.empty()                                   # actions run on entering alarm only
    stats = nfv_json("vnffg", "stats", "busy", "--window", "300", env=env)
    assert stats["exact"] is True and int(stats["packets"]) > THRESHOLD * 10, stats
