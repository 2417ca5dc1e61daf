"""A service chain across three compute hosts on ``nfv up --hosts 3``, driven by the CLI.

The client sits on compute1, the web server on compute3; the symmetric chain's three NSH-aware
counter SFs on compute2, compute3 and compute1 (each pinned by ``availability_zone``). HTTP goes
both ways through every SF in order: each counter's own report says which (SPI, SI) it served.
The classifier names both ends (``network_src_port_id`` = the client, ``network_dst_port_id`` =
the server), so each direction's path ends at its destination (``sdn.document.Classifier.
destination``). A capture on the rack (the underlay), decoded by tshark, shows each leg in
VXLAN-GPE (UDP 4790, next protocol 4 = NSH) between the right hosts with the path's SPI and
decreasing SI, the end SI going from the last SF's host straight to the destination's, and no
chained frame in the VL's plain VXLAN (UDP 4789): before, the path ended on its classifier's host
and the VL carried the frame on from there. The VL still carries what no classifier takes (ping).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.integration.nfvo.multihost import (CLIENT_AND_WEB, WEB_PORT, http_get, nfv, nsh_legs, pinned_stack, plain_legs,
                                              served, underlay_capture, web_chain)

pytestmark = pytest.mark.integration

PLACES = {**CLIENT_AND_WEB, "sf1": ("nsh-counter.yaml", "nsh-counter", "compute2"),
          "sf2": ("nsh-counter.yaml", "nsh-counter", "compute3"), "sf3": ("nsh-counter.yaml", "nsh-counter", "compute1")}


def test_symmetric_chain_across_three_hosts(tmp_path: Path) -> None:
    with pinned_stack(tmp_path, PLACES) as stack:
        web_ip = stack.ip("web")
        fwd, rev = web_chain(stack, "sf1,sf2,sf3")

        pcap = tmp_path / "underlay.pcap"
        with underlay_capture(stack.rack, pcap):
            http_get(stack, "client", web_ip, WEB_PORT)
            ping = nfv("vnf", "exec", "client", "--", sys.executable, "-m", "dataplane.ping", web_ip, "-c", "3", "-W", "1",
                       env=stack.env, timeout=60)
            assert ping.returncode == 0, ping.stdout + ping.stderr
            time.sleep(1.5)   # the counters write their reports periodically; the last frames reach the file

        # forward: sf1 (SI 255), sf2 (254), sf3 (253); reverse: sf3 (255), sf2 (254), sf1 (253)
        assert served(stack.state, ("sf1", "sf2", "sf3")) == {
            "sf1": {(fwd, 255), (rev, 253)}, "sf2": {(fwd, 254), (rev, 254)}, "sf3": {(fwd, 253), (rev, 255)}}

        legs = nsh_legs(stack.rack, pcap)
        assert legs == {   # forward: classified on compute1 (the client's), after sf3 (there too) the end SI to
            # the server's host compute3
            ("compute1", "compute2", "4790", "4", fwd, 255), ("compute2", "compute3", "4790", "4", fwd, 254),
            ("compute3", "compute1", "4790", "4", fwd, 253), ("compute1", "compute3", "4790", "4", fwd, 252),
            # reverse: classified on compute3 (the server's), after sf1 on compute2 straight to the client's compute1
            ("compute3", "compute1", "4790", "4", rev, 255), ("compute1", "compute3", "4790", "4", rev, 254),
            ("compute3", "compute2", "4790", "4", rev, 253), ("compute2", "compute1", "4790", "4", rev, 252),
        }, legs
        # no chained frame takes the VL's plain VXLAN (each path ends at its destination); what no
        # classifier takes (ping) still does, both ways
        assert plain_legs(stack.rack, pcap, f"tcp.port == {WEB_PORT}") == set()
        assert {("compute1", "compute3", "4789"), ("compute3", "compute1", "4789")} <= plain_legs(stack.rack, pcap, "icmp")
