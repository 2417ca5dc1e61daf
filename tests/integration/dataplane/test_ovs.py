"""Private OVS lifecycle, OVSDB helpers and plain L2 forwarding between namespaces."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.ovs import OvsError, OvsInstance
from dataplane.ovsdb import Conflict, InterfaceError, NotFound, Ovsdb

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_start_stop_leaves_no_process(tmp_path: Path) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="nfvst-", dir="/tmp"))
    try:
        with OvsInstance(run_dir) as inst:
            pids = inst.pids
            assert len(pids) == 2 and all(_alive(p) for p in pids)
            assert "ovs-vswitchd" in inst.appctl("version")
            assert (run_dir / "db.sock").exists()
        assert inst.pids == () and not any(_alive(p) for p in pids)
        assert not (run_dir / "db.sock").exists()
        inst.stop()  # idempotent
    finally:
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)


def test_command_errors_carry_stderr(ovs: OvsInstance) -> None:
    with pytest.raises(OvsError, match="nosuchbr"):
        ovs.ofctl("dump-flows", "nosuchbr")


def test_bridge_and_ports_are_idempotent(ovs: OvsInstance, ovsdb: Ovsdb, bridge_factory, lab) -> None:
    br = bridge_factory(datapath_id=0xABC, controller="tcp:127.0.0.1:1")
    ovsdb.ensure_bridge(br, datapath_id=0xABC, controller="tcp:127.0.0.1:1")
    assert ovsdb.datapath_id(br) == 0xABC
    assert br in ovsdb.list_bridges()
    assert "fail_mode: secure" in ovs.vsctl("show")
    assert ovs.vsctl("get", "bridge", br, "datapath_type").strip() == "netdev"
    port = lab.name("i")
    n = ovsdb.ensure_port(br, port, port_type="internal", ofport_request=42, mtu_request=1600)
    assert n == 42 == ovsdb.ensure_port(br, port, port_type="internal", ofport_request=42)
    assert ovsdb.ofport(port) == 42
    [info] = ovsdb.list_ports(br)
    assert (info.name, info.ofport, info.type, info.mtu) == (port, 42, "internal", 1600)
    other = bridge_factory()
    with pytest.raises(Conflict):
        ovsdb.ensure_port(other, port)
    ovsdb.set_controller(br, [])
    assert ovsdb.controller_status(br) == {}
    ovsdb.delete_port(br, port)
    ovsdb.delete_port(br, port)
    assert ovsdb.list_ports(br) == []
    with pytest.raises(NotFound):
        ovsdb.delete_port(br, port, missing_ok=False)


def test_missing_device_is_a_clear_error_and_nothing_half_created(ovsdb: Ovsdb, bridge_factory) -> None:
    br = bridge_factory()
    with pytest.raises(InterfaceError, match="nfvnodev0"):
        ovsdb.ensure_port(br, "nfvnodev0")
    assert ovsdb.list_ports(br) == []
    with pytest.raises(NotFound):
        ovsdb.ensure_port("nfvnobr0", "x")


def test_telemetry_config(ovs: OvsInstance, ovsdb: Ovsdb, bridge_factory) -> None:
    br = bridge_factory()
    ovsdb.set_sflow(br, ["127.0.0.1:6343"], sampling=10, agent="lo")
    ovsdb.set_ipfix(br, ["127.0.0.1:4739"], collector_set_id=7, obs_domain_id=1)
    assert "127.0.0.1:6343" in ovs.vsctl("list", "sflow")
    assert "id                  : 7" in ovs.vsctl("list", "Flow_Sample_Collector_Set")
    ovsdb.set_sflow(br, None)
    ovsdb.set_ipfix(br, None)
    assert ovs.vsctl("list", "Flow_Sample_Collector_Set").strip() == ""


def test_two_hosts_ping_and_tcp_through_normal(ovs: OvsInstance, bridge_factory, host_factory) -> None:
    br = bridge_factory()
    ovs.ofctl("add-flow", br, "actions=NORMAL")
    a = host_factory(br, "10.77.0.1/24")
    b = host_factory(br, "10.77.0.2", 24, mac="02:00:00:77:00:02")
    assert b.mac == "02:00:00:77:00:02" and a.ofport != b.ofport
    assert not netns.get_tx_checksum(a.iface, netns=a.ns)
    assert a.ping(b.ip, count=2, timeout=2)

    # TCP: 4 MB python transfer (fails silently without tx checksum offload off).
    size = 4 << 20
    server = b.popen(["python3", "-c", (
        "import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
        "s.bind(('0.0.0.0',5001));s.listen(1);print('up',flush=True);c,_=s.accept();n=0\n"
        "while (d:=c.recv(65536)): n+=len(d)\n"
        "print(n)")], stdout=__import__("subprocess").PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "up"
        a.exec(["python3", "-c", (
            f"import socket;s=socket.create_connection(('{b.ip}',5001),timeout=10);"
            f"s.sendall(b'x'*{size});s.close()")], timeout=30)
        out, _ = server.communicate(timeout=30)
        assert int(out.strip()) == size
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
