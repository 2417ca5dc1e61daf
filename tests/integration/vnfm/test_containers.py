"""VDUs as runc containers: first boot with user_data, their own namespaces and root filesystem,
bounded boot, and nothing left behind (container, mount, netns, veth, process)."""

from __future__ import annotations

import hashlib
import textwrap
import uuid
from pathlib import Path

import pytest

from dataplane import netns
from descriptors import load_vnfd
from vnfm.errors import InvalidRequest, VimError
from vnfm.images import CIRROS_ROOTFS, Image, ImageCatalog
from vnfm.manager import VnfManager
from vnfm.model import Network, Status as S
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim import container
from vnfm.vim.base import PortRequest, ServerRequest

pytestmark = pytest.mark.integration

CATALOG = ImageCatalog({"cirros": Image("cirros", None, rootfs=CIRROS_ROOTFS),
                        "broken": Image("broken", None, rootfs="/nonexistent/rootfs")})
# Tacker's tosca-vnffg-vnfd1.yaml script (ip_forward, interfaces, ifup eth1 with DHCP), then marks
SAMPLE_SCRIPT = """#!/bin/sh
echo 1 > /proc/sys/net/ipv4/ip_forward
cat << EOF >> /etc/network/interfaces
auto eth1
iface eth1 inet dhcp
EOF
ifup eth1 || echo "no lease on eth1"
echo "hello from user_data on $(hostname)"
"""


def vnfd(image: str, user_data: str | None, *, name: str = "c", config: str | None = None) -> str:
    props = f"        image: {image}\n"
    if user_data is not None:
        props += "        user_data_format: RAW\n        user_data: |\n" + textwrap.indent(user_data, " " * 10)
    if config is not None:
        props += "        config: |\n" + textwrap.indent(config, " " * 10)
    return f"""
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {{template_name: {name}}}
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      capabilities:
        nfv_compute: {{properties: {{num_cpus: 1, mem_size: 64 MB, disk_size: 1 GB}}}}
      properties:
{props}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {{management: true, order: 0}}
      requirements: [{{virtualLink: {{node: VL1}}}}, {{virtualBinding: {{node: VDU1}}}}]
    CP2:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {{order: 1}}
      requirements: [{{virtualLink: {{node: VL2}}}}, {{virtualBinding: {{node: VDU1}}}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {{network_name: net_mgmt, vendor: nfvchain}}
    VL2:
      type: tosca.nodes.nfv.VL
      properties: {{network_name: net_data, vendor: nfvchain}}
"""


@pytest.fixture
def cmanager(vim_env, vim_prefix):
    vim, url = vim_env
    vim.boot_timeout = 12.0
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, catalog=CATALOG, monitor=False)
    yield m
    m.close()


def run(m: VnfManager, vnf: str, *argv: str) -> str:
    res = m.exec(vnf, list(argv))
    assert res.returncode == 0, res
    return res.stdout


