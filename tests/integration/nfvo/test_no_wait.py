"""``--no-wait`` on real OVS through the ``nfv`` CLI: a VNFFG create or classifier create returns
at once (PENDING_*), the record turns ACTIVE once every switch acknowledged (``vnffg-show`` and
the ``nfv watch`` stream both say so), and a change the controller refuses in the background
turns the record ERROR with a reason naming the element, while the bridge keeps the old flows."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, TWIN_VNFFGD, flows, ok, onboard_hosts, spi_flows, wait_for

pytestmark = pytest.mark.integration


@contextmanager
def watching(stack, *kinds: str) -> Iterator[queue.Queue[str]]:
    """``nfv watch KINDS`` as its own process; yields a queue of the lines it prints. Returns
    once the NFVO has subscribed it, so no event after that is missed."""
    subscribed = len(stack.nfvo.bus._queues)
    proc = subprocess.Popen([sys.executable, "-m", "nfvo.cli.main", "watch", *kinds], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "NFV_NFVO_ADDRESS": stack.address})
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line.rstrip()) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(stack.nfvo.bus._queues) > subscribed or proc.poll() is not None, "nfv watch to subscribe")
        assert proc.poll() is None, "nfv watch exited"
        yield lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        reader.join(5)


def seen_line(lines: queue.Queue[str], *needles: str, timeout: float = 30.0) -> str:
    """The next watch line containing every needle (earlier lines are skipped)."""
    def next_match() -> str | None:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            return None
        return line if all(n in line for n in needles) else None
    return wait_for(next_match, f"a watch line with {needles}", timeout=timeout, every=0)


def status_of(capsys, name: str) -> str:
    return ok(capsys, f"nfv vnffg-show {name} -f json")["status"]


def test_no_wait_create_and_classifier_turn_active(nfvo_stack, ovs, capsys):
    onboard_hosts(capsys, nfvo_stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")

    with watching(nfvo_stack, "VNFFG") as lines:
        made = ok(capsys, "nfv vnffg-create --name web --chain fw,cnt --symmetrical True --no-wait -f json")
        assert made["status"] == "PENDING_CREATE", made
        seen_line(lines, "web", "-> PENDING_CREATE")
        seen_line(lines, "web", "PENDING_CREATE -> ACTIVE")
        wait_for(lambda: status_of(capsys, "web") == "ACTIVE", "vnffg-show web to say ACTIVE")
        spi = ok(capsys, "nfv vnffg-show web -f json")["paths"][0]["spi"]
        assert spi_flows(ovs, nfvo_stack.bridge, spi)

        clf = ok(capsys, "nfv vnffg-classifier-create --name http --chain web --match tcp_dst=8080,ip_proto=6 "
                 "--no-wait -f json")
        assert clf["status"] == "PENDING_UPDATE" and clf["vnffg"] == "web", clf
        seen_line(lines, "web", "ACTIVE -> PENDING_UPDATE")
        seen_line(lines, "web", "PENDING_UPDATE -> ACTIVE")
        wait_for(lambda: ok(capsys, "nfv vnffg-classifier-show http -f json")["status"] == "ACTIVE",
                 "the classifier to turn ACTIVE")
        assert "tp_dst=8080" in "\n".join(flows(ovs, nfvo_stack.bridge))


def test_no_wait_refused_in_background_turns_error(nfvo_stack, ovs, tmp_path, capsys):
    onboard_hosts(capsys, nfvo_stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnffg-create --name web --chain fw,cnt")
    ok(capsys, "nfv vnffg-classifier-create --name http --chain web --match tcp_dst=8080,ip_proto=6")
    twin = tmp_path / "twin.yaml"
    twin.write_text(TWIN_VNFFGD)
    ok(capsys, f"nfv vnffgd-create --vnffgd-file {twin} twin")
    before = flows(ovs, nfvo_stack.bridge)

    with watching(nfvo_stack, "VNFFG") as lines:
        made = ok(capsys, "nfv vnffg-create --name copy --vnffgd-name twin --no-wait -f json")
        assert made["status"] == "PENDING_CREATE", made
        line = seen_line(lines, "copy", "PENDING_CREATE -> ERROR")
        assert "twin_web" in line and "identical" in line, line
    shown = ok(capsys, "nfv vnffg-show copy -f json")
    assert shown["status"] == "ERROR" and "twin_web" in shown["reason"] and "identical" in shown["reason"], shown
    assert flows(ovs, nfvo_stack.bridge) == before

    # the same refusal on a classifier added --no-wait to a live chain: ERROR, old flows stay
    ok(capsys, "nfv vnffg-create --name other --chain fw,cnt")
    before = flows(ovs, nfvo_stack.bridge)
    clf = ok(capsys, "nfv vnffg-classifier-create --name dup --chain other --match ip_proto=6,tcp_dst=8080 "
             "--no-wait -f json")
    assert clf["status"] == "PENDING_UPDATE", clf
    wait_for(lambda: status_of(capsys, "other") == "ERROR", "the refused classifier to turn its VNFFG ERROR")
    reason = ok(capsys, "nfv vnffg-show other -f json")["reason"]
    assert "dup" in reason and "identical" in reason, reason
    assert flows(ovs, nfvo_stack.bridge) == before
    ok(capsys, "nfv vnffg-classifier-delete dup")
    assert status_of(capsys, "other") == "ACTIVE"
    ok(capsys, "nfv vnffg-delete copy")
