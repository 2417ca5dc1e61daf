"""sFlow and IPFIX configured through Ovsdb really export datagrams (to 127.0.0.1 in our netns)."""

from __future__ import annotations

import select
import socket
import struct

import pytest

from dataplane.lab import Lab

pytestmark = pytest.mark.integration


def udp_listener() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def first_datagram(sock: socket.socket, timeout: float = 8.0) -> bytes:
    ready, _, _ = select.select([sock], [], [], timeout)
    assert ready, "no datagram exported"
    return sock.recv(65535)


def test_sflow_exports(lab: Lab) -> None:
    br = lab.bridge()
    lab.ovs.ofctl("add-flow", br, "actions=NORMAL")
    a, b = lab.host(br, "10.55.0.1/24"), lab.host(br, "10.55.0.2/24")
    sock, port = udp_listener()
    with sock:
        lab.db.set_sflow(br, [f"127.0.0.1:{port}"], sampling=1, polling=1, agent="lo")
        a.ping(b.ip, count=3, timeout=2)
        data = first_datagram(sock)
    assert struct.unpack_from("!I", data)[0] == 5  # sFlow version 5
    lab.db.set_sflow(br, None)


def test_ipfix_sample_action_exports(lab: Lab) -> None:
    br = lab.bridge()
    sock, port = udp_listener()
    with sock:
        lab.db.set_ipfix(br, [f"127.0.0.1:{port}"], collector_set_id=7, obs_domain_id=3)
        lab.ovs.ofctl("add-flow", br, "actions=sample(probability=65535,collector_set_id=7,"
                                      "obs_domain_id=3,obs_point_id=42),NORMAL")
        a, b = lab.host(br, "10.56.0.1/24"), lab.host(br, "10.56.0.2/24")
        a.ping(b.ip, count=3, timeout=2)
        data = first_datagram(sock)
    version, length = struct.unpack_from("!HH", data)
    assert version == 10 and length == len(data)
    lab.db.set_ipfix(br, None)
