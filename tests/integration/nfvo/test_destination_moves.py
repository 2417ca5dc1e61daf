"""A chain's destination VNF is evacuated onto another host, on ``nfv up --hosts 3``, by the CLI.

The client sits on compute1, the web server on compute3, the symmetric chain's counter SF on
compute2 (each pinned by ``availability_zone``); the classifier names both ends
(``network_src_port_id`` = the client, ``network_dst_port_id`` = the server), so the forward path
ends at the server's port (``sdn.document.Classifier.destination``) and the reverse is classified
there. ``nfv host fail compute3`` rebuilds the server on another host (its zone given up) with the
same addresses; the chain follows it (the VNF's CP is the classifier's destination and the reverse
classifier's port): the server's own event re-renders it (``VnffgManager.uses_vnf`` counts the VNFs
a classifier names; ``tests/unit/nfvo/test_endpoint_moves.py``), and so does the host failure's
re-render of every chain (``nfvo.hostops``). HTTP then still goes both ways through the SF, and
the underlay capture shows the forward end SI going from the SF's host straight to the server's new
host (none to compute3), the reverse classified there, and no chained frame in the VL's plain VXLAN.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.nfvo.multihost import (CLIENT_AND_WEB, WEB_PORT, Leg, http_get, nsh_legs, pinned_stack, plain_legs,
                                              served, underlay_capture, web_chain)
from tests.integration.nfvo.nfvcli import wait_for

pytestmark = pytest.mark.integration

PLACES = {**CLIENT_AND_WEB, "sf": ("nsh-counter.yaml", "nsh-counter", "compute2")}


def leg(a: str, b: str, spi: int, si: int) -> set[Leg]:
    """The GPE leg from host ``a`` to ``b`` (none when both are one host)."""
    return set() if a == b else {(a, b, "4790", "4", spi, si)}


def test_the_chain_follows_its_destination_evacuated_to_another_host(tmp_path: Path) -> None:
    with pinned_stack(tmp_path, PLACES) as stack:
        web_ip = stack.ip("web")
        fwd, rev = web_chain(stack, "sf")
        http_get(stack, "client", web_ip, WEB_PORT)

        action = stack.json("host", "fail", "compute3", timeout=180)
        assert action["evacuated"] == ["web/VDU1"], action
        moved = wait_for(lambda: (v := stack.vnf("web"))["status"] == "ACTIVE" and v["vdus"][0]["host"],
                         "web ACTIVE again", 60, 0.3)
        assert moved in ("compute1", "compute2") and stack.ip("web") == web_ip
        wait_for(lambda: stack.json("vnffg", "show", "web")["status"] == "ACTIVE", "the chain ACTIVE", 60, 0.3,
                 lambda: stack.json("vnffg", "show", "web"))

        pcap = tmp_path / "underlay.pcap"
        with underlay_capture(stack.rack, pcap):
            http_get(stack, "client", web_ip, WEB_PORT)
            time.sleep(1.5)   # the counters write their reports periodically; the last frames reach the file

        assert served(stack.state, ("sf",)) == {"sf": {(fwd, 255), (rev, 255)}}
        legs = nsh_legs(stack.rack, pcap)
        # forward: classified on compute1, the SF on compute2, the end SI to web's new host; reverse:
        # classified there, the SF, the end SI to the client's compute1
        assert legs == (leg("compute1", "compute2", fwd, 255) | leg("compute2", moved, fwd, 254)
                        | leg(moved, "compute2", rev, 255) | leg("compute2", "compute1", rev, 254)), (moved, legs)
        assert plain_legs(stack.rack, pcap, f"tcp.port == {WEB_PORT}") == set()
        print(f"\nweb evacuated from compute3 to {moved}; the chain's legs: {sorted(legs, key=str)}")
