"""A chain through an NSH-unaware VNF on another host than its classifier, on ``nfv up --hosts 3``,
driven by the CLI (issue 13, point 4).

The client sits on compute1, the web server on compute3; the symmetric chain is an NSH-aware
counter SF on compute1, a plain namespace (the ``host`` image: no NSH, so the NFVO makes it an
NSH-unaware, one-armed hop) routing with ``net.ipv4.ip_forward=1`` on compute2, and a counter SF
on compute3, each pinned by ``availability_zone``. HTTP goes both ways through all three: the
counters say which (SPI, SI) they served, the router's kernel says it forwarded. The underlay
capture shows the legs in VXLAN-GPE: compute2 re-classifies what the router sends back and sends
it on with the next SI, and each direction ends on compute2 (C1 = the router's host and port),
from where the VL carries the frame on in plain VXLAN.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.nfvo.multihost import (CLIENT_AND_WEB, WEB_PORT, PinnedStack, http_get, nsh_legs, pinned_stack,
                                              plain_legs, served, underlay_capture, web_chain)

pytestmark = pytest.mark.integration

PLACES = {**CLIENT_AND_WEB, "sf1": ("nsh-counter.yaml", "nsh-counter", "compute1"),
          "router": ("host.yaml", "host", "compute2"), "sf2": ("nsh-counter.yaml", "nsh-counter", "compute3")}


def forwarded(stack: PinnedStack) -> int:
    """The router VDU's kernel IPv4 forwarding counter (/proc/net/snmp Ip: ForwDatagrams)."""
    out = stack.run("vnf", "exec", "router", "--", "cat", "/proc/net/snmp", timeout=30)
    rows = [line.split() for line in out.splitlines() if line.startswith("Ip:")]
    return int(dict(zip(rows[0], rows[1], strict=True))["ForwDatagrams"])


def test_symmetric_chain_through_an_unaware_router_on_another_host(tmp_path: Path) -> None:
    with pinned_stack(tmp_path, PLACES) as stack:
        web_ip = stack.ip("web")
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0"):  # a one-armed router
            stack.run("vnf", "exec", "router", "--", "sysctl", "-q", "-w", key, timeout=30)
        fwd, rev = web_chain(stack, "sf1,router,sf2", f"tcp_dst={WEB_PORT},ip_proto=6")

        pcap = tmp_path / "underlay.pcap"
        with underlay_capture(stack.rack, pcap):
            before = forwarded(stack)
            http_get(stack, "client", web_ip, WEB_PORT)
            routed = forwarded(stack) - before
            time.sleep(1.5)   # the counters write their reports periodically; the last frames reach the file

        assert routed >= 6, f"the router's kernel forwarded the HTTP exchange both ways ({routed})"
        # forward: sf1 (SI 255), router (254), sf2 (253); reverse: sf2 (255), router (254), sf1 (253)
        assert served(stack.state, ("sf1", "sf2")) == {"sf1": {(fwd, 255), (rev, 253)}, "sf2": {(fwd, 253), (rev, 255)}}

        legs = nsh_legs(stack.rack, pcap)
        assert legs == {   # forward: classified on compute1, re-classified on compute2 after the router, ends there
            ("compute1", "compute2", "4790", "4", fwd, 254), ("compute2", "compute3", "4790", "4", fwd, 253),
            ("compute3", "compute2", "4790", "4", fwd, 252),
            # reverse: classified on compute3 (the server's), re-classified on compute2, ends there too
            ("compute3", "compute2", "4790", "4", rev, 254), ("compute2", "compute1", "4790", "4", rev, 253),
            ("compute1", "compute2", "4790", "4", rev, 252),
        }, legs
        # from the path's end on compute2 on to the destination: the VL's plain VXLAN (a star around compute1)
        crossing = plain_legs(stack.rack, pcap, f"tcp.port == {WEB_PORT}")
        assert ("compute2", "compute1", "4789") in crossing, crossing
