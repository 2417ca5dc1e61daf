"""Reference SFs in namespaces behind a real OVS: crafted NSH frames go in, come back SI-1."""

from __future__ import annotations

import json
import select
import signal
import time
from pathlib import Path

import pytest
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from dataplane import netns
from dataplane.lab import Host, Lab

pytestmark = pytest.mark.integration


def wire(lab: Lab) -> tuple[str, Host, Host]:
    """Bridge with a prober host P and an SF host S; P<->S by explicit flows only."""
    br = lab.bridge()
    p = lab.host(br, "10.88.0.1/24")
    s = lab.host(br, "10.88.0.2/24")
    lab.ovs.ofctl("add-flow", br, f"in_port={p.ofport},actions=output:{s.ofport}")
    lab.ovs.ofctl("add-flow", br, f"in_port={s.ofport},actions=output:{p.ofport}")
    return br, p, s


def frame(p: Host, s: Host, dport: int, spi: int = 7, si: int = 255, proto=TCP) -> bytes:
    inner = (Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")
             / IP(src="10.0.0.1", dst="10.0.0.2") / proto(sport=40000, dport=dport) / (b"x" * 40))
    return bytes(Ether(src=p.mac, dst=s.mac) / NSH(spi=spi, si=si, context_header=bytes(16))
                 / inner)


def exchange(p: Host, frames: list[bytes], wait: float = 1.0) -> list[Ether]:
    """Send frames from P, return the NSH frames that come back within ``wait`` seconds."""
    with netns.packet_socket(p.ns, p.iface, ethertype=0x894F) as sock:
        for f in frames:
            sock.send(f)
        got, deadline = [], time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            got.append(Ether(sock.recv(65535)))
    return got


def test_forwarder_returns_frame_with_si_minus_one(lab: Lab) -> None:
    _, p, s = wire(lab)
    proc = lab.sf(s, "forwarder")
    sent = frame(p, s, 80)
    [back] = exchange(p, [sent])
    assert back[NSH].spi == 7 and back[NSH].si == 254
    assert (back.src, back.dst) == (s.mac, p.mac) or (back.src, back.dst) == (p.mac, s.mac)
    assert bytes(back[NSH].payload) == bytes(Ether(sent)[NSH].payload)
    # SI 0 must not wrap around; a non-NSH broadcast is ignored
    assert exchange(p, [frame(p, s, 80, si=0)], wait=0.3) == []
    proc.terminate()
    assert proc.wait(5) == 0
    assert " sent=1 " in proc.stderr.read()


def test_forwarder_own_mac_mode(lab: Lab) -> None:
    _, p, s = wire(lab)
    lab.sf(s, "forwarder", "--mac-mode", "own")
    [back] = exchange(p, [frame(p, s, 80, si=10)])
    assert (back.src, back.dst, back[NSH].si) == (s.mac, p.mac, 9)


def test_firewall_drops_matching_inner_flow(lab: Lab) -> None:
    _, p, s = wire(lab)
    lab.sf(s, "firewall", "--drop", "proto=tcp,dst_port=23", "--drop", "src=10.9.0.0/16")
    back = exchange(p, [frame(p, s, 23), frame(p, s, 80), frame(p, s, 23, proto=UDP),
                        frame(p, s, 23)])
    assert sorted((b[NSH].si, b[TCP].dport if TCP in b else -b[UDP].dport) for b in back) == [
        (254, -23), (254, 80)]


def test_firewall_rejects_bad_rule(lab: Lab) -> None:
    _, _, s = wire(lab)
    proc = s.popen([__import__("sys").executable, "-m", "dataplane.sf", "firewall", "--iface",
                    s.iface, "--drop", "colour=red"], stderr=__import__("subprocess").PIPE,
                   text=True)
    assert proc.wait(10) == 2 and "colour" in proc.stderr.read()
    proc.stderr.close()


def test_counter_reports_per_path_and_flow(lab: Lab, tmp_path: Path) -> None:
    _, p, s = wire(lab)
    report = tmp_path / "count.json"
    proc = lab.sf(s, "counter", "--report", str(report), "--interval", "0.2")
    assert json.loads(report.read_text())["packets"] == 0  # written at start
    frames = [frame(p, s, 80)] * 5 + [frame(p, s, 443, spi=9, si=100)] * 3
    assert len(exchange(p, frames)) == 8
    deadline = time.monotonic() + 3
    while json.loads(report.read_text())["packets"] < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(5) == 0
    doc = json.loads(report.read_text())
    rows = [(f["spi"], f["si"], f["proto"], f["dst_port"], f["packets"]) for f in doc["flows"]]
    assert rows == [(7, 255, "tcp", 80, 5), (9, 100, "tcp", 443, 3)]
    assert doc["bytes"] == 5 * len(frames[0]) + 3 * len(frames[-1])
    assert [f.name for f in tmp_path.iterdir()] == ["count.json"]  # no temp files left


def test_sf_on_missing_iface_fails_clearly(lab: Lab) -> None:
    _, _, s = wire(lab)
    import sys

    res = s.exec([sys.executable, "-m", "dataplane.sf", "forwarder", "--iface", "nope0"],
                 check=False)
    assert res.returncode == 1 and "nope0" in res.stderr