def test_cirros_first_boot_runs_user_data(cmanager, vim_env):
    vim, _ = vim_env
    host_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    rec = cmanager.instantiate("c", load_vnfd(vnfd("cirros", SAMPLE_SCRIPT, config="param0: key1\n")))
    vdu = rec.vdus[0]
    assert rec.status == S.ACTIVE and vdu.boot.startswith("user_data ok"), vdu
    log = cmanager.console("c")
    assert "hello from user_data on VDU1" in log and log.index("user_data start") < log.index("hello")
    assert run(cmanager, "c", "hostname").strip() == "VDU1"
    assert "nfv-boot.sh" in run(cmanager, "c", "cat", "/proc/1/cmdline")     # its own PID namespace
    assert run(cmanager, "c", "cat", "/proc/sys/net/ipv4/ip_forward").strip() == "1"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forward
    assert cmanager.exec("c", ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"]).returncode != 0
    assert "iface eth1 inet dhcp" in run(cmanager, "c", "cat", "/etc/network/interfaces")
    assert run(cmanager, "c", "cat", "/var/lib/cloud/instance/config") == "param0: key1\n"
    assert "nfv-boot: Tacker config in /var/lib/cloud/instance/config" in log
    assert run(cmanager, "c", "busybox").startswith("BusyBox")               # the cirros rootfs
    assert rec.cp("CP2").ip.split("/")[0] in run(cmanager, "c", "ip", "-4", "addr", "show", "eth1")
    assert vdu.limits == "cpus=1 mem=61MiB enforced" or "not enforced: " in vdu.limits
    assert vim.alive(vdu.key)
    cmanager.terminate("c")
    assert not vim.runc.names() and not container.mounts_under(vim.servers_dir.resolve())
    assert not netns.netns_exists(vdu.key) and not vim.alive(vdu.key)


def test_host_image_writes_stay_in_the_container(cmanager):
    tag = uuid.uuid4().hex[:8]
    paths = [f"/etc/nfvtest-{tag}", f"/usr/nfvtest-{tag}", f"/tmp/nfvtest-{tag}"]
    hosts = hashlib.sha256(Path("/etc/hosts").read_bytes()).hexdigest()
    script = "#!/bin/sh\nset -e\n" + "".join(f"echo inside > {p}\n" for p in paths) + \
        "echo '10.9.9.9 nfvtest' >> /etc/hosts\n"
    rec = cmanager.instantiate("h", load_vnfd(vnfd("host", script)))
    assert rec.vdus[0].boot.startswith("user_data ok"), rec.vdus[0]
    for p in paths:
        assert run(cmanager, "h", "cat", p) == "inside\n"
        assert not Path(p).exists(), p
    assert "nfvtest" in run(cmanager, "h", "cat", "/etc/hosts")
    assert hashlib.sha256(Path("/etc/hosts").read_bytes()).hexdigest() == hosts
    assert run(cmanager, "h", "hostname").strip() == "VDU1"


def test_user_data_that_never_ends_is_cut(cmanager, vim_env):
    vim, _ = vim_env
    vim.boot_timeout = 1.0
    rec = cmanager.instantiate("s", load_vnfd(vnfd("cirros", "#!/bin/sh\necho going to sleep\nsleep 1000\n")))
    vdu = rec.vdus[0]
    assert rec.status == S.ACTIVE and vdu.boot.startswith("user_data cut after 1 s"), vdu
    assert any("first boot: user_data cut" in e.reason for e in cmanager.events("s"))
    assert vim.alive(vdu.key) and "sleep 1000" not in run(cmanager, "s", "ps")
    assert "going to sleep" in cmanager.console("s")


def test_failing_user_data_is_an_event_not_a_failure(cmanager):
    rec = cmanager.instantiate("f", load_vnfd(vnfd("cirros", "#!/bin/sh\necho oops >&2\nexit 3\n")))
    assert rec.status == S.ACTIVE and rec.vdus[0].boot.startswith("user_data failed: exit 3")
    assert [e.reason for e in cmanager.events("f") if "first boot" in e.reason] == [
        f"VDU VDU1#0 first boot: {rec.vdus[0].boot}"]
    assert "oops" in cmanager.console("f", "VDU1")


def test_bad_images_leave_nothing(cmanager, vim_env, vim_prefix):
    vim, _ = vim_env
    with pytest.raises(InvalidRequest, match="unknown image 'nosuch-image'"):
        cmanager.instantiate("u", load_vnfd(vnfd("nosuch-image", None)))
    assert cmanager.list() == []
    with pytest.raises(VimError, match="/nonexistent/rootfs"):
        cmanager.instantiate("b", load_vnfd(vnfd("broken", "#!/bin/sh\necho hi\n")))
    assert cmanager.get("b").status == S.ERROR and cmanager.get("b").vdus == ()
    assert not vim.server_keys() and not vim.runc.names()
    assert not container.mounts_under(vim.servers_dir.resolve())
    assert not [n for n in netns.list_netns() + netns.list_links() if n.startswith(vim_prefix)]


def test_leftover_container_and_mounts_are_found_and_removed(vim_env, vim_prefix, ovsdb):
    """A crash half-way through delete: the netns, ports and links are gone, the container and
    its mounts are not. server_keys still names the server; delete_server finishes the job."""
    vim, url = vim_env
    net = Network("net_x", 100, "10.78.0.0/24")
    key = f"{vim_prefix}zzz00"
    vim.create_server(ServerRequest(key, None, None, (PortRequest(f"{key}0", "eth0", "fa:16:3e:00:00:01",
                                                                  "10.78.0.2/24", net),),
                                    values={"vdu": "VDU9"}, rootfs=CIRROS_ROOTFS))
    ovsdb.delete_ports(vim.bridge, [f"{key}0"])
    netns.delete_netns(key)
    (vim.servers_dir / key / "server.json").unlink()
    assert key in vim.runc.names() and container.mounts_under((vim.servers_dir / key).resolve())
    assert vim.server_keys() == {key}
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, monitor=False)  # adopts: garbage
    m.close()
    assert not vim.server_keys() and not vim.runc.names()
    assert not container.mounts_under(vim.servers_dir.resolve())
