"""Namespaces, veths, tx checksum and process helpers (pyroute2, no ip binary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.ovs import OvsError, OvsInstance

pytestmark = pytest.mark.integration


def test_veth_in_namespace(run_prefix: str) -> None:
    ns = run_prefix + "n1"
    try:
        veth = netns.create_veth(ns, "eth0", ns + "p", addresses=["10.5.0.1/24", "fd00::1/64"],
                                 mac="02:00:00:05:00:01", default_gw="10.5.0.254")
        assert veth.mac == "02:00:00:05:00:01" and veth.mtu == 1600
        assert netns.netns_exists(ns) and ns in netns.list_netns()
        assert netns.link_exists(ns + "p") and netns.link_exists("eth0", netns=ns)
        assert not netns.get_tx_checksum("eth0", netns=ns)
        out = netns.netns_check_output(ns, ["ip", "-o", "addr", "show", "dev", "eth0"])
        assert "10.5.0.1/24" in out and "fd00::1/64" in out
        assert "mtu 1600" in netns.netns_check_output(ns, ["ip", "link", "show", "eth0"])
        assert "default via 10.5.0.254" in netns.netns_check_output(ns, ["ip", "route"])
        assert "mtu 1600" in subprocess.run(["ip", "link", "show", ns + "p"],
                                            capture_output=True, text=True).stdout
        proc = netns.run_in_netns(ns, [sys.executable, "-c",
                                       "import socket;print(socket.if_nameindex())"],
                                  stdout=subprocess.PIPE, text=True)
        out, _ = proc.communicate(timeout=10)
        assert "eth0" in out and ns + "p" not in out
        with pytest.raises(ValueError):
            netns.run_in_netns(ns, ["true"], shell=True)
        with pytest.raises(netns.NetnsError, match="failed"):
            netns.netns_exec(ns, ["false"])
        assert netns.netns_exec(ns, ["false"], check=False).returncode == 1
    finally:
        netns.delete_netns(ns)
    assert not netns.netns_exists(ns) and not netns.link_exists(ns + "p")
    netns.delete_netns(ns)  # idempotent


def test_bad_inputs_leave_nothing(run_prefix: str) -> None:
    ns = run_prefix + "n2"
    with pytest.raises(netns.NetnsError, match="15"):
        netns.create_veth(ns, "eth0", "x" * 16)
    with pytest.raises(netns.NetnsError):
        netns.create_veth(ns, "eth0", ns + "p", addresses=["10.0.0.300/24"])
    assert not netns.netns_exists(ns) and not netns.link_exists(ns + "p")
    with pytest.raises(netns.NetnsError, match="no netns"):
        netns.run_in_netns(ns, ["true"])
    with pytest.raises(netns.NetnsError, match="no netns"):
        netns.list_links(netns=ns)


def test_ovs_start_failure_is_clear_and_leaves_no_process(tmp_path: Path) -> None:
    inst = OvsInstance(tmp_path / "r", schema=tmp_path / "missing.ovsschema")
    with pytest.raises(OvsError, match="ovsdb-tool"):
        inst.start()
    assert inst.pids == ()
